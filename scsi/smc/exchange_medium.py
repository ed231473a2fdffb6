"""EXCHANGE MEDIUM (A6h, SMC-3 6.3): source's medium to the first destination,
the first destination's medium to the second destination.

The second destination may be the source itself (a swap).  The first
destination may not be the source: the command would move a medium onto its
own element and then move "its" medium away, which is no exchange at all, so
it is refused as an invalid CDB field.  Everything else, as MOVE MEDIUM:
the robot decides and records; refusals point at the offending address.
"""
from __future__ import annotations

from ..device import Access, Request, ScsiDevice
from ..layout import Layout, bits, control, reserved
from .addressing import check_invert, check_transport
from .commands import SMC
from .elements import MoveRefused
from .refusals import refused

EXCHANGE_MEDIUM = Layout(
    "EXCHANGE MEDIUM", bits("opcode", 8), reserved(8),
    bits("medium_transport_address", 16),
    bits("source_address", 16),
    bits("first_destination_address", 16),
    bits("second_destination_address", 16),
    reserved(6), bits("inv1", 1), bits("inv2", 1),
    *control())

ADDRESS_FIELDS = ("source_address", "first_destination_address", "second_destination_address")


@SMC.register("EXCHANGE MEDIUM", 0xA6, EXCHANGE_MEDIUM, access=Access.WRITE, timeout=600)
def exchange_medium(dev: ScsiDevice, req: Request) -> None:
    f = req.fields
    dev.ready_check(req.nexus)
    check_transport(dev, req)
    check_invert(dev, req, "inv1")
    check_invert(dev, req, "inv2")
    if f.first_destination_address == f.source_address:
        raise req.invalid("first_destination_address")
    try:
        dev.robot.exchange(f.source_address, f.first_destination_address,
                           f.second_destination_address)
    except MoveRefused as exc:
        raise refused(req, exc, ADDRESS_FIELDS) from None
    return None
