"""The NDMP mover of one session: its state machine, window and counters (sans-IO).

The mover is the tape end of a data connection.  In mode READ (backup) it reads
the stream from the data connection and writes it to tape in records of
``record_size`` bytes; in mode WRITE (restore) it reads tape records and sends
the bytes the DMA asks for with MOVER_READ.  This module decides everything
(which request is legal in which state, where the window ends, when to pause
for a tape change, what a tape error means) and does no I/O: the sockets and
the threads that move the bytes are the *edge* (``ndmp.mover_pump``), which
asks the mover what to do next and reports what happened.

States (NDMP v4, section 3.6, checked against NDMJOB's ``ndma_tape.c`` /
``ndma_comm_dispatch.c`` and its ``-o test-mover`` suite)::

    IDLE --LISTEN--> LISTEN --connection accepted--> ACTIVE
    IDLE --CONNECT-------------------------------->  ACTIVE
    ACTIVE --end of window / end of medium / seek / filemark--> PAUSED
    PAUSED --CONTINUE--> ACTIVE
    LISTEN, ACTIVE, PAUSED --ABORT / CLOSE / connection end / tape error--> HALTED
    HALTED --STOP--> IDLE

Refusals: a request in the wrong state gets NDMP_ILLEGAL_STATE_ERR; bad
arguments (mode, address type, a window not on record boundaries, a record
size outside ``MoverSettings``) NDMP_ILLEGAL_ARGS_ERR.  LISTEN and CONNECT
check their arguments before the state, SET_WINDOW and SET_RECORD_SIZE the
state first (NDMJOB's orders).  LISTEN and CONNECT need the tape
open (NDMP_DEV_NOT_OPEN_ERR) and, to write a backup, open for writing
(NDMP_PERMISSION_ERR); so does CONTINUE, because the DMA closes and reopens
the tape to change cartridges while the mover is paused.  A second MOVER_READ
while one is being served is NDMP_READ_IN_PROGRESS_ERR.

Stream positions: ``position`` is the offset in the backup stream of the next
byte the mover moves.  MOVER_SET_WINDOW says which part of the stream the
tape now loaded holds, starting at the record where the tape is positioned:
a backup pauses with EOW when the next record would end past the window, and
a restore pauses with SEEK when the DMA asks for bytes outside it.  In a
restore the mover finds a record by spacing (FSR/BSR) from where it last left
the head, counted in records from the window's start (it keeps count rather
than asking the drive, which would cost a READ POSITION per record); after a
filemark it no longer knows, and the next read pauses with SEEK until the DMA
sets a window again.

LOCAL data connections: LISTEN(LOCAL) makes a socket pair; the session's DATA
service takes the other end with :meth:`Mover.local_peer` (the mover goes
ACTIVE), and for CONNECT(LOCAL) the mover takes the DATA service's end with
its ``local_peer()``.  Both sides then read and write a socket, as over TCP.

``record_num`` is the number of records of the stream up to ``position``
(``position // record_size``): a DMA multiplies it by the record size to
learn how much of the stream a tape holds.  ``bytes_moved`` counts bytes
written to tape (whole records, the padding of the last one included) or sent
on the data connection.

Threads: the control connection's worker and the edge's threads share the
mover; every method takes its lock.  ``state.tape`` is read at each use
(``tape()``), never kept across a pause: the DMA may change cartridges.
"""
from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from .constants import (
    AddrType,
    DataState,
    ErrorCode,
    MoverHaltReason,
    MoverMode,
    MoverPauseReason,
    MoverState,
)
from .constants import MessageCode as M
from .context import MoverSettings
from .messages.common import Addr
from .messages.notify import NotifyMoverHaltedPost, NotifyMoverPausedPost

__all__ = ["DEFAULT_RECORD_SIZE", "INFINITY", "Fetch", "Mover", "MoverEdge", "Refused", "Send", "Step"]

log = logging.getLogger("ndmp.mover")

