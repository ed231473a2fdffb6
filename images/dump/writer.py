"""Writing a dump image: label, maps, inodes, trailer.

The stream is what Linux dump writes for an ext4 filesystem (see
``constants``): every header is built from a precompiled template by one
``struct.pack_into`` of the per-object fields and a checksum over those fields
only (the rest of the template's sum is computed once).  Headers and data are
gathered in one reused buffer that file data is read into directly with
``os.preadv``; ``write`` is called with large slices of it.
"""
from __future__ import annotations

import os
import stat
import struct
from collections.abc import Callable, Sequence

from .constants import (
    CHECKSUM,
    DR_EXTATTRIBUTES,
    DR_NEWHEADER,
    EXT_XATTR,
    MAX_SYMLINK_SIZE,
    NDADDR,
    NFS_MAGIC,
    NIADDR,
    TP_BSIZE,
    TP_NINDIR,
    TS_ADDR,
    TS_BITS,
    TS_CLRI,
    TS_END,
    TS_INODE,
    TS_TAPE,
)
from .directory import encode_directory
from .header import DINODE_INDEX, HEAD, OFF_ADDR, SpclHeader
from .inode import InodeInfo, dinode_sum, dinode_values, special_blocks
from .inomap import InodeMap, map_bytes
from .label import DumpLabel, text_field
from .xattr import encode_xattrs

Buffer = bytes | bytearray | memoryview
_M = 0xFFFFFFFF
_RUN = TP_BSIZE * TP_NINDIR                     # data blocks one header can describe
_ZEROS = memoryview(bytes(_RUN))
_ONES = b"\x01" * TP_NINDIR
# Sum of the c_addr words when the first n entries are 1 and the rest 0.
_ONES_SUM = [sum(memoryview(_ONES[:n] + bytes(TP_NINDIR - n)).cast("I")) for n in range(TP_NINDIR + 1)]
_NO_BLOCKS = (0,) * (NDADDR + NIADDR)
_ZERO_DINODE = (0,) * len(DINODE_INDEX)
_SIZE_AT = DINODE_INDEX["size"]


