"""The contents of one tape configuration file, as immutable values.

A :class:`TapeConfig` is used two ways.  As a *drive personality* it says what an
emulated drive reports in INQUIRY and which densities and compression it accepts.  As
a *host-side table* it says what a tape device name such as ``nrst0a`` selects before
use: the density code for the mode parameter block descriptor and the algorithm for
the Data Compression mode page (0x0F).

Construction validates every rule of the format (see :mod:`tapeconf.rules`), so a
``TapeConfig`` that exists is one that could have been read from a valid file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePath
from types import MappingProxyType
from typing import Any, Literal

from tapeconf.rules import (
    COMPRESSION_TYPES,
    Problem,
    check_byte,
    check_id_match_size,
    check_pretty_pair,
    check_text,
    check_timeout,
)

__all__ = ["COMPRESSION_TYPES", "CompressionType", "DensitySetting", "TapeConfig"]

#: One of the four compression types of a tape device name.
CompressionType = Literal["l", "m", "h", "a"]


def _raise(problem: Problem | None) -> None:
    if problem is not None:
        raise ValueError(f"{problem.message} Fix: {problem.fix}")


def _require_int(name: str, value: object) -> None:
    # bool is an int subclass; True as a density code is a bug, not 0x01.
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}.")


def _require_str(name: str, value: object) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}.")


@dataclass(frozen=True)
class DensitySetting:
    """What one compression type (``l``, ``m``, ``h`` or ``a``) selects on the drive."""

    #: Label printed by ``sysconfig -t`` and in device listings (at most 24 bytes).
    description: str
    #: Density code for the mode parameter block descriptor; 0x00 means the drive's
    #: default, which for LTO is the format of the loaded cartridge.
    density: int
    #: Compression algorithm for the Data Compression mode page (0x0F); 0x00 is off,
    #: 0x01 is the drive's default compression.
    algorithm: int

    def __post_init__(self) -> None:
        _require_str("description", self.description)
        _require_int("density", self.density)
        _require_int("algorithm", self.algorithm)
        _raise(check_text("description", self.description))
        _raise(check_byte("density", self.density))
        _raise(check_byte("algorithm", self.algorithm))

    @property
    def compression(self) -> bool:
        """True when this setting turns the drive's compression on."""
        return self.algorithm != 0