INFINITY = (1 << 64) - 1          # a window length of all ones: no end
DEFAULT_RECORD_SIZE = 10240       # 20 blocks of 512 (tar's default, NDMJOB's initial value)

S = MoverState
P = MoverPauseReason
H = MoverHaltReason
E = ErrorCode
_OK = ErrorCode.NDMP_NO_ERR
_MODES = (MoverMode.NDMP_MOVER_MODE_READ, MoverMode.NDMP_MOVER_MODE_WRITE)
_ADDR_TYPES = (AddrType.NDMP_ADDR_LOCAL, AddrType.NDMP_ADDR_TCP)
_LOCAL_ADDR = Addr(addr_type=AddrType.NDMP_ADDR_LOCAL)


class Refused(Exception):
    """A request the mover will not serve: ``error`` goes in the reply body."""

    def __init__(self, error: ErrorCode, reason: str):
        super().__init__(reason)
        self.error = error


class MoverEdge(Protocol):
    """The I/O side of one data connection (``ndmp.mover_pump.DataPump``).

    ``listen`` and ``connect`` raise ``OSError`` when the endpoint cannot be made;
    after them the edge runs on its own threads and calls the mover back.  The mover
    calls ``wake`` after every change the edge may be waiting for, and ``close``
    (never ``join``) under its lock."""

    def listen(self, mode: MoverMode, addr_type: AddrType) -> Any:
        """Open the endpoint; returns the ndmp_addr to give the DMA."""
        ...

    def connect(self, mode: MoverMode, addr: Any) -> None:
        """Connect to a DATA server listening at ``addr`` (TCP)."""
        ...

    def adopt(self, mode: MoverMode, peer: Any) -> None:
        """Use ``peer`` (a DATA service's LOCAL endpoint) as the connection."""
        ...

    def local_peer(self) -> Any:
        """The other end of a LOCAL endpoint, once; None for TCP or when taken."""
        ...

    def wake(self) -> None: ...

    def close(self) -> None:
        """Close the connection and the listener; wakes every thread of the edge."""
        ...

    def join(self) -> None:
        """Wait (bounded) for the edge's threads to end."""
        ...


class Step(enum.Enum):
    """What the edge does next (the answer of ``next_write`` / ``next_read``)."""

    EXIT = "exit"          # halted or released: stop moving bytes
    WAIT = "wait"          # paused, or waiting for MOVER_READ: wait for ``wake``
    GO = "go"              # (next_write) write the record to the tape given


@dataclass(frozen=True, slots=True)
class Send:
    """(next_read) send ``length`` bytes of the record in hand, from ``start``."""

    start: int
    length: int


@dataclass(frozen=True, slots=True)
class Fetch:
    """(next_read) space ``space`` records (FSR if positive, BSR if negative), then read
    record ``index`` (counted from the window's start) into the record buffer."""

    tape: Any
    space: int
    index: int


