"""Waiting for the kernel and telling it we are done: the doorbell.

TCMU signals new entries through UIO's interrupt mechanism: a ``read`` of 4
bytes on ``/dev/uioN`` returns once the kernel has queued something (and
``poll`` reports it readable), and a ``write`` of 4 bytes tells the kernel to
look at the tail we advanced.  Everything else is shared memory.  Keeping
this behind a three-method interface lets the server run unchanged against a
stand-in (a socketpair in the tests and the benchmark) and keeps the ring
sans-IO.

Reading the uio fd fails with EIO once the backstore is removed; that is how
we learn the device is gone, and it is not an error.
"""
from __future__ import annotations

import errno
import os
import select
import sys
from typing import Protocol

_KICK = (1).to_bytes(4, sys.byteorder)    # a host-endian s32, as uio reads it
_GONE_ERRNOS = {errno.EIO, errno.ENODEV, errno.ENXIO}


class DeviceGone(Exception):
    """The backstore behind this doorbell was removed: stop serving it, quietly."""


class Doorbell(Protocol):
    """What the server needs from the kernel's signalling."""

    def fileno(self) -> int:
        """A descriptor that polls readable when :meth:`wait` would return True at once."""

    def wait(self, timeout: float | None) -> bool:
        """Wait up to ``timeout`` seconds (None: forever) for the kernel to queue work and
        consume that notification; False on timeout.  Raises :class:`DeviceGone`."""

    def kick(self) -> None:
        """Tell the kernel the tail moved.  Raises :class:`DeviceGone`."""


class UioDoorbell:
    """The doorbell of a real ``/dev/uioN`` (the fd is borrowed, not closed here).

    The fd is switched to non-blocking, so that consuming a notification the server
    already saw in ``poll`` costs one ``read``, and ``wait(0)`` never blocks.
    """

    def __init__(self, fd: int):
        self._fd = fd
        os.set_blocking(fd, False)
        self._poll = select.poll()
        self._poll.register(fd, select.POLLIN)

    def fileno(self) -> int:
        return self._fd

    def _consume(self) -> bool:
        try:
            os.read(self._fd, 4)   # the event count; uio insists on exactly 4 bytes
        except BlockingIOError:
            return False
        except OSError as e:
            if e.errno in _GONE_ERRNOS:
                raise DeviceGone(os.strerror(e.errno)) from None
            raise
        return True

    def wait(self, timeout: float | None) -> bool:
        if self._consume():
            return True
        if timeout == 0:
            return False
        ms = None if timeout is None else max(0, int(timeout * 1000))
        if not self._poll.poll(ms):
            return False
        return self._consume()

    def kick(self) -> None:
        try:
            os.write(self._fd, _KICK)
        except OSError as e:
            if e.errno in _GONE_ERRNOS:
                raise DeviceGone(os.strerror(e.errno)) from None
            raise
