"""The dump backup engine, driven as the DATA service drives it: levels and the seed's
increment chain, file history and its offsets, EXCLUDE, subtrees, snapshots, the event
log, and images that Linux restore reads back."""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from ndmp_dump_harness import Lab, backup, fh_names, fh_nodes, make_context
from support.trees import make_tree, tree_differences

from images.dump import DumpReader, End, Inode, Maps
from ndmp.constants import MessageCode as M
from ndmp.dump.dumpdates import DumpDates
from ndmp.dump.engine import DumpEngine
from ndmp.dump.options import join_dump_date, split_base_date
from ndmp.engine import EngineError, Refusal
from ndmp.event_log import read_events

T0 = 1_750_000_000


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def lab(tmp_path: Path) -> Lab:
    (tmp_path / "vol").mkdir()
    clock = Clock()
    engine = DumpEngine(DumpDates(tmp_path / "dumpdates"), clock=clock)
    lab = Lab(engine, make_context({"/vs1/vol1": tmp_path / "vol"}, tmp_path / "log"))
    lab.clock = clock          # type: ignore[attr-defined]
    lab.root = tmp_path / "vol"  # type: ignore[attr-defined]
    lab.log_dir = tmp_path / "log"  # type: ignore[attr-defined]
    return lab


def _reader(image: bytes, start: int = 0) -> DumpReader:
    view = memoryview(image)[start:]
    pos = 0

    def readinto(buf: memoryview) -> int:
        nonlocal pos
        n = min(len(buf), len(view) - pos)
        buf[:n] = view[pos:pos + n]
        pos += n
        return n
    return DumpReader(readinto, start_offset=start)


LISTINGS: dict[int, list] = {}


def records(image: bytes) -> list:
    """Every record; the entries of directories are read on the way (``LISTINGS``)."""
    out = []
    LISTINGS.clear()
    for rec in _reader(image):
        if isinstance(rec, Inode) and stat.S_ISDIR(rec.inode.mode):
            LISTINGS[rec.inode.ino] = rec.entries()
        out.append(rec)
    return out


def dumped_names(image: bytes) -> set[str]:
    """The names (paths from the root) of the non-directory inodes the image holds."""
    recs = records(image)
    dirs = dict(LISTINGS)
    files = {r.inode.ino for r in recs if isinstance(r, Inode) and not stat.S_ISDIR(r.inode.mode)}
    names = set()

    def walk(ino: int, prefix: str) -> None:
        for name, child, _ in dirs.get(ino, ()):
            if name in (b".", b".."):
                continue
            path = prefix + "/" + os.fsdecode(name)
            if child in files:
                names.add(path)
            walk(child, path)
    walk(2, "")
    return names


def new_file(root: Path, name: str, when: int) -> None:
    p = root / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(name.encode() * 10)
    os.utime(p, (when, when))


def test_the_seeds_increment_chain(lab: Lab) -> None:
    """Levels 0, 2, 3, 1, 4: each backs up exactly what the seed's table says."""
    root, clock = lab.root, lab.clock                          # type: ignore[attr-defined]
    env = [("FILESYSTEM", "/vs1/vol1"), ("UPDATE", "Y"), ("IGNORE_CTIME", "Y")]
    new_file(root, "a", T0 + 50)
    new_file(root, "d1/a2", T0 + 60)
    expected = {0: {"/a", "/d1/a2"}, 2: {"/b"}, 3: {"/c"}, 1: {"/b", "/c", "/d1/d"}, 4: {"/e"}}
    made = {2: "b", 3: "c", 1: "d1/d", 4: "e"}
    for step, level in enumerate((0, 2, 3, 1, 4)):
        if level in made:
            new_file(root, made[level], T0 + step * 100 + 50)
        clock.now = T0 + step * 100 + 100
        image, _ = backup(lab, env + [("LEVEL", str(level))])
        assert dumped_names(image) == expected[level], level
        label = records(image)
        assert isinstance(label[0], Maps)
    entries = {(d.level, d.when) for d in lab.engine.dumpdates.entries()}   # type: ignore[union-attr]
    assert entries == {(0, T0 + 100), (2, T0 + 200), (3, T0 + 300), (1, T0 + 400), (4, T0 + 500)}


