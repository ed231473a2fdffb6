"""The hot-path struct twins encode exactly what the construct declarations say."""
from __future__ import annotations

from hypothesis import given, strategies as st

from images.cartridge import index, record
from images.cartridge.checksum import crc32c


@given(kind=st.sampled_from(list(record.Kind)), algorithm=st.integers(0, 2), flags=st.integers(0, 3),
       length=st.integers(0, 2**32 - 1), stored=st.integers(0, 2**32 - 1), offset=st.integers(0, 2**64 - 1),
       obj=st.integers(0, 2**64 - 1), crc=st.integers(0, 2**32 - 1))
def test_record_header_matches_declaration(kind, algorithm, flags, length, stored, offset, obj, crc):
    raw = record.encode(kind, algorithm, length, stored, offset, crc, obj, flags)
    parsed = record.RecordHeader.parse(raw)
    assert (parsed.kind, parsed.algorithm, parsed.flags, parsed.length, parsed.stored, parsed.offset,
            parsed.payload_crc) == (kind, algorithm, flags, length, stored, offset, crc)
    assert parsed.header_crc == crc32c(obj.to_bytes(8, "big") + raw[:28])
    assert record.decode(raw, obj) == record.Header(kind, algorithm, length, stored, offset, crc, flags)
    assert record.decode(raw, obj ^ 1) is None          # a header is only good in its own slot


@given(kind=st.sampled_from(list(index.EntryType)), obj=st.integers(0, 2**64 - 1), off=st.integers(0, 2**64 - 1))
def test_index_entry_matches_declaration(kind, obj, off):
    raw = index.encode_entry(kind, obj, off)
    parsed = index.IndexEntry.parse(raw)
    assert (parsed.type, parsed.object, parsed.offset) == (kind, obj, off)


def test_damaged_headers_are_rejected():
    raw = bytearray(record.encode(record.Kind.DATA, 0, 5, 5, 0, 7, 1))
    assert record.decode(bytes(raw), 1) is not None
    raw[10] ^= 1
    assert record.decode(bytes(raw), 1) is None
    assert record.decode(b"VTLR", 1) is None


@given(data=st.binary(max_size=5000))
def test_checksum_is_crc32c_as_an_independent_implementation_computes_it(data):
    import crc32c as reference
    from images.cartridge.checksum import crc32c
    assert crc32c(data) == reference.crc32c(data)
    assert crc32c(memoryview(bytearray(data))[1:]) == reference.crc32c(data[1:])
