"""Medium auxiliary memory (MAM): the attribute catalogue of SPC-4 READ ATTRIBUTE.

The catalogue (identifier, name, format, length, who may write it) is a fact
about the medium's chip, so it lives with the cartridge; the SCSI encoding of
attribute lists lives with the drive.  Values are kept as raw bytes exactly as
they travel on the wire.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class Format(IntEnum):
    BINARY = 0
    ASCII = 1
    TEXT = 2


@dataclass(frozen=True)
class Attribute:
    id: int
    name: str
    format: Format
    length: int
    read_only: bool   # device and medium attributes are read-only to the host


_T = [
    # device type attributes (maintained by the drive)
    (0x0000, "REMAINING CAPACITY IN PARTITION", Format.BINARY, 8, True),
    (0x0001, "MAXIMUM CAPACITY IN PARTITION", Format.BINARY, 8, True),
    (0x0002, "TAPEALERT FLAGS", Format.BINARY, 8, True),
    (0x0003, "LOAD COUNT", Format.BINARY, 8, True),
    (0x0004, "MAM SPACE REMAINING", Format.BINARY, 8, True),
    (0x0005, "ASSIGNING ORGANIZATION", Format.ASCII, 8, True),
    (0x0006, "FORMATTED DENSITY CODE", Format.BINARY, 1, True),
    (0x0007, "INITIALIZATION COUNT", Format.BINARY, 2, True),
    (0x0009, "VOLUME CHANGE REFERENCE", Format.BINARY, 4, True),
    (0x020A, "DEVICE VENDOR/SERIAL NUMBER AT LAST LOAD", Format.ASCII, 40, True),
    (0x020B, "DEVICE VENDOR/SERIAL NUMBER AT LOAD-1", Format.ASCII, 40, True),
    (0x020C, "DEVICE VENDOR/SERIAL NUMBER AT LOAD-2", Format.ASCII, 40, True),
    (0x020D, "DEVICE VENDOR/SERIAL NUMBER AT LOAD-3", Format.ASCII, 40, True),
    (0x0220, "TOTAL MBYTES WRITTEN IN MEDIUM LIFE", Format.BINARY, 8, True),
    (0x0221, "TOTAL MBYTES READ IN MEDIUM LIFE", Format.BINARY, 8, True),
    (0x0222, "TOTAL MBYTES WRITTEN IN CURRENT/LAST LOAD", Format.BINARY, 8, True),
    (0x0223, "TOTAL MBYTES READ IN CURRENT/LAST LOAD", Format.BINARY, 8, True),
    (0x0224, "LOGICAL POSITION OF FIRST ENCRYPTED BLOCK", Format.BINARY, 8, True),
    # medium type attributes (set when the cartridge is made)
    (0x0400, "MEDIUM MANUFACTURER", Format.ASCII, 8, True),
    (0x0401, "MEDIUM SERIAL NUMBER", Format.ASCII, 32, True),
    (0x0402, "MEDIUM LENGTH", Format.BINARY, 4, True),
    (0x0403, "MEDIUM WIDTH", Format.BINARY, 4, True),
    (0x0404, "ASSIGNING ORGANIZATION", Format.ASCII, 8, True),
    (0x0405, "MEDIUM DENSITY CODE", Format.BINARY, 1, True),
    (0x0406, "MEDIUM MANUFACTURE DATE", Format.ASCII, 8, True),
    (0x0407, "MAM CAPACITY", Format.BINARY, 8, True),
    (0x0408, "MEDIUM TYPE", Format.BINARY, 1, True),
    (0x0409, "MEDIUM TYPE INFORMATION", Format.BINARY, 2, True),
    # host type attributes (written by applications)
    (0x0800, "APPLICATION VENDOR", Format.ASCII, 8, False),
    (0x0801, "APPLICATION NAME", Format.ASCII, 32, False),
    (0x0802, "APPLICATION VERSION", Format.ASCII, 8, False),
    (0x0803, "USER MEDIUM TEXT LABEL", Format.TEXT, 160, False),
    (0x0804, "DATE AND TIME LAST WRITTEN", Format.ASCII, 12, False),
    (0x0805, "TEXT LOCALIZATION IDENTIFIER", Format.BINARY, 1, False),
    (0x0806, "BARCODE", Format.ASCII, 32, False),
    (0x0807, "OWNING HOST TEXTUAL NAME", Format.TEXT, 80, False),
    (0x0808, "MEDIA POOL", Format.TEXT, 160, False),
    (0x080B, "APPLICATION FORMAT VERSION", Format.ASCII, 16, False),
    (0x080C, "VOLUME COHERENCY INFORMATION", Format.BINARY, 0, False),
]

ATTRIBUTES: dict[int, Attribute] = {a[0]: Attribute(*a) for a in _T}
MAM_CAPACITY = 16 * 1024
"""Bytes of MAM, as on LTO-5 and later cartridges."""


def lookup(attr_id: int) -> Attribute:
    """The catalogue entry; unknown ids in the vendor/host ranges are variable-length binary."""
    a = ATTRIBUTES.get(attr_id)
    if a is not None:
        return a
    if 0x0800 <= attr_id <= 0x0BFF or 0x1400 <= attr_id <= 0x17FF:
        return Attribute(attr_id, f"HOST ATTRIBUTE 0x{attr_id:04X}", Format.BINARY, 0, False)
    if 0x0C00 <= attr_id <= 0x0FFF or 0x1000 <= attr_id <= 0x13FF:
        return Attribute(attr_id, f"VENDOR ATTRIBUTE 0x{attr_id:04X}", Format.BINARY, 0, False)
    raise KeyError(attr_id)


def ascii_value(text: str, length: int) -> bytes:
    """ASCII attributes are left-aligned and padded with spaces to their length."""
    return text.encode("ascii", "replace")[:length].ljust(length, b" ")


def binary_value(number: int, length: int) -> bytes:
    return (number & ((1 << (8 * length)) - 1)).to_bytes(length, "big")
