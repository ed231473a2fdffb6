"""TEST UNIT READY (SPC-4): is the medium accessible?

The answer is the device's own (a drive without a threaded tape is NOT READY,
a changer is ready unless its door is open), so this module only asks.  It
runs under Write Exclusive reservations held by others, as SPC-4 allows, hence
Access.READ.
"""
from __future__ import annotations

from ..device import Access, Request, ScsiDevice
from ..layout import Layout, bits, control, reserved
from .commands import SPC

TEST_UNIT_READY = Layout("TEST UNIT READY", bits("opcode", 8), reserved(32), *control())


@SPC.register("TEST UNIT READY", 0x00, TEST_UNIT_READY, access=Access.ALWAYS)
def test_unit_ready(dev: ScsiDevice, req: Request) -> None:
    ready_check = getattr(dev, "ready_check", None)
    if callable(ready_check):
        ready_check(req.nexus)     # raises CHECK CONDITION / NOT READY ...
    return None
