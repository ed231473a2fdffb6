"""The dump restore engine: whole and selective restores, renames, direct access
recovery by fh_info (counting what it asks the mover for), LIST and NOWRITE, the file
history of an image, and hostile images that must never write outside the destination."""
from __future__ import annotations

import os
import random
import shutil
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ndmp_dump_harness import (
    INFINITY,
    Lab,
    backup,
    fh_names,
    fh_nodes,
    make_context,
    name,
    recover,
)
from support.linux_dump import linux_dump_of
from support.trees import make_tree, tree_differences

from images.dump import DumpLabel, DumpWriter, InodeInfo, InodeMap
from ndmp.constants import MessageCode as M
from ndmp.constants import RecoveryStatus
from ndmp.dump.engine import DumpEngine
from ndmp.engine import EngineError, Refusal


@pytest.fixture
def lab(tmp_path: Path) -> Lab:
    for d in ("vol", "dest"):
        (tmp_path / d).mkdir()
    lab = Lab(DumpEngine(), make_context({"/vs1/vol1": tmp_path / "vol", "/vs1/dest": tmp_path / "dest"},
                                         tmp_path / "log"))
    lab.tmp = tmp_path              # type: ignore[attr-defined]
    return lab


def log_files(lab: Lab) -> list[tuple[str, RecoveryStatus]]:
    return [(b.name, b.recovery_status) for c, b in lab.posts if c == M.NDMP_LOG_FILE]


def test_whole_restore_gives_the_same_tree(lab: Lab) -> None:
    src = make_tree(lab.tmp / "vol" / "src")                      # type: ignore[attr-defined]
    image, _ = backup(lab, [("FILESYSTEM", "/vs1/vol1/src")])
    reads = recover(lab, image, [("PREFIX", "/vs1/dest/r")])
    assert reads == [(0, INFINITY)]
    assert tree_differences(src, lab.tmp / "dest" / "r") == []    # type: ignore[attr-defined]
    assert log_files(lab) == [("/", RecoveryStatus.NDMP_RECOVERY_SUCCESSFUL)]


def test_restore_overwrites_files_but_not_directories(lab: Lab) -> None:
    src = lab.tmp / "vol" / "src"                                 # type: ignore[attr-defined]
    (src / "d").mkdir(parents=True)
    (src / "d" / "f").write_bytes(b"from tape")
    image, _ = backup(lab, [("FILESYSTEM", "/vs1/vol1/src")])
    dest = lab.tmp / "dest" / "r"                                 # type: ignore[attr-defined]
    (dest / "d").mkdir(parents=True)
    os.chmod(dest / "d", 0o700)
    (dest / "d" / "f").write_bytes(b"local")
    (dest / "d" / "other").write_bytes(b"kept")
    recover(lab, image, [("PREFIX", "/vs1/dest/r")])
    assert (dest / "d" / "f").read_bytes() == b"from tape"
    assert (dest / "d" / "other").read_bytes() == b"kept"
    assert stat.S_IMODE(os.stat(dest / "d").st_mode) == 0o700


def test_extract_named_subtrees_and_rename(lab: Lab) -> None:
    src = make_tree(lab.tmp / "vol" / "src", acl=False)           # type: ignore[attr-defined]
    image, _ = backup(lab, [("FILESYSTEM", "/vs1/vol1/src")])
    env = [("FILESYSTEM", "/vs1/vol1/src"), ("EXTRACT", "Y")]
    recover(lab, image, env, [name("/vs1/vol1/src/dir", "/vs1/dest/x"), name("small.txt", "/vs1/dest/x"),
                              name("nothere", "/vs1/dest/x")])
    dest = lab.tmp / "dest" / "x"                                 # type: ignore[attr-defined]
    assert tree_differences(src / "dir", dest / "dir") == []
    assert (dest / "small.txt").read_bytes() == b"hello dump\n"
    assert log_files(lab) == [("/vs1/vol1/src/dir", RecoveryStatus.NDMP_RECOVERY_SUCCESSFUL),
                              ("small.txt", RecoveryStatus.NDMP_RECOVERY_SUCCESSFUL),
                              ("nothere", RecoveryStatus.NDMP_RECOVERY_FAILED_NOT_FOUND)]
    recover(lab, image, [("EXTRACT", "E")], [name("dir/sub", "/vs1/dest/renamed")])
    assert tree_differences(src / "dir" / "sub", lab.tmp / "dest" / "renamed") == []   # type: ignore[attr-defined]


