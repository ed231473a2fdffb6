"""MODE SENSE(6)/(10) and MODE SELECT(6)/(10) (SPC-4).

The mode parameter list is a header, an optional block descriptor and a run
of mode pages.  Pages are :class:`~scsi.spc.mode_page.ModePage` objects the
device lists in ``dev.mode_pages``; the header and the block descriptor come
from device hooks (``medium_type``, ``device_specific_parameter``,
``block_descriptor`` and their MODE SELECT counterparts), because for a tape
drive they *are* drive state: write protect, buffered mode, density, block size.

MODE SELECT is all or nothing for the pages: every page is validated before
any is applied, so a bad field in the last page leaves the first untouched.
"""
from __future__ import annotations

from typing import Any

from ..device import Access, Request, ScsiDevice
from ..layout import Layout, bits, control, reserved
from ..sense import Asc, SenseKey, check, parameter_list_length_error
from .commands import SPC
from .mode_page import ModePage

MODE_SENSE_6 = Layout("MODE SENSE(6)", bits("opcode", 8), reserved(4), bits("dbd", 1), reserved(3),
                      bits("pc", 2), bits("page_code", 6), bits("subpage_code", 8),
                      bits("allocation_length", 8), *control())
MODE_SENSE_10 = Layout("MODE SENSE(10)", bits("opcode", 8), reserved(3), bits("llbaa", 1),
                       bits("dbd", 1), reserved(3), bits("pc", 2), bits("page_code", 6),
                       bits("subpage_code", 8), reserved(24), bits("allocation_length", 16),
                       *control())
MODE_SELECT_6 = Layout("MODE SELECT(6)", bits("opcode", 8), reserved(3), bits("pf", 1), reserved(3),
                       bits("sp", 1), reserved(16), bits("parameter_list_length", 8), *control())
MODE_SELECT_10 = Layout("MODE SELECT(10)", bits("opcode", 8), reserved(3), bits("pf", 1),
                        reserved(3), bits("sp", 1), reserved(40), bits("parameter_list_length", 16),
                        *control())

HEADER_6 = Layout("mode parameter header(6)", bits("mode_data_length", 8), bits("medium_type", 8),
                  bits("device_specific_parameter", 8), bits("block_descriptor_length", 8),
                  in_cdb=False)
HEADER_10 = Layout("mode parameter header(10)", bits("mode_data_length", 16),
                   bits("medium_type", 8), bits("device_specific_parameter", 8), reserved(7),
                   bits("longlba", 1), reserved(8), bits("block_descriptor_length", 16),
                   in_cdb=False)
BLOCK_DESCRIPTOR = Layout("general mode parameter block descriptor", bits("density_code", 8),
                          bits("number_of_blocks", 24), reserved(8), bits("block_length", 24),
                          in_cdb=False)
PAGE_HEADER = Layout("mode page header", bits("ps", 1), bits("spf", 1), bits("page_code", 6),
                     in_cdb=False)

CURRENT, CHANGEABLE, DEFAULT, SAVED = range(4)
ALL_PAGES = 0x3F
ALL_SUBPAGES = 0xFF

# PC=1 block descriptor: density code and block length may be changed, the
# number of blocks may not (SSC: it is always zero).
CHANGEABLE_BLOCK_DESCRIPTOR = dict(density_code=0xFF, number_of_blocks=0, block_length=0xFFFFFF)


# -- MODE SENSE -----------------------------------------------------------------------
def select_pages(dev: ScsiDevice, req: Request) -> list[ModePage]:
    """The pages a MODE SENSE asks for, in page-code order, or INVALID FIELD IN CDB."""
    f = req.fields
    pages: list[ModePage] = list(getattr(dev, "mode_pages", ()))
    code, sub = f.page_code, f.subpage_code
    if code == ALL_PAGES:
        if sub == 0:
            return [p for p in pages if p.subpage == 0]
        if sub == ALL_SUBPAGES:
            return pages
        raise req.invalid("subpage_code")
    same_code = [p for p in pages if p.code == code]
    if not same_code:
        raise req.invalid("page_code")
    chosen = same_code if sub == ALL_SUBPAGES else [p for p in same_code if p.subpage == sub]
    if not chosen:
        raise req.invalid("subpage_code")
    return chosen


def block_descriptor(dev: ScsiDevice, pc: int) -> bytes:
    hook = getattr(dev, "block_descriptor", None)
    current = hook() if callable(hook) else None
    if current is None:
        return b""
    if pc == CHANGEABLE:
        return BLOCK_DESCRIPTOR.build(**CHANGEABLE_BLOCK_DESCRIPTOR)
    density, blocks, length = current
    return BLOCK_DESCRIPTOR.build(density_code=density, number_of_blocks=blocks, block_length=length)


def header_values(dev: ScsiDevice) -> dict[str, int]:
    medium = getattr(dev, "medium_type", None)
    dsp = getattr(dev, "device_specific_parameter", None)
    return dict(medium_type=medium() if callable(medium) else 0,
                device_specific_parameter=dsp() if callable(dsp) else 0)


