"""What a handler may answer besides a reply body.

* ``NO_REPLY``: send nothing (CONNECT_CLOSE is never answered).
* ``raise HeaderError(code)``: a reply with ``code`` in the header and no body
  (NOT_SUPPORTED, NOT_AUTHORIZED, XDR_DECODE...), for requests the server
  refuses as a whole rather than answers with a body error.

Kept apart from ``ndmp.dispatch`` so that services can use them without
importing the table that imports them.
"""
from __future__ import annotations

from typing import Any

from .constants import ErrorCode

__all__ = ["NO_REPLY", "HeaderError"]


class _NoReply:
    def __repr__(self) -> str:
        return "NO_REPLY"


NO_REPLY: Any = _NoReply()


class HeaderError(Exception):
    """Answer the request with ``error`` in the reply header and no body."""

    def __init__(self, error: ErrorCode, reason: str = ""):
        super().__init__(reason or error.name)
        self.error = error
