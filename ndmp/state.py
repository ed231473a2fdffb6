"""The per-session state the services read and change, and the phases of a session.

A session goes CONNECTED (NOTIFY_CONNECTION_STATUS sent, waiting for
CONNECT_OPEN) -> OPEN (version 4 agreed) -> AUTHENTICATED.  Each message of
the dispatch table names the phase it needs; the session refuses it before
that.  Services get this object, never the Session: they change state and
record events, the Session owns the bytes.
"""
from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .auth import Login, User
from .constants import AuthType
from .context import ServerContext
from .events import Event

__all__ = ["Phase", "SessionState"]

log = logging.getLogger("ndmp.session")


def _no_post(code: int, body: Any) -> None:
    raise RuntimeError("this session state is not attached to a Session")


class Phase(enum.IntEnum):
    CONNECTED = 0        # waiting for CONNECT_OPEN
    OPEN = 1             # version agreed, not authenticated
    AUTHENTICATED = 2


@dataclass(eq=False)
class SessionState:
    context: ServerContext
    login: Login
    session_id: int = 0
    peer: str = ""
    local_address: str = ""
    """The server's IP address on this control connection: where a TCP data connection
    is offered (MOVER_LISTEN), so a DMA that reached us can reach the mover."""
    started: float = 0.0
    phase: Phase = Phase.CONNECTED
    protocol_version: int | None = None
    user: User | None = None
    auth_type: AuthType | None = None
    # Extension negotiation (CONFIG_SET_EXT_LIST) is over once a SET_EXT_LIST or any
    # request outside CONNECT and CONFIG has been served.
    extensions_settled: bool = False
    selected_extensions: list[tuple[int, int]] = field(default_factory=list)
    requests: int = 0
    events: list[Event] = field(default_factory=list)
    close_reason: str | None = None
    # What the session holds: each is None or an object with ``release()``, which ends
    # its use and frees the device (a dropped connection must not leave a drive
    # reserved).  Released in the order data, mover, tape, robot.
    data: Any = None
    mover: Any = None
    tape: Any = None
    robot: Any = None
    post: Callable[[int, Any], None] = _no_post
    """Send a post (NOTIFY, LOG, FH) to the DMA: ``post(message_code, body)``.  Safe from
    any thread (the mover's); set by the Session."""

    @property
    def initiator(self) -> str:
        """This session's initiator name on its SCSI paths."""
        return f"{self.context.initiator_prefix}:session{self.session_id}"

    def close(self, reason: str) -> None:
        """Ask the session to stop reading: it closes after sending what is queued."""
        if self.close_reason is None:
            self.close_reason = reason

    def release(self) -> None:
        """Give back everything the session holds (connection gone or session killed)."""
        for name in ("data", "mover", "tape", "robot"):
            held = getattr(self, name)
            if held is None:
                continue
            try:
                held.release()
            except Exception:
                log.exception("session %d: releasing its %s failed", self.session_id, name)
            setattr(self, name, None)
