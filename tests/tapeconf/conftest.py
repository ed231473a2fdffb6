"""Shared fixtures for the tapeconf tests."""

from __future__ import annotations

import pytest

# The HP LTO-5 example from "Format of the tape configuration file", as printed
# (the blank lines between settings are part of it).
_SEED_HP_LTO5 = '''\
vendor_id="HP"

product_id="Ultrium 5-SCSI"

id_match_size=9

vendor_pretty="Hewlett-Packard"

product_pretty="LTO-5"

l_description="LTO-3(ro)/4 4/800GB"

l_density=0x00

l_algorithm=0x00

m_description="LTO-3(ro)/4 8/1600GB cmp"

m_density=0x00

m_algorithm=0x01

h_description="LTO-5 1600GB"

h_density=0x58

h_algorithm=0x00

a_description="LTO-5 3200GB cmp"

a_density=0x58

a_algorithm=0x01

autoload="yes"
'''


@pytest.fixture
def seed_hp_lto5() -> str:
    """The text of the seed's example tape configuration file (HP LTO-5)."""
    return _SEED_HP_LTO5
