"""Opening a cartridge's own files (record tables, payload files and indexes)."""
from __future__ import annotations

import errno
import os
import stat

READ_ONLY_ERRNOS = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})
"""Why a cartridge file that exists cannot be opened for writing: a read-only file
system or mount, or permissions.  Such a cartridge is still readable (read-only)."""


def write_fully(fd: int, data: bytes | bytearray | memoryview, offset: int) -> None:
    """``pwrite`` all of ``data`` at ``offset``: a regular file may take less at a time."""
    view = memoryview(data)
    while view:
        n = os.pwrite(fd, view, offset)
        view, offset = view[n:], offset + n


def open_regular(path: str, writable: bool = True) -> int:
    """Open a file of the cartridge: for reading and writing (creating it if missing),
    or, for a read-only cartridge, for reading only (it must exist).

    Only a regular file will do: a directory, a device or a FIFO put there by
    mistake would fail later in ways that name neither the file nor the fix.
    """
    flags = os.O_RDWR | os.O_CREAT if writable else os.O_RDONLY
    fd = os.open(path, flags | os.O_CLOEXEC, 0o644)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file", path)
    return fd
