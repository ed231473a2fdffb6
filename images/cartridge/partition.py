"""One partition of a cartridge: its record table, its payload file, its index and the
head position.

    pN.rec   the record table: one 32-byte header per object, object k at k * 32
    pN.dat   the payloads of the data blocks, one after another in object order
    pN.idx   the index: where every 64th object's payload starts, and the marks

Both files are appended at EOD and cut when something is written mid-tape, which is
exactly the tape rule that a write makes everything after it unreachable.  A block's
payload goes to the kernel first and its header second, each before the block is
acknowledged, so a kill -9 never loses an acknowledged record and never leaves a header
without its payload; sync points add ``fsync`` (payloads first) for power loss.  On
open, a torn tail is found by the header and payload CRCs and cut; damage that a kill
cannot cause is kept (see ``_torn_at``).  Keeping the headers out of the payload file
lets the page cache hold the blocks as it holds dd's (record.py says why that matters).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from . import encryption, record
from .checksum import crc32c
from .compression import Algorithm, compress, decompress
from .errors import (
    NO_ROOM,
    CartridgeError,
    EndOfMedium,
    MediumError,
    NoKey,
    RawReadDisabled,
    WriteFailure,
    WriteProtected,
)
from .files import open_regular, write_fully
from .index import CHECKPOINT_EVERY, EntryType, Index
from .payload_file import PayloadFile
from .record import HEADER_SIZE, Flags, Kind

_MARK_ENTRY = {Kind.FILEMARK: EntryType.FILEMARK, Kind.SETMARK: EntryType.SETMARK}
_SCAN = 32768
"""Headers read at a time when the open scans the record table."""
_AHEAD = 128
"""Headers read at a time by reads going forward (one system call per 4 KiB of them)."""
_decode = record.decode
_encode = record.encode
_NONE = Algorithm.NONE
_DATA = Kind.DATA
_ENCRYPTED = int(Flags.ENCRYPTED)   # a plain int: IntFlag's own & costs a microsecond a block


@dataclass(frozen=True, slots=True)
class ReadResult:
    kind: Kind | None   # None at EOD
    length: int = 0     # full length of the block on tape
    copied: int = 0     # bytes placed in the caller's buffer, or in ``data``
    stored: int = 0     # bytes the block occupies on the medium (after compression)
    encrypted: bool = False
    data: memoryview | None = None
    """From ``read_view``: the block's first ``copied`` bytes, read-only (often a view of
    the page cache itself, valid as long as it is held)."""


@dataclass(frozen=True, slots=True)
class BlockCrypto:
    """What the next block says of its encryption, without a key (SSC's Next Block
    Encryption Status): None for a filemark, a setmark or EOD."""

    encrypted: bool
    ukad: bytes = b""
    akad: bytes = b""
    raw_read_disabled: bool = False
    decryptable: bool = False     # with the key asked about


EOD = ReadResult(None)
FILEMARK = ReadResult(Kind.FILEMARK)
SETMARK = ReadResult(Kind.SETMARK)


class Partition:
    def __init__(self, directory: str, number: int, capacity: int, early_warning: int,
                 read_only: bool = False):
        self.number = number
        self.capacity = capacity
        self.early_warning = early_warning
        self.read_only = read_only
        """Opened for reading only: nothing on the host is changed, not even a torn tail
        (it is left after EOD, unread), and every write is refused (WriteProtected)."""
        self.rec_path = os.path.join(directory, f"p{number}.rec")
        self.dat_path = os.path.join(directory, f"p{number}.dat")
        self.rec_fd = open_regular(self.rec_path, writable=not read_only)
        opened: list = []
        try:
            self.payloads = PayloadFile(self.dat_path, read_only)
            opened.append(self.payloads)
            self.index = Index(os.path.join(directory, f"p{number}.idx"), read_only)
        except OSError:
            for f in opened:
                f.close()
            os.close(self.rec_fd)
            raise
        self._dat_fd = self.payloads.fd
        self.data_end = 0  # payload bytes in use (where the next payload goes)
        self.eod = 0       # number of objects (the EOD object id)
        self.pos = 0       # current object id
        self._scratch = bytearray()
        self._ahead = b""          # headers from object _ahead_first on, read ahead of the head
        self._ahead_first = 0
        self.recovered_bytes = 0   # torn tail cut on open (both files)
        self.damaged = 0
        """Bytes after the last readable object that the open kept (not a torn tail):
        reading there is MEDIUM ERROR; writing there overwrites them, as on tape."""
        try:
            self._recover()
        except OSError:
            self.close()
            raise

    # -- open / recovery ---------------------------------------------------------
    def _header(self, obj: int) -> record.Header | None:
        """The header of object ``obj``, or None where it is damaged or cannot be read."""
        try:
            return _decode(os.pread(self.rec_fd, HEADER_SIZE, obj * HEADER_SIZE), obj)
        except OSError:
            return None

    def _recover(self) -> None:
        rec_size = os.fstat(self.rec_fd).st_size
        dat_size = self.payloads.size
        loaded = self.index.load(dat_size)
        # The newest checkpoint must name the payload offset the record table holds for
        # its object; if it does not, the index belongs to other files: rebuild it.
        start_obj, start_off = 0, 0
        if self.index.checkpoints:
            start_obj, start_off = self.index.checkpoint_for(self.index.last_checkpoint_object)
            h = self._header(start_obj)
            if h is None or h.offset != start_off:
                self.index.reset()
                start_obj, start_off = 0, 0
        before = [(int(k), o) for k, o, _ in loaded if o >= start_obj]
        self.index.forget_from(start_obj)  # re-derived by the scan below
        obj, off = start_obj, start_off
        slots = rec_size // HEADER_SIZE
        last: record.Header | None = None
        while obj < slots:
            chunk = os.pread(self.rec_fd, min(_SCAN, slots - obj) * HEADER_SIZE, obj * HEADER_SIZE)
            ok = True
            for at in range(0, len(chunk) - HEADER_SIZE + 1, HEADER_SIZE):
                h = _decode(chunk[at:at + HEADER_SIZE], obj)
                if h is None or h.offset != off or h.end > dat_size:
                    ok = False
                    break
                self.index.remember(obj, off, _MARK_ENTRY.get(h.kind))
                last = h
                obj += 1
                off = h.end
            if not ok or not chunk:
                break
        torn = self._torn_at(obj, rec_size, off, dat_size)
        # The last whole record may be torn too (a power loss can leave zeros where a
        # valid header's payload was): check its payload.
        if (torn and last is not None and last.stored
                and crc32c(self.payloads.read(last.offset, last.stored)) != last.payload_crc):
            obj, off = obj - 1, last.offset
            self.index.forget_from(obj)
        rec_tail, dat_tail = rec_size - obj * HEADER_SIZE, dat_size - off
        if torn:
            self.recovered_bytes = rec_tail + dat_tail
            if not self.read_only and (rec_tail or dat_tail):
                os.ftruncate(self.rec_fd, obj * HEADER_SIZE)
                self.payloads.shrink(off)
        else:
            self.damaged = rec_tail + dat_tail
        after = self.index.entries_from(start_obj)
        if self.read_only:
            pass                               # the index lives in memory only
        elif before != after or os.fstat(self.index.fd).st_size != self.index.entry_count_bytes():
            try:
                self.index.rewrite()
            except OSError:
                self.index.stale = True        # a full file system: rewritten at a sync point
        self.data_end = off
        self.eod = obj
        self.pos = 0

    def _torn_at(self, obj: int, rec_size: int, data_end: int, dat_size: int) -> bool:
        """Is what follows object ``obj - 1`` what a kill or a power loss leaves of the
        last write, rather than damage to records that may follow?

        A kill leaves a payload without its header (slack in the payload file, which
        a cut also leaves while a view of the bytes is held) or, from a multi-mark
        write, a partial header.  A power loss may leave zeros in the record table, or
        a header whose payload never reached the disk.  Anything else (a damaged
        header with more after it) is damage, and cutting it would destroy records.
        """
        rest = rec_size - obj * HEADER_SIZE
        if rest < HEADER_SIZE:
            return True
        raw = os.pread(self.rec_fd, HEADER_SIZE, obj * HEADER_SIZE)
        h = _decode(raw, obj)
        if h is not None:
            return h.offset == data_end and h.end > dat_size and rest == HEADER_SIZE
        at, zeros = obj * HEADER_SIZE, bytes(1 << 20)
        while at < rec_size:
            chunk = os.pread(self.rec_fd, min(len(zeros), rec_size - at), at)
            if not chunk or chunk != zeros[:len(chunk)]:
                return False
            at += len(chunk)
        return True

    # -- position ---------------------------------------------------------------
    @property
    def at_bop(self) -> bool:
        return self.pos == 0

    @property
    def at_eod(self) -> bool:
        return self.pos == self.eod

    @property
    def end(self) -> int:
        """Bytes the partition holds from BOP to EOD: payloads and a header per object."""
        return self.data_end + self.eod * HEADER_SIZE

    def used_before(self, obj: int | None = None) -> int:
        """Bytes the partition holds from BOP to object ``obj`` (the head by default)."""
        obj = self.pos if obj is None else obj
        return self.end if obj >= self.eod else self._offset_of(obj) + obj * HEADER_SIZE

    def _offset_of(self, obj: int) -> int:
        """Where object ``obj``'s payload starts (or would): from its header, else from
        the nearest readable header before it."""
        if obj >= self.eod:
            return self.data_end
        h = self._header(obj)
        if h is not None:
            return h.offset
        for prior in range(obj - 1, -1, -1):
            h = self._header(prior)
            if h is not None:
                return h.end
        return 0

    @property
    def filemark_count(self) -> int:
        return len(self.index.filemarks)

    def filemarks_before(self, obj: int | None = None) -> int:
        return self.index.filemarks_before(self.pos if obj is None else obj)

    def setmarks_before(self, obj: int | None = None) -> int:
        return self.index.setmarks_before(self.pos if obj is None else obj)

    def filemark(self, k: int) -> int | None:
        """Object id of the k-th filemark (0-based), or None."""
        fm = self.index.filemarks
        return fm[k] if 0 <= k < len(fm) else None

    def setmark(self, k: int) -> int | None:
        sm = self.index.setmarks
        return sm[k] if 0 <= k < len(sm) else None

    def locate(self, obj: int) -> None:
        """Move the head to object ``obj`` (0..eod): the record table is addressed by
        object, so this is O(1)."""
        if not 0 <= obj <= self.eod:
            raise ValueError(f"object {obj} is outside 0..{self.eod}")
        self.pos = obj

    def rewind(self) -> None:
        self.pos = 0

    # -- reading ----------------------------------------------------------------
    def _next_data(self) -> record.Header | ReadResult:
        """The header at the head, the head moved past it; EOD, FILEMARK or SETMARK
        where the object is not a data block."""
        pos = self.pos
        if pos >= self.eod:
            if self.damaged:
                raise MediumError(f"{self.rec_path}: {self.damaged} bytes after object {self.eod} "
                                  "are damaged and cannot be read", self.eod)
            return EOD
        at = (pos - self._ahead_first) * HEADER_SIZE
        if not 0 <= at <= len(self._ahead) - HEADER_SIZE:
            try:
                self._ahead = os.pread(self.rec_fd, min(_AHEAD, self.eod - pos) * HEADER_SIZE, pos * HEADER_SIZE)
            except OSError:
                self._ahead = b""
            self._ahead_first, at = pos, 0
        h = _decode(self._ahead[at:at + HEADER_SIZE], pos)
        if h is None:
            raise MediumError(f"{self.rec_path}: damaged record header at object {pos}", pos)
        self.pos = pos + 1
        if h.kind != _DATA:
            return FILEMARK if h.kind == Kind.FILEMARK else SETMARK
        return h

    def _crc_error(self) -> MediumError:
        return MediumError(f"{self.dat_path}: CRC error in block at object {self.pos - 1}", self.pos - 1)

    def read(self, buf: memoryview, key: bytes | None = None, raw: bool = False) -> ReadResult:
        """Read the object at the head into ``buf`` and move past it.

        At EOD nothing moves.  A block longer than ``buf`` fills ``buf`` and the
        rest is skipped, as a tape drive does for a short read.  An encrypted block
        is decrypted with ``key`` (WrongKey if it is not its key; NoKey without one),
        or with ``raw`` handed over sealed, as it is on the medium.
        """
        h = self._next_data()
        if h.__class__ is ReadResult:
            return h                                          # type: ignore[return-value]
        assert isinstance(h, record.Header)
        if h.flags & _ENCRYPTED:
            return self._read_sealed(buf, h, key, raw)
        n = min(h.length, len(buf))
        if h.algorithm == _NONE and n == h.length:
            got = self.payloads.read_into(buf[:n], h.offset) if n else 0
            if got != n or crc32c(buf[:n]) != h.payload_crc:
                raise self._crc_error()
            return ReadResult(_DATA, h.length, n, h.stored)
        data = self._decoded(h)
        buf[:n] = data[:n]
        return ReadResult(_DATA, h.length, n, h.stored)

    def read_view(self, limit: int, key: bytes | None = None, raw: bool = False) -> ReadResult:
        """Read the object at the head as ``read`` does, but hand its first ``limit``
        bytes back as ``ReadResult.data`` instead of copying them into a buffer: a plain
        block comes as a view of the page cache (payload_file.py), checked in place."""
        h = self._next_data()
        if h.__class__ is ReadResult:
            return h                                          # type: ignore[return-value]
        assert isinstance(h, record.Header)
        if h.flags & _ENCRYPTED:
            buf = memoryview(bytearray(min(limit, h.stored if raw else h.length)))
            r = self._read_sealed(buf, h, key, raw)
            return ReadResult(_DATA, r.length, r.copied, r.stored, True, buf[:r.copied].toreadonly())
        n = min(h.length, limit)
        if h.algorithm == _NONE:
            view = self.payloads.view(h.offset, h.stored) if h.stored else None
            if view is None:                  # not mapped: a copy of its own, not scratch
                view = memoryview(bytearray(h.stored))
                if self.payloads.read_into(view, h.offset) != h.stored:
                    raise self._crc_error()
            if crc32c(view) != h.payload_crc:
                raise self._crc_error()
            return ReadResult(_DATA, h.length, n, h.stored, False, view[:n].toreadonly())
        return ReadResult(_DATA, h.length, n, h.stored, False, self._decoded(h)[:n].toreadonly())

    def _decoded(self, h: record.Header) -> memoryview:
        """A plain or compressed block's host bytes, checked."""
        return self._decompressed(h, self._payload(h))

    def _decompressed(self, h: record.Header, data: bytes | memoryview) -> memoryview:
        """``data`` as the host wrote it, where the header says it was compressed."""
        if h.algorithm == _NONE:
            return memoryview(data)
        try:
            return memoryview(decompress(Algorithm(h.algorithm), data, h.length))
        except Exception as exc:
            raise self._undecodable(self.pos - 1, f": {exc}") from None

    def _undecodable(self, obj: int, detail: str = "") -> MediumError:
        return MediumError(f"{self.dat_path}: undecodable block at object {obj}{detail}", obj)

    def _read_sealed(self, buf: memoryview, h: record.Header, key: bytes | None, raw: bool) -> ReadResult:
        payload = self._payload(h)
        if raw:
            if h.flags & Flags.RAW_READ_DISABLED:
                raise RawReadDisabled(f"{self.dat_path}: the block at object {self.pos - 1} may not be read raw")
            n = min(h.stored, len(buf))
            buf[:n] = payload[:n]
            return ReadResult(Kind.DATA, h.stored, n, h.stored, True)
        if key is None:
            raise NoKey(f"{self.dat_path}: the block at object {self.pos - 1} is encrypted")
        try:
            sealed = encryption.unseal(key, encryption.parse(payload))
        except ValueError:
            raise self._undecodable(self.pos - 1) from None
        n = min(h.length, len(buf))
        buf[:n] = self._decompressed(h, sealed)[:n]
        return ReadResult(Kind.DATA, h.length, n, h.stored, True)

    def crypto_at_head(self, key: bytes | None = None) -> BlockCrypto | None:
        """The encryption of the block at the head, without moving (None if it is not a
        data block); ``decryptable`` says whether ``key`` opens it."""
        if self.pos >= self.eod:
            return None
        h = self._header(self.pos)
        if h is None:
            raise MediumError(f"{self.rec_path}: damaged record header at object {self.pos}", self.pos)
        if h.kind != Kind.DATA:
            return None
        if not h.flags & Flags.ENCRYPTED:
            return BlockCrypto(False)
        pos = self.pos
        self.pos += 1                       # _payload names the object it reads
        try:
            sealed = encryption.parse(self._payload(h))
        except ValueError:
            raise self._undecodable(pos) from None
        finally:
            self.pos = pos
        ok = False
        if key is not None:
            try:
                encryption.unseal(key, sealed)
                ok = True
            except encryption.WrongKey:
                pass
        return BlockCrypto(True, sealed.ukad, sealed.akad, bool(h.flags & Flags.RAW_READ_DISABLED), ok)

    def _payload(self, h: record.Header) -> memoryview:
        """The block's stored bytes, copied into scratch and checked (the object before
        the head is the one named in an error)."""
        if len(self._scratch) < h.stored:
            self._scratch = bytearray(h.stored)
        view = memoryview(self._scratch)[: h.stored]
        got = self.payloads.read_into(view, h.offset) if h.stored else 0
        if got != h.stored or crc32c(view) != h.payload_crc:
            raise self._crc_error()
        return view

    def peek(self) -> Kind | None:
        """Kind of the object at the head without moving (None at EOD)."""
        if self.pos >= self.eod:
            return None
        h = self._header(self.pos)
        if h is None:
            raise MediumError(f"{self.rec_path}: damaged record header at object {self.pos}", self.pos)
        return h.kind

    def block_length_at_head(self) -> int | None:
        if self.pos >= self.eod:
            return None
        h = self._header(self.pos)
        return h.length if h is not None and h.kind == Kind.DATA else None

    # -- writing ----------------------------------------------------------------
    def _check_writable(self) -> None:
        if self.read_only:
            raise WriteProtected(f"{self.rec_path}: the cartridge's files are read-only")

    def truncate_here(self) -> None:
        """Make the head position the new EOD (a write or erase mid-tape)."""
        self._check_writable()
        if self.pos < self.eod or self.damaged:
            cut = self._offset_of(self.pos)
            self._ahead = b""
            self.index.cut(self.pos)
            os.ftruncate(self.rec_fd, self.pos * HEADER_SIZE)
            self.payloads.shrink(cut)     # or left as slack while a view of it is held
            self.data_end = cut
            self.eod = self.pos
            self.damaged = 0

    def write(self, data: memoryview, algorithm: Algorithm = Algorithm.NONE,
              key: encryption.DataKey | None = None) -> int:
        """Append one data block at the head; return its size on the medium (after
        compression, then encryption with ``key``, as a drive does).

        Raises EndOfMedium (nothing written) when the partition is full; check
        ``in_early_warning`` afterwards for the early-warning zone.
        """
        payload: memoryview | bytes = data
        stored_algorithm = _NONE
        if algorithm != _NONE and len(data):
            packed = compress(algorithm, data)
            if len(packed) < len(data):
                payload, stored_algorithm = packed, algorithm
        flags = 0
        if key is not None:
            self._check_writable()
            payload = encryption.seal(key, payload)
            flags = Flags.ENCRYPTED | (Flags.RAW_READ_DISABLED if key.protect else 0)
        self._append(_DATA, stored_algorithm, len(data), payload, flags)
        return len(payload)

    def write_mark(self, kind: Kind) -> int:
        return self._append(kind, Algorithm.NONE, 0, b"")

    def write_marks(self, kind: Kind, count: int) -> int:
        """Write up to ``count`` filemarks (or setmarks) in one system call.

        Returns how many were written: fewer than ``count`` only when the
        partition filled up, in which case EndOfMedium follows on the next.
        """
        self.truncate_here()
        fit = min(count, max(0, (self.capacity - self.end) // HEADER_SIZE))
        if fit == 0:
            if count:
                raise EndOfMedium(f"partition {self.number} is full")
            return 0
        off = self.data_end
        heads = b"".join(_encode(kind, _NONE, 0, 0, off, 0, self.pos + i) for i in range(fit))
        try:
            write_fully(self.rec_fd, heads, self.eod * HEADER_SIZE)
        except OSError as e:
            raise self._not_written(e) from None
        self.index.note(self.pos, off, _MARK_ENTRY[kind], fit, 0)
        self.pos += fit
        self.eod = self.pos
        return fit

    def _not_written(self, e: OSError) -> CartridgeError:
        """Take back a record the host could not store, and say what the drive answers:
        a full file system is the end of the medium (the host can go on with another
        cartridge); any other error is a write error."""
        try:
            os.ftruncate(self.rec_fd, self.eod * HEADER_SIZE)
            self.payloads.shrink(self.data_end)
        except OSError:
            pass                       # the next open cuts the torn tail instead
        if e.errno in NO_ROOM:
            return EndOfMedium(f"{self.dat_path}: the file system holding it is full ({e.strerror})")
        return WriteFailure(f"{self.dat_path}: {e.strerror}")

    def room_for(self, stored: int) -> bool:
        return self.used_before() + HEADER_SIZE + stored <= self.capacity

    def _append(self, kind: Kind, algorithm: Algorithm, length: int, payload: memoryview | bytes,
                flags: int = 0) -> int:
        if self.read_only:
            self._check_writable()
        stored = len(payload)
        if self.pos != self.eod or self.damaged:
            if not self.room_for(stored):
                raise EndOfMedium(f"partition {self.number} is full")
            self.truncate_here()
        elif self.data_end + (self.eod + 1) * HEADER_SIZE + stored > self.capacity:
            raise EndOfMedium(f"partition {self.number} is full")
        obj, off = self.pos, self.data_end
        head = _encode(kind, algorithm, length, stored, off, crc32c(payload) if stored else 0, obj, flags)
        try:
            if stored and os.pwrite(self._dat_fd, payload, off) != stored:
                self.payloads.write(payload, off)          # a short write: write it whole
            os.pwrite(self.rec_fd, head, obj * HEADER_SIZE)   # 32 bytes in one page: whole or not at all
        except OSError as e:
            raise self._not_written(e) from None
        if obj % CHECKPOINT_EVERY == 0 or kind is not _DATA:
            self.index.note(obj, off, _MARK_ENTRY.get(kind))
        self.data_end = off + stored
        self.pos = self.eod = obj + 1
        return HEADER_SIZE + stored

    @property
    def in_early_warning(self) -> bool:
        return self.end >= self.capacity - self.early_warning

    @property
    def remaining(self) -> int:
        return max(0, self.capacity - self.end)

    def erase_all(self) -> None:
        self.rewind()
        self.truncate_here()

    def sync(self) -> None:
        """A sync point: payloads, then headers, then the index reach the disk; slack a
        cut could not remove while a view of it was held goes now if it can."""
        if self.read_only:
            return
        try:
            if not self.damaged:
                self.payloads.shrink(self.data_end)
            os.fsync(self._dat_fd)
            os.fsync(self.rec_fd)
        except OSError as e:
            raise WriteFailure(f"{self.rec_path}: the records could not be made durable: {e.strerror}") from None
        self.index.sync()

    def close(self) -> None:
        os.close(self.rec_fd)
        self.payloads.close()
        self.index.close()
