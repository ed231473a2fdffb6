"""The record header: the one on-disk structure every tape object starts with.

Each logical object on a partition (data block, filemark, setmark) is one
record: a 32-byte header followed by the stored payload.  The header carries
its own CRC32C and the payload's, so a torn write is recognisable on open, and
the object number, so an index entry can be checked against the log with a
single read.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, IntFlag

import struct

from .checksum import crc32c
from construct import Const, Int8ub, Int16ub, Int32ub, Int64ub, Struct

MAGIC = b"VTLR"


class Kind(IntEnum):
    DATA = 0
    FILEMARK = 1
    SETMARK = 2


class Flags(IntFlag):
    """What the header's ``flags`` say about the payload (0 in every record before them)."""

    ENCRYPTED = 0x0001           # sealed with a data key (images.cartridge.encryption)
    RAW_READ_DISABLED = 0x0002   # written under RDMC "protect": no raw read of it


RecordHeader = Struct(
    "magic" / Const(MAGIC),
    "kind" / Int8ub,
    "algorithm" / Int8ub,
    "flags" / Int16ub,
    "length" / Int32ub,   # logical (host) length of the block
    "stored" / Int32ub,   # payload bytes that follow the header
    "object" / Int64ub,   # logical object identifier within the partition
    "payload_crc" / Int32ub,
    "header_crc" / Int32ub,
)
HEADER_SIZE = RecordHeader.sizeof()
# The data path encodes a header per record, so it uses the same layout as a
# precompiled struct format; tests/images/cartridge/test_record.py proves the
# two agree field for field.
_PACKED = struct.Struct(">4sBBHIIQII")
assert _PACKED.size == HEADER_SIZE == 32


@dataclass(frozen=True, slots=True)
class Header:
    kind: Kind
    algorithm: int
    length: int
    stored: int
    object: int
    payload_crc: int
    flags: int = 0

    @property
    def size(self) -> int:
        """Bytes this record occupies in the log."""
        return HEADER_SIZE + self.stored


def encode(kind: Kind, algorithm: int, length: int, stored: int, obj: int, payload_crc: int,
           flags: int = 0) -> bytes:
    body = _PACKED.pack(MAGIC, kind, algorithm, flags, length, stored, obj, payload_crc, 0)[:-4]
    return body + crc32c(body).to_bytes(4, "big")


def decode(raw: bytes | memoryview) -> Header | None:
    """The header in ``raw``, or None if it is not a whole, intact header."""
    if len(raw) < HEADER_SIZE or raw[:4] != MAGIC:
        return None
    if crc32c(raw[:HEADER_SIZE - 4]) != int.from_bytes(raw[HEADER_SIZE - 4:HEADER_SIZE], "big"):
        return None
    _, kind_code, algorithm, flags, length, stored, obj, payload_crc, _ = _PACKED.unpack_from(raw)
    try:
        kind = Kind(kind_code)
    except ValueError:
        return None
    return Header(kind, algorithm, length, stored, obj, payload_crc, flags)
