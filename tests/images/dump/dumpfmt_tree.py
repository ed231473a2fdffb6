"""A tree with everything a dump carries, and a minimal walk that dumps a real
directory through DumpWriter (the real engine, with snapshots and policy, lives
in ndmp/dump; this one only feeds the format the calls it expects).

Inode numbers are assigned in walk order with the root as ROOTINO, so that
Linux restore sees what it needs: directories first, each pass in ascending
inode order.
"""
from __future__ import annotations

import array
import fcntl
import os
import shutil
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from images.dump import (
    DT_BLK,
    DT_CHR,
    DT_DIR,
    DT_FIFO,
    DT_LNK,
    DT_REG,
    DT_SOCK,
    DT_UNKNOWN,
    ROOTINO,
    DumpLabel,
    DumpWriter,
    InodeInfo,
    InodeMap,
)

ACL_TOOLS = shutil.which("setfacl") is not None and shutil.which("getfacl") is not None
IS_ROOT = os.geteuid() == 0
T0 = 1_700_000_000
SPARSE_SIZE = 8 << 20
ACL_USER = 1234
FS_IOC_GETFLAGS = 0x80086601


def make_tree(root: Path) -> Path:
    """Regular files of telling sizes, a sparse 8 MiB file, hard links, symlinks, a fifo,
    a char device (root only), odd names and modes, owners, user xattrs and POSIX ACLs."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "dir" / "sub").mkdir(parents=True)
    (root / "empty").mkdir()
    (root / "small.txt").write_bytes(b"hello dump\n")
    (root / "zero").write_bytes(b"")
    (root / "dir" / "one-block").write_bytes(bytes(range(256)) * 4)
    (root / "dir" / "exact4k").write_bytes(os.urandom(4096))
    (root / "dir" / "sub" / "big.bin").write_bytes(os.urandom(700 * 1024 + 77))   # two headers' worth
    with open(root / "sparse", "wb") as f:
        f.truncate(SPARSE_SIZE)
        f.seek(1 << 20)
        f.write(b"A" * 5000)
        f.seek(6 << 20)
        f.write(b"B" * 3000)
    os.link(root / "small.txt", root / "dir" / "hard")
    os.symlink("small.txt", root / "link")
    os.symlink("../" + "x" * 200, root / "dir" / "longlink")
    os.mkfifo(root / "fifo", 0o640)
    if IS_ROOT:
        os.mknod(root / "chardev", 0o600 | stat.S_IFCHR, os.makedev(4, 5))
    (root / "sp ace").write_bytes(b"space\n")
    with open(os.path.join(os.fsencode(root), b"caf\xe9"), "wb") as f:
        f.write(b"latin-1 name\n")
    if IS_ROOT:
        os.chown(root / "dir" / "one-block", 1234, 5678)
        os.chown(root / "link", 4321, 8765, follow_symlinks=False)
    os.chmod(root / "dir" / "one-block", 0o4755)      # after chown, which clears setuid
    os.chmod(root / "empty", 0o1777)
    os.chmod(root / "dir" / "exact4k", 0o400)
    try:
        os.setxattr(root / "small.txt", "user.color", b"blue")
    except OSError as e:
        pytest.skip(f"the test directory's filesystem takes no user xattrs ({e.strerror})")
    os.setxattr(root / "small.txt", "user.bytes", bytes(range(256)))
    os.setxattr(root / "dir", "user.dirattr", b"on a directory")
    if ACL_TOOLS:
        subprocess.run(["setfacl", "-m", f"u:{ACL_USER}:rw", str(root / "small.txt")], check=True)
        subprocess.run(["setfacl", "-d", "-m", f"u:{ACL_USER}:rx", str(root / "dir" / "sub")], check=True)
    for k, path in enumerate(sorted(_all_paths(root), key=lambda p: -len(p.parts))):
        os.utime(path, ns=((T0 + k) * 10**9 + 123_456_000, (T0 + 2 * k) * 10**9 + 654_321_000),
                 follow_symlinks=False)
    return root


def _all_paths(root: Path) -> list[Path]:
    out = [root]
    for dirpath, dirnames, filenames in os.walk(root):
        out += [Path(dirpath) / n for n in dirnames + filenames]
    return out


def dtype(mode: int) -> int:
    return {stat.S_IFREG: DT_REG, stat.S_IFDIR: DT_DIR, stat.S_IFLNK: DT_LNK, stat.S_IFCHR: DT_CHR,
            stat.S_IFBLK: DT_BLK, stat.S_IFIFO: DT_FIFO, stat.S_IFSOCK: DT_SOCK}.get(stat.S_IFMT(mode), DT_UNKNOWN)


def xattrs_of(path: bytes) -> tuple[tuple[bytes, bytes], ...]:
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return ()
    return tuple((os.fsencode(n), os.getxattr(path, n, follow_symlinks=False)) for n in sorted(names))


def inode_flags(path: bytes, st: os.stat_result) -> int:
    """The inode's chattr flags (ext4's EXTENTS_FL among them), which Linux dump carries."""
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        return 0
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return 0
    try:
        buf = array.array("i", [0])
        fcntl.ioctl(fd, FS_IOC_GETFLAGS, buf)
        return buf[0] & 0xFFFFFFFF
    except OSError:
        return 0
    finally:
        os.close(fd)


def inode_info(ino: int, path: bytes, st: os.stat_result) -> InodeInfo:
    return InodeInfo(ino=ino, mode=st.st_mode, nlink=st.st_nlink, uid=st.st_uid, gid=st.st_gid, size=st.st_size,
                     atime_ns=st.st_atime_ns, mtime_ns=st.st_mtime_ns, ctime_ns=st.st_ctime_ns, rdev=st.st_rdev,
                     flags=inode_flags(path, st), xattrs=xattrs_of(path))


class Walk:
    """The inodes of a directory tree numbered for dump, with their names."""

    def __init__(self, root: Path):
        self.root = os.fsencode(root)
        self.paths: dict[int, bytes] = {}            # ino -> one path
        self.names: dict[bytes, int] = {}            # relative path -> ino
        self.stats: dict[int, os.stat_result] = {}
        self.entries: dict[int, list[tuple[bytes, int, int]]] = {}
        seen: dict[tuple[int, int], int] = {}
        nxt = ROOTINO + 1
        queue = [(self.root, ROOTINO, ROOTINO)]
        st = os.lstat(self.root)
        seen[(st.st_dev, st.st_ino)] = ROOTINO
        self.paths[ROOTINO], self.stats[ROOTINO], self.names[b"."] = self.root, st, ROOTINO
        while queue:
            path, ino, parent = queue.pop(0)
            entries = [(b".", ino, DT_DIR), (b"..", parent, DT_DIR)]
            for name in sorted(os.listdir(path)):
                child = os.path.join(path, name)
                cst = os.lstat(child)
                key = (cst.st_dev, cst.st_ino)
                if key not in seen:
                    seen[key] = nxt
                    self.paths[nxt], self.stats[nxt] = child, cst
                    if stat.S_ISDIR(cst.st_mode):
                        queue.append((child, nxt, ino))
                    nxt += 1
                cino = seen[key]
                self.names[os.path.relpath(child, self.root)] = cino
                entries.append((name, cino, dtype(cst.st_mode)))
            self.entries[ino] = entries
        self.maxino = nxt


def dump_tree(root: Path, write: Callable, *, ntrec: int = 10, date: int = T0 + 10**6,
              buffer_size: int = 1 << 20) -> tuple[Walk, dict[int, int]]:
    """Dump ``root`` to ``write``; returns the walk and each inode's header offset."""
    walk = Walk(root)
    label = DumpLabel(date=date, ddate=0, level=0, label="vtl-test", filesys=os.fsdecode(walk.root),
                      device="/dev/null", host="testhost", ntrec=ntrec)
    writer = DumpWriter(write, label, walk.maxino, buffer_size=buffer_size)
    inomap = InodeMap(walk.maxino)
    for ino in walk.paths:
        inomap.add(ino)
    writer.write_label()
    writer.write_maps(inomap, inomap)
    offsets = {}
    for ino in sorted(walk.entries):
        offsets[ino] = writer.write_directory(inode_info(ino, walk.paths[ino], walk.stats[ino]), walk.entries[ino])
    for ino in sorted(set(walk.paths) - set(walk.entries)):
        path, st = walk.paths[ino], walk.stats[ino]
        info = inode_info(ino, path, st)
        if stat.S_ISREG(st.st_mode):
            fd = os.open(path, os.O_RDONLY)
            try:
                offsets[ino] = writer.write_file(info, fd)
            finally:
                os.close(fd)
        elif stat.S_ISLNK(st.st_mode):
            offsets[ino] = writer.write_symlink(info, os.readlink(path))
        else:
            offsets[ino] = writer.write_special(info)
    writer.write_end()
    return walk, offsets
