"""Give every timed phase of a benchmark the same page-cache state.

Measured on the project's machine (a microVM, 2026-11-24): a 2 GiB page-cache write
with dd runs at about 5 GB/s right after another page-cache file of that size was
unlinked, and at 0.7-1.4 GB/s ten seconds later, after dropping caches, or right after
freeing as much anonymous memory.  (The guest runs virtio-balloon and DAMON; which of
them makes the slow state was not pinned down, and the fix does not depend on it.)  The
state a phase meets depends on what the phase before it freed, and when, so one side of
a comparison can be handed a five-fold advantage: until this module, dd's write in
``drive_throughput.py`` always met the slow state and the drive's the fast one.

:func:`prime` puts the machine in the fast state, the one a host with its own RAM is
always in: it dirties ``nbytes`` of page cache in an unlinked file and closes it, so the
pages are freed before writeback, and no disk blocks are allocated (nothing for the
``discard`` mount option to discard later either).  Call it right before starting the
clock, after any ``sync``.
"""
from __future__ import annotations

import os

_CHUNK = b"\0" * (1 << 20)


def prime(directory: str, nbytes: int) -> None:
    path = os.path.join(directory, f"bench-prime-{os.getpid()}")
    fd = os.open(path, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
    try:
        os.unlink(path)
        for _ in range(-(-nbytes // len(_CHUNK))):
            os.write(fd, _CHUNK)
    finally:
        os.close(fd)
