"""POSIX ACLs between the kernel's xattr form and the ext4 disk form Linux dump puts on tape."""
from __future__ import annotations

import base64
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from images.dump.acl import acl_from_disk, acl_to_disk

# dir/sub with "setfacl -m u:1234:rw": what getfattr shows, and what Linux dump 0.4b47 wrote
# for the same ACL from ext4 (its in-inode attribute area, value at byte 68 of the EA block).
KERNEL = base64.b64decode("AgAAAAEABwD/////AgAGANIEAAAEAAUA/////xAABwD/////IAAFAP////8=")
DISK = bytes.fromhex("010000000100070002000600d2040000040005001000070020000500")


def test_linux_vectors():
    assert acl_to_disk(KERNEL) == DISK
    assert acl_from_disk(DISK) == KERNEL


tags = st.sampled_from([1, 2, 4, 8, 0x10, 0x20])


@given(st.lists(st.tuples(tags, st.integers(0, 7), st.integers(0, 2**32 - 2)), min_size=1, max_size=20))
def test_round_trip(entries):
    kernel = struct.pack("<I", 2) + b"".join(
        struct.pack("<HHI", tag, perm, ident if tag in (2, 8) else 0xFFFFFFFF) for tag, perm, ident in entries)
    disk = acl_to_disk(kernel)
    assert len(disk) == 4 + sum(8 if tag in (2, 8) else 4 for tag, _, _ in entries)
    assert acl_from_disk(disk) == kernel


@pytest.mark.parametrize("kernel", [b"", b"\x02\0\0", b"\x01\0\0\0" + KERNEL[4:], KERNEL[:-1],
                                    KERNEL[:4] + b"\x40\0\x07\0\xff\xff\xff\xff"])
def test_bad_kernel_values(kernel):
    with pytest.raises(ValueError):
        acl_to_disk(kernel)


@pytest.mark.parametrize("disk", [b"", b"\x02\0\0\0" + DISK[4:], DISK[:-2], DISK[:10], b"\x01\0\0\0",
                                  DISK[:4] + b"\x40\0\x07\0"])
def test_bad_disk_values(disk):
    with pytest.raises(ValueError):
        acl_from_disk(disk)
