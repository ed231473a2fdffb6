"""Images made by Linux dump (Debian ``dump`` 0.4b47), the reference for the format: an
ext4 filesystem is built from a directory with ``mkfs.ext4 -d``, attached to a loop device
and dumped at level 0.  Skips the calling test with one line where that cannot be done."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

__all__ = ["linux_dump_of"]

TOOLS = ("dump", "losetup", "mkfs.ext4")


def linux_dump_of(src: Path, work: Path, size: str = "48M") -> bytes:
    """The level-0 image Linux dump makes of an ext4 filesystem holding ``src``'s tree."""
    if os.geteuid() != 0 or None in [shutil.which(t) for t in TOOLS]:
        pytest.skip("Linux dump needs root, dump, losetup and mkfs.ext4 (Debian packages dump, mount, e2fsprogs)")
    fs = work / "fs.img"
    subprocess.run(["mkfs.ext4", "-q", "-d", str(src), str(fs), size], check=True, capture_output=True)
    found = subprocess.run(["losetup", "-f", "--show", str(fs)], capture_output=True, text=True, check=False)
    if found.returncode != 0:
        pytest.skip(f"no loop device for Linux dump here: {found.stderr.strip()}")
    loop = found.stdout.strip()
    out = work / "linux.dump"
    try:
        done = subprocess.run(["dump", "-0", "-f", str(out), loop], capture_output=True, text=True, timeout=120,
                              check=False)
    finally:
        subprocess.run(["losetup", "-d", loop], check=True)
    assert done.returncode == 0, done.stderr
    return out.read_bytes()
