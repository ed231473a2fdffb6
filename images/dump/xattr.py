"""Extended attributes in Linux dump's form: an ext2 extended-attribute block.

Linux dump copies an inode's attributes from the filesystem as they are on
disk: the attribute block (magic EXT2_XATTR_MAGIC, a 32-byte header, entries,
values at the end of the block, offsets from the block start) and/or the
in-inode area (EXT2_XATTR_MAGIC2 in place of ext4's 4-byte ibody header,
offsets from the first entry).  Each goes on tape as its own TS_INODE record
flagged DR_EXTATTRIBUTES / EXT_XATTR after the inode's data; restore
(restore/xattr.c) walks the entries, prefixes each name by its name index and
converts ACLs from the ext4 disk form.  Names with no ext2 name index cannot be
carried; restore rejects a whole block that has one.
"""
from __future__ import annotations

import struct
from collections.abc import Iterable

from construct import Array, Int8ul, Int16ul, Int32ul, Struct

from .acl import acl_from_disk, acl_to_disk
from .constants import (
    EXT2_XATTR_INDEX_LUSTRE,
    EXT2_XATTR_INDEX_POSIX_ACL_ACCESS,
    EXT2_XATTR_INDEX_POSIX_ACL_DEFAULT,
    EXT2_XATTR_INDEX_SECURITY,
    EXT2_XATTR_INDEX_TRUSTED,
    EXT2_XATTR_INDEX_USER,
    EXT2_XATTR_MAGIC,
    EXT2_XATTR_MAGIC2,
    TP_BSIZE,
    XATTR_NAME_ACL_ACCESS,
    XATTR_NAME_ACL_DEFAULT,
)
from .fastpath import fast_struct

XattrBlockHeader = Struct(
    "magic" / Int32ul,
    "refcount" / Int32ul,
    "blocks" / Int32ul,
    "hash" / Int32ul,
    "reserved" / Array(4, Int32ul),
)
XattrIbodyHeader = Struct("magic" / Int32ul)
XattrEntry = Struct(
    "name_len" / Int8ul,
    "name_index" / Int8ul,
    "value_offs" / Int16ul,
    "value_inum" / Int32ul,    # e_value_block in ext2; must be 0 (value stored in this block)
    "value_size" / Int32ul,
    "hash" / Int32ul,
)
BLOCK_HEADER, _ = fast_struct(XattrBlockHeader)
IBODY_HEADER, _ = fast_struct(XattrIbodyHeader)
ENTRY, _ = fast_struct(XattrEntry)
_WORDS = struct.Struct("<I")

# The largest attribute block we put on tape: Linux restore reads an EA record
# into a fixed 4 KiB buffer and loses its place in the stream on a larger one
# (measured: a 6 KiB record makes it skip the next file).  More attributes than
# fit go into further records, which restore applies one by one; a single
# attribute that does not fit cannot be carried (ext4 without ea_inode cannot
# hold one either).
EA_BLOCK_MAX = 4096

_PREFIXES = {
    EXT2_XATTR_INDEX_USER: b"user.",
    EXT2_XATTR_INDEX_POSIX_ACL_ACCESS: XATTR_NAME_ACL_ACCESS,
    EXT2_XATTR_INDEX_POSIX_ACL_DEFAULT: XATTR_NAME_ACL_DEFAULT,
    EXT2_XATTR_INDEX_TRUSTED: b"trusted.",
    EXT2_XATTR_INDEX_LUSTRE: b"lustre.",
    EXT2_XATTR_INDEX_SECURITY: b"security.",
}
_ACL_INDEXES = (EXT2_XATTR_INDEX_POSIX_ACL_ACCESS, EXT2_XATTR_INDEX_POSIX_ACL_DEFAULT)
_M = 0xFFFFFFFF


def split_name(name: bytes) -> tuple[int, bytes] | None:
    """(name index, name suffix) as ext2 stores ``name``, or None if it has no index."""
    if name == XATTR_NAME_ACL_ACCESS:
        return EXT2_XATTR_INDEX_POSIX_ACL_ACCESS, b""
    if name == XATTR_NAME_ACL_DEFAULT:
        return EXT2_XATTR_INDEX_POSIX_ACL_DEFAULT, b""
    for index in (EXT2_XATTR_INDEX_USER, EXT2_XATTR_INDEX_SECURITY, EXT2_XATTR_INDEX_TRUSTED,
                  EXT2_XATTR_INDEX_LUSTRE):
        prefix = _PREFIXES[index]
        if name.startswith(prefix) and len(name) > len(prefix):
            return index, name[len(prefix):]
    return None


def entry_hash(suffix: bytes, value: bytes) -> int:
    """ext2_xattr_hash_entry (names hashed as signed chars, as on x86)."""
    h = 0
    for c in suffix:
        if c & 0x80:
            c |= 0xFFFFFF00
        h = ((h << 5) & _M) ^ (h >> 27) ^ c
    if value:
        for (word,) in _WORDS.iter_unpack(value + bytes(-len(value) % 4)):
            h = ((h << 16) & _M) ^ (h >> 16) ^ word
    return h


