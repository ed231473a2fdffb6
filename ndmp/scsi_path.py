"""The one way the NDMP services reach a device: a SCSI initiator path.

The TAPE and SCSI (robot) services, and the mover behind them, never know
whether the device is one of our emulated drives in this process or a real
drive behind ``/dev/sg3``: they send CDBs through a :class:`ScsiPath` and read
status, sense and data back, exactly as a host's st or ch driver would.  So
there is one source of truth for tape semantics -- the device -- and the
NDMP server works with real hardware too.

Two implementations exist: the in-process path ``vtl`` builds over its own
devices (``vtl.ndmp_backend``), and :class:`ndmp.sg_path.SgPath` (SG_IO).

Buffers: ``data_out`` is sent as given; for data-in the caller may hand a
writable ``memoryview`` that the device fills directly (the mover reads tape
records straight into the buffer it then sends on the data connection).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

__all__ = ["CdbResult", "NoSuchDevice", "PathError", "ScsiPath", "ScsiStatus"]


class ScsiStatus(enum.IntEnum):
    """SAM-5 status codes an initiator may see."""

    GOOD = 0x00
    CHECK_CONDITION = 0x02
    CONDITION_MET = 0x04
    BUSY = 0x08
    RESERVATION_CONFLICT = 0x18
    TASK_SET_FULL = 0x28
    ACA_ACTIVE = 0x30
    TASK_ABORTED = 0x40


class NoSuchDevice(LookupError):
    """The name given to TAPE_OPEN / SCSI_OPEN names no device here (NDMP_NO_DEVICE_ERR)."""


class PathError(OSError):
    """The path itself failed (device gone, SG_IO error): no SCSI status to report
    (NDMP_IO_ERR)."""


@dataclass(slots=True)
class CdbResult:
    """What a command returned.  ``data_in`` holds exactly the bytes transferred: a
    prefix of the caller's buffer when one was given."""

    status: int
    data_in: memoryview = field(default_factory=lambda: memoryview(b""))
    sense: bytes = b""

    @property
    def good(self) -> bool:
        return self.status == ScsiStatus.GOOD


@runtime_checkable
class ScsiPath(Protocol):
    """An open I_T_L nexus to one logical unit.  Each NDMP session opens its own path, so
    the device sees each session as its own initiator (reservations and unit attentions
    are per path).  Safe to call from any one thread at a time."""

    @property
    def address(self) -> tuple[int, int, int]:
        """(controller, target id, LUN) for SCSI_GET_STATE."""

    def execute(self, cdb: bytes | bytearray | memoryview,
                data_out: bytes | bytearray | memoryview | None = None,
                data_in: memoryview | int | None = None, *, timeout: float = 600.0) -> CdbResult:
        """Run one command.  ``data_in`` is a writable buffer or a byte count (the path
        allocates); ``None`` means no data-in expected.  Raises :class:`PathError` only
        when no status could be had at all."""

    def reset(self) -> None:
        """A LOGICAL UNIT RESET of the device (SCSI_RESET_DEVICE)."""

    def close(self) -> None:
        """End this nexus: the device forgets it (SPC-2 reservations it held are released,
        as when a host's I_T nexus is lost)."""
