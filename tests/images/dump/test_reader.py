"""Our reader on images made by Linux dump (Debian ``dump`` 0.4b47, from an ext4
filesystem built with mkfs.ext4 -d), from an inode's header offset, and on
damaged or hostile input, which must only ever give DumpFormatError."""
from __future__ import annotations

import io
import os
import stat

import pytest
from dumpfmt_tree import SPARSE_SIZE, dump_tree, make_tree
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.linux_dump import linux_dump_of

from images.dump import ROOTINO, DumpFormatError, DumpReader, End, Inode, Maps
from images.dump.constants import CHECKSUM, TP_BSIZE
from images.dump.header import OFF_CHECKSUM, parse_header


def _readinto_from(raw: bytes, piece: int = 1 << 16):
    """A readinto over ``raw`` that hands out at most ``piece`` bytes a call (records of any size)."""
    view = memoryview(raw)
    pos = 0

    def readinto(buf):
        nonlocal pos
        n = min(len(buf), len(raw) - pos, piece)
        buf[:n] = view[pos:pos + n]
        pos += n
        return n
    return readinto


def _drain(reader: DumpReader) -> tuple[dict[int, Inode], dict[int, bytes], list[str]]:
    """Everything the reader gives, reading every inode's content; errors collected, not raised."""
    inodes, contents, errors = {}, {}, []
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except DumpFormatError as e:
            errors.append(str(e))
            continue
        if isinstance(record, Inode):
            inodes[record.inode.ino] = record
            mode = record.inode.mode
            try:
                if stat.S_ISDIR(mode):
                    contents[record.inode.ino] = record.entries()
                elif stat.S_ISLNK(mode):
                    contents[record.inode.ino] = record.target()
                else:
                    chunks = []
                    record.read(lambda at, chunk, chunks=chunks: chunks.append((at, bytes(chunk))))
                    contents[record.inode.ino] = chunks
            except DumpFormatError as e:
                errors.append(str(e))
    return inodes, contents, errors


def _assemble(chunks, size):
    data = bytearray(size)
    for at, chunk in chunks:
        data[at:at + len(chunk)] = chunk
    return bytes(data)


def _paths(inodes, contents):
    """relative path -> ino, from the directory entries, starting at the root."""
    out, queue = {}, [(ROOTINO, b"")]
    while queue:
        ino, prefix = queue.pop()
        for name, child, _ in contents[ino]:
            if name in (b".", b".."):
                continue
            rel = prefix + name
            out[rel] = child
            if child in inodes and stat.S_ISDIR(inodes[child].inode.mode):
                queue.append((child, rel + b"/"))
    return out


@pytest.fixture(scope="module")
def linux_image(tmp_path_factory):
    base = tmp_path_factory.mktemp("linuxdump")
    src = make_tree(base / "src")
    os.setxattr(src / "dir" / "one-block", "user.big", b"v" * 600)    # goes to an ext4 attribute block
    return src, linux_dump_of(src, base, "32M")


def test_reads_what_linux_dump_wrote(linux_image):
    src, raw = linux_image
    reader = DumpReader(_readinto_from(raw, 10 * TP_BSIZE))
    kinds = []
    inodes, contents = {}, {}
    records = list(_records_with_content(reader, inodes, contents, kinds))
    assert isinstance(records[-1], End)
    assert kinds[:2] == ["clri", "bits"]
    assert reader.label.level == 0 and reader.label.ntrec == 10
    paths = _paths(inodes, contents)
    src_b = os.fsencode(src)
    expected = {os.path.relpath(os.path.join(d, n), src_b) for d, dirs, files in os.walk(src_b) for n in dirs + files}
    assert set(paths) - {b"lost+found"} == expected
    for rel, ino in paths.items():
        if rel == b"lost+found":
            continue
        info = inodes[ino].inode
        st = os.lstat(os.path.join(src_b, rel))
        assert (info.mode, info.uid, info.gid) == (st.st_mode, st.st_uid, st.st_gid), rel
        assert info.mtime_ns // 10**9 == st.st_mtime_ns // 10**9, rel
        if stat.S_ISREG(st.st_mode):
            assert info.size == st.st_size
            with open(os.path.join(src_b, rel), "rb") as f:
                assert _assemble(contents[ino], info.size) == f.read(), rel
        elif stat.S_ISLNK(st.st_mode):
            assert contents[ino] == os.readlink(os.path.join(src_b, rel))
        elif stat.S_ISCHR(st.st_mode):
            assert info.rdev == st.st_rdev
        if not stat.S_ISLNK(st.st_mode):
            path = os.path.join(src_b, rel)
            assert dict(info.xattrs) == {os.fsencode(n): os.getxattr(path, n) for n in os.listxattr(path)}, rel
    assert paths[b"small.txt"] == paths[b"dir/hard"]
    sparse = contents[paths[b"sparse"]]
    assert sum(len(c) for _, c in sparse) < SPARSE_SIZE // 8          # holes were not passed to the sink
    assert dict(inodes[paths[b"small.txt"]].inode.xattrs)[b"system.posix_acl_access"][:4] == b"\x02\0\0\0"


