"""LOAD UNLOAD, removal prevention, densities, cleaning, formats, partitions, MAM."""
from __future__ import annotations

import pytest

from scsi import SenseKey
from scsi.ssc import DriveState
from support.answers import run
import support.cdbs as c


def test_unload_then_load(drive):
    run(drive, c.write6(3), b"abc")
    assert run(drive, c.load_unload(False)).good
    a = run(drive, c.test_unit_ready())
    assert (a.sense.key, a.sense.code) == (SenseKey.NOT_READY, (0x3A, 0))
    assert run(drive, c.load_unload(True)).good
    assert run(drive, c.test_unit_ready()).good
    assert run(drive, c.read6(3)).data == b"abc"
    assert drive.cartridge.mam_int(0x0003) == 2          # load count


def test_load_with_eot_is_invalid_and_reten_is_accepted(drive):
    a = run(drive, c.load_unload(True, eot=True))
    assert a.sense.key == SenseKey.ILLEGAL_REQUEST and (a.sense.specific.byte, a.sense.specific.bit) == (4, 2)
    assert run(drive, c.load_unload(True, reten=True)).good


def test_prevent_medium_removal(drive):
    assert run(drive, c.prevent_allow(1)).good
    a = run(drive, c.load_unload(False))
    assert (a.sense.key, a.sense.code) == (SenseKey.ILLEGAL_REQUEST, (0x53, 0x02))
    with pytest.raises(RuntimeError):
        drive.eject()
    assert run(drive, c.prevent_allow(0)).good
    assert run(drive, c.load_unload(False)).good


def test_no_autoload_needs_a_load(tmp_path):
    """A personality whose tape configuration file says autoload=no waits for LOAD."""
    import dataclasses

    from images.cartridge import Cartridge
    from scsi.ssc import DrivePersonality, TapeDrive
    from tapeconf import get_bundled

    config = dataclasses.replace(get_bundled("IBM_LTO8"), autoload=False)
    drive = TapeDrive(DrivePersonality(config), "NOAUTO", power_on_ua=False)
    drive.insert(Cartridge.create(str(tmp_path / "n"), capacity=1 << 20))
    a = run(drive, c.test_unit_ready())
    assert (a.sense.key, a.sense.code) == (SenseKey.NOT_READY, (0x04, 0x02))
    assert run(drive, c.load_unload(True)).good
    assert run(drive, c.test_unit_ready()).good
    drive.eject().close()


def test_empty_drive_is_not_ready(make_drive):
    drive = make_drive(load=False)
    a = run(drive, c.test_unit_ready())
    assert (a.sense.key, a.sense.code) == (SenseKey.NOT_READY, (0x3A, 0))
    a = run(drive, c.read6(10))
    assert a.sense.key == SenseKey.NOT_READY


def test_density_compatibility(make_drive):
    lto5 = make_drive("IBM_LTO5", media="LTO3", barcode="A00001L3")
    a = run(lto5, c.write6(1), b"x")                        # LTO-5 reads LTO-3, cannot write it
    assert (a.sense.key, a.sense.code) == (SenseKey.DATA_PROTECT, (0x30, 0x05))
    lto9 = make_drive("IBM_LTO9", media="LTO7", barcode="A00002L7")
    a = run(lto9, c.read6(10))                              # LTO-9 cannot read LTO-7 at all
    assert (a.sense.key, a.sense.code) == (SenseKey.MEDIUM_ERROR, (0x30, 0x00))
    lto8 = make_drive("IBM_LTO8", media="LTO7", barcode="A00003L7")
    assert run(lto8, c.write6(1), b"x").good                # LTO-8 writes LTO-7
    assert lto8.cartridge.density == 0x5C
    a = run(lto8, c.mode_sense6(0x3F))
    assert a.data[4] == 0x5C                               # density code of the medium


