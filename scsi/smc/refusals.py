"""From a refused move to the sense data a host reads (MOVE MEDIUM, EXCHANGE MEDIUM).

The robot says *why* (:class:`~scsi.smc.elements.Refusal`) and *where* (the
element address); the changer says it in SMC terms.  Every refusal is
ILLEGAL REQUEST: the library is fine, the request cannot be carried out as
asked.  The sense-key specific field pointer names the CDB field that holds
the offending address, so an initiator can tell a bad source from a bad
destination (for EXCHANGE MEDIUM, which of the three addresses is at fault).

Codes, and where the standard leaves a choice:

* INVALID_ADDRESS -> 21/01 INVALID ELEMENT ADDRESS (SMC-3).
* SOURCE_EMPTY -> 3B/0E MEDIUM SOURCE ELEMENT EMPTY, DESTINATION_FULL ->
  3B/0D MEDIUM DESTINATION ELEMENT FULL (SMC-3).
* REMOVAL_PREVENTED -> 53/02 MEDIUM REMOVAL PREVENTED (SPC-4): a host sent
  PREVENT MEDIUM REMOVAL to the drive the medium is in.
* MEDIUM_LOADED -> 3B/90.  No standard code says "the drive still has the
  tape threaded".  3B/90 is what Tandberg/Exabyte (Magnum 224/448) and
  Quantum (StorageLoader) document for exactly this, "source cartridge is
  loaded inside the tape drive and is not accessible": ASC 3Bh is the
  element-move family hosts already treat as "the move was refused", and
  ASCQ 90h lies in the vendor-specific range (80h-FFh), so no host can
  mistake it for a standard condition.  The nearest standard code, 53/00
  MEDIA LOAD OR EJECT FAILED, reports a failed attempt (a MEDIUM ERROR on
  real devices), not a refusal.  Other libraries unload the drive
  themselves instead; our drive bays say whether the tape is threaded, and a
  threaded tape is refused rather than yanked.
* NOT_ACCESSIBLE -> 3B/11 MEDIUM MAGAZINE NOT ACCESSIBLE: the code HP
  reports as ILLEGAL REQUEST when a move names an element the robot cannot
  reach (T10 reflector, r0804233, on 07-372).
* INCOMPATIBLE -> 30/00 INCOMPATIBLE MEDIUM INSTALLED (SPC-4).
"""
from __future__ import annotations

from ..device import Request
from ..sense import Asc, CheckCondition, SenseKey, check
from .elements import MoveRefused, Refusal

SOURCE_LOADED_IN_DRIVE = (0x3B, 0x90)
"""Vendor specific (Tandberg/Quantum): the source drive has not unloaded its tape."""

SENSE = {
    Refusal.INVALID_ADDRESS: Asc.INVALID_ELEMENT_ADDRESS,
    Refusal.SOURCE_EMPTY: Asc.MEDIUM_SOURCE_ELEMENT_EMPTY,
    Refusal.DESTINATION_FULL: Asc.MEDIUM_DESTINATION_ELEMENT_FULL,
    Refusal.REMOVAL_PREVENTED: Asc.MEDIUM_REMOVAL_PREVENTED,
    Refusal.MEDIUM_LOADED: SOURCE_LOADED_IN_DRIVE,
    Refusal.NOT_ACCESSIBLE: Asc.MEDIUM_MAGAZINE_NOT_ACCESSIBLE,
    Refusal.INCOMPATIBLE: Asc.INCOMPATIBLE_MEDIUM_INSTALLED,
}


def refused(req: Request, exc: MoveRefused, fields: tuple[str, ...]) -> CheckCondition:
    """The CHECK CONDITION for ``exc``; ``fields`` are the CDB's address fields in the
    order an address matching several of them is attributed (source first)."""
    pointer = None
    if exc.address is not None:
        for name in fields:
            if req.fields[name] == exc.address:
                pointer = req.command.layout.pointer(name)
                break
    return check(SenseKey.ILLEGAL_REQUEST, SENSE[exc.refusal], specific=pointer)
