"""The drive personalities shipped with the package (``tapeconf/drives/*.tcf``).

They are ordinary tape configuration files, read with the same parser as a user's
files, so what we ship is held to the same rules.  Each is known by its file stem
(``IBM_LTO5``, ``HPE_LTO9``, ``STK_T10000D``).
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

from tapeconf.config import TapeConfig
from tapeconf.errors import UnknownDriveError
from tapeconf.parser import parse_tape_config

__all__ = ["bundled", "bundled_names", "get_bundled", "name_sort_key"]

_SUFFIX = ".tcf"


def name_sort_key(name: str) -> tuple[object, ...]:
    """Sort key for personality names: case-insensitive, numbers by value.

    So that ``IBM_LTO9`` comes before ``IBM_LTO10`` in every listing.
    """
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part.lower())
        for part in re.split(r"(\d+)", name)
        if part
    )


@cache
def bundled() -> tuple[TapeConfig, ...]:
    """Every shipped personality, sorted by name; read once, then cached.

    Each config's ``source`` is its file name (``IBM_LTO5.tcf``), so messages point at
    the right file.
    """
    drives = resources.files("tapeconf").joinpath("drives")
    configs = [
        parse_tape_config(entry.read_text(encoding="utf-8"), entry.name)
        for entry in drives.iterdir()
        if entry.name.endswith(_SUFFIX) and entry.is_file()
    ]
    return tuple(sorted(configs, key=lambda config: name_sort_key(config.name)))


def bundled_names() -> list[str]:
    """The names of the shipped personalities (file stems), sorted."""
    return [config.name for config in bundled()]


def get_bundled(name: str) -> TapeConfig:
    """The shipped personality called ``name`` (case-insensitive, ``.tcf`` optional).

    Raises :class:`~tapeconf.errors.UnknownDriveError` (a ``KeyError``) listing the
    names that exist.
    """
    wanted = name.removesuffix(_SUFFIX).lower()
    for config in bundled():
        if config.name.lower() == wanted:
            return config
    raise UnknownDriveError(name, bundled_names())
