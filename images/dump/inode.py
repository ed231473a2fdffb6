"""One inode as dump carries it, and its place in the header's on-tape inode.

Device numbers go where ext2/ext4 keep them and Linux dump copies them from:
``i_block[0]`` in the old 8:8 encoding when both numbers fit a byte, otherwise
``i_block[1]`` in the kernel's new encoding (``i_block[0]`` then 0).  Linux
``restore`` reads ``di_db[0]`` only, so it recreates large device numbers as 0:0,
exactly as it does for images of Linux dump.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass

from .constants import NDADDR, NIADDR
from .fastpath import flat_fields
from .header import DINODE_INDEX, OnTapeInode

_NS = 1_000_000_000
_U32 = 0xFFFFFFFF


@dataclass(slots=True)
class InodeInfo:
    ino: int
    mode: int              # full st_mode (S_IFMT type bits | permissions incl. suid/sgid/sticky)
    nlink: int
    uid: int
    gid: int
    size: int
    atime_ns: int
    mtime_ns: int
    ctime_ns: int
    rdev: int = 0          # os.makedev() value for S_IFCHR / S_IFBLK
    generation: int = 0
    flags: int = 0
    xattrs: tuple[tuple[bytes, bytes], ...] = ()   # (name, value) as os.listxattr/os.getxattr give them


def encode_rdev(rdev: int) -> tuple[int, int]:
    """(i_block[0], i_block[1]) for device number ``rdev``, as ext4 stores it."""
    major, minor = os.major(rdev), os.minor(rdev)
    if major < 256 and minor < 256:
        return (major << 8) | minor, 0
    return 0, ((minor & 0xFF) | ((major & 0xFFF) << 8) | ((minor & ~0xFF) << 12)) & _U32


def decode_rdev(db0: int, db1: int) -> int:
    if db0:
        return os.makedev((db0 >> 8) & 0xFF, db0 & 0xFF)
    return os.makedev((db1 & 0xFFF00) >> 8, (db1 & 0xFF) | ((db1 >> 12) & 0xFFF00))


_TMAX = (_U32 + 1) * _NS


def _time(ns: int) -> tuple[int, int]:
    """(seconds, microseconds) clamped to the unsigned 32-bit seconds dump has."""
    sec, rest = divmod(ns, _NS)
    if sec < 0:
        return 0, 0
    if sec > _U32:
        return _U32, 999_999
    return sec, rest // 1000


_ZERO_BLOCKS = (0,) * (NDADDR + NIADDR)


def dinode_values(inode: InodeInfo, size: int, db: tuple[int, ...] = _ZERO_BLOCKS) -> tuple:
    """The on-tape inode's values in the order of the header's fast path."""
    at, mt, ct = inode.atime_ns, inode.mtime_ns, inode.ctime_ns
    if 0 <= at < _TMAX and 0 <= mt < _TMAX and 0 <= ct < _TMAX:
        a, am = divmod(at, _NS)
        m, mm = divmod(mt, _NS)
        c, cm = divmod(ct, _NS)
        am //= 1000
        mm //= 1000
        cm //= 1000
    else:
        (a, am), (m, mm), (c, cm) = _time(at), _time(mt), _time(ct)
    uid, gid = inode.uid & _U32, inode.gid & _U32
    nlink = inode.nlink
    if not 0 <= nlink <= 0xFFFF:
        nlink = 0 if nlink < 0 else 0xFFFF
    return (inode.mode & 0xFFFF, nlink, uid & 0xFFFF, gid & 0xFFFF, size,
            a, am, m, mm, c, cm, *db, inode.flags & _U32, 0, inode.generation & _U32, uid, gid, 0, 0)


# dinode_sum relies on this layout: four u16 (two words), one u64 (two words), then u32 words.
assert [code for _, code in flat_fields(OnTapeInode)] == ["H", "H", "H", "H", "Q"] + ["L"] * 28


def dinode_sum(values: tuple) -> int:
    """The sum of the int32 words the on-tape inode ``values`` occupy (for the header checksum)."""
    size = values[4]
    return sum(values) + 0xFFFF * (values[1] + values[3]) - size + (size & _U32) + (size >> 32)


def special_blocks(inode: InodeInfo) -> tuple[int, ...]:
    """i_block[] for a device node (its number) or any other special file (zeros)."""
    if stat.S_ISCHR(inode.mode) or stat.S_ISBLK(inode.mode):
        return encode_rdev(inode.rdev) + _ZERO_BLOCKS[2:]
    return _ZERO_BLOCKS


_D = DINODE_INDEX


def inode_from_dinode(ino: int, dinode: tuple, new_format: bool = True) -> InodeInfo:
    mode = dinode[_D["mode"]]
    rdev = 0
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        rdev = decode_rdev(dinode[_D["db[0]"]], dinode[_D["db[1]"]])
    uid = dinode[_D["uid"]] if new_format else dinode[_D["ouid"]]
    gid = dinode[_D["gid"]] if new_format else dinode[_D["ogid"]]
    return InodeInfo(
        ino=ino, mode=mode, nlink=dinode[_D["nlink"]], uid=uid, gid=gid, size=dinode[_D["size"]],
        atime_ns=dinode[_D["atime.sec"]] * _NS + min(dinode[_D["atime.usec"]], 999_999) * 1000,
        mtime_ns=dinode[_D["mtime.sec"]] * _NS + min(dinode[_D["mtime.usec"]], 999_999) * 1000,
        ctime_ns=dinode[_D["ctime.sec"]] * _NS + min(dinode[_D["ctime.usec"]], 999_999) * 1000,
        rdev=rdev, generation=dinode[_D["gen"]], flags=dinode[_D["flags"]])
