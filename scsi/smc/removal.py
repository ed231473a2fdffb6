"""PREVENT ALLOW MEDIUM REMOVAL (1Eh) for a medium changer: lock the mailslot.

SMC applies the command to the operator's ways of taking media out of the
library (the import/export door, magazines); the robot may still move media
into the import/export elements, and hosts still unload drives.  The
condition is held per I_T nexus (SPC-4): the door is locked while any nexus
prevents removal, and unlocked when the last one allows it, on a logical
unit reset, or when that nexus is lost (``MediumChanger`` keeps the set and
tells the robot through ``lock_door``).

PREVENT is 00b (allow) or 01b (prevent).  10b is obsolete and 11b concerns
a data transfer element with an attached changer (SPC-4), neither of which a
medium changer is: both are INVALID FIELD IN CDB, as Tandberg/Quantum
libraries report them.
"""
from __future__ import annotations

from ..device import Access, Request, ScsiDevice
from ..layout import Layout, bits, control, reserved
from .commands import SMC

PREVENT_ALLOW = Layout("PREVENT ALLOW MEDIUM REMOVAL", bits("opcode", 8), reserved(24), reserved(6),
                       bits("prevent", 2), *control())


@SMC.register("PREVENT ALLOW MEDIUM REMOVAL", 0x1E, PREVENT_ALLOW,
              access=lambda f: Access.WRITE if f.prevent else Access.ALWAYS)
def prevent_allow(dev: ScsiDevice, req: Request) -> None:
    p = req.fields.prevent
    if p > 1:
        raise req.invalid("prevent")
    dev.set_prevent(req.nexus, bool(p))
    return None
