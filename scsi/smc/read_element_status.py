"""READ ELEMENT STATUS (B8h, SMC-3 6.12): where every cartridge is.

Hosts (``mtx status``, the Linux ``ch`` driver, backup applications, NDMP
robot services) read the whole library with it after every reset and often
after every move, so it is built straight into the transport's buffer from
the descriptor declarations' struct twins (``descriptors.py``).

Which elements are reported: those of the requested type (all types for
ELEMENT TYPE CODE 0) whose address is at least STARTING ELEMENT ADDRESS, in
address order, at most NUMBER OF ELEMENTS of them; one element status page
per element type among them, pages in the order of their first element.  A
starting address below the first element of the type is fine (SMC-3: the
field is the *minimum* address to report).  A starting address that is no
element and lies at or beyond the first element of the type, or past the
last one, is ILLEGAL REQUEST / INVALID ELEMENT ADDRESS pointing at the field:
the host has the library's layout wrong and should hear so.  NUMBER OF
ELEMENTS zero reports no element (header only, all counts zero).

The allocation length (SMC-3 6.12.1 and the header fields, 6.12.2):

* NUMBER OF ELEMENTS AVAILABLE counts every element meeting the CDB (type,
  starting address, NUMBER OF ELEMENTS), not the ones that fit;
* BYTE COUNT OF REPORT AVAILABLE is the length of all element status pages
  the CDB asks for, and each page's BYTE COUNT OF DESCRIPTOR DATA AVAILABLE
  that of all its descriptors: neither "shall be adjusted to match the
  allocation length", which is what lets a host ask with an allocation
  length of 8 first and then with exactly 8 + BYTE COUNT;
* what is transferred stops at the last element descriptor that fits whole:
  SMC transfers "those descriptors that can be completely transferred", so
  a page header whose first descriptor does not fit is not sent either, and
  no descriptor is ever cut.  An allocation length below 8 gets the first
  bytes of the header (SPC's rule for any allocation length).

CURDATA is accepted and changes nothing: a virtual library never moves
anything to find out what it holds.  VOLTAG adds the primary volume tag
(AVOLTAG is always 0); DVCID adds the drives' T10 vendor ID designators.
"""
from __future__ import annotations

from typing import Sequence

from ..device import Access, Request, ScsiDevice
from ..layout import Layout, bits, control, reserved
from .addressing import find, first_at_or_after, invalid_element_address
from .commands import SMC
from .descriptors import (
    HEADER, HEADER_SIZE, PAGE_HEADER_SIZE, descriptor_length, identifier_width, pack_page,
)
from .elements import Element, ElementType

READ_ELEMENT_STATUS = Layout(
    "READ ELEMENT STATUS", bits("opcode", 8),
    reserved(3), bits("voltag", 1), bits("element_type_code", 4),
    bits("starting_element_address", 16),
    bits("number_of_elements", 16),
    reserved(6), bits("curdata", 1), bits("dvcid", 1),
    bits("allocation_length", 24),
    reserved(8), *control())

ALL_TYPES = 0


def select(req: Request, elements: Sequence[Element]) -> list[Element]:
    """The elements the CDB asks for, in address order (see the module docstring)."""
    f = req.fields
    start = f.starting_element_address
    if f.element_type_code == ALL_TYPES:
        candidates = elements
    else:
        kind = ElementType(f.element_type_code)
        candidates = [e for e in elements if e.type is kind]
    i = first_at_or_after(candidates, start)
    if i == len(candidates) or (i > 0 and candidates[i].address != start
                                and find(elements, start) is None):
        raise invalid_element_address(req, "starting_element_address")
    return list(candidates[i:i + f.number_of_elements])


def pages_of(selected: list[Element], one_type: bool) -> list[tuple[ElementType, list[Element]]]:
    """One page per element type, in the order of each type's first element."""
    if not selected:
        return []
    if one_type:
        return [(selected[0].type, selected)]
    groups: dict[ElementType, list[Element]] = {}
    for e in selected:
        group = groups.get(e.type)
        if group is None:
            group = groups[e.type] = []
        group.append(e)
    return list(groups.items())


def report(req: Request, selected: list[Element], voltag: bool, dvcid: bool, allocation: int,
           one_type: bool) -> memoryview:
    """Element status data for ``selected``, cut to what ``allocation`` lets through whole."""
    plan = []           # (type, elements, identifier length, descriptor length)
    total = HEADER_SIZE
    for kind, group in pages_of(selected, one_type):
        ident_len = identifier_width(group) if dvcid and kind is ElementType.DATA_TRANSFER else None
        length = descriptor_length(voltag, ident_len)
        plan.append((kind, group, ident_len, length))
        total += PAGE_HEADER_SIZE + length * len(group)

    first = selected[0].address if selected else 0
    header = HEADER.pack(first, len(selected), total - HEADER_SIZE)
    if allocation <= HEADER_SIZE or total == HEADER_SIZE:
        out = req.buffer(min(allocation, HEADER_SIZE))
        out[:] = header[:len(out)]
        return out

    # How much goes: whole page headers with at least one whole descriptor each.
    cut: list[tuple[ElementType, list[Element], int | None, int]] = []
    size = HEADER_SIZE
    for kind, group, ident_len, length in plan:
        room = (allocation - size - PAGE_HEADER_SIZE) // length
        if room <= 0:
            break
        fits = min(room, len(group))
        cut.append((kind, group, ident_len, fits))
        size += PAGE_HEADER_SIZE + fits * length
        if fits < len(group):
            break

    out = req.buffer(size)
    out[:HEADER_SIZE] = header
    offset = HEADER_SIZE
    for kind, group, ident_len, fits in cut:
        offset = pack_page(out, offset, kind, group[:fits] if fits < len(group) else group,
                           voltag, ident_len, len(group))
    assert offset == size
    return out


@SMC.register("READ ELEMENT STATUS", 0xB8, READ_ELEMENT_STATUS, access=Access.READ)
def read_element_status(dev: ScsiDevice, req: Request) -> memoryview:
    f = req.fields
    if f.element_type_code > max(ElementType):
        raise req.invalid("element_type_code")
    dev.ready_check(req.nexus)
    selected = select(req, dev.robot.elements())
    return report(req, selected, f.voltag, f.dvcid, f.allocation_length,
                  f.element_type_code != ALL_TYPES)
