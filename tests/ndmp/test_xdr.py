"""XDR primitives (RFC 4506): exact bytes, ranges, padding, hostile counts, unions, errors."""
from __future__ import annotations

import enum

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ndmp.xdr import (
    BOOL,
    INT32,
    INT64,
    SHORT,
    U_CHAR,
    U_SHORT,
    UINT32,
    UINT64,
    VOID,
    Array,
    Enum,
    FixedArray,
    FixedOpaque,
    Opaque,
    Optional,
    String,
    Struct,
    Union,
    XdrEncodeError,
    XdrError,
)


class Color(enum.IntEnum):
    RED = 0
    GREEN = 1
    BLUE = 2


Point = Struct("ndmp_point", x=INT32, y=UINT64, label=String())
Shape = Union("ndmp_shape", ("kind", Enum(Color)), {
    Color.RED: None,
    Color.GREEN: ("points", Array(Point)),
    Color.BLUE: ("blob", Opaque()),
})
Named = Union("ndmp_named", ("kind", Enum(Color)), {Color.RED: ("red", UINT32)}, default=("other", String()))


@pytest.mark.parametrize("t, value, wire", [
    (UINT32, 0xDEADBEEF, "deadbeef"),
    (INT32, -2, "fffffffe"),
    (UINT64, 2**64 - 1, "ffffffffffffffff"),
    (UINT64, 0x0000000100000002, "0000000100000002"),     # ndmp_u_quad {high=1, low=2}
    (INT64, -1, "ffffffffffffffff"),
    (U_SHORT, 10000, "00002710"),                          # u_short travels in a whole word
    (SHORT, -1, "ffffffff"),
    (U_CHAR, 2, "00000002"),
    (BOOL, True, "00000001"),
    (Enum(Color), Color.BLUE, "00000002"),
    (FixedOpaque(5), b"abcde", "6162636465000000"),
    (Opaque(), b"\x01\x02\x03", "00000003010203 00"),
    (Opaque(), b"", "00000000"),
    (String(), "nrst0a", "00000006 6e7273743061 0000"),
    (String(), "ab\udcff", "00000003 6162ff 00"),      # a non-UTF-8 byte kept by surrogateescape
    (Array(UINT32), [1, 2], "00000002 00000001 00000002"),
    (FixedArray(U_SHORT, 2), [1, 2], "00000001 00000002"),
    (Optional(UINT32), None, "00000000"),
    (Optional(UINT32), 7, "00000001 00000007"),
    (VOID, None, ""),
])
def test_known_encodings(t, value, wire):
    data = bytes.fromhex(wire)
    assert t.encode(value) == data
    assert t.decode(data) == value


def test_struct_and_union_bytes():
    p = Point(x=-1, y=3, label="a")
    assert Point.encode(p).hex() == "ffffffff" "0000000000000003" "00000001" "61000000"
    s = Shape(kind=Color.GREEN, points=[p])
    assert Shape.encode(s).hex() == "00000001" "00000001" + Point.encode(p).hex()
    assert Shape.decode(Shape.encode(s)) == s
    assert Shape.decode(bytes.fromhex("00000000")) == Shape(kind=Color.RED)
    assert type(p).__name__ == "Point" and type(s).__name__ == "Shape"


def test_unknown_enum_value_decodes_as_int():
    v = Enum(Color).decode(bytes.fromhex("00000063"))
    assert v == 99 and type(v) is int
    assert Enum(Color).decode(bytes.fromhex("ffffffff")) == -1
    assert Enum(Color).encode(99) == bytes.fromhex("00000063")
    assert isinstance(Enum(Color).decode(bytes.fromhex("00000001")), Color)


def test_union_unknown_discriminant_needs_a_default():
    with pytest.raises(XdrError, match="no arm for kind 7"):
        Shape.decode(bytes.fromhex("00000007"))
    v = Named.decode(bytes.fromhex("00000007" "00000001" "78000000"))
    assert v == Named(kind=7, other="x")
    assert Named.decode(bytes.fromhex("00000001" "00000000")) == Named(kind=Color.GREEN, other="")


def test_padding_bytes_are_not_checked_and_written_as_zeros():
    dirty = bytes.fromhex("00000003" "010203" "ff")
    assert Opaque().decode(dirty) == b"\x01\x02\x03"
    assert Opaque().encode(Opaque().decode(dirty)) == bytes.fromhex("00000003" "010203" "00")


