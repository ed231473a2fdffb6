"""What the drive says when motion reaches the end of what it can read.

Normally that is EOD: BLANK CHECK, END-OF-DATA DETECTED.  On a cartridge whose
log holds damaged bytes after the last readable object (kept at open because a
kill cannot have caused them, see ``images.cartridge.partition``), the drive
cannot read on to find EOD, and says so as a drive with a damaged tape does:
MEDIUM ERROR, UNRECOVERED READ ERROR when it tried to read or space over data,
END-OF-DATA NOT FOUND when asked to go to EOD.  The head stays at the last
readable position either way, which is where an append goes.
"""
from __future__ import annotations

from ..sense import Asc, CheckCondition, Sense, SenseKey


def end_of_data(part, residue: int | None = None) -> CheckCondition:
    """Motion over blocks, filemarks or to an object stopped at ``part.eod``."""
    if part.damaged:
        return CheckCondition(Sense.of(SenseKey.MEDIUM_ERROR, Asc.UNRECOVERED_READ_ERROR,
                                       information=residue))
    return CheckCondition(Sense.of(SenseKey.BLANK_CHECK, Asc.END_OF_DATA_DETECTED, information=residue))


def go_to_end_of_data(part) -> None:
    """SPACE or LOCATE to EOD: GOOD, unless damage hides where EOD is."""
    part.locate(part.eod)
    if part.damaged:
        raise CheckCondition(Sense.of(SenseKey.MEDIUM_ERROR, Asc.END_OF_DATA_NOT_FOUND))
