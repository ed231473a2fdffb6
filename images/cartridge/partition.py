"""One partition of a cartridge: its record log, its index and the head position.

The log is append-only at EOD and cut (``ftruncate``) when something is written
mid-tape, which is exactly the tape rule that a write makes everything after it
unreachable.  Every record goes to the kernel with one ``pwritev`` before it is
acknowledged, so a kill -9 never loses an acknowledged record; sync points add
``fsync`` for power loss.  On open, a torn tail is found by the header and
payload CRCs and cut; damage that a kill cannot cause is kept (see ``_torn_at``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from .checksum import crc32c

from . import encryption, record
from .compression import Algorithm, compress, decompress
from .errors import NO_ROOM, CartridgeError, EndOfMedium, MediumError, NoKey, RawReadDisabled, WriteFailure, WriteProtected
from .files import open_regular
from .index import CHECKPOINT_EVERY, EntryType, Index
from .record import HEADER_SIZE, Flags, Kind

_MARK_ENTRY = {Kind.FILEMARK: EntryType.FILEMARK, Kind.SETMARK: EntryType.SETMARK}


@dataclass(frozen=True, slots=True)
class ReadResult:
    kind: Kind | None   # None at EOD
    length: int = 0     # full length of the block on tape
    copied: int = 0     # bytes placed in the caller's buffer
    stored: int = 0     # bytes the block occupies on the medium (after compression)
    encrypted: bool = False


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
        self.log_path = os.path.join(directory, f"p{number}.log")
        self.fd = open_regular(self.log_path, writable=not read_only)
        try:
            self.index = Index(os.path.join(directory, f"p{number}.idx"), read_only)
        except OSError:
            os.close(self.fd)
            raise
        self.end = 0      # bytes of valid log
        self.eod = 0      # number of objects (the EOD object id)
        self.pos = 0      # current object id
        self._off = 0     # log offset of the current object
        self._scratch = bytearray()
        self.recovered_bytes = 0   # torn tail cut on open (for the log)
        self.damaged = 0
        """Bytes after the last readable object that the open kept (not a torn tail):
        reading there is MEDIUM ERROR; writing there overwrites them, as on tape."""
        try:
            self._recover()
        except OSError:
            self.close()
            raise

    # -- open / recovery ---------------------------------------------------------
    def _header_at(self, offset: int) -> record.Header | None:
        """The header at ``offset``, or None where it is damaged or cannot be read."""
        try:
            return record.decode(os.pread(self.fd, HEADER_SIZE, offset))
        except OSError:
            return None

    def _recover(self) -> None:
        size = os.fstat(self.fd).st_size
        loaded = self.index.load(size)
        # The newest checkpoint must name the object the log holds there; if it
        # does not, the index belongs to another log: rebuild it from scratch.
        start_obj, start_off = 0, 0
        if self.index.checkpoints:
            start_obj, start_off = self.index.checkpoint_for(self.index.last_checkpoint_object)
            h = self._header_at(start_off)
            if h is None or h.object != start_obj:
                self.index.reset()
                start_obj, start_off = 0, 0
        before = [(int(k), o) for k, o, _ in loaded if o >= start_obj]
        self.index.forget_from(start_obj)  # re-derived by the scan below
        obj, off = start_obj, start_off
        last: tuple[int, record.Header] | None = None
        while off < size:
            h = self._header_at(off)
            if h is None or h.object != obj or off + h.size > size:
                break
            self.index.remember(obj, off, _MARK_ENTRY.get(h.kind))
            last = (off, h)
            obj += 1
            off += h.size
        torn = off == size or self._torn_at(off, size, obj)
        if torn and last is not None and last[1].stored:
            # The last whole record may be torn too (a power loss can leave zeros behind
            # a valid header): check its payload.
            last_off, h = last
            if crc32c(os.pread(self.fd, h.stored, last_off + HEADER_SIZE)) != h.payload_crc:
                obj, off = obj - 1, last_off
                self.index.forget_from(obj)
        if off < size:
            if torn:
                self.recovered_bytes = size - off
                if not self.read_only:
                    os.ftruncate(self.fd, off)
            else:
                self.damaged = size - off
        after = self.index.entries_from(start_obj)
        if self.read_only:
            pass                               # the index lives in memory only
        elif before != after or os.fstat(self.index.fd).st_size != self.index.entry_count_bytes():
            try:
                self.index.rewrite()
            except OSError:
                self.index.stale = True        # a full file system: rewritten at a sync point
        self.end = off
        self.eod = obj
        self.pos, self._off = 0, 0

    def _torn_at(self, off: int, size: int, obj: int) -> bool:
        """Are the bytes from ``off`` to the end what a kill leaves of the last write?

        A kill stops ``pwritev`` part-way, and the kernel copies in file order, so a
        torn write is a partial header, or a whole header (of the next object) with
        part of its payload.  A power loss may leave zeros instead.  Anything else
        (a damaged header with bytes after it) is damage to records that may follow,
        and cutting it would destroy them.
        """
        if size - off < HEADER_SIZE:
            return True
        h = self._header_at(off)
        if h is not None:
            return h.object == obj and off + h.size > size
        zeros = bytes(1 << 20)
        while off < size:
            chunk = os.pread(self.fd, min(len(zeros), size - off), off)
            if not chunk or chunk != zeros[:len(chunk)]:
                return False
            off += len(chunk)
        return True

    # -- position ---------------------------------------------------------------
    @property
    def at_bop(self) -> bool:
        return self.pos == 0

    @property
    def at_eod(self) -> bool:
        return self.pos == self.eod

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
        """Move the head to object ``obj`` (0..eod)."""
        if not 0 <= obj <= self.eod:
            raise ValueError(f"object {obj} is outside 0..{self.eod}")
        if obj == self.eod:
            self.pos, self._off = obj, self.end
            return
        if self.pos <= obj < self.pos + CHECKPOINT_EVERY:
            cur, off = self.pos, self._off
        else:
            cur, off = self.index.checkpoint_for(obj)
        while cur < obj:
            h = self._header_at(off)
            if h is None:
                raise MediumError(f"{self.log_path}: damaged record header at object {cur}", cur)
            off += h.size
            cur += 1
        self.pos, self._off = obj, off

    def rewind(self) -> None:
        self.pos, self._off = 0, 0

    # -- reading ----------------------------------------------------------------
    def read(self, buf: memoryview, key: bytes | None = None, raw: bool = False) -> ReadResult:
        """Read the object at the head into ``buf`` and move past it.

        At EOD nothing moves.  A block longer than ``buf`` fills ``buf`` and the
        rest is skipped, as a tape drive does for a short read.  An encrypted block
        is decrypted with ``key`` (WrongKey if it is not its key; NoKey without one),
        or with ``raw`` handed over sealed, as it is on the medium.
        """
        if self.pos >= self.eod:
            if self.damaged:
                raise MediumError(f"{self.log_path}: {self.damaged} bytes after object {self.eod} "
                                  "are damaged and cannot be read", self.eod)
            return EOD
        off = self._off
        h = self._header_at(off)
        if h is None:
            raise MediumError(f"{self.log_path}: damaged record header at object {self.pos}", self.pos)
        self.pos += 1
        self._off = off + h.size
        if h.kind != Kind.DATA:
            return FILEMARK if h.kind == Kind.FILEMARK else SETMARK
        if h.flags & Flags.ENCRYPTED:
            return self._read_sealed(buf, off, h, key, raw)
        n = min(h.length, len(buf))
        if h.algorithm == Algorithm.NONE and n == h.length:
            got = self._pread_into(buf[:n], off + HEADER_SIZE) if n else 0
            if got != n or crc32c(buf[:n]) != h.payload_crc:
                raise MediumError(f"{self.log_path}: CRC error in block at object {self.pos - 1}", self.pos - 1)
            return ReadResult(Kind.DATA, h.length, n, h.stored)
        payload = self._read_payload(off, h)
        if h.algorithm != Algorithm.NONE:
            try:
                payload = memoryview(decompress(Algorithm(h.algorithm), payload, h.length))
            except Exception as exc:
                raise MediumError(f"{self.log_path}: undecodable block at object {self.pos - 1}: {exc}",
                                  self.pos - 1) from None
        buf[:n] = payload[:n]
        return ReadResult(Kind.DATA, h.length, n, h.stored)

    def _read_sealed(self, buf: memoryview, off: int, h: record.Header, key: bytes | None,
                     raw: bool) -> ReadResult:
        payload = self._read_payload(off, h)
        if raw:
            if h.flags & Flags.RAW_READ_DISABLED:
                raise RawReadDisabled(f"{self.log_path}: the block at object {self.pos - 1} may not be read raw")
            n = min(h.stored, len(buf))
            buf[:n] = payload[:n]
            return ReadResult(Kind.DATA, h.stored, n, h.stored, True)
        if key is None:
            raise NoKey(f"{self.log_path}: the block at object {self.pos - 1} is encrypted")
        try:
            data: bytes | memoryview = encryption.unseal(key, encryption.parse(payload))
        except ValueError:
            raise MediumError(f"{self.log_path}: undecodable block at object {self.pos - 1}", self.pos - 1) from None
        if h.algorithm != Algorithm.NONE:
            try:
                data = decompress(Algorithm(h.algorithm), data, h.length)
            except Exception as exc:
                raise MediumError(f"{self.log_path}: undecodable block at object {self.pos - 1}: {exc}",
                                  self.pos - 1) from None
        n = min(h.length, len(buf))
        buf[:n] = memoryview(data)[:n]
        return ReadResult(Kind.DATA, h.length, n, h.stored, True)

    def crypto_at_head(self, key: bytes | None = None) -> BlockCrypto | None:
        """The encryption of the block at the head, without moving (None if it is not a
        data block); ``decryptable`` says whether ``key`` opens it."""
        if self.pos >= self.eod:
            return None
        h = self._header_at(self._off)
        if h is None:
            raise MediumError(f"{self.log_path}: damaged record header at object {self.pos}", self.pos)
        if h.kind != Kind.DATA:
            return None
        if not h.flags & Flags.ENCRYPTED:
            return BlockCrypto(False)
        pos = self.pos
        self.pos += 1                       # _read_payload names the object it reads
        try:
            sealed = encryption.parse(self._read_payload(self._off, h))
        except ValueError:
            raise MediumError(f"{self.log_path}: undecodable block at object {pos}", pos) from None
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

    def _pread_into(self, view: memoryview, offset: int) -> int:
        """Bytes read into ``view``; a host I/O error reads as nothing (a MEDIUM ERROR)."""
        try:
            return os.preadv(self.fd, [view], offset)
        except OSError:
            return -1

    def _read_payload(self, off: int, h: record.Header) -> memoryview:
        if len(self._scratch) < h.stored:
            self._scratch = bytearray(h.stored)
        view = memoryview(self._scratch)[: h.stored]
        got = self._pread_into(view, off + HEADER_SIZE)
        if got != h.stored or crc32c(view) != h.payload_crc:
            raise MediumError(f"{self.log_path}: CRC error in block at object {self.pos - 1}", self.pos - 1)
        return view

    def peek(self) -> Kind | None:
        """Kind of the object at the head without moving (None at EOD)."""
        if self.pos >= self.eod:
            return None
        h = self._header_at(self._off)
        if h is None:
            raise MediumError(f"{self.log_path}: damaged record header at object {self.pos}", self.pos)
        return h.kind

    def block_length_at_head(self) -> int | None:
        if self.pos >= self.eod:
            return None
        h = self._header_at(self._off)
        return h.length if h is not None and h.kind == Kind.DATA else None

    # -- writing ----------------------------------------------------------------
    def _check_writable(self) -> None:
        if self.read_only:
            raise WriteProtected(f"{self.log_path}: the cartridge's files are read-only")

    def truncate_here(self) -> None:
        """Make the head position the new EOD (a write or erase mid-tape)."""
        self._check_writable()
        if self.pos < self.eod or self.damaged:
            self.index.cut(self.pos)
            os.ftruncate(self.fd, self._off)
            self.end = self._off
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
        stored_algorithm = Algorithm.NONE
        if algorithm != Algorithm.NONE and len(data):
            packed = compress(algorithm, data)
            if len(packed) < len(data):
                payload, stored_algorithm = packed, algorithm
        flags = 0
        if key is not None:
            self._check_writable()
            payload = encryption.seal(key, payload)
            flags = Flags.ENCRYPTED | (Flags.RAW_READ_DISABLED if key.protect else 0)
        self._append(Kind.DATA, stored_algorithm, len(data), payload, flags)
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
        heads = b"".join(record.encode(kind, Algorithm.NONE, 0, 0, self.pos + i, 0) for i in range(fit))
        try:
            self._write_fully(heads, self.end)
        except OSError as e:
            raise self._not_written(e) from None
        self.index.note(self.pos, self.end, _MARK_ENTRY[kind], fit, HEADER_SIZE)
        self.end += fit * HEADER_SIZE
        self.pos += fit
        self.eod = self.pos
        self._off = self.end
        return fit

    def _not_written(self, e: OSError) -> CartridgeError:
        """Take back a record the host could not store, and say what the drive answers:
        a full file system is the end of the medium (the host can go on with another
        cartridge); any other error is a write error."""
        try:
            os.ftruncate(self.fd, self.end)
        except OSError:
            pass                       # the next open cuts the torn tail instead
        if e.errno in NO_ROOM:
            return EndOfMedium(f"{self.log_path}: the file system holding it is full ({e.strerror})")
        return WriteFailure(f"{self.log_path}: {e.strerror}")

    def _write_fully(self, blob: bytes, offset: int) -> None:
        view = memoryview(blob)
        while view:
            n = os.pwrite(self.fd, view, offset)
            view, offset = view[n:], offset + n

    def room_for(self, stored: int) -> bool:
        base = self._off if self.pos < self.eod else self.end
        return base + HEADER_SIZE + stored <= self.capacity

    def _append(self, kind: Kind, algorithm: Algorithm, length: int, payload: memoryview | bytes,
                flags: int = 0) -> int:
        self._check_writable()
        stored = len(payload)
        if not self.room_for(stored):
            raise EndOfMedium(f"partition {self.number} is full")
        self.truncate_here()
        head = record.encode(kind, algorithm, length, stored, self.pos,
                             crc32c(payload) if stored else 0, flags)
        total = HEADER_SIZE + stored
        try:
            written = os.pwritev(self.fd, [head, payload] if stored else [head], self.end)
            if written != total:  # a short write to a regular file: finish it
                self._write_fully((head + bytes(payload))[written:], self.end + written)
        except OSError as e:
            raise self._not_written(e) from None
        offset = self.end
        self.index.note(self.pos, offset, _MARK_ENTRY.get(kind))
        self.end += total
        self.pos += 1
        self.eod = self.pos
        self._off = self.end
        return total

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
        if self.read_only:
            return
        try:
            os.fsync(self.fd)
        except OSError as e:
            raise WriteFailure(f"{self.log_path}: the records could not be made durable: {e.strerror}") from None
        self.index.sync()

    def close(self) -> None:
        os.close(self.fd)
        self.index.close()
