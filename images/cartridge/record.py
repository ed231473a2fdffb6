"""The record header: one fixed-size entry per tape object in a partition's record table.

Each logical object on a partition (data block, filemark, setmark) is one 32-byte
header in the record table (``pN.rec``), object k at byte k * 32; a data block's
stored payload sits in the payload file (``pN.dat``) at the header's ``offset``, the
payloads one after another in object order.  Keeping the headers out of the payload
stream is what lets a 256 KiB block land in the page cache as dd's would, aligned and
contiguous: interleaved with 32-byte headers, every block straddled pages and cost the
data path a quarter of its speed (benches/README.md).

The header carries its own CRC32C, computed over the object number as well as its
bytes, so a header copied or left in the wrong slot does not pass for the object it
sits at; and the payload's CRC32C, so a torn or rotten block is found on read.
"""
from __future__ import annotations

import struct
from enum import IntEnum, IntFlag
from typing import NamedTuple

from construct import Const, Int8ub, Int16ub, Int32ub, Int64ub, Struct

from .checksum import crc32c

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
    "stored" / Int32ub,   # payload bytes in the payload file
    "offset" / Int64ub,   # where they start there
    "payload_crc" / Int32ub,
    "header_crc" / Int32ub,   # CRC32C of the object number (8 bytes, big-endian), then the 28 bytes above
)
HEADER_SIZE = RecordHeader.sizeof()
# The data path encodes a header per record, so it uses the same layout as a
# precompiled struct format; tests/images/cartridge/test_record.py proves the
# two agree field for field.
_PACKED = struct.Struct(">4sBBHIIQI")
_OBJECT = struct.Struct(">Q")
assert _PACKED.size + 4 == HEADER_SIZE == 32


class Header(NamedTuple):
    """A decoded header (a tuple: the data path decodes one per record)."""

    kind: Kind
    algorithm: int
    length: int
    stored: int
    offset: int
    payload_crc: int
    flags: int = 0

    @property
    def end(self) -> int:
        """Where the payload file's next payload starts."""
        return self.offset + self.stored


def encode(kind: Kind, algorithm: int, length: int, stored: int, offset: int, payload_crc: int,
           obj: int, flags: int = 0) -> bytes:
    body = _PACKED.pack(MAGIC, kind, algorithm, flags, length, stored, offset, payload_crc)
    return body + crc32c(_OBJECT.pack(obj) + body).to_bytes(4, "big")


def decode(raw: bytes | memoryview, obj: int) -> Header | None:
    """The header of object ``obj`` in ``raw``, or None if it is not a whole, intact
    header written for that object."""
    if len(raw) < HEADER_SIZE or raw[:4] != MAGIC:
        return None
    body = raw[:HEADER_SIZE - 4]
    if crc32c(_OBJECT.pack(obj) + body) != int.from_bytes(raw[HEADER_SIZE - 4:HEADER_SIZE], "big"):
        return None
    _, kind_code, algorithm, flags, length, stored, offset, payload_crc = _PACKED.unpack_from(raw)
    if kind_code >= len(_KINDS):
        return None
    return Header(_KINDS[kind_code], algorithm, length, stored, offset, payload_crc, flags)


_KINDS = tuple(Kind)