def test_direct_access_recovery_reads_only_the_file(lab: Lab) -> None:
    root = lab.tmp / "vol" / "src"                                # type: ignore[attr-defined]
    root.mkdir()
    rng = random.Random(7)
    for i in range(40):
        (root / f"f{i:02d}").write_bytes(rng.randbytes(256 * 1024))
    (root / "wanted").write_bytes(b"W" * 300_000)
    image, _ = backup(lab, [("FILESYSTEM", "/vs1/vol1/src"), ("HIST", "Y")])
    node = fh_names(lab)[b"wanted"][0]
    offset = fh_nodes(lab)[node]
    reads = recover(lab, image, [("DIRECT", "Y")], [name("/wanted", "/vs1/dest/got", offset, node)])
    assert (lab.tmp / "dest" / "got").read_bytes() == b"W" * 300_000      # type: ignore[attr-defined]
    asked = sum(length for _, length in reads)
    assert reads[0] == (offset, 1024)
    assert asked < 300_000 + 8 * 1024 < len(image) // 20, reads
    assert log_files(lab) == [("/wanted", RecoveryStatus.NDMP_RECOVERY_SUCCESSFUL)]


def test_directory_dar_needs_enhanced_dar(lab: Lab) -> None:
    root = lab.tmp / "vol" / "src"                                # type: ignore[attr-defined]
    (root / "d" / "e").mkdir(parents=True)
    (root / "d" / "e" / "f").write_bytes(b"deep")
    (root / "g").write_bytes(b"other")
    image, _ = backup(lab, [("FILESYSTEM", "/vs1/vol1/src"), ("HIST", "Y")])
    node = fh_names(lab)[b"d"][0]
    offset = fh_nodes(lab)[node]
    recover(lab, image, [("DIRECT", "Y")], [name("/d", "/vs1/dest/d", offset, node)])
    assert log_files(lab)[0][1] != RecoveryStatus.NDMP_RECOVERY_SUCCESSFUL
    assert any("No files were created" in text for _, text in lab.logs)
    assert not (lab.tmp / "dest" / "d").exists()                  # type: ignore[attr-defined]
    recover(lab, image, [("DIRECT", "Y"), ("ENHANCED_DAR_ENABLED", "Y")], [name("/d", "/vs1/dest/d", offset, node)])
    assert (lab.tmp / "dest" / "d" / "e" / "f").read_bytes() == b"deep"   # type: ignore[attr-defined]
    assert not (lab.tmp / "dest" / "g").exists()                  # type: ignore[attr-defined]


def _path_tree(lab: Lab) -> Path:
    root = lab.tmp / "vol" / "src"                                # type: ignore[attr-defined]
    (root / "d" / "e").mkdir(parents=True)
    (root / "d" / "e" / "f").write_bytes(b"deep")
    os.chmod(root / "d", 0o751)
    os.chmod(root / "d" / "e", 0o705)
    os.utime(root / "d", ns=(1_600_000_000_000_000_000, 1_600_000_000_123_456_000))
    os.utime(root / "d" / "e", ns=(1_500_000_000_000_000_000, 1_500_000_000_654_321_000))
    return root


def test_recover_full_paths_gives_created_directories_their_attributes(lab: Lab) -> None:
    src = _path_tree(lab)
    image, _ = backup(lab, [("FILESYSTEM", "/vs1/vol1/src"), ("HIST", "Y")])
    node = fh_names(lab)[b"f"][0]
    offset = fh_nodes(lab)[node]
    dest = lab.tmp / "dest"                                       # type: ignore[attr-defined]

    # Without RECOVER_FULL_PATHS the directories on the way are only made.
    recover(lab, image, [("DIRECT", "Y")], [name("/d/e/f", "/vs1/dest/plain/d/e/f", offset, node)])
    assert (dest / "plain" / "d" / "e" / "f").read_bytes() == b"deep"
    assert stat.S_IMODE(os.stat(dest / "plain" / "d").st_mode) == 0o700

    # With it, each directory the restore created gets the image's, after the file;
    # "d" already exists at the destination and keeps its own.
    (dest / "full" / "d").mkdir(parents=True)
    os.chmod(dest / "full" / "d", 0o700)
    env = [("DIRECT", "Y"), ("ENHANCED_DAR_ENABLED", "Y"), ("RECOVER_FULL_PATHS", "Y")]
    reads = recover(lab, image, env, [name("/d/e/f", "/vs1/dest/full/d/e/f", offset, node)])
    assert reads[0] == (offset, 1024) and reads[-1] == (0, INFINITY)
    assert (dest / "full" / "d" / "e" / "f").read_bytes() == b"deep"
    assert stat.S_IMODE(os.stat(dest / "full" / "d").st_mode) == 0o700
    e = os.stat(dest / "full" / "d" / "e")
    assert stat.S_IMODE(e.st_mode) == 0o705
    assert e.st_mtime_ns == os.stat(src / "d" / "e").st_mtime_ns
    assert log_files(lab) == [("/d/e/f", RecoveryStatus.NDMP_RECOVERY_SUCCESSFUL)]

    # The whole path when none of it exists.
    recover(lab, image, env, [name("/d/e/f", "/vs1/dest/d/e/f", offset, node)])
    for rel, mode in (("d", 0o751), ("d/e", 0o705)):
        got = os.stat(dest / rel)
        assert stat.S_IMODE(got.st_mode) == mode, rel
        assert got.st_mtime_ns == os.stat(src / rel).st_mtime_ns, rel


