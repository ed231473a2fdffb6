"""Directory records as Linux dump converts them: 4-byte padding, NUL after the
name, no record across a DIRBLKSIZ chunk, "." and ".." first."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from images.dump import DumpFormatError
from images.dump.constants import DIRBLKSIZ, DT_DIR, DT_REG
from images.dump.directory import RECORD, decode_directory, encode_directory, record_length

names = st.binary(min_size=1, max_size=255).filter(lambda n: b"/" not in n and b"\0" not in n
                                                   and n not in (b".", b".."))


def _records(data):
    pos, out = 0, []
    while pos < len(data):
        _ino, reclen, _dtype, namlen = RECORD.unpack_from(data, pos)
        out.append((pos, reclen, namlen))
        pos += reclen
    return out


@given(st.lists(st.tuples(names, st.integers(1, 2**32 - 1), st.integers(0, 14)), max_size=60, unique_by=lambda e: e[0]))
def test_round_trip_and_chunk_rules(children):
    entries = [(b".", 2, DT_DIR), (b"..", 2, DT_DIR)] + children
    data = encode_directory(entries)
    assert len(data) % DIRBLKSIZ == 0
    assert decode_directory(data) == entries
    for pos, reclen, namlen in _records(data):
        assert reclen % 4 == 0 and reclen >= record_length(namlen)
        assert pos // DIRBLKSIZ == (pos + reclen - 1) // DIRBLKSIZ
        assert data[pos + 8 + namlen] == 0          # NUL-terminated, as restore expects


def test_matches_linux_dump_bytes():
    # The root directory of a Linux dump image (0.4b47): "." 12, ".." 12, "lost+found" 20, ...
    data = encode_directory([(b".", 2, DT_DIR), (b"..", 2, DT_DIR), (b"lost+found", 11, DT_DIR),
                             (b"a.txt", 12, DT_REG)])
    assert data[:12] == b"\x02\0\0\0\x0c\0\x04\x01.\0\0\0"
    assert data[12:20] == b"\x02\0\0\0\x0c\0\x04\x02"
    assert data[24:32] == b"\x0b\0\0\0\x14\0\x04\x0a"
    assert _records(data)[-1] == (44, DIRBLKSIZ - 44, 5)


def test_writer_side_refusals():
    with pytest.raises(ValueError):
        encode_directory([(b"a", 3, DT_REG)])
    for bad in (b"", b"a/b", b"a\0b", b"x" * 256):
        with pytest.raises(ValueError):
            encode_directory([(b".", 2, DT_DIR), (b"..", 2, DT_DIR), (bad, 3, DT_REG)])
    with pytest.raises(ValueError):
        encode_directory([(b".", 2, DT_DIR), (b"..", 0, DT_DIR)])


def _dir_with(reclen, namlen, ino=5):
    data = bytearray(encode_directory([(b".", 2, DT_DIR), (b"..", 2, DT_DIR), (b"name", 5, DT_REG)]))
    RECORD.pack_into(data, 24, ino, reclen, DT_REG, namlen)
    return bytes(data)


@pytest.mark.parametrize("reclen,namlen", [(0, 4), (6, 4), (14, 4), (0xFFFF, 4), (DIRBLKSIZ - 24, 255),
                                           (DIRBLKSIZ, 4), (DIRBLKSIZ - 23, 4)])
def test_hostile_records_are_format_errors(reclen, namlen):
    with pytest.raises(DumpFormatError):
        decode_directory(_dir_with(reclen, namlen), 1234)


def test_deleted_records_are_left_out_and_truncated_data_is_an_error():
    assert [e[0] for e in decode_directory(_dir_with(DIRBLKSIZ - 24, 4, ino=0))] == [b".", b".."]
    with pytest.raises(DumpFormatError) as err:
        decode_directory(encode_directory([(b".", 2, DT_DIR), (b"..", 2, DT_DIR)])[:30], 777)
    assert err.value.offset == 777