def test_incremental_dump_date_matches_its_base_for_linux_restore(lab: Lab) -> None:
    """c_ddate of a level 1 is its base's c_date, which ``restore -r`` checks."""
    root, clock = lab.root, lab.clock                          # type: ignore[attr-defined]
    new_file(root, "a", T0 - 10)
    clock.now = T0
    image0, _ = backup(lab, [("FILESYSTEM", "/vs1/vol1")])
    clock.now = T0 + 100
    new_file(root, "b", T0 + 50)
    image1, _ = backup(lab, [("FILESYSTEM", "/vs1/vol1"), ("LEVEL", "1"), ("IGNORE_CTIME", "Y")])
    assert dumped_names(image1) == {"/b"}
    if not shutil.which("restore"):
        pytest.skip("restore not found (apt-get install dump): the chain is not checked with Linux restore")
    out = lab.root.parent / "restored"                         # type: ignore[attr-defined]
    out.mkdir()
    for image in (image0, image1):
        f = out.parent / "img"
        f.write_bytes(image)
        subprocess.run(["restore", "-r", "-y", "-f", str(f)], cwd=out, check=True, capture_output=True,
                       stdin=subprocess.DEVNULL, timeout=60)
    assert sorted(p.name for p in out.iterdir() if p.name != "restoresymtable") == ["a", "b"]


def test_base_date_and_dump_date(lab: Lab) -> None:
    root, clock = lab.root, lab.clock                          # type: ignore[attr-defined]
    new_file(root, "old", T0 - 100)
    clock.now = T0
    _, out = backup(lab, [("FILESYSTEM", "/vs1/vol1"), ("BASE_DATE", "0")])
    dump_date = int(dict(out)["DUMP_DATE"])
    assert split_base_date(dump_date) == (0, T0)
    new_file(root, "new", T0 + 10)
    clock.now = T0 + 100
    image, out = backup(lab, [("FILESYSTEM", "/vs1/vol1"), ("BASE_DATE", str(dump_date)), ("IGNORE_CTIME", "Y")])
    assert dumped_names(image) == {"/new"}
    assert split_base_date(int(dict(out)["DUMP_DATE"])) == (1, T0 + 100)
    assert not lab.engine.dumpdates.entries()                  # type: ignore[union-attr]
    assert join_dump_date(1, T0 + 100) == int(dict(out)["DUMP_DATE"])


def test_linux_restore_reads_a_full_backup(lab: Lab, tmp_path: Path) -> None:
    if not shutil.which("restore"):
        pytest.skip("restore not found (apt-get install dump): images are not checked with Linux restore")
    src = make_tree(lab.root / "tree")                         # type: ignore[attr-defined]
    image, _ = backup(lab, [("FILESYSTEM", "/vs1/vol1/tree")])
    f = tmp_path / "image"
    f.write_bytes(image)
    listing = subprocess.run(["restore", "-t", "-f", str(f)], capture_output=True, text=True, check=True,
                             errors="surrogateescape", stdin=subprocess.DEVNULL, timeout=60).stdout
    for name in ("./small.txt", "./dir/sub/big.bin", "./sparse", "./fifo", "./link"):
        assert name in listing, listing
    out = tmp_path / "out"
    out.mkdir()
    subprocess.run(["restore", "-r", "-y", "-f", str(f)], cwd=out, check=True, capture_output=True,
                   stdin=subprocess.DEVNULL, timeout=60)
    assert tree_differences(src, out) == []


def test_file_history_offsets_point_at_each_header(lab: Lab) -> None:
    make_tree(lab.root / "tree", acl=False)                    # type: ignore[attr-defined]
    image, out = backup(lab, [("FILESYSTEM", "/vs1/vol1/tree"), ("HIST", "Y")])
    dirs = [body.dirs for code, body in lab.posts if code == M.NDMP_FH_ADD_DIR]
    first = dirs[0][:2]
    assert [(d.name[0].unix_name, d.node, d.parent) for d in first] == [(b".", 2, 2), (b"..", 2, 2)]
    nodes = fh_nodes(lab)
    names = fh_names(lab)
    inodes = {r.inode.ino: r for r in records(image) if isinstance(r, Inode)}
    assert set(nodes) == set(inodes)
    for ino, offset in nodes.items():
        assert inodes[ino].offset == offset
        first_rec = next(iter(_reader(image, offset)))
        assert first_rec.inode.ino == ino
    assert names[b"big.bin"][0] in nodes
    env = dict(out)
    end = next(r for r in records(image) if isinstance(r, End))
    assert int(env["ACL_START"]) == end.offset


def test_exclude_traverses_and_leaves_names_out(lab: Lab) -> None:
    root = lab.root                                            # type: ignore[attr-defined]
    for n in ("keep.c", "drop.o", "tmp/x", "cache-dir/y", "sub/also.o"):
        new_file(root, n, T0)
    image, _ = backup(lab, [("FILESYSTEM", "/vs1/vol1"), ("EXCLUDE", "*.o,tmp,cache*")])
    assert dumped_names(image) == {"/keep.c"}
    assert any("directory traversal" in text for _, text in lab.logs)
    with pytest.raises(Refusal, match="asterisk"):
        backup(lab, [("FILESYSTEM", "/vs1/vol1"), ("EXCLUDE", "a*b")])