def test_recursive_n_restores_the_path_not_the_contents(lab: Lab) -> None:
    src = _path_tree(lab)
    image, _ = backup(lab, [("FILESYSTEM", "/vs1/vol1/src"), ("HIST", "Y")])
    node = fh_names(lab)[b"e"][0]
    offset = fh_nodes(lab)[node]
    env = [("DIRECT", "Y"), ("ENHANCED_DAR_ENABLED", "Y"), ("RECURSIVE", "N")]
    recover(lab, image, env, [name("/d/e", "/vs1/dest/d/e", offset, node)])
    dest = lab.tmp / "dest"                                       # type: ignore[attr-defined]
    assert os.listdir(dest / "d" / "e") == []
    for rel, mode in (("d", 0o751), ("d/e", 0o705)):
        got = os.stat(dest / rel)
        assert stat.S_IMODE(got.st_mode) == mode, rel
        assert got.st_mtime_ns == os.stat(src / rel).st_mtime_ns, rel


def test_list_and_nowrite_write_nothing(lab: Lab) -> None:
    make_tree(lab.tmp / "vol" / "src", acl=False)                 # type: ignore[attr-defined]
    image, _ = backup(lab, [("FILESYSTEM", "/vs1/vol1/src")])
    recover(lab, image, [("PREFIX", "/vs1/dest/l"), ("LIST", "Y")])
    assert any(text.endswith("/dir/sub/big.bin") for _, text in lab.logs)
    recover(lab, image, [("PREFIX", "/vs1/dest/n"), ("NOWRITE", "Y")])
    assert not (lab.tmp / "dest" / "l").exists() and not (lab.tmp / "dest" / "n").exists()  # type: ignore[attr-defined]


def test_recover_filehist_describes_the_image(lab: Lab) -> None:
    make_tree(lab.tmp / "vol" / "src", acl=False)                 # type: ignore[attr-defined]
    image, _ = backup(lab, [("FILESYSTEM", "/vs1/vol1/src"), ("HIST", "Y")])
    at_backup = (fh_names(lab), fh_nodes(lab))
    recover(lab, image, [], kind="recover_filehist")
    assert (fh_names(lab), fh_nodes(lab)) == at_backup


def test_refusals(lab: Lab) -> None:
    with pytest.raises(Refusal, match="Nothing to restore"):
        recover(lab, b"", [])
    with pytest.raises(Refusal, match="vs9"):
        recover(lab, b"", [("PREFIX", "/vs9/x")])
    with pytest.raises(Refusal, match="snapshot"):
        recover(lab, b"", [("PREFIX", "/vs1/dest/.snapshot/x")])


# ---------------------------------------------------------------------- hostile images

def _inode(ino: int, mode: int, size: int = 0) -> InodeInfo:
    return InodeInfo(ino=ino, mode=mode, nlink=1, uid=0, gid=0, size=size, atime_ns=0, mtime_ns=0, ctime_ns=0)


def hostile_image(dir_entries: list[tuple[bytes, int, int]], files: dict[int, tuple[int, bytes]]) -> bytes:
    """An image whose root directory lists ``dir_entries`` (after "." and ".."); ``files``
    maps inodes to (mode, content: data, or a symlink target)."""
    out = bytearray()
    maxino = max([3, *files, *(e[1] for e in dir_entries)]) + 1
    w = DumpWriter(out.extend, DumpLabel(date=1, ddate=0, level=0), maxino)
    used, dumped = InodeMap(maxino), InodeMap(maxino)
    for ino in (2, *files, *(e[1] for e in dir_entries)):
        used.add(ino)
        dumped.add(ino)
    w.write_label()
    w.write_maps(used, dumped)
    subdirs = {ino for _, ino, t in dir_entries if t == 4 and ino not in files}
    w.write_directory(_inode(2, stat.S_IFDIR | 0o755), [(b".", 2, 4), (b"..", 2, 4), *dir_entries])
    for ino in sorted(subdirs):
        w.write_directory(_inode(ino, stat.S_IFDIR | 0o755), [(b".", ino, 4), (b"..", 2, 4),
                                                               (b"escape", max(files), 8)])
    for ino in sorted(files):
        mode, body = files[ino]
        if stat.S_ISLNK(mode):
            w.write_symlink(_inode(ino, mode, len(body)), body)
        else:
            fd = os.memfd_create("hostile")
            os.write(fd, body)
            try:
                w.write_file(_inode(ino, mode, len(body)), fd)
            finally:
                os.close(fd)
    w.write_end()
    return bytes(out)


