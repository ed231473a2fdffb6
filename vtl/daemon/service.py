"""What plugs into the daemon.

The daemon owns the node (libraries, store) and a list of services around
it: the control socket now, the TCMU/LIO attach and the NDMP server later.
A service starts after the node is up and stops before it closes, in
reverse order, so nothing reaches a library that is shutting down.  A
service that cannot run here (no kernel target, not root) says so in one line
from ``start`` by raising :class:`ServiceUnavailable`, and the daemon keeps
serving the rest.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..node import Node


class ServiceUnavailable(Exception):
    """This service cannot run on this machine; the message says why, in one line."""


class Service(Protocol):
    name: str

    async def start(self, node: "Node") -> None:
        """Begin serving; return once ready (raise ServiceUnavailable to be skipped)."""

    async def stop(self) -> None:
        """Stop serving; in-flight work is finished or failed cleanly before this returns."""
