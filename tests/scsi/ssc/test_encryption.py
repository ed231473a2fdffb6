"""Tape data encryption through SECURITY PROTOCOL IN/OUT (SSC-4 8.5), in raw bytes from
the standard's tables: what a host such as stenc sends and reads back.

Set Data Encryption page (SPOUT 20h/0010h): page code, page length, SCOPE (7-5) and LOCK
(0) in byte 4, CEEM (7-6) RDMC (5-4) SDK (3) CKOD (2) CKORP (1) CKORL (0) in byte 5,
ENCRYPTION MODE, DECRYPTION MODE, ALGORITHM INDEX, KEY FORMAT, KAD FORMAT, 7 reserved
bytes, KEY LENGTH (bytes 18-19), the key, then KAD descriptors (type, authenticated,
length, data).
"""
from __future__ import annotations

import os

from scsi import SenseKey
from support.answers import run
import support.cdbs as c

KEY = bytes(range(32))
OTHER = bytes(range(100, 132))


def spin(page: int, protocol: int = 0x20, alloc: int = 8192) -> bytes:
    return bytes([0xA2, protocol]) + page.to_bytes(2, "big") + bytes(2) + alloc.to_bytes(4, "big") + bytes(2)


def spout(length: int, page: int = 0x10) -> bytes:
    return bytes([0xB5, 0x20]) + page.to_bytes(2, "big") + bytes(2) + length.to_bytes(4, "big") + bytes(2)


def sde(enc: int, dec: int, key: bytes = KEY, *, scope: int = 2, lock: int = 0, rdmc: int = 0, ckod: int = 0,
        algorithm: int = 1, key_format: int = 0, kads: bytes = b"", byte5: int | None = None) -> bytes:
    flags = (1 << 6) | (rdmc << 4) | (ckod << 2) if byte5 is None else byte5
    body = bytes([scope << 5 | lock, flags, enc, dec, algorithm, key_format, 0]) + bytes(7)
    body += len(key).to_bytes(2, "big") + key + kads
    return (0x0010).to_bytes(2, "big") + len(body).to_bytes(2, "big") + body


def kad(kind: int, data: bytes) -> bytes:
    return bytes([kind, 0]) + len(data).to_bytes(2, "big") + data


def set_encryption(drive, page: bytes, nexus=None):
    return run(drive, spout(len(page)), page) if nexus is None else run(drive, spout(len(page)), page, nexus)


def sense_of(answer) -> tuple:
    s = answer.sense
    return s.key, s.code


def test_security_protocols_and_pages_are_listed(drive):
    a = run(drive, spin(0x0000, protocol=0x00))
    assert a.good and a.data == bytes(6) + b"\x00\x02" + bytes([0x00, 0x20])
    a = run(drive, spin(0x0000))
    assert a.data[:4] == b"\x00\x00\x00\x0e"
    assert [int.from_bytes(a.data[i:i + 2], "big") for i in range(4, 18, 2)] == \
        [0x0000, 0x0001, 0x0010, 0x0011, 0x0012, 0x0020, 0x0021]
    assert run(drive, spin(0x0001)).data == b"\x00\x01\x00\x02\x00\x10"
    assert run(drive, spin(0x0011)).data == b"\x00\x11\x00\x01\x00"      # plain-text keys only


def test_capabilities_describe_aes_256_gcm(drive):
    d = run(drive, spin(0x0010)).data
    assert d[:4] == b"\x00\x10\x00\x28" and d[4] == 0x05                # EXTDECC 01b, CFG_P 01b
    algo = d[20:44]
    assert algo[0] == 1 and int.from_bytes(algo[2:4], "big") == 0x14
    assert algo[4] & 0x0F == 0x0A                                         # DECRYPT_C 2, ENCRYPT_C 2
    assert (int.from_bytes(algo[6:8], "big"), int.from_bytes(algo[8:10], "big"),
            int.from_bytes(algo[10:12], "big")) == (32, 12, 32)          # U-KAD, A-KAD, key size
    assert algo[20:24] == b"\x00\x01\x00\x14"                             # AES-GCM with a 256-bit key
    m = run(drive, spin(0x0012)).data
    assert m[:4] == b"\x00\x12\x00\x0c" and m[4] == 0 and m[5] == 0x04 and m[7] == 0x05   # CKOD_C; AITN_C, PUBLIC_C


