"""SPACE, LOCATE, READ POSITION, REWIND."""
from __future__ import annotations

from scsi import SenseKey
from support.answers import run
import support.cdbs as c


def layout(drive, files=3, blocks=4):
    """files x blocks data blocks, a filemark after each file."""
    for f in range(files):
        for b in range(blocks):
            run(drive, c.write6(4), bytes([f, b, 0, 0]))
        run(drive, c.write_filemarks6(1))
    run(drive, c.rewind())


def position(drive):
    d = run(drive, c.read_position(6)).data
    return int.from_bytes(d[8:16], "big"), int.from_bytes(d[16:24], "big")


def test_space_filemarks_forward_and_back(drive):
    layout(drive)
    assert run(drive, c.space6(1, 2)).good
    assert position(drive) == (10, 2)
    assert run(drive, c.space6(1, -1)).good
    assert position(drive) == (9, 1)          # BOT side of the second filemark
    a = run(drive, c.space6(1, 5))
    assert (a.sense.key, a.sense.code, a.sense.information) == (SenseKey.BLANK_CHECK, (0, 5), 3)   # filemarks 9 and 14 were there
    assert position(drive) == (15, 3)
    a = run(drive, c.space16(1, -9))
    assert a.sense.eom and a.sense.code == (0, 4) and a.sense.information == 6
    assert position(drive) == (0, 0)


def test_space_blocks_stops_at_filemarks(drive):
    layout(drive)
    a = run(drive, c.space6(0, 6))
    assert a.sense.filemark and a.sense.information == 2
    assert position(drive) == (5, 1)
    a = run(drive, c.space6(0, -3))           # the filemark is right behind: no block spaced
    assert a.sense.filemark and a.sense.information == 3
    assert position(drive) == (4, 0)          # BOT side of that filemark: still file 0


def test_space_sequential_filemarks_and_eod(drive):
    for _ in range(2):
        run(drive, c.write6(1), b"a")
        run(drive, c.write_filemarks6(1))
    run(drive, c.write_filemarks6(1))         # two filemarks in a row: objects 3 and 4
    run(drive, c.write6(1), b"b")
    run(drive, c.rewind())
    assert run(drive, c.space6(2, 2)).good
    assert position(drive)[0] == 5
    assert run(drive, c.space6(3, 0)).good
    assert position(drive)[0] == 6


def test_locate_objects_files_and_eod(drive):
    layout(drive)
    assert run(drive, c.locate10(7)).good and position(drive) == (7, 1)
    assert run(drive, c.locate16(2, dest_type=1)).good and position(drive) == (10, 2)
    assert run(drive, c.locate16(0, dest_type=3)).good and position(drive) == (15, 3)
    a = run(drive, c.locate10(99))
    assert (a.sense.key, a.sense.code) == (SenseKey.BLANK_CHECK, (0, 5)) and position(drive) == (15, 3)
    a = run(drive, c.locate10(0, partition=3))
    assert a.sense.key == SenseKey.ILLEGAL_REQUEST and a.sense.specific.byte == 8


def test_read_position_forms(drive):
    layout(drive)
    run(drive, c.locate10(6))
    short = run(drive, c.read_position(0)).data
    assert len(short) == 20 and int.from_bytes(short[4:8], "big") == 6 and not short[0] & 0x80
    ext = run(drive, c.read_position(8, 32)).data
    assert len(ext) == 32 and int.from_bytes(ext[8:16], "big") == 6 and int.from_bytes(ext[2:4], "big") == 0x1C
    assert run(drive, c.read_position(8, 0)).data == b""
    run(drive, c.rewind())
    assert run(drive, c.read_position(0)).data[0] & 0x80     # BOP
    a = run(drive, c.read_position(3))
    assert a.sense.key == SenseKey.ILLEGAL_REQUEST and (a.sense.specific.byte, a.sense.specific.bit) == (1, 4)
