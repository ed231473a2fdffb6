"""Mode pages: one declaration per page gives MODE SENSE's current, changeable
and default images, and MODE SELECT's validation with exact field pointers.

A page is a :class:`Layout` that includes its own header (PS, SPF, page code,
[subpage code], page length).  Values live in a dict keyed by field name; the
changeable mask is the layout built with every changeable field set to all
ones, so it can never disagree with what MODE SELECT accepts.
"""
from __future__ import annotations

from typing import Any, ClassVar

from ..layout import Layout, bits, reserved

HEADER_FIELDS = frozenset({"ps", "spf", "page_code", "subpage_code", "page_length"})


def page_header(subpage: bool = False) -> list:
    """The page_0 or sub_page header fields, to start a mode page layout with."""
    if subpage:
        return [bits("ps", 1), bits("spf", 1), bits("page_code", 6), bits("subpage_code", 8),
                bits("page_length", 16)]
    return [bits("ps", 1), bits("spf", 1), bits("page_code", 6), bits("page_length", 8)]


class ModePage:
    code: ClassVar[int]
    subpage: ClassVar[int] = 0
    layout: ClassVar[Layout]
    changeable: ClassVar[frozenset[str]] = frozenset()
    defaults: ClassVar[dict[str, Any]] = {}
    saveable: ClassVar[bool] = False

    def __init__(self) -> None:
        self.values: dict[str, Any] = dict(self.defaults)

    # -- hooks a page may override -------------------------------------------------
    def current(self) -> dict[str, Any]:
        """Current values; pages that mirror device state compute them here."""
        return self.values

    def validate(self, new: dict[str, Any], base: int) -> None:
        """Check values beyond changeability (ranges, combinations).  ``base``
        is the page's offset in the parameter list, for field pointers."""

    def apply(self, new: dict[str, Any]) -> None:
        self.values.update(new)

    # -- images --------------------------------------------------------------------
    @property
    def size(self) -> int:
        return self.layout.size

    def _header(self) -> dict[str, Any]:
        sub = self.subpage != 0 or "subpage_code" in self.layout.fields()
        h = dict(ps=self.saveable, spf=sub, page_code=self.code,
                 page_length=self.size - (4 if sub else 2))
        if sub:
            h["subpage_code"] = self.subpage
        return h

    def image(self, pc: int) -> bytes:
        """PC 0 current, 1 changeable, 2 default (3, saved, is refused by the caller)."""
        if pc == 1:
            vals = {f: (1 << self.layout.width(f)) - 1 for f in self.changeable}
        elif pc == 2:
            vals = dict(self.defaults)
        else:
            vals = dict(self.current())
        vals.update(self._header())
        if pc == 1:
            vals["ps"] = self.saveable
        return self.layout.build(**vals)

    def select(self, raw: memoryview, base: int) -> dict[str, Any]:
        """Validate a page from MODE SELECT; return the new values (not yet applied)."""
        layout = self.layout
        if len(raw) < layout.size:
            raise layout.invalid("page_length", base)
        parsed = layout.parse(raw)
        if parsed.page_length != self.size - (4 if parsed.spf else 2):
            raise layout.invalid("page_length", base)
        cur = self.current()
        new: dict[str, Any] = {}
        for f in layout.fields():
            if f in HEADER_FIELDS:
                continue
            v = parsed[f]
            if f in self.changeable:
                new[f] = v
            elif v != cur.get(f, 0):
                raise layout.invalid(f, base)
        self.validate(new, base)
        return new


def page_layout(name: str, *fields, subpage: bool = False) -> Layout:
    """A parameter-list layout for a mode page (field pointers are C/D = 0)."""
    return Layout(name, *page_header(subpage), *fields, in_cdb=False)


__all__ = ["ModePage", "page_layout", "page_header", "bits", "reserved", "HEADER_FIELDS"]
