"""A partition's payload file, and the read-only window through which blocks are read
without a copy.

A READ that brings no buffer of its own (an in-process initiator: the embedding API,
the tests, the benchmarks) is answered with a view of the page cache itself, through a
shared read-only mapping of the payload file: the CRC check reads the block where it
lies and nobody copies it.  A transport that has a buffer (the TCMU data area, an
NDMP mover) still gets the block with one ``preadv`` into it.

Two hazards come with mapped files:

- Touching a mapped page beyond the end of the file is SIGBUS, which kills the process.
  So the file is never made shorter while any mapping of it lives, in this object or
  in an earlier one of the same file (a view handed out outlives the window it came
  from).  The bytes past the payloads in use are then left as slack, overwritten by
  the next blocks and cut at a later sync point, close or open when nothing maps them.
- A page the disk fails to read is SIGBUS too.  Asking the kernel to populate each
  view first (``MADV_POPULATE_READ``, which reports that as an error instead) was
  measured at 9 us a 256 KiB block, and checking residency with ``mincore`` at 7 us:
  as much as the whole zero-copy read saves.  So this hazard is not handled here; it
  is confined to in-process initiators that bring no buffer, and named in the
  embedding API's documentation.  Transports (TCMU, the NDMP mover) always bring a
  buffer and read with ``preadv``, where a disk error is a MEDIUM ERROR.
"""
from __future__ import annotations

import mmap
import os
import weakref

from .files import open_regular, write_fully

WINDOW = 64 << 20
"""Bytes mapped at a time: large enough that remapping is rare, small enough that
the resident size stays flat however much of the tape is read."""
_ALIGN = 2 << 20
_PAGE = mmap.PAGESIZE

_mappings: dict[tuple[int, int], weakref.WeakSet] = {}
"""Every live mapping, by the (device, inode) of the file it maps.  A mapping lives on
after its window is left for as long as a view of it is held."""


class PayloadFile:
    def __init__(self, path: str, read_only: bool = False):
        self.path = path
        self.fd = open_regular(path, writable=not read_only)
        st = os.fstat(self.fd)
        self._key = (st.st_dev, st.st_ino)
        self._map: mmap.mmap | None = None
        self._view: memoryview | None = None
        self._start = 0
        self._stop = 0

    @property
    def size(self) -> int:
        return os.fstat(self.fd).st_size

    # -- reading -------------------------------------------------------------------
    def read_into(self, view: memoryview, offset: int) -> int:
        """Bytes read into ``view``; a host I/O error reads as nothing (-1)."""
        try:
            return os.preadv(self.fd, [view], offset)
        except OSError:
            return -1

    def read(self, offset: int, length: int) -> bytes:
        """``length`` bytes at ``offset`` (fewer, or none on a host I/O error)."""
        try:
            return os.pread(self.fd, length, offset)
        except OSError:
            return b""

    def view(self, offset: int, length: int) -> memoryview | None:
        """A read-only view of ``length`` bytes at ``offset`` (which the caller knows to
        lie inside the file); None where they cannot be mapped (the caller copies)."""
        if not (self._start <= offset and offset + length <= self._stop) and not self._remap(offset, length):
            return None
        rel = offset - self._start
        return self._view[rel:rel + length]             # type: ignore[index]

    def _remap(self, offset: int, length: int) -> bool:
        self._unmap()
        start = offset - offset % _ALIGN
        # Within the file: Python refuses to map past its end (the file grows as the
        # tape is written, and the window moves on when a read passes it).
        size = max(min(WINDOW, self.size - start), offset + length - start)
        try:
            m = mmap.mmap(self.fd, size, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ, offset=start)
        except (OSError, ValueError, OverflowError):
            return False
        _mappings.setdefault(self._key, weakref.WeakSet()).add(m)
        self._map, self._view = m, memoryview(m)
        self._start, self._stop = start, start + size
        return True

    def _unmap(self) -> None:
        """Leave the window: close it if no view of it is held, else let the last view close it."""
        if self._map is None:
            return
        m, self._map = self._map, None
        assert self._view is not None
        self._view.release()
        self._view = None
        self._start = self._stop = 0
        try:
            m.close()
        except BufferError:
            pass                        # a view is held: the mapping goes when it does

    def mapped(self) -> bool:
        """Does any mapping of this file live in the process?"""
        live = _mappings.get(self._key)
        if live is not None and not any(not m.closed for m in live):
            del _mappings[self._key]         # all gone: forget the file
            live = None
        return live is not None

    # -- writing -------------------------------------------------------------------
    def write(self, data: memoryview | bytes, offset: int) -> None:
        write_fully(self.fd, data, offset)

    def shrink(self, size: int) -> bool:
        """Cut the file to ``size`` bytes if no mapping could see the bytes go; True if
        it is now no longer than that."""
        if self.size <= size:
            return True
        self._unmap()
        if self.mapped():
            return False
        os.ftruncate(self.fd, size)
        return True

    def sync(self) -> None:
        os.fsync(self.fd)

    def close(self) -> None:
        self._unmap()
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