def test_report_density_support(make_drive):
    drive = make_drive("IBM_LTO5", media="LTO5", barcode="A00001L5")
    d = run(drive, c.report_density_support()).data
    assert int.from_bytes(d[:2], "big") == len(d) - 2
    descriptors = [d[4 + 52 * i: 4 + 52 * (i + 1)] for i in range((len(d) - 4) // 52)]
    codes = {x[0]: x for x in descriptors}
    assert set(codes) == {0x44, 0x46, 0x58}
    assert codes[0x58][2] & 0xA0 == 0xA0                  # WRTOK and DEFLT
    assert not codes[0x44][2] & 0x80                      # LTO-3: read only
    assert codes[0x58][24:32].rstrip() == b"U-516"
    m = run(drive, c.report_density_support(media=True)).data
    assert m[4] == 0x58 and len(m) == 4 + 52
    t = run(drive, c.report_density_support(medium_type=True)).data
    assert (len(t) - 4) % 56 == 0 and len(t) > 4


def test_cleaning_cartridge(make_drive):
    drive = make_drive(media="CLN", barcode="CLN001CU")
    assert drive.state == DriveState.UNLOADED
    assert drive.cartridge.meta.cleaning_uses_left == 49
    assert run(drive, c.test_unit_ready()).sense.code == (0x3A, 0)


def test_partitions_through_mode_select_and_format(make_drive):
    drive = make_drive("IBM_LTO6", media="LTO6", barcode="A00001L6", capacity=100 * 1000 * 1000)
    page = run(drive, c.mode_sense6(0x11, dbd=True)).data
    assert page[4] & 0x3F == 0x11 and page[6] == 3        # three additional partitions possible
    # IDP, PSUM=MB: partition 0 of 10 MB, partition 1 the rest (FFFFh)
    body = bytes([0x11, 0x0A, 3, 1, 0x20 | 0x10 | 0x04, 3, 0, 0, 0, 10, 0xFF, 0xFF])
    assert run(drive, c.mode_select6(4 + len(body)), bytes(4) + body).good
    assert run(drive, c.format_medium(1)).good
    parts = drive.cartridge.partitions
    assert [p.capacity for p in parts] == [10_000_000, 90_000_000]
    assert run(drive, c.locate10(0, partition=1)).good
    run(drive, c.write6(2), b"p1")
    d = run(drive, c.read_position(6)).data
    assert int.from_bytes(d[4:8], "big") == 1 and int.from_bytes(d[8:16], "big") == 1
    a = run(drive, c.format_medium(0))
    assert a.sense.code == (0x2C, 0)                      # not at BOP of partition 0
    run(drive, c.rewind())
    assert run(drive, c.format_medium(0)).good and len(drive.cartridge.partitions) == 1


def test_set_capacity(drive):
    run(drive, c.write6(1), b"x")
    run(drive, c.rewind())
    assert run(drive, c.set_capacity(0x8000)).good
    assert abs(drive.cartridge.capacity - 32 * 1024 * 1024) < 1024 * 1024
    assert drive.cartridge.active.eod == 0


def test_read_and_write_attributes(drive):
    d = run(drive, c.read_attribute(0)).data
    total = int.from_bytes(d[:4], "big")
    assert total == len(d) - 4
    attrs = {}
    off = 4
    while off < len(d):
        ident, flags, n = int.from_bytes(d[off:off + 2], "big"), d[off + 2], int.from_bytes(d[off + 3:off + 5], "big")
        attrs[ident] = (flags, d[off + 5:off + 5 + n])
        off += 5 + n
    assert attrs[0x0001][0] & 0x80 and int.from_bytes(attrs[0x0001][1], "big") == 64  # 64 MiB, read-only
    assert attrs[0x0400][1].rstrip() == b"VTL"
    assert attrs[0x0806][1].rstrip() == b"A00001L8"
    # write an application name, then read it back from that identifier on
    value = b"vtl-tests".ljust(32)
    entry = (0x0801).to_bytes(2, "big") + bytes([0x01]) + len(value).to_bytes(2, "big") + value
    plist = len(entry).to_bytes(4, "big") + entry
    assert run(drive, c.write_attribute(len(plist)), plist).good
    d = run(drive, c.read_attribute(0, first=0x0801)).data
    assert d[4:6] == b"\x08\x01" and d[9:9 + 32] == value
    # read-only attributes are refused, pointing at the entry
    ro = (0x0400).to_bytes(2, "big") + bytes([0x01, 0, 8]) + b"XXXXXXXX"
    a = run(drive, c.write_attribute(4 + len(ro)), len(ro).to_bytes(4, "big") + ro)
    assert a.sense.code == (0x26, 0) and a.sense.specific.byte == 4 and not a.sense.specific.in_cdb


def test_read_block_limits(drive):
    d = run(drive, c.read_block_limits()).data
    assert d == bytes([0, 0x7F, 0xFF, 0xFF, 0, 1])
    assert len(run(drive, c.read_block_limits(True)).data) == 20


def test_allow_overwrite_checks_the_position(drive):
    assert run(drive, c.allow_overwrite(1, 0, 0)).good
    a = run(drive, c.allow_overwrite(1, 0, 5))
    assert a.sense.key == SenseKey.ILLEGAL_REQUEST and a.sense.specific.byte == 6
    assert run(drive, c.allow_overwrite(3)).sense.specific.byte == 3
