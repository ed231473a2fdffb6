"""Directories on tape: BSD ``struct direct`` records, as Linux dump converts them.

Each record is ``d_ino`` (u32), ``d_reclen`` (u16), ``d_type`` (u8),
``d_namlen`` (u8) and the name, NUL-terminated and padded to 4 bytes.  Records
are packed into DIRBLKSIZ chunks; a record that would cross into the next chunk
starts there instead and the previous record's ``d_reclen`` absorbs the gap,
and the last record of the directory is stretched to the end of its chunk.
Linux restore reads directories chunk by chunk and rejects a record that
crosses a chunk.
"""
from __future__ import annotations

from collections.abc import Sequence

from construct import Int8ul, Int16ul, Int32ul, Struct

from .constants import DIRBLKSIZ, MAXNAMLEN
from .errors import DumpFormatError
from .fastpath import fast_struct

DirectRecord = Struct(
    "ino" / Int32ul,
    "reclen" / Int16ul,
    "type" / Int8ul,
    "namlen" / Int8ul,
)
RECORD, _ = fast_struct(DirectRecord)
RECORD_SIZE = RECORD.size


def record_length(namlen: int) -> int:
    """Linux dump's EXT2_DIR_REC_LEN(namlen + 1): header, name, NUL, padded to 4."""
    return (RECORD_SIZE + namlen + 1 + 3) & ~3


def encode_directory(entries: Sequence[tuple[bytes, int, int]]) -> bytes:
    """The directory data for ``entries`` ((name, ino, d_type), "." and ".." first);
    its length (a multiple of DIRBLKSIZ) is the directory's size on tape."""
    if len(entries) < 2 or entries[0][0] != b"." or entries[1][0] != b"..":
        raise ValueError('a directory\'s entries must start with b"." and b".."')
    out = bytearray()
    prev = 0
    pack = RECORD.pack
    for name, ino, dtype in entries:
        namlen = len(name)
        if not 0 < namlen <= MAXNAMLEN or b"/" in name or b"\0" in name:
            raise ValueError(f"directory entry name {name!r} is not a file name")
        if not 0 < ino <= 0xFFFFFFFF or not 0 <= dtype <= 0xFF:
            raise ValueError(f"directory entry {name!r}: bad inode {ino} or type {dtype}")
        reclen = record_length(namlen)
        here = len(out)
        room = DIRBLKSIZ - here % DIRBLKSIZ
        if reclen > room:
            _stretch(out, prev, room)
            here = len(out)
        out += pack(ino, reclen, dtype, namlen)
        out += name
        out += bytes(reclen - RECORD_SIZE - namlen)
        prev = here
    tail = len(out) % DIRBLKSIZ
    if tail:
        _stretch(out, prev, DIRBLKSIZ - tail)
    return bytes(out)


def _stretch(out: bytearray, prev: int, gap: int) -> None:
    ino, reclen, dtype, namlen = RECORD.unpack_from(out, prev)
    RECORD.pack_into(out, prev, ino, reclen + gap, dtype, namlen)
    out += bytes(gap)


def decode_directory(data: bytes | memoryview, offset: int = 0) -> list[tuple[bytes, int, int]]:
    """The (name, ino, d_type) records of directory data (deleted records,
    d_ino 0, are left out); ``offset`` is where errors are reported."""
    out = []
    size = len(data)
    pos = 0
    unpack = RECORD.unpack_from
    while pos < size:
        if size - pos < RECORD_SIZE:
            raise DumpFormatError(f"directory data ends inside a record at byte {pos}", offset)
        ino, reclen, dtype, namlen = unpack(data, pos)
        if reclen < record_length(namlen) or reclen % 4 or pos + reclen > size:
            raise DumpFormatError(f"directory record at byte {pos} has bad length {reclen} "
                                  f"(name length {namlen}, {size - pos} bytes left)", offset)
        if pos // DIRBLKSIZ != (pos + reclen - 1) // DIRBLKSIZ:
            raise DumpFormatError(f"directory record at byte {pos} crosses a {DIRBLKSIZ}-byte chunk", offset)
        if ino:
            if namlen == 0:
                raise DumpFormatError(f"directory record at byte {pos} has an empty name", offset)
            name = bytes(data[pos + RECORD_SIZE:pos + RECORD_SIZE + namlen])
            if b"\0" in name:
                raise DumpFormatError(f"directory record at byte {pos} has a NUL in its name", offset)
            out.append((name, ino, dtype))
        pos += reclen
    return out
