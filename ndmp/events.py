"""What a Session tells its owner (the h11 way: events, not callbacks into I/O).

``Session.events()`` returns these in the order they happened.  The asyncio
edge logs them; management (``vtl ndmp status``) and the backup event log
read the session's state instead.  Nothing here is needed to keep a session
working: an owner that ignores every event still gets a correct server.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Authenticated", "AuthenticationFailed", "Closed", "Event", "Opened", "VersionRefused"]


@dataclass(frozen=True)
class Opened:
    """CONNECT_OPEN agreed on ``protocol_version``."""

    protocol_version: int


@dataclass(frozen=True)
class VersionRefused:
    """CONNECT_OPEN asked for a version we do not speak (the seed's "invalid version number")."""

    protocol_version: int


@dataclass(frozen=True)
class Authenticated:
    """CONNECT_CLIENT_AUTH succeeded; ``method`` is "text" or "md5"."""

    user: str
    role: str
    method: str


@dataclass(frozen=True)
class AuthenticationFailed:
    user: str
    method: str
    reason: str


@dataclass(frozen=True)
class Closed:
    """The session will process no more input; send what ``outgoing()`` holds, then close."""

    reason: str


Event = Opened | VersionRefused | Authenticated | AuthenticationFailed | Closed