class DumpWriter:
    """Writes one dump image to ``write`` (called with bytes-like objects; must
    consume them before returning — it is a socket's sendall or a file's
    write).  Byte offsets are counted from the first byte of the image.

    ``on_xattr_dropped(ino, name, reason)`` hears of extended attributes that
    the format cannot carry (a namespace without an ext2 name index, a value
    too large); without it they are left out silently.
    """

    def __init__(self, write: Callable[[Buffer], object], label: DumpLabel, maxino: int, *,
                 buffer_size: int = 1 << 20,
                 on_xattr_dropped: Callable[[int, bytes, str], None] | None = None):
        if not 3 <= maxino <= 0xFFFFFFFF:
            raise ValueError(f"maxino {maxino} must leave room for the root inode (2) and fit 32 bits")
        self._write = write
        self.label = label
        self.maxino = maxino
        self._on_xattr_dropped = on_xattr_dropped
        self._buf = bytearray(max(buffer_size, _RUN + 2 * TP_BSIZE))
        self._mv = memoryview(self._buf)
        self._fill = 0
        self._flushed = 0
        self._ended = False
        self._read_error: OSError | None = None
        common = dict(date=label.date, ddate=label.ddate, volume=label.volume, magic=NFS_MAGIC,
                      label=text_field(label.label, 16), level=label.level,
                      filesys=text_field(label.filesys, 64), dev=text_field(label.device, 64),
                      host=text_field(label.host, 64), ntrec=label.ntrec)
        flags = label.flags & ~DR_NEWHEADER     # Linux dump keeps DR_NEWHEADER to the volume label
        self._plain = self._template(common, flags, 0)
        self._ea = self._template(common, flags | DR_EXTATTRIBUTES, EXT_XATTR)
        self._tape = self._template(common, label.flags, 0)
        self._head_fixed = (label.date, label.ddate, label.volume)
        self._fixed_sum = label.date + label.ddate + label.volume + NFS_MAGIC

    @staticmethod
    def _template(common: dict, flags: int, extattributes: int) -> tuple[bytes, int]:
        """A header with the fields that stay the same, and the sum of its words after c_addr."""
        raw = SpclHeader.build(dict(
            common, type=0, tapea=0, inumber=0, checksum=0,
            dinode=dict(mode=0, nlink=0, ouid=0, ogid=0, size=0, atime=dict(sec=0, usec=0),
                        mtime=dict(sec=0, usec=0), ctime=dict(sec=0, usec=0), db=[0] * 12, ib=[0] * 3,
                        flags=0, blocks=0, gen=0, uid=0, gid=0, spare=[0, 0]),
            count=0, addr=bytes(TP_NINDIR), flags=flags, firstrec=0, extattributes=extattributes,
            spare=[0] * 30))
        return raw, sum(memoryview(raw)[OFF_ADDR:].cast("I"))

    # -- the stream ---------------------------------------------------------

    @property
    def offset(self) -> int:
        """Bytes emitted so far (including those still in the buffer)."""
        return self._flushed + self._fill

    def flush(self) -> None:
        """Hand everything gathered so far to ``write``."""
        if self._fill:
            self._write(self._mv[:self._fill])
            self._flushed += self._fill
            self._fill = 0

    def _room(self, need: int) -> int:
        """Buffer position with ``need`` bytes free after it."""
        if self._fill + need > len(self._buf):
            self.flush()
        return self._fill

    def _header(self, pos: int, template: tuple[bytes, int], ctype: int, ino: int, dinode: tuple, dsum: int,
                count: int, addr: bytes | None = None) -> None:
        """Put a header at buffer position ``pos``; c_addr is ``count`` ones unless
        ``addr`` is given.  ``dsum`` is dinode_sum(dinode): the checksum is the
        sum of the per-object words plus the template's, computed without
        reading the header back."""
        buf = self._buf
        buf[pos:pos + TP_BSIZE] = template[0]
        if addr is None:
            if count:
                buf[pos + OFF_ADDR:pos + OFF_ADDR + count] = _ONES[:count]
            asum = _ONES_SUM[count]
        else:
            buf[pos + OFF_ADDR:pos + OFF_ADDR + len(addr)] = addr
            asum = sum(memoryview(addr + bytes(-len(addr) % 4)).cast("I"))
        tapea = (self._flushed + pos) // TP_BSIZE & _M     # c_tapea wraps after 4 TiB
        total = self._fixed_sum + template[1] + ctype + tapea + ino + dsum + count + asum
        date, ddate, volume = self._head_fixed
        HEAD.pack_into(buf, pos, ctype, date, ddate, volume, tapea, ino, NFS_MAGIC, (CHECKSUM - total) & _M,
                       *dinode, count)

    def _check_open(self, ino: int | None = None) -> None:
        if self._ended:
            raise ValueError("the dump image has already been ended (write_end)")
        if ino is not None and not 1 <= ino < self.maxino:
            raise ValueError(f"inode {ino} is outside 1..{self.maxino - 1} (maxino {self.maxino})")

    # -- volume label, maps, trailer ----------------------------------------

    def write_label(self) -> None:
        """The TS_TAPE header (Linux dump's: one c_addr entry, a hole)."""
        self._check_open()
        pos = self._room(TP_BSIZE)
        self._header(pos, self._tape, TS_TAPE, 0, _ZERO_DINODE, 0, 1, b"\0")
        self._fill = pos + TP_BSIZE

    def write_maps(self, used: InodeMap, dumped: InodeMap) -> None:
        """TS_CLRI (inodes in use) then TS_BITS (inodes on this tape)."""
        self._check_open()
        first = next(iter(dumped), 0)
        self._write_map(TS_CLRI, self.maxino - 1, used)
        self._write_map(TS_BITS, first, dumped)

    def _write_map(self, ctype: int, ino: int, inomap: InodeMap) -> None:
        size = map_bytes(self.maxino)
        raw = inomap.raw
        if int.from_bytes(raw, "little") >> (self.maxino - 1):      # bit i - 1 is inode i
            raise ValueError(f"the inode map has inodes at or above maxino {self.maxino}")
        raw = raw[:size] + bytes(size - min(size, len(raw)))
        dinode = _ZERO_DINODE[:_SIZE_AT] + (size,) + _ZERO_DINODE[_SIZE_AT + 1:]
        pos = self._room(TP_BSIZE)
        # Linux dump leaves c_addr of a map all zero; restore treats map blocks as present.
        self._header(pos, self._plain, ctype, ino, dinode, size, size // TP_BSIZE, b"")
        self._fill = pos + TP_BSIZE
        self._put(raw)

    def _put(self, data: Buffer) -> None:
        """Append in-memory data, through the buffer when it fits."""
        if len(data) > len(self._buf) - self._fill:
            self.flush()
            if len(data) > len(self._buf):
                self._write(data)
                self._flushed += len(data)
                return
        self._buf[self._fill:self._fill + len(data)] = data
        self._fill += len(data)

    def write_end(self) -> None:
        """TS_END, repeated to the end of the tape record as Linux dump does; then
        everything is flushed and nothing more can be written."""
        self._check_open()
        record = TP_BSIZE * self.label.ntrec
        while True:
            pos = self._room(TP_BSIZE)
            self._header(pos, self._plain, TS_END, self.maxino - 1, _ZERO_DINODE, 0, 0)
            self._fill = pos + TP_BSIZE
            if self.offset % record == 0:
                break
        self.flush()
        self._ended = True

    # -- inodes --------------------------------------------------------------

    def write_directory(self, inode: InodeInfo, entries: Sequence[tuple[bytes, int, int]]) -> int:
        """A directory from its entries ((name, ino, DT_*), "." and ".." first);
        returns the offset of its first header.  ``inode.size`` is not used: the
        size on tape is that of the converted entries."""
        self._check_open(inode.ino)
        if not stat.S_ISDIR(inode.mode):
            raise ValueError(f"inode {inode.ino} is not a directory (mode {inode.mode:o})")
        data = encode_directory(entries)
        offset = self.offset
        dinode = dinode_values(inode, len(data))
        self._write_memory(inode.ino, dinode, dinode_sum(dinode), data)
        self._write_xattrs(inode, dinode)
        return offset

    def write_symlink(self, inode: InodeInfo, target: bytes) -> int:
        """A symbolic link; the target goes on tape as data, as Linux dump puts it."""
        self._check_open(inode.ino)
        if not stat.S_ISLNK(inode.mode):
            raise ValueError(f"inode {inode.ino} is not a symbolic link (mode {inode.mode:o})")
        if len(target) > MAX_SYMLINK_SIZE or b"\0" in target:
            raise ValueError(f"symbolic link target of inode {inode.ino} is not a path")
        offset = self.offset
        db = _NO_BLOCKS
        if len(target) < 60:      # an ext4 fast symlink keeps its target in i_block, which dump copies
            db = struct.unpack("<15I", target + bytes(60 - len(target)))
        dinode = dinode_values(inode, len(target), db)
        self._write_memory(inode.ino, dinode, dinode_sum(dinode), target)
        self._write_xattrs(inode, dinode)
        return offset

    def write_special(self, inode: InodeInfo) -> int:
        """A device node, fifo or socket: a header and no data."""
        self._check_open(inode.ino)
        kind = stat.S_IFMT(inode.mode)
        if kind not in (stat.S_IFCHR, stat.S_IFBLK, stat.S_IFIFO, stat.S_IFSOCK):
            raise ValueError(f"inode {inode.ino} is not a device, fifo or socket (mode {inode.mode:o})")
        offset = self.offset
        dinode = dinode_values(inode, 0, special_blocks(inode))
        pos = self._room(TP_BSIZE)
        self._header(pos, self._plain, TS_INODE, inode.ino, dinode, dinode_sum(dinode), 0)
        self._fill = pos + TP_BSIZE
        self._write_xattrs(inode, dinode)
        return offset

    def _write_memory(self, ino: int, dinode: tuple, dsum: int, data: bytes) -> None:
        """An inode whose whole content is in ``data`` (no holes)."""
        nblocks = -(-len(data) // TP_BSIZE)
        ctype = TS_INODE
        start = 0
        while True:
            count = min(TP_NINDIR, nblocks - start)
            chunk = data[start * TP_BSIZE:(start + count) * TP_BSIZE]
            pos = self._room(TP_BSIZE * (1 + count))
            self._header(pos, self._plain, ctype, ino, dinode, dsum, count)
            pos += TP_BSIZE
            end = pos + count * TP_BSIZE
            self._buf[pos:pos + len(chunk)] = chunk
            self._mv[pos + len(chunk):end] = _ZEROS[:end - pos - len(chunk)]
            self._fill = end
            start += count
            ctype = TS_ADDR
            if start >= nblocks:
                return

    def write_file(self, inode: InodeInfo, fd: int) -> int:
        """A regular file, its data read from ``fd`` with pread (the file offset
        of ``fd`` may move: holes are found with SEEK_DATA/SEEK_HOLE and stay
        holes).  Exactly ``inode.size`` bytes' worth of blocks are written
        whatever the file does meanwhile: zeros where it has shrunk, nothing past
        ``inode.size`` where it has grown.  If reading fails the inode is still
        completed (with zeros) so the image stays valid, and the OSError is
        raised afterwards.  Returns the offset of the inode's first header."""
        ino = inode.ino
        if self._ended or not 0 < ino < self.maxino:
            self._check_open(ino)
        if inode.mode & 0o170000 != stat.S_IFREG:
            raise ValueError(f"inode {ino} is not a regular file (mode {inode.mode:o})")
        size = inode.size
        offset = self._flushed + self._fill
        dinode = dinode_values(inode, size)
        dsum = dinode_sum(dinode)
        nblocks = -(-size // TP_BSIZE)
        self._read_error = None
        if nblocks <= TP_NINDIR and (size <= TP_BSIZE or _hole_free(fd, size)):
            # The common case: one header, then the data read straight into the buffer.
            span = nblocks * TP_BSIZE
            pos = self._fill
            if pos + TP_BSIZE + span > len(self._buf):
                self.flush()
                pos = 0
            self._header(pos, self._plain, TS_INODE, ino, dinode, dsum, nblocks)
            pos += TP_BSIZE
            try:
                got = os.preadv(fd, [self._mv[pos:pos + size]], 0) if size else 0
            except OSError:
                got = -1
            if got == size:
                if span != size:
                    self._mv[pos + size:pos + span] = _ZEROS[:span - size]
                self._fill = pos + span
            else:
                self._fill = self._read_into(fd, pos, size, 0, span)
        else:
            self._write_extents(ino, dinode, dsum, fd, size, nblocks)
        self._write_xattrs(inode, dinode)
        error, self._read_error = self._read_error, None
        if error is not None:
            raise error
        return offset

    def _write_extents(self, ino: int, dinode: tuple, dsum: int, fd: int, size: int, nblocks: int) -> None:
        extents = _data_extents(fd, size, nblocks)
        ctype = TS_INODE
        first = 0
        for start in range(0, nblocks, TP_NINDIR):
            end = min(start + TP_NINDIR, nblocks)
            while first < len(extents) and extents[first][1] <= start:
                first += 1
            runs = []
            i = first
            while i < len(extents) and extents[i][0] < end:
                runs.append((max(extents[i][0], start), min(extents[i][1], end)))
                i += 1
            ndata = sum(e - s for s, e in runs)
            count = end - start
            pos = self._room(TP_BSIZE * (1 + ndata))
            if ndata == count:
                self._header(pos, self._plain, ctype, ino, dinode, dsum, count)
            else:
                addr = bytearray(count)
                for s, e in runs:
                    addr[s - start:e - start] = _ONES[:e - s]
                self._header(pos, self._plain, ctype, ino, dinode, dsum, count, bytes(addr))
            pos += TP_BSIZE
            for s, e in runs:
                span = (e - s) * TP_BSIZE
                pos = self._read_into(fd, pos, min(span, size - s * TP_BSIZE), s * TP_BSIZE, span)
            self._fill = pos
            ctype = TS_ADDR

    def _read_into(self, fd: int, pos: int, length: int, file_offset: int, span: int) -> int:
        """Read ``length`` bytes of the file into the buffer at ``pos`` and zero
        the rest of ``span``; returns the position after the span."""
        got = 0
        mv = self._mv
        while got < length:
            try:
                n = os.preadv(fd, [mv[pos + got:pos + length]], file_offset + got)
            except InterruptedError:
                continue
            except OSError as e:
                if self._read_error is None:
                    self._read_error = e
                break
            if n <= 0:
                break
            got += n
        if got < span:
            mv[pos + got:pos + span] = _ZEROS[:span - got]
        return pos + span

    def _write_xattrs(self, inode: InodeInfo, dinode: tuple) -> None:
        """The inode's extended attributes as EA records after its data."""
        if not inode.xattrs:
            return
        blocks, dropped = encode_xattrs(inode.xattrs)
        if self._on_xattr_dropped is not None:
            for name, reason in dropped:
                self._on_xattr_dropped(inode.ino, name, reason)
        for block in blocks:
            ea = dinode[:_SIZE_AT] + (len(block),) + dinode[_SIZE_AT + 1:]
            pos = self._room(TP_BSIZE + len(block))
            self._header(pos, self._ea, TS_INODE, inode.ino, ea, dinode_sum(ea), len(block) // TP_BSIZE)
            pos += TP_BSIZE
            self._buf[pos:pos + len(block)] = block
            self._fill = pos + len(block)


def _hole_free(fd: int, size: int) -> bool:
    """True if the first hole is at or past ``size`` (or holes cannot be asked for)."""
    try:
        return os.lseek(fd, 0, os.SEEK_HOLE) >= size
    except OSError:
        return True


def _data_extents(fd: int, size: int, nblocks: int) -> list[tuple[int, int]]:
    """The file's data as [start, end) runs of 1 KiB blocks within ``nblocks``."""
    try:
        if os.lseek(fd, 0, os.SEEK_HOLE) >= size:
            return [(0, nblocks)]
    except OSError:
        return [(0, nblocks)]
    out: list[tuple[int, int]] = []
    pos = 0
    while pos < size:
        try:
            data = os.lseek(fd, pos, os.SEEK_DATA)
        except OSError:
            break                       # ENXIO: no data after pos
        if data >= size:
            break
        try:
            hole = os.lseek(fd, data, os.SEEK_HOLE)
        except OSError:
            hole = size
        hole = max(hole, data + 1)
        start, end = data // TP_BSIZE, min(-(-min(hole, size) // TP_BSIZE), nblocks)
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
        pos = hole
    return out
