"""The hot-path struct twins encode exactly what the construct declarations say."""
from __future__ import annotations

from hypothesis import given, strategies as st

from images.cartridge import index, record


@given(kind=st.sampled_from(list(record.Kind)), algorithm=st.integers(0, 2), length=st.integers(0, 2**32 - 1),
       stored=st.integers(0, 2**32 - 1), obj=st.integers(0, 2**64 - 1), crc=st.integers(0, 2**32 - 1))
def test_record_header_matches_declaration(kind, algorithm, length, stored, obj, crc):
    raw = record.encode(kind, algorithm, length, stored, obj, crc)
    parsed = record.RecordHeader.parse(raw)
    assert (parsed.kind, parsed.algorithm, parsed.flags, parsed.length, parsed.stored, parsed.object,
            parsed.payload_crc) == (kind, algorithm, 0, length, stored, obj, crc)
    assert record.decode(raw) == record.Header(kind, algorithm, length, stored, obj, crc)


@given(kind=st.sampled_from(list(index.EntryType)), obj=st.integers(0, 2**64 - 1), off=st.integers(0, 2**64 - 1))
def test_index_entry_matches_declaration(kind, obj, off):
    raw = index.encode_entry(kind, obj, off)
    parsed = index.IndexEntry.parse(raw)
    assert (parsed.type, parsed.object, parsed.offset) == (kind, obj, off)


def test_damaged_headers_are_rejected():
    raw = bytearray(record.encode(record.Kind.DATA, 0, 5, 5, 1, 7))
    raw[10] ^= 1
    assert record.decode(bytes(raw)) is None
    assert record.decode(b"VTLR") is None


@given(data=st.binary(max_size=5000))
def test_checksum_is_crc32c_as_an_independent_implementation_computes_it(data):
    import crc32c as reference
    from images.cartridge.checksum import crc32c
    assert crc32c(data) == reference.crc32c(data)
    assert crc32c(memoryview(bytearray(data))[1:]) == reference.crc32c(data[1:])
