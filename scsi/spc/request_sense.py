"""REQUEST SENSE (SPC-4): the sense data an initiator asks for explicitly.

Used by initiators without autosense and by those polling a NOT READY unit.
A pending unit attention is reported (and thereby cleared) first, as SPC-4
requires; otherwise the device says what it would report now (NO SENSE, or
NOT READY with the reason).  The command itself always ends GOOD.
"""
from __future__ import annotations

from ..device import Access, Request, ScsiDevice
from ..layout import Layout, bits, control, reserved
from ..sense import Sense, SenseKey
from .commands import SPC

REQUEST_SENSE = Layout("REQUEST SENSE", bits("opcode", 8), reserved(7), bits("desc", 1),
                       reserved(16), bits("allocation_length", 8), *control())


def sense_now(dev: ScsiDevice, req: Request) -> Sense:
    ua = dev.unit_attentions.pop(req.nexus)
    if ua is not None:
        return Sense.of(SenseKey.UNIT_ATTENTION, ua)
    current = getattr(dev, "current_sense", None)
    return current(req.nexus) if callable(current) else Sense(SenseKey.NO_SENSE)


@SPC.register("REQUEST SENSE", 0x03, REQUEST_SENSE, access=Access.ALWAYS, allowed_with_ua=True)
def request_sense(dev: ScsiDevice, req: Request) -> bytes:
    return sense_now(dev, req).encode(descriptor=bool(req.fields.desc))
