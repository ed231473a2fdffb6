"""RESERVE and RELEASE, 6 and 10 (SPC-2 7.21, 7.22, 7.16, 7.17).

SPC-4 made these obsolete, but the st driver, older backup applications and
ONTAP's tape reservations (``options tape.reservations scsi``) still use them,
so a tape drive must honour them.  Only whole-logical-unit reservations for
the sending I_T nexus exist here: third-party reservations, long identifiers
and SCSI-2 extents are refused with a field pointer, so an initiator never
believes it reserved something it did not.

Whether a command conflicts is decided by :class:`Reservations.check` before
these handlers run; they only take and drop the reservation.  This module
also exports :class:`Reservations`, the state object every device holds.
"""
from __future__ import annotations

from ..device import Access, Request, ScsiDevice
from ..layout import Layout, bits, control, reserved
from .commands import SPC
from .reservation_state import PersistentReservation, PrType, Registration, Reservations, state_of

__all__ = ["PersistentReservation", "PrType", "Registration", "Reservations"]

# Byte 1 keeps the SCSI-2 names of bits SPC-2 made obsolete: they are examined
# so that a request we cannot grant is refused rather than silently widened.
RESERVE_6 = Layout("RESERVE(6)", bits("opcode", 8), reserved(3), bits("third_party", 1),
                   reserved(3), bits("extent", 1), reserved(24), *control())
RELEASE_6 = Layout("RELEASE(6)", bits("opcode", 8), reserved(3), bits("third_party", 1),
                   reserved(3), bits("extent", 1), reserved(24), *control())
RESERVE_10 = Layout("RESERVE(10)", bits("opcode", 8), reserved(3), bits("third_party", 1), reserved(2),
                    bits("long_id", 1), bits("extent", 1), reserved(8),
                    bits("third_party_device_id", 8), reserved(24), bits("parameter_list_length", 16),
                    *control())
RELEASE_10 = Layout("RELEASE(10)", bits("opcode", 8), reserved(3), bits("third_party", 1), reserved(2),
                    bits("long_id", 1), bits("extent", 1), reserved(8),
                    bits("third_party_device_id", 8), reserved(24), bits("parameter_list_length", 16),
                    *control())


def _whole_unit_for_sender(req: Request) -> None:
    """Refuse what we do not implement: third-party, long-ID and extent reservations."""
    f = req.fields
    for name in ("third_party", "long_id", "extent"):
        if f.get(name):
            raise req.invalid(name)


@SPC.register("RESERVE(6)", 0x16, RESERVE_6, access=Access.RESERVATION)
@SPC.register("RESERVE(10)", 0x56, RESERVE_10, access=Access.RESERVATION)
def reserve(dev: ScsiDevice, req: Request) -> None:
    _whole_unit_for_sender(req)
    state_of(dev).reserve_spc2(req.nexus)


@SPC.register("RELEASE(6)", 0x17, RELEASE_6, access=Access.RESERVATION)
@SPC.register("RELEASE(10)", 0x57, RELEASE_10, access=Access.RESERVATION)
def release(dev: ScsiDevice, req: Request) -> None:
    _whole_unit_for_sender(req)
    state_of(dev).release_spc2(req.nexus)
