"""READ BLOCK LIMITS: the block sizes the drive accepts (and, with MLOC, the
largest logical object identifier)."""
from __future__ import annotations

from construct import Int8ub, Int16ub, Int24ub, Int64ub, Padding, Struct

from ..device import Access, Request
from ..layout import Layout, bits, control, reserved
from .commands import SSC

READ_BLOCK_LIMITS = Layout("READ BLOCK LIMITS", bits("opcode", 8), reserved(7), bits("mloc", 1),
                           reserved(24), *control())
BlockLimits = Struct("granularity" / Int8ub, "maximum_block_length" / Int24ub,
                     "minimum_block_length" / Int16ub)
MaximumLogicalObject = Struct(Padding(12), "maximum_logical_object_identifier" / Int64ub)


@SSC.register("READ BLOCK LIMITS", 0x05, READ_BLOCK_LIMITS, access=Access.READ)
def read_block_limits(dev, req: Request):
    if req.fields.mloc:
        return MaximumLogicalObject.build(dict(maximum_logical_object_identifier=0xFFFFFFFF))
    p = dev.personality
    return BlockLimits.build(dict(granularity=0, maximum_block_length=p.max_block_length,
                                  minimum_block_length=p.min_block_length))