def _records_with_content(reader, inodes, contents, kinds):
    for record in reader:
        if isinstance(record, Maps):
            kinds.append(record.kind)
        elif isinstance(record, Inode):
            inodes[record.inode.ino] = record
            if stat.S_ISDIR(record.inode.mode):
                contents[record.inode.ino] = record.entries()
            elif stat.S_ISLNK(record.inode.mode):
                contents[record.inode.ino] = record.target()
            elif stat.S_ISREG(record.inode.mode):
                chunks = []
                record.read(lambda at, chunk, chunks=chunks: chunks.append((at, bytes(chunk))))
                contents[record.inode.ino] = chunks
        yield record


# -- our own images ---------------------------------------------------------------


@pytest.fixture(scope="module")
def ours(tmp_path_factory):
    base = tmp_path_factory.mktemp("ours")
    src = make_tree(base / "src")
    out = io.BytesIO()
    walk, offsets = dump_tree(src, out.write)
    return out.getvalue(), walk, offsets


def test_start_offset_yields_that_inode_first(ours):
    raw, walk, offsets = ours
    for ino, offset in offsets.items():
        reader = DumpReader(_readinto_from(raw[offset:], 7000), start_offset=offset)
        first = next(reader)
        assert isinstance(first, Inode) and (first.offset, first.inode.ino) == (offset, ino)
        path = walk.paths[ino]
        if stat.S_ISREG(first.inode.mode):
            chunks = []
            first.read(lambda at, chunk, chunks=chunks: chunks.append((at, bytes(chunk))))
            with open(path, "rb") as f:
                assert _assemble(chunks, first.inode.size) == f.read()
        rest = list(reader)
        assert isinstance(rest[-1], End) and all(r.offset > offset for r in rest)
        assert reader.label is None


def test_start_offset_inside_data_resynchronises(ours):
    raw, walk, offsets = ours
    big = walk.names[b"dir/sub/big.bin"]
    start = offsets[big] + 5 * TP_BSIZE                 # inside big.bin's data
    skips = []
    reader = DumpReader(_readinto_from(raw[start:]), start_offset=start, on_skip=lambda o, n: skips.append((o, n)))
    records = list(reader)
    assert skips and skips[0][0] == start
    assert isinstance(records[-1], End)
    assert big not in {r.inode.ino for r in records if isinstance(r, Inode)}


def test_a_damaged_header_stops_the_reader_or_is_skipped(ours):
    raw, walk, offsets = ours
    target = walk.names[b"dir/exact4k"]
    damaged = bytearray(raw)
    damaged[offsets[target] + 40] ^= 0x10
    inodes, _, errors = _drain(DumpReader(_readinto_from(bytes(damaged))))
    assert len(errors) == 1 and "checksum" in errors[0] and target not in inodes
    skips = []
    inodes, _, errors = _drain(DumpReader(_readinto_from(bytes(damaged)),
                                                 on_skip=lambda o, n: skips.append((o, n))))
    assert errors == [] and skips == [(offsets[target], 5)]        # the header and its 4 data blocks
    assert target not in inodes and set(inodes) == set(walk.paths) - {target}


def test_a_damaged_continuation_cuts_the_file(ours):
    raw, walk, offsets = ours
    big = walk.names[b"dir/sub/big.bin"]
    addr = offsets[big] + (1 + 512) * TP_BSIZE           # its TS_ADDR header after 512 data blocks
    assert parse_header(memoryview(raw)[addr:addr + TP_BSIZE], addr).type == 4
    damaged = bytearray(raw)
    damaged[addr + 700] ^= 1
    skips = []
    inodes, contents, errors = _drain(DumpReader(_readinto_from(bytes(damaged)),
                                                 on_skip=lambda o, n: skips.append((o, n))))
    assert errors == [] and skips[0][0] == addr
    assert sum(len(c) for _, c in contents[big]) == 512 * TP_BSIZE    # what came before the damage
    assert set(inodes) == set(walk.paths)


def test_truncated_images_are_format_errors(ours):
    raw, _walk, offsets = ours
    end = len(raw) - 10 * TP_BSIZE
    for cut in sorted({1, 1000, TP_BSIZE, 3 * TP_BSIZE + 5, *range(0, end, 7919), *offsets.values(),
                       *(o + TP_BSIZE for o in offsets.values())}):
        if cut >= end:
            continue
        _, _, errors = _drain(DumpReader(_readinto_from(raw[:cut])))
        assert errors and errors[-1].startswith("image ends"), cut


