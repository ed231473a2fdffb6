"""A read-only cartridge (its files cannot be written) in a drive: the host sees a
write-protected tape.  Everything reads, with the usual filemark and EOD answers; every
write is DATA PROTECT, WRITE PROTECTED (07/27/00) with the head where it was; and the
cartridge's files are exactly as they were after load, reads and unload."""
from __future__ import annotations

import hashlib
import os

from images.cartridge import Cartridge
from scsi import SenseKey
from support.answers import run
import support.cdbs as c

WRITE_PROTECTED = (0x27, 0x00)


def digest(path: str) -> dict[str, str]:
    return {n: hashlib.sha256(open(os.path.join(path, n), "rb").read()).hexdigest()
            for n in sorted(os.listdir(path))}


def loaded_read_only(drive) -> str:
    """Two blocks, a filemark, a block written by the drive; then reinserted read-only
    with half a record header (a torn write) after them."""
    for data in (b"a" * 300, b"b" * 300):
        assert run(drive, c.write6(300), data).good
    assert run(drive, c.write_filemarks6(1)).good
    assert run(drive, c.write6(100), b"c" * 100).good
    cart = drive.eject()
    path = cart.path
    cart.close()
    with open(os.path.join(path, "p0.rec"), "ab") as f:
        f.write(b"\x07" * 20)
    drive.insert(Cartridge.open(path, read_only=True))
    drive.unit_attentions.clear()
    return path


def position(drive) -> int:
    return int.from_bytes(run(drive, c.read_position(6)).data[8:16], "big")


def test_it_reads_as_a_write_protected_tape(drive):
    path = loaded_read_only(drive)
    before = digest(path)
    header = run(drive, c.mode_sense6(0x10)).data
    assert header[2] & 0x80                                  # WP in the mode parameter header
    assert run(drive, c.rewind()).good
    a = run(drive, c.read6(300))
    assert a.good and a.data == b"a" * 300
    assert run(drive, c.read6(300)).data == b"b" * 300
    a = run(drive, c.read6(300))
    assert a.sense.key == SenseKey.NO_SENSE and a.sense.filemark
    a = run(drive, c.read6(100))
    assert a.good and a.data == b"c" * 100
    a = run(drive, c.read6(100))                             # the torn tail is not a record
    assert (a.sense.key, a.sense.code) == (SenseKey.BLANK_CHECK, (0x00, 0x05))
    assert run(drive, c.load_unload(False)).good
    drive.eject().close()
    assert digest(path) == before


def test_every_write_is_data_protect_and_moves_nothing(drive):
    path = loaded_read_only(drive)
    before = digest(path)
    assert run(drive, c.space6(1, 1)).good                   # after the filemark
    for cdb, data in ((c.write6(10), b"x" * 10), (c.write_filemarks6(1), None), (c.erase(), None)):
        a = run(drive, cdb, data)
        assert (a.sense.key, a.sense.code) == (SenseKey.DATA_PROTECT, WRITE_PROTECTED), (cdb.hex(), a.sense)
        assert position(drive) == 3
    assert run(drive, c.rewind()).good
    a = run(drive, c.format_medium())                        # at BOP, where FORMAT MEDIUM may go
    assert (a.sense.key, a.sense.code) == (SenseKey.DATA_PROTECT, WRITE_PROTECTED)
    attribute = (5 + 8).to_bytes(4, "big") + bytes([0x08, 0x00, 0x01, 0, 8]) + b"LABEL   "
    a = run(drive, c.write_attribute(len(attribute)), attribute)
    assert (a.sense.key, a.sense.code) == (SenseKey.DATA_PROTECT, WRITE_PROTECTED)
    drive.eject().close()
    assert digest(path) == before
