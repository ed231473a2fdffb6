"""READ ELEMENT STATUS data, declared once (SMC-3 6.12.2 to 6.12.8).

The data is an element status data header, then one element status page per
element type, each a page header and a run of equally long element
descriptors.  Every structure is declared here with ``construct``: that is the
documentation, what the tests parse answers with, and the reference the hot
path is checked against.

The hot path is a precompiled :class:`struct.Struct` twin of each declaration
(``tests/scsi/smc/test_descriptors.py`` proves them equal field for field),
because a 10,000-slot library answers a full READ ELEMENT STATUS with one
``pack_into`` per element into the transport's own buffer; building 10,000
construct containers would take a second.

Layout of one element descriptor (SMC-3 tables 'medium transport element
descriptor' ... 'data transfer element descriptor'), all types alike:

====== ===================================================================
bytes  field
====== ===================================================================
0-1    ELEMENT ADDRESS
2      per type: (OIR CMC INENAB EXENAB) ACCESS EXCEPT (IMPEXP) FULL
3      reserved
4-5    ADDITIONAL SENSE CODE / QUALIFIER (meaningful when EXCEPT=1)
6-8    data transfer: NOT BUS, ID VALID, LU VALID, LUN; SCSI BUS ADDRESS;
       reserved.  Other types: reserved
9      SVALID INVERT reserved ED MEDIUM TYPE
10-11  SOURCE STORAGE ELEMENT ADDRESS
12-47  PRIMARY VOLUME TAG, only when PVOLTAG=1 in the page header
then   CODE SET, IDENTIFIER TYPE, reserved, IDENTIFIER LENGTH, IDENTIFIER:
       the device identifier of a data transfer element (DVCID=1); four
       zero bytes (identifier length 0) in every other descriptor
====== ===================================================================
"""
from __future__ import annotations

import struct
from functools import lru_cache
from typing import Sequence

from construct import (
    BitStruct, BitsInteger, Bytes, Container, Flag, GreedyBytes, Int8ub, Int16ub, Int24ub, Nibble,
    Padding, Prefixed, Struct,
)

from .elements import Element, ElementType

# -- declarations -----------------------------------------------------------------------

ElementStatusHeader = Struct(
    "first_element_address" / Int16ub,
    "number_of_elements" / Int16ub,
    Padding(1),
    "byte_count" / Int24ub,          # BYTE COUNT OF REPORT AVAILABLE (all pages)
)

ElementStatusPageHeader = Struct(
    "element_type" / Int8ub,
    "voltags" / BitStruct("pvoltag" / Flag, "avoltag" / Flag, Padding(6)),
    "descriptor_length" / Int16ub,
    Padding(1),
    "byte_count" / Int24ub,          # BYTE COUNT OF DESCRIPTOR DATA AVAILABLE (this page)
)

_TRANSPORT_FLAGS = BitStruct(Padding(5), "except_" / Flag, Padding(1), "full" / Flag)
_STORAGE_FLAGS = BitStruct(Padding(4), "access" / Flag, "except_" / Flag, Padding(1), "full" / Flag)
_IMPORT_EXPORT_FLAGS = BitStruct("oir" / Flag, "cmc" / Flag, "inenab" / Flag, "exenab" / Flag,
                                 "access" / Flag, "except_" / Flag, "impexp" / Flag, "full" / Flag)
_DATA_TRANSFER_FLAGS = _STORAGE_FLAGS

_SOURCE = BitStruct("svalid" / Flag, "invert" / Flag, Padding(2), "ed" / Flag,
                    "medium_type" / BitsInteger(3))

_DATA_TRANSFER_BUS = BitStruct("not_bus" / Flag, Padding(1), "id_valid" / Flag, "lu_valid" / Flag,
                               Padding(1), "lun" / BitsInteger(3))


def _base(flags, bytes_6_to_8) -> Struct:
    return Struct(
        "element_address" / Int16ub,
        "flags" / flags,
        Padding(1),
        "asc" / Int8ub,
        "ascq" / Int8ub,
        *bytes_6_to_8,
        "source" / _SOURCE,
        "source_address" / Int16ub,
    )


DESCRIPTOR_BASE = {
    ElementType.TRANSPORT: _base(_TRANSPORT_FLAGS, [Padding(3)]),
    ElementType.STORAGE: _base(_STORAGE_FLAGS, [Padding(3)]),
    ElementType.IMPORT_EXPORT: _base(_IMPORT_EXPORT_FLAGS, [Padding(3)]),
    ElementType.DATA_TRANSFER: _base(_DATA_TRANSFER_FLAGS, [
        "bus" / _DATA_TRANSFER_BUS, "scsi_bus_address" / Int8ub, Padding(1)]),
}
"""The first 12 bytes of each element type's descriptor."""

VolumeTag = Struct(
    "volume_identifier" / Bytes(32),  # the barcode, left-justified, space padded
    Padding(2),
    "sequence_number" / Int16ub,
)

