"""ndmp.snapshot: backup snapshots made by copy (any filesystem), reflink and btrfs (on a
loop-mounted btrfs when this machine allows one), the snapshot_for_backup.N names, and
existing snapshots a DMA names."""
from __future__ import annotations

import fcntl
import os
import shutil
import stat
import struct
import subprocess
import threading
import time
from pathlib import Path

import pytest
from support.filesystems import Unavailable, mounted

from ndmp import snapshot as snapshot_module
from ndmp.snapshot import (
    CREATE_FAILED,
    DELETE_FAILED,
    LOCK_FAILED,
    SnapshotError,
    SnapshotNames,
    create_snapshot,
    filesystem_type,
    open_snapshot,
    probe_method,
)

MiB = 1 << 20
OLD = 1_500_000_000_123_456_789            # ns: a time no copy could have by accident

# -- a volume with everything a volume can hold ----------------------------------------------

ACL_USER_OBJ, ACL_USER, ACL_GROUP_OBJ, ACL_GROUP, ACL_MASK, ACL_OTHER = 1, 2, 4, 8, 0x10, 0x20
NO_ID = 0xFFFFFFFF


def acl_xattr(*entries: tuple[int, int, int]) -> bytes:
    """A POSIX ACL in the kernel's xattr form (version 2, then tag/perm/id entries)."""
    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", tag, perm, ident) for tag, perm, ident in entries)


ACCESS_ACL = acl_xattr((ACL_USER_OBJ, 6, NO_ID), (ACL_USER, 4, 1234), (ACL_GROUP_OBJ, 4, NO_ID),
                       (ACL_MASK, 4, NO_ID), (ACL_OTHER, 4, NO_ID))
DEFAULT_ACL = acl_xattr((ACL_USER_OBJ, 7, NO_ID), (ACL_GROUP_OBJ, 5, NO_ID), (ACL_GROUP, 5, 4321),
                        (ACL_MASK, 5, NO_ID), (ACL_OTHER, 0, NO_ID))


