"""The NDMP DATA service of one session: its state machine and the operation it runs.

The DATA service is the filesystem end of a data connection: a backup engine
writes the image to the connection, a recovery engine reads it back.  This
module decides (which request is legal in which state, what a job's outcome
means, when to notify the DMA) and runs the job; the sockets are the edge
(``ndmp.data_connection``) and the format is the engine's (``ndmp.engine``).

States (NDMP v4, the DATA interface; checked against NDMJOB's ``ndma_data.c``,
``ndma_comm_dispatch.c`` and its ``-o test-data`` suite, and illumos' ndmpd)::

    IDLE --LISTEN--> LISTEN --the mover connects / takes the LOCAL end--> CONNECTED
    IDLE --CONNECT-----------------------------------------------------> CONNECTED
    CONNECTED --START_BACKUP / START_RECOVER[_FILEHIST]--> ACTIVE
    ACTIVE --the job ends / fails / the connection breaks--> HALTED
    LISTEN, CONNECTED, ACTIVE --ABORT--> HALTED(ABORTED)
    HALTED --STOP--> IDLE

Refusals (NDMP_ILLEGAL_STATE_ERR unless said): LISTEN and CONNECT check their
address type first (NDMP_ILLEGAL_ARGS_ERR), then need IDLE; LISTEN and a TCP
CONNECT need the session's own mover IDLE (one session cannot be both ends of
a TCP connection: NDMJOB's rule, which our mover mirrors for the DATA service),
a LOCAL CONNECT needs the session's mover listening on LOCAL.  START_* needs
CONNECTED and, over LOCAL, the mover ACTIVE in the mode the operation needs
(READ for a backup, WRITE for a recovery); over TCP the session's own mover
IDLE.  A START that arrives in LISTEN on TCP waits (``accept_grace``) for the
connection: after DATA_LISTEN a DMA sends MOVER_CONNECT to the tape server and
then START at once (NDMJOB's ``-o swap-connect``), and cannot know that our
accept has not run yet.  An unknown butype is NDMP_ILLEGAL_ARGS_ERR.  ABORT
works in LISTEN, CONNECTED and ACTIVE, STOP in HALTED only, GET_ENV once a
backup has started (ACTIVE or HALTED).

Engines: START_* looks the engine up by butype, builds an
:class:`~ndmp.engine.Operation` and calls ``engine.backup(op)`` or
``engine.recover(op)`` on the thread serving the request, so that a
:class:`~ndmp.engine.Refusal` is the reply's error (with a LOG_MESSAGE giving
the reason).  ``job.run()`` then runs on a thread of its own; its outcome is the
halt: SUCCESSFUL when it returns (its environment is what GET_ENV answers),
the EngineError's halt reason, ABORTED after DATA_ABORT or
:class:`~ndmp.engine.Aborted`, CONNECT_ERROR when the data connection broke,
INTERNAL_ERROR for anything else (traceback in our log).  Every halt posts
NOTIFY_DATA_HALTED once and closes the data connection (the mover sees the end
of the stream).  DATA_ABORT sets ``op.aborted``, calls ``job.cancel()``, shuts the
connection down and waits (bounded) for the job.

Session limits: each running operation holds one slot of the server's
``DataOperations`` from START to the halt; a START beyond the limit is
refused with NDMP_DEVICE_BUSY_ERR (the backup engine is busy: retry later, which
is the seed's corrective action; ILLEGAL_STATE would tell the DMA its own
sequence of requests was wrong) and the seed's "Maximum number of allowed
dumps or restores (N) in progress" as LOG_MESSAGE and in our log.

Threads: the session's request thread, the job thread and the accept thread
share this object; every method takes its lock.  Engines are called and
cancelled outside it where they could wait on something of their own.
"""
from __future__ import annotations

import errno
import functools
import itertools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from .constants import (
    AddrType,
    DataHaltReason,
    DataOperation,
    DataState,
    DataStateUnsupported,
    ErrorCode,
    HasAssociatedMessage,
    LogType,
    MoverMode,
    MoverState,
)
from .constants import MessageCode as M
from .engine import Aborted, EngineError, Operation, Refusal
from .messages.common import Addr
from .messages.log import LogMessagePost
from .messages.notify import NotifyDataHaltedPost, NotifyDataReadPost
from .mover import Refused

__all__ = ["ACCEPT_GRACE", "KINDS", "Data", "Refused"]

log = logging.getLogger("ndmp.data")

