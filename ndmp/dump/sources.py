"""Where a restore's bytes come from: the data connection, asked for by range.

In NDMP v4 the data server says which part of the backup stream it wants with
NOTIFY_DATA_READ(offset, length); the DMA turns that into MOVER_READ and the
mover sends exactly those bytes.  A whole restore asks once for everything
(:class:`WholeImage`).  A direct access recovery asks, per file, for the header
at its ``fh_info`` offset and then for exactly what that header says follows
(:class:`InodeRange`), so the mover reads only the few records holding the file
and never runs past what was asked for.
"""
from __future__ import annotations

from images.dump import TP_BSIZE, DumpFormatError
from images.dump.constants import TS_ADDR
from images.dump.header import parse_header

from ..constants import DataHaltReason
from ..engine import Aborted, EngineError, Operation

__all__ = ["INFINITY", "InodeRange", "WholeImage"]

INFINITY = 0xFFFFFFFFFFFFFFFF          # NDMP_LENGTH_INFINITY


def _recv_into(op: Operation, view: memoryview) -> int:
    stream = op.stream
    assert stream is not None
    try:
        return stream.recv_into(view)
    except (TimeoutError, ConnectionError, OSError) as e:
        if op.aborted.is_set():
            raise Aborted() from None
        raise EngineError(f"Message from Read Socket: {e.strerror or e}",
                          DataHaltReason.NDMP_DATA_HALT_CONNECT_ERROR) from None


def header_blocks(raw: bytearray, offset: int) -> tuple[int, int, int, bool]:
    """(type, inode, data blocks after it, whether it continues the inode before it)."""
    header = parse_header(memoryview(raw), offset)
    if isinstance(header, str):
        raise DumpFormatError(header, offset)
    return header.type, header.ino, header.data_blocks(), header.type == TS_ADDR


class WholeImage:
    """The image from its first byte to the end of the data connection."""

    def __init__(self, op: Operation):
        self.op = op
        self.asked = False

    def readinto(self, view: memoryview) -> int:
        if not self.asked:
            self.op.read(0, INFINITY)
            self.asked = True
        n = _recv_into(self.op, view)
        self.op.bytes_processed += n
        return n


class InodeRange:
    """The records of one inode, starting at its header's offset: the header, the data
    blocks it maps, any continuation (TS_ADDR) or extended-attribute header after it,
    and the first header of whatever follows -- read but left to the caller, which
    stops there.  Reads end (0) when the next header belongs to another inode."""

    def __init__(self, op: Operation, offset: int, ino: int | None = None):
        self.op = op
        self.pos = offset
        self.ino = ino
        self.window = 0               # bytes asked for and not yet received
        self.header = bytearray(TP_BSIZE)
        self.header_fill = 0          # bytes of the pending header received so far
        self.data_left = 0            # data bytes before the next header
        self.done = False
        self.first = True

    def _ask(self, length: int) -> None:
        self.op.read(self.pos, length)
        self.window = length

    def readinto(self, view: memoryview) -> int:
        if self.done:
            return 0
        if self.window == 0:
            self._ask(self.data_left + TP_BSIZE - self.header_fill)
        n = _recv_into(self.op, view[:min(len(view), self.window)])
        if n == 0:
            return 0
        self.window -= n
        self.pos += n
        self.op.bytes_processed += n
        self._consume(view[:n])
        return n

    def drain(self) -> None:
        """Receive and drop what was asked for and not read, so that the next request's
        bytes are the next on the connection."""
        scratch = memoryview(bytearray(min(self.window, 1 << 16) or 1))
        while self.window:
            n = _recv_into(self.op, scratch[:min(self.window, len(scratch))])
            if n == 0:
                break
            self.window -= n
            self.pos += n
        self.done = True

    def _consume(self, chunk: memoryview) -> None:
        i, end = 0, len(chunk)
        while i < end and not self.done:
            if self.data_left:
                k = min(self.data_left, end - i)
                self.data_left -= k
                i += k
                continue
            k = min(TP_BSIZE - self.header_fill, end - i)
            self.header[self.header_fill:self.header_fill + k] = chunk[i:i + k]
            self.header_fill += k
            i += k
            if self.header_fill == TP_BSIZE:
                self._after_header()

    def _after_header(self) -> None:
        """A whole header arrived (the window ends with it): ask for what it maps."""
        self.header_fill = 0
        _kind, ino, blocks, continues = header_blocks(self.header, self.pos - TP_BSIZE)
        if self.first:
            self.first = False
            self.ino = ino
        elif not continues or ino != self.ino:
            # The next inode (or the trailer): the caller has what it wanted.
            self.done = True
            return
        self.data_left = blocks * TP_BSIZE
        self._ask(self.data_left + TP_BSIZE)

    def __repr__(self) -> str:
        return f"InodeRange(ino={self.ino}, pos={self.pos})"

