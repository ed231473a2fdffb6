"""INITIALIZE ELEMENT STATUS (07h, SMC-3 6.5) and INITIALIZE ELEMENT STATUS
WITH RANGE (37h, SMC-3 6.6): take the inventory again.

A real library drives its scanner past every slot.  A virtual one asks the
library behind it to re-read what it holds (``robot.scan(first, count)``,
when the robot has such a method: the persistent library reloads its state
store, the in-memory :class:`~scsi.smc.inventory.Inventory` is always
current) and answers GOOD.

WITH RANGE: RANGE=0 means every element (STARTING ELEMENT ADDRESS and
NUMBER OF ELEMENTS are ignored, as SMC-3 says); RANGE=1 scans NUMBER OF
ELEMENTS elements from STARTING ELEMENT ADDRESS, which must name an element
(21/01 on the field otherwise).  FAST (only check for presence) is accepted:
we never do anything slower.
"""
from __future__ import annotations

from ..device import Access, Request, ScsiDevice
from ..layout import Layout, bits, control, reserved
from .addressing import lookup
from .commands import SMC

INITIALIZE_ELEMENT_STATUS = Layout("INITIALIZE ELEMENT STATUS", bits("opcode", 8), reserved(32),
                                   *control())

INITIALIZE_ELEMENT_STATUS_WITH_RANGE = Layout(
    "INITIALIZE ELEMENT STATUS WITH RANGE", bits("opcode", 8),
    reserved(6), bits("fast", 1), bits("range", 1),
    bits("starting_element_address", 16),
    reserved(16),
    bits("number_of_elements", 16),
    reserved(8), *control())


def scan(dev: ScsiDevice, first: int = 0, count: int | None = None) -> None:
    rescan = getattr(dev.robot, "scan", None)
    if callable(rescan):
        rescan(first, count)


@SMC.register("INITIALIZE ELEMENT STATUS", 0x07, INITIALIZE_ELEMENT_STATUS, access=Access.WRITE,
              timeout=1800)
def initialize_element_status(dev: ScsiDevice, req: Request) -> None:
    dev.ready_check(req.nexus)
    scan(dev)
    return None


@SMC.register("INITIALIZE ELEMENT STATUS WITH RANGE", 0x37, INITIALIZE_ELEMENT_STATUS_WITH_RANGE,
              access=Access.WRITE, timeout=1800)
def initialize_element_status_with_range(dev: ScsiDevice, req: Request) -> None:
    f = req.fields
    dev.ready_check(req.nexus)
    if not f.range:
        scan(dev)
        return None
    lookup(dev, req, "starting_element_address")
    scan(dev, f.starting_element_address, f.number_of_elements)
    return None
