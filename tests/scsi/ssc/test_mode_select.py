"""MODE SELECT on the drive's own pages changes what the drive does."""
from __future__ import annotations

from scsi import SenseKey
from support.answers import run
import support.cdbs as c


def select(drive, page: bytes, descriptor: bytes = b""):
    header = bytes([0, 0, 0x10, len(descriptor)])
    data = header + descriptor + page
    return run(drive, c.mode_select6(len(data)), data)


def current(drive, code: int) -> bytes:
    d = run(drive, c.mode_sense6(code, dbd=True)).data
    return d[4:]


def test_dce_off_stores_blocks_uncompressed(drive):
    page = bytearray(current(drive, 0x0F))
    assert page[2] & 0xC0 == 0xC0                     # DCE and DCC on by default (LTO)
    page[2] &= 0x7F
    assert select(drive, bytes(page)).good
    assert not drive.compression
    text = b"compressible " * 1000
    run(drive, c.write6(len(text)), text)
    assert drive.cartridge.active.end == 32 + len(text)
    assert current(drive, 0x0F)[2] & 0x80 == 0


def test_unchangeable_field_is_refused_with_its_position(drive):
    page = bytearray(current(drive, 0x0F))
    page[8] = 0x10                                    # decompression algorithm is not changeable
    a = select(drive, bytes(page))
    assert a.sense.code == (0x26, 0) and not a.sense.specific.in_cdb
    assert a.sense.specific.byte == 4 + 8


def test_software_write_protect(drive):
    page = bytearray(current(drive, 0x10))
    page[10] |= 0x04                                  # SWP
    assert select(drive, bytes(page)).good
    a = run(drive, c.write6(1), b"x")
    assert (a.sense.key, a.sense.code) == (SenseKey.DATA_PROTECT, (0x27, 0))
    page[10] &= ~0x04
    assert select(drive, bytes(page)).good
    assert run(drive, c.write6(1), b"x").good


def test_block_descriptor_density_must_be_supported(drive):
    a = select(drive, b"", bytes([0x42, 0, 0, 0, 0, 0, 0x02, 0]))   # LTO-2 density on an LTO-8 drive
    assert a.sense.code == (0x26, 0) and a.sense.specific.byte == 4
    assert select(drive, b"", bytes([0x5E, 0, 0, 0, 0, 0, 0x04, 0])).good
    assert drive.block_length == 1024


def test_write_filemarks16_is_explicit_about_position(drive):
    run(drive, c.write6(1), b"a")
    cdb = bytes([0x80, 0, 0, 0]) + (1).to_bytes(8, "big") + (2).to_bytes(3, "big") + b"\0"
    assert run(drive, cdb).good
    assert drive.cartridge.active.filemark_count == 2
    wrong = bytes([0x80, 0, 0, 0]) + (0).to_bytes(8, "big") + (1).to_bytes(3, "big") + b"\0"
    a = run(drive, wrong)
    assert a.sense.key == SenseKey.ILLEGAL_REQUEST and a.sense.specific.byte == 4


def test_erase_makes_a_new_end_of_data(drive):
    for b in (b"1", b"2", b"3"):
        run(drive, c.write6(1), b)
    run(drive, c.locate10(1))
    assert run(drive, c.erase(long=True)).good
    run(drive, c.rewind())
    assert run(drive, c.read6(1)).data == b"1"
    assert run(drive, c.read6(1)).sense.key == SenseKey.BLANK_CHECK