def _rechecksum(raw: bytearray, at: int) -> None:
    raw[at + OFF_CHECKSUM:at + OFF_CHECKSUM + 4] = bytes(4)
    total = sum(memoryview(raw)[at:at + TP_BSIZE].cast("I"))
    raw[at + OFF_CHECKSUM:at + OFF_CHECKSUM + 4] = ((CHECKSUM - total) & 0xFFFFFFFF).to_bytes(4, "little")


def test_bad_count_with_a_good_checksum(ours):
    raw, walk, offsets = ours
    damaged = bytearray(raw)
    at = offsets[walk.names[b"small.txt"]]
    damaged[at + 160:at + 164] = (600).to_bytes(4, "little")
    _rechecksum(damaged, at)
    _, _, errors = _drain(DumpReader(_readinto_from(bytes(damaged))))
    assert errors == [f"bad block count 600 (at byte {at} of the dump image)"]


def test_hostile_directory_records(ours):
    raw, walk, offsets = ours
    at = offsets[ROOTINO] + TP_BSIZE                     # the root directory's data block
    for patch in (b"\xff\xff", b"\x00\x00", b"\x0e\x00"):   # d_reclen of ".."
        damaged = bytearray(raw)
        damaged[at + 16:at + 18] = patch
        inodes, _, errors = _drain(DumpReader(_readinto_from(bytes(damaged))))
        assert len(errors) == 1 and "directory record" in errors[0]
        assert set(inodes) == set(walk.paths)             # the rest of the image still reads
    damaged = bytearray(raw)
    damaged[at + 19] = 255                                # d_namlen of ".."
    _, _, errors = _drain(DumpReader(_readinto_from(bytes(damaged))))
    assert len(errors) == 1 and "directory record" in errors[0]


def test_attribute_block_with_bad_offsets(ours):
    raw, walk, offsets = ours
    ino = walk.names[b"small.txt"]
    ea = offsets[ino] + 2 * TP_BSIZE                     # its EA record after one data block
    parsed = parse_header(memoryview(raw)[ea:ea + TP_BSIZE], ea)
    assert parsed.flags & 0x8000
    for where, value in ((32 + 2, b"\xf0\xff"), (32 + 8, b"\xff\xff\x00\x00"), (32 + 1, b"\x63")):
        damaged = bytearray(raw)
        damaged[ea + TP_BSIZE + where:ea + TP_BSIZE + where + len(value)] = value
        inodes, _, errors = _drain(DumpReader(_readinto_from(bytes(damaged))))
        assert len(errors) == 1 and f"inode {ino}" in errors[0], errors
        assert set(inodes) == set(walk.paths) and inodes[ino].inode.xattrs == ()
        skips = []
        inodes, _, errors = _drain(DumpReader(_readinto_from(bytes(damaged)),
                                              on_skip=lambda o, n, skips=skips: skips.append((o, n))))
        assert errors == [] and skips == [(ea, 1)]


def test_garbage_is_not_a_dump():
    for raw in (b"", b"x", os.urandom(TP_BSIZE), os.urandom(50_000), bytes(4 * TP_BSIZE)):
        _, _, errors = _drain(DumpReader(_readinto_from(raw)))
        assert errors
        skips = []
        _, _, errors = _drain(DumpReader(_readinto_from(raw), on_skip=lambda o, n, skips=skips: skips.append(n)))
        assert errors


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(data=st.data(), tolerant=st.booleans())
def test_fuzz_only_format_errors(ours, data, tolerant):
    raw, _walk, _offsets = ours
    raw = bytearray(raw[:200 * TP_BSIZE])
    for _ in range(data.draw(st.integers(1, 8))):
        kind = data.draw(st.sampled_from(["flip", "rechecksum", "cut", "splice"]))
        at = data.draw(st.integers(0, len(raw) - 1))
        if kind == "flip":
            raw[at] ^= data.draw(st.integers(1, 255))
        elif kind == "rechecksum":                       # a changed field that the checksum does not catch
            block = at - at % TP_BSIZE
            raw[at] = data.draw(st.integers(0, 255))
            if block + TP_BSIZE <= len(raw):
                _rechecksum(raw, block)
        elif kind == "cut":
            del raw[at:at + data.draw(st.integers(1, 3 * TP_BSIZE))]
        else:
            raw[at:at] = data.draw(st.binary(min_size=1, max_size=2 * TP_BSIZE))
    skips = []
    reader = DumpReader(_readinto_from(bytes(raw), data.draw(st.integers(1, 70_000))),
                        on_skip=(lambda o, n: skips.append((o, n))) if tolerant else None)
    _drain(reader)            # anything but DumpFormatError propagates and fails the test
