"""Read-only cartridges: files that cannot be written (a read-only mount of archived
cartridges, or permissions) still read, and nothing on the host changes.

Opened for writing where possible, a cartridge whose files cannot be written opens
read-only by itself; ``read_only=True`` asks for that anywhere (a tool that must not
touch the files); ``read_only=False`` refuses instead.  A read-only cartridge is
write-protected to every writer, keeps a torn tail it cannot cut (after EOD, unread),
keeps its index in memory when the file is missing or stale, and still excludes a
second opener.
"""
from __future__ import annotations

import hashlib
import os

import pytest

from images.cartridge import Cartridge, CartridgeError, Kind, WriteProtected
from support.filesystems import read_only


def snapshot(path: str) -> dict[str, tuple[str, int]]:
    """Every file of the cartridge directory: content digest and modification time."""
    out = {}
    for name in sorted(os.listdir(path)):
        full = os.path.join(path, name)
        with open(full, "rb") as f:
            out[name] = (hashlib.sha256(f.read()).hexdigest(), os.stat(full).st_mtime_ns)
    return out


def written(tmp_path, torn: bool = True) -> str:
    """Three records, a filemark, two records; a torn tail (half a header) after them."""
    path = str(tmp_path / "RO0000L8")
    with Cartridge.create(path, "LTO8", capacity=8 << 20) as cart:
        p = cart.active
        for i in range(3):
            p.write(memoryview(bytes([i]) * 1000))
        p.write_mark(Kind.FILEMARK)
        for i in range(2):
            p.write(memoryview(b"z" * 500))
    if torn:
        with open(os.path.join(path, "p0.rec"), "ab") as f:
            f.write(b"\x01" * 16)
    return path


def read_all(cart: Cartridge) -> list:
    p = cart.active
    p.rewind()
    out, buf = [], memoryview(bytearray(2000))
    while True:
        r = p.read(buf)
        if r.kind is None:
            return out
        out.append((r.kind, bytes(buf[:r.copied])))


EXPECTED = [(Kind.DATA, bytes([i]) * 1000) for i in range(3)] + [(Kind.FILEMARK, b"")] + [(Kind.DATA, b"z" * 500)] * 2


def test_asked_for_it_reads_everything_and_changes_nothing(tmp_path):
    path = written(tmp_path)
    os.unlink(os.path.join(path, "p0.idx"))              # and the index is gone
    before = snapshot(path)
    with Cartridge.open(path, read_only=True) as cart:
        assert cart.read_only and cart.write_protected
        assert not cart.meta.write_protected             # the tab itself is not set
        p = cart.active
        assert (p.eod, p.recovered_bytes, p.filemark_count) == (6, 16, 1)   # tail left, not cut
        assert read_all(cart) == EXPECTED
        p.locate(4)                                      # the index, rebuilt in memory
        assert p.filemarks_before() == 1
        cart.note_load("DRIVE1")                         # counters: kept in memory only
        cart.count_read(5 << 20)
        cart.flush()
    assert snapshot(path) == before                      # no byte, no timestamp, no index file
    assert "p0.idx" not in before


def test_every_write_is_refused_as_write_protected(tmp_path):
    path = written(tmp_path, torn=False)
    before = snapshot(path)
    with Cartridge.open(path, read_only=True) as cart:
        p = cart.active
        for attempt in (lambda: cart.check_writable(overwrite=False),
                        lambda: p.write(memoryview(b"new")),
                        lambda: p.write_mark(Kind.FILEMARK),
                        lambda: p.write_marks(Kind.FILEMARK, 3),
                        lambda: p.erase_all(),
                        lambda: cart.format()):
            with pytest.raises(WriteProtected, match="read-only"):
                attempt()
        with pytest.raises(CartridgeError, match="read-only .* write-protect tab cannot be changed"):
            cart.write_protected = False
        assert read_all(cart) == EXPECTED[:6]
    assert snapshot(path) == before


def test_it_still_holds_the_cartridge_lock(tmp_path):
    path = written(tmp_path)
    with Cartridge.open(path, read_only=True):
        for mode in (None, True, False):
            with pytest.raises(CartridgeError, match="in use by another drive or process"):
                Cartridge.open(path, read_only=mode)
    with Cartridge.open(path):                           # writable again: and it excludes readers
        with pytest.raises(CartridgeError, match="in use"):
            Cartridge.open(path, read_only=True)


def test_on_a_read_only_mount_it_opens_read_only_by_itself(tmp_path):
    path = written(tmp_path)
    with read_only(tmp_path):
        before = snapshot(path)
        with pytest.raises(CartridgeError, match="cannot be written .*Fix: make the directory"):
            Cartridge.open(path, read_only=False)
        with Cartridge.open(path) as cart:
            assert cart.read_only and cart.write_protected
            assert cart.active.recovered_bytes == 16
            assert read_all(cart) == EXPECTED
        assert snapshot(path) == before
    with Cartridge.open(path) as cart:                   # writable again: the torn tail is cut now
        assert not cart.read_only and not cart.write_protected
        assert cart.active.recovered_bytes == 16
    assert os.path.getsize(os.path.join(path, "p0.rec")) + os.path.getsize(os.path.join(path, "p0.dat")) == \
        cart.active.end


def test_a_read_only_mount_without_a_lock_file_locks_the_directory(tmp_path):
    path = written(tmp_path)
    os.unlink(os.path.join(path, "lock"))                # made elsewhere, never opened there
    with read_only(tmp_path):
        with Cartridge.open(path) as cart:
            assert cart.read_only
            with pytest.raises(CartridgeError, match="in use"):
                Cartridge.open(path)
        with Cartridge.open(path) as cart:               # and the lock went with the close
            assert read_all(cart) == EXPECTED
