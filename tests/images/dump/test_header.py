"""The header's fast paths encode exactly what the construct declaration says,
and a header is valid only with its magic and checksum."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from images.dump import header
from images.dump.constants import CHECKSUM, NFS_MAGIC, TP_BSIZE, TS_ADDR, TS_END, TS_INODE
from images.dump.fastpath import fast_struct, flat_fields, offset_of
from images.dump.inode import dinode_sum

u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
u64 = st.integers(0, 2**64 - 1)

dinodes = st.fixed_dictionaries(dict(
    mode=u16, nlink=u16, ouid=u16, ogid=u16, size=u64,
    atime=st.fixed_dictionaries(dict(sec=u32, usec=u32)), mtime=st.fixed_dictionaries(dict(sec=u32, usec=u32)),
    ctime=st.fixed_dictionaries(dict(sec=u32, usec=u32)), db=st.lists(u32, min_size=12, max_size=12),
    ib=st.lists(u32, min_size=3, max_size=3), flags=u32, blocks=u32, gen=u32, uid=u32, gid=u32,
    spare=st.lists(u32, min_size=2, max_size=2)))


def _flatten(value, prefix=""):
    if isinstance(value, dict):
        out = []
        for k, v in value.items():
            if not k.startswith("_"):
                out += _flatten(v, f"{prefix}.{k}" if prefix else k)
        return out
    if isinstance(value, list):
        out = []
        for i, v in enumerate(value):
            out += _flatten(v, f"{prefix}[{i}]")
        return out
    return [(prefix, value)]


@given(dinode=dinodes, kind=st.integers(1, 6), count=st.integers(0, 512), ino=u32, tapea=u32,
       text=st.binary(max_size=15), level=st.integers(0, 31), flags=u32)
def test_fast_paths_match_declaration(dinode, kind, count, ino, tapea, text, level, flags):
    values = dict(type=kind, date=1, ddate=2, volume=3, tapea=tapea, inumber=ino, magic=NFS_MAGIC, checksum=0,
                  dinode=dinode, count=count, addr=bytes(range(256)) * 2, label=text.ljust(16, b"\0"),
                  level=level, filesys=b"f" * 64, dev=b"d" * 64, host=b"h" * 64, flags=flags, firstrec=0,
                  ntrec=10, extattributes=3, spare=[0] * 30)
    raw = header.SpclHeader.build(values)
    assert len(raw) == TP_BSIZE
    head = header.HEAD.unpack_from(raw)
    tail = header.TAIL.unpack_from(raw, header.OFF_LABEL)
    flat = dict(_flatten(values))
    assert {name: head[i] for name, i in header.HEAD_INDEX.items()} == \
        {name: flat[name] for name in header.HEAD_INDEX}
    assert {name: tail[i] for name, i in header.TAIL_INDEX.items()} == \
        {name: flat[name] for name in header.TAIL_INDEX}
    # the checksum shortcut the writer takes for the on-tape inode
    dvals = head[header.I_DINODE:header.I_COUNT]
    words = memoryview(raw)[offset_of(header.SpclHeader, "dinode"):header.OFF_ADDR - 4].cast("I")
    assert dinode_sum(dvals) == sum(words)


def test_layout_is_linux_dumps():
    # offsets from Linux dump's struct s_spcl (measured on its images: label at 676, flags at 888)
    assert header.OFF_ADDR == 164
    assert header.OFF_LABEL == 676
    assert header.OFF_FLAGS == 888
    assert offset_of(header.SpclHeader, "extattributes") == 900
    assert [code for _, code in flat_fields(header.OnTapeInode)][:5] == ["H", "H", "H", "H", "Q"]
    packed, index = fast_struct(header.SpclHeader)
    assert packed.size == TP_BSIZE and "spare[29]" in index


def _valid(kind=TS_INODE, count=0, addr=b"", ino=7):
    raw = bytearray(header.SpclHeader.build(dict(
        type=kind, date=10, ddate=0, volume=1, tapea=0, inumber=ino, magic=NFS_MAGIC, checksum=0,
        dinode=dict(mode=0o100644, nlink=1, ouid=0, ogid=0, size=max(count, 0) * 1024, atime=dict(sec=0, usec=0),
                    mtime=dict(sec=0, usec=0), ctime=dict(sec=0, usec=0), db=[0] * 12, ib=[0] * 3, flags=0,
                    blocks=0, gen=0, uid=0, gid=0, spare=[0, 0]),
        count=count, addr=addr.ljust(512, b"\0"), label=b"\0" * 16, level=0, filesys=b"\0" * 64,
        dev=b"\0" * 64, host=b"\0" * 64, flags=2, firstrec=0, ntrec=10, extattributes=0, spare=[0] * 30)))
    raw[28:32] = ((CHECKSUM - sum(memoryview(raw).cast("I"))) & 0xFFFFFFFF).to_bytes(4, "little")
    return raw


def test_parse_accepts_a_valid_header():
    raw = _valid(count=3, addr=b"\x01\x00\x07")
    parsed = header.parse_header(memoryview(raw), 4096)
    assert not isinstance(parsed, str)
    assert (parsed.offset, parsed.type, parsed.ino, parsed.count, parsed.size) == (4096, TS_INODE, 7, 3, 3072)
    assert parsed.addr == b"\x01\x00\x01" and parsed.data_blocks() == 2


@given(st.integers(0, TP_BSIZE - 1), st.integers(1, 255))
def test_any_flipped_byte_is_caught(where, bits):
    raw = _valid(count=2, addr=b"\x01\x01")
    raw[where] ^= bits
    assert isinstance(header.parse_header(memoryview(raw), 0), str)


def test_bad_counts_and_types_are_refused():
    for raw in (_valid(count=513), _valid(count=-1), _valid(kind=9), _valid(kind=TS_ADDR, count=600)):
        assert isinstance(header.parse_header(memoryview(raw), 0), str)
    assert not isinstance(header.parse_header(memoryview(_valid(kind=TS_END)), 0), str)
