"""A cartridge whose log is damaged mid-tape (kept at open, not cut): the drive answers
as a drive with a damaged tape does.  Reading or spacing into the damage is MEDIUM
ERROR, UNRECOVERED READ ERROR (03/11/00) with the residue; going to EOD is MEDIUM
ERROR, END-OF-DATA NOT FOUND (03/14/03); the head stays at the last readable object,
where a write appends (and overwrites the damage), except on WORM media."""
from __future__ import annotations

import os

from images.cartridge import Cartridge
from images.cartridge.record import HEADER_SIZE
from scsi import SenseKey
from support.answers import run
import support.cdbs as c

UNRECOVERED_READ_ERROR = (0x11, 0x00)
END_OF_DATA_NOT_FOUND = (0x14, 0x03)


def position(drive) -> int:
    return int.from_bytes(run(drive, c.read_position(6)).data[8:16], "big")


def damaged(drive, before: int = 5) -> None:
    """Ten blocks, a filemark, three blocks; then the header of block ``before`` spoiled."""
    for i in range(10):
        assert run(drive, c.write6(100), bytes([i]) * 100).good
    run(drive, c.write_filemarks6(1))
    for i in range(3):
        run(drive, c.write6(100), b"z" * 100)
    cart = drive.eject()
    path = cart.path
    cart.close()
    with open(os.path.join(path, "p0.rec"), "r+b") as f:
        f.seek(before * HEADER_SIZE + 4)
        f.write(b"\xde\xad\xbe\xef")
    drive.insert(Cartridge.open(path))
    drive.unit_attentions.clear()
    assert drive.cartridge.active.damaged


def check(answer, code, information=None) -> None:
    assert (answer.sense.key, answer.sense.code) == (SenseKey.MEDIUM_ERROR, code), answer.sense
    if information is not None:
        assert answer.sense.information == information


def test_read_into_the_damage_is_a_medium_error(drive):
    damaged(drive)
    for i in range(5):
        a = run(drive, c.read6(100))
        assert a.good and a.data == bytes([i]) * 100
    check(run(drive, c.read6(100)), UNRECOVERED_READ_ERROR, 100)
    assert position(drive) == 5
    check(run(drive, c.read6(100)), UNRECOVERED_READ_ERROR)       # and again: nothing moved


def test_space_and_locate_stop_at_the_damage(drive):
    damaged(drive)
    check(run(drive, c.space6(0, 8)), UNRECOVERED_READ_ERROR, 3)   # 5 spaced, 3 not
    assert position(drive) == 5
    run(drive, c.rewind())
    check(run(drive, c.space6(1, 1)), UNRECOVERED_READ_ERROR, 1)   # the filemark is beyond it
    assert position(drive) == 5
    run(drive, c.rewind())
    check(run(drive, c.locate10(12)), UNRECOVERED_READ_ERROR)
    assert position(drive) == 5
    assert run(drive, c.locate10(3)).good and position(drive) == 3
    check(run(drive, c.space6(3, 0)), END_OF_DATA_NOT_FOUND)       # SPACE to EOD
    assert position(drive) == 5
    run(drive, c.rewind())
    check(run(drive, c.locate16(0, dest_type=3)), END_OF_DATA_NOT_FOUND)
    assert position(drive) == 5


def test_a_write_at_the_damage_overwrites_it(drive):
    damaged(drive)
    check(run(drive, c.space6(3, 0)), END_OF_DATA_NOT_FOUND)
    assert run(drive, c.write6(3), b"new").good
    assert not drive.cartridge.active.damaged
    assert run(drive, c.space6(3, 0)).good and position(drive) == 6
    run(drive, c.rewind())
    assert run(drive, c.space6(0, 5)).good
    assert run(drive, c.read6(3)).data == b"new"
    a = run(drive, c.read6(3))
    assert (a.sense.key, a.sense.code) == (SenseKey.BLANK_CHECK, (0x00, 0x05))


def test_worm_media_refuse_a_write_over_the_damage(make_drive):
    drive = make_drive(media="LTO8-WORM")
    damaged(drive)
    check(run(drive, c.space6(3, 0)), END_OF_DATA_NOT_FOUND)
    a = run(drive, c.write6(3), b"new")
    assert (a.sense.key, a.sense.code) == (SenseKey.DATA_PROTECT, (0x30, 0x0C))
    assert drive.cartridge.active.damaged