def make_volume(root: Path) -> Path:
    """Directories (one with a default ACL, one with odd owner and mode), files of every size,
    a sparse file (a leading hole, two data runs, a trailing hole), a file that is only a
    hole, three hard links, symlinks (relative, absolute, dangling), a fifo, devices, a socket,
    extended attributes and an access ACL; every mtime is OLD."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "dir" / "sub").mkdir(parents=True)
    (root / "empty_dir").mkdir()
    (root / "dir" / "small").write_bytes(b"hello\n")
    (root / "dir" / "sub" / "big").write_bytes(os.urandom(3 * MiB + 17))
    (root / "empty").write_bytes(b"")
    with open(root / "sparse", "wb") as f:
        f.truncate(8 * MiB)
        f.seek(1 * MiB)
        f.write(b"A" * 4096)
        f.seek(5 * MiB)
        f.write(b"B" * 8192)
    with open(root / "all_hole", "wb") as f:
        f.truncate(2 * MiB)
    (root / "linked").write_bytes(b"one inode, three names\n")
    os.link(root / "linked", root / "dir" / "link2")
    os.link(root / "linked", root / "dir" / "sub" / "link3")
    os.symlink("small", root / "dir" / "rel_link")
    os.symlink("/etc/hostname", root / "abs_link")
    os.symlink("nowhere/at/all", root / "dangling")
    os.mkfifo(root / "fifo", 0o640)
    os.mknod(root / "chr", stat.S_IFCHR | 0o620, os.makedev(1, 3))
    os.mknod(root / "blk", stat.S_IFBLK | 0o600, os.makedev(7, 200))
    os.mknod(root / "sock", stat.S_IFSOCK | 0o777)
    os.setxattr(root / "dir" / "small", "user.comment", b"kept")
    os.setxattr(root / "dir" / "small", "user.binary", bytes(range(256)))
    os.setxattr(root / "dir" / "small", "system.posix_acl_access", ACCESS_ACL)
    os.setxattr(root / "dir", "system.posix_acl_default", DEFAULT_ACL)
    os.setxattr(root / "empty_dir", "user.on_a_dir", b"yes")
    os.chown(root / "dir" / "sub", 1234, 5678)
    os.chmod(root / "dir" / "sub", 0o2750)
    os.chown(root / "dir" / "sub" / "big", 4321, 8765)
    os.chmod(root / "dir" / "sub" / "big", 0o4755)
    os.lchown(root / "dangling", 1234, 1234)
    # atime after mtime and ctime and not a day old: relatime leaves it alone when a symlink
    # is followed or a directory listed, so reading the volume does not change it
    later = time.time_ns() + 3600 * 10**9
    for path in sorted(root.rglob("*"), key=lambda p: -len(p.parts)) + [root]:
        os.utime(path, ns=(later, OLD), follow_symlinks=False)
    return root


def extents(path: Path) -> list[tuple[int, int]]:
    """The data runs of a file (SEEK_DATA/SEEK_HOLE)."""
    runs = []
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        position = 0
        while position < size:
            try:
                data = os.lseek(fd, position, os.SEEK_DATA)
            except OSError:
                break
            hole = os.lseek(fd, data, os.SEEK_HOLE)
            runs.append((data, hole))
            position = hole
    finally:
        os.close(fd)
    return runs


def walk(root: Path, *, skip_snapshots: bool = True) -> list[str]:
    out = []
    for directory, dirs, files in os.walk(root):
        rel = os.path.relpath(directory, root)
        if skip_snapshots and rel == ".":
            dirs[:] = [d for d in dirs if d != ".snapshot"]
        out += [os.path.normpath(os.path.join(rel, n)) for n in dirs + files]
    return sorted(out)


def xattrs(path: Path) -> dict[str, bytes]:
    return {n: os.getxattr(path, n, follow_symlinks=False) for n in os.listxattr(path, follow_symlinks=False)}


def stats(volume: Path) -> dict[str, os.stat_result]:
    """The volume's stats before a snapshot (reading a symlink or listing a directory for the
    copy moves its atime, so the volume afterwards is not what it was)."""
    return {rel: os.lstat(volume / rel) for rel in ["", *walk(volume)]}


def same_but_device(a: os.stat_result, b: os.stat_result) -> bool:
    fields = ("st_ino", "st_mode", "st_nlink", "st_uid", "st_gid", "st_size", "st_atime_ns", "st_mtime_ns",
              "st_ctime_ns", "st_rdev", "st_blocks")
    return all(getattr(a, f) == getattr(b, f) for f in fields)


def assert_same_tree(volume: Path, snap, before: dict[str, os.stat_result]) -> None:
    """Every name of the volume is in the snapshot with the same type, mode, owner, size,
    times, content, holes, link target, device number and extended attributes; and
    ``snap.lstat`` gives the stat the volume had (inode numbers and ctimes included)."""
    root = Path(snap.root)
    assert walk(root) == walk(volume)
    for rel in walk(volume):
        src, dst = volume / rel, root / rel
        a, b = before[rel], os.lstat(dst)
        for name in ("st_mode", "st_uid", "st_gid", "st_size", "st_mtime_ns", "st_atime_ns", "st_nlink",
                     "st_rdev"):
            assert getattr(a, name) == getattr(b, name), (rel, name, a, b)
        if snap.method == "btrfs":                                  # a subvolume has a device number
            assert same_but_device(snap.lstat(dst), a), rel         # of its own
        else:
            assert snap.lstat(dst) == a, rel
            assert snap.lstat(os.fsencode(dst)) == a, rel          # the dump engine passes bytes
        if stat.S_ISREG(a.st_mode):
            assert src.read_bytes() == dst.read_bytes(), rel
            assert extents(src) == extents(dst), rel
            assert b.st_blocks <= a.st_blocks, rel                 # holes stayed holes
        if stat.S_ISLNK(a.st_mode):
            assert os.readlink(src) == os.readlink(dst), rel
        assert xattrs(src) == xattrs(dst), rel


@pytest.fixture
def volume(tmp_path: Path) -> Path:
    return make_volume(tmp_path / "vol")


# -- copy ---------------------------------------------------------------------------------------


def test_copy_keeps_everything_and_release_removes_it(volume: Path):
    assert filesystem_type(str(volume)) not in ("btrfs", "xfs"), "this test is about a copy"
    before, now = stats(volume), time.time()
    snap = create_snapshot(str(volume), "snapshot_for_backup.0")
    assert snap.method == "copy" and snap.name == "snapshot_for_backup.0"
    assert now <= snap.created <= time.time()
    assert snap.root == str(volume / ".snapshot" / "snapshot_for_backup.0")
    assert snap.warnings == []
    assert_same_tree(volume, snap, before)
    copy = Path(snap.root)
    # the copy has inodes of its own; lstat answers with the volume's
    for rel in ("dir/small", "linked", "dir", "fifo", "abs_link"):
        assert os.lstat(copy / rel).st_ino != os.lstat(volume / rel).st_ino
        assert snap.lstat(str(copy / rel)).st_ino == os.lstat(volume / rel).st_ino
        assert snap.lstat(str(copy / rel)).st_ctime_ns == os.lstat(volume / rel).st_ctime_ns
    # hard links stay hard links: one inode in the copy for the three names
    inodes = {os.lstat(copy / rel).st_ino for rel in ("linked", "dir/link2", "dir/sub/link3")}
    assert len(inodes) == 1 and os.lstat(copy / "linked").st_nlink == 3
    # holes: the sparse file's data runs are where they were, and take no more room
    assert extents(copy / "sparse") == [(1 * MiB, 1 * MiB + 4096), (5 * MiB, 5 * MiB + 8192)]
    assert extents(copy / "all_hole") == [] and os.lstat(copy / "all_hole").st_blocks == 0
    # ACLs are extended attributes and come along
    assert os.getxattr(copy / "dir" / "small", "system.posix_acl_access") == ACCESS_ACL
    assert os.getxattr(copy / "dir", "system.posix_acl_default") == DEFAULT_ACL
    # set-id bits survive the chown
    assert stat.S_IMODE(os.lstat(copy / "dir" / "sub" / "big").st_mode) == 0o4755
    assert stat.S_IMODE(os.lstat(copy / "dir" / "sub").st_mode) == 0o2750
    # nothing of .snapshot is in the snapshot
    assert not (copy / ".snapshot").exists()

    snap.release()
    assert not copy.exists() and snap.released
    snap.release()                                         # idempotent
    assert os.listdir(volume / ".snapshot") == []


def test_copy_of_a_subtree(volume: Path):
    before = stats(volume)
    with create_snapshot(str(volume), "sub", subtree="dir/sub") as snap:
        copy = Path(snap.root)
        assert walk(copy) == ["dir", "dir/sub", "dir/sub/big", "dir/sub/link3"]
        assert (copy / "dir/sub/big").read_bytes() == (volume / "dir/sub/big").read_bytes()
        for rel in ("", "dir", "dir/sub", "dir/sub/big"):
            assert snap.lstat(str(copy / rel)) == before[rel], rel
    assert not copy.exists()


def test_copy_of_a_subtree_that_is_a_file(volume: Path):
    with create_snapshot(str(volume), "one", subtree="./dir//small") as snap:
        assert walk(Path(snap.root)) == ["dir", "dir/small"]


@pytest.mark.parametrize("subtree, phrase", [
    ("../elsewhere", "not a path inside the volume"),
    ("dir/../../x", "not a path inside the volume"),
    (".snapshot/x", "holds snapshots"),
    ("no/such/dir", "No such file"),
    ("dir/small/x", "not a directory"),
])
def test_bad_subtree(volume: Path, subtree: str, phrase: str):
    with pytest.raises(SnapshotError) as info:
        create_snapshot(str(volume), "s", subtree=subtree)
    assert str(info.value) == CREATE_FAILED and phrase in info.value.reason
    assert not (volume / ".snapshot" / "s").exists()


def test_a_file_changed_while_copied_is_copied_again(volume: Path, monkeypatch):
    """A writer changes the file exactly while its data is being copied (the copy is
    wrapped to write into the source first): the re-stat sees it, the file is copied
    again, and the snapshot holds the new content with the stat it has now."""
    target = volume / "dir" / "small"
    real = os.copy_file_range
    changed = []

    def writer_in_the_middle(src, dst, count, offset_src=None, offset_dst=None):
        if not changed and os.fstat(src).st_ino == os.lstat(target).st_ino:
            changed.append(True)
            with open(target, "ab") as f:
                f.write(b"appended while copying\n")
        return real(src, dst, count, offset_src, offset_dst)

    monkeypatch.setattr(snapshot_module.os, "copy_file_range", writer_in_the_middle)
    with create_snapshot(str(volume), "s") as snap:
        copy = Path(snap.root) / "dir" / "small"
        assert changed
        assert copy.read_bytes() == b"hello\nappended while copying\n"
        assert snap.lstat(str(copy)) == os.lstat(target)
        assert snap.warnings == []


def test_a_file_that_never_holds_still_is_copied_a_few_times_then_logged(volume: Path, monkeypatch, caplog):
    target = volume / "dir" / "small"
    real = os.copy_file_range
    writes = []

    def always_changing(src, dst, count, offset_src=None, offset_dst=None):
        if os.fstat(src).st_ino == os.lstat(target).st_ino:
            writes.append(1)
            with open(target, "ab") as f:
                f.write(b"+")
        return real(src, dst, count, offset_src, offset_dst)

    monkeypatch.setattr(snapshot_module.os, "copy_file_range", always_changing)
    with create_snapshot(str(volume), "s") as snap:
        assert len(writes) == snapshot_module.COPY_TRIES
        assert len(snap.warnings) == 1 and "dir/small kept changing" in snap.warnings[0]
        assert "dir/small kept changing" in caplog.text


def test_copy_while_the_volume_changes(tmp_path: Path):
    """A thread creates, appends to, renames and deletes files all the time the copy runs:
    the snapshot is made, and every file in it that no warning names holds as many bytes
    as its recorded stat says."""
    volume = tmp_path / "busy"
    for d in range(20):
        (volume / f"d{d}").mkdir(parents=True)
        for f in range(50):
            (volume / f"d{d}" / f"f{f}").write_bytes(b"x" * (f * 100))
    stop = threading.Event()

    def churn() -> None:
        n = 0
        while not stop.is_set():
            d = volume / f"d{n % 20}"
            with open(d / f"f{n % 50}", "ab") as f:
                f.write(b"y" * 333)
            (d / f"new{n}").write_bytes(b"z" * n)
            if n % 3 == 0:
                os.replace(d / f"new{n}", d / f"f{(n * 7) % 50}")
            if n % 5 == 0 and (d / f"new{n - 5}").exists():
                os.unlink(d / f"new{n - 5}")
            n += 1

    thread = threading.Thread(target=churn)
    thread.start()
    try:
        with create_snapshot(str(volume), "busy") as snap:
            named = " ".join(snap.warnings)
            for rel in walk(Path(snap.root)):
                copy = Path(snap.root) / rel
                if copy.is_file() and rel not in named:
                    assert len(copy.read_bytes()) == snap.lstat(str(copy)).st_size, rel
    finally:
        stop.set()
        thread.join()


def test_an_abort_stops_the_copy_and_removes_it(volume: Path):
    class Stop(Exception):
        pass

    calls = []

    def check() -> None:
        calls.append(1)
        if len(calls) == 2:
            raise Stop()

    many = volume / "many"
    many.mkdir()
    for i in range(600):
        (many / str(i)).write_bytes(b"x")
    with pytest.raises(Stop):
        create_snapshot(str(volume), "aborted", check=check)
    assert os.listdir(volume / ".snapshot") == []


def test_no_room_for_a_copy(tmp_path: Path):
    try:
        context = mounted(tmp_path / "small", "tmpfs", 24 * MiB)
        mount_point = context.__enter__()
    except Unavailable as e:
        pytest.skip(f"no tmpfs mount here: {e}")
    try:
        vol = mount_point / "vol"
        vol.mkdir()
        (vol / "big").write_bytes(b"x" * (7 * MiB))           # 7 MiB + 7 MiB + margin > 24 MiB
        with pytest.raises(SnapshotError) as info:
            create_snapshot(str(vol), "s")
        assert str(info.value) == CREATE_FAILED
        assert "needs about 7.0 MiB" in info.value.reason and "free" in info.value.reason
        assert os.listdir(vol / ".snapshot") == []
    finally:
        context.__exit__(None, None, None)


def test_release_that_cannot_delete(volume: Path):
    FS_IOC_SETFLAGS, FS_IMMUTABLE_FL = 0x40086602, 0x10
    snap = create_snapshot(str(volume), "s")
    stuck = Path(snap.root) / "empty"

    def set_flags(flags: int) -> None:
        fd = os.open(stuck, os.O_RDONLY)
        try:
            fcntl.ioctl(fd, FS_IOC_SETFLAGS, bytearray(struct.pack("i", flags)))
        finally:
            os.close(fd)

    try:
        set_flags(FS_IMMUTABLE_FL)
    except OSError as e:
        snap.release()
        pytest.skip(f"cannot make a file immutable here: {e.strerror}")
    with pytest.raises(SnapshotError) as info:
        snap.release()
    assert str(info.value) == DELETE_FAILED and "Operation not permitted" in info.value.reason
    assert not snap.released and stuck.exists()
    set_flags(0)
    snap.release()                                          # and it can be tried again
    assert snap.released and not Path(snap.root).exists()


# -- create_snapshot refusals -------------------------------------------------------------


def test_create_refusals(volume: Path, tmp_path: Path):
    def refused(*args, **kw) -> str:
        with pytest.raises(SnapshotError) as info:
            create_snapshot(*args, **kw)
        assert str(info.value) == CREATE_FAILED
        return info.value.reason

    assert "not a snapshot method" in refused(str(volume), "s", method="zfs")
    assert "cannot be a snapshot name" in refused(str(volume), "a/b")
    assert "cannot be a snapshot name" in refused(str(volume), "..")
    assert "No such file" in refused(str(tmp_path / "missing"), "s")
    assert "not a directory" in refused(str(volume / "empty"), "s")
    assert "not the root of a btrfs subvolume" in refused(str(volume), "s", method="btrfs")
    assert "reflink" in refused(str(volume), "s", method="reflink")
    (volume / ".snapshot" / "taken").mkdir(parents=True)
    assert "already exists" in refused(str(volume), "taken")


def test_a_snapshot_directory_that_is_a_symlink_is_refused(volume: Path, tmp_path: Path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.symlink(elsewhere, volume / ".snapshot")
    with pytest.raises(SnapshotError) as info:
        create_snapshot(str(volume), "s")
    assert "not a directory of the volume" in info.value.reason
    assert os.listdir(elsewhere) == []


def test_probe_on_this_filesystem(volume: Path):
    assert probe_method(str(volume)) == "copy"
    assert probe_method(str(volume), "copy") == "copy"
    with pytest.raises(SnapshotError):
        probe_method(str(volume), "btrfs")
    before = os.lstat(volume)
    probe_method(str(volume), "auto")
    assert os.lstat(volume).st_mtime_ns == before.st_mtime_ns       # the probe leaves no trace
    assert ".snapshot" not in os.listdir(volume)


# -- names --------------------------------------------------------------------------------


def test_names_count_from_zero_per_process():
    names = SnapshotNames()
    assert [names.next() for _ in range(3)] == [f"snapshot_for_backup.{n}" for n in range(3)]
    assert SnapshotNames().next() == "snapshot_for_backup.0"         # a restarted daemon


def test_names_skip_snapshots_left_on_disk(tmp_path: Path):
    for n in (0, 1, 3):
        (tmp_path / ".snapshot" / f"snapshot_for_backup.{n}").mkdir(parents=True)
    names = SnapshotNames()
    assert [names.next(str(tmp_path)) for _ in range(3)] == [
        "snapshot_for_backup.2", "snapshot_for_backup.4", "snapshot_for_backup.5"]


def test_concurrent_backups_get_distinct_names():
    names = SnapshotNames()
    got: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def take() -> None:
        start.wait()
        mine = [names.next() for _ in range(200)]
        with lock:
            got.extend(mine)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got, key=lambda n: int(n.rsplit(".", 1)[1])) == [f"snapshot_for_backup.{n}" for n in range(1600)]


def test_concurrent_snapshots_of_one_volume(volume: Path):
    names = SnapshotNames()
    before = stats(volume)
    made: list = []
    errors: list = []

    def backup() -> None:
        try:
            made.append(create_snapshot(str(volume), names.next(str(volume))))
        except Exception as e:  # noqa: BLE001 - collected for the assertion
            errors.append(e)

    threads = [threading.Thread(target=backup) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(s.name for s in made) == [f"snapshot_for_backup.{n}" for n in range(3)]
    for snap in made:
        assert_same_tree(volume, snap, before)
        snap.release()
    assert os.listdir(volume / ".snapshot") == []


# -- existing snapshots -------------------------------------------------------------------


def test_open_an_existing_snapshot(volume: Path):
    nightly = volume / ".snapshot" / "nightly"
    shutil.copytree(volume / "dir", nightly, symlinks=True)       # as an operator may make one
    snap = open_snapshot(str(volume), "nightly")
    assert snap.method == "existing" and snap.root == str(nightly)
    assert snap.created <= os.lstat(nightly).st_ctime
    assert snap.lstat(str(nightly / "small")) == os.lstat(nightly / "small")
    snap.release()
    snap.release()
    assert (nightly / "small").read_bytes() == b"hello\n"         # never deleted


@pytest.mark.parametrize("name", ["missing", "..", "a/b", "", "afile", "alink"])
def test_open_refusals(volume: Path, name: str):
    (volume / ".snapshot").mkdir()
    (volume / ".snapshot" / "afile").write_bytes(b"")
    os.symlink(volume / "dir", volume / ".snapshot" / "alink")
    with pytest.raises(SnapshotError) as info:
        open_snapshot(str(volume), name)
    assert str(info.value) == LOCK_FAILED == "Unable to lock a snapshot needed by dump"
    assert info.value.reason
    if name == "missing":
        assert "there is no snapshot missing in" in info.value.reason
        assert info.value.detail.startswith(f"{LOCK_FAILED}: ")


# -- btrfs: subvolume snapshots and reflinks ------------------------------------------------


@pytest.fixture
def btrfs(tmp_path: Path):
    try:
        with mounted(tmp_path / "btrfs", "btrfs", 256 * MiB) as mount_point:
            yield mount_point
    except Unavailable as e:
        pytest.skip(f"no loop-mounted btrfs here: {e}")


def shared_extents(path: Path) -> bool:
    out = subprocess.run(["filefrag", "-v", str(path)], capture_output=True, text=True, check=True).stdout
    return "shared" in out


def test_btrfs_subvolume_snapshot(btrfs: Path):
    subprocess.run(["btrfs", "subvolume", "create", str(btrfs / "vol")], check=True, capture_output=True)
    volume = make_volume(btrfs / "vol")
    assert filesystem_type(str(volume)) == "btrfs"
    assert probe_method(str(volume)) == "btrfs"
    before = stats(volume)
    snap = create_snapshot(str(volume), "snapshot_for_backup.0")
    assert snap.method == "btrfs"
    copy = Path(snap.root)
    # the volume's own inode numbers and ctimes, straight from the filesystem
    assert_same_tree(volume, snap, before)
    assert os.lstat(copy / "dir" / "small").st_ino == os.lstat(volume / "dir" / "small").st_ino
    # read-only, and frozen: a change to the volume does not show
    with pytest.raises(OSError):
        (copy / "new").write_bytes(b"no")
    (volume / "dir" / "small").write_bytes(b"changed\n")
    assert (copy / "dir" / "small").read_bytes() == b"hello\n"
    snap.release()
    snap.release()
    assert os.listdir(volume / ".snapshot") == []


def test_btrfs_forced_methods(btrfs: Path):
    subprocess.run(["btrfs", "subvolume", "create", str(btrfs / "vol")], check=True, capture_output=True)
    volume = make_volume(btrfs / "vol")
    before = stats(volume)
    for method in ("btrfs", "reflink", "copy"):
        with create_snapshot(str(volume), method, method=method) as snap:
            assert snap.method == method
            assert_same_tree(volume, snap, before)


def test_reflink_below_a_subvolume(btrfs: Path):
    volume = make_volume(btrfs / "plain" / "dir")          # not a subvolume's root
    assert probe_method(str(volume)) == "reflink"
    with pytest.raises(SnapshotError):
        create_snapshot(str(volume), "s", method="btrfs")
    before = stats(volume)
    snap = create_snapshot(str(volume), "snapshot_for_backup.0")
    assert snap.method == "reflink"
    assert_same_tree(volume, snap, before)
    big = Path(snap.root) / "dir" / "sub" / "big"
    assert shared_extents(big)                              # cloned, not copied
    assert snap.lstat(str(big)).st_ino == os.lstat(volume / "dir" / "sub" / "big").st_ino
    snap.release()
    assert not Path(snap.root).exists()
