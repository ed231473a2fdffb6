"""POSITION TO ELEMENT (2Bh, SMC-3 6.9): put the transport in front of an element.

A virtual robot has no position anyone could observe, so the command only
checks what it names: the transport (zero or a transport element), the
destination (any element of the library) and INVERT (refused, our transport
cannot rotate media; transport geometry page, ROTATE=0).
"""
from __future__ import annotations

from ..device import Access, Request, ScsiDevice
from ..layout import Layout, bits, control, reserved
from .addressing import check_invert, check_transport, lookup
from .commands import SMC

POSITION_TO_ELEMENT = Layout(
    "POSITION TO ELEMENT", bits("opcode", 8), reserved(8),
    bits("medium_transport_address", 16),
    bits("destination_address", 16),
    reserved(16),
    reserved(7), bits("invert", 1),
    *control())


@SMC.register("POSITION TO ELEMENT", 0x2B, POSITION_TO_ELEMENT, access=Access.WRITE, timeout=600)
def position_to_element(dev: ScsiDevice, req: Request) -> None:
    dev.ready_check(req.nexus)
    check_transport(dev, req)
    lookup(dev, req, "destination_address")
    check_invert(dev, req, "invert")
    return None
