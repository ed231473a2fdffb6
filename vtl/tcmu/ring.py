"""The TCMU command ring over a shared buffer, sans-IO.

The kernel appends entries at ``cmd_head``; we consume them at ``cmd_tail``,
in order, and complete each by writing its response in place and moving the
tail past it.  This module does exactly that over any writable buffer (the
uio mmap in production, a shared file or a bytearray in tests) and nothing
else: no file descriptors, no threads, no SCSI semantics beyond the sense
bytes it needs to refuse an entry.  Waiting and signalling are the
doorbell's; deciding what a CDB means is the device's.

The kernel is trusted to follow the ABI, but what it wrote is checked before
it is used, because a wrong offset here would make the device read or write
someone else's memory.  An entry whose own fields are inconsistent (iovecs
outside the data area, a CDB outside the entry) is answered CHECK CONDITION,
HARDWARE ERROR, INTERNAL TARGET FAILURE and skipped.  An entry whose *length*
is impossible cannot be skipped (we would not know where the next one
starts), so that raises :class:`RingError` and the device stops.

Memory ordering: the kernel publishes an entry before it moves ``cmd_head``,
and we write a response before we move ``cmd_tail``.  On x86 (TSO) plain
loads and stores keep that order, which is all this module relies on, as long
as each access to ``cmd_head``/``cmd_tail`` is a single 32-bit load or store
(:func:`~vtl.tcmu.layout.mailbox_words`; never ``struct.pack_into``).
"""
from __future__ import annotations

import logging

from scsi.sense import Asc, Sense, SenseKey
from scsi.status import Status

from .counters import DeviceCounters
from .layout import (
    ENTRY_SIZE, FLAG_CAP_READ_LEN, HDR_S, HDR_SIZE, HEAD_WORD, IOV_OFFSET, IOVEC_S, IOVEC_SIZE,
    MAILBOX_HEAD_S, MAILBOX_SIZE, MAILBOX_VERSION, OP_ALIGN_SIZE, OP_CMD, OP_MASK, OP_PAD, OP_TMR,
    REQ_OFFSET, REQ_S, RSP_OFFSET, RSP_S, RSP_STATUS_S, SENSE_BUFFERSIZE, TAIL_WORD, UFLAG_READ_LEN,
    UFLAG_UNKNOWN_OP, UFLAGS_OFFSET, VARIABLE_LENGTH_CMD, cdb_size, mailbox_words,
)

log = logging.getLogger(__name__)

_CDB_SIZE = tuple(cdb_size(group << 5) for group in range(8))
"""CDB length by group code (at most 16 bytes; a variable-length CDB takes the general path)."""

HARDWARE_ERROR_SENSE = Sense.of(SenseKey.HARDWARE_ERROR, Asc.INTERNAL_TARGET_FAILURE).encode()
"""Fixed-format sense for entries we refuse (and targets that raise): 04/44/00."""

_hdr = HDR_S.unpack_from
_req = REQ_S.unpack_from
_iov = IOVEC_S.unpack_from
_rsp = RSP_S.pack_into
_status = RSP_STATUS_S.pack_into


class RingError(Exception):
    """The ring cannot be walked any further (bad mailbox, head, or entry length)."""


class Command:
    """One CMD entry at the tail, decoded; valid until :meth:`Ring.complete`.

    ``cdb`` and (for a single iovec) ``data`` are views of the shared buffer, not
    copies.  ``data`` is the whole data buffer the kernel allocated; the ring does
    not know its direction, so the caller offers it both as data-out and data-in.
    """

    __slots__ = ("position", "length", "cmd_id", "cdb", "data", "iovecs", "split")

    def __init__(self, position: int, length: int, cmd_id: int, cdb: memoryview,
                 data: memoryview | None, iovecs: list[tuple[int, int]], split: bool):
        self.position = position
        """Offset of the entry in the ring (the tail while it is pending)."""
        self.length = length
        self.cmd_id = cmd_id
        self.cdb = cdb
        self.data = data
        self.iovecs = iovecs
        """(offset in the buffer, length) as the kernel wrote them."""
        self.split = split
        """True when ``data`` is the ring's scratch buffer gathered from several iovecs."""

    def __repr__(self) -> str:
        return (f"Command(id={self.cmd_id}, at={self.position}, cdb={bytes(self.cdb).hex()}, "
                f"iovecs={self.iovecs})")


