"""POSITION TO ELEMENT: validated, and nothing else happens."""
from __future__ import annotations

import pytest

from scsi.sense import Asc, SenseKey

from .conftest import DRIVES, MAILSLOTS, SLOTS, TRANSPORT, cdb_pointer, expect, position_to_element


@pytest.mark.parametrize("destination", [TRANSPORT, MAILSLOTS[0], DRIVES[2], SLOTS[7]])
def test_any_element(pyscsi, library, destination):
    before = [(e.address, e.barcode) for e in library.elements()]
    pyscsi.positiontoelement(0, destination)
    pyscsi.positiontoelement(TRANSPORT, destination)
    assert [(e.address, e.barcode) for e in library.elements()] == before


def test_refusals(run):
    expect(run(position_to_element(3)), SenseKey.ILLEGAL_REQUEST, Asc.INVALID_ELEMENT_ADDRESS, cdb_pointer(4))
    expect(run(position_to_element(SLOTS[0], transport=SLOTS[0])), SenseKey.ILLEGAL_REQUEST,
           Asc.INVALID_ELEMENT_ADDRESS, cdb_pointer(2))
    expect(run(position_to_element(SLOTS[0], invert=True)), SenseKey.ILLEGAL_REQUEST,
           Asc.INVALID_FIELD_IN_CDB, cdb_pointer(8, 0))
