"""The node as the NDMP server sees it: its drives, changers and volumes, and an
in-process SCSI path to each device.

The NDMP services are SCSI initiators (DESIGN principle 2).  Here their path
is a direct call into our device model, under the same locks the kernel
transport and the CLI take, so an NDMP session, a host on /dev/nst0 and
`vtl load` see one drive.  Each path is its own I_T nexus (its initiator name
comes from the NDMP session), so reservations and unit attentions are kept
per session as a device keeps them per host.
"""
from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence

from ndmp.backend import Device as NdmpDevice
from ndmp.backend import HostInfo, TapeTarget, Volume, changer, local_host_info, tape_drive
from ndmp.scsi_path import CdbResult, NoSuchDevice
from scsi import Nexus
from tapeconf import TapeConfig
from scsi.smc.elements import ElementType

from .library import LibraryError
from .node import CHANGER, TAPE, Device, Node
from .volumes import ndmp_volume, node_volumes

__all__ = ["InProcessPath", "NodeBackend"]

log = logging.getLogger(__name__)


class InProcessPath:
    """A ScsiPath to one of our devices: ``execute`` is the device's own ``execute``."""

    def __init__(self, device: Device, nexus: Nexus):
        self.device = device
        self.nexus = nexus

    @property
    def address(self) -> tuple[int, int, int]:
        return (0, 0, self.device.lun)

    def execute(self, cdb, data_out=None, data_in=None, *, timeout: float = 600.0) -> CdbResult:
        buffer = memoryview(bytearray(data_in)) if isinstance(data_in, int) else data_in
        result = self.device.execute(self.nexus, cdb, data_out, buffer)
        data = result.data
        if buffer is not None and len(data) and not _same(data, buffer):
            n = min(len(data), len(buffer))
            buffer[:n] = data[:n]
            data = buffer[:n]
        return CdbResult(int(result.status), data, bytes(result.sense))

    def _lock(self) -> contextlib.AbstractContextManager:
        d = self.device
        return d.bay.lock if d.bay is not None else d.library.changer_lock

    def reset(self) -> None:
        with self._lock():
            self.device.device.logical_unit_reset()

    def close(self) -> None:
        with self._lock():
            self.device.device.nexus_loss(self.nexus)
            self.device.device.unit_attentions.forget(self.nexus)


def _config(d: Device) -> TapeConfig | None:
    """The drive's tape configuration as the drive holds it (a .tcf file is not read again
    on every CONFIG query)."""
    return d.bay.drive.personality.config if d.bay is not None else None


def _same(a: memoryview, b: memoryview) -> bool:
    try:
        return a.obj is b.obj
    except AttributeError:
        return False


class NodeBackend:
    """ndmp.backend.Backend over a running node."""

    def __init__(self, node: Node, volumes: Sequence[Volume] = ()):
        self.node = node
        self.volume_list = tuple(volumes)
        self._host = local_host_info()

    def host_info(self) -> HostInfo:
        return self._host

    def volumes(self) -> Sequence[Volume]:
        """The node's volumes as they are now: the configured ones and those `vtl volume
        create` added (read on every request, so a new volume is usable at once), with
        their filesystems' sizes; then any fixed extra ones."""
        specs = node_volumes(self.node.config, self.node.store)
        return [ndmp_volume(spec) for spec in specs] + list(self.volume_list)

    def _alias_number(self, d: Device) -> int | None:
        alias = self.node.alias_of(d)
        if alias is None or not alias[2:].isdigit():
            return None
        return int(alias[2:])

    def tape_drives(self) -> Sequence[NdmpDevice]:
        out = []
        for d in self.node.drives():
            number = self._alias_number(d)
            if number is None:
                continue
            config = _config(d)
            model = config.display_name if config is not None else d.serial
            out.append(tape_drive(model, number, serial=d.serial))
        return out

    def changers(self) -> Sequence[NdmpDevice]:
        out = []
        for d in self.node.changers():
            alias = self.node.alias_of(d)
            c = d.library.spec.changer
            out.append(changer(f"{c.vendor} {c.product}".strip(), alias or d.mapping, serial=d.serial))
        return out

    def _find(self, name: str, kind: str) -> Device:
        try:
            return self.node.find_device(name, kind)
        except LibraryError as e:
            raise NoSuchDevice(str(e)) from None

    def open_tape(self, alias: str, initiator: str) -> TapeTarget:
        d = self._find(alias, TAPE)
        config = _config(d)
        model = config.display_name if config is not None else d.serial
        return TapeTarget(InProcessPath(d, Nexus(initiator, 0)), d.serial, model, config,
                          lambda: self._load_next(d))

    def open_changer(self, name: str, initiator: str) -> InProcessPath:
        return InProcessPath(self._find(name, CHANGER), Nexus(initiator, 0))

    def _load_next(self, d: Device) -> None:
        """After an ``ur`` close has unloaded the drive: the robot puts the cartridge back
        (in the slot it came from) and loads the one in the next full storage slot, as a
        stacker does.  At the end of the sequence the drive stays empty."""
        lib, drive = d.library, d.address
        assert drive is not None
        with lib.lock:
            if lib.element(drive).barcode is None:
                return
            home = lib.unload(drive)
            following = [e for e in lib.elements()
                         if e.type == ElementType.STORAGE and e.full and e.address > home]
            if following:
                lib.load(following[0].address, drive)
                log.info("drive %s: unloaded to %d, loaded %s from %d (ur close)", d.serial, home,
                         following[0].barcode, following[0].address)
