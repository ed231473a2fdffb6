"""Lets the dump format tests import their helper (dumpfmt_tree.py beside this file) by plain name.

The directory cannot be a package: it would shadow the real ``images`` package.
"""
from __future__ import annotations

import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.append(_HERE)
