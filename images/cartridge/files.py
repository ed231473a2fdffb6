"""Opening a cartridge's own files (its record logs and their indexes)."""
from __future__ import annotations

import errno
import os
import stat


def open_regular(path: str) -> int:
    """Open (creating if missing) a file of the cartridge for reading and writing.

    Only a regular file will do: a directory, a device or a FIFO put there by
    mistake would fail later in ways that name neither the file nor the fix.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file", path)
    return fd