def test_blocks_written_with_a_key_read_back_only_with_it(drive):
    assert set_encryption(drive, sde(2, 2, kads=kad(0, b"tape key 7") + kad(1, b"akad"))).good
    status = run(drive, spin(0x0020)).data
    assert status[5:8] == bytes([2, 2, 1]) and int.from_bytes(status[8:12], "big") == 1
    assert status[24:] == kad(0, b"tape key 7")[:1] + b"\x01" + kad(0, b"tape key 7")[2:] + \
        bytes([1, 2, 0, 4]) + b"akad"
    secret = b"the crown jewels " * 40
    assert run(drive, c.write6(len(secret)), secret).good
    assert run(drive, c.write_filemarks6(1)).good
    stored = open(os.path.join(drive.cartridge.path, "p0.dat"), "rb").read()
    assert b"crown jewels" not in stored                                    # nothing in the clear at rest

    assert run(drive, c.rewind()).good
    nbes = run(drive, spin(0x0021)).data
    assert int.from_bytes(nbes[4:12], "big") == 0 and nbes[12] & 0x0F == 5 and nbes[13] == 1
    assert nbes[16:] == bytes([0, 1, 0, 10]) + b"tape key 7" + bytes([1, 2, 0, 4]) + b"akad"
    a = run(drive, c.read6(len(secret)))
    assert a.good and a.data == secret
    nbes = run(drive, spin(0x0021)).data
    assert nbes[12] & 0x0F == 2                                           # a filemark is not a logical block

    assert set_encryption(drive, sde(2, 2, OTHER)).good                   # another key
    assert run(drive, c.rewind()).good
    assert run(drive, spin(0x0021)).data[12] & 0x0F == 6
    a = run(drive, c.read6(len(secret)))
    assert sense_of(a) == (SenseKey.DATA_PROTECT, (0x74, 0x03)) and a.sense.information == len(secret)
    assert int.from_bytes(run(drive, c.read_position(6)).data[8:16], "big") == 1    # moved past it

    assert set_encryption(drive, sde(0, 0, bytes(32))).good               # off, as stenc sends it
    assert run(drive, c.rewind()).good
    assert sense_of(run(drive, c.read6(len(secret)))) == (SenseKey.DATA_PROTECT, (0x74, 0x01))


def test_decrypt_refuses_plain_blocks_and_mixed_reads_both(drive):
    assert run(drive, c.write6(5), b"plain").good
    assert set_encryption(drive, sde(2, 2)).good
    assert run(drive, c.write6(6), b"sealed").good
    assert run(drive, c.rewind()).good
    assert sense_of(run(drive, c.read6(5))) == (SenseKey.DATA_PROTECT, (0x74, 0x02))
    assert set_encryption(drive, sde(2, 3)).good                          # MIXED
    assert run(drive, c.rewind()).good
    assert run(drive, c.read6(5)).data == b"plain" and run(drive, c.read6(6)).data == b"sealed"
    a = run(drive, c.verify6(6))
    assert sense_of(a) == (SenseKey.BLANK_CHECK, (0x00, 0x05))            # VERIFY decrypts as READ does


def test_raw_mode_hands_over_sealed_blocks_unless_protected(drive):
    assert set_encryption(drive, sde(2, 1)).good                          # encrypt, RAW decryption
    assert run(drive, c.write6(100), b"r" * 100).good
    assert set_encryption(drive, sde(2, 1, rdmc=3)).good                  # protect what follows
    assert run(drive, c.write6(100), b"p" * 100).good
    assert run(drive, c.rewind()).good
    a = run(drive, c.read6(1024, sili=True))
    # as sealed: no KADs (two zero lengths), the nonce, the (compressed) ciphertext, the tag
    assert a.good and a.data[:4] == bytes(4) and len(a.data) > 4 + 12 + 16 and b"rrrr" not in a.data
    a = run(drive, c.read6(1024, sili=True))
    assert sense_of(a) == (SenseKey.DATA_PROTECT, (0x74, 0x0A))
    assert run(drive, spin(0x0020)).data[12] & 0x01                        # RDMD