DeviceIdentifier = Struct(
    "head" / BitStruct(Padding(4), "code_set" / Nibble, Padding(4), "identifier_type" / Nibble),
    Padding(1),
    "identifier" / Prefixed(Int8ub, GreedyBytes),
)

BASE_SIZE = 12
VOLUME_TAG_SIZE = 36
IDENTIFIER_HEAD_SIZE = 4
HEADER_SIZE = PAGE_HEADER_SIZE = 8

CODE_SET_ASCII = 2
IDENTIFIER_TYPE_T10_VENDOR_ID = 1
"""DVCID designator: T10 vendor ID based, the same designator the drive reports
in its own Device Identification VPD page (vendor, product, serial number)."""
MAX_IDENTIFIER = 255
"""IDENTIFIER LENGTH is one byte; longer serial numbers are cut to fit."""
SERIAL_WIDTH = 10
"""Serial field width of the identifier, as IBM LTO libraries report it (8 + 16 + 10 = 34
bytes); widened to the longest serial in the page when one is longer."""

# -- struct twins -------------------------------------------------------------------------

HEADER = struct.Struct(">HHI")           # reserved byte 4 is the top byte of the 32-bit count
PAGE_HEADER = struct.Struct(">BBHI")
BASE = struct.Struct(">HBxBBBBxBH")
VOLUME_TAG = struct.Struct(">32s2xH")
IDENTIFIER_HEAD = struct.Struct(">BBxB")
assert HEADER.size == ElementStatusHeader.sizeof() == HEADER_SIZE
assert PAGE_HEADER.size == ElementStatusPageHeader.sizeof() == PAGE_HEADER_SIZE
assert BASE.size == BASE_SIZE and VOLUME_TAG.size == VolumeTag.sizeof() == VOLUME_TAG_SIZE

FULL, IMPEXP, EXCEPT, ACCESS, EXENAB, INENAB = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
SVALID = 0x80
LU_VALID = 0x10
PVOLTAG = 0x80
_ZERO_TAG = bytes(32)


@lru_cache(maxsize=64)
def descriptor_struct(voltag: bool, identifier_length: int | None) -> struct.Struct:
    """One whole descriptor: base, volume tag if asked, then the identifier
    (``identifier_length`` bytes) or, when None, the four zero bytes of 'no identifier'."""
    fmt = BASE.format + (VOLUME_TAG.format.lstrip(">") if voltag else "")
    if identifier_length is None:
        fmt += "4x"
    else:
        fmt += IDENTIFIER_HEAD.format.lstrip(">") + f"{identifier_length}s"
    return struct.Struct(fmt)


def descriptor_length(voltag: bool, identifier_length: int | None) -> int:
    """ELEMENT DESCRIPTOR LENGTH for a page."""
    return (BASE_SIZE + (VOLUME_TAG_SIZE if voltag else 0) + IDENTIFIER_HEAD_SIZE
            + (identifier_length or 0))


def identifier_width(elements: Sequence[Element]) -> int:
    """IDENTIFIER LENGTH for a data transfer page with DVCID=1 (one length for the page,
    since every descriptor of a page is as long as ELEMENT DESCRIPTOR LENGTH says)."""
    serials = [len(e.identifier) for e in elements if e.identifier is not None]
    return min(24 + max(SERIAL_WIDTH, *serials), MAX_IDENTIFIER) if serials else 0


def volume_identifier(barcode: str) -> bytes:
    return barcode.encode("ascii", "replace")[:32].ljust(32)


def identifier(element: Element, width: int) -> bytes:
    """T10 vendor ID based designator: vendor (8), product (16), serial (space padded)."""
    if element.identifier is None:
        return bytes(width)
    return ((element.vendor or "").encode("ascii", "replace")[:8].ljust(8)
            + (element.product or "").encode("ascii", "replace")[:16].ljust(16)
            + element.identifier.encode("ascii", "replace")[:width - 24].ljust(width - 24))


