"""The 1 KiB dump header (``union u_spcl``), with the on-tape inode inside it.

Every object on a dump tape starts with one of these: the volume label
(TS_TAPE), the inode maps (TS_CLRI, TS_BITS), an inode (TS_INODE) and its
continuations (TS_ADDR), the trailer (TS_END).  ``c_addr`` says, for each of
the next ``c_count`` 1 KiB blocks of the object, whether it is on tape (1) or a
hole (0).  The 256 little-endian int32 words of a header sum to CHECKSUM.

The layout is Linux dump's (``struct s_spcl`` with ``struct new_bsd_inode``).
Fields that Linux dump declares signed but fills from unsigned ext2 values
(di_nlink, di_gen, di_blocks) are declared unsigned here so that large values
survive; times are unsigned 32-bit seconds plus microseconds.
"""
from __future__ import annotations

from construct import Array, Bytes, Int16ul, Int32sl, Int32ul, Int64ul, Struct

from .constants import (
    CHECKSUM,
    HEADER_TYPES,
    LBLSIZE,
    MAX_MAP_SIZE,
    NAMELEN,
    NDADDR,
    NFS_MAGIC,
    NIADDR,
    TP_BSIZE,
    TP_NINDIR,
    TS_BITS,
    TS_CLRI,
)
from .fastpath import fast_struct, offset_of

BsdTimeval = Struct("sec" / Int32ul, "usec" / Int32ul)

OnTapeInode = Struct(
    "mode" / Int16ul,          # st_mode: type bits and permissions (16 bits on every Linux fs)
    "nlink" / Int16ul,
    "ouid" / Int16ul,          # low 16 bits of uid/gid (old inode format)
    "ogid" / Int16ul,
    "size" / Int64ul,
    "atime" / BsdTimeval,
    "mtime" / BsdTimeval,
    "ctime" / BsdTimeval,
    "db" / Array(NDADDR, Int32ul),   # ext2 i_block[0..11]: device numbers and short symlinks live here
    "ib" / Array(NIADDR, Int32ul),
    "flags" / Int32ul,         # ext2 inode flags (chattr); restore applies them
    "blocks" / Int32ul,
    "gen" / Int32ul,
    "uid" / Int32ul,
    "gid" / Int32ul,
    "spare" / Array(2, Int32ul),
)

SpclHeader = Struct(
    "type" / Int32sl,
    "date" / Int32ul,          # this dump, seconds since the epoch
    "ddate" / Int32ul,         # the dump this one is based on (0 for level 0)
    "volume" / Int32sl,
    "tapea" / Int32ul,         # number of this 1 KiB block in the volume
    "inumber" / Int32ul,
    "magic" / Int32sl,
    "checksum" / Int32ul,
    "dinode" / OnTapeInode,
    "count" / Int32sl,
    "addr" / Bytes(TP_NINDIR),
    "label" / Bytes(LBLSIZE),
    "level" / Int32sl,
    "filesys" / Bytes(NAMELEN),
    "dev" / Bytes(NAMELEN),
    "host" / Bytes(NAMELEN),
    "flags" / Int32ul,
    "firstrec" / Int32sl,
    "ntrec" / Int32sl,
    "extattributes" / Int32sl,
    "spare" / Array(30, Int32ul),
)
assert SpclHeader.sizeof() == TP_BSIZE

# The fast paths: everything a header carries per object sits before c_addr
# (HEAD); the volume information sits after it (TAIL).
HEAD, HEAD_INDEX = fast_struct(SpclHeader, stop="addr")
TAIL, TAIL_INDEX = fast_struct(SpclHeader, start="label", stop="spare")
OFF_CHECKSUM = offset_of(SpclHeader, "checksum")
OFF_ADDR = offset_of(SpclHeader, "addr")
OFF_LABEL = offset_of(SpclHeader, "label")
OFF_FLAGS = offset_of(SpclHeader, "flags")
assert HEAD.size == OFF_ADDR and HEAD.size % 4 == 0

I_TYPE = HEAD_INDEX["type"]
I_DATE = HEAD_INDEX["date"]
I_DDATE = HEAD_INDEX["ddate"]
I_VOLUME = HEAD_INDEX["volume"]
I_TAPEA = HEAD_INDEX["tapea"]
I_INUMBER = HEAD_INDEX["inumber"]
I_MAGIC = HEAD_INDEX["magic"]
I_DINODE = HEAD_INDEX["dinode.mode"]       # first of the on-tape inode's values
I_COUNT = HEAD_INDEX["count"]
DINODE_INDEX = {name[len("dinode."):]: i - I_DINODE for name, i in HEAD_INDEX.items() if name.startswith("dinode.")}


class Header:
    """One decoded header: what the reader needs to walk the stream."""

    __slots__ = ("addr", "count", "date", "ddate", "dinode", "extattributes", "flags", "ino", "offset", "tail",
                 "tapea", "type", "volume")

    def __init__(self, offset: int, head: tuple, addr: bytes, tail: tuple):
        self.offset = offset
        self.type = head[I_TYPE]
        self.date = head[I_DATE]
        self.ddate = head[I_DDATE]
        self.volume = head[I_VOLUME]
        self.tapea = head[I_TAPEA]
        self.ino = head[I_INUMBER]
        self.count = head[I_COUNT]
        self.dinode = head[I_DINODE:I_COUNT]
        self.addr = addr
        self.tail = tail
        self.flags = tail[TAIL_INDEX["flags"]]
        self.extattributes = tail[TAIL_INDEX["extattributes"]]

    @property
    def size(self) -> int:
        return self.dinode[DINODE_INDEX["size"]]

    def data_blocks(self) -> int:
        """Blocks of data on tape after this header."""
        return self.count - self.addr.count(0)


_ADDR_NORMAL = bytes([0] + [1] * 255)


def parse_header(raw: memoryview, offset: int) -> Header | str:
    """The header in the 1 KiB ``raw``, or why it is not a valid one."""
    head = HEAD.unpack_from(raw)
    if head[I_MAGIC] != NFS_MAGIC:
        return "no dump header magic"
    if sum(raw.cast("I")) & 0xFFFFFFFF != CHECKSUM:
        return "header checksum mismatch"
    kind = head[I_TYPE]
    if kind not in HEADER_TYPES:
        return f"unknown header type {kind}"
    count = head[I_COUNT]
    if kind in (TS_CLRI, TS_BITS):
        # Map headers may announce more blocks than c_addr has room for; the
        # blocks are always on tape (restore ignores c_addr for maps).
        if count < 0 or count > MAX_MAP_SIZE // TP_BSIZE:
            return f"bad map block count {count}"
        addr = b"\x01" * count
    else:
        if count < 0 or count > TP_NINDIR:
            return f"bad block count {count}"
        addr = bytes(raw[OFF_ADDR:OFF_ADDR + count]).translate(_ADDR_NORMAL)
    return Header(offset, head, addr, TAIL.unpack_from(raw, OFF_LABEL))
