"""READ POSITION: short, long and extended forms (SSC-4 7.9).

The drive writes through (nothing is held in a buffer), so the first and last
logical object locations are the same and the buffer counts are zero.
"""
from __future__ import annotations

from construct import BitStruct, Flag, Int8ub, Int16ub, Int32ub, Int64ub, Padding, Struct

from ..device import Access, Request
from ..layout import Layout, bits, control, reserved
from .commands import SSC

READ_POSITION = Layout("READ POSITION", bits("opcode", 8), reserved(3), bits("service_action", 5),
                       reserved(40), bits("parameter_allocation_length", 16), *control())

SHORT_FORM, SHORT_VENDOR, LONG_FORM, EXTENDED_FORM = 0x00, 0x01, 0x06, 0x08

Flags = BitStruct("bop" / Flag, "eop" / Flag, "locu" / Flag, "bycu" / Flag, Padding(1),
                  "lolu" / Flag, "perr" / Flag, "bpew" / Flag)
LongFlags = BitStruct("bop" / Flag, "eop" / Flag, Padding(2), "mpu" / Flag, "lonu" / Flag,
                      Padding(1), "bpew" / Flag)

ShortForm = Struct("flags" / Flags, "partition" / Int8ub, Padding(2),
                   "first_location" / Int32ub, "last_location" / Int32ub, Padding(1),
                   "objects_in_buffer" / Int8ub[3],
                   "bytes_in_buffer" / Int32ub)
LongForm = Struct("flags" / LongFlags, Padding(3), "partition" / Int32ub,
                  "logical_object_number" / Int64ub, "logical_file_identifier" / Int64ub,
                  "logical_set_identifier" / Int64ub)
ExtendedForm = Struct("flags" / Flags, "partition" / Int8ub, "additional_length" / Int16ub, Padding(1),
                      "objects_in_buffer" / Int8ub[3], "first_location" / Int64ub,
                      "last_location" / Int64ub, "bytes_in_buffer" / Int64ub)


@SSC.register("READ POSITION", 0x34, READ_POSITION, access=Access.READ)
def read_position(dev, req: Request):
    f = req.fields
    if f.service_action not in (SHORT_FORM, SHORT_VENDOR, LONG_FORM, EXTENDED_FORM):
        raise req.invalid("service_action")
    part = dev.medium()
    pos = part.pos
    at_ew = part.in_early_warning and pos == part.eod
    bop = pos == 0
    if f.service_action == LONG_FORM:
        return LongForm.build(dict(flags=dict(bop=bop, eop=at_ew, mpu=False, lonu=False, bpew=at_ew),
                                   partition=part.number, logical_object_number=pos,
                                   logical_file_identifier=part.filemarks_before(),
                                   logical_set_identifier=part.setmarks_before()))
    perr = pos > 0xFFFFFFFF
    flags = dict(bop=bop, eop=at_ew, locu=False, bycu=False, lolu=False, perr=perr, bpew=at_ew)
    if f.service_action == EXTENDED_FORM:
        data = ExtendedForm.build(dict(flags=dict(flags, perr=False), partition=part.number,
                                       additional_length=0x1C, objects_in_buffer=[0, 0, 0],
                                       first_location=pos, last_location=pos, bytes_in_buffer=0))
        return data[: f.parameter_allocation_length]
    loc = pos & 0xFFFFFFFF if not perr else 0
    return ShortForm.build(dict(flags=flags, partition=part.number, first_location=loc, last_location=loc,
                                objects_in_buffer=[0, 0, 0], bytes_in_buffer=0))
