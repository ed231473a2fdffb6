"""Directory trees for backup and restore tests: one with every kind of thing a dump
carries, and a comparison that says exactly what differs.

``make_tree(root)`` builds: nested directories, files of several sizes, a sparse file
(a hole between two extents and a trailing hole), hard links (one across
directories), a symbolic link (and a dangling one), a fifo, a character device
(root only), user xattrs, a POSIX ACL (when setfacl works here), odd names (spaces,
non-UTF-8 bytes), odd modes (setuid, sticky, 0400) and owners, and set times.
"""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

__all__ = ["ACL_TOOLS", "describe", "make_tree", "tree_differences"]

ACL_TOOLS = shutil.which("setfacl") is not None and shutil.which("getfacl") is not None
_T = 1_700_000_000


def _touch_times(path: Path, k: int) -> None:
    os.utime(path, ns=((_T + k) * 1_000_000_000 + 123_000, (_T + 2 * k) * 1_000_000_000 + 456_000),
             follow_symlinks=False)


def make_tree(root: Path, *, acl: bool = True) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "dir" / "sub").mkdir(parents=True)
    (root / "empty").mkdir()
    (root / "small.txt").write_bytes(b"hello dump\n")
    (root / "dir" / "one-block").write_bytes(bytes(range(256)) * 4)
    (root / "dir" / "sub" / "big.bin").write_bytes(os.urandom(3 * 1024 * 1024 + 77))
    (root / "zero").write_bytes(b"")
    with open(root / "sparse", "wb") as f:
        f.write(b"A" * 5000)
        f.seek(4 * 1024 * 1024)
        f.write(b"B" * 3000)
        f.truncate(8 * 1024 * 1024)
    os.link(root / "small.txt", root / "dir" / "hardlink")
    os.symlink("dir/sub/big.bin", root / "link")
    os.symlink("/nonexistent/target", root / "dangling")
    os.mkfifo(root / "fifo")
    if os.geteuid() == 0:
        os.mknod(root / "chardev", stat.S_IFCHR | 0o640, os.makedev(1, 3))
        os.chown(root / "dir" / "one-block", 1234, 5678)
        os.chown(root / "link", 42, 43, follow_symlinks=False)
    (root / "name with spaces").write_bytes(b"spaces")
    (root / os.fsdecode(b"latin1-\xe9")).write_bytes(b"latin")
    (root / "setuid").write_bytes(b"#!/bin/sh\n")
    os.chmod(root / "setuid", 0o4755)
    os.chmod(root / "empty", 0o1777)
    (root / "readonly").write_bytes(b"ro")
    os.chmod(root / "readonly", 0o400)
    os.setxattr(root / "small.txt", "user.colour", b"blue")
    os.setxattr(root / "dir", "user.kind", b"directory")
    if acl and ACL_TOOLS:
        subprocess.run(["setfacl", "-m", "u:1234:rw-,g:5678:r--", str(root / "dir" / "sub" / "big.bin")], check=True)
        subprocess.run(["setfacl", "-d", "-m", "u:1234:rwx", str(root / "dir" / "sub")], check=True)
    for k, p in enumerate(sorted(root.rglob("*"), key=lambda p: -len(p.parts))):
        _touch_times(p, k + 1)
    return root


def _xattrs(path: Path) -> dict[str, bytes]:
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return {}
    return {n: os.getxattr(path, n, follow_symlinks=False) for n in names}


def describe(root: Path, *, times: bool = True, resolution_ns: int = 1000) -> dict[bytes, tuple]:
    """Every name under ``root`` with what a restore must give back."""
    out: dict[bytes, tuple] = {}
    inodes: dict[int, bytes] = {}
    broot = os.fsencode(root)
    for dirpath, dirnames, filenames in os.walk(broot):
        dirnames.sort()
        if dirpath == broot and b"restoresymtable" in filenames:
            filenames.remove(b"restoresymtable")
        for name in sorted(dirnames + filenames):
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, broot)
            st = os.lstat(p)
            kind = stat.S_IFMT(st.st_mode)
            if kind == stat.S_IFREG:
                with open(p, "rb") as f:
                    body = f.read()
                extra: tuple = (body, st.st_size, st.st_blocks * 512 < st.st_size // 2 if st.st_size > 65536 else None)
                first = inodes.setdefault(st.st_ino, rel)
                extra += (first if first != rel else None,)
            elif kind == stat.S_IFLNK:
                extra = (os.readlink(p),)
            elif kind in (stat.S_IFCHR, stat.S_IFBLK):
                extra = (st.st_rdev,)
            else:
                extra = ()
            xattrs = tuple(sorted(_xattrs(Path(os.fsdecode(p))).items())) if kind != stat.S_IFLNK else ()
            t = (st.st_mtime_ns // resolution_ns,) if times and kind != stat.S_IFDIR else ()
            out[rel] = (oct(st.st_mode), st.st_uid, st.st_gid, *extra, xattrs, *t)
    return out


def tree_differences(a: Path, b: Path, *, times: bool = True, resolution_ns: int = 1000) -> list[str]:
    """What differs between two trees (empty when they are the same); modification times
    are compared to ``resolution_ns`` (microseconds, what dump keeps, by default)."""
    da, db = describe(a, times=times, resolution_ns=resolution_ns), describe(b, times=times, resolution_ns=resolution_ns)
    diffs = []
    for name in sorted(set(da) | set(db)):
        if name not in db:
            diffs.append(f"missing: {name!r}")
        elif name not in da:
            diffs.append(f"extra: {name!r}")
        elif da[name] != db[name]:
            x, y = da[name], db[name]
            shown = [(i, xi if not isinstance(xi, bytes) or len(xi) < 64 else f"<{len(xi)} bytes>",
                      yi if not isinstance(yi, bytes) or len(yi) < 64 else f"<{len(yi)} bytes>")
                     for i, (xi, yi) in enumerate(zip(x, y)) if xi != yi]
            diffs.append(f"differs: {name!r}: {shown}")
    return diffs