class Mover:
    """The mover of one session.

    ``tape()`` gives the session's open tape (``ndmp.tape_drive.OpenTape``) or None;
    ``post(code, body)`` sends a NOTIFY to the DMA; ``data()`` gives the session's DATA
    service or None (see :meth:`connect`); ``edge(mover)`` makes the I/O side of one
    data connection."""

    def __init__(self, settings: MoverSettings, *, tape: Callable[[], Any],
                 post: Callable[[int, Any], None], edge: Callable[[Mover], MoverEdge],
                 data: Callable[[], Any] = lambda: None, name: str = "mover"):
        self.settings = settings
        self._tape = tape
        self._post = post
        self._make_edge = edge
        self._data = data
        self.name = name
        self._lock = threading.RLock()
        self._edge: MoverEdge | None = None
        self._released = False
        self.record_size = DEFAULT_RECORD_SIZE
        self._reset()

    def _reset(self) -> None:
        """IDLE with a fresh window and counters (the record size is a setting: it stays)."""
        self.state = S.NDMP_MOVER_STATE_IDLE
        self.mode = MoverMode.NDMP_MOVER_MODE_READ
        self.pause_reason = P.NDMP_MOVER_PAUSE_NA
        self.halt_reason = H.NDMP_MOVER_HALT_NA
        self.bytes_moved = 0
        self.seek_position = 0
        self.bytes_left_to_read = 0
        self.window_offset = 0
        self.window_length = INFINITY
        self.position = 0
        self.address: Any = _LOCAL_ADDR
        self._head: int | None = 0           # restore: records from the window start to the head
        self._cached: tuple[int, int] | None = None   # restore: (record index, length) in hand

    # ------------------------------------------------------------------ what the DMA sees

    @property
    def uses_tape(self) -> bool:
        """True while ACTIVE: the tape service then refuses commands that would move the
        tape under the mover (allowed while PAUSED: that is how tapes are changed)."""
        return self.state == S.NDMP_MOVER_STATE_ACTIVE

    @property
    def record_num(self) -> int:
        return min(self.position // self.record_size, 0xFFFFFFFF)

    @property
    def window_end(self) -> int:
        if self.window_length == INFINITY:
            return INFINITY
        return min(self.window_offset + self.window_length, INFINITY)

    def status(self) -> dict[str, Any]:
        """Every field of MOVER_GET_STATE's reply but ``error``, taken at one instant."""
        with self._lock:
            return {"mode": self.mode, "state": self.state, "pause_reason": self.pause_reason,
                    "halt_reason": self.halt_reason, "record_size": self.record_size,
                    "record_num": self.record_num, "bytes_moved": self.bytes_moved,
                    "seek_position": self.seek_position, "bytes_left_to_read": self.bytes_left_to_read,
                    "window_offset": self.window_offset, "window_length": self.window_length,
                    "data_connection_addr": self.address}

    # ------------------------------------------------------------------ DMA requests

    def set_record_size(self, length: int) -> None:
        with self._lock:
            self._require(S.NDMP_MOVER_STATE_IDLE, S.NDMP_MOVER_STATE_PAUSED)
            lo, hi = self.settings.min_record_size, self.settings.max_record_size
            if not lo <= length <= hi:
                log.warning("%s: Tape record size must be in the range between %s and %s (asked for %d bytes)",
                            self.name, _kb(lo), _kb(hi), length)
                raise Refused(E.NDMP_ILLEGAL_ARGS_ERR, f"record size {length} outside {lo}..{hi}")
            if length != self.record_size:
                self._cached = None            # the record in hand was cut at the old size
            self.record_size = length

    def set_window(self, offset: int, length: int) -> None:
        """v4: in IDLE (before LISTEN/CONNECT) or PAUSED (a tape change), not in LISTEN."""
        with self._lock:
            self._require(S.NDMP_MOVER_STATE_IDLE, S.NDMP_MOVER_STATE_PAUSED)
            rs = self.record_size
            if offset % rs:
                raise Refused(E.NDMP_ILLEGAL_ARGS_ERR, f"window offset {offset} is not a multiple of "
                                                       f"the record size {rs}")
            # "All ones" and "all ones minus the offset" both mean: to the end of the stream.
            if length != INFINITY and offset + length != INFINITY:
                if length % rs:
                    raise Refused(E.NDMP_ILLEGAL_ARGS_ERR, f"window length {length} is not a multiple of "
                                                           f"the record size {rs}")
                if offset + length > INFINITY:
                    raise Refused(E.NDMP_ILLEGAL_ARGS_ERR, "the window ends past 2^64")
            self.window_offset = offset
            self.window_length = length
            if not self.bytes_left_to_read:    # a restore's pending MOVER_READ keeps its position
                self.position = offset
            self._head = 0                 # the DMA has put the tape at the window's first record
            self._cached = None

    def listen(self, mode: int, addr_type: int) -> Any:
        """IDLE -> LISTEN; returns the address the DATA server is to connect to."""
        with self._lock:
            self._check_args(mode, addr_type)
            self._require(S.NDMP_MOVER_STATE_IDLE)
            self._require_data_idle()
            self._check_tape(mode)
            edge = self._new_edge()
            try:
                address = edge.listen(MoverMode(mode), AddrType(addr_type))
            except OSError as e:
                self._edge = None
                log.error("%s: cannot listen for a data connection: %s", self.name, e)
                raise Refused(E.NDMP_IO_ERR, f"cannot listen: {e}") from None
            self._start(mode, S.NDMP_MOVER_STATE_LISTEN, address)
            return address

    def connect(self, mode: int, addr: Any) -> None:
        """IDLE -> ACTIVE, connected to a DATA server that listens.  LOCAL: the session's
        DATA service must be listening on LOCAL, i.e. ``data().local_peer()`` gives the
        socket to use (None when it is not listening so)."""
        with self._lock:
            addr_type = getattr(addr, "addr_type", None)
            self._check_args(mode, addr_type)
            if addr_type == AddrType.NDMP_ADDR_TCP and not addr.tcp_addr:
                raise Refused(E.NDMP_ILLEGAL_ARGS_ERR, "MOVER_CONNECT with no TCP address")
            self._require(S.NDMP_MOVER_STATE_IDLE)
            peer = None
            if addr_type == AddrType.NDMP_ADDR_LOCAL:
                data = self._data()
                take = getattr(data, "local_peer", None)
                peer = take() if take is not None else None
                if peer is None:
                    raise Refused(E.NDMP_ILLEGAL_STATE_ERR, "the DATA service is not listening on LOCAL")
            else:
                self._require_data_idle()
            try:
                self._check_tape(mode)
            except Refused:
                _close_quietly(peer)
                raise
            edge = self._new_edge()
            try:
                if peer is not None:
                    edge.adopt(MoverMode(mode), peer)
                else:
                    edge.connect(MoverMode(mode), addr)
            except OSError as e:
                self._edge = None
                log.warning("%s: Network communication error: cannot connect to the data server: %s",
                            self.name, e)
                raise Refused(E.NDMP_CONNECT_ERR, f"cannot connect: {e}") from None
            self._start(mode, S.NDMP_MOVER_STATE_ACTIVE, addr)

    def continue_(self) -> None:
        with self._lock:
            self._require(S.NDMP_MOVER_STATE_PAUSED)
            self._check_tape(self.mode)
            self._set_state(S.NDMP_MOVER_STATE_ACTIVE)
            self._wake()

    def abort(self) -> None:
        """LISTEN, ACTIVE or PAUSED -> HALTED(ABORTED); returns once the edge has stopped
        moving bytes, so the tape is the DMA's again."""
        with self._lock:
            self._require(S.NDMP_MOVER_STATE_LISTEN, S.NDMP_MOVER_STATE_ACTIVE, S.NDMP_MOVER_STATE_PAUSED)
            self._halt(H.NDMP_MOVER_HALT_ABORTED)
            edge = self._edge
        if edge is not None:
            edge.join()

    def stop(self) -> None:
        """HALTED -> IDLE."""
        with self._lock:
            self._require(S.NDMP_MOVER_STATE_HALTED)
            edge, self._edge = self._edge, None
        if edge is not None:
            edge.close()
            edge.join()
        with self._lock:
            if self.state == S.NDMP_MOVER_STATE_HALTED:
                self._reset()

    def close(self) -> None:
        """Close the data connection: LISTEN, ACTIVE or PAUSED -> HALTED(CONNECT_CLOSED).  In
        HALTED there is nothing left to close (NO_ERR, as NDMJOB); in IDLE it is refused."""
        with self._lock:
            self._require(S.NDMP_MOVER_STATE_LISTEN, S.NDMP_MOVER_STATE_ACTIVE, S.NDMP_MOVER_STATE_PAUSED,
                          S.NDMP_MOVER_STATE_HALTED)
            if self.state == S.NDMP_MOVER_STATE_HALTED:
                return
            self._halt(H.NDMP_MOVER_HALT_CONNECT_CLOSED)
            edge = self._edge
        if edge is not None:
            edge.join()

    def read(self, offset: int, length: int) -> None:
        """MOVER_READ (or a local DATA service's read): send ``length`` bytes of the stream
        from ``offset``.  ACTIVE in mode WRITE only; one read at a time."""
        with self._lock:
            if self.state != S.NDMP_MOVER_STATE_ACTIVE or self.mode != MoverMode.NDMP_MOVER_MODE_WRITE:
                raise Refused(E.NDMP_ILLEGAL_STATE_ERR, f"MOVER_READ needs an ACTIVE mover in mode WRITE, "
                                                        f"not {_name(self.state)} in {_name(self.mode)}")
            if self.bytes_left_to_read:
                raise Refused(E.NDMP_READ_IN_PROGRESS_ERR, f"{self.bytes_left_to_read} bytes of the previous "
                                                           "MOVER_READ are still to be sent")
            if self._tape() is None:
                raise Refused(E.NDMP_DEV_NOT_OPEN_ERR, "no tape is open")
            if length == 0:
                raise Refused(E.NDMP_ILLEGAL_ARGS_ERR, "MOVER_READ of 0 bytes")
            self.position = offset
            self.seek_position = offset
            self.bytes_left_to_read = length
            self._wake()

    def local_peer(self) -> Any:
        """For the session's DATA service (DATA_CONNECT with a LOCAL address): the other end
        of the mover's LOCAL endpoint, a connected stream socket; the mover goes ACTIVE.
        None when the mover is not listening on LOCAL (DATA_CONNECT then answers
        NDMP_ILLEGAL_STATE_ERR)."""
        with self._lock:
            if self.state != S.NDMP_MOVER_STATE_LISTEN or self._edge is None \
                    or self.address.addr_type != AddrType.NDMP_ADDR_LOCAL:
                return None
            peer = self._edge.local_peer()
            if peer is not None:
                self._set_state(S.NDMP_MOVER_STATE_ACTIVE)
                self._wake()
            return peer

    def release(self) -> None:
        """The session is over: abort whatever runs, wait for the edge, drop the sockets.
        Never raises and never waits unbounded (the edge's join is bounded)."""
        with self._lock:
            self._released = True
            if self.state in (S.NDMP_MOVER_STATE_LISTEN, S.NDMP_MOVER_STATE_ACTIVE, S.NDMP_MOVER_STATE_PAUSED):
                self._halt(H.NDMP_MOVER_HALT_ABORTED)
            edge, self._edge = self._edge, None
        if edge is not None:
            edge.close()
            edge.join()

    # ------------------------------------------------------------------ the edge's side

    def connected(self, peer: str = "") -> bool:
        """A DATA server connected to the TCP endpoint: LISTEN -> ACTIVE.  False when the mover
        no longer listens (aborted meanwhile): the edge drops the connection."""
        with self._lock:
            if self.state != S.NDMP_MOVER_STATE_LISTEN or self._released:
                return False
            log.info("%s: data connection from %s (%s)", self.name, peer or "?", _name(self.mode))
            self._set_state(S.NDMP_MOVER_STATE_ACTIVE)
            return True

    def connection_failed(self, reason: str) -> None:
        """The data connection broke (or could not be accepted): HALTED(CONNECT_ERROR)."""
        with self._lock:
            if self.state in (S.NDMP_MOVER_STATE_IDLE, S.NDMP_MOVER_STATE_HALTED):
                return
            log.warning("%s: Network communication error: %s", self.name, reason)
            self._halt(H.NDMP_MOVER_HALT_CONNECT_ERROR)

    def connection_closed(self) -> None:
        """The DATA server closed its end (restore: it has what it wanted)."""
        with self._lock:
            if self.state in (S.NDMP_MOVER_STATE_IDLE, S.NDMP_MOVER_STATE_HALTED):
                return
            self._halt(H.NDMP_MOVER_HALT_CONNECT_CLOSED)

    def internal_error(self, reason: str) -> None:
        with self._lock:
            if self.state in (S.NDMP_MOVER_STATE_IDLE, S.NDMP_MOVER_STATE_HALTED):
                return
            log.error("%s: %s", self.name, reason)
            self._halt(H.NDMP_MOVER_HALT_INTERNAL_ERROR)

    @property
    def running(self) -> bool:
        """Whether the edge still has a job (not halted, not released)."""
        return self.state != S.NDMP_MOVER_STATE_HALTED and not self._released

    # backup (mode READ): data connection -> tape

    def next_write(self) -> tuple[Step, Any]:
        """Before writing the next record: (GO, tape), (WAIT, None) or (EXIT, None).  A
        record that would end past the window pauses the mover with EOW first."""
        with self._lock:
            if not self.running:
                return Step.EXIT, None
            if self.state != S.NDMP_MOVER_STATE_ACTIVE:
                return Step.WAIT, None
            if self.position + self.record_size > self.window_end:
                self._pause(P.NDMP_MOVER_PAUSE_EOW, self.position)
                return Step.WAIT, None
            tape = self._tape()
            if tape is None:
                self.internal_error("no tape is open to write the backup to")
                return Step.EXIT, None
            return Step.GO, tape

    def wrote(self, io: Any) -> bool:
        """The result of writing one record (a ``TapeIo``); True when the record is on tape.
        Early warning: the record is written, pause with EOM so the DMA changes tapes.  End of
        medium (NDMP_EOM_ERR): it is not, pause with EOM and write it again after CONTINUE.
        Any other error halts with MEDIA_ERROR."""
        with self._lock:
            if not self.running:
                return False
            if io.error == _OK:
                self.position += self.record_size
                self.bytes_moved += self.record_size
                if io.early_warning:
                    log.info("%s: early warning after record %d: pausing for a tape change",
                             self.name, self.record_num)
                    self._pause(P.NDMP_MOVER_PAUSE_EOM, self.position)
                return True
            if io.error == E.NDMP_EOM_ERR:
                log.info("%s: end of medium at record %d: pausing for a tape change", self.name, self.record_num)
                self._pause(P.NDMP_MOVER_PAUSE_EOM, self.position)
                return False
            log.error("%s: writing record %d to tape failed: %s", self.name, self.record_num, _name(io.error))
            self._halt(H.NDMP_MOVER_HALT_MEDIA_ERROR)
            return False

    def next_flush(self) -> tuple[Step, Any]:
        """At the end of the stream, its last record written: (GO, tape) to flush (a sync
        point), WAIT while paused (the last record met early warning: the DMA changes
        tapes first, as NDMJOB's mover has it), or EXIT."""
        with self._lock:
            if not self.running:
                return Step.EXIT, None
            if self.state != S.NDMP_MOVER_STATE_ACTIVE:
                return Step.WAIT, None
            tape = self._tape()
            if tape is None:
                self.internal_error("no tape is open to finish the backup on")
                return Step.EXIT, None
            return Step.GO, tape

    def flushed(self, io: Any) -> None:
        """The stream ended and its last record is on tape (``io`` is the flush's result)."""
        with self._lock:
            if not self.running:
                return
            if io.error != _OK:
                log.error("%s: flushing the tape at the end of the backup failed: %s", self.name, _name(io.error))
                self._halt(H.NDMP_MOVER_HALT_MEDIA_ERROR)
                return
            log.info("%s: backup stream ended after %d bytes (%d records)", self.name, self.bytes_moved,
                     self.record_num)
            self._halt(H.NDMP_MOVER_HALT_CONNECT_CLOSED)

    # restore (mode WRITE): tape -> data connection

    def next_read(self) -> Step | Send | Fetch:
        """What to do for the MOVER_READ being served: send from the record in hand, fetch a
        record (after spacing to it), WAIT (no read pending, or paused), or EXIT."""
        with self._lock:
            while True:
                if not self.running:
                    return Step.EXIT
                if self.state != S.NDMP_MOVER_STATE_ACTIVE or self.bytes_left_to_read == 0:
                    return Step.WAIT
                want = self.position
                if not self.window_offset <= want < self.window_end:
                    self._pause(P.NDMP_MOVER_PAUSE_SEEK, want)
                    return Step.WAIT
                index, start = divmod(want - self.window_offset, self.record_size)
                if self._cached is not None and self._cached[0] == index:
                    length = self._cached[1]
                    if start >= length:            # a short record: the stream goes on at the next one
                        self.position = want - start + self.record_size
                        continue
                    n = min(length - start, self.bytes_left_to_read, self.window_end - want)
                    return Send(start, n)
                if self._head is None:             # past a filemark: only the DMA knows where we are
                    self._pause(P.NDMP_MOVER_PAUSE_SEEK, want)
                    return Step.WAIT
                tape = self._tape()
                if tape is None:
                    self.internal_error("no tape is open to restore from")
                    return Step.EXIT
                return Fetch(tape, index - self._head, index)

    def fetched(self, fetch: Fetch, space: Any | None, io: Any | None) -> None:
        """The results of a Fetch: the spacing's ``TapeIo`` (None if none was needed) and the
        read's (None if the spacing failed).  A filemark or a short FSR pauses with EOF, end
        of data with EOM; other errors halt with MEDIA_ERROR."""
        with self._lock:
            if not self.running:
                return
            want = self.position
            if space is not None and (space.error != _OK or space.count):
                self._cached = None
                if fetch.space > 0 and space.error in (_OK, E.NDMP_EOM_ERR) and self._head is not None:
                    # NDMP's FSR stops before a filemark or at end of data, leaving the residual:
                    # the window's data ends before the record wanted (NDMJOB: EOF).
                    self._head += fetch.space - min(space.count, fetch.space)
                    reason = P.NDMP_MOVER_PAUSE_EOM if space.error == E.NDMP_EOM_ERR else P.NDMP_MOVER_PAUSE_EOF
                    self._pause(reason, want)
                elif fetch.space > 0 and space.error == E.NDMP_EOF_ERR:
                    self._head = None                  # a drive that went past the filemark
                    self._pause(P.NDMP_MOVER_PAUSE_EOF, want)
                else:
                    log.error("%s: spacing %d records failed: %s (residual %d)", self.name, fetch.space,
                              _name(space.error), space.count)
                    self._halt(H.NDMP_MOVER_HALT_MEDIA_ERROR)
                return
            self._head = fetch.index
            if io is None:
                return
            if io.error == _OK and io.lost:
                # Records longer than the record size: the rest of each would be lost (seed:
                # the blocking factor of a restore must be the backup's).
                log.error("%s: Tape record size is too small. Try a larger size. (record %d holds %d bytes "
                          "more than the record size, %d)", self.name, fetch.index, io.lost, self.record_size)
                self._cached = None
                self._halt(H.NDMP_MOVER_HALT_MEDIA_ERROR)
                return
            if io.error == _OK:
                self._head = fetch.index + 1
                self._cached = (fetch.index, io.count)
                return
            self._cached = None
            if io.error == E.NDMP_EOF_ERR:
                self._head = None
                self._pause(P.NDMP_MOVER_PAUSE_EOF, want)
            elif io.error == E.NDMP_EOM_ERR:
                self._pause(P.NDMP_MOVER_PAUSE_EOM, want)
            else:
                log.error("%s: reading record %d of the window failed: %s", self.name, fetch.index,
                          _name(io.error))
                self._halt(H.NDMP_MOVER_HALT_MEDIA_ERROR)

    def sent(self, n: int) -> None:
        with self._lock:
            if not self.running:
                return
            self.position += n
            self.bytes_moved += n
            self.bytes_left_to_read -= n

    # ------------------------------------------------------------------ helpers

    def _require(self, *states: MoverState) -> None:
        if self.state not in states:
            raise Refused(E.NDMP_ILLEGAL_STATE_ERR, f"the mover is {_name(self.state)}, not "
                                                    + " or ".join(_name(s) for s in states))

    def _check_args(self, mode: Any, addr_type: Any) -> None:
        if mode not in _MODES:
            raise Refused(E.NDMP_ILLEGAL_ARGS_ERR, f"mover mode {mode!r} is neither READ nor WRITE")
        if addr_type not in _ADDR_TYPES:
            raise Refused(E.NDMP_ILLEGAL_ARGS_ERR, f"address type {addr_type!r} is neither LOCAL nor TCP")

    def _require_data_idle(self) -> None:
        """NDMJOB and illumos refuse a LISTEN (and a TCP CONNECT) while the session's own DATA
        service is busy: a DATA service that says its ``state`` is not IDLE."""
        state = getattr(self._data(), "state", None)
        if state is not None and state != DataState.NDMP_DATA_STATE_IDLE:
            raise Refused(E.NDMP_ILLEGAL_STATE_ERR, f"the DATA service is {_name(state)}")

    def _check_tape(self, mode: int) -> None:
        tape = self._tape()
        if tape is None:
            raise Refused(E.NDMP_DEV_NOT_OPEN_ERR, "no tape is open")
        if mode == MoverMode.NDMP_MOVER_MODE_READ and not tape.writable:
            raise Refused(E.NDMP_PERMISSION_ERR, f"the tape {getattr(tape, 'device', '')} is open read-only "
                                                 "and a backup writes it")

    def _new_edge(self) -> MoverEdge:
        old, self._edge = self._edge, None
        if old is not None:           # a finished connection (STOP joins it; this is belt and braces)
            old.close()
        self._edge = self._make_edge(self)
        return self._edge

    def _start(self, mode: int, state: MoverState, address: Any) -> None:
        self.mode = MoverMode(mode)
        self.address = address
        self.bytes_left_to_read = 0
        self._set_state(state)
        self._wake()

    def _set_state(self, state: MoverState) -> None:
        self.state = state
        self.pause_reason = P.NDMP_MOVER_PAUSE_NA
        self.halt_reason = H.NDMP_MOVER_HALT_NA

    def _pause(self, reason: MoverPauseReason, seek_position: int) -> None:
        self.state = S.NDMP_MOVER_STATE_PAUSED
        self.pause_reason = reason
        self.halt_reason = H.NDMP_MOVER_HALT_NA
        self.seek_position = seek_position
        self._notify(M.NDMP_NOTIFY_MOVER_PAUSED, NotifyMoverPausedPost(reason=reason, seek_position=seek_position))
        self._wake()

    def _halt(self, reason: MoverHaltReason) -> None:
        self.state = S.NDMP_MOVER_STATE_HALTED
        self.halt_reason = reason
        self.pause_reason = P.NDMP_MOVER_PAUSE_NA
        self.bytes_left_to_read = 0
        self._cached = None
        self._notify(M.NDMP_NOTIFY_MOVER_HALTED, NotifyMoverHaltedPost(reason=reason))
        if self._edge is not None:
            self._edge.close()

    def _notify(self, code: int, body: Any) -> None:
        if self._released:
            return
        try:
            self._post(code, body)
        except Exception:
            log.exception("%s: cannot post %s", self.name, code)

    def _wake(self) -> None:
        if self._edge is not None:
            self._edge.wake()


def _name(value: Any) -> str:
    return getattr(value, "name", str(value))


def _kb(n: int) -> str:
    return f"{n // 1024}KB" if n % 1024 == 0 else f"{n} bytes"


def _close_quietly(sock: Any) -> None:
    if sock is not None:
        try:
            sock.close()
        except OSError:
            pass