ACCEPT_GRACE = 5.0        # seconds a START in LISTEN (TCP) waits for the mover's connection

S = DataState
H = DataHaltReason
E = ErrorCode
U64 = (1 << 64) - 1
_LOCAL_ADDR = Addr(addr_type=AddrType.NDMP_ADDR_LOCAL)
_ADDR_TYPES = (AddrType.NDMP_ADDR_LOCAL, AddrType.NDMP_ADDR_TCP)

KINDS = {
    "backup": DataOperation.NDMP_DATA_OP_BACKUP,
    "recover": DataOperation.NDMP_DATA_OP_RECOVER,
    "recover_filehist": DataOperation.NDMP_DATA_OP_RECOVER_FILEHIST,
}
_MOVER_MODE = {"backup": MoverMode.NDMP_MOVER_MODE_READ, "recover": MoverMode.NDMP_MOVER_MODE_WRITE,
               "recover_filehist": MoverMode.NDMP_MOVER_MODE_WRITE}
_LOG_TYPES = {"normal": LogType.NDMP_LOG_NORMAL, "debug": LogType.NDMP_LOG_DEBUG,
              "error": LogType.NDMP_LOG_ERROR, "warning": LogType.NDMP_LOG_WARNING}
_PY_LEVELS = {"debug": logging.DEBUG, "error": logging.ERROR, "warning": logging.WARNING}
_BROKEN = {errno.EPIPE, errno.ECONNRESET, errno.ECONNABORTED, errno.ENOTCONN, errno.ESHUTDOWN,
           errno.ETIMEDOUT, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ENETRESET}


