"""The index of one partition: which objects are filemarks or setmarks, and where
every K-th object's payload starts.

This is what makes SPACE O(log n): a SPACE over filemarks is a binary search in the
filemark list (LOCATE needs no index: the record table is addressed by object).  The
checkpoints tie the index to the record table it was made from, and say how far it is
complete: an open checks the newest against the table and scans only the headers after
it.  Memory grows with the number of checkpoints and marks, never with the data.  The
index file is an append-only list of small self-checking entries in object order; it is
only ever a cache of the record table, so a missing, torn or stale index is rebuilt
from it.
"""
from __future__ import annotations

import os
from array import array
from bisect import bisect_left
from enum import IntEnum

import struct

from .checksum import crc32c
from .files import open_regular
from construct import Int8ub, Int32ub, Int64ub, Padding, Struct

CHECKPOINT_EVERY = 64


class EntryType(IntEnum):
    CHECKPOINT = 1
    FILEMARK = 2
    SETMARK = 3


IndexEntry = Struct(
    "type" / Int8ub,
    Padding(3),
    "object" / Int64ub,
    "offset" / Int64ub,
    "crc" / Int32ub,
)
ENTRY_SIZE = IndexEntry.sizeof()
_ENTRY = IndexEntry.compile()
# Hot-path twin of IndexEntry (checked against it in the tests).
_PACKED = struct.Struct(">B3xQQI")
assert _PACKED.size == ENTRY_SIZE


def encode_entry(kind: EntryType, obj: int, offset: int) -> bytes:
    body = _PACKED.pack(kind, obj, offset, 0)[:-4]
    return body + crc32c(body).to_bytes(4, "big")


