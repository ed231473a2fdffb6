"""When the host cannot store what the drive writes: a full file system is the physical
end of the tape (VOLUME OVERFLOW, EOM: the backup application goes on with another
cartridge), any other host I/O error is MEDIUM ERROR, WRITE ERROR; either way nothing
half-written is left behind, and everything acknowledged before still reads back."""
from __future__ import annotations

import errno
import os

import pytest

from images.cartridge import Cartridge
from scsi import SenseKey
from scsi.ssc import DrivePersonality, TapeDrive
from scsi.ssc.tapealert import TapeAlerts
from support.answers import run
from support.filesystems import fill, small_tmpfs
import support.cdbs as c

MIB = 1024 * 1024
BLOCK = 256 * 1024


@pytest.fixture
def small_fs(tmp_path):
    """A 2 MiB tmpfs: the file system fills up long before the 64 MiB cartridge does."""
    with small_tmpfs(tmp_path, 2 * MIB) as mnt:
        yield mnt


def used(path: str) -> int:
    """Bytes of the record table and the payload file of partition 0."""
    return sum(os.path.getsize(os.path.join(path, name)) for name in ("p0.rec", "p0.dat"))


def drive_with(path: str) -> TapeDrive:
    drive = TapeDrive(DrivePersonality.bundled("IBM_LTO8"), "FULL", power_on_ua=False)
    drive.insert(Cartridge.create(path, capacity=64 * MIB))
    drive.unit_attentions.clear()
    return drive


def test_a_full_file_system_is_the_end_of_the_tape(small_fs):
    path = str(small_fs / "A00001L8")
    drive = drive_with(path)
    written = []
    while True:
        data = os.urandom(BLOCK)
        a = run(drive, c.write6(BLOCK), data)
        if not a.good:
            break
        written.append(data)
        assert len(written) < 20
    assert (a.sense.key, a.sense.code, a.sense.eom, a.sense.information) == \
        (SenseKey.VOLUME_OVERFLOW, (0x00, 0x02), True, BLOCK)
    assert len(written) >= 4
    part = drive.cartridge.active
    assert used(path) == part.end                           # the half-written block was taken back
    assert run(drive, c.write_filemarks6(1)).good           # a filemark still fits
    assert run(drive, c.rewind()).good
    for data in written:
        assert run(drive, c.read6(BLOCK)).data == data
    assert run(drive, c.read6(BLOCK)).sense.filemark
    drive.eject().close()
    with Cartridge.open(path) as again:
        assert (again.active.eod, again.active.recovered_bytes) == (len(written) + 1, 0)


def test_filemarks_on_a_full_file_system_overflow(small_fs):
    path = str(small_fs / "A00001L8")
    drive = drive_with(path)
    filler = fill(small_fs)                                  # leave no page free
    a = run(drive, c.write_filemarks6(2))
    assert (a.sense.key, a.sense.eom, a.sense.information) == (SenseKey.VOLUME_OVERFLOW, True, 2)
    assert drive.cartridge.active.eod == 0
    os.unlink(filler)
    assert run(drive, c.write_filemarks6(2)).good


def test_a_host_write_error_is_a_medium_error(drive, monkeypatch):
    import images.cartridge.partition as partition
    assert run(drive, c.write6(100), b"a" * 100).good
    path, size = drive.cartridge.path, drive.cartridge.active.end

    def eio(*args):
        raise OSError(errno.EIO, os.strerror(errno.EIO))
    monkeypatch.setattr(partition.os, "pwrite", eio)
    a = run(drive, c.write6(100), b"b" * 100)
    assert (a.sense.key, a.sense.code, a.sense.information) == (SenseKey.MEDIUM_ERROR, (0x0C, 0x00), 100)
    assert TapeAlerts.WRITE_FAILURE in drive.alerts.active
    assert used(path) == size
    monkeypatch.undo()
    monkeypatch.setattr(partition.os, "fsync", eio)
    a = run(drive, c.rewind())
    assert (a.sense.key, a.sense.code) == (SenseKey.MEDIUM_ERROR, (0x0C, 0x00))
    monkeypatch.undo()
    assert run(drive, c.rewind()).good
    assert run(drive, c.read6(100)).data == b"a" * 100
