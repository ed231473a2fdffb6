"""SSC's own VPD page: B0h, sequential-access device capabilities."""
from __future__ import annotations

from construct import BitStruct, Flag, Padding, Struct

SequentialAccessCapabilities = Struct(
    "flags" / BitStruct(Padding(5), "tsmc" / Flag, Padding(1), "worm" / Flag),
    Padding(1),
)


def vpd_b0(drive):
    """Page body builder: the drive supports WORM media."""
    return lambda: SequentialAccessCapabilities.build(dict(flags=dict(tsmc=False, worm=True)))
