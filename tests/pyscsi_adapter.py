"""Lets python-scsi (pyscsi) talk to our in-process devices.

pyscsi's ``SCSI`` object sends every command through ``device.execute(cmd)``;
its SG_IO backend hands ``cmd.cdb``, ``cmd.dataout`` and ``cmd.datain`` to the
kernel, which fills ``datain`` in place, and turns CHECK CONDITION into the
device class's own ``CheckCondition`` exception built from the sense bytes.
This adapter does the same against ``ScsiDevice.execute`` so that pyscsi's
builders and decoders, written independently of our declarations, check them.

Two differences from pyscsi's own backend, both deliberate: the exception is
raised (pyscsi's SG_IO backend constructs it and forgets ``raise``), and it
carries the raw sense bytes as ``.sense`` so tests can decode them with
``scsi.sense.decode`` as well as through pyscsi's fixed-format decoder.
"""
from __future__ import annotations

from pyscsi.pyscsi import scsi_enum_command
from pyscsi.pyscsi.scsi_exception import SCSIDeviceCommandExceptionMeta

from scsi import LOCAL, Nexus, Result, ScsiDevice, Status


class StatusError(Exception):
    """A status other than GOOD or CHECK CONDITION (RESERVATION CONFLICT, BUSY, ...)."""

    def __init__(self, status: Status):
        super().__init__(f"SCSI status {status.name}")
        self.status = status


class PyscsiAdapter(metaclass=SCSIDeviceCommandExceptionMeta):
    """A pyscsi device backend over one of our devices, on one I_T nexus."""

    def __init__(self, device: ScsiDevice, nexus: Nexus = LOCAL) -> None:
        self.device = device
        self.nexus = nexus
        self.last: Result | None = None
        self._opcodes = scsi_enum_command.spc
        self._devicetype = None

    def execute(self, cmd) -> None:
        data_out = bytes(cmd.dataout) if len(cmd.dataout) else None
        data_in = memoryview(cmd.datain) if len(cmd.datain) else None
        result = self.device.execute(self.nexus, bytes(cmd.cdb), data_out, data_in)
        self.last = result
        if result.status == Status.CHECK_CONDITION:
            error = self.CheckCondition(result.sense)
            error.sense = bytes(result.sense)
            raise error
        if result.status != Status.GOOD:
            raise StatusError(result.status)

    def close(self) -> None:
        """pyscsi's ``SCSI`` context manager closes its device; nothing to release here."""

    @property
    def opcodes(self):
        return self._opcodes

    @opcodes.setter
    def opcodes(self, value) -> None:
        self._opcodes = value

    @property
    def devicetype(self):
        return self._devicetype

    @devicetype.setter
    def devicetype(self, value) -> None:
        self._devicetype = value
