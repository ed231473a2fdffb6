"""Where vtl keeps its files when nobody says otherwise."""
from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def data_dir() -> Path:
    """``$VTL_HOME`` if set, else the user's data directory (``~/.local/share/vtl``)."""
    env = os.environ.get("VTL_HOME")
    return Path(env) if env else Path(platformdirs.user_data_dir("vtl", appauthor=False))


def cartridge_dir() -> Path:
    return data_dir() / "cartridges"
