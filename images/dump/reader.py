"""Reading a dump image: from any stream of bytes, from its start or from an inode's header.

Nothing in the image is trusted: every header must carry the magic and
checksum, every count and size is bounded, and each malformed structure is a
DumpFormatError naming its stream offset.  With ``on_skip`` the reader instead
steps over damaged blocks to the next valid header of the same dump (as Linux
restore resynchronises), and an inode whose data was cut short keeps what
could be read.

An error that leaves the stream position known (a bad directory, a bad
attribute block, a missing continuation) does not end the iteration: the next
``next()`` continues with the following record.  Errors that lose the position
(a bad header without ``on_skip``, a truncated image) end it.
"""
from __future__ import annotations

import stat
from collections.abc import Callable, Iterator

from .constants import (
    DR_EXTATTRIBUTES,
    DR_NEWINODEFMT,
    EXT_XATTR,
    MAX_DIRECTORY_SIZE,
    MAX_MAP_SIZE,
    MAX_SYMLINK_SIZE,
    MAX_XATTR_BLOCK,
    TP_BSIZE,
    TS_ADDR,
    TS_BITS,
    TS_CLRI,
    TS_END,
    TS_INODE,
    TS_TAPE,
)
from .directory import decode_directory
from .errors import DumpFormatError
from .header import TAIL_INDEX, Header, parse_header
from .inode import inode_from_dinode
from .inomap import InodeMap
from .label import DumpLabel, field_text
from .records import End, Inode, Maps, Record
from .xattr import decode_xattrs

Sink = Callable[[int, memoryview], None]


class _File:
    """How far the data of the current inode has been read."""

    __slots__ = ("block", "cache", "data_done", "finished", "header", "idx", "ino", "record", "size")

    def __init__(self, record: Inode, header: Header):
        self.record = record
        self.header = header
        self.idx = 0               # next c_addr entry of ``header``
        self.block = 0             # file block number of that entry
        self.size = header.size
        self.ino = header.ino
        self.data_done = False
        self.finished = False      # data and attribute records consumed
        self.cache: bytes | None = None


