"""What every session of one server shares: the backend, the users, who we say we are.

A :class:`ServerContext` is built once per server (``NdmpServer`` does it) and
handed to each :class:`~ndmp.session.Session`; services read it through the
session state.  The clock is injectable so tests do not depend on time.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from .auth import Authenticator
from .backend import Backend
from .engine import Engine
from .event_log import EventLog
from .record import DEFAULT_MAX_RECORD_SIZE

__all__ = ["TAPE_RESERVATIONS", "UNAUTHENTICATED_MAX_RECORD_SIZE", "DataOperations", "DeviceClaims", "MoverSettings",
           "ServerContext", "ServerIdentity", "dump_session_limit", "total_memory"]

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


class DeviceClaims:
    """Which session has which device open.  A drive is one session's at a time on this
    server whatever the tape.reservations option says (the option is about *other*
    initiators): TAPE_OPEN of a drive another session holds is NDMP_DEVICE_BUSY_ERR."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owners: dict[str, int] = {}

    def claim(self, key: str, session_id: int) -> int | None:
        """Take ``key`` for ``session_id``; returns the owning session when it is taken."""
        with self._lock:
            owner = self._owners.get(key)
            if owner is not None and owner != session_id:
                return owner
            self._owners[key] = session_id
            return None

    def release(self, key: str, session_id: int) -> None:
        with self._lock:
            if self._owners.get(key) == session_id:
                del self._owners[key]

    def owner(self, key: str) -> int | None:
        with self._lock:
            return self._owners.get(key)


# The seed's tape.reservations option: off (the default), scsi (RESERVE/RELEASE) or
# persistent (PERSISTENT RESERVE OUT, exclusive access).
TAPE_RESERVATIONS = ("off", "scsi", "persistent")


@dataclass
class MoverSettings:
    """The mover's data buffers (seed 004: "data buffers"): how many records may be in
    flight between the data connection and the tape, and the largest record size a DMA
    may set (NDMP_ILLEGAL_ARGS_ERR above it, and below 4 KiB)."""

    buffers: int = 4
    min_record_size: int = 4 * 1024
    max_record_size: int = 256 * 1024


GIB = 1 << 30


def total_memory(meminfo: str | Path = "/proc/meminfo") -> int | None:
    """The machine's memory in bytes (MemTotal), None when it cannot be read."""
    try:
        text = Path(meminfo).read_text()
    except OSError:
        return None
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        if name == "MemTotal":
            fields = rest.split()
            if fields and fields[0].isdigit():
                unit = fields[1].lower() if len(fields) > 1 else "b"
                return int(fields[0]) * {"kb": 1024, "mb": 1 << 20, "gb": GIB}.get(unit, 1)
    return None


def dump_session_limit(memory: int | None) -> int:
    """Seed 002, "Scalability limits for dump backup and restore sessions": 4 below 16 GB of
    memory, 16 from 16 GB, 32 from 24 GB.  MemTotal leaves out what the firmware and the
    kernel keep (a 16 GiB machine shows about 15.6 GiB), so it is rounded to the nearest
    GiB before the comparison; unknown memory gets the smallest class."""
    if memory is None:
        return 4
    gib = round(memory / GIB)
    if gib < 16:
        return 4
    if gib < 24:
        return 16
    return 32


class DataOperations:
    """The backups and restores running on this server (all sessions), and how many may:
    START_BACKUP / START_RECOVER beyond ``limit`` are refused with the seed's "Maximum
    number of allowed dumps or restores (N) in progress"."""

    def __init__(self, limit: int | None = None):
        self.limit = limit if limit is not None else dump_session_limit(total_memory())
        self._lock = threading.Lock()
        self._running = 0

    @property
    def running(self) -> int:
        with self._lock:
            return self._running

    def acquire(self) -> bool:
        """Count one more operation; False (and nothing counted) when ``limit`` run already."""
        with self._lock:
            if self._running >= self.limit:
                return False
            self._running += 1
            return True

    def release(self) -> None:
        with self._lock:
            if self._running > 0:
                self._running -= 1


@dataclass
class ServerContext:
    backend: Backend
    auth: Authenticator
    identity: ServerIdentity = field(default_factory=ServerIdentity)
    clock: Callable[[], float] = time.time
    max_record_size: int = DEFAULT_MAX_RECORD_SIZE
    unauthenticated_max_record_size: int = UNAUTHENTICATED_MAX_RECORD_SIZE
    tape_reservations: str = "off"
    mover: MoverSettings = field(default_factory=MoverSettings)
    claims: DeviceClaims = field(default_factory=DeviceClaims)
    data_address: str = "127.0.0.1"
    """The address data connections listen on (MOVER_LISTEN TCP): the server's own by
    default, set by the edge when it binds."""
    initiator_prefix: str = "ndmp"
    """Initiator names of the sessions' SCSI paths are ``<prefix>:session<N>``."""
    event_log: EventLog | None = None
    """The backup event log (``ndmp.event_log.EventLog``) or None when it is off."""
    engines: Mapping[str, Engine] = field(default_factory=lambda: _default_engines())
    """Backup type name (DATA_START_*'s butype_name) -> ``ndmp.engine.Engine``."""
    data_operations: DataOperations = field(default_factory=DataOperations)
    """The server-wide count and limit of running backups and restores."""


def _default_engines() -> dict[str, Engine]:
    """The dump engine, keeping no dumpdates (``vtl`` gives it a store)."""
    from .dump.engine import (
        DumpEngine,  # the engine's modules import this one's neighbours
    )
    return {"dump": DumpEngine()}
