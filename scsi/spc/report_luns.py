"""REPORT LUNS (SPC-4 6.33): the logical unit inventory of the target.

Hosts scan a target with it before anything else, and it must answer even
with a unit attention pending.  We have no well-known and no administrative
logical units, so those reports are empty, and asking for the subsidiary
logical units of an administrative one is a mistake the host should hear of.
"""
from __future__ import annotations

from construct import Array, Int32ub, Int64ub, Padding, Rebuild, Struct, len_, this

from ..device import Access, Request, ScsiDevice
from ..layout import Layout, bits, control, reserved
from .commands import SPC

REPORT_LUNS = Layout("REPORT LUNS", bits("opcode", 8), reserved(8), bits("select_report", 8),
                     reserved(24), bits("allocation_length", 32), reserved(8), *control())

LunList = Struct(
    "lun_list_length" / Rebuild(Int32ub, len_(this.luns) * 8),
    Padding(4),
    "luns" / Array(this.lun_list_length // 8, Int64ub),
)

MIN_ALLOCATION_LENGTH = 16

# SELECT REPORT codes (SPC-4 table 'SELECT REPORT field').
ACCESSIBLE = 0x00           # all except well-known LUs
WELL_KNOWN = 0x01
ALL = 0x02
ADMINISTRATIVE = 0x10
ADMINISTRATIVE_AND_PLAIN = 0x11   # administrative plus non-conglomerate LUs
SUBSIDIARY = 0x12                 # only valid when addressed to an administrative LU

PERIPHERAL_LIMIT = 256      # peripheral device addressing: bus 0, 8-bit LUN
FLAT_LIMIT = 1 << 14        # flat space addressing: 14-bit LUN


def encode_lun(lun: int) -> int:
    """Single-level SAM-5 LUN: peripheral device addressing below 256, flat space above."""
    if not 0 <= lun < FLAT_LIMIT:
        raise ValueError(f"LUN {lun} is outside single-level flat space addressing (0-16383)")
    if lun < PERIPHERAL_LIMIT:
        return lun << 48
    return (0x4000 | lun) << 48


def inventory(dev: ScsiDevice) -> list[int]:
    luns = getattr(dev, "luns", None)
    return sorted(luns()) if callable(luns) else [dev.identity.lun]


@SPC.register("REPORT LUNS", 0xA0, REPORT_LUNS, access=Access.ALWAYS, allowed_with_ua=True)
def report_luns(dev: ScsiDevice, req: Request) -> bytes:
    f = req.fields
    if f.allocation_length < MIN_ALLOCATION_LENGTH:
        raise req.invalid("allocation_length")
    if f.select_report in (ACCESSIBLE, ALL, ADMINISTRATIVE_AND_PLAIN):
        luns = inventory(dev)
    elif f.select_report in (WELL_KNOWN, ADMINISTRATIVE):
        luns = []
    else:   # SUBSIDIARY (we are not an administrative LU), reserved and vendor codes
        raise req.invalid("select_report")
    return LunList.build(dict(luns=[encode_lun(lun) for lun in luns]))
