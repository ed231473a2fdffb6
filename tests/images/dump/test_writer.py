"""Our writer's images as Linux restore (Debian ``dump`` 0.4b47) sees them, and
the writer's own guarantees: offsets, record padding, files that change under it."""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from dumpfmt_tree import ACL_TOOLS, ACL_USER, IS_ROOT, SPARSE_SIZE, dump_tree, make_tree

from images.dump import DumpLabel, DumpReader, DumpWriter, Inode, InodeInfo, InodeMap
from images.dump.constants import TP_BSIZE, TS_END, TS_INODE
from images.dump.header import parse_header

RESTORE = shutil.which("restore")
needs_restore = pytest.mark.skipif(RESTORE is None, reason="Linux restore (Debian package dump) is not installed")
NTREC = 16


@pytest.fixture(scope="module")
def dumped(tmp_path_factory):
    """The test tree, and our image of it written with a 16-block record size in the label."""
    base = tmp_path_factory.mktemp("dumpfmt")
    src = make_tree(base / "src")
    image = base / "tree.dump"
    with open(image, "wb") as out:
        walk, offsets = dump_tree(src, out.write, ntrec=NTREC)
    return src, image, walk, offsets


def _restore(*args, cwd: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([RESTORE, *args], cwd=cwd, input=stdin if stdin is not None else b"",
                          capture_output=True, timeout=120, check=False)


@needs_restore
def test_restore_lists_every_name(dumped, tmp_path):
    _, image, walk, _ = dumped
    done = _restore("-t", "-b", str(NTREC), "-f", str(image), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    listed = {}
    for line in done.stdout.splitlines():
        ino, _, name = line.strip().partition(b"\t")
        if ino.isdigit():
            listed[os.path.normpath(name)] = int(ino)
    assert listed == {name: ino for name, ino in walk.names.items()}


@needs_restore
def test_restore_compare_finds_no_difference(dumped, tmp_path):
    # restore -C checks every file's type, mode, owner, flags, content, link target, device and xattrs.
    src, image, _, _ = dumped
    done = _restore("-C", "-f", str(image), "-D", str(src), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert b"compare errors" not in done.stdout + done.stderr


def _same_file(src: Path, out: Path, rel: bytes) -> None:
    a, b = os.lstat(os.path.join(src, rel)), os.lstat(os.path.join(out, rel))
    assert stat.S_IFMT(a.st_mode) == stat.S_IFMT(b.st_mode), rel
    assert stat.S_IMODE(a.st_mode) == stat.S_IMODE(b.st_mode), rel
    if IS_ROOT:
        assert (a.st_uid, a.st_gid) == (b.st_uid, b.st_gid), rel
    if not stat.S_ISLNK(a.st_mode):            # restore does not set a symlink's times
        assert a.st_mtime_ns // 1000 == b.st_mtime_ns // 1000, rel
    if stat.S_ISREG(a.st_mode):
        with open(os.path.join(src, rel), "rb") as fa, open(os.path.join(out, rel), "rb") as fb:
            assert fa.read() == fb.read(), rel
    elif stat.S_ISLNK(a.st_mode):
        assert os.readlink(os.path.join(src, rel)) == os.readlink(os.path.join(out, rel))
    elif stat.S_ISCHR(a.st_mode) or stat.S_ISBLK(a.st_mode):
        assert a.st_rdev == b.st_rdev, rel
    if not stat.S_ISLNK(a.st_mode):
        names = sorted(os.listxattr(os.path.join(src, rel)))
        assert sorted(os.listxattr(os.path.join(out, rel))) == names, rel
        for name in names:
            assert os.getxattr(os.path.join(out, rel), name) == os.getxattr(os.path.join(src, rel), name), rel


@needs_restore
def test_restore_r_gives_back_the_tree(dumped, tmp_path):
    src, image, walk, _ = dumped
    done = _restore("-r", "-b", str(NTREC), "-f", str(image), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    restored = {os.path.relpath(os.path.join(d, n), tmp_path).encode("utf-8", "surrogateescape")
                for d, dirs, files in os.walk(tmp_path) for n in dirs + files} - {b"restoresymtable"}
    assert restored == set(walk.names) - {b"."}
    for rel in walk.names:
        if rel != b".":
            _same_file(os.fsencode(src), os.fsencode(tmp_path), rel)
    # hard links come back as one inode; the sparse file stays sparse
    assert os.lstat(tmp_path / "small.txt").st_ino == os.lstat(tmp_path / "dir" / "hard").st_ino
    sparse = os.lstat(tmp_path / "sparse")
    assert sparse.st_size == SPARSE_SIZE and sparse.st_blocks * 512 < 256 * 1024
    assert stat.S_ISFIFO(os.lstat(tmp_path / "fifo").st_mode)
    if IS_ROOT:
        assert os.lstat(tmp_path / "chardev").st_rdev == os.makedev(4, 5)
    assert os.getxattr(tmp_path / "small.txt", "user.bytes") == bytes(range(256))
    if ACL_TOOLS:
        acl = subprocess.run(["getfacl", "-n", str(tmp_path / "small.txt")], capture_output=True, text=True,
                             check=True).stdout
        assert f"user:{ACL_USER}:rw-" in acl
        default = subprocess.run(["getfacl", "-n", "-d", str(tmp_path / "dir" / "sub")], capture_output=True,
                                 text=True, check=True).stdout
        assert f"user:{ACL_USER}:r-x" in default


@needs_restore
def test_restore_x_extracts_named_files(dumped, tmp_path):
    src, image, _, _ = dumped
    # restore -x asks which volume to start with and whether to set the owner of ".".
    done = _restore("-x", "-b", str(NTREC), "-f", str(image), "./dir/sub/big.bin", "./small.txt", "./sparse",
                    cwd=tmp_path, stdin=b"1\nn\n")
    assert done.returncode == 0, done.stderr
    for rel in (b"dir/sub/big.bin", b"small.txt", b"sparse"):
        _same_file(os.fsencode(src), os.fsencode(tmp_path), rel)
    assert not (tmp_path / "link").exists()
    assert os.lstat(tmp_path / "sparse").st_blocks * 512 < 256 * 1024


def test_offsets_are_the_inodes_headers_and_the_image_fills_its_last_record(dumped):
    _, image, walk, offsets = dumped
    raw = image.read_bytes()
    assert set(offsets) == set(walk.paths)
    for ino, offset in offsets.items():
        parsed = parse_header(memoryview(raw)[offset:offset + TP_BSIZE], offset)
        assert not isinstance(parsed, str) and (parsed.type, parsed.ino) == (TS_INODE, ino)
    assert len(raw) % (NTREC * TP_BSIZE) == 0
    last = parse_header(memoryview(raw)[-TP_BSIZE:], len(raw) - TP_BSIZE)
    assert last.type == TS_END
    # as Linux dump: DR_NEWHEADER | DR_NEWINODEFMT on the volume label, DR_NEWINODEFMT after it
    assert parse_header(memoryview(raw)[:TP_BSIZE], 0).flags == 3
    assert parse_header(memoryview(raw)[TP_BSIZE:2 * TP_BSIZE], TP_BSIZE).flags == 2


def _file(ino: int, size: int, **kw) -> InodeInfo:
    return InodeInfo(ino=ino, mode=stat.S_IFREG | 0o644, nlink=1, uid=0, gid=0, size=size, atime_ns=0,
                     mtime_ns=0, ctime_ns=0, **kw)


def _image(fill) -> tuple[bytes, DumpWriter, list]:
    out = bytearray()
    calls = []

    def write(data):
        calls.append(len(data))
        out.extend(data)

    writer = DumpWriter(write, DumpLabel(date=1_000, ddate=0, level=0), 100)
    writer.write_label()
    fill(writer)
    writer.write_end()
    return bytes(out), writer, calls


def _read_files(raw: bytes) -> dict[int, bytes]:
    view = memoryview(raw)
    pos = 0

    def readinto(buf):
        nonlocal pos
        n = min(len(buf), len(raw) - pos, 3000)     # records of odd sizes
        buf[:n] = view[pos:pos + n]
        pos += n
        return n

    files = {}
    for record in DumpReader(readinto):
        if isinstance(record, Inode) and stat.S_ISREG(record.inode.mode):
            data = bytearray(record.inode.size)

            def sink(at, chunk, data=data):
                data[at:at + len(chunk)] = chunk
            record.read(sink)
            files[record.inode.ino] = bytes(data)
    return files


def test_a_file_that_changes_size_is_written_at_the_size_it_was_given(tmp_path):
    grown = tmp_path / "grown"
    grown.write_bytes(b"g" * 5000)
    shrunk = tmp_path / "shrunk"
    shrunk.write_bytes(b"s" * 700)

    def fill(writer):
        for ino, path, size in ((3, grown, 3000), (4, shrunk, 600 * 1024)):
            fd = os.open(path, os.O_RDONLY)
            writer.write_file(_file(ino, size), fd)
            os.close(fd)

    raw, _, _ = _image(fill)
    files = _read_files(raw)
    assert files[3] == b"g" * 3000
    assert files[4] == b"s" * 700 + bytes(600 * 1024 - 700)


def test_a_read_error_completes_the_inode_then_raises(tmp_path):
    errors = []

    def fill(writer):
        fd = os.open(tmp_path, os.O_RDONLY)         # pread on a directory fails with EISDIR
        try:
            writer.write_file(_file(3, 2500), fd)
        except OSError as e:
            errors.append(e)
        finally:
            os.close(fd)
        with open(tmp_path / "after", "wb") as f:
            f.write(b"after")
        fd = os.open(tmp_path / "after", os.O_RDONLY)
        writer.write_file(_file(4, 5), fd)
        os.close(fd)

    raw, _, _ = _image(fill)
    assert len(errors) == 1 and isinstance(errors[0], IsADirectoryError)
    assert _read_files(raw) == {3: bytes(2500), 4: b"after"}


def test_small_inodes_are_gathered_into_large_writes(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"x" * 100)

    def fill(writer):
        fd = os.open(path, os.O_RDONLY)
        for ino in range(3, 99):
            for _ in range(20):
                writer.write_file(_file(ino, 100), fd)
        os.close(fd)

    raw, _, calls = _image(fill)
    assert len(raw) > 3 * (1 << 20)
    assert len(calls) <= len(raw) // (1 << 20) + 2


def test_refusals():
    dropped = []
    writer = DumpWriter(lambda b: None, DumpLabel(date=0, ddate=0, level=0), 10,
                        on_xattr_dropped=lambda ino, name, why: dropped.append((ino, name)))
    directory = InodeInfo(ino=2, mode=stat.S_IFDIR | 0o755, nlink=2, uid=0, gid=0, size=0, atime_ns=0,
                          mtime_ns=0, ctime_ns=0)
    with pytest.raises(ValueError):
        writer.write_file(directory, 0)
    with pytest.raises(ValueError):
        writer.write_special(_file(3, 0))
    with pytest.raises(ValueError):
        writer.write_symlink(_file(3, 0), b"x")
    with pytest.raises(ValueError):
        writer.write_directory(_file(3, 0), [(b".", 3, 4), (b"..", 2, 4)])
    with pytest.raises(ValueError):
        writer.write_special(InodeInfo(ino=10, mode=stat.S_IFIFO, nlink=1, uid=0, gid=0, size=0, atime_ns=0,
                                       mtime_ns=0, ctime_ns=0))
    writer.write_special(InodeInfo(ino=9, mode=stat.S_IFIFO, nlink=1, uid=0, gid=0, size=0, atime_ns=0,
                                   mtime_ns=0, ctime_ns=0, xattrs=((b"user.ok", b"1"), (b"weird.ns", b"2"))))
    assert dropped == [(9, b"weird.ns")]
    writer.write_end()
    with pytest.raises(ValueError):
        writer.write_end()
    with pytest.raises(ValueError):
        DumpWriter(lambda b: None, DumpLabel(date=0, ddate=0, level=0), 2)
    with pytest.raises(ValueError):
        DumpLabel(date=0, ddate=0, level=32)


def test_maps_must_fit_maxino():
    writer = DumpWriter(lambda b: None, DumpLabel(date=0, ddate=0, level=0), 10)
    wide = InodeMap(100_000)
    wide.add(9)
    writer.write_maps(wide, wide)                      # a wider map is fine while its inodes fit
    for ino in (10, 50_000):
        wide.add(ino)
        with pytest.raises(ValueError):
            writer.write_maps(wide, InodeMap(10))
