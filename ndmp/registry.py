"""The sessions of one node: ids, the session limit, and the handles management uses.

The limit is the seed's "Scalability limits for NDMP sessions": the maximum
number of simultaneous NDMP sessions depends on system memory -- 8 below
16 GB, 20 from 16 GB to below 24 GB, 36 from 24 GB.  The default is the
largest (a lab machine serving emulated drives); ``max_sessions_for_memory``
gives the seed's figure for a given memory size.  A connection beyond the
limit is told why (NOTIFY_CONNECTION_STATUS, reason REFUSED, with the text of
:class:`SessionLimitReached`) and closed.

Management (``vtl ndmp status``, ``probe``, ``kill``, ``kill-all``) works on
the registry: ``sessions()`` lists them, ``kill`` asks the owner of a session
(the asyncio edge) to shut it down through the callback it registered.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

from .session import Session, SessionInfo

__all__ = [
    "DEFAULT_MAX_SESSIONS",
    "SessionLimitReached",
    "SessionRegistry",
    "max_sessions_for_memory",
]

GIB = 1024 ** 3
DEFAULT_MAX_SESSIONS = 36
KILLED_TEXT = "the NDMP session was terminated by an administrator"


def max_sessions_for_memory(memory_bytes: int) -> int:
    """The seed's table: < 16 GB -> 8, < 24 GB -> 20, otherwise 36."""
    if memory_bytes < 16 * GIB:
        return 8
    if memory_bytes < 24 * GIB:
        return 20
    return 36


class SessionLimitReached(Exception):
    """A new connection would exceed the maximum number of NDMP sessions."""

    def __init__(self, maximum: int):
        super().__init__(f"NDMP session limit reached: this node already has {maximum} NDMP sessions, "
                         f"the maximum; close an idle session (vtl ndmp status / vtl ndmp kill) or try later")
        self.maximum = maximum


@dataclass
class _Entry:
    peer: str
    session: Session | None = None
    kill: Callable[[str], None] | None = None


class SessionRegistry:
    """Session ids (from 1, never reused while the registry lives) and the limit."""

    def __init__(self, max_sessions: int = DEFAULT_MAX_SESSIONS):
        if max_sessions < 1:
            raise ValueError(f"the maximum number of NDMP sessions must be at least 1, not {max_sessions}")
        self.max_sessions = max_sessions
        self._ids = itertools.count(1)
        self._entries: dict[int, _Entry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def reserve(self, peer: str = "") -> int:
        """A session id for a new connection, or SessionLimitReached."""
        if len(self._entries) >= self.max_sessions:
            raise SessionLimitReached(self.max_sessions)
        sid = next(self._ids)
        self._entries[sid] = _Entry(peer)
        return sid

    def attach(self, session_id: int, session: Session, kill: Callable[[str], None] | None = None) -> None:
        """Bind the reserved id to its session and to the owner's way of ending it."""
        entry = self._entries[session_id]
        entry.session, entry.kill = session, kill

    def release(self, session_id: int) -> None:
        """The connection is gone; its slot is free."""
        self._entries.pop(session_id, None)

    def sessions(self) -> list[SessionInfo]:
        return [e.session.info() for _, e in sorted(self._entries.items()) if e.session is not None]

    def get(self, session_id: int) -> Session | None:
        entry = self._entries.get(session_id)
        return entry.session if entry else None

    def kill(self, session_id: int, text: str = KILLED_TEXT) -> bool:
        """End one session; False when there is no such session."""
        entry = self._entries.get(session_id)
        if entry is None or entry.session is None:
            return False
        if entry.kill is not None:
            entry.kill(text)
        else:
            entry.session.shutdown(text)
        return True

    def kill_all(self, text: str = KILLED_TEXT) -> int:
        """End every session; returns how many."""
        return sum(self.kill(sid, text) for sid in list(self._entries))
