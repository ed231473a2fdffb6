"""The on-tape inode: device numbers where ext4 and Linux dump keep them, times, clamping."""
from __future__ import annotations

import os
import stat

from hypothesis import given
from hypothesis import strategies as st

from images.dump import InodeInfo
from images.dump.header import DINODE_INDEX
from images.dump.inode import decode_rdev, dinode_values, encode_rdev, inode_from_dinode, special_blocks


def test_device_numbers_as_linux_dump_wrote_them():
    # measured on a Linux dump image of ext4: c 4 5 -> di_db[0] 1029; c 300 70000 -> di_db[1] 286338160
    assert encode_rdev(os.makedev(4, 5)) == (1029, 0)
    assert encode_rdev(os.makedev(300, 70000)) == (0, 286338160)
    assert decode_rdev(1029, 0) == os.makedev(4, 5)
    assert decode_rdev(0, 286338160) == os.makedev(300, 70000)


@given(st.integers(0, 4095), st.integers(0, 2**20 - 1))
def test_device_round_trip(major, minor):
    assert decode_rdev(*encode_rdev(os.makedev(major, minor))) == os.makedev(major, minor)


@given(mode=st.sampled_from([stat.S_IFREG | 0o4755, stat.S_IFCHR | 0o600, stat.S_IFBLK | 0o660, stat.S_IFDIR | 0o1777]),
       nlink=st.integers(0, 65535), uid=st.integers(0, 2**32 - 1), gid=st.integers(0, 2**32 - 1),
       times=st.lists(st.integers(0, (2**32 - 1) * 10**9), min_size=3, max_size=3), size=st.integers(0, 2**64 - 1),
       gen=st.integers(0, 2**32 - 1), flags=st.integers(0, 2**32 - 1), major=st.integers(0, 4095),
       minor=st.integers(0, 2**20 - 1))
def test_inode_round_trip(mode, nlink, uid, gid, times, size, gen, flags, major, minor):
    special = stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
    info = InodeInfo(ino=5, mode=mode, nlink=nlink, uid=uid, gid=gid, size=size, atime_ns=times[0],
                     mtime_ns=times[1], ctime_ns=times[2], rdev=os.makedev(major, minor) if special else 0,
                     generation=gen, flags=flags)
    values = dinode_values(info, size, special_blocks(info))
    back = inode_from_dinode(5, values)
    micro = [t // 1000 * 1000 for t in times]           # dump keeps microseconds
    assert (back.atime_ns, back.mtime_ns, back.ctime_ns) == tuple(micro)
    assert (back.mode, back.nlink, back.uid, back.gid, back.size, back.rdev, back.generation, back.flags) == \
        (mode, nlink, uid, gid, size, info.rdev, gen, flags)
    assert values[DINODE_INDEX["ouid"]] == uid & 0xFFFF        # the old-format copy restore may use
    assert inode_from_dinode(5, values, new_format=False).uid == uid & 0xFFFF


def test_out_of_range_values_are_clamped():
    info = InodeInfo(ino=5, mode=stat.S_IFREG, nlink=70_000, uid=0, gid=0, size=0, atime_ns=-5,
                     mtime_ns=2**32 * 10**9 + 7, ctime_ns=0)
    back = inode_from_dinode(5, dinode_values(info, 0))
    assert back.nlink == 0xFFFF and back.atime_ns == 0 and back.mtime_ns == (2**32 - 1) * 10**9 + 999_999_000
