"""ALLOW OVERWRITE (SSC-4 7.1).

It grants one overwrite when a drive runs in append-only write mode.  The
drive's write mode is always "overwrite allowed" (the only mode LTO drives
default to), so the command is validated and its grant recorded, and writes
are never refused for want of it -- exactly how SSC specifies the command for
that mode.
"""
from __future__ import annotations

from ..device import Access, Request
from ..layout import Layout, bits, control, reserved
from .commands import SSC

ALLOW_OVERWRITE = Layout("ALLOW OVERWRITE", bits("opcode", 8), reserved(16), reserved(4),
                         bits("allow_overwrite", 4), bits("partition", 8), reserved(8),
                         bits("logical_object_identifier", 64), reserved(8), *control())

DISABLED, CURRENT_POSITION, FORMAT = 0, 1, 2


@SSC.register("ALLOW OVERWRITE", 0x82, ALLOW_OVERWRITE, access=Access.WRITE)
def allow_overwrite(dev, req: Request):
    f = req.fields
    if f.allow_overwrite not in (DISABLED, CURRENT_POSITION, FORMAT):
        raise req.invalid("allow_overwrite")
    part = dev.medium()
    if f.allow_overwrite == CURRENT_POSITION:
        if f.partition != part.number:
            raise req.invalid("partition")
        if f.logical_object_identifier != part.pos:
            raise req.invalid("logical_object_identifier")
    dev.overwrite_allowed = f.allow_overwrite
    return None