def test_multiple_subtrees(lab: Lab) -> None:
    root = lab.root                                            # type: ignore[attr-defined]
    for n in ("a/1", "b/c/2", "b/d/3", "e/4"):
        new_file(root, n, T0)
    image, out = backup(lab, [("FILESYSTEM", "/vs1/vol1"), ("MULTI_SUBTREE_NAMES", "a\nb/c\n/vs1/vol1\0"),
                              ("DMP_NAME", "two")])
    assert dumped_names(image) == {"/a/1", "/b/c/2"}
    assert ("DMP_NAME", "two") in out


def test_snapshot_created_logged_and_removed(lab: Lab) -> None:
    new_file(lab.root, "f", T0)                                # type: ignore[attr-defined]
    backup(lab, [("FILESYSTEM", "/vs1/vol1")])
    assert not list((lab.root / ".snapshot").glob("snapshot_for_backup.*"))   # type: ignore[attr-defined]
    events = [(e.event, e.info) for e in read_events(lab.log_dir / "backup") if e.kind == "dmp"]  # type: ignore[attr-defined]
    kinds = [e for e, _ in events]
    assert kinds[:3] == ["Start", "Options", "Snapshot"] and kinds[-1] == "End"
    phases = [i for e, i in events if e == "Phase-change"]
    assert phases == ["I", "II", "III", "IIIa", "IV", "V"]
    snap = next(i for e, i in events if e == "Snapshot")
    assert snap.startswith("snapshot_for_backup.") and snap.endswith(("copy", "reflink", "btrfs"))


def test_backup_from_a_named_snapshot_does_not_make_one(lab: Lab) -> None:
    root = lab.root                                            # type: ignore[attr-defined]
    (root / ".snapshot" / "nightly" / "dir").mkdir(parents=True)
    new_file(root / ".snapshot" / "nightly", "dir/frozen", T0)
    new_file(root, "dir/live", T0)
    image, _ = backup(lab, [("FILESYSTEM", "/vs1/vol1/.snapshot/nightly/dir")])
    assert dumped_names(image) == {"/frozen"}
    assert (root / ".snapshot" / "nightly").is_dir()
    with pytest.raises(EngineError, match="Unable to lock a snapshot needed by dump"):
        backup(lab, [("FILESYSTEM", "/vs1/vol1/.snapshot/gone")])


def test_refusals_name_the_problem(lab: Lab) -> None:
    with pytest.raises(Refusal, match="LEVEL"):
        backup(lab, [("FILESYSTEM", "/vs1/vol1"), ("LEVEL", "32")])
    with pytest.raises(Refusal, match="vol9"):
        backup(lab, [("FILESYSTEM", "/vs1/vol9")])
    with pytest.raises(Refusal, match="not a directory"):
        backup(lab, [("FILESYSTEM", "/vs1/vol1/missing")])


def test_a_dumpdates_file_that_cannot_be_written_costs_the_next_base_not_the_backup(lab: Lab) -> None:
    import errno
    new_file(lab.root, "f", T0)                                # type: ignore[attr-defined]
    backup(lab, [("FILESYSTEM", "/vs1/vol1"), ("LEVEL", "0")])
    dumpdates = lab.engine.dumpdates                           # type: ignore[union-attr]
    before = dumpdates.path.read_bytes()
    real = dumpdates.record

    def full(*args) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    dumpdates.record = full                                    # type: ignore[method-assign]
    try:
        lab.clock.now = T0 + 100                               # type: ignore[attr-defined]
        image, env = backup(lab, [("FILESYSTEM", "/vs1/vol1"), ("LEVEL", "1")])
    finally:
        dumpdates.record = real                                # type: ignore[method-assign]
    assert dict(env)["LEVEL"] == "1" and "f" not in dumped_names(image)   # the image is whole
    assert dumpdates.path.read_bytes() == before
    assert [t for lv, t in lab.logs if lv == "warning"] == [
        f"DUMP: the dump date of /vs1/vol1 level 1 could not be recorded in {dumpdates.path} (No space left "
        "on device); a later incremental will take its base from the entries before it"]
    events = [e.event for e in read_events(lab.log_dir / "backup") if e.kind == "dmp"]  # type: ignore[attr-defined]
    assert events[-2:] == ["Error", "End"]