def mode_sense(dev: ScsiDevice, req: Request, header: Layout) -> bytes:
    f = req.fields
    if f.pc == SAVED:
        raise check(SenseKey.ILLEGAL_REQUEST, Asc.SAVING_PARAMETERS_NOT_SUPPORTED,
                    specific=req.command.layout.pointer("pc"))
    pages = select_pages(dev, req)
    descriptor = b"" if f.dbd else block_descriptor(dev, f.pc)
    body = descriptor + b"".join(p.image(f.pc) for p in pages)
    # MODE DATA LENGTH excludes itself; (6) caps it at what one byte can say.
    length = min(header.size + len(body) - header.width("mode_data_length") // 8,
                 (1 << header.width("mode_data_length")) - 1)
    return header.build(mode_data_length=length, block_descriptor_length=len(descriptor),
                        **header_values(dev)) + body


@SPC.register("MODE SENSE(6)", 0x1A, MODE_SENSE_6, access=Access.READ)
def mode_sense_6(dev: ScsiDevice, req: Request) -> bytes:
    return mode_sense(dev, req, HEADER_6)


@SPC.register("MODE SENSE(10)", 0x5A, MODE_SENSE_10, access=Access.READ)
def mode_sense_10(dev: ScsiDevice, req: Request) -> bytes:
    # LLBAA is ignored: a tape or changer block descriptor never needs 64-bit block counts.
    return mode_sense(dev, req, HEADER_10)


# -- MODE SELECT ----------------------------------------------------------------------
def snapshot(dev: ScsiDevice) -> tuple[Any, ...]:
    """Everything MODE SELECT can change, to tell whether it changed anything."""
    hook = getattr(dev, "block_descriptor", None)
    return (tuple(p.image(CURRENT) for p in getattr(dev, "mode_pages", ())),
            hook() if callable(hook) else None, header_values(dev)["device_specific_parameter"])


def find_page(dev: ScsiDevice, code: int, subpage: int) -> ModePage | None:
    for page in getattr(dev, "mode_pages", ()):
        if page.code == code and page.subpage == subpage:
            return page
    return None


def split_pages(data: memoryview, start: int) -> list[tuple[int, memoryview]]:
    """(offset, raw page) for each page; a page running past the list is a length error."""
    out = []
    offset = start
    while offset < len(data):
        if offset + 2 > len(data):
            raise parameter_list_length_error()
        spf = data[offset] & 0x40
        if spf:
            if offset + 4 > len(data):
                raise parameter_list_length_error()
            size = 4 + int.from_bytes(data[offset + 2:offset + 4], "big")
        else:
            size = 2 + data[offset + 1]
        if offset + size > len(data):
            raise parameter_list_length_error()
        out.append((offset, data[offset:offset + size]))
        offset += size
    return out


def mode_select(dev: ScsiDevice, req: Request, header: Layout) -> None:
    f = req.fields
    if f.sp:
        raise req.invalid("sp")
    if f.parameter_list_length == 0:
        return None
    data = req.parameters(f.parameter_list_length)
    if len(data) < header.size:
        raise parameter_list_length_error()
    h = header.parse(data)
    if h.get("longlba"):
        raise header.invalid("longlba")
    bdl = h.block_descriptor_length
    has_descriptor = callable(getattr(dev, "block_descriptor", None)) and dev.block_descriptor() is not None
    if bdl not in (0, BLOCK_DESCRIPTOR.size) or (bdl and not has_descriptor):
        raise header.invalid("block_descriptor_length")
    if header.size + bdl > len(data):
        raise parameter_list_length_error()
    pages = split_pages(data, header.size + bdl)
    if pages and not f.pf:
        raise req.invalid("pf")

    validated: list[tuple[ModePage, dict[str, Any]]] = []
    for offset, raw in pages:
        spf = bool(raw[0] & 0x40)
        page = find_page(dev, raw[0] & 0x3F, raw[1] if spf else 0)
        if page is None:
            raise PAGE_HEADER.invalid("page_code", offset)
        validated.append((page, page.select(raw, offset)))

    # The two device hooks validate and apply in one step, so the one likelier
    # to refuse (density, block length) goes first; pages are applied last.
    before = snapshot(dev)
    if bdl:
        d = BLOCK_DESCRIPTOR.parse(data[header.size:header.size + bdl])
        dev.select_block_descriptor(d.density_code, d.number_of_blocks, d.block_length, header.size)
    select_dsp = getattr(dev, "select_device_specific", None)
    if callable(select_dsp):
        select_dsp(h.device_specific_parameter, header.position("device_specific_parameter")[0])
    for page, new in validated:
        page.apply(new)
    if snapshot(dev) != before:
        dev.unit_attentions.establish(Asc.MODE_PARAMETERS_CHANGED, exclude=req.nexus)
        changed = getattr(dev, "mode_changed", None)
        if callable(changed):
            changed()
    return None


@SPC.register("MODE SELECT(6)", 0x15, MODE_SELECT_6, access=Access.WRITE)
def mode_select_6(dev: ScsiDevice, req: Request) -> None:
    return mode_select(dev, req, HEADER_6)


@SPC.register("MODE SELECT(10)", 0x55, MODE_SELECT_10, access=Access.WRITE)
def mode_select_10(dev: ScsiDevice, req: Request) -> None:
    return mode_select(dev, req, HEADER_10)