@dataclass(frozen=True)
class TapeConfig:
    """One tape configuration file: a drive's identity and its four density settings.

    ``settings`` and ``cmd_timeouts`` are stored as read-only mappings, in canonical
    order (``l m h a``; opcodes ascending).  ``source`` (where the configuration came
    from) is not part of equality: two files with the same contents describe the same
    drive.

    ``emulates`` is set on configurations made by
    :meth:`tapeconf.qualification.QualificationTable.emulate`: the vendor and product
    ids are those of the real, nonqualified drive, and ``emulates`` names the
    qualified personality whose settings it borrowed.
    """

    #: Vendor id exactly as the drive reports it in INQUIRY (at most 8 bytes).
    vendor_id: str
    #: Product id as the drive reports it in INQUIRY (at most 16 bytes).
    product_id: str
    #: How many leading bytes of the product id identify the drive.
    id_match_size: int
    #: Display names for ``storage tape show -device-names``; both or neither.
    vendor_pretty: str | None
    product_pretty: str | None
    #: The four density settings, keyed ``l``, ``m``, ``h``, ``a``.
    settings: Mapping[str, DensitySetting]
    #: True when the drive becomes ready by itself after a cartridge is inserted.
    autoload: bool = False
    #: Command timeouts that differ from the tape driver's defaults: opcode -> seconds.
    cmd_timeouts: Mapping[int, float] = field(default_factory=dict)
    #: Where the configuration came from (a file name), for messages.
    source: str = field(default="<string>", compare=False)
    #: Name of the qualified personality this configuration emulates, if any.
    emulates: str | None = None

    def __post_init__(self) -> None:
        _require_str("vendor_id", self.vendor_id)
        _require_str("product_id", self.product_id)
        _require_int("id_match_size", self.id_match_size)
        _require_str("source", self.source)
        if not isinstance(self.autoload, bool):
            raise TypeError(f"autoload must be a bool, not {type(self.autoload).__name__}.")
        _raise(check_text("vendor_id", self.vendor_id))
        _raise(check_text("product_id", self.product_id))
        _raise(check_id_match_size(self.id_match_size, self.product_id))
        for key in ("vendor_pretty", "product_pretty"):
            value = getattr(self, key)
            if value is not None:
                _require_str(key, value)
                _raise(check_text(key, value))
        _raise(check_pretty_pair(self.vendor_pretty, self.product_pretty))
        if self.emulates is not None:
            _require_str("emulates", self.emulates)

        settings = dict(self.settings)
        if set(settings) != set(COMPRESSION_TYPES):
            have = " ".join(sorted(settings, key=str)) or "none"
            raise ValueError(
                f"settings must have exactly the keys l, m, h and a; it has {have}."
            )
        for name, setting in settings.items():
            if not isinstance(setting, DensitySetting):
                raise TypeError(
                    f"settings[{name!r}] must be a DensitySetting, "
                    f"not {type(setting).__name__}."
                )
        ordered = {name: settings[name] for name in COMPRESSION_TYPES}

        timeouts: dict[int, float] = {}
        for opcode in sorted(self.cmd_timeouts):
            seconds = self.cmd_timeouts[opcode]
            _require_int("cmd_timeouts opcode", opcode)
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
                raise TypeError(
                    f"cmd_timeouts[0x{opcode:02x}] must be a number of seconds, "
                    f"not {type(seconds).__name__}."
                )
            _raise(check_timeout(opcode, seconds))
            timeouts[opcode] = float(seconds)

        object.__setattr__(self, "settings", MappingProxyType(ordered))
        object.__setattr__(self, "cmd_timeouts", MappingProxyType(timeouts))

    # Read-only mappings are not hashable or picklable by themselves; these two
    # methods restore what a frozen dataclass would otherwise give for free.
    def __hash__(self) -> int:
        return hash((
            self.vendor_id, self.product_id, self.id_match_size,
            self.vendor_pretty, self.product_pretty,
            tuple(self.settings.items()), self.autoload,
            tuple(self.cmd_timeouts.items()), self.emulates,
        ))

    def __reduce__(self) -> tuple[Any, ...]:
        return (self.__class__, (
            self.vendor_id, self.product_id, self.id_match_size,
            self.vendor_pretty, self.product_pretty, dict(self.settings),
            self.autoload, dict(self.cmd_timeouts), self.source, self.emulates,
        ))

    @property
    def name(self) -> str:
        """The personality's name: the stem of its source file (``HP_LTO5``)."""
        return PurePath(self.source).stem or self.source

    @property
    def display_vendor(self) -> str:
        """What ``storage tape show -device-names`` shows as the vendor."""
        return self.vendor_pretty if self.vendor_pretty is not None else self.vendor_id

    @property
    def display_product(self) -> str:
        """What ``storage tape show -device-names`` shows as the product."""
        return self.product_pretty if self.product_pretty is not None else self.product_id

    @property
    def display_name(self) -> str:
        """Vendor and product for listings, e.g. ``"Hewlett-Packard LTO-5"``."""
        return f"{self.display_vendor} {self.display_product}"

    def setting(self, compression: str) -> DensitySetting:
        """The density setting a device name's compression type selects."""
        try:
            return self.settings[compression]
        except KeyError:
            raise ValueError(
                f"{compression!r} is not a compression type; use l, m, h or a."
            ) from None

    def matches(self, vendor_id: str, product_id: str) -> bool:
        """Does a drive reporting these INQUIRY ids use this configuration?

        Like ONTAP's tape qualification table: the vendor id must be equal, and the
        first ``id_match_size`` bytes of the product id must be equal.  INQUIRY pads
        the vendor id with blanks to 8 bytes, so trailing blanks are ignored there;
        the comparison is otherwise exact (case matters, as it does in INQUIRY data).
        """
        if vendor_id.rstrip(" ") != self.vendor_id.rstrip(" "):
            return False
        size = self.id_match_size
        return product_id[:size] == self.product_id[:size]