class Index:
    """In-memory checkpoint and mark arrays mirrored to an append-only file."""

    def __init__(self, path: str, read_only: bool = False):
        self.path = path
        self.checkpoints = array("Q")   # checkpoints[i] = payload offset of object i*K
        self.filemarks = array("Q")     # object ids of filemarks, ascending
        self.setmarks = array("Q")
        self.read_only = read_only
        """The file is only read (a read-only cartridge): memory is rebuilt from the record table
        where the file falls short, and nothing is ever written back."""
        self.fd = -1
        try:
            self.fd = open_regular(path, writable=not read_only)
        except FileNotFoundError:
            if not read_only:
                raise
        self.stale = False
        """The file lacks entries the memory has (a write failed: the file system was
        full).  It is rewritten whole at the next sync point that can; until then, or if
        the process dies first, the next open rebuilds it from the record table."""

    # -- loading ---------------------------------------------------------------
    def load(self, data_size: int) -> list[tuple[EntryType, int, int]]:
        """Read the file; return the entries that are intact and inside the payload file."""
        if self.fd < 0:
            return []
        size = os.fstat(self.fd).st_size
        raw = os.pread(self.fd, size - size % ENTRY_SIZE, 0)
        entries: list[tuple[EntryType, int, int]] = []
        last_obj = -1
        for off in range(0, len(raw), ENTRY_SIZE):
            chunk = raw[off:off + ENTRY_SIZE]
            if crc32c(chunk[:-4]) != int.from_bytes(chunk[-4:], "big"):
                break
            e = _ENTRY.parse(chunk)
            if e.type not in (1, 2, 3) or e.object < last_obj or e.offset > data_size:
                break
            kind = EntryType(e.type)
            if kind == EntryType.CHECKPOINT and e.object != len(self.checkpoints) * CHECKPOINT_EVERY:
                break
            last_obj = e.object
            entries.append((kind, e.object, e.offset))
            if kind == EntryType.CHECKPOINT:
                self.checkpoints.append(e.offset)
            elif kind == EntryType.FILEMARK:
                self.filemarks.append(e.object)
            else:
                self.setmarks.append(e.object)
        return entries

    def reset(self) -> None:
        self.checkpoints = array("Q")
        self.filemarks = array("Q")
        self.setmarks = array("Q")

    def rewrite(self) -> None:
        """Write the file anew from memory (after recovery changed it)."""
        if self.read_only:
            return
        entries = [(EntryType.CHECKPOINT, i * CHECKPOINT_EVERY, off) for i, off in enumerate(self.checkpoints)]
        entries += [(EntryType.FILEMARK, o, 0) for o in self.filemarks]
        entries += [(EntryType.SETMARK, o, 0) for o in self.setmarks]
        entries.sort(key=lambda e: (e[1], e[0]))
        blob = b"".join(encode_entry(*e) for e in entries)
        os.ftruncate(self.fd, 0)
        if blob:
            os.pwrite(self.fd, blob, 0)

    @property
    def last_checkpoint_object(self) -> int:
        return (len(self.checkpoints) - 1) * CHECKPOINT_EVERY

    def forget_from(self, obj: int) -> None:
        """Drop in-memory entries at and after ``obj`` (the file is left alone)."""
        del self.checkpoints[(obj + CHECKPOINT_EVERY - 1) // CHECKPOINT_EVERY:]
        del self.filemarks[bisect_left(self.filemarks, obj):]
        del self.setmarks[bisect_left(self.setmarks, obj):]

    def remember(self, obj: int, offset: int, mark: EntryType | None) -> None:
        """Add an entry in memory only (recovery scan)."""
        if obj % CHECKPOINT_EVERY == 0:
            self.checkpoints.append(offset)
        if mark == EntryType.FILEMARK:
            self.filemarks.append(obj)
        elif mark == EntryType.SETMARK:
            self.setmarks.append(obj)

    def entries_from(self, obj: int) -> list[tuple[int, int]]:
        """(type, object) of every entry at or after ``obj``, in file order."""
        out = [(int(EntryType.CHECKPOINT), i * CHECKPOINT_EVERY)
               for i in range((obj + CHECKPOINT_EVERY - 1) // CHECKPOINT_EVERY, len(self.checkpoints))]
        out += [(int(EntryType.FILEMARK), o) for o in self.filemarks[bisect_left(self.filemarks, obj):]]
        out += [(int(EntryType.SETMARK), o) for o in self.setmarks[bisect_left(self.setmarks, obj):]]
        out.sort(key=lambda e: (e[1], e[0]))
        return out

    # -- maintenance as records are appended or cut -----------------------------
    def note(self, obj: int, offset: int, mark: EntryType | None, count: int = 1, stride: int = 0) -> None:
        """Record ``count`` objects from ``obj``, ``stride`` bytes apart from ``offset``
        (called after they are in the record table)."""
        entries = []
        for i in range(count):
            o, off = obj + i, offset + i * stride
            if o % CHECKPOINT_EVERY == 0:
                self.checkpoints.append(off)
                entries.append(encode_entry(EntryType.CHECKPOINT, o, off))
            if mark == EntryType.FILEMARK:
                self.filemarks.append(o)
                entries.append(encode_entry(mark, o, off))
            elif mark == EntryType.SETMARK:
                self.setmarks.append(o)
                entries.append(encode_entry(mark, o, off))
        if entries and not self.stale and not self.read_only:
            blob = b"".join(entries)
            try:
                os.pwrite(self.fd, blob, self.entry_count_bytes() - len(blob))
            except OSError:
                self.stale = True      # the file system is full: see ``stale``

    def entry_count_bytes(self) -> int:
        return (len(self.checkpoints) + len(self.filemarks) + len(self.setmarks)) * ENTRY_SIZE

    def cut(self, obj: int) -> None:
        """Forget everything at and after object ``obj``, in memory and on disk."""
        self.forget_from(obj)
        if not self.stale and not self.read_only:
            os.ftruncate(self.fd, self.entry_count_bytes())

    # -- queries ----------------------------------------------------------------
    def checkpoint_for(self, obj: int) -> tuple[int, int]:
        """(object, offset) of the last checkpoint at or before ``obj``."""
        i = min(obj // CHECKPOINT_EVERY, len(self.checkpoints) - 1)
        return i * CHECKPOINT_EVERY, self.checkpoints[i]

    def filemarks_before(self, obj: int) -> int:
        return bisect_left(self.filemarks, obj)

    def setmarks_before(self, obj: int) -> int:
        return bisect_left(self.setmarks, obj)

    def sync(self) -> None:
        if self.read_only:
            return
        try:
            if self.stale:
                self.rewrite()
                self.stale = False
            os.fsync(self.fd)
        except OSError:
            self.stale = True

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
