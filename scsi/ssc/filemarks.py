"""WRITE FILEMARKS(6) and (16).  With IMMED=0 this is the sync point at which
every block written before it is durable."""
from __future__ import annotations

from images.cartridge import EndOfMedium, Kind, WriteFailure

from ..device import Access, Request
from ..layout import Layout, bits, control, reserved
from .commands import SSC
from .tapealert import TapeAlerts
from .write import early_warning, volume_overflow, write_error

WRITE_FILEMARKS_6 = Layout("WRITE FILEMARKS(6)", bits("opcode", 8), reserved(6), bits("wsmk", 1),
                           bits("immed", 1), bits("count", 24), *control())
WRITE_FILEMARKS_16 = Layout("WRITE FILEMARKS(16)", bits("opcode", 8), reserved(4), bits("fcs", 1),
                            bits("lcs", 1), bits("wsmk", 1), bits("immed", 1), reserved(8),
                            bits("partition", 8), bits("logical_object_identifier", 64),
                            bits("count", 24), *control())


def write_filemarks(dev, req: Request, count: int) -> None:
    f = req.fields
    if f.wsmk and dev.personality.is_lto:
        raise req.invalid("wsmk")   # LTO has no setmarks
    kind = Kind.SETMARK if f.wsmk else Kind.FILEMARK
    if count == 0:
        dev.ready_check()
        if not f.immed:
            dev.flush()
        return None
    part = dev.medium_for_write()
    try:
        written = part.write_marks(kind, count) if part.room_for(0) else 0
    except EndOfMedium:                  # the file system holding the cartridge is full
        written = 0
    except WriteFailure:
        dev.alerts.set(TapeAlerts.WRITE_FAILURE)
        raise write_error(count) from None
    dev.stats.filemarks_written += written
    if written < count:
        raise volume_overflow(count - written)
    if not f.immed:
        dev.flush()
    if part.in_early_warning:
        raise early_warning()
    return None


@SSC.register("WRITE FILEMARKS(6)", 0x10, WRITE_FILEMARKS_6, access=Access.WRITE)
def write_filemarks6(dev, req: Request):
    return write_filemarks(dev, req, req.fields.count)


@SSC.register("WRITE FILEMARKS(16)", 0x80, WRITE_FILEMARKS_16, access=Access.WRITE)
def write_filemarks16(dev, req: Request):
    f = req.fields
    if f.fcs or f.lcs:
        raise req.invalid("fcs" if f.fcs else "lcs")
    part = dev.medium()
    if f.partition != part.number:
        raise req.invalid("partition")
    if f.logical_object_identifier != part.pos:
        raise req.invalid("logical_object_identifier")
    return write_filemarks(dev, req, f.count)
