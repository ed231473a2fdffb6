"""The record header: the one on-disk structure every tape object starts with.

Each logical object on a partition (data block, filemark, setmark) is one
record: a 32-byte header followed by the stored payload.  The header carries
its own CRC32C and the payload's, so a torn write is recognisable on open, and
the object number, so an index entry can be checked against the log with a
single read.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import crc32c
from construct import Bytes, Const, Int8ub, Int16ub, Int32ub, Int64ub, Struct

MAGIC = b"VTLR"


class Kind(IntEnum):
    DATA = 0
    FILEMARK = 1
    SETMARK = 2


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
_BODY = Struct(*RecordHeader.subcons[:-1]).compile()
_FULL = RecordHeader.compile()
assert HEADER_SIZE == 32


@dataclass(frozen=True, slots=True)
class Header:
    kind: Kind
    algorithm: int
    length: int
    stored: int
    object: int
    payload_crc: int

    @property
    def size(self) -> int:
        """Bytes this record occupies in the log."""
        return HEADER_SIZE + self.stored


def encode(kind: Kind, algorithm: int, length: int, stored: int, obj: int, payload_crc: int) -> bytes:
    body = _BODY.build(dict(magic=MAGIC, kind=kind, algorithm=algorithm, flags=0, length=length,
                            stored=stored, object=obj, payload_crc=payload_crc))
    return body + crc32c.crc32c(body).to_bytes(4, "big")


def decode(raw: bytes | memoryview) -> Header | None:
    """The header in ``raw``, or None if it is not a whole, intact header."""
    if len(raw) < HEADER_SIZE or raw[:4] != MAGIC:
        return None
    if crc32c.crc32c(raw[:HEADER_SIZE - 4]) != int.from_bytes(raw[HEADER_SIZE - 4:HEADER_SIZE], "big"):
        return None
    h = _FULL.parse(bytes(raw[:HEADER_SIZE]))
    try:
        kind = Kind(h.kind)
    except ValueError:
        return None
    return Header(kind, h.algorithm, h.length, h.stored, h.object, h.payload_crc)
