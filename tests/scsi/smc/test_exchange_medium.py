"""EXCHANGE MEDIUM through python-scsi's builder: the two legs, the swap, refusals."""
from __future__ import annotations

import pytest

from scsi.sense import Asc, FieldPointer, SenseKey, decode
from scsi.smc import MoveRefused, Refusal
from scsi.smc.refusals import SOURCE_LOADED_IN_DRIVE

from .conftest import DRIVES, FULL_SLOTS, SLOTS, TRANSPORT, cdb_pointer, exchange_medium, expect

A_SLOT, B_SLOT, EMPTY = SLOTS[0], SLOTS[1], SLOTS[-1]
TAPE_A, TAPE_B = FULL_SLOTS[A_SLOT], FULL_SLOTS[B_SLOT]


def refusal(pyscsi, *args, **kw):
    with pytest.raises(pyscsi.device.CheckCondition) as err:
        pyscsi.exchangemedium(0, *args, **kw)
    sense = decode(err.value.sense)
    assert (err.value.asc, err.value.ascq) == sense.code
    return sense.code, sense.specific


def test_exchange_to_a_third_element(pyscsi, library):
    pyscsi.exchangemedium(0, A_SLOT, B_SLOT, EMPTY)
    assert [library.element(a).barcode for a in (A_SLOT, B_SLOT, EMPTY)] == [None, TAPE_A, TAPE_B]
    assert library.element(B_SLOT).source == A_SLOT and library.element(EMPTY).source == B_SLOT


def test_swap_with_a_drive(pyscsi, library, bays):
    pyscsi.movemedium(0, A_SLOT, DRIVES[0])
    pyscsi.exchangemedium(TRANSPORT, B_SLOT, DRIVES[0], B_SLOT)     # second destination = source
    assert library.element(DRIVES[0]).barcode == TAPE_B and bays[DRIVES[0]].barcode == TAPE_B
    assert library.element(B_SLOT).barcode == TAPE_A
    assert library.element(B_SLOT).source == A_SLOT                 # the drive was no storage element
    assert library.element(TRANSPORT).barcode is None               # the hand is empty again


def test_first_destination_empty(pyscsi):
    assert refusal(pyscsi, A_SLOT, EMPTY, SLOTS[-2]) == (Asc.MEDIUM_SOURCE_ELEMENT_EMPTY, FieldPointer(6))


def test_source_empty(pyscsi):
    assert refusal(pyscsi, EMPTY, A_SLOT, SLOTS[-2]) == (Asc.MEDIUM_SOURCE_ELEMENT_EMPTY, FieldPointer(4))


def test_second_destination_full(pyscsi, library):
    assert refusal(pyscsi, A_SLOT, B_SLOT, SLOTS[2]) == (Asc.MEDIUM_DESTINATION_ELEMENT_FULL,
                                                         FieldPointer(8))
    # Second destination = first destination: full, and not the source.
    assert refusal(pyscsi, A_SLOT, B_SLOT, B_SLOT)[0] == Asc.MEDIUM_DESTINATION_ELEMENT_FULL
    assert library.element(A_SLOT).barcode == TAPE_A


def test_invalid_addresses(pyscsi):
    assert refusal(pyscsi, 2, B_SLOT, EMPTY) == (Asc.INVALID_ELEMENT_ADDRESS, FieldPointer(4))
    assert refusal(pyscsi, A_SLOT, 2, EMPTY) == (Asc.INVALID_ELEMENT_ADDRESS, FieldPointer(6))
    assert refusal(pyscsi, A_SLOT, B_SLOT, 9999) == (Asc.INVALID_ELEMENT_ADDRESS, FieldPointer(8))


def test_first_destination_may_not_be_the_source(run):
    expect(run(exchange_medium(A_SLOT, A_SLOT, EMPTY)), SenseKey.ILLEGAL_REQUEST,
           Asc.INVALID_FIELD_IN_CDB, cdb_pointer(6))


def test_inv1_inv2_refused(run):
    expect(run(exchange_medium(A_SLOT, B_SLOT, EMPTY, inv1=True)), SenseKey.ILLEGAL_REQUEST,
           Asc.INVALID_FIELD_IN_CDB, cdb_pointer(10, 1))
    expect(run(exchange_medium(A_SLOT, B_SLOT, EMPTY, inv2=True)), SenseKey.ILLEGAL_REQUEST,
           Asc.INVALID_FIELD_IN_CDB, cdb_pointer(10, 0))


def test_bad_transport(run):
    expect(run(exchange_medium(A_SLOT, B_SLOT, EMPTY, transport=DRIVES[0])), SenseKey.ILLEGAL_REQUEST,
           Asc.INVALID_ELEMENT_ADDRESS, cdb_pointer(2))


def test_threaded_first_destination(pyscsi, library, bays):
    pyscsi.movemedium(0, A_SLOT, DRIVES[0])
    bays[DRIVES[0]].threaded = True
    assert refusal(pyscsi, B_SLOT, DRIVES[0], EMPTY) == (SOURCE_LOADED_IN_DRIVE, FieldPointer(6))


def test_refused_second_leg_changes_nothing(pyscsi, library, bays):
    """The drive refuses the cartridge in the middle of a swap: both come back."""
    pyscsi.movemedium(0, A_SLOT, DRIVES[0])
    bays[DRIVES[0]].refuse = MoveRefused(Refusal.INCOMPATIBLE, DRIVES[0])
    bays[DRIVES[0]].refuse_only = TAPE_B
    before = [(e.address, e.barcode, e.source) for e in library.elements()]
    assert refusal(pyscsi, B_SLOT, DRIVES[0], B_SLOT) == (Asc.INCOMPATIBLE_MEDIUM_INSTALLED, FieldPointer(6))
    assert [(e.address, e.barcode, e.source) for e in library.elements()] == before
    assert bays[DRIVES[0]].barcode == TAPE_A
    assert library.where(TAPE_A).address == DRIVES[0] and library.where(TAPE_B).address == B_SLOT


def test_swap_needs_an_empty_transport(pyscsi, library):
    library.element(TRANSPORT).barcode = "STUCK1L8"      # a cartridge left in the hand
    assert refusal(pyscsi, A_SLOT, B_SLOT, A_SLOT) == (Asc.MEDIUM_MAGAZINE_NOT_ACCESSIBLE, None)
    assert (library.element(A_SLOT).barcode, library.element(B_SLOT).barcode) == (TAPE_A, TAPE_B)


def test_failed_carry_back_leaves_the_records_where_the_tapes_are(pyscsi, library, bays):
    """If even the way back fails, the records follow the cartridges, and each is in one place."""
    pyscsi.movemedium(0, A_SLOT, DRIVES[0])
    bays[DRIVES[0]].refuse = MoveRefused(Refusal.INCOMPATIBLE, DRIVES[0])      # refuses both tapes
    refusal(pyscsi, B_SLOT, DRIVES[0], B_SLOT)
    assert library.element(TRANSPORT).barcode == TAPE_B                # parked, never delivered
    assert library.element(B_SLOT).barcode == TAPE_A and bays[DRIVES[0]].barcode is None
    held = [e.barcode for e in library.elements() if e.barcode is not None]
    assert len(held) == len(set(held)) == len(FULL_SLOTS)
