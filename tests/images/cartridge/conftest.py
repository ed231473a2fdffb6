"""A blank cartridge for the tests of this package, closed afterwards if still open."""
from __future__ import annotations

import pytest

from images.cartridge import Cartridge


@pytest.fixture
def cart(tmp_path):
    c = Cartridge.create(str(tmp_path / "A00001L8"), capacity=64 << 20)
    yield c
    if c._lock_fd >= 0:
        c.close()
