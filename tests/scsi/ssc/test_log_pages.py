"""The drive's log pages report true counters."""
from __future__ import annotations

import os

from scsi import Nexus
from support.answers import run
import support.cdbs as c


def parameters(data: bytes) -> dict[int, bytes]:
    out, off = {}, 4
    end = 4 + int.from_bytes(data[2:4], "big")
    while off < end:
        code, n = int.from_bytes(data[off:off + 2], "big"), data[off + 3]
        out[code] = data[off + 4:off + 4 + n]
        off += 4 + n
    return out


def counter(page: dict[int, bytes], code: int) -> int:
    return int.from_bytes(page[code], "big")


def test_supported_pages(drive):
    d = run(drive, c.log_sense(0x00)).data
    assert list(d[4:]) == [0x00, 0x02, 0x03, 0x0C, 0x17, 0x2E, 0x31, 0x32]


def test_sequential_access_and_compression_counters(drive):
    text = b"counted " * 8192              # 64 KiB, compresses well
    raw = os.urandom(65536)
    drive.compression = True
    for block in (text, raw):
        run(drive, c.write6(len(block)), block)
    run(drive, c.rewind())
    run(drive, c.read6(65536))
    seq = parameters(run(drive, c.log_sense(0x0C)).data)
    assert counter(seq, 0x0000) == 2 * 65536                            # from initiators
    stored = drive.cartridge.active.end - 2 * 32
    assert counter(seq, 0x0001) == stored < 2 * 65536                   # to the medium, compressed
    assert counter(seq, 0x0003) == 65536                                # to initiators
    comp = parameters(run(drive, c.log_sense(0x32)).data)
    assert counter(comp, 0x0001) == 2 * 65536 * 100 // stored          # write ratio x100
    assert counter(comp, 0x0100) == 1
    assert run(drive, c.log_select_reset()).good
    seq = parameters(run(drive, c.log_sense(0x0C)).data)
    assert counter(seq, 0x0000) == 0


def test_tape_capacity_and_volume_statistics(drive):
    run(drive, c.write6(1 << 20), os.urandom(1 << 20))
    cap = parameters(run(drive, c.log_sense(0x31)).data)
    assert counter(cap, 0x0003) == 64 and counter(cap, 0x0001) == 62    # MiB: 1 MiB + header used
    vol = parameters(run(drive, c.log_sense(0x17)).data)
    assert counter(vol, 0x0001) == 1 and counter(vol, 0x0002) == 1
    assert vol[0x0042].rstrip() == b"A00001L8"
    assert vol[0x0081] == b"\x00"


def test_tapealert_flags_are_cleared_by_reading(make_drive):
    drive = make_drive(write_protected=True)
    run(drive, c.write6(1), b"x")
    flags = parameters(run(drive, c.log_sense(0x2E)).data)
    assert len(flags) == 64 and flags[0x09] == b"\x01"                  # write protect
    flags = parameters(run(drive, c.log_sense(0x2E)).data)
    assert flags[0x09] == b"\x00"


def test_load_raises_a_unit_attention_for_every_other_nexus(make_drive, tmp_path):
    from images.cartridge import Cartridge
    drive = make_drive(load=False)
    a, b = Nexus("iqn.a"), Nexus("iqn.b")
    run(drive, c.test_unit_ready(), nexus=a)
    run(drive, c.test_unit_ready(), nexus=b)
    drive.insert(Cartridge.create(str(tmp_path / "ua"), capacity=1 << 20))
    for n in (a, b):
        s = run(drive, c.test_unit_ready(), nexus=n).sense
        assert (s.key.name, s.code) == ("UNIT_ATTENTION", (0x28, 0))
        assert run(drive, c.test_unit_ready(), nexus=n).good
