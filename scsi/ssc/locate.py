"""LOCATE(10) and LOCATE(16): go straight to a logical object, a file, or EOD.

A locate is an index lookup plus fewer than 64 header reads, whatever the
distance.  Beyond EOD the head stops at EOD with BLANK CHECK, as on a drive (see end_of_data).
"""
from __future__ import annotations

from ..device import Access, Request
from ..layout import Layout, bits, control, reserved
from .commands import SSC
from .end_of_data import end_of_data, go_to_end_of_data

LOCATE_10 = Layout("LOCATE(10)", bits("opcode", 8), reserved(5), bits("bt", 1), bits("cp", 1),
                   bits("immed", 1), reserved(8), bits("logical_object_identifier", 32), reserved(8),
                   bits("partition", 8), *control())
LOCATE_16 = Layout("LOCATE(16)", bits("opcode", 8), reserved(3), bits("dest_type", 2), reserved(1),
                   bits("cp", 1), bits("immed", 1), reserved(7), bits("bam", 1), bits("partition", 8),
                   bits("logical_identifier", 64), reserved(16), reserved(8), *control())

OBJECT, FILE, END_OF_DATA = 0, 1, 3


def locate(dev, req: Request, target: int, dest_type: int = OBJECT) -> None:
    f = req.fields
    dev.medium()
    cart = dev.cartridge
    if f.cp:
        if f.partition >= len(cart.partitions):
            raise req.invalid("partition")
        dev.flush()
        cart.select(f.partition)
    part = cart.active
    if dest_type == END_OF_DATA:
        go_to_end_of_data(part)
        return None
    if dest_type == FILE:
        if target == 0:
            obj = 0
        else:
            fm = part.filemark(target - 1)
            if fm is None:
                part.locate(part.eod)
                raise end_of_data(part)
            obj = fm + 1
    else:
        obj = target
    if obj > part.eod:
        part.locate(part.eod)
        raise end_of_data(part)
    part.locate(obj)
    return None


@SSC.register("LOCATE(10)", 0x2B, LOCATE_10, access=Access.WRITE)
def locate10(dev, req: Request):
    if req.fields.bt:
        raise req.invalid("bt")   # LTO: logical object identifiers only
    return locate(dev, req, req.fields.logical_object_identifier)


@SSC.register("LOCATE(16)", 0x92, LOCATE_16, access=Access.WRITE)
def locate16(dev, req: Request):
    f = req.fields
    if f.dest_type not in (OBJECT, FILE, END_OF_DATA):
        raise req.invalid("dest_type")
    if f.bam:
        raise req.invalid("bam")  # implicit address mode is not supported
    return locate(dev, req, f.logical_identifier, f.dest_type)
