"""Bit-exact declarations of CDBs and parameter blocks, built on construct.

A :class:`Layout` is declared once as a list of named bit fields.  From that one
declaration we get the construct parser/builder *and* the byte/bit position of
every field, which is what SPC's sense-key-specific field pointer must report
when a field is rejected.  Parsed CDBs are cached by value: the data path sends
the same WRITE(6) CDB thousands of times a second, and a bit-level parse is the
slowest thing on that path.
"""
from __future__ import annotations

from typing import Any

from construct import BitStruct, BitsInteger, Construct, Container, Flag, Padding, Renamed

from .sense import CheckCondition, FieldPointer, invalid_field_in_cdb, invalid_field_in_parameter_list


def bits(name: str, width: int) -> Construct:
    return name / (Flag if width == 1 else BitsInteger(width))


def signed(name: str, width: int) -> Construct:
    """A two's-complement field (SPACE counts)."""
    return name / BitsInteger(width, signed=True)


def reserved(width: int) -> Construct:
    return Padding(width)


class Fields(Container):
    """A parsed layout: a construct Container whose fields are also plain attributes.

    Container answers ``fields.name`` through a Python ``__getattr__``, about 0.2 us a
    time, and a READ or WRITE reads eight of them; here they are found in the
    instance's own ``__dict__``.  Parsed CDBs are cached and shared, so they are read
    only, and a field named like a dict method (``clear``) stays an item, as it is in
    a Container.
    """

    def __init__(self, parsed: Container):
        super().__init__(parsed)
        for name, value in parsed.items():
            if not hasattr(Container, name):
                object.__setattr__(self, name, value)


class Layout:
    """A fixed-size bit layout with field positions.

    ``fields`` are construct bit-level subcons (``bits(...)``, ``reserved(...)``);
    their widths must add up to whole bytes.
    """

    def __init__(self, name: str, *fields: Construct, in_cdb: bool = True):
        self.name = name
        self.in_cdb = in_cdb
        self._struct = BitStruct(*fields)
        self._positions: dict[str, tuple[int, int, int]] = {}
        offset = 0
        for sub in fields:
            width = sub.sizeof()
            if isinstance(sub, Renamed) and sub.name:
                self._positions[sub.name] = (offset // 8, 7 - offset % 8, width)
            offset += width
        if offset % 8:
            raise TypeError(f"{name}: fields cover {offset} bits, not whole bytes")
        self.size = offset // 8
        self._cache: dict[bytes, Container] = {}

    def parse(self, data: bytes | bytearray | memoryview) -> Container:
        key = bytes(data[: self.size])
        hit = self._cache.get(key)
        if hit is None:
            hit = Fields(self._struct.parse(key))
            if len(self._cache) < 4096:
                self._cache[key] = hit
        return hit

    def build(self, **values: Any) -> bytes:
        full = {name: 0 for name in self._positions}
        full.update(values)
        return self._struct.build(full)

    def position(self, field: str) -> tuple[int, int]:
        """(byte, bit) of the field's most significant bit, as SPC's BIT POINTER wants it."""
        byte, bit, _ = self._positions[field]
        return byte, bit

    def width(self, field: str) -> int:
        return self._positions[field][2]

    def fields(self) -> list[str]:
        return list(self._positions)

    def field_bits(self) -> dict[str, tuple[int, int, int]]:
        """Every named field as (byte, most significant bit, width in bits).

        Reserved bits are unnamed, so this is exactly the map of bits a command
        uses: REPORT SUPPORTED OPERATION CODES builds its CDB USAGE DATA from it.
        """
        return dict(self._positions)

    def invalid(self, field: str, base: int = 0) -> CheckCondition:
        """CHECK CONDITION / ILLEGAL REQUEST pointing at ``field``.

        ``base`` offsets the pointer for layouts embedded in a parameter list.
        The bit pointer is given only for fields that do not start a byte on its
        most significant bit, which is how real drives report whole-byte fields.
        """
        byte, bit, width = self._positions[field]
        bit_ptr = None if (bit == 7 and width % 8 == 0) else bit
        if self.in_cdb:
            return invalid_field_in_cdb(base + byte, bit_ptr)
        return invalid_field_in_parameter_list(base + byte, bit_ptr)

    def pointer(self, field: str, base: int = 0) -> FieldPointer:
        byte, bit, width = self._positions[field]
        return FieldPointer(base + byte, None if (bit == 7 and width % 8 == 0) else bit, self.in_cdb)

    def __repr__(self) -> str:
        return f"Layout({self.name}, {self.size} bytes)"


def control() -> list[Construct]:
    """The SAM control byte: vendor bits, NACA, obsolete flag, LINK."""
    return [bits("vendor", 2), reserved(3), bits("naca", 1), bits("flag", 1), bits("link", 1)]