@pytest.mark.parametrize("t, wire, reason", [
    (UINT32, "000000", "truncated u_long"),
    (U_SHORT, "00010000", "outside 0..65535"),
    (SHORT, "00008000", "outside -32768..32767"),
    (U_CHAR, "00000100", "outside 0..255"),
    (BOOL, "00000002", "neither 0 nor 1"),
    (FixedOpaque(5), "6162636465", "needs 8 bytes"),
    (Opaque(), "00000004616263", "exceeds the 3 bytes left"),
    (Opaque(), "000000036162", "exceeds the 2 bytes left"),       # padding missing too
    (Opaque(max=2), "00000003616263ff", "exceeds its maximum 2"),
    (String(), "ffffffff", "exceeds the 0 bytes left"),
    (Array(UINT32), "7fffffff00000001", "count 2147483647 cannot fit in the 4 bytes left"),
    (Array(UINT32, max=1), "0000000200000001", "exceeds its maximum 1"),
    (UINT32, "0000000100", "1 bytes left over"),
])
def test_decode_errors(t, wire, reason):
    with pytest.raises(XdrError, match=reason):
        t.decode(bytes.fromhex(wire))


def test_hostile_count_is_refused_before_any_element():
    """4 billion pvals claimed by an 8-byte record: refused from the count alone."""
    pval = Struct("ndmp_pval", name=String(), value=String())
    with pytest.raises(XdrError, match="count 4294967295 cannot fit"):
        Array(pval).decode(bytes.fromhex("ffffffff" "00000000"))
    # Each pval takes at least 8 bytes, so 2 of them cannot fit in 12.
    with pytest.raises(XdrError, match="count 2 cannot fit in the 12 bytes left"):
        Array(pval).decode(bytes.fromhex("00000002") + bytes(12))


def test_error_path_names_the_field():
    nested = Struct("ndmp_outer", items=Array(Point))
    second = bytes.fromhex("00000001" "0000000000000002" "00000010" "61626364")   # label claims 16 bytes
    data = bytes.fromhex("00000002") + Point.encode(Point(x=1, y=2, label="")) + second
    with pytest.raises(XdrError) as info:
        nested.decode(data)
    assert info.value.path == ["items", "[1]", "label"]
    assert str(info.value) == "items[1].label: string<> length 16 exceeds the 4 bytes left"


def test_array_of_zero_size_elements_cannot_be_declared():
    with pytest.raises(TypeError):
        Array(VOID)


@pytest.mark.parametrize("t, value, reason", [
    (UINT32, -1, "cannot encode"),
    (U_SHORT, 70000, "outside 0..65535"),
    (FixedOpaque(4), b"abc", "exactly 4 bytes"),
    (String(), 5, "needs str or bytes"),
    (String(), "\ud800", "cannot encode"),                    # a lone surrogate has no bytes
    (Point, Shape(kind=Color.RED), "needs a Point"),
    (Shape, Shape(kind=Color.RED, blob=b"x"), "blob is set"),
    (Shape, Shape(kind=9), "no arm for kind 9"),
    (Array(Point), [Point(x="no", y=0, label="")], "cannot encode"),
])
def test_encode_errors(t, value, reason):
    with pytest.raises(XdrEncodeError, match=reason):
        t.encode(value)


def test_bulk_opaque_is_a_view_of_the_record():
    record = bytes.fromhex("00000004" "01020304")
    view = Opaque(view=True).decode(record)
    assert isinstance(view, memoryview) and view == b"\x01\x02\x03\x04"
    assert view.obj is record                                   # no copy


@given(st.binary(max_size=64))
def test_strings_keep_any_bytes(raw):
    s = String().decode(String().encode(raw))
    assert s.encode("utf-8", "surrogateescape") == raw


@given(st.lists(st.tuples(st.integers(-2**31, 2**31 - 1), st.integers(0, 2**64 - 1), st.text(max_size=8))))
def test_struct_arrays_round_trip(rows):
    t = Array(Point)
    value = [Point(x=x, y=y, label=lab) for x, y, lab in rows]
    assert t.decode(t.encode(value)) == value
