"""SSC CDBs built by hand from the SSC-4 tables (independent of our Layouts),
for tests.  python-scsi has no SSC builders, so these are the 'other encoder'."""
from __future__ import annotations

import struct


def write6(n: int, fixed: bool = False) -> bytes:
    return bytes([0x0A, int(fixed)]) + n.to_bytes(3, "big") + b"\0"


def read6(n: int, fixed: bool = False, sili: bool = False) -> bytes:
    return bytes([0x08, (2 if sili else 0) | int(fixed)]) + n.to_bytes(3, "big") + b"\0"


def write_filemarks6(n: int, immed: bool = False, wsmk: bool = False) -> bytes:
    return bytes([0x10, (2 if wsmk else 0) | int(immed)]) + n.to_bytes(3, "big") + b"\0"


def space6(code: int, count: int) -> bytes:
    return bytes([0x11, code]) + (count & 0xFFFFFF).to_bytes(3, "big") + b"\0"


def space16(code: int, count: int) -> bytes:
    return bytes([0x91, code, 0, 0]) + struct.pack(">q", count) + b"\0\0\0\0"


def locate10(obj: int, partition: int | None = None) -> bytes:
    cp = 2 if partition is not None else 0
    return bytes([0x2B, cp, 0]) + obj.to_bytes(4, "big") + bytes([0, partition or 0, 0])


def locate16(ident: int, dest_type: int = 0, partition: int | None = None) -> bytes:
    cp = 2 if partition is not None else 0
    return bytes([0x92, (dest_type << 3) | cp, 0, partition or 0]) + ident.to_bytes(8, "big") + b"\0" * 4


def read_position(sa: int = 0, alloc: int = 0) -> bytes:
    return bytes([0x34, sa, 0, 0, 0, 0, 0]) + alloc.to_bytes(2, "big") + b"\0"


def rewind(immed: bool = False) -> bytes:
    return bytes([0x01, int(immed), 0, 0, 0, 0])


def load_unload(load: bool, eot: bool = False, reten: bool = False, hold: bool = False) -> bytes:
    return bytes([0x1B, 0, 0, 0, (8 if hold else 0) | (4 if eot else 0) | (2 if reten else 0) | int(load), 0])


def erase(long: bool = False) -> bytes:
    return bytes([0x19, int(long), 0, 0, 0, 0])


def read_block_limits(mloc: bool = False) -> bytes:
    return bytes([0x05, int(mloc), 0, 0, 0, 0])


def test_unit_ready() -> bytes:
    return bytes(6)


def request_sense(alloc: int = 252, desc: bool = False) -> bytes:
    return bytes([0x03, int(desc), 0, 0, alloc, 0])


def prevent_allow(prevent: int) -> bytes:
    return bytes([0x1E, 0, 0, 0, prevent, 0])


def report_density_support(media: bool = False, medium_type: bool = False, alloc: int = 0xFFFF) -> bytes:
    return bytes([0x44, (2 if medium_type else 0) | int(media), 0, 0, 0, 0, 0]) + alloc.to_bytes(2, "big") + b"\0"


def log_sense(page: int, subpage: int = 0, alloc: int = 0xFFFF, pc: int = 1, pointer: int = 0) -> bytes:
    return bytes([0x4D, 0, (pc << 6) | page, subpage, 0]) + pointer.to_bytes(2, "big") + alloc.to_bytes(2, "big") + b"\0"


def log_select_reset() -> bytes:
    return bytes([0x4C, 0x02, 0x40, 0, 0, 0, 0, 0, 0, 0])


def mode_sense6(page: int, subpage: int = 0, alloc: int = 255, dbd: bool = False, pc: int = 0) -> bytes:
    return bytes([0x1A, 8 if dbd else 0, (pc << 6) | page, subpage, alloc, 0])


def mode_select6(length: int, pf: bool = True) -> bytes:
    return bytes([0x15, 0x10 if pf else 0, 0, 0, length, 0])


def read_attribute(sa: int = 0, first: int = 0, partition: int = 0, alloc: int = 0x10000) -> bytes:
    return (bytes([0x8C, sa, 0, 0, 0, 0, 0, partition]) + first.to_bytes(2, "big")
            + alloc.to_bytes(4, "big") + b"\0\0")


def write_attribute(length: int) -> bytes:
    return bytes([0x8D, 1, 0, 0, 0, 0, 0, 0, 0, 0]) + length.to_bytes(4, "big") + b"\0\0"


def format_medium(fmt: int = 0) -> bytes:
    return bytes([0x04, 0, fmt, 0, 0, 0])


def set_capacity(value: int) -> bytes:
    return bytes([0x0B, 0, 0]) + value.to_bytes(2, "big") + b"\0"


def verify6(n: int, fixed: bool = False, bytcmp: bool = False) -> bytes:
    return bytes([0x13, (2 if bytcmp else 0) | int(fixed)]) + n.to_bytes(3, "big") + b"\0"


def allow_overwrite(code: int, partition: int = 0, obj: int = 0) -> bytes:
    return bytes([0x82, 0, 0, code, partition, 0]) + obj.to_bytes(8, "big") + b"\0\0"
