"""Derive ``struct`` formats from construct declarations.

The wire formats of this package are declared once with construct; the hot
paths (a header per file on the write side, a header per block run on the read
side) use ``struct.Struct`` objects computed here from those declarations, so
the two cannot drift apart.  Only the fixed-size subset construct offers and we
use (little-endian integers, fixed ``Bytes``, fixed ``Array``, nested
``Struct``) is accepted.
"""
from __future__ import annotations

import struct

from construct import Array, Bytes, Construct, FormatField, Renamed, Struct


def _codes(con: Construct, prefix: str) -> list[tuple[str, str]]:
    if isinstance(con, Renamed):
        return _codes(con.subcon, prefix)
    if isinstance(con, FormatField):
        order, code = con.fmtstr[0], con.fmtstr[1:]
        if order != "<":
            raise TypeError(f"{prefix}: only little-endian fields have a fast path")
        return [(prefix, code)]
    if isinstance(con, Bytes) and isinstance(con.length, int):
        return [(prefix, f"{con.length}s")]
    if isinstance(con, Array) and isinstance(con.count, int):
        out: list[tuple[str, str]] = []
        for i in range(con.count):
            out += _codes(con.subcon, f"{prefix}[{i}]")
        return out
    if isinstance(con, Struct):
        out = []
        for sub in con.subcons:
            out += _codes(sub, f"{prefix}.{sub.name}" if prefix else sub.name)
        return out
    raise TypeError(f"{prefix}: {type(con).__name__} has no fixed struct layout")


def flat_fields(con: Struct, start: str | None = None, stop: str | None = None) -> list[tuple[str, str]]:
    """(dotted name, struct code) of every scalar in ``con``, from top-level
    field ``start`` up to (not including) top-level field ``stop``."""
    names = [sub.name for sub in con.subcons]
    lo = names.index(start) if start else 0
    hi = names.index(stop) if stop else len(names)
    out: list[tuple[str, str]] = []
    for sub in con.subcons[lo:hi]:
        out += _codes(sub, sub.name)
    return out


def fast_struct(con: Struct, start: str | None = None, stop: str | None = None) -> tuple[struct.Struct, dict[str, int]]:
    """A precompiled struct for a run of ``con``'s top-level fields, and the
    index of each flattened field name in its tuples."""
    fields = flat_fields(con, start, stop)
    packed = struct.Struct("<" + "".join(code for _, code in fields))
    return packed, {name: i for i, (name, _) in enumerate(fields)}


def offset_of(con: Struct, name: str) -> int:
    """Byte offset of top-level field ``name`` in ``con``."""
    off = 0
    for sub in con.subcons:
        if sub.name == name:
            return off
        off += sub.sizeof()
    raise KeyError(name)
