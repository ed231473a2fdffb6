"""The tape qualification table: which drives are supported, and with which settings.

ONTAP decides whether it may use a tape drive by matching the drive's INQUIRY vendor
and product ids against its tape qualification table ("How the storage system
qualifies a new tape drive dynamically").  Three outcomes, as listed by
``storage tape show-supported-status``:

* **Qualified** - the drive matches a built-in entry (for us: a bundled personality);
* **Dynamically Qualified** - it matches an entry loaded from a tape configuration
  file the user supplied;
* **Nonqualified** - nothing matches; the drive is not used.

A nonqualified drive can still be used by *emulating* a qualified one
(:meth:`QualificationTable.emulate`): the table gets a dynamic entry with the real
drive's ids and the qualified drive's settings.
"""

from __future__ import annotations

import dataclasses
import enum
import os
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from tapeconf.bundled import bundled, name_sort_key
from tapeconf.config import TapeConfig
from tapeconf.errors import UnknownDriveError
from tapeconf.parser import load_tape_config

__all__ = ["QualificationTable", "SupportRow", "SupportStatus"]


class SupportStatus(enum.Enum):
    """The support status column of ``storage tape show-supported-status``."""

    QUALIFIED = "Qualified"
    DYNAMICALLY_QUALIFIED = "Dynamically Qualified"
    NONQUALIFIED = "Nonqualified"

    @property
    def is_supported(self) -> bool:
        """The "Is Supported" column: qualified either way."""
        return self is not SupportStatus.NONQUALIFIED

    @property
    def listing_text(self) -> str:
        """The text ONTAP prints in the Support Status column."""
        if self is SupportStatus.NONQUALIFIED:
            return "Nonqualified tape drive"
        return self.value


class SupportRow(NamedTuple):
    """One row of a ``storage tape show-supported-status`` listing."""

    tape_drive: str
    is_supported: bool
    support_status: str


class _Entry(NamedTuple):
    config: TapeConfig
    status: SupportStatus