def outside_untouched(tmp: Path, before: set[Path]) -> None:
    now = {p for p in tmp.rglob("*") if "dest" not in p.relative_to(tmp).parts[:1]}
    assert now == before, now - before


def test_dot_dot_and_slashes_in_names_stay_inside(lab: Lab) -> None:
    tmp = lab.tmp                                                  # type: ignore[attr-defined]
    before = {p for p in tmp.rglob("*") if "dest" not in p.relative_to(tmp).parts[:1]}
    image = bytearray(hostile_image([(b"..", 5, 8), (b"okfile", 6, 8), (b"aXXb", 7, 8)],
                                    {5: (stat.S_IFREG | 0o644, b"evil"), 6: (stat.S_IFREG | 0o644, b"fine"),
                                     7: (stat.S_IFREG | 0o644, b"slash")}))
    at = bytes(image).index(b"aXXb")
    image[at:at + 4] = b"../b"                                      # a name with a slash: unchecked bytes
    recover(lab, bytes(image), [("PREFIX", "/vs1/dest/r")])
    assert (tmp / "dest" / "r" / "okfile").read_bytes() == b"fine"
    assert sorted(os.listdir(tmp / "dest" / "r")) == ["okfile"]
    outside_untouched(tmp, before)
    assert any("unsafe name" in text for _, text in lab.logs)


def test_planted_and_restored_symlinks_are_never_followed(lab: Lab) -> None:
    tmp = lab.tmp                                                  # type: ignore[attr-defined]
    victim = tmp / "victim"
    victim.mkdir()
    (victim / "keep").write_bytes(b"precious")
    dest = tmp / "dest" / "r"
    dest.mkdir()
    os.symlink(victim, dest / "sub")                               # planted before the restore
    os.symlink(victim / "keep", dest / "file")
    image = hostile_image([(b"sub", 3, 4), (b"file", 6, 8), (b"lnk", 7, 10)],
                          {6: (stat.S_IFREG | 0o644, b"new"), 7: (stat.S_IFLNK | 0o777, str(victim).encode()),
                           8: (stat.S_IFREG | 0o644, b"through")})
    before = {p for p in tmp.rglob("*") if "dest" not in p.relative_to(tmp).parts[:1]}
    recover(lab, image, [("PREFIX", "/vs1/dest/r")])
    assert (victim / "keep").read_bytes() == b"precious" and sorted(os.listdir(victim)) == ["keep"]
    assert (dest / "sub").is_dir() and not (dest / "sub").is_symlink()
    assert (dest / "file").read_bytes() == b"new" and not (dest / "file").is_symlink()
    assert os.readlink(dest / "lnk") == str(victim)
    outside_untouched(tmp, before)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_fuzzed_images_never_crash_or_escape(lab: Lab, data: st.DataObject) -> None:
    tmp = lab.tmp                                                  # type: ignore[attr-defined]
    base = getattr(lab, "fuzz_base", None)
    if base is None:
        base = hostile_image([(b"a", 5, 8), (b"d", 3, 4), (b"s", 6, 10)],
                             {5: (stat.S_IFREG | 0o644, b"x" * 3000), 6: (stat.S_IFLNK | 0o777, b"../../etc"),
                              7: (stat.S_IFREG | 0o600, b"y")})
        lab.fuzz_base = base                                       # type: ignore[attr-defined]
    image = bytearray(base)
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(image) - 1))
        image[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(image)))
    before = {p for p in tmp.rglob("*") if "dest" not in p.relative_to(tmp).parts[:1]}
    shutil.rmtree(tmp / "dest", ignore_errors=True)
    (tmp / "dest").mkdir()
    try:
        recover(lab, bytes(image[:cut]), [("PREFIX", "/vs1/dest/r")])
    except EngineError:
        pass
    outside_untouched(tmp, before)


# ---------------------------------------------------------------------- Linux dump's images

def test_our_restore_of_a_linux_dump_image_of_ext4(lab: Lab) -> None:
    """Linux dump of an ext4 filesystem made from a tree; our restore gives the tree back
    (to the second: Linux dump writes no microseconds)."""
    tmp = lab.tmp                                                   # type: ignore[attr-defined]
    src = make_tree(tmp / "src")
    image = linux_dump_of(src, tmp)
    recover(lab, image, [("PREFIX", "/vs1/dest/ext4")])
    restored = tmp / "dest" / "ext4"
    shutil.rmtree(restored / "lost+found")
    assert tree_differences(src, restored, resolution_ns=10**9) == []    # Linux dump keeps whole seconds