def pack_page(buf: memoryview | bytearray, offset: int, kind: ElementType, elements: Sequence[Element],
              voltag: bool, ident_len: int | None, available: int) -> int:
    """Element status page header and descriptors for ``elements`` (all of ``kind``)
    at ``offset``; returns the offset after them.  This is the hot path.

    ``available`` is how many descriptors the whole page has (the header's byte
    count says so even when the allocation length lets fewer through);
    ``ident_len`` is the page's IDENTIFIER LENGTH, None without identifiers.
    """
    desc = descriptor_struct(voltag, ident_len)
    size = desc.size
    PAGE_HEADER.pack_into(buf, offset, int(kind), PVOLTAG if voltag else 0, size, size * available)
    offset += PAGE_HEADER_SIZE
    pack = desc.pack_into
    if ident_len is not None or kind is ElementType.DATA_TRANSFER:
        for e in elements:
            pack(buf, offset, *_fields(e, kind, voltag), *_identifier_fields(e, ident_len))
            offset += size
        return offset
    # Storage, import/export and transport descriptors: the loop a 10,000-slot
    # library spends its time in, so the common fields are computed inline.
    base_flags = INENAB | EXENAB if kind is ElementType.IMPORT_EXPORT else 0
    has_access = kind is not ElementType.TRANSPORT
    is_ie = kind is ElementType.IMPORT_EXPORT
    for e in elements:
        bc = e.barcode
        exc = e.exception
        flags = base_flags
        if has_access and e.accessible:
            flags |= ACCESS
        if is_ie and e.imported:
            flags |= IMPEXP
        if exc is not None:
            flags |= EXCEPT
            asc, ascq = exc
        else:
            asc = ascq = 0
        src = e.source
        if bc is not None:
            flags |= FULL
            b9 = e.medium_type & 7
            tag = volume_identifier(bc)
        else:
            b9 = 0
            tag = _ZERO_TAG
        if src is not None:
            b9 |= SVALID
        else:
            src = 0
        if voltag:
            pack(buf, offset, e.address, flags, asc, ascq, 0, 0, b9, src, tag, 0)
        else:
            pack(buf, offset, e.address, flags, asc, ascq, 0, 0, b9, src)
        offset += size
    return offset


def _fields(e: Element, kind: ElementType, voltag: bool) -> tuple:
    """The fields of one descriptor, in ``descriptor_struct`` order (any type; not the hot path)."""
    flags = 0
    if e.barcode is not None:
        flags |= FULL
    if e.exception is not None:
        flags |= EXCEPT
    if kind is not ElementType.TRANSPORT and e.accessible:
        flags |= ACCESS
    if kind is ElementType.IMPORT_EXPORT:
        flags |= INENAB | EXENAB | (IMPEXP if e.imported else 0)
    asc, ascq = e.exception if e.exception is not None else (0, 0)
    bus = 0
    if kind is ElementType.DATA_TRANSFER and e.lun is not None and 0 <= e.lun < 8:
        bus = LU_VALID | e.lun
    b9 = (SVALID if e.source is not None else 0) | (e.medium_type & 7 if e.barcode is not None else 0)
    out: tuple = (e.address, flags, asc, ascq, bus, 0, b9, e.source or 0)
    if voltag:
        out += (volume_identifier(e.barcode) if e.barcode is not None else _ZERO_TAG, 0)
    return out


def _identifier_fields(e: Element, ident_len: int | None) -> tuple:
    if ident_len is None:
        return ()
    if e.identifier is None or ident_len == 0:
        return (0, 0, 0, bytes(ident_len))
    return (CODE_SET_ASCII, IDENTIFIER_TYPE_T10_VENDOR_ID, ident_len, identifier(e, ident_len))


def descriptor(e: Element, voltag: bool, dvcid: bool, ident_len: int | None = None) -> bytes:
    """One descriptor on its own (tests, and documentation of ``pack_page``)."""
    if not (dvcid and e.type is ElementType.DATA_TRANSFER):
        ident_len = None
    elif ident_len is None:
        ident_len = identifier_width([e])
    return descriptor_struct(voltag, ident_len).pack(*_fields(e, e.type, voltag),
                                                     *_identifier_fields(e, ident_len))


# -- parsing (initiators and tests) ------------------------------------------------------

def parse_descriptor(kind: ElementType, raw: bytes, pvoltag: bool) -> Container:
    """Decode one element descriptor with the construct declarations."""
    out = DESCRIPTOR_BASE[kind].parse(raw[:BASE_SIZE])
    rest = raw[BASE_SIZE:]
    if pvoltag:
        out.primary_volume_tag = VolumeTag.parse(rest[:VOLUME_TAG_SIZE])
        rest = rest[VOLUME_TAG_SIZE:]
    out.device_identifier = DeviceIdentifier.parse(rest) if len(rest) >= IDENTIFIER_HEAD_SIZE else None
    if out.device_identifier is not None:
        out.device_identifier.identifier = out.device_identifier.identifier[:rest[3]]
    return out


def parse_report(data: bytes) -> Container:
    """Decode element status data, truncated or not: every whole page header and
    descriptor present is decoded; what the allocation length cut off is not."""
    data = bytes(data)
    report = ElementStatusHeader.parse(data[:HEADER_SIZE].ljust(HEADER_SIZE, b"\0"))
    report.pages = []
    offset, end = HEADER_SIZE, min(len(data), HEADER_SIZE + report.byte_count)
    while offset + PAGE_HEADER_SIZE <= end:
        page = ElementStatusPageHeader.parse(data[offset:offset + PAGE_HEADER_SIZE])
        offset += PAGE_HEADER_SIZE
        kind = ElementType(page.element_type)
        page.descriptors = []
        page_end = offset + page.byte_count
        length = page.descriptor_length
        while length and offset + length <= min(end, page_end):
            page.descriptors.append(parse_descriptor(kind, data[offset:offset + length],
                                                     page.voltags.pvoltag))
            offset += length
        report.pages.append(page)
        if page_end > end:          # the allocation length cut this page short
            break
        offset = page_end
    return report
