"""RPC record marking: fragments split anywhere, multi-fragment records, hostile lengths."""
from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ndmp.record import DEFAULT_MAX_RECORD_SIZE, RecordReader, RecordTooLarge, frame


def test_frame_bytes():
    assert frame(b"abc") == bytes.fromhex("80000003") + b"abc"
    assert frame(b"") == bytes.fromhex("80000000")
    assert frame(b"abcdefg", fragment_size=3) == (bytes.fromhex("00000003") + b"abc" + bytes.fromhex("00000003")
                                                  + b"def" + bytes.fromhex("80000001") + b"g")
    assert frame(b"abcdef", fragment_size=3) == (bytes.fromhex("00000003") + b"abc"
                                                 + bytes.fromhex("80000003") + b"def")
    assert frame(memoryview(b"xy")) == bytes.fromhex("80000002") + b"xy"
    with pytest.raises(ValueError):
        frame(b"x", fragment_size=0)


def test_one_feed_many_records():
    reader = RecordReader()
    assert reader.feed(frame(b"one") + frame(b"") + frame(b"three", fragment_size=2)) == [b"one", b"", b"three"]
    assert reader.at_boundary


def test_byte_at_a_time():
    reader = RecordReader()
    out = []
    data = frame(b"hello world", fragment_size=4)
    for i, byte in enumerate(data):
        out += reader.feed(bytes([byte]))
        assert reader.at_boundary == (i == len(data) - 1)
    assert out == [b"hello world"]


def test_partial_record_is_held_not_returned():
    reader = RecordReader()
    data = frame(b"0123456789", fragment_size=4)
    assert reader.feed(data[:9]) == []
    assert not reader.at_boundary and reader.buffered == 5     # 4 record bytes, 1 header byte
    assert reader.feed(data[9:]) == [b"0123456789"]


def test_zero_length_fragments_between_data():
    stream = bytes.fromhex("00000000") + bytes.fromhex("00000002") + b"ab" + bytes.fromhex("80000000")
    assert RecordReader().feed(stream) == [b"ab"]


@given(st.lists(st.binary(max_size=50), min_size=1, max_size=6), st.integers(1, 20),
       st.lists(st.integers(0, 400), max_size=8))
def test_split_anywhere(records, fragment_size, cuts):
    stream = b"".join(frame(r, fragment_size=fragment_size) for r in records)
    bounds = [0, *sorted(min(c, len(stream)) for c in cuts), len(stream)]
    reader = RecordReader()
    out = []
    for a, b in pairwise(bounds):
        out += reader.feed(memoryview(stream)[a:b])
    assert out == records
    assert reader.at_boundary


def test_hostile_length_is_refused_without_allocating():
    reader = RecordReader(max_record_size=1024)
    with pytest.raises(RecordTooLarge, match="at least 2147483647 bytes exceeds the maximum of 1024"):
        reader.feed(bytes.fromhex("ffffffff") + b"x" * 100)
    assert reader.buffered == 0
    with pytest.raises(RecordTooLarge):           # the stream cannot be trusted any more
        reader.feed(frame(b"ok"))


def test_the_limit_counts_all_fragments_of_a_record():
    reader = RecordReader(max_record_size=10)
    assert reader.feed(frame(b"x" * 10, fragment_size=4)) == [b"x" * 10]
    with pytest.raises(RecordTooLarge) as info:
        reader.feed(frame(b"y" * 11, fragment_size=4))
    assert (info.value.size, info.value.maximum) == (11, 10)   # refused at the third fragment header


def test_default_limit():
    assert RecordReader().max_record_size == DEFAULT_MAX_RECORD_SIZE == 16 * 1024 * 1024
    with pytest.raises(RecordTooLarge):
        RecordReader().feed((0x80000000 | (DEFAULT_MAX_RECORD_SIZE + 1)).to_bytes(4, "big"))