class Ring:
    """The consumer side of one device's command ring.

    ``buffer`` is the whole map (mailbox at 0, ring at ``cmdr_off``, data area
    after).  Entries are consumed strictly in order: :meth:`next` returns the
    command at the tail (skipping PAD, TMR, unknown and refused entries itself),
    and :meth:`complete` must answer it before :meth:`next` moves on.
    """

    def __init__(self, buffer, counters: DeviceCounters | None = None):
        mv = memoryview(buffer)
        if mv.format != "B" or mv.ndim != 1:
            mv = mv.cast("B")
        if mv.readonly:
            raise ValueError("the ring buffer must be writable")
        if len(mv) < MAILBOX_SIZE:
            raise RingError(f"map of {len(mv)} bytes is smaller than the mailbox")
        version, flags, cmdr_off, cmdr_size, _head = MAILBOX_HEAD_S.unpack_from(mv, 0)
        if version != MAILBOX_VERSION:
            raise RingError(f"mailbox version {version}, expected {MAILBOX_VERSION}")
        if (cmdr_off < MAILBOX_SIZE or cmdr_size < ENTRY_SIZE or cmdr_size % OP_ALIGN_SIZE
                or cmdr_off + cmdr_size > len(mv)):
            raise RingError(f"ring at {cmdr_off} of {cmdr_size} bytes does not fit a map of {len(mv)}")
        self._mv = mv
        self._words = mailbox_words(mv)
        self.flags = flags
        self.cmdr_off = cmdr_off
        self.cmdr_size = cmdr_size
        self.data_off = cmdr_off + cmdr_size
        self.data_end = len(mv)
        self.counters = counters if counters is not None else DeviceCounters()
        self._read_len = bool(flags & FLAG_CAP_READ_LEN)
        self._tail = self._check_position(self._words[TAIL_WORD], "cmd_tail")
        self._scratch = memoryview(bytearray(0))
        self._warned = False
        self.dirty = False
        """Set when the tail moved since the caller last cleared it (it owes the kernel a kick)."""

    # -- positions -------------------------------------------------------------
    @property
    def head(self) -> int:
        """Where the kernel will write its next entry (offset in the ring)."""
        return self._check_position(self._words[HEAD_WORD], "cmd_head")

    @property
    def tail(self) -> int:
        """The oldest entry not yet completed (offset in the ring)."""
        return self._tail

    def pending(self) -> bool:
        return self.head != self._tail

    def _check_position(self, pos: int, what: str) -> int:
        if pos >= self.cmdr_size or pos % OP_ALIGN_SIZE:
            raise RingError(f"{what} = {pos} is not an entry boundary in a ring of {self.cmdr_size}")
        return pos

    def _advance(self, position: int, length: int) -> None:
        tail = position + length
        if tail == self.cmdr_size:
            tail = 0
        self._tail = tail
        self._words[TAIL_WORD] = tail        # one 32-bit store: the kernel may be reading it
        self.dirty = True

    # -- consuming ---------------------------------------------------------------
    def next(self, until: int | None = None) -> Command | None:
        """The command at the tail, or None when the ring is empty (or the tail has
        reached ``until``, a head position seen earlier: "only what was queued then").

        PAD and TMR entries are consumed on the way, unknown opcodes are returned
        flagged UNKNOWN_OP, and entries that fail validation are answered HARDWARE
        ERROR; none of them reaches the caller.
        """
        mv = self._mv
        words = self._words
        size = self.cmdr_size
        c = self.counters
        while True:
            head = words[HEAD_WORD] if until is None else until
            tail = self._tail
            if head == tail:
                return None
            if head >= size or head % OP_ALIGN_SIZE:
                self._check_position(head, "cmd_head")
            o = self.cmdr_off + tail
            len_op, cmd_id, _kflags, _uflags = _hdr(mv, o)
            length = len_op & ~OP_MASK
            op = len_op & OP_MASK
            available = head - tail if head > tail else size - tail + head
            if length < HDR_SIZE or length > available or tail + length > size:
                raise RingError(f"entry at {tail} has length {length} (head {head}, ring {size})")
            if op == OP_CMD:
                if length < ENTRY_SIZE:
                    raise RingError(f"command entry at {tail} is {length} bytes, "
                                    f"too short to hold its response")
                cmd = self._decode(o, tail, length, cmd_id)
                if cmd is not None:
                    return cmd
                continue
            if op == OP_PAD:
                c.pads += 1
            elif op == OP_TMR:
                c.tmrs += 1
            else:
                c.unknown_ops += 1
                mv[o + UFLAGS_OFFSET] |= UFLAG_UNKNOWN_OP
                self._warn(f"entry at {tail} has unknown opcode {op}")
            self._advance(tail, length)

    def _decode(self, o: int, position: int, length: int, cmd_id: int) -> Command | None:
        mv = self._mv
        iov_cnt, bidi, dif, cdb_off, _p1, _p2 = _req(mv, o + REQ_OFFSET)
        end = o + length
        if iov_cnt == 1 and not bidi and not dif:
            # What nearly every command is (one contiguous data buffer, a 6-16 byte CDB):
            # the same checks as below, in a straight line.
            base, ln = _iov(mv, o + IOV_OFFSET)
            n = _CDB_SIZE[mv[cdb_off] >> 5] if o + IOV_OFFSET + IOVEC_SIZE <= cdb_off < end else 0
            if (n and cdb_off + n <= end and mv[cdb_off] != VARIABLE_LENGTH_CMD
                    and self.data_off <= base and base + ln <= self.data_end):
                cdb = mv[cdb_off:cdb_off + n]
                if ln:
                    return Command(position, length, cmd_id, cdb, mv[base:base + ln], [(base, ln)], False)
                return Command(position, length, cmd_id, cdb, None, [], False)
        iov_end = o + IOV_OFFSET + (iov_cnt + bidi + dif) * IOVEC_SIZE
        problem = None
        if bidi or dif:
            problem = f"{bidi} bidirectional and {dif} DIF iovecs (not supported)"
        elif iov_end > end:
            problem = f"{iov_cnt} iovecs do not fit an entry of {length} bytes"
        elif not iov_end <= cdb_off < end:
            problem = f"cdb_off {cdb_off} is outside the entry [{iov_end}, {end})"
        else:
            opcode = mv[cdb_off]
            n = cdb_size(opcode, mv[cdb_off + 7] if opcode == VARIABLE_LENGTH_CMD and cdb_off + 7 < end else 0)
            if cdb_off + n > end:
                problem = f"a {n}-byte CDB at {cdb_off} overruns the entry end {end}"
        if problem is None:
            iovecs: list[tuple[int, int]] = []
            lo, hi = self.data_off, self.data_end
            p = o + IOV_OFFSET
            for _ in range(iov_cnt):
                base, ln = _iov(mv, p)
                p += IOVEC_SIZE
                if base < lo or base + ln > hi:
                    problem = f"iovec [{base}, +{ln}) is outside the data area [{lo}, {hi})"
                    break
                if ln:
                    if iovecs and iovecs[-1][0] + iovecs[-1][1] == base:
                        iovecs[-1] = (iovecs[-1][0], iovecs[-1][1] + ln)
                    else:
                        iovecs.append((base, ln))
        if problem is not None:
            self.counters.malformed += 1
            self._warn(f"command entry {cmd_id} at {position}: {problem}")
            _rsp(mv, o + RSP_OFFSET, Status.CHECK_CONDITION, 0, HARDWARE_ERROR_SENSE)
            self._advance(position, length)
            return None
        cdb = mv[cdb_off:cdb_off + n]
        if not iovecs:
            return Command(position, length, cmd_id, cdb, None, iovecs, False)
        if len(iovecs) == 1:
            base, ln = iovecs[0]
            return Command(position, length, cmd_id, cdb, mv[base:base + ln], iovecs, False)
        return Command(position, length, cmd_id, cdb, self._gather(iovecs), iovecs, True)

    def _gather(self, iovecs: list[tuple[int, int]]) -> memoryview:
        """Copy a split buffer into the scratch area: the device wants one contiguous view."""
        total = sum(ln for _, ln in iovecs)
        if len(self._scratch) < total:
            self._scratch = memoryview(bytearray(total))
        s, mv, pos = self._scratch, self._mv, 0
        for base, ln in iovecs:
            s[pos:pos + ln] = mv[base:base + ln]
            pos += ln
        self.counters.gathered += 1
        return s[:total]

    def _scatter(self, cmd: Command, n: int) -> None:
        s, mv, pos = cmd.data, self._mv, 0
        for base, ln in cmd.iovecs:
            if pos >= n:
                break
            k = min(ln, n - pos)
            mv[base:base + k] = s[pos:pos + k]
            pos += k

    # -- completing ----------------------------------------------------------------
    def complete(self, cmd: Command, status: int, sense: bytes | bytearray | memoryview = b"",
                 read_len: int = 0) -> None:
        """Answer ``cmd`` and move the tail past it.

        ``read_len`` is how many bytes of data-in the device produced at the start of
        ``cmd.data``; with it the kernel returns exactly that much (and the residue),
        even with CHECK CONDITION.  Sense longer than 96 bytes is truncated.
        """
        if cmd.position != self._tail:
            raise RingError(f"completing entry at {cmd.position} but the tail is at {self._tail}")
        o = self.cmdr_off + cmd.position
        mv = self._mv
        if read_len < 0 or cmd.data is None:
            read_len = 0
        elif read_len > len(cmd.data):
            read_len = len(cmd.data)
        if read_len:
            if cmd.split:
                self._scatter(cmd, read_len)
            if self._read_len:
                mv[o + UFLAGS_OFFSET] |= UFLAG_READ_LEN
        if sense or status:
            if len(sense) > SENSE_BUFFERSIZE:
                sense = sense[:SENSE_BUFFERSIZE]
            _rsp(mv, o + RSP_OFFSET, status, read_len if self._read_len else 0, bytes(sense))
        else:     # GOOD: the kernel reads the sense buffer only with CHECK CONDITION
            _status(mv, o + RSP_OFFSET, status, read_len if self._read_len else 0)
        self._advance(cmd.position, cmd.length)

    # -- housekeeping ------------------------------------------------------------------
    def _warn(self, message: str) -> None:
        """The first problem of a ring is a warning; the rest are counted, and debug-logged."""
        if not self._warned:
            self._warned = True
            log.warning("TCMU ring: %s (further problems on this ring are only counted)", message)
        else:
            log.debug("TCMU ring: %s", message)

    def release(self) -> None:
        """Drop this ring's view of the buffer so its owner can close the mmap."""
        self._scratch = memoryview(bytearray(0))
        self._words.release()
        self._mv.release()
