"""ERASE: make the head position the end of data (short), or erase from here
to the end of the partition (long).  Both cut everything after the position."""
from __future__ import annotations

from ..device import Access, Request
from ..layout import Layout, bits, control, reserved
from .commands import SSC

ERASE = Layout("ERASE(6)", bits("opcode", 8), reserved(6), bits("immed", 1), bits("long", 1),
               reserved(24), *control())


@SSC.register("ERASE(6)", 0x19, ERASE, access=Access.WRITE)
def erase(dev, req: Request):
    part = dev.medium_for_write()   # refuses WORM media anywhere before EOD
    part.truncate_here()
    if not req.fields.immed:
        dev.flush()
    return None
