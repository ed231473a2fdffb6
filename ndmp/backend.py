"""What the NDMP server reports about the machine it runs on: the ``Backend`` protocol.

The CONFIG service answers from a Backend the caller supplies, so the NDMP core
does not know where drives, changers and volumes come from: ``vtl`` provides
its libraries' drives and changers, a test provides a :class:`StaticBackend`.
The values are plain frozen dataclasses in NDMP's vocabulary (a device has a
model and a list of names with attributes), built with :func:`tape_drive` and
:func:`changer` so that device names follow the seed's format (``nrst0a``).
"""
from __future__ import annotations

import platform
import socket
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from tapeconf import COMPRESSION_TYPES, DeviceName, RewindType, TapeConfig

from .constants import TapeAttr
from .scsi_path import NoSuchDevice, ScsiPath

__all__ = [
    "Backend",
    "Device",
    "DeviceEntry",
    "HostInfo",
    "StaticBackend",
    "TapeTarget",
    "Volume",
    "changer",
    "local_host_info",
    "tape_drive",
]


@dataclass(frozen=True)
class HostInfo:
    """CONFIG_GET_HOST_INFO."""

    hostname: str
    os_type: str
    os_vers: str
    hostid: str


def local_host_info() -> HostInfo:
    """This machine: its host name, OS, kernel release and a stable host id.

    The host id is the first 8 hex digits of /etc/machine-id when there is one
    (stable across reboots), else of the MAC-derived node id."""
    try:
        with open("/etc/machine-id", encoding="ascii") as f:
            hostid = f.read().strip()[:8]
    except OSError:
        hostid = ""
    if len(hostid) != 8:
        hostid = f"{uuid.getnode():012x}"[-8:]
    return HostInfo(socket.gethostname(), platform.system(), platform.release(), hostid)


@dataclass(frozen=True)
class Volume:
    """One volume of CONFIG_GET_FS_INFO.  A size or inode count of ``None`` is reported
    as unsupported (the reply's ``unsupported`` mask) rather than as zero.

    ``host_path`` is the host directory the DATA service backs up from and restores
    into ("" keeps the volume out of its reach: nothing of the host is exposed unless
    someone configured it); ``read_only`` refuses restores into it; ``snapshot`` is the
    snapshot method of :mod:`ndmp.snapshot` (auto, btrfs, reflink or copy)."""

    name: str                                  # fs_logical_device, e.g. "/vtl1/vol1"
    fs_type: str = "vtl"
    physical_device: str = ""
    total_size: int | None = None
    used_size: int | None = None
    avail_size: int | None = None
    total_inodes: int | None = None
    used_inodes: int | None = None
    env: tuple[tuple[str, str], ...] = ()
    status: str = "online"
    host_path: str = ""
    read_only: bool = False
    snapshot: str = "auto"


@dataclass(frozen=True)
class DeviceEntry:
    """One name of a device in a CONFIG_GET_TAPE_INFO / GET_SCSI_INFO caplist."""

    name: str
    attr: int = 0
    capability: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Device:
    """A tape drive or a medium changer: its model and every name it answers to."""

    model: str
    entries: tuple[DeviceEntry, ...] = ()


_REWIND_ATTR = {
    RewindType.REWIND: TapeAttr.NDMP_TAPE_ATTR_REWIND,
    RewindType.NO_REWIND: TapeAttr(0),
    RewindType.UNLOAD_RELOAD: TapeAttr.NDMP_TAPE_ATTR_UNLOAD,
}


def _capability(serial: str | None, extra: Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    pairs = [("SERIAL_NUMBER", serial)] if serial else []
    return tuple(pairs) + tuple(extra)


def tape_drive(model: str, alias_number: int, *, serial: str | None = None,
               capability: Sequence[tuple[str, str]] = ()) -> Device:
    """A drive with its twelve device names (``rst0l`` .. ``urst0a``) in the order the seed
    lists them; ``r`` names carry NDMP_TAPE_ATTR_REWIND, ``ur`` names ..._UNLOAD, and all
    of them ..._RAW (every name may be opened in RAW mode)."""
    entries = []
    for compression in COMPRESSION_TYPES:
        for rewind in RewindType:
            name = str(DeviceName(rewind, alias_number, compression))    # type: ignore[arg-type]
            attr = _REWIND_ATTR[rewind] | TapeAttr.NDMP_TAPE_ATTR_RAW
            entries.append(DeviceEntry(name, int(attr), _capability(serial, capability)))
    return Device(model, tuple(entries))


def changer(model: str, alias: str, *, serial: str | None = None,
            capability: Sequence[tuple[str, str]] = ()) -> Device:
    """A medium changer known by its alias (``mc0``) -- the name SCSI_OPEN takes."""
    return Device(model, (DeviceEntry(alias, 0, _capability(serial, capability)),))


@dataclass(frozen=True)
class TapeTarget:
    """A drive TAPE_OPEN found: the path to it and what the host side needs to use it.

    ``config`` is the drive's tape configuration file: the compression letter of the
    device name (``nrst0a``) picks its density code and compression algorithm, set with
    MODE SELECT before use; ``None`` when none is known (the drive's defaults stay).
    ``load_next`` is the library's part of an ``ur`` (unload/reload) close: after the
    drive has unloaded, put the cartridge back and load the next one in the library's
    sequence; ``None`` when the drive is not in a library we run."""

    path: ScsiPath
    serial: str
    model: str
    config: TapeConfig | None = None
    load_next: Callable[[], None] | None = None


@runtime_checkable
class Backend(Protocol):
    """What the NDMP services ask of the machine.  Queries are made on every request, so
    answers may change (a drive added to a library shows up in the next GET_TAPE_INFO).

    ``open_tape`` and ``open_changer`` give a new path per call: ``initiator`` names
    the session, and the device sees each name as its own I_T nexus.  Both raise
    :class:`~ndmp.scsi_path.NoSuchDevice` for a name nothing answers to."""

    def host_info(self) -> HostInfo: ...

    def volumes(self) -> Sequence[Volume]: ...

    def tape_drives(self) -> Sequence[Device]: ...

    def changers(self) -> Sequence[Device]: ...

    def open_tape(self, alias: str, initiator: str) -> TapeTarget:
        """The drive whose alias is ``alias`` (``st0``: the alias of a device name)."""
        ...

    def open_changer(self, name: str, initiator: str) -> ScsiPath:
        """The medium changer called ``name``: alias (``mc0``), serial number or
        ``SN[serial]L<lun>``."""
        ...


@dataclass
class StaticBackend:
    """A Backend of fixed lists and no devices to open: for tests, and for a server with
    no library behind it."""

    host: HostInfo = field(default_factory=local_host_info)
    volume_list: Sequence[Volume] = ()
    drive_list: Sequence[Device] = ()
    changer_list: Sequence[Device] = ()

    def host_info(self) -> HostInfo:
        return self.host

    def volumes(self) -> Sequence[Volume]:
        return self.volume_list

    def tape_drives(self) -> Sequence[Device]:
        return self.drive_list

    def changers(self) -> Sequence[Device]:
        return self.changer_list

    def open_tape(self, alias: str, initiator: str) -> TapeTarget:
        raise NoSuchDevice(f"no tape drive is called {alias!r} here")

    def open_changer(self, name: str, initiator: str) -> ScsiPath:
        raise NoSuchDevice(f"no medium changer is called {name!r} here")