class Data:
    """The DATA service of one session.

    ``engine(butype)`` gives the engine of a backup type or None; ``limits`` is the
    server's ``DataOperations``; ``post(code, body)`` sends a post to the DMA;
    ``mover()`` gives the session's mover or None (read, never locked: its ``state``,
    ``mode``, ``address`` and ``local_peer()``); ``edge(data)`` makes the I/O side of one
    data connection (``ndmp.data_connection.DataConnection``)."""

    def __init__(self, *, engine: Callable[[str], Any], limits: Any, post: Callable[[int, Any], None],
                 edge: Callable[[Data], Any], mover: Callable[[], Any] = lambda: None,
                 session_id: int = 0, context: Any = None, name: str = "data",
                 accept_grace: float = ACCEPT_GRACE):
        self._engine = engine
        self._limits = limits
        self._post = post
        self._make_edge = edge
        self._mover = mover
        self.session_id = session_id
        self.context = context
        self.name = name
        self.accept_grace = accept_grace
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._message_ids = itertools.count(1)
        self._edge: Any = None
        self._released = False
        self._reset()

    def _reset(self) -> None:
        self.state = S.NDMP_DATA_STATE_IDLE
        self.operation = DataOperation.NDMP_DATA_OP_NOACTION
        self.halt_reason = H.NDMP_DATA_HALT_NA
        self.address: Any = _LOCAL_ADDR
        self.read_offset = 0
        self.read_length = 0
        self._op: Operation | None = None
        self._job: Any = None
        self._env: list[tuple[str, str]] = []
        self._slot = False             # holds one of the server's DataOperations

    # ------------------------------------------------------------------ what the DMA sees

    def status(self) -> dict[str, Any]:
        """Every field of DATA_GET_STATE's reply but ``error``, taken at one instant."""
        with self._lock:
            op = self._op
            remain = op.est_bytes_remain if op is not None else None
            unsupported = DataStateUnsupported.NDMP_DATA_STATE_EST_TIME_REMAIN_UNS
            if remain is None:
                unsupported |= DataStateUnsupported.NDMP_DATA_STATE_EST_BYTES_REMAIN_UNS
            return {"unsupported": int(unsupported), "operation": self.operation, "state": self.state,
                    "halt_reason": self.halt_reason,
                    "bytes_processed": _u64(op.bytes_processed if op is not None else 0),
                    "est_bytes_remain": _u64(remain or 0), "est_time_remain": 0,
                    "data_connection_addr": self.address,
                    "read_offset": self.read_offset, "read_length": self.read_length}

    def get_env(self) -> list[tuple[str, str]]:
        """DATA_GET_ENV: the environment of the operation (what the job returned once it did,
        the DMA's until then).  NDMJOB asks after a recovery too, so any operation answers."""
        with self._lock:
            if self.state == S.NDMP_DATA_STATE_IDLE or self.operation == DataOperation.NDMP_DATA_OP_NOACTION:
                raise Refused(E.NDMP_ILLEGAL_STATE_ERR, f"no operation has run (the DATA service is "
                                                        f"{_name(self.state)})")
            return list(self._env)

    # ------------------------------------------------------------------ connection

    def listen(self, addr_type: Any) -> Any:
        """IDLE -> LISTEN; the address the DMA is to give the mover (MOVER_CONNECT)."""
        with self._lock:
            if addr_type not in _ADDR_TYPES:
                raise Refused(E.NDMP_ILLEGAL_ARGS_ERR, f"address type {addr_type!r} is neither LOCAL nor TCP")
            self._require(S.NDMP_DATA_STATE_IDLE)
            self._require_mover_idle()
            edge = self._new_edge()
            try:
                address = edge.listen(AddrType(addr_type))
            except OSError as e:
                self._drop_edge()
                log.error("%s: cannot listen for a data connection: %s", self.name, e)
                raise Refused(E.NDMP_IO_ERR, f"cannot listen: {e}") from None
            self.address = address
            self._set_state(S.NDMP_DATA_STATE_LISTEN)
            log.info("%s: listening for the mover (%s)", self.name, _name(AddrType(addr_type)))
            return address

    def connect(self, addr: Any) -> None:
        """IDLE -> CONNECTED: to a mover listening on TCP (here or on another server), or
        LOCAL to this session's mover, whose end of its LOCAL endpoint we take."""
        addr_type = getattr(addr, "addr_type", None)
        with self._lock:
            if addr_type not in _ADDR_TYPES:
                raise Refused(E.NDMP_ILLEGAL_ARGS_ERR, f"address type {addr_type!r} is neither LOCAL nor TCP")
            if addr_type == AddrType.NDMP_ADDR_TCP and not addr.tcp_addr:
                raise Refused(E.NDMP_ILLEGAL_ARGS_ERR, "DATA_CONNECT with no TCP address")
            self._require(S.NDMP_DATA_STATE_IDLE)
            if addr_type == AddrType.NDMP_ADDR_TCP:
                self._require_mover_idle()
        peer = None
        if addr_type == AddrType.NDMP_ADDR_LOCAL:
            # Outside our lock: the mover takes its own (MOVER_CONNECT LOCAL takes ours).
            take = getattr(self._mover(), "local_peer", None)
            peer = take() if take is not None else None
            if peer is None:
                raise Refused(E.NDMP_ILLEGAL_STATE_ERR, "the mover is not listening on LOCAL")
        with self._lock:
            if self.state != S.NDMP_DATA_STATE_IDLE or self._released:
                _close_quietly(peer)
                raise Refused(E.NDMP_ILLEGAL_STATE_ERR, f"the DATA service is {_name(self.state)}")
            edge = self._new_edge()
            try:
                if peer is not None:
                    edge.adopt(peer)
                else:
                    edge.connect(addr)
            except OSError as e:
                self._drop_edge()
                log.warning("%s: Network communication error: cannot connect to the mover: %s", self.name, e)
                raise Refused(E.NDMP_CONNECT_ERR, f"cannot connect: {e}") from None
            self.address = addr
            self._set_state(S.NDMP_DATA_STATE_CONNECTED)
            log.info("%s: connected to the mover (%s)", self.name, _name(AddrType(addr_type)))

    def local_peer(self) -> Any:
        """For the session's mover (MOVER_CONNECT LOCAL): the other end of our LOCAL endpoint,
        a connected stream socket; we go CONNECTED.  None when not listening on LOCAL."""
        with self._lock:
            if self.state != S.NDMP_DATA_STATE_LISTEN or self._edge is None \
                    or self.address.addr_type != AddrType.NDMP_ADDR_LOCAL:
                return None
            peer = self._edge.local_peer()
            if peer is not None:
                self._set_state(S.NDMP_DATA_STATE_CONNECTED)
            return peer

    # ------------------------------------------------------------------ operations

    def start(self, kind: str, butype: str, env: Sequence[tuple[str, str]], nlist: Sequence[Any] = ()) -> None:
        """START_BACKUP (``kind`` "backup"), START_RECOVER ("recover") or
        START_RECOVER_FILEHIST ("recover_filehist"): CONNECTED -> ACTIVE."""
        if kind not in KINDS:
            raise ValueError(f"unknown operation {kind!r}")
        with self._lock:
            if self.state == S.NDMP_DATA_STATE_LISTEN:
                self._await_connection()
            self._require(S.NDMP_DATA_STATE_CONNECTED)
            self._check_mover(kind)
            engine = self._engine(butype)
            if engine is None:
                text = f"Backup type {butype!r} is not supported"
                self._log_message("error", text, logging.WARNING)
                raise Refused(E.NDMP_ILLEGAL_ARGS_ERR, text)
            if not self._limits.acquire():
                text = f"Maximum number of allowed dumps or restores ({self._limits.limit}) in progress"
                self._log_message("error", text, logging.WARNING)
                raise Refused(E.NDMP_DEVICE_BUSY_ERR, text)
            edge = self._edge
            op = Operation(kind=kind, butype=butype, env=[(str(k), str(v)) for k, v in env], nlist=list(nlist),
                           stream=edge.stream, session_id=self.session_id, context=self.context,
                           post=self._forward, log=self._log_message)
            op.read = functools.partial(self._read, op)
        # The engine prepares outside our lock (it may log from threads of its own meanwhile);
        # nothing else changes a CONNECTED DATA service but the session's own requests.
        try:
            job = engine.backup(op) if kind == "backup" else engine.recover(op)
        except Refusal as e:
            self._limits.release()
            self._log_message("error", str(e), logging.WARNING)
            raise Refused(_refusal_error(e.error), str(e)) from None
        except Exception as e:
            self._limits.release()
            log.exception("%s: the %s engine failed to prepare the %s", self.name, butype, kind)
            self._log_message("error", f"Internal error while preparing the {kind}: {e}", logging.DEBUG)
            raise Refused(E.NDMP_UNDEFINED_ERR, f"internal error: {e}") from None
        with self._lock:
            if self.state != S.NDMP_DATA_STATE_CONNECTED or self._edge is not edge or self._released:
                self._limits.release()
                op.aborted.set()
                self._cancel(job)
                raise Refused(E.NDMP_ILLEGAL_STATE_ERR, f"the DATA service became {_name(self.state)} "
                                                        "while the operation was being prepared")
            self._op, self._job, self._slot = op, job, True
            self._env = list(op.env)
            self.operation = KINDS[kind]
            self._set_state(S.NDMP_DATA_STATE_ACTIVE)
            log.info("%s: %s (%s) started", self.name, kind, butype)
            edge.spawn(kind, functools.partial(self._run, op, job))

    def abort(self) -> None:
        """LISTEN, CONNECTED or ACTIVE -> HALTED(ABORTED); returns once the job has ended
        (or did not within the edge's join timeout)."""
        with self._lock:
            self._require(S.NDMP_DATA_STATE_LISTEN, S.NDMP_DATA_STATE_CONNECTED, S.NDMP_DATA_STATE_ACTIVE)
            edge = self._edge
            if self.state != S.NDMP_DATA_STATE_ACTIVE:
                self._halt(H.NDMP_DATA_HALT_ABORTED)
                op = job = None
            else:
                op, job = self._op, self._job
                assert op is not None
                op.aborted.set()
                log.info("%s: aborting the %s", self.name, op.kind)
        if job is not None:
            self._cancel(job)
        if edge is not None:
            edge.shutdown()
            edge.join()
        if op is not None:
            with self._lock:
                if self._op is op and self.state == S.NDMP_DATA_STATE_ACTIVE:
                    self._halt(H.NDMP_DATA_HALT_ABORTED)

    def stop(self) -> None:
        """HALTED -> IDLE."""
        with self._lock:
            self._require(S.NDMP_DATA_STATE_HALTED)
            edge, self._edge = self._edge, None
        if edge is not None:
            edge.close()
            edge.join()
        with self._lock:
            if self.state == S.NDMP_DATA_STATE_HALTED:
                self._reset()

    def release(self) -> None:
        """The session is over: abort whatever runs, wait (bounded) for it, drop the sockets.
        Never raises."""
        with self._lock:
            self._released = True
            job = None
            if self.state in (S.NDMP_DATA_STATE_LISTEN, S.NDMP_DATA_STATE_CONNECTED):
                self._halt(H.NDMP_DATA_HALT_ABORTED)
            elif self.state == S.NDMP_DATA_STATE_ACTIVE and self._op is not None:
                self._op.aborted.set()
                job = self._job
            op = self._op
            edge, self._edge = self._edge, None
            self._changed.notify_all()
        if job is not None:
            self._cancel(job)
        if edge is not None:
            edge.close()
            edge.join()
        with self._lock:
            if op is not None and self._op is op and self.state == S.NDMP_DATA_STATE_ACTIVE:
                self._halt(H.NDMP_DATA_HALT_ABORTED)

    # ------------------------------------------------------------------ the edge's side

    def connected(self, peer: str) -> bool:
        """A mover connected to our TCP endpoint: LISTEN -> CONNECTED.  False when we no longer
        listen (aborted meanwhile): the edge drops the connection."""
        with self._lock:
            if self.state != S.NDMP_DATA_STATE_LISTEN or self._released:
                return False
            log.info("%s: data connection from %s", self.name, peer or "?")
            self._set_state(S.NDMP_DATA_STATE_CONNECTED)
            return True

    def connection_failed(self, reason: str) -> None:
        """The TCP endpoint could not accept: HALTED(CONNECT_ERROR)."""
        with self._lock:
            if self.state != S.NDMP_DATA_STATE_LISTEN:
                return
            log.warning("%s: Network communication error: %s", self.name, reason)
            self._halt(H.NDMP_DATA_HALT_CONNECT_ERROR)

    # ------------------------------------------------------------------ the job's side

    def _run(self, op: Operation, job: Any) -> None:
        """The job thread: run the job, turn its outcome into the halt."""
        env = None
        message = None
        level = logging.ERROR          # of ``message`` in our log
        try:
            env = [(str(k), str(v)) for k, v in job.run()]
            reason = H.NDMP_DATA_HALT_SUCCESSFUL
        except Aborted:
            reason = H.NDMP_DATA_HALT_ABORTED
        except EngineError as e:
            reason = _halt_reason(e.halt_reason)
            message = str(e)
        except Exception as e:
            if isinstance(e, OSError) and _broken(e):
                reason, level = H.NDMP_DATA_HALT_CONNECT_ERROR, logging.WARNING
                message = f"Network communication error: the data connection failed: {e.strerror or e}"
            else:
                log.exception("%s: the %s failed", self.name, op.kind)
                reason, level = H.NDMP_DATA_HALT_INTERNAL_ERROR, logging.DEBUG   # the traceback is logged
                message = f"Internal error: {type(e).__name__}: {e}"
        if op.aborted.is_set():
            reason, message = H.NDMP_DATA_HALT_ABORTED, None
        with self._lock:
            if self._op is not op or self.state != S.NDMP_DATA_STATE_ACTIVE:
                return              # halted already (an abort that gave up waiting, the session's end)
            if env is not None:
                self._env = env
            if message:
                self._log_message("error", message, level)
            self._halt(reason)

    def _forward(self, code: int, body: Any) -> None:
        """op.post: FH_ADD_*, LOG_FILE... to the DMA (dropped once the session is over)."""
        if not self._released:
            self._post(code, body)

    def _log_message(self, level: str, text: str, py_level: int | None = None) -> None:
        """op.log: one NDMP_LOG_MESSAGE (``level`` "normal", "debug", "error" or "warning"),
        and the same line in our log (at ``py_level`` when given)."""
        level = str(level).lower()
        log.log(py_level if py_level is not None else _PY_LEVELS.get(level, logging.INFO), "%s: %s", self.name, text)
        self._notify(M.NDMP_LOG_MESSAGE, LogMessagePost(
            log_type=_LOG_TYPES.get(level, LogType.NDMP_LOG_NORMAL),
            message_id=next(self._message_ids) & 0xFFFFFFFF, entry=text,
            associated_message_valid=HasAssociatedMessage.NDMP_NO_ASSOCIATED_MESSAGE,
            associated_message_sequence=0))

    def _read(self, op: Operation, offset: int, length: int) -> None:
        """op.read: ask the DMA for ``length`` bytes of the image from ``offset``
        (NOTIFY_DATA_READ; the DMA answers with MOVER_READ)."""
        if not (0 <= offset <= U64 and 0 < length <= U64):
            raise ValueError(f"a read of {length} bytes at {offset} is not one NDMP can ask for")
        with self._lock:
            if self._op is not op or self.state != S.NDMP_DATA_STATE_ACTIVE:
                return
            self.read_offset, self.read_length = offset, length
            self._notify(M.NDMP_NOTIFY_DATA_READ, NotifyDataReadPost(offset=offset, length=length))

    # ------------------------------------------------------------------ helpers

    def _require(self, *states: DataState) -> None:
        if self.state not in states:
            raise Refused(E.NDMP_ILLEGAL_STATE_ERR, f"the DATA service is {_name(self.state)}, not "
                                                    + " or ".join(_name(s) for s in states))

    def _mover_state(self) -> Any:
        mover = self._mover()
        return mover, getattr(mover, "state", MoverState.NDMP_MOVER_STATE_IDLE)

    def _require_mover_idle(self) -> None:
        _, state = self._mover_state()
        if state != MoverState.NDMP_MOVER_STATE_IDLE:
            raise Refused(E.NDMP_ILLEGAL_STATE_ERR, f"the session's mover is {_name(state)}")

    def _check_mover(self, kind: str) -> None:
        """START over LOCAL: the session's mover ACTIVE on LOCAL, in the operation's mode;
        over TCP: the session's own mover IDLE (NDMJOB's data_can_start)."""
        if self.address.addr_type != AddrType.NDMP_ADDR_LOCAL:
            self._require_mover_idle()
            return
        mover, state = self._mover_state()
        if state != MoverState.NDMP_MOVER_STATE_ACTIVE:
            raise Refused(E.NDMP_ILLEGAL_STATE_ERR, f"the mover is {_name(state)}, not ACTIVE")
        if getattr(getattr(mover, "address", None), "addr_type", None) != AddrType.NDMP_ADDR_LOCAL:
            raise Refused(E.NDMP_ILLEGAL_STATE_ERR, "the mover's data connection is not LOCAL")
        mode = getattr(mover, "mode", None)
        if mode != _MOVER_MODE[kind]:
            raise Refused(E.NDMP_ILLEGAL_STATE_ERR, f"a {kind} needs the mover in mode "
                                                    f"{_name(_MOVER_MODE[kind])}, not {_name(mode)}")

    def _await_connection(self) -> None:
        """START in LISTEN on TCP: give the mover's connection ``accept_grace`` to arrive."""
        if self.address.addr_type != AddrType.NDMP_ADDR_TCP:
            return
        deadline = time.monotonic() + self.accept_grace
        while self.state == S.NDMP_DATA_STATE_LISTEN and not self._released:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._changed.wait(left)

    def _new_edge(self) -> Any:
        old, self._edge = self._edge, None
        if old is not None:
            old.close()
        self._edge = self._make_edge(self)
        return self._edge

    def _drop_edge(self) -> None:
        edge, self._edge = self._edge, None
        if edge is not None:
            edge.close()

    def _set_state(self, state: DataState) -> None:
        self.state = state
        self.halt_reason = H.NDMP_DATA_HALT_NA
        self._changed.notify_all()

    def _halt(self, reason: DataHaltReason) -> None:
        self.state = S.NDMP_DATA_STATE_HALTED
        self.halt_reason = reason
        if self._slot:
            self._slot = False
            self._limits.release()
        log.info("%s: halted (%s)", self.name, _name(reason))
        self._notify(M.NDMP_NOTIFY_DATA_HALTED, NotifyDataHaltedPost(reason=reason))
        if self._edge is not None:
            self._edge.close()
        self._changed.notify_all()

    def _notify(self, code: int, body: Any) -> None:
        if self._released:
            return
        try:
            self._post(code, body)
        except Exception:
            log.exception("%s: cannot post %s", self.name, code)

    def _cancel(self, job: Any) -> None:
        try:
            job.cancel()
        except Exception:
            log.exception("%s: cancelling the job failed", self.name)


def _halt_reason(value: Any) -> DataHaltReason:
    """An EngineError's halt reason; one that is not a failure's is an internal error."""
    try:
        reason = DataHaltReason(value)
    except ValueError:
        return H.NDMP_DATA_HALT_INTERNAL_ERROR
    return H.NDMP_DATA_HALT_INTERNAL_ERROR if reason == H.NDMP_DATA_HALT_NA else reason


def _refusal_error(value: Any) -> ErrorCode:
    """A Refusal's error; NO_ERR or a value ndmp_error has not is an argument error."""
    try:
        error = ErrorCode(value)
    except ValueError:
        return E.NDMP_ILLEGAL_ARGS_ERR
    return E.NDMP_ILLEGAL_ARGS_ERR if error == E.NDMP_NO_ERR else error


def _broken(e: OSError) -> bool:
    """Whether ``e`` says the data connection broke (rather than, say, a file failed)."""
    return isinstance(e, ConnectionError) or e.errno in _BROKEN


def _u64(n: int) -> int:
    return max(0, min(int(n), U64))


def _name(value: Any) -> str:
    return getattr(value, "name", str(value))


def _close_quietly(sock: Any) -> None:
    if sock is not None:
        try:
            sock.close()
        except OSError:
            pass
