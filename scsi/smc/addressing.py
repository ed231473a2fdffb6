"""Element addresses in CDBs: the checks every changer command shares.

Hosts name elements by 16-bit address; a name that is no element, or not an
element of the kind the field wants, is ILLEGAL REQUEST / INVALID ELEMENT
ADDRESS (21/01) with the field pointer on that field (SMC-3), never a
silent fallback.
"""
from __future__ import annotations

from bisect import bisect_left
from operator import attrgetter
from typing import Sequence

from ..device import Request, ScsiDevice
from ..sense import Asc, CheckCondition, SenseKey, check
from .elements import Element, ElementType, MoveRefused

DEFAULT_TRANSPORT = 0
"""MEDIUM TRANSPORT ADDRESS zero: 'use the default transport' (SMC-3)."""

_address = attrgetter("address")


def invalid_element_address(req: Request, field: str) -> CheckCondition:
    return check(SenseKey.ILLEGAL_REQUEST, Asc.INVALID_ELEMENT_ADDRESS,
                 specific=req.command.layout.pointer(field))


def find(elements: Sequence[Element], address: int) -> Element | None:
    """The element at ``address`` in an address-sorted sequence (binary search)."""
    i = bisect_left(elements, address, key=_address)
    if i < len(elements) and elements[i].address == address:
        return elements[i]
    return None


def lookup(dev: ScsiDevice, req: Request, field: str) -> Element:
    """The element the CDB field names, or 21/01 pointing at the field."""
    try:
        return dev.robot.element(req.fields[field])
    except MoveRefused:
        raise invalid_element_address(req, field) from None


def check_transport(dev: ScsiDevice, req: Request, field: str = "medium_transport_address") -> None:
    """MEDIUM TRANSPORT ADDRESS: zero, or the address of a medium transport element."""
    address = req.fields[field]
    if address == DEFAULT_TRANSPORT:
        return
    if lookup(dev, req, field).type is not ElementType.TRANSPORT:
        raise invalid_element_address(req, field)


def check_invert(dev: ScsiDevice, req: Request, field: str) -> None:
    """INVERT (INV1, INV2): only a transport that can rotate media may be asked to."""
    if req.fields[field] and not dev.can_rotate:
        raise req.invalid(field)


def first_at_or_after(elements: Sequence[Element], start: int) -> int:
    """Index of the first element whose address is >= ``start``."""
    return bisect_left(elements, start, key=_address)