class QualificationTable:
    """Built-in (qualified) and user-supplied (dynamically qualified) personalities.

    Lookup rules, for a drive reporting ``(vendor_id, product_id)``:

    1. A dynamic entry that matches wins over any built-in entry, like loading a newer
       tape configuration file for a drive ONTAP already knows.
    2. Within the dynamic entries, and within the built-in ones, the entry with the
       longest ``id_match_size`` wins (the most specific description of the drive).
    3. Among dynamic entries with the same ``id_match_size``, the one added last wins.
    """

    def __init__(
        self,
        builtin: Iterable[TapeConfig] | None = None,
        dynamic: Iterable[TapeConfig] = (),
    ) -> None:
        """``builtin`` defaults to the bundled personalities (:func:`bundled`)."""
        if builtin is None:
            builtin = bundled()
        self._builtin = [_Entry(c, SupportStatus.QUALIFIED) for c in builtin]
        self._dynamic: list[_Entry] = []
        for config in dynamic:
            self.add(config)

    # -- filling the table ------------------------------------------------------------

    def add(self, config: TapeConfig) -> None:
        """Add a dynamically qualified entry (a user's tape configuration)."""
        if not isinstance(config, TapeConfig):
            raise TypeError(f"expected a TapeConfig, not {type(config).__name__}.")
        self._dynamic.append(_Entry(config, SupportStatus.DYNAMICALLY_QUALIFIED))

    def add_config_file(self, path: str | os.PathLike[str]) -> TapeConfig:
        """Load a tape configuration file and add it as a dynamic entry.

        Raises :class:`~tapeconf.errors.TapeConfigError` if the file is not valid; the
        table is then unchanged.
        """
        config = load_tape_config(path)
        self.add(config)
        return config

    def emulate(self, vendor_id: str, product_id: str, as_name: str) -> TapeConfig:
        """Use the drive ``(vendor_id, product_id)`` as if it were the drive ``as_name``.

        ``as_name`` names a qualified personality (the stem of its file, e.g.
        ``IBM_LTO5``; case-insensitive).  The result is that personality with:

        * ``vendor_id`` and ``product_id`` set to the real drive's INQUIRY ids (trailing
          blanks removed), matched on the whole product id;
        * no pretty names, so listings show which drive it really is;
        * ``emulates`` set to the name of the personality it borrowed its density
          settings, autoload and timeouts from.

        The result is added as a dynamic entry, so afterwards the drive's status is
        Dynamically Qualified; it is also returned.  Raises
        :class:`~tapeconf.errors.UnknownDriveError` (a ``KeyError``) for an unknown
        ``as_name`` and ``ValueError`` for ids INQUIRY could not have reported.
        """
        target = self.find(as_name)
        product_id = product_id.rstrip(" ")
        emulation = dataclasses.replace(  # TapeConfig checks the ids like a file's
            target,
            vendor_id=vendor_id.rstrip(" "),
            product_id=product_id,
            id_match_size=len(product_id),
            vendor_pretty=None,
            product_pretty=None,
            emulates=target.name,
        )
        self.add(emulation)
        return emulation

    # -- asking the table ---------------------------------------------------------------

    def find(self, name: str) -> TapeConfig:
        """The personality called ``name`` (file stem, case-insensitive, ``.tcf`` optional).

        Dynamic entries are searched first, latest first, so a user's file named like a
        bundled one replaces it here too.  Emulations are not personalities of their
        own and are never found by name.
        """
        wanted = name.removesuffix(".tcf").lower()
        for entry in self._search_order():
            if entry.config.emulates is None and entry.config.name.lower() == wanted:
                return entry.config
        raise UnknownDriveError(name, self.names())

    def names(self) -> list[str]:
        """The names :meth:`find` and :meth:`emulate` accept, each once, sorted."""
        return sorted(
            {e.config.name for e in self._entries() if e.config.emulates is None},
            key=name_sort_key,
        )

    def lookup(self, vendor_id: str, product_id: str) -> TapeConfig | None:
        """The configuration used for a drive with these INQUIRY ids, or ``None``."""
        entry = self._resolve(vendor_id, product_id)
        return entry.config if entry else None

    def status(self, vendor_id: str, product_id: str) -> SupportStatus:
        """The support status of a drive with these INQUIRY ids."""
        entry = self._resolve(vendor_id, product_id)
        return entry.status if entry else SupportStatus.NONQUALIFIED

    def rows(self, attached: Iterable[tuple[str, str]] | None = None) -> list[SupportRow]:
        """Rows for a ``storage tape show-supported-status`` listing.

        With ``attached`` (INQUIRY ``(vendor_id, product_id)`` pairs of the drives
        present), one row per drive in that order; a nonqualified drive is shown by its
        INQUIRY ids.  Without it, one row per entry that is in effect (a built-in entry
        replaced by a dynamic one is left out), sorted by name shown.
        """
        if attached is not None:
            return [self._row_for_drive(vendor, product) for vendor, product in attached]
        effective = [
            entry for entry in self._entries()
            if self._resolve(entry.config.vendor_id, entry.config.product_id) is entry
        ]
        rows = [
            SupportRow(e.config.display_name, e.status.is_supported, e.status.listing_text)
            for e in effective
        ]
        return sorted(rows, key=lambda row: row.tape_drive.lower())

    def __iter__(self) -> Iterator[TapeConfig]:
        """Every configuration in the table: dynamic ones (latest first), then built-in."""
        return (entry.config for entry in self._search_order())

    def __len__(self) -> int:
        return len(self._builtin) + len(self._dynamic)

    # -- internals --------------------------------------------------------------------

    def _entries(self) -> list[_Entry]:
        return [*self._builtin, *self._dynamic]

    def _search_order(self) -> list[_Entry]:
        return [*reversed(self._dynamic), *self._builtin]

    def _resolve(self, vendor_id: str, product_id: str) -> _Entry | None:
        for tier in (list(reversed(self._dynamic)), self._builtin):
            matching = [e for e in tier if e.config.matches(vendor_id, product_id)]
            if matching:
                # max() keeps the first of equals: the latest dynamic, the first built-in.
                return max(matching, key=lambda e: e.config.id_match_size)
        return None

    def _row_for_drive(self, vendor_id: str, product_id: str) -> SupportRow:
        entry = self._resolve(vendor_id, product_id)
        if entry is None:
            status = SupportStatus.NONQUALIFIED
            shown = f"{vendor_id.rstrip()} {product_id.rstrip()}"
            return SupportRow(shown, status.is_supported, status.listing_text)
        return SupportRow(
            entry.config.display_name, entry.status.is_supported, entry.status.listing_text
        )
