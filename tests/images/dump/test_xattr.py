"""Extended attributes as ext2 attribute blocks: what Linux dump writes and restore reads."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_acl import DISK, KERNEL

from images.dump.constants import EXT2_XATTR_MAGIC, TP_BSIZE
from images.dump.xattr import (
    BLOCK_HEADER,
    EA_BLOCK_MAX,
    ENTRY,
    block_hash,
    decode_xattrs,
    encode_xattrs,
    entry_hash,
    split_name,
)

# The in-inode attribute area Linux dump 0.4b47 wrote for "user.foo=bar" (magic EXT2_XATTR_MAGIC2,
# offsets from the first entry), and for the ACL of test_acl (name index 2, empty name).
LINUX_USER = bytes.fromhex("010002ea03015800000000000300000000000000666f6f00").ljust(92, b"\0") + b"bar"
LINUX_ACL = bytes.fromhex("010002ea00024000000000001c000000000000000000000000").ljust(68, b"\0") + DISK


def test_reads_linux_dump_in_inode_areas():
    assert decode_xattrs(LINUX_USER.ljust(256, b"\0")) == [(b"user.foo", b"bar")]
    assert decode_xattrs(LINUX_ACL.ljust(256, b"\0")) == [(b"system.posix_acl_access", KERNEL)]


def test_entry_hash_matches_e2fsprogs():
    # e_hash that mkfs.ext4 -d wrote into an attribute block for user.big = "v" * 600
    assert entry_hash(b"big", b"v" * 600) == 0x18547
    assert block_hash([1, 0, 2]) == 0


def test_block_layout():
    [block], dropped = encode_xattrs([(b"user.b", b"2"), (b"system.posix_acl_access", KERNEL), (b"user.a", b"1")])
    assert dropped == [] and len(block) == TP_BSIZE
    magic, refcount, blocks, h, *_ = BLOCK_HEADER.unpack_from(block)
    assert (magic, refcount, blocks) == (EXT2_XATTR_MAGIC, 1, 1)
    first = ENTRY.unpack_from(block, BLOCK_HEADER.size)
    assert first[:2] == (1, 1)                          # user.a: sorted by index, name length, name
    hashes = []
    pos = BLOCK_HEADER.size
    while block[pos:pos + 4] != b"\0\0\0\0":
        name_len, _index, offs, inum, size, e_hash = ENTRY.unpack_from(block, pos)
        name = block[pos + 16:pos + 16 + name_len]
        assert inum == 0 and e_hash == entry_hash(name, block[offs:offs + size])
        hashes.append(e_hash)
        pos += (16 + name_len + 3) & ~3
    assert h == block_hash(hashes) != 0
    assert decode_xattrs(block) == [(b"user.a", b"1"), (b"user.b", b"2"), (b"system.posix_acl_access", KERNEL)]


def test_names_without_an_index_and_oversized_values_are_dropped():
    blocks, dropped = encode_xattrs([(b"btrfs.compression", b"zstd"), (b"system.nfs4_acl", b"x"),
                                     (b"user.", b"empty suffix"), (b"user.huge", b"x" * EA_BLOCK_MAX),
                                     (b"system.posix_acl_access", b"\x02\0\0\0\x40\0\0\0\0\0\0\0"),
                                     (b"user.ok", b"")])
    assert [name for name, _ in dropped] == [b"btrfs.compression", b"system.nfs4_acl", b"user.",
                                              b"user.huge", b"system.posix_acl_access"]
    assert [decode_xattrs(b) for b in blocks] == [[(b"user.ok", b"")]]
    assert split_name(b"security.selinux") == (6, b"selinux") and split_name(b"trusted.x") == (4, b"x")


values = st.binary(max_size=1500)
xattr_sets = st.dictionaries(st.sampled_from([b"user.", b"trusted.", b"security."]).flatmap(
    lambda p: st.binary(min_size=1, max_size=40).map(lambda s: p + s)), values, max_size=12)


@given(xattr_sets)
def test_round_trip_splits_into_restore_sized_blocks(xattrs):
    blocks, dropped = encode_xattrs(sorted(xattrs.items()))
    assert dropped == []
    assert all(len(b) % TP_BSIZE == 0 and len(b) <= EA_BLOCK_MAX for b in blocks)
    assert dict(pair for b in blocks for pair in decode_xattrs(b)) == xattrs


def _block_with(offs=None, size=None, name_len=None, index=None, inum=0):
    [block] = encode_xattrs([(b"user.name", b"value")])[0]
    block = bytearray(block)
    nl, ix, of, _, sz, h = ENTRY.unpack_from(block, BLOCK_HEADER.size)
    ENTRY.pack_into(block, BLOCK_HEADER.size, nl if name_len is None else name_len, ix if index is None else index,
                    of if offs is None else offs, inum, sz if size is None else size, h)
    return bytes(block)


@pytest.mark.parametrize("raw", [
    b"", b"\0\0\x02", b"\x00\x00\x02\xeb" + bytes(1020),
    _block_with(offs=0xFFF0), _block_with(size=2000), _block_with(name_len=255)[:120], _block_with(index=9),
    _block_with(inum=12), bytes.fromhex("000002ea") + bytes(28) + b"\x04\x01\x00\x00",
    bytes.fromhex("000002ea") + b"\x01" * 1020,
    _block_with(index=2),                               # an ACL entry whose value is no ACL
], ids=lambda raw: raw[:8].hex())
def test_hostile_blocks_are_value_errors(raw):
    with pytest.raises(ValueError):
        decode_xattrs(raw)
