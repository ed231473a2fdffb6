"""The limits of the ONTAP tape configuration file format, checked in one place.

The parser reports a broken rule together with the file and the line; the dataclasses
in :mod:`tapeconf.config` report the same rule when somebody builds a configuration in
code.  Both ask the functions below, so a value accepted from a file is exactly a value
accepted in code, and the wording of the complaint is the same in both places.

Each check returns ``None`` when the value is fine, or a :class:`Problem` (what is
wrong, and how to fix it) when it is not.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "BYTE_MAX",
    "COMPRESSION_TYPES",
    "DESCRIPTION_MAX",
    "PRETTY_MAX",
    "PRODUCT_ID_MAX",
    "SETTING_FIELDS",
    "VENDOR_ID_MAX",
    "Problem",
    "check_byte",
    "check_id_match_size",
    "check_opcode",
    "check_pretty_pair",
    "check_text",
    "check_timeout",
    "show",
]

#: Sizes from the table "Format of the tape configuration file".  INQUIRY data is
#: ASCII, so a character is a byte.
VENDOR_ID_MAX = 8
PRODUCT_ID_MAX = 16
PRETTY_MAX = 16
DESCRIPTION_MAX = 24

#: Density codes, compression algorithm codes and operation codes are single bytes.
BYTE_MAX = 0xFF

#: The four compression types of a tape device name, lowest to highest (``rst0l`` ...
#: ``rst0a``).  This is also the order in which they appear in a file and a listing.
COMPRESSION_TYPES = ("l", "m", "h", "a")

#: The three keys every compression type has: ``l_description``, ``l_density``, ...
SETTING_FIELDS = ("description", "density", "algorithm")


class Problem(NamedTuple):
    """What is wrong with a value, and what to do about it (both full sentences)."""

    message: str
    fix: str


def show(value: str) -> str:
    """A value as messages quote it: in double quotes, the way the file writes it.

    A value that itself contains a double quote is shown as a Python literal instead,
    so that where it begins and ends stays clear.
    """
    return repr(value) if '"' in value else f'"{value}"'


_TEXT_LIMITS: dict[str, tuple[int, str, str]] = {
    # kind: (limit, what it is, how to fix a value that is too long)
    "vendor_id": (
        VENDOR_ID_MAX,
        'the vendor id the drive reports in INQUIRY, e.g. "IBM"',
        "shorten it to the vendor id the drive reports in INQUIRY.",
    ),
    "product_id": (
        PRODUCT_ID_MAX,
        'the product id the drive reports in INQUIRY, e.g. "ULT3580-TD5"',
        "shorten it to the product id the drive reports in INQUIRY.",
    ),
    "vendor_pretty": (
        PRETTY_MAX,
        'the vendor name to display, e.g. "Hewlett-Packard"',
        f"shorten the display name to at most {PRETTY_MAX} bytes.",
    ),
    "product_pretty": (
        PRETTY_MAX,
        'the product name to display, e.g. "LTO-5"',
        f"shorten the display name to at most {PRETTY_MAX} bytes.",
    ),
    "description": (
        DESCRIPTION_MAX,
        'a short label for the density setting, e.g. "LTO-5 1500GB"',
        f"shorten the description to at most {DESCRIPTION_MAX} bytes; "
        "it is only the label that sysconfig -t prints.",
    ),
}


def _text_kind(key: str) -> str:
    return "description" if key.endswith("description") else key


def check_text(key: str, value: str) -> Problem | None:
    """Check a string value: non-empty, printable ASCII, no double quote, short enough.

    ``key`` is the file key (``vendor_id``, ``h_description``, ...) or the field name
    (``description``); it selects the size limit and is used in the message.  Values
    are ASCII because they are compared with, or shown next to, INQUIRY data, and the
    size limits are in bytes.
    """
    limit, what, shorten = _TEXT_LIMITS[_text_kind(key)]
    if value == "":
        return Problem(f"{key} is empty.", f"write {what}.")
    for position, char in enumerate(value, start=1):
        if char == '"':
            return Problem(
                f"{key} {show(value)} contains a double quote.",
                "remove it; a value cannot contain a double quote, because double quotes "
                "mark where the value begins and ends.",
            )
        if not " " <= char <= "~":
            return Problem(
                f"{key} {show(value)} contains {char!r} (U+{ord(char):04X}) at position "
                f"{position}, which is not printable ASCII.",
                "use only ASCII letters, digits, spaces and punctuation.",
            )
    if len(value) > limit:
        return Problem(
            f'{key} "{value}" is {len(value)} bytes; at most {limit} are allowed.', shorten
        )
    return None


def check_byte(key: str, value: int) -> Problem | None:
    """Check a density code or compression algorithm code: one byte, 0x00 to 0xFF."""
    if 0 <= value <= BYTE_MAX:
        return None
    shown = f"0x{value:02X}" if value >= 0 else str(value)
    if key.endswith("algorithm"):
        fix = ("compression algorithm codes are one byte: use 0x01 for the drive's "
               "default compression or 0x00 for none.")
    else:
        fix = ("use the density code the drive lists in REPORT DENSITY SUPPORT, "
               "or 0x00 for the drive's default.")
    return Problem(f"{key} {shown} does not fit in one byte (0x00 to 0xFF).", fix)


def check_id_match_size(size: int, product_id: str) -> Problem | None:
    """Check that ``id_match_size`` counts between 1 and all bytes of ``product_id``.

    Matching zero bytes would make the entry match every drive of the vendor, and
    matching more bytes than the product id has can never succeed.
    """
    if 1 <= size <= len(product_id):
        return None
    fix = (f"use a number from 1 to {len(product_id)}: how many leading bytes of "
           "product_id identify the drive.")
    if size < 1:
        return Problem(f"id_match_size is {size}; at least 1 byte must be matched.", fix)
    return Problem(
        f'id_match_size is {size} but product_id "{product_id}" is only '
        f"{len(product_id)} bytes long.",
        fix,
    )


def check_pretty_pair(vendor_pretty: str | None, product_pretty: str | None) -> Problem | None:
    """Check the rule that ``vendor_pretty`` and ``product_pretty`` come together."""
    if (vendor_pretty is None) == (product_pretty is None):
        return None
    present, missing = (
        ("vendor_pretty", "product_pretty") if product_pretty is None
        else ("product_pretty", "vendor_pretty")
    )
    return Problem(
        f"{present} is set but {missing} is not; the two display names go together.",
        f'add a {missing}="..." line, or remove {present}.',
    )


def check_opcode(opcode: int) -> Problem | None:
    """Check a SCSI operation code used in ``cmd_timeout_0xNN``."""
    if 0 <= opcode <= BYTE_MAX:
        return None
    shown = f"0x{opcode:X}" if opcode >= 0 else str(opcode)
    return Problem(
        f"operation code {shown} does not fit in one byte (0x00 to 0xFF).",
        "SCSI operation codes are one byte: write cmd_timeout_0x and two hex digits, "
        "e.g. cmd_timeout_0x01 for REWIND.",
    )


def check_timeout(opcode: int, seconds: float) -> Problem | None:
    """Check a command timeout: positive and a whole number of milliseconds.

    Milliseconds are the finest unit the file can express, so a finer value could not
    be written back out unchanged.
    """
    problem = check_opcode(opcode)
    if problem:
        return problem
    key = f"cmd_timeout_0x{opcode:02x}"
    if seconds <= 0:
        return Problem(
            f"{key} is {seconds} seconds; a timeout must be positive.",
            "give a positive time such as 90s, or remove the line to keep the default.",
        )
    milliseconds = seconds * 1000
    if abs(milliseconds - round(milliseconds)) > 1e-6:
        return Problem(
            f"{key} is {seconds} seconds, which is not a whole number of milliseconds.",
            "round it to the millisecond.",
        )
    return None
