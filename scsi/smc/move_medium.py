"""MOVE MEDIUM (A5h, SMC-3 6.7): carry one cartridge from one element to another.

The changer checks what only it can judge (the transport address, INVERT),
then asks the robot, which decides and records the move in one place; a
refusal comes back as a :class:`~scsi.smc.elements.MoveRefused` and leaves
as the sense data ``refusals.py`` chooses, pointing at the address field at
fault.  Moving a medium onto its own element is allowed and does nothing
(SMC: the destination must be empty only "if different from the source").
"""
from __future__ import annotations

from ..device import Access, Request, ScsiDevice
from ..layout import Layout, bits, control, reserved
from .addressing import check_invert, check_transport
from .commands import SMC
from .elements import MoveRefused
from .refusals import refused

MOVE_MEDIUM = Layout(
    "MOVE MEDIUM", bits("opcode", 8), reserved(8),
    bits("medium_transport_address", 16),
    bits("source_address", 16),
    bits("destination_address", 16),
    reserved(16),
    reserved(7), bits("invert", 1),
    *control())

ADDRESS_FIELDS = ("source_address", "destination_address")


@SMC.register("MOVE MEDIUM", 0xA5, MOVE_MEDIUM, access=Access.WRITE, timeout=600)
def move_medium(dev: ScsiDevice, req: Request) -> None:
    f = req.fields
    dev.ready_check(req.nexus)
    check_transport(dev, req)
    check_invert(dev, req, "invert")
    try:
        dev.robot.move(f.source_address, f.destination_address)
    except MoveRefused as exc:
        raise refused(req, exc, ADDRESS_FIELDS) from None
    return None