def block_hash(hashes: Iterable[int]) -> int:
    """ext2_xattr_rehash over the entries' hashes."""
    h = 0
    for e in hashes:
        if not e:
            return 0
        h = ((h << 16) & _M) ^ (h >> 16) ^ e
    return h


def _entry_len(suffix: bytes) -> int:
    return (ENTRY.size + len(suffix) + 3) & ~3


def _value_len(value: bytes) -> int:
    return (len(value) + 3) & ~3


def encode_xattrs(xattrs: Iterable[tuple[bytes, bytes]], block_max: int = EA_BLOCK_MAX
                  ) -> tuple[list[bytes], list[tuple[bytes, str]]]:
    """Attribute blocks carrying ``xattrs`` (kernel names and values), each a
    whole number of TP_BSIZE blocks, and the (name, reason) of those that
    cannot go on tape."""
    items: list[tuple[int, bytes, bytes]] = []
    dropped: list[tuple[bytes, str]] = []
    for name, value in xattrs:
        split = split_name(name)
        if split is None:
            dropped.append((name, "no ext2 name index for this namespace"))
            continue
        index, suffix = split
        if len(suffix) > 255:
            dropped.append((name, "name longer than 255 bytes"))
            continue
        if index in _ACL_INDEXES:
            try:
                value = acl_to_disk(value)
            except ValueError as e:
                dropped.append((name, str(e)))
                continue
        if BLOCK_HEADER.size + _entry_len(suffix) + 4 + _value_len(value) > block_max:
            dropped.append((name, f"too large for a {block_max}-byte attribute block"))
            continue
        items.append((index, suffix, bytes(value)))
    items.sort(key=lambda item: (item[0], len(item[1]), item[1]))   # ext2's order within a block

    blocks: list[bytes] = []
    group: list[tuple[int, bytes, bytes]] = []
    used = BLOCK_HEADER.size + 4
    for item in items:
        need = _entry_len(item[1]) + _value_len(item[2])
        if group and used + need > block_max:
            blocks.append(_build_block(group))
            group, used = [], BLOCK_HEADER.size + 4
        group.append(item)
        used += need
    if group:
        blocks.append(_build_block(group))
    return blocks, dropped


def _build_block(group: list[tuple[int, bytes, bytes]]) -> bytes:
    need = BLOCK_HEADER.size + 4 + sum(_entry_len(s) + _value_len(v) for _, s, v in group)
    size = -(-need // TP_BSIZE) * TP_BSIZE
    block = bytearray(size)
    pos, end = BLOCK_HEADER.size, size
    hashes = []
    for index, suffix, value in group:
        offs = 0
        if value:
            end -= _value_len(value)
            offs = end
            block[offs:offs + len(value)] = value
        h = entry_hash(suffix, value)
        hashes.append(h)
        ENTRY.pack_into(block, pos, len(suffix), index, offs, 0, len(value), h)
        block[pos + ENTRY.size:pos + ENTRY.size + len(suffix)] = suffix
        pos += _entry_len(suffix)
    BLOCK_HEADER.pack_into(block, 0, EXT2_XATTR_MAGIC, 1, 1, block_hash(hashes), 0, 0, 0, 0)
    return bytes(block)


def decode_xattrs(raw: bytes | memoryview) -> list[tuple[bytes, bytes]]:
    """The (kernel name, kernel value) pairs of an attribute block or in-inode
    area as Linux dump puts either on tape; ValueError if it is malformed."""
    size = len(raw)
    if size < IBODY_HEADER.size:
        raise ValueError("attribute block too short for its magic")
    (magic,) = IBODY_HEADER.unpack_from(raw)
    if magic == EXT2_XATTR_MAGIC:
        pos, base = BLOCK_HEADER.size, 0
    elif magic == EXT2_XATTR_MAGIC2:
        pos, base = IBODY_HEADER.size, IBODY_HEADER.size
    else:
        raise ValueError(f"attribute block magic {magic:#x} is neither {EXT2_XATTR_MAGIC:#x} "
                         f"nor {EXT2_XATTR_MAGIC2:#x}")
    out = []
    while True:
        if pos + 4 > size:
            raise ValueError(f"attribute entries run past the block at byte {pos}")
        if raw[pos:pos + 4] == b"\0\0\0\0":
            return out
        if pos + ENTRY.size > size:
            raise ValueError(f"attribute entry at byte {pos} is cut off")
        name_len, index, value_offs, value_inum, value_size, _ = ENTRY.unpack_from(raw, pos)
        name_at = pos + ENTRY.size
        if name_at + name_len > size:
            raise ValueError(f"attribute name at byte {name_at} runs past the block")
        if value_inum:
            raise ValueError(f"attribute at byte {pos} keeps its value in inode {value_inum}, not on tape")
        value_at = base + value_offs
        if value_at + value_size > size:
            raise ValueError(f"attribute value at byte {value_at} ({value_size} bytes) runs past the block")
        prefix = _PREFIXES.get(index)
        if prefix is None:
            raise ValueError(f"attribute name index {index} at byte {pos} is unknown")
        value = bytes(raw[value_at:value_at + value_size])
        if index in _ACL_INDEXES:
            value = acl_from_disk(value)
        out.append((prefix + bytes(raw[name_at:name_at + name_len]), value))
        pos += (ENTRY.size + name_len + 3) & ~3