class DumpReader:
    """Reads a dump image from ``readinto`` (a socket's recv_into, a file's
    readinto: returns 0 at end of stream).  ``start_offset`` is the stream
    offset of the first byte it will see: a direct access recovery starts
    reading at an inode's header offset.

    ``on_skip(offset, nblocks)`` is called when the reader had to skip blocks to
    find the next valid header (a corrupt image), or found an inode's data cut
    short (nblocks 0); without it these raise DumpFormatError.
    """

    def __init__(self, readinto: Callable[[memoryview], int], *, start_offset: int = 0,
                 on_skip: Callable[[int, int], None] | None = None, buffer_size: int = 1 << 20):
        self._readinto = readinto
        self._buf = bytearray(max(buffer_size, 4 * TP_BSIZE))
        self._mv = memoryview(self._buf)
        self._start = 0            # unread bytes are _buf[_start:_end]
        self._end = 0
        self._eof = False
        self.offset = start_offset  # stream offset of the next unread byte
        self._on_skip = on_skip
        self._skips = 0
        self.label: DumpLabel | None = None
        self._pending: Header | None = None
        self._cur: _File | None = None
        self._done = False

    # -- bytes ------------------------------------------------------------------

    def _fill(self, want: int) -> int:
        """Make ``want`` unread bytes available if the stream has them; returns how many are."""
        have = self._end - self._start
        if have >= want:
            return have
        if self._start:
            self._buf[:have] = self._mv[self._start:self._end]
            self._start, self._end = 0, have
        while self._end < want and not self._eof:
            got = self._readinto(self._mv[self._end:])
            if not got:
                self._eof = True
                break
            if got < 0 or got > len(self._buf) - self._end:
                raise ValueError(f"readinto returned {got} for a {len(self._buf) - self._end}-byte buffer")
            self._end += got
        return self._end - self._start

    def _block(self) -> memoryview | None:
        """The next 1 KiB block, or None at a clean end of stream."""
        have = self._fill(TP_BSIZE)
        if have < TP_BSIZE:
            if have:
                raise self._fatal(f"image ends {have} bytes into a block", self.offset)
            return None
        start = self._start
        self._start += TP_BSIZE
        self.offset += TP_BSIZE
        return self._mv[start:start + TP_BSIZE]

    def _blocks(self, most: int) -> memoryview:
        """1..``most`` whole blocks of data; the image may not end here."""
        have = self._fill(TP_BSIZE)
        if have < TP_BSIZE:
            raise self._fatal("image ends inside an inode's data", self.offset)
        n = min(most, have // TP_BSIZE) * TP_BSIZE
        start = self._start
        self._start += n
        self.offset += n
        return self._mv[start:start + n]

    def _skip_blocks(self, count: int) -> None:
        while count > 0:
            count -= len(self._blocks(count)) // TP_BSIZE

    def _fatal(self, message: str, offset: int) -> DumpFormatError:
        self._done = True
        return DumpFormatError(message, offset)

    # -- headers ----------------------------------------------------------------

    def _header(self, at_end_ok: bool = False) -> Header | None:
        """The next header (resynchronising past damage with ``on_skip``)."""
        if self._pending is not None:
            header, self._pending = self._pending, None
            return header
        offset = self.offset
        raw = self._block()
        if raw is None:
            if at_end_ok:
                return None
            raise self._fatal("image ends before its TS_END trailer", offset)
        header = parse_header(raw, offset)
        if not isinstance(header, str):
            return header
        if self._on_skip is None:
            raise self._fatal(header, offset)
        skipped = 1
        while True:
            raw = self._block()
            if raw is None:
                raise self._fatal(f"{header}; no valid header in the {skipped} blocks after it", offset)
            found = parse_header(raw, self.offset - TP_BSIZE)
            if not isinstance(found, str) and (self.label is None or found.date == self.label.date):
                self._skips += 1
                self._on_skip(offset, skipped)
                return found
            skipped += 1

    def _skip_data(self, header: Header, all_blocks: bool = False) -> None:
        self._skip_blocks(header.count if all_blocks else header.data_blocks())

    # -- records ----------------------------------------------------------------

    def __iter__(self) -> Iterator[Record]:
        return self

    def __next__(self) -> Record:
        if self._done:
            raise StopIteration
        if self._cur is not None:
            self._finish(self._cur)
        while True:
            header = self._header()
            kind = header.type
            if kind == TS_INODE:
                if header.flags & DR_EXTATTRIBUTES:
                    self._skip_data(header, all_blocks=True)     # an extension whose inode we did not see
                    continue
                new_format = self.label is None or bool(self.label.flags & DR_NEWINODEFMT)
                record = Inode(header.offset, inode_from_dinode(header.ino, header.dinode, new_format), self)
                self._cur = _File(record, header)
                return record
            if kind in (TS_CLRI, TS_BITS):
                return self._maps(header)
            if kind == TS_END:
                self._done = True
                return End(header.offset)
            if kind == TS_TAPE:
                self._skip_data(header)
                self.label = _label(header)
                continue
            self._skip_data(header)              # TS_ADDR of an inode we did not see (started mid-file)

    def _maps(self, header: Header) -> Maps:
        raw = bytearray()
        for _ in range(header.count):
            raw += self._blocks(1)
        while True:
            more = self._header(at_end_ok=True)
            if more is None or more.type != TS_ADDR:
                self._pending = more
                break
            if len(raw) + more.count * TP_BSIZE > MAX_MAP_SIZE:
                raise self._fatal(f"inode map larger than {MAX_MAP_SIZE} bytes", more.offset)
            for present in more.addr:
                raw += self._blocks(1) if present else bytes(TP_BSIZE)
        if not raw:
            raise DumpFormatError("inode map of no blocks", header.offset)
        kind = "clri" if header.type == TS_CLRI else "bits"
        return Maps(kind, InodeMap.from_bytes(raw), header.offset)

    # -- an inode's data --------------------------------------------------------

    def _current(self, record: Inode) -> _File:
        cur = self._cur
        if cur is None or cur.record is not record:
            raise ValueError(f"inode {record.inode.ino}: the reader has moved past its data")
        return cur

    def _consume(self, cur: _File, sink: Sink | None) -> None:
        """Read (or skip, without ``sink``) the rest of the inode's data."""
        while not cur.data_done:
            header = cur.header
            addr, count = header.addr, header.count
            while cur.idx < count:
                i = cur.idx
                if not addr[i]:
                    j = addr.find(1, i)
                    j = count if j < 0 else j
                    cur.block += j - i
                    cur.idx = j
                    continue
                j = addr.find(0, i)
                left = (count if j < 0 else j) - i
                while left:
                    view = self._blocks(left)
                    n = len(view) // TP_BSIZE
                    at = cur.block * TP_BSIZE
                    cur.block += n
                    cur.idx += n
                    left -= n
                    if sink is not None and at < cur.size:
                        sink(at, view[:cur.size - at])
            if cur.block * TP_BSIZE >= cur.size:
                cur.data_done = True
                return
            skips = self._skips
            more = self._header(at_end_ok=True)
            if more is not None and more.type == TS_ADDR and more.ino == cur.ino and skips == self._skips:
                cur.header, cur.idx = more, 0
                continue
            # The rest of the data is not on tape: a damaged or cut image.
            self._pending = more
            cur.data_done = True
            where = more.offset if more is not None else self.offset
            if self._on_skip is None:
                raise DumpFormatError(f"inode {cur.ino}: data stops at {cur.block * TP_BSIZE} of "
                                      f"{cur.size} bytes (no continuation header)", where)
            if skips == self._skips:
                self._on_skip(where, 0)

    def _attributes(self, cur: _File) -> None:
        """Read the extension records after the inode's data into its xattrs."""
        cur.finished = True
        xattrs = list(cur.record.inode.xattrs)
        error = None
        while True:
            header = self._header(at_end_ok=True)
            if header is None or header.type != TS_INODE or not header.flags & DR_EXTATTRIBUTES \
                    or header.ino != cur.ino:
                self._pending = header
                break
            if header.extattributes != EXT_XATTR:
                self._skip_data(header, all_blocks=True)
                continue
            # Restore reads every block of an EA record whatever c_addr says
            # (old dumps left it zero); so do we.
            size = header.size
            if size > MAX_XATTR_BLOCK or size > header.count * TP_BSIZE:
                self._skip_data(header, all_blocks=True)
                message = f"inode {cur.ino}: attribute record of {size} bytes in {header.count} blocks"
                error = error or (message, header.offset, header.count)
                continue
            raw = bytearray()
            for _ in range(header.count):
                raw += self._blocks(1)
            try:
                xattrs += decode_xattrs(memoryview(raw)[:size])
            except ValueError as e:
                error = error or (f"inode {cur.ino}: {e}", header.offset, header.count)
        cur.record.inode.xattrs = tuple(xattrs)
        if error is not None:
            if self._on_skip is None:
                raise DumpFormatError(error[0], error[1])
            self._on_skip(error[1], error[2])

    def _finish(self, cur: _File) -> None:
        self._cur = None
        if not cur.data_done:
            self._consume(cur, None)
        if not cur.finished:
            self._attributes(cur)

    def _read(self, record: Inode, sink: Sink) -> None:
        cur = self._current(record)
        if cur.data_done:
            if cur.cache is None:
                raise ValueError(f"inode {cur.ino}: its data has already been read")
            if cur.cache:
                sink(0, memoryview(cur.cache))
        else:
            self._consume(cur, sink)
        if not cur.finished:
            self._attributes(cur)

    def _collect(self, record: Inode, limit: int, what: str) -> bytes:
        cur = self._current(record)
        if cur.cache is None:
            if cur.data_done:
                raise ValueError(f"inode {cur.ino}: its data has already been read")
            if cur.size > limit:
                self._finish(cur)
                raise DumpFormatError(f"{what} of inode {cur.ino} claims {cur.size} bytes "
                                      f"(more than {limit})", record.offset)
            data = bytearray()

            def sink(at: int, chunk: memoryview) -> None:
                if at > len(data):
                    data.extend(bytes(at - len(data)))     # a hole
                data[at:at + len(chunk)] = chunk

            self._consume(cur, sink)
            cur.cache = bytes(data.ljust(cur.size, b"\0"))
        if not cur.finished:
            self._attributes(cur)
        return cur.cache

    def _entries(self, record: Inode) -> list[tuple[bytes, int, int]]:
        if not stat.S_ISDIR(record.inode.mode):
            raise ValueError(f"inode {record.inode.ino} is not a directory")
        return decode_directory(self._collect(record, MAX_DIRECTORY_SIZE, "directory"), record.offset)

    def _target(self, record: Inode) -> bytes:
        if not stat.S_ISLNK(record.inode.mode):
            raise ValueError(f"inode {record.inode.ino} is not a symbolic link")
        return self._collect(record, MAX_SYMLINK_SIZE, "symbolic link")


def _label(header: Header) -> DumpLabel:
    tail = header.tail
    try:
        return DumpLabel(
            date=header.date, ddate=header.ddate, level=tail[TAIL_INDEX["level"]],
            label=field_text(tail[TAIL_INDEX["label"]]), filesys=field_text(tail[TAIL_INDEX["filesys"]]),
            device=field_text(tail[TAIL_INDEX["dev"]]), host=field_text(tail[TAIL_INDEX["host"]]),
            volume=header.volume, ntrec=tail[TAIL_INDEX["ntrec"]], flags=header.flags)
    except ValueError as e:
        raise DumpFormatError(f"volume header: {e}", header.offset) from None
