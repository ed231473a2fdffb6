"""What every session of one server shares: the backend, the users, who we say we are.

A :class:`ServerContext` is built once per server (``NdmpServer`` does it) and
handed to each :class:`~ndmp.session.Session`; services read it through the
session state.  The clock is injectable so tests do not depend on time.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata

from .auth import Authenticator
from .backend import Backend
from .record import DEFAULT_MAX_RECORD_SIZE

__all__ = ["UNAUTHENTICATED_MAX_RECORD_SIZE", "ServerContext", "ServerIdentity"]

# Before authentication a peer may only send small requests (the biggest is
# CONNECT_CLIENT_AUTH with a name and a password): a stranger cannot make the
# server buffer 16 MiB per connection.
UNAUTHENTICATED_MAX_RECORD_SIZE = 64 * 1024


def _revision() -> str:
    try:
        return metadata.version("vtl")
    except metadata.PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class ServerIdentity:
    """CONFIG_GET_SERVER_INFO's vendor, product and revision."""

    vendor: str = "vtl"
    product: str = "Virtual Tape Library NDMP server"
    revision: str = field(default_factory=_revision)


@dataclass
class ServerContext:
    backend: Backend
    auth: Authenticator
    identity: ServerIdentity = field(default_factory=ServerIdentity)
    clock: Callable[[], float] = time.time
    max_record_size: int = DEFAULT_MAX_RECORD_SIZE
    unauthenticated_max_record_size: int = UNAUTHENTICATED_MAX_RECORD_SIZE