def test_compressed_and_encrypted(make_drive):
    drive = make_drive("IBM_LTO9")
    assert set_encryption(drive, sde(2, 2)).good
    text = b"all work and no play makes jack a dull boy\n" * 2000
    assert run(drive, c.write6(len(text)), text).good
    assert drive.stats.medium_bytes_written < len(text) // 4             # compressed before sealing
    assert run(drive, c.rewind()).good
    assert run(drive, c.read6(len(text))).data == text


def test_the_key_is_forgotten_on_reset_and_on_unload_with_ckod(drive):
    assert set_encryption(drive, sde(2, 2, ckod=1)).good
    assert run(drive, c.load_unload(False)).good
    status = run(drive, spin(0x0020)).data
    assert status[5:7] == b"\x00\x00" and int.from_bytes(status[8:12], "big") == 2
    assert set_encryption(drive, sde(2, 2)).good
    drive.logical_unit_reset()
    drive.unit_attentions.clear()
    assert run(drive, spin(0x0020)).data[5:7] == b"\x00\x00"


def test_another_nexus_is_told_the_parameters_changed(drive):
    from scsi import Nexus
    other = Nexus("iqn.other", "port1")
    run(drive, c.test_unit_ready(), nexus=other)                          # known to the drive
    run(drive, c.test_unit_ready(), nexus=other)
    assert set_encryption(drive, sde(2, 2)).good
    a = run(drive, c.test_unit_ready(), nexus=other)
    assert sense_of(a) == (SenseKey.UNIT_ATTENTION, (0x2A, 0x11))
    assert run(drive, c.test_unit_ready()).good                           # not the one that set them


def test_what_is_not_offered_is_refused_with_the_field(drive):
    cases = [
        (sde(2, 2, scope=1), 4, 7),                  # LOCAL scope
        (sde(2, 2, lock=1), 4, 0),                   # LOCK
        (sde(2, 2, byte5=0x08), 5, 3),               # SDK
        (sde(2, 2, byte5=0x02), 5, 1),               # CKORP
        (sde(2, 2, byte5=0x01), 5, 0),               # CKORL
        (sde(2, 2, rdmc=1), 5, 5),                   # reserved RDMC
        (sde(1, 2), 6, None),                        # EXTERNAL encryption
        (sde(2, 4), 7, None),                        # no such decryption mode
        (sde(2, 2, algorithm=2), 8, None),
        (sde(2, 2, key_format=1), 9, None),
        (sde(2, 2, OTHER[:16]), 18, None),           # a 128-bit key
        (sde(2, 2, kads=kad(2, b"nonce")), 52, None),
        (sde(2, 2, kads=kad(1, b"x" * 13)), 54, None),
    ]
    for page, byte, bit in cases:
        a = set_encryption(drive, page)
        assert sense_of(a) == (SenseKey.ILLEGAL_REQUEST, (0x26, 0x00)), (page.hex(), a.sense)
        s = a.sense
        assert (s.specific.byte, s.specific.bit, s.specific.in_cdb) == (byte, bit, False), page.hex()
    a = run(drive, spout(10), sde(2, 2)[:10])
    assert sense_of(a) == (SenseKey.ILLEGAL_REQUEST, (0x1A, 0x00))        # parameter list length error
    assert sense_of(run(drive, spin(0x0030))) == (SenseKey.ILLEGAL_REQUEST, (0x24, 0x00))
    assert sense_of(run(drive, spin(0x0000, protocol=0xEF))) == (SenseKey.ILLEGAL_REQUEST, (0x24, 0x00))
    assert run(drive, spin(0x0020)).data[5:7] == b"\x00\x00"              # nothing changed
