"""Small real filesystems for tests that need one other than the machine's own: a btrfs
on a loop device (subvolume snapshots, reflinks) or a tmpfs of a fixed size (a full
disk).  Making one needs root and a kernel that allows mounts; where that is not so,
:class:`Unavailable` says why and the test skips with that one line."""
from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path


class Unavailable(Exception):
    """This machine cannot make the filesystem; ``str()`` is the reason."""


def _run(*argv: str) -> None:
    try:
        cp = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise Unavailable(f"{argv[0]}: {e}") from None
    if cp.returncode != 0:
        raise Unavailable(f"{' '.join(argv[:3])} failed: {(cp.stderr or cp.stdout).strip().splitlines()[-1:]}")


@contextlib.contextmanager
def mounted(directory: Path, kind: str, size: int) -> Iterator[Path]:
    """A fresh ``kind`` ("btrfs" or "tmpfs") filesystem of ``size`` bytes mounted at
    ``directory/mnt`` for the ``with`` block."""
    if os.geteuid() != 0:
        raise Unavailable("mounting a filesystem needs root")
    mount_point = directory / "mnt"
    mount_point.mkdir(parents=True, exist_ok=True)
    if kind == "btrfs":
        if shutil.which("mkfs.btrfs") is None:
            raise Unavailable("mkfs.btrfs is not installed (package btrfs-progs)")
        image = directory / "btrfs.img"
        with open(image, "wb") as f:
            f.truncate(size)
        _run("mkfs.btrfs", "-q", str(image))
        _run("mount", "-o", "loop", str(image), str(mount_point))
    elif kind == "tmpfs":
        _run("mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount_point))
    else:
        raise ValueError(kind)
    try:
        yield mount_point
    finally:
        if subprocess.run(["umount", str(mount_point)], capture_output=True, check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(mount_point)], capture_output=True, check=False)


@contextlib.contextmanager
def small_tmpfs(directory: Path, size: int) -> Iterator[Path]:
    """A tmpfs of ``size`` bytes for the ``with`` block, or the test skips with the reason."""
    import pytest
    try:
        context = mounted(directory, "tmpfs", size)
        mount_point = context.__enter__()
    except Unavailable as e:
        pytest.skip(f"no small tmpfs here: {e}")
    try:
        yield mount_point
    finally:
        context.__exit__(None, None, None)


def fill(mount_point: Path, block: int = 4096) -> Path:
    """Write a file until the filesystem has no room left; delete it to make room again."""
    filler = mount_point / "filler"
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(bytes(block))
        except OSError as e:
            if e.errno != errno.ENOSPC:
                raise
    return filler


@contextlib.contextmanager
def read_only(directory: Path) -> Iterator[Path]:
    """``directory`` made read-only for the ``with`` block, as a read-only mount of
    archived files is (a read-only bind mount over itself: EROFS even for root, whom
    permissions do not stop), or the test skips with the reason."""
    import pytest
    if os.geteuid() != 0:
        pytest.skip("a read-only bind mount needs root")
    try:
        _run("mount", "--bind", str(directory), str(directory))
    except Unavailable as e:
        pytest.skip(f"no read-only bind mount here: {e}")
    try:
        try:
            _run("mount", "-o", "remount,bind,ro", str(directory))
        except Unavailable as e:
            pytest.skip(f"no read-only bind mount here: {e}")
        yield directory
    finally:
        if subprocess.run(["umount", str(directory)], capture_output=True, check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(directory)], capture_output=True, check=False)
