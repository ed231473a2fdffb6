"""EXCLUDE: the names a backup leaves out, with the seed's rules.

A name matches a file or directory by its own name (not its path).  A ``*``
may stand only first or last, so each pattern is an exact name, a prefix, a
suffix or a substring; at most two ``*`` a pattern, at most 32 patterns, and
``\\,`` is a comma inside a name.  Anything else is refused before the backup
starts, with the offending pattern named.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..engine import Refusal

__all__ = ["MAX_NAMES", "NOTHING_EXCLUDED", "ExcludeList", "Pattern", "parse_exclude"]

MAX_NAMES = 32


@dataclass(frozen=True)
class Pattern:
    text: str
    core: bytes
    head: bool      # a leading *: the name may start with anything
    tail: bool      # a trailing *

    def matches(self, name: bytes) -> bool:
        if self.head and self.tail:
            return self.core in name
        if self.head:
            return name.endswith(self.core)
        if self.tail:
            return name.startswith(self.core)
        return name == self.core


@dataclass(frozen=True)
class ExcludeList:
    patterns: tuple[Pattern, ...]

    def __bool__(self) -> bool:
        return bool(self.patterns)

    @property
    def text(self) -> str:
        return ",".join(p.text.replace(",", "\\,") for p in self.patterns)

    def matches(self, name: bytes) -> bool:
        return any(p.matches(name) for p in self.patterns)


NOTHING_EXCLUDED = ExcludeList(())


def _split(raw: str) -> list[str]:
    names, current, escaped = [], [], False
    for ch in raw:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ",":
            names.append("".join(current))
            current = []
        else:
            current.append(ch)
    if escaped:
        current.append("\\")
    names.append("".join(current))
    return [n.strip() for n in names]


def parse_exclude(raw: str) -> ExcludeList:
    if not raw.strip():
        return NOTHING_EXCLUDED
    names = _split(raw)
    if any(not n for n in names):
        raise Refusal(f"EXCLUDE={raw!r}: an empty name in the list (two commas in a row?)")
    if len(names) > MAX_NAMES:
        raise Refusal(f"EXCLUDE: {len(names)} names; the exclude list can contain up to {MAX_NAMES} names")
    patterns = []
    for name in names:
        stars = name.count("*")
        if stars > 2:
            raise Refusal(f"EXCLUDE: {name!r} has {stars} asterisks; each name can have up to two")
        head, tail = name.startswith("*"), name.endswith("*") and len(name) > 1
        core = name[1 if head else 0:len(name) - 1 if tail else len(name)]
        if "*" in core:
            raise Refusal(f"EXCLUDE: {name!r}: an asterisk must be the first or the last character of a name")
        if "/" in core:
            raise Refusal(f"EXCLUDE: {name!r}: use the name of a file or directory, not a path")
        if not core:
            raise Refusal(f"EXCLUDE: {name!r} would exclude everything")
        patterns.append(Pattern(name, core.encode("utf-8", "surrogateescape"), head, tail))
    return ExcludeList(tuple(patterns))
