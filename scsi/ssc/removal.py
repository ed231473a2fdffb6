"""PREVENT ALLOW MEDIUM REMOVAL: per I_T nexus, as SPC requires; removal is
prevented while any nexus prevents it."""
from __future__ import annotations

from ..device import Access, Request
from ..layout import Layout, bits, control, reserved
from .commands import SSC
from .tapealert import TapeAlerts

PREVENT_ALLOW = Layout("PREVENT ALLOW MEDIUM REMOVAL", bits("opcode", 8), reserved(24), reserved(6),
                       bits("prevent", 2), *control())


@SSC.register("PREVENT ALLOW MEDIUM REMOVAL", 0x1E, PREVENT_ALLOW,
              access=lambda f: Access.WRITE if f.prevent else Access.ALWAYS)
def prevent_allow(dev, req: Request):
    p = req.fields.prevent
    if p > 1:
        raise req.invalid("prevent")
    if p:
        dev.prevented.add(req.nexus)
        dev.alerts.set(TapeAlerts.NO_REMOVAL)
    else:
        dev.prevented.discard(req.nexus)
        if not dev.prevented:
            dev.alerts.clear(TapeAlerts.NO_REMOVAL)
    return None
