"""Lets the NDMP tests import their helpers (ndmp_*.py beside this file) by plain name.

The helpers live here rather than in tests/support because they are NDMP's
alone; the directory cannot be a package (it would shadow the real ``ndmp``).
"""
from __future__ import annotations

import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.append(_HERE)
