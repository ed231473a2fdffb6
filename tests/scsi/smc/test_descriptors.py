"""The struct twins the hot path packs with are the construct declarations, field for field.

Each descriptor is built twice: by ``scsi.smc.descriptors`` (struct) and here
from the construct declarations with the fields worked out from the Element
independently; the bytes must agree for every element type, with and
without volume tags and device identifiers.
"""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from scsi.smc import Element, ElementType
from scsi.smc import descriptors as d

barcodes = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=32)


@st.composite
def elements(draw, kind: ElementType | None = None) -> Element:
    kind = kind or draw(st.sampled_from(list(ElementType)))
    dte = kind is ElementType.DATA_TRANSFER
    return Element(
        address=draw(st.integers(0, 0xFFFF)), type=kind,
        barcode=draw(st.none() | barcodes),
        source=draw(st.none() | st.integers(0, 0xFFFF)),
        medium_type=draw(st.integers(0, 7)),
        accessible=draw(st.booleans()),
        exception=draw(st.none() | st.tuples(st.integers(0, 255), st.integers(0, 255))),
        imported=draw(st.booleans()) if kind is ElementType.IMPORT_EXPORT else False,
        identifier=draw(st.none() | st.text(alphabet="0123456789ABCDEF", min_size=1, max_size=20)) if dte else None,
        vendor=draw(st.sampled_from([None, "IBM", "HP"])) if dte else None,
        product=draw(st.sampled_from([None, "ULT3580-TD8", "Ultrium 8-SCSI"])) if dte else None,
        lun=draw(st.none() | st.integers(0, 12)) if dte else None,
    )


def by_construct(e: Element, voltag: bool, ident_len: int | None) -> bytes:
    """The descriptor from the declarations, with SMC-3's field meanings spelled out."""
    full = e.barcode is not None
    flags = dict(full=full, except_=e.exception is not None)
    if e.type is not ElementType.TRANSPORT:
        flags["access"] = e.accessible
    if e.type is ElementType.IMPORT_EXPORT:
        flags.update(oir=False, cmc=False, inenab=True, exenab=True, impexp=e.imported)
    fields = dict(element_address=e.address, flags=flags,
                  asc=e.exception[0] if e.exception else 0, ascq=e.exception[1] if e.exception else 0,
                  source=dict(svalid=e.source is not None, invert=False, ed=False,
                              medium_type=e.medium_type if full else 0),
                  source_address=e.source or 0)
    if e.type is ElementType.DATA_TRANSFER:
        lu_valid = e.lun is not None and e.lun < 8
        fields.update(bus=dict(not_bus=False, id_valid=False, lu_valid=lu_valid,
                               lun=e.lun if lu_valid else 0), scsi_bus_address=0)
    out = d.DESCRIPTOR_BASE[e.type].build(fields)
    if voltag:
        tag = e.barcode.encode().ljust(32) if full else bytes(32)
        out += d.VolumeTag.build(dict(volume_identifier=tag, sequence_number=0))
    if ident_len is None:
        out += bytes(4)
    elif e.identifier is None or ident_len == 0:
        out += bytes(4 + ident_len)
    else:
        serial = e.identifier.encode().ljust(ident_len - 24)
        designator = (e.vendor or "").encode().ljust(8) + (e.product or "").encode().ljust(16) + serial
        out += d.DeviceIdentifier.build(dict(head=dict(code_set=2, identifier_type=1),
                                             identifier=designator))
    return out


@settings(max_examples=300)
@given(elements(), st.booleans(), st.booleans())
def test_descriptor_struct_twin_equals_construct(e, voltag, dvcid):
    ident_len = d.identifier_width([e]) if dvcid and e.type is ElementType.DATA_TRANSFER else None
    packed = d.descriptor(e, voltag, dvcid)
    assert packed == by_construct(e, voltag, ident_len)
    assert len(packed) == d.descriptor_length(voltag, ident_len)


@settings(max_examples=100)
@given(st.sampled_from(list(ElementType)), st.lists(st.integers(0, 0xFFFF), min_size=1, max_size=6,
                                                    unique=True), st.data())
def test_hot_loop_equals_one_at_a_time(kind, addresses, data):
    """``pack_page`` has an inlined loop for the non-drive types: it must agree with
    ``descriptor`` for each element, and its page header with the declaration."""
    els = [data.draw(elements(kind)) for _ in addresses]
    for e, a in zip(els, sorted(addresses), strict=True):
        e.address = a
    voltag, dvcid = data.draw(st.booleans()), data.draw(st.booleans())
    ident_len = d.identifier_width(els) if dvcid and kind is ElementType.DATA_TRANSFER else None
    length = d.descriptor_length(voltag, ident_len)
    buf = bytearray(8 + length * len(els))
    end = d.pack_page(buf, 0, kind, els, voltag, ident_len, len(els))
    assert end == len(buf)
    assert bytes(buf[:8]) == d.ElementStatusPageHeader.build(dict(
        element_type=int(kind), voltags=dict(pvoltag=voltag, avoltag=False),
        descriptor_length=length, byte_count=length * len(els)))
    body = b"".join(by_construct(e, voltag, ident_len) for e in els)
    assert bytes(buf[8:]) == body


def test_header_twins():
    assert d.HEADER.pack(4096, 10081, 0x123456) == d.ElementStatusHeader.build(dict(
        first_element_address=4096, number_of_elements=10081, byte_count=0x123456))
    parsed = d.ElementStatusPageHeader.parse(d.PAGE_HEADER.pack(2, 0x80, 52, 520))
    assert (parsed.element_type, parsed.voltags.pvoltag, parsed.voltags.avoltag,
            parsed.descriptor_length, parsed.byte_count) == (2, True, False, 52, 520)


def test_sizes_match_smc3_tables():
    assert d.descriptor_length(False, None) == 16          # 12 + 4 identifier bytes (length 0)
    assert d.descriptor_length(True, None) == 52           # + 36-byte primary volume tag
    assert d.descriptor_length(True, 34) == 86             # IBM: 8 + 16 + 10 byte designator
    e = Element(256, ElementType.DATA_TRANSFER, identifier="1013000123", vendor="IBM",
                product="ULT3580-TD8")
    raw = d.descriptor(e, True, True)
    assert raw[48:52] == bytes([0x02, 0x01, 0x00, 34])   # ASCII, T10 vendor ID based, length
    assert raw[52:] == b"IBM     ULT3580-TD8     1013000123"


def test_volume_tag_is_space_padded_with_zero_sequence():
    e = Element(4096, ElementType.STORAGE, barcode="A00001L8")
    raw = d.descriptor(e, True, False)
    assert raw[12:44] == b"A00001L8" + b" " * 24 and raw[44:48] == bytes(4)
    empty = d.descriptor(Element(4097, ElementType.STORAGE), True, False)
    assert empty[12:48] == bytes(36)
