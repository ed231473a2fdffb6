"""The per-session state the services read and change, and the phases of a session.

A session goes CONNECTED (NOTIFY_CONNECTION_STATUS sent, waiting for
CONNECT_OPEN) -> OPEN (version 4 agreed) -> AUTHENTICATED.  Each message of
the dispatch table names the phase it needs; the session refuses it before
that.  Services get this object, never the Session: they change state and
record events, the Session owns the bytes.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field

from .auth import Login, User
from .constants import AuthType
from .context import ServerContext
from .events import Event

__all__ = ["Phase", "SessionState"]


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

    def close(self, reason: str) -> None:
        """Ask the session to stop reading: it closes after sending what is queued."""
        if self.close_reason is None:
            self.close_reason = reason
