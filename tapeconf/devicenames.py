"""Tape device names: ``rewind_type st alias_number compression_type``.

A tape device is one tape drive seen with one rewind behaviour and one density /
compression setting, e.g. ``nrst0a``: no rewind, drive alias ``st0``, setting ``a``
(highest compression).  Every drive gets twelve devices: three rewind types times the
four compression types of its tape configuration.

Alias numbers are written without leading zeros.  ONTAP treats ``st0`` and ``st00`` as
different logical names; a name with a zero-padded alias number cannot be represented
by an integer alias and is refused rather than quietly turned into another device.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from tapeconf.config import CompressionType, DensitySetting, TapeConfig
from tapeconf.rules import COMPRESSION_TYPES

__all__ = ["DeviceName", "RewindType", "device_listing", "format_listing", "parse_device_name"]


class RewindType(enum.Enum):
    """What happens when the tape file written through the device is closed."""

    #: ``r``: rewind the tape.
    REWIND = "r"
    #: ``nr``: leave the tape where it is, to write several tape files in a row.
    NO_REWIND = "nr"
    #: ``ur``: unload the tape and let the library load the next one.
    UNLOAD_RELOAD = "ur"

    @property
    def description(self) -> str:
        """The text of a device listing: ``"no rewind device,"``."""
        return _REWIND_DESCRIPTIONS[self]


_REWIND_DESCRIPTIONS = {
    RewindType.REWIND: "rewind device,",
    RewindType.NO_REWIND: "no rewind device,",
    RewindType.UNLOAD_RELOAD: "unload/reload device,",
}


@dataclass(frozen=True)
class DeviceName:
    """A parsed tape device name; ``str()`` gives the name back."""

    rewind: RewindType
    alias_number: int
    compression: CompressionType

    def __post_init__(self) -> None:
        if not isinstance(self.rewind, RewindType):
            raise TypeError(f"rewind must be a RewindType, not {type(self.rewind).__name__}.")
        if (not isinstance(self.alias_number, int) or isinstance(self.alias_number, bool)
                or self.alias_number < 0):
            raise ValueError(
                f"alias_number must be a whole number >= 0, not {self.alias_number!r}."
            )
        if self.compression not in COMPRESSION_TYPES:
            raise ValueError(
                f"compression must be one of l, m, h, a, not {self.compression!r}."
            )

    def __str__(self) -> str:
        return f"{self.rewind.value}{self.alias}{self.compression}"

    @property
    def alias(self) -> str:
        """The drive's alias: ``st0``."""
        return f"st{self.alias_number}"

    def setting(self, config: TapeConfig) -> DensitySetting:
        """What opening this device sets on a drive described by ``config``."""
        return config.settings[self.compression]


def parse_device_name(name: str) -> DeviceName:
    """Parse ``nrst0a`` and friends; raise ``ValueError`` saying what is wrong."""
    if not isinstance(name, str):
        raise TypeError(f"a tape device name is a str, not {type(name).__name__}.")

    def bad(reason: str) -> ValueError:
        return ValueError(
            f'"{name}" is not a tape device name: {reason} A tape device name is a rewind '
            "type (r, nr or ur), st, the alias number and a compression type (l, m, h or a), "
            "for example nrst0a."
        )

    if name == "":
        raise ValueError("A tape device name is empty; give one such as nrst0a.")
    if name != name.lower():
        raise bad("tape device names are lower case.")
    for rewind in sorted(RewindType, key=lambda r: -len(r.value)):
        if name.startswith(rewind.value + "st"):
            break
    else:
        if name.startswith(("r", "nr", "ur")):
            raise bad('the rewind type is not followed by "st".')
        raise bad("it does not start with a rewind type.")
    rest = name[len(rewind.value) + 2:]
    digits = len(rest) - len(rest.lstrip("0123456789"))
    number, compression = rest[:digits], rest[digits:]
    if not number:
        raise bad('there is no alias number after "st".')
    if len(number) > 1 and number.startswith("0"):
        raise bad(
            f'the alias number "{number}" has a leading zero, and st{number} is not the '
            f"same alias as st{int(number)}."
        )
    if compression == "":
        raise bad("the compression type is missing at the end.")
    if compression not in COMPRESSION_TYPES:
        raise bad(f'it ends in "{compression}", which is not a compression type.')
    return DeviceName(rewind, int(number), compression)  # type: ignore[arg-type]


def device_listing(alias_number: int, config: TapeConfig) -> list[tuple[str, str, str]]:
    """The tape devices of one drive, as ONTAP lists them.

    Rows are ``(device name, rewind description, "format is: <description>")``, by
    compression type (``l m h a``) and, within each, by rewind type (``r nr ur``).
    """
    rows = []
    for compression in COMPRESSION_TYPES:
        description = config.settings[compression].description
        for rewind in RewindType:
            device = DeviceName(rewind, alias_number, compression)  # type: ignore[arg-type]
            rows.append((str(device), rewind.description, f"format is: {description}"))
    return rows


_DESCRIPTION_WIDTH = max(len(text) for text in _REWIND_DESCRIPTIONS.values()) + 9
_VENDOR_WIDTH = 10


def format_listing(path: str, alias_number: int, config: TapeConfig) -> str:
    """The text of a tape device listing, laid out like ONTAP's.

    ``path`` is the drive's physical path name (``fc202_6:2.126L1``).  The header shows
    the vendor and product as ``storage tape show -device-names`` does: the pretty
    names when the configuration has them, otherwise the INQUIRY ids.  The text ends
    with a newline.
    """
    rows = device_listing(alias_number, config)
    name_width = max(len(name) for name, _, _ in rows) + 1
    indent = " " * (name_width + 3)
    lines = [
        f"{indent}Tape drive ({path})  "
        f"{config.display_vendor:<{_VENDOR_WIDTH}}  {config.display_product}".rstrip()
    ]
    for name, rewind, fmt in rows:
        lines.append(f"{name:<{name_width}}-  {rewind:<{_DESCRIPTION_WIDTH}}{fmt}".rstrip())
    return "\n".join(lines) + "\n"
