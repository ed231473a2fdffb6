"""The contract between the DATA service and a backup engine (dump, SMTape).

The DATA service owns the data connection, the state machine and the NOTIFY
messages; an engine owns the format and the filesystem.  START_BACKUP and
START_RECOVER[_FILEHIST] ask the engine for a :class:`Job` *before* replying, so
that a bad environment (LEVEL=40, an EXCLUDE with three ``*``, an unknown
volume) is refused in the reply itself; the job then runs on the DATA
service's thread and its outcome becomes NOTIFY_DATA_HALTED.

An engine talks to the DMA only through the :class:`Operation` it is given:
``post`` for FH_ADD_* / LOG_FILE, ``log`` for LOG_MESSAGE, ``read`` for the
NOTIFY_DATA_READ of a direct access recovery, ``processed`` for the byte
counts of DATA_GET_STATE.
"""
from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .constants import DataHaltReason, ErrorCode

__all__ = ["Aborted", "Engine", "EngineError", "Job", "Operation", "Refusal"]


class Refusal(Exception):
    """The operation cannot start: START_* replies ``error`` and nothing runs.  ``str()``
    is the reason, logged and sent to the DMA as a LOG_MESSAGE before the reply."""

    def __init__(self, message: str, error: ErrorCode = ErrorCode.NDMP_ILLEGAL_ARGS_ERR):
        super().__init__(message)
        self.error = error


class EngineError(Exception):
    """A running operation failed: the DATA service logs ``str()`` (the seed's message
    where there is one), posts it as a LOG_MESSAGE and halts with ``halt_reason``."""

    def __init__(self, message: str,
                 halt_reason: DataHaltReason = DataHaltReason.NDMP_DATA_HALT_INTERNAL_ERROR):
        super().__init__(message)
        self.halt_reason = halt_reason


class Aborted(Exception):
    """The DMA aborted (DATA_ABORT) or the session ended: halt with ABORTED."""


@dataclass(eq=False)
class Operation:
    """One backup or recovery as the DATA service hands it to an engine."""

    kind: str                                   # "backup", "recover" or "recover_filehist"
    butype: str
    env: list[tuple[str, str]]                  # as the DMA sent it, in order
    nlist: Sequence[Any] = ()                   # ndmp_name values (recover only)
    stream: socket.socket | None = None         # the data connection, blocking
    session_id: int = 0
    context: Any = None                         # the ServerContext
    post: Callable[[int, Any], None] = lambda code, body: None   # a message to the DMA
    log: Callable[[str, str], None] = lambda level, text: None   # LOG_MESSAGE ("normal"/"debug"/"error"/"warning")
    read: Callable[[int, int], None] = lambda offset, length: None  # NOTIFY_DATA_READ (DAR)
    aborted: threading.Event = field(default_factory=threading.Event)
    bytes_processed: int = 0
    est_bytes_remain: int | None = None

    def value(self, name: str, default: str | None = None) -> str | None:
        """The environment variable ``name`` (case-insensitive; the last one wins)."""
        found = default
        upper = name.upper()
        for key, val in self.env:
            if key.upper() == upper:
                found = val
        return found

    def check_aborted(self) -> None:
        if self.aborted.is_set():
            raise Aborted()

    def processed(self, n: int) -> None:
        self.bytes_processed += n


class Job(Protocol):
    def run(self) -> Sequence[tuple[str, str]]:
        """Do the work; return the environment DATA_GET_ENV answers with afterwards.
        Raises :class:`EngineError` or :class:`Aborted`; any other exception is an
        internal error (logged with its traceback, halted INTERNAL_ERROR)."""
        ...

    def cancel(self) -> None:
        """Called on DATA_ABORT after ``Operation.aborted`` is set: unblock whatever the
        job waits on (the DATA service also shuts the data connection down)."""
        ...


class Engine(Protocol):
    def backup(self, op: Operation) -> Job:
        """Check ``op`` and prepare a backup; raise :class:`Refusal` to refuse it."""
        ...

    def recover(self, op: Operation) -> Job:
        """Check ``op`` and prepare a recovery (``op.kind`` says whether only file
        history is wanted); raise :class:`Refusal` to refuse it."""
        ...
