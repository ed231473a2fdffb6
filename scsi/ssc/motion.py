"""REWIND and LOAD UNLOAD: the commands that thread, unthread and rewind the
tape.  Both are sync points."""
from __future__ import annotations

from ..device import Access, Request
from ..layout import Layout, bits, control, reserved
from ..sense import Asc, SenseKey, check
from .commands import SSC
from .drive import DriveState

REWIND = Layout("REWIND", bits("opcode", 8), reserved(7), bits("immed", 1), reserved(24), *control())
LOAD_UNLOAD = Layout("LOAD UNLOAD", bits("opcode", 8), reserved(7), bits("immed", 1), reserved(16),
                     reserved(4), bits("hold", 1), bits("eot", 1), bits("reten", 1), bits("load", 1),
                     *control())


@SSC.register("REWIND", 0x01, REWIND, access=Access.WRITE)
def rewind(dev, req: Request):
    """Rewind to BOP of partition 0 (SSC-4)."""
    dev.medium()
    dev.flush()
    dev.cartridge.select(0)
    dev.cartridge.active.rewind()
    return None


@SSC.register("LOAD UNLOAD", 0x1B, LOAD_UNLOAD, access=Access.WRITE)
def load_unload(dev, req: Request):
    f = req.fields
    if f.load and f.eot:
        raise req.invalid("eot")   # SSC-4: EOT with LOAD is invalid
    if dev.cartridge is None:
        raise check(SenseKey.NOT_READY, Asc.MEDIUM_NOT_PRESENT)
    if f.load:
        if dev.state == DriveState.READY:
            # Loading a loaded tape positions it at BOP of partition 0.
            dev.flush()
            dev.cartridge.select(0)
            dev.cartridge.active.rewind()
            return None
        if f.hold:
            # Medium kept in the drive, MAM accessible, tape not threaded.
            dev.state = DriveState.INSERTED
            return None
        dev.thread()
        # The initiator that loaded it sees GOOD, not its own unit attention.
        if dev.unit_attentions.peek(req.nexus) == Asc.NOT_READY_TO_READY_CHANGE:
            dev.unit_attentions.pop(req.nexus)
        return None
    if dev.removal_prevented:
        raise check(SenseKey.ILLEGAL_REQUEST, Asc.MEDIUM_REMOVAL_PREVENTED)
    if dev.state == DriveState.UNLOADED:
        return None
    if f.eot and dev.state == DriveState.READY:
        # Unload with EOT: retention pass to the end of the partition, then unload.
        dev.cartridge.active.locate(dev.cartridge.active.eod)
    dev.unthread()
    return None
