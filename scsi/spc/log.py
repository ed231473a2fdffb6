"""LOG SENSE and LOG SELECT (SPC-4): statistics a host reads and resets.

The pages are the device's (``dev.log_pages``, a list of
:class:`~scsi.spc.log_page.LogPage`); this module adds the two pages every
device has, Supported Log Pages (00h/00h) and Supported Log Pages and
Subpages (00h/FFh), and the rules of the commands.  Threshold values are not
implemented (no parameter sets ETC), so asking for them is an invalid field,
and nothing is ever saved, so SP=1 is one too.
"""
from __future__ import annotations

from ..device import Access, Request, ScsiDevice
from ..layout import Layout, bits, control, reserved
from ..sense import Asc, parameter_list_length_error
from .commands import SPC
from .log_page import LOG_PAGE_HEADER, LogPage, encode_page, refuse_page

LOG_SENSE = Layout("LOG SENSE", bits("opcode", 8), reserved(7), bits("sp", 1), bits("pc", 2),
                   bits("page_code", 6), bits("subpage_code", 8), reserved(8),
                   bits("parameter_pointer", 16), bits("allocation_length", 16), *control())
LOG_SELECT = Layout("LOG SELECT", bits("opcode", 8), reserved(6), bits("pcr", 1), bits("sp", 1),
                    bits("pc", 2), bits("page_code", 6), bits("subpage_code", 8), reserved(24),
                    bits("parameter_list_length", 16), *control())

# PC field.
CURRENT_THRESHOLD, CURRENT_CUMULATIVE, DEFAULT_THRESHOLD, DEFAULT_CUMULATIVE = range(4)
THRESHOLDS = (CURRENT_THRESHOLD, DEFAULT_THRESHOLD)

SUPPORTED_PAGES = 0x00
ALL_SUBPAGES = 0xFF
PARAMETER_HEADER_SIZE = 4


def device_pages(dev: ScsiDevice) -> list[LogPage]:
    return list(getattr(dev, "log_pages", ()))


def supported_pages(dev: ScsiDevice, subpages: bool) -> bytes:
    pages = device_pages(dev)
    if subpages:
        pairs = {(SUPPORTED_PAGES, 0), (SUPPORTED_PAGES, ALL_SUBPAGES)}
        pairs |= {(p.code, p.subpage) for p in pages}
        return encode_page(SUPPORTED_PAGES, ALL_SUBPAGES, b"".join(bytes(pair) for pair in sorted(pairs)))
    codes = {SUPPORTED_PAGES} | {p.code for p in pages if p.subpage == 0}
    return encode_page(SUPPORTED_PAGES, 0, bytes(sorted(codes)))


def addressed_pages(dev: ScsiDevice, req: Request) -> list[LogPage]:
    """The device pages PAGE CODE / SUBPAGE CODE name (FFh: every subpage of the code)."""
    f = req.fields
    same_code = [p for p in device_pages(dev) if p.code == f.page_code]
    if not same_code:
        raise req.invalid("page_code")
    chosen = same_code if f.subpage_code == ALL_SUBPAGES else \
        [p for p in same_code if p.subpage == f.subpage_code]
    if not chosen:
        raise req.invalid("subpage_code")
    return chosen


@SPC.register("LOG SENSE", 0x4D, LOG_SENSE, access=Access.ALWAYS)
def log_sense(dev: ScsiDevice, req: Request) -> bytes:
    f = req.fields
    if f.sp:
        raise req.invalid("sp")
    if f.pc in THRESHOLDS:
        raise req.invalid("pc")
    if f.page_code == SUPPORTED_PAGES:
        if f.subpage_code not in (0, ALL_SUBPAGES):
            raise req.invalid("subpage_code")
        return supported_pages(dev, subpages=f.subpage_code == ALL_SUBPAGES)
    if f.subpage_code == ALL_SUBPAGES:   # defined for page 00h only
        raise req.invalid("subpage_code")
    page = addressed_pages(dev, req)[0]
    params = sorted(page.parameters(), key=lambda p: p.code)
    if f.pc == DEFAULT_CUMULATIVE:
        params = [p.default() for p in params]
    if f.parameter_pointer and (not params or f.parameter_pointer > params[-1].code):
        raise req.invalid("parameter_pointer")
    return page.encode([p for p in params if p.code >= f.parameter_pointer])


# -- LOG SELECT -----------------------------------------------------------------------
def parse_parameters(body: memoryview, base: int) -> list[tuple[int, int, bytes]]:
    out = []
    offset = 0
    while offset < len(body):
        if offset + PARAMETER_HEADER_SIZE > len(body):
            raise parameter_list_length_error()
        length = body[offset + 3]
        end = offset + PARAMETER_HEADER_SIZE + length
        if end > len(body):
            raise parameter_list_length_error()
        out.append((int.from_bytes(body[offset:offset + 2], "big"), body[offset + 2],
                    bytes(body[offset + PARAMETER_HEADER_SIZE:end])))
        offset = end
    return out


def select_values(dev: ScsiDevice, data: memoryview) -> None:
    """Hand each page in the parameter list to its page; unknown pages are refused."""
    offset = 0
    size = LOG_PAGE_HEADER.size
    while offset < len(data):
        if offset + size > len(data):
            raise parameter_list_length_error()
        h = LOG_PAGE_HEADER.parse(data[offset:offset + size])
        end = offset + size + h.page_length
        if end > len(data):
            raise parameter_list_length_error()
        subpage = h.subpage_code if h.spf else 0
        page = next((p for p in device_pages(dev) if (p.code, p.subpage) == (h.page_code, subpage)), None)
        if page is None:
            raise refuse_page(offset)
        page.select(parse_parameters(data[offset + size:end], offset + size), offset)
        offset = end


@SPC.register("LOG SELECT", 0x4C, LOG_SELECT, access=Access.WRITE)
def log_select(dev: ScsiDevice, req: Request) -> None:
    f = req.fields
    if f.sp:
        raise req.invalid("sp")
    if f.parameter_list_length:
        if f.pcr:
            raise req.invalid("pcr")
        if f.page_code or f.subpage_code:   # the pages are named in the parameter list
            raise req.invalid("page_code" if f.page_code else "subpage_code")
        select_values(dev, req.parameters(f.parameter_list_length))
    elif f.pcr and f.pc not in THRESHOLDS:
        everything = f.page_code == SUPPORTED_PAGES and f.subpage_code == 0
        for page in device_pages(dev) if everything else addressed_pages(dev, req):
            page.reset()
    else:
        # Without PCR and without data nothing is selected; threshold values
        # are not implemented, so resetting them changes nothing.
        return None
    dev.unit_attentions.establish(Asc.LOG_PARAMETERS_CHANGED, exclude=req.nexus)
    return None
