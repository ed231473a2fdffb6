"""POSIX ACLs in their two encodings.

The kernel's xattr API (``system.posix_acl_access`` / ``_default`` as
os.getxattr returns them) uses version 2 with every entry 8 bytes (tag, perm,
id; id 0xFFFFFFFF where the tag has none).  ext2/ext3/ext4 store version 1 on
disk, with the four id-less tags (USER_OBJ, GROUP_OBJ, MASK, OTHER) in 4-byte
entries, and that disk form is what Linux dump copies onto tape and what
restore converts back (restore/xattr.c ``ext3_acl_from_disk``).
"""
from __future__ import annotations

from construct import Int16ul, Int32ul, Struct

from .constants import (
    ACL_GROUP,
    ACL_GROUP_OBJ,
    ACL_MASK,
    ACL_OTHER,
    ACL_UNDEFINED_ID,
    ACL_USER,
    ACL_USER_OBJ,
    EXT2_ACL_VERSION,
    POSIX_ACL_XATTR_VERSION,
)
from .fastpath import fast_struct

AclHeader = Struct("version" / Int32ul)
AclEntry = Struct("tag" / Int16ul, "perm" / Int16ul, "id" / Int32ul)       # kernel form; disk form of USER/GROUP
AclEntryShort = Struct("tag" / Int16ul, "perm" / Int16ul)                  # disk form of the id-less tags

HEADER, _ = fast_struct(AclHeader)
ENTRY, _ = fast_struct(AclEntry)
SHORT, _ = fast_struct(AclEntryShort)

_WITH_ID = frozenset({ACL_USER, ACL_GROUP})
_WITHOUT_ID = frozenset({ACL_USER_OBJ, ACL_GROUP_OBJ, ACL_MASK, ACL_OTHER})


def acl_to_disk(value: bytes) -> bytes:
    """The ext4 on-disk form of a kernel-format ACL value."""
    if len(value) < HEADER.size or (len(value) - HEADER.size) % ENTRY.size:
        raise ValueError(f"ACL value of {len(value)} bytes is not a version-2 ACL")
    (version,) = HEADER.unpack_from(value)
    if version != POSIX_ACL_XATTR_VERSION:
        raise ValueError(f"ACL version {version} is not the kernel's version 2")
    out = bytearray(HEADER.pack(EXT2_ACL_VERSION))
    for tag, perm, ident in ENTRY.iter_unpack(memoryview(value)[HEADER.size:]):
        if tag in _WITH_ID:
            out += ENTRY.pack(tag, perm, ident)
        elif tag in _WITHOUT_ID:
            out += SHORT.pack(tag, perm)
        else:
            raise ValueError(f"ACL entry tag {tag:#x} is unknown")
    return bytes(out)


def acl_from_disk(value: bytes | memoryview) -> bytes:
    """The kernel-format value of an ext4 on-disk ACL."""
    if len(value) < HEADER.size:
        raise ValueError(f"ACL of {len(value)} bytes has no header")
    (version,) = HEADER.unpack_from(value)
    if version != EXT2_ACL_VERSION:
        raise ValueError(f"on-disk ACL version {version} is not 1")
    out = bytearray(HEADER.pack(POSIX_ACL_XATTR_VERSION))
    pos, end = HEADER.size, len(value)
    while pos < end:
        if end - pos < SHORT.size:
            raise ValueError(f"ACL ends inside an entry at byte {pos}")
        tag, perm = SHORT.unpack_from(value, pos)
        if tag in _WITHOUT_ID:
            out += ENTRY.pack(tag, perm, ACL_UNDEFINED_ID)
            pos += SHORT.size
        elif tag in _WITH_ID:
            if end - pos < ENTRY.size:
                raise ValueError(f"ACL ends inside an entry at byte {pos}")
            out += ENTRY.pack(*ENTRY.unpack_from(value, pos))
            pos += ENTRY.size
        else:
            raise ValueError(f"ACL entry tag {tag:#x} at byte {pos} is unknown")
    if len(out) == HEADER.size:
        raise ValueError("ACL has no entries")
    return bytes(out)
