"""Writer to reader in-process: random trees of random files with random holes and attributes,
read back through records of random sizes."""
from __future__ import annotations

import os
import random
import stat

from hypothesis import given, settings
from hypothesis import strategies as st

from images.dump import (
    DT_CHR,
    DT_DIR,
    DT_LNK,
    DT_REG,
    ROOTINO,
    DumpLabel,
    DumpReader,
    DumpWriter,
    End,
    Inode,
    InodeInfo,
    InodeMap,
    Maps,
)
from images.dump.constants import TP_BSIZE

KIB = 1024
segments = st.lists(st.tuples(st.integers(0, 1200 * KIB), st.integers(1, 200 * KIB)), max_size=4)
user_xattrs = st.dictionaries(st.binary(min_size=1, max_size=20).map(lambda s: b"user." + s),
                              st.binary(max_size=300), max_size=3)
files = st.lists(st.tuples(st.integers(0, 1400 * KIB), segments, user_xattrs, st.integers(0, 2**32 - 1)),
                 min_size=1, max_size=6)


def _memfd(size: int, segs, seed: int) -> tuple[int, bytes]:
    """A tmpfs file of ``size`` bytes with data only in ``segs`` (the rest holes); and its content."""
    rng = random.Random(seed)
    fd = os.memfd_create("dumpfmt")
    os.ftruncate(fd, size)
    content = bytearray(size)
    for start, length in segs:
        start = min(start, size)
        chunk = rng.randbytes(min(length, size - start))
        os.pwrite(fd, chunk, start)
        content[start:start + len(chunk)] = chunk
    return fd, bytes(content)


def _info(ino, mode, size=0, **kw):
    return InodeInfo(ino=ino, mode=mode, nlink=1, uid=ino * 7, gid=ino * 11, size=size, atime_ns=ino * 10**9,
                     mtime_ns=ino * 10**9 + 123_456_000, ctime_ns=5 * 10**9, **kw)


@settings(max_examples=25, deadline=None)
@given(files=files, target=st.binary(min_size=1, max_size=2000).filter(lambda t: b"\0" not in t),
       piece=st.integers(1, 100_000), rdev=st.tuples(st.integers(0, 4095), st.integers(0, 2**20 - 1)))
def test_round_trip(files, target, piece, rdev):
    maxino = ROOTINO + len(files) + 3
    out = bytearray()
    writer = DumpWriter(out.extend, DumpLabel(date=99, ddate=0, level=1, label="rt", ntrec=7), maxino)
    inomap = InodeMap(maxino)
    for ino in range(ROOTINO, maxino):
        inomap.add(ino)
    writer.write_label()
    writer.write_maps(inomap, inomap)
    entries = [(b".", ROOTINO, DT_DIR), (b"..", ROOTINO, DT_DIR)]
    names = {}
    for i in range(len(files)):
        names[ROOTINO + 1 + i] = b"file%d" % i
        entries.append((b"file%d" % i, ROOTINO + 1 + i, DT_REG))
    link, dev = maxino - 2, maxino - 1
    entries += [(b"link", link, DT_LNK), (b"dev", dev, DT_CHR)]
    root_xattrs = ((b"user.root", b"r"),)
    offsets = {ROOTINO: writer.write_directory(_info(ROOTINO, stat.S_IFDIR | 0o755, xattrs=root_xattrs), entries)}
    expected = {}
    for i, (size, segs, xattrs, seed) in enumerate(files):
        ino = ROOTINO + 1 + i
        fd, content = _memfd(size, segs, seed)
        try:
            offsets[ino] = writer.write_file(_info(ino, stat.S_IFREG | 0o640, size, xattrs=tuple(xattrs.items())), fd)
        finally:
            os.close(fd)
        expected[ino] = (content, xattrs, segs)
    offsets[link] = writer.write_symlink(_info(link, stat.S_IFLNK | 0o777, len(target)), target)
    offsets[dev] = writer.write_special(_info(dev, stat.S_IFCHR | 0o600, rdev=os.makedev(*rdev)))
    writer.write_end()
    assert len(out) % (7 * TP_BSIZE) == 0

    view, pos = memoryview(out), 0

    def readinto(buf):
        nonlocal pos
        n = min(len(buf), len(out) - pos, piece)
        buf[:n] = view[pos:pos + n]
        pos += n
        return n

    reader = DumpReader(readinto)
    records = []
    for record in reader:
        records.append(record)
        if not isinstance(record, Inode):
            continue
        info = record.inode
        assert record.offset == offsets[info.ino]
        assert (info.uid, info.gid, info.mtime_ns) == (info.ino * 7, info.ino * 11, info.ino * 10**9 + 123_456_000)
        if info.ino == ROOTINO:
            assert record.entries() == entries and info.xattrs == root_xattrs
        elif info.ino == link:
            assert record.target() == target
        elif info.ino == dev:
            assert info.rdev == os.makedev(*rdev) and stat.S_ISCHR(info.mode)
        else:
            content, xattrs, segs = expected[info.ino]
            got = bytearray(info.size)
            stored = 0

            def sink(at, chunk, size=info.size, got=got):
                nonlocal stored
                assert at + len(chunk) <= size
                got[at:at + len(chunk)] = chunk
                stored += len(chunk)
            record.read(sink)
            assert bytes(got) == content
            assert dict(info.xattrs) == xattrs
            if not segs and info.size > 4 * KIB:
                assert stored == 0                       # an all-hole file carries no data
    assert [r.kind for r in records[:2] if isinstance(r, Maps)] == ["clri", "bits"]
    assert isinstance(records[-1], End) and reader.label.label == "rt" and reader.label.level == 1
    assert {r.inode.ino for r in records if isinstance(r, Inode)} == set(range(ROOTINO, maxino))
