"""MOVE MEDIUM: python-scsi builds the CDBs; every refusal's sense is decoded both
by python-scsi's fixed-format decoder and by ``scsi.sense.decode``."""
from __future__ import annotations

import pytest

from scsi.sense import Asc, FieldPointer, SenseKey, decode
from scsi.smc import ElementType, MoveRefused, Refusal
from scsi.smc.refusals import SOURCE_LOADED_IN_DRIVE

from .conftest import (
    DRIVES, FULL_SLOTS, MAILSLOTS, SLOTS, TRANSPORT, cdb_pointer, expect, move_medium, read_element_status,
)

FULL, EMPTY = SLOTS[0], SLOTS[-1]


def refused_by_pyscsi(pyscsi, source, destination, transport=0, invert=0):
    """The move through python-scsi; returns (key, asc, ascq, field pointer) decoded
    both ways, after checking the two decoders agree."""
    with pytest.raises(pyscsi.device.CheckCondition) as err:
        pyscsi.movemedium(transport, source, destination, invert=invert)
    mine = decode(err.value.sense)
    data = err.value.data
    theirs = (data["sense_key"], err.value.asc, err.value.ascq)
    assert theirs == (mine.key, mine.asc, mine.ascq)
    if data["sksv"]:
        # pyscsi keeps the sense-key specific bytes as one 23-bit number: C/D in bit 22.
        assert data["sense_key_specific_information"] & 0xFFFF == mine.specific.byte
        assert bool(data["sense_key_specific_information"] & 0x400000) == mine.specific.in_cdb
    else:
        assert mine.specific is None
    return mine.key, mine.code, mine.specific


def test_slot_to_slot(pyscsi, library):
    pyscsi.movemedium(0, FULL, EMPTY)
    assert library.element(FULL).barcode is None
    moved = library.element(EMPTY)
    assert (moved.barcode, moved.source, moved.medium_type) == (FULL_SLOTS[FULL], FULL, 1)
    assert library.where(FULL_SLOTS[FULL]) is moved


def test_into_and_out_of_a_drive(pyscsi, library, bays):
    pyscsi.movemedium(TRANSPORT, FULL, DRIVES[0])
    assert bays[DRIVES[0]].barcode == FULL_SLOTS[FULL]
    assert library.element(DRIVES[0]).source == FULL
    pyscsi.movemedium(0, DRIVES[0], DRIVES[1])                 # drive to drive
    assert bays[DRIVES[0]].barcode is None and bays[DRIVES[1]].barcode == FULL_SLOTS[FULL]
    assert library.element(DRIVES[1]).source == FULL         # still the last storage element
    pyscsi.movemedium(0, DRIVES[1], EMPTY)
    assert bays[DRIVES[1]].log == [("accept", FULL_SLOTS[FULL]), ("release", FULL_SLOTS[FULL])]
    assert library.element(EMPTY).source == FULL


def test_source_storage_element_address_is_the_last_storage_element(pyscsi, run, library):
    library.operator_insert(MAILSLOTS[0], "NEW001L8")
    pyscsi.movemedium(0, MAILSLOTS[0], DRIVES[0])
    assert library.element(DRIVES[0]).source is None          # never in a storage element
    pyscsi.movemedium(0, DRIVES[0], SLOTS[15])
    pyscsi.movemedium(0, SLOTS[15], MAILSLOTS[1])
    slot = library.element(MAILSLOTS[1])
    assert (slot.source, slot.imported) == (SLOTS[15], False)   # IMPEXP=0: put there by the robot
    r = pyscsi.readelementstatus(MAILSLOTS[1], 1, element_type=3).result
    x = r["element_status_pages"][0]["element_descriptors"][0]
    assert (x["svalid"], x["source_storage_element_address"], x["impexp"]) == (1, SLOTS[15], 0)


def test_onto_itself_is_a_no_op(pyscsi, library):
    pyscsi.movemedium(0, FULL, FULL)
    assert library.element(FULL).barcode == FULL_SLOTS[FULL] and library.element(FULL).source is None


def test_source_empty(pyscsi):
    assert refused_by_pyscsi(pyscsi, EMPTY, SLOTS[-2]) == (
        SenseKey.ILLEGAL_REQUEST, Asc.MEDIUM_SOURCE_ELEMENT_EMPTY, FieldPointer(4, None))
    assert refused_by_pyscsi(pyscsi, EMPTY, EMPTY)[1] == Asc.MEDIUM_SOURCE_ELEMENT_EMPTY


def test_destination_full(pyscsi):
    assert refused_by_pyscsi(pyscsi, FULL, SLOTS[1]) == (
        SenseKey.ILLEGAL_REQUEST, Asc.MEDIUM_DESTINATION_ELEMENT_FULL, FieldPointer(6, None))


@pytest.mark.parametrize("source, destination, byte", [
    (3, SLOTS[-1], 4), (FULL, 5000, 6), (TRANSPORT, EMPTY, 4), (FULL, TRANSPORT, 6), (0xFFFF, 0xFFFF, 4)])
def test_invalid_element_address(pyscsi, source, destination, byte):
    assert refused_by_pyscsi(pyscsi, source, destination) == (
        SenseKey.ILLEGAL_REQUEST, Asc.INVALID_ELEMENT_ADDRESS, FieldPointer(byte, None))


@pytest.mark.parametrize("transport", [2, MAILSLOTS[0], SLOTS[0], 0xFFFF])
def test_transport_address_must_be_zero_or_the_transport(pyscsi, transport):
    assert refused_by_pyscsi(pyscsi, FULL, EMPTY, transport=transport) == (
        SenseKey.ILLEGAL_REQUEST, Asc.INVALID_ELEMENT_ADDRESS, FieldPointer(2, None))


def test_invert_refused_without_rotation(pyscsi, library):
    assert refused_by_pyscsi(pyscsi, FULL, EMPTY, invert=1) == (
        SenseKey.ILLEGAL_REQUEST, Asc.INVALID_FIELD_IN_CDB, FieldPointer(10, 0))
    assert library.element(FULL).full


def test_threaded_tape_is_not_pulled(pyscsi, library, bays):
    pyscsi.movemedium(0, FULL, DRIVES[0])
    bays[DRIVES[0]].threaded = True
    assert refused_by_pyscsi(pyscsi, DRIVES[0], EMPTY) == (
        SenseKey.ILLEGAL_REQUEST, SOURCE_LOADED_IN_DRIVE, FieldPointer(4, None))
    assert library.element(DRIVES[0]).full and bays[DRIVES[0]].barcode == FULL_SLOTS[FULL]
    bays[DRIVES[0]].threaded = False
    pyscsi.movemedium(0, DRIVES[0], EMPTY)


def test_removal_prevented_in_the_drive(pyscsi, library, bays):
    pyscsi.movemedium(0, FULL, DRIVES[2])
    bays[DRIVES[2]].removal_prevented = True
    bays[DRIVES[2]].threaded = True          # prevention is reported first
    assert refused_by_pyscsi(pyscsi, DRIVES[2], EMPTY) == (
        SenseKey.ILLEGAL_REQUEST, Asc.MEDIUM_REMOVAL_PREVENTED, FieldPointer(4, None))
    assert library.element(DRIVES[2]).full


def test_not_accessible(pyscsi, library):
    library.element(MAILSLOTS[0]).accessible = False
    assert refused_by_pyscsi(pyscsi, FULL, MAILSLOTS[0]) == (
        SenseKey.ILLEGAL_REQUEST, Asc.MEDIUM_MAGAZINE_NOT_ACCESSIBLE, FieldPointer(6, None))
    library.element(FULL).accessible = False
    assert refused_by_pyscsi(pyscsi, FULL, EMPTY)[1] == Asc.MEDIUM_MAGAZINE_NOT_ACCESSIBLE


def test_incompatible_medium_refused_by_the_drive(pyscsi, library, bays):
    bays[DRIVES[1]].refuse = MoveRefused(Refusal.INCOMPATIBLE, DRIVES[1], "LTO-3 in an LTO-8 drive")
    assert refused_by_pyscsi(pyscsi, FULL, DRIVES[1]) == (
        SenseKey.ILLEGAL_REQUEST, Asc.INCOMPATIBLE_MEDIUM_INSTALLED, FieldPointer(6, None))
    assert library.element(FULL).full and not library.element(DRIVES[1]).full


def test_refused_drive_to_drive_puts_the_tape_back(pyscsi, library, bays):
    pyscsi.movemedium(0, FULL, DRIVES[0])
    bays[DRIVES[1]].refuse = MoveRefused(Refusal.INCOMPATIBLE, DRIVES[1])
    refused_by_pyscsi(pyscsi, DRIVES[0], DRIVES[1])
    assert bays[DRIVES[0]].barcode == FULL_SLOTS[FULL] and library.element(DRIVES[0]).full


def test_sense_in_descriptor_format(run, changer):
    changer.descriptor_sense = True
    r = run(move_medium(EMPTY, SLOTS[-2]))
    assert r.sense[0] == 0x72
    expect(r, SenseKey.ILLEGAL_REQUEST, Asc.MEDIUM_SOURCE_ELEMENT_EMPTY, cdb_pointer(4))


def test_reserved_and_control_bits(run):
    expect(run(move_medium(FULL, EMPTY)[:11] + b"\x04"), SenseKey.ILLEGAL_REQUEST,
           Asc.INVALID_FIELD_IN_CDB, cdb_pointer(11, 2))           # NACA


def test_move_shows_in_element_status(run, library):
    assert run(move_medium(FULL, DRIVES[0])).good
    data = bytes(run(read_element_status(DRIVES[0], 1, element_type=4, voltag=True)).data)
    desc = data[16:16 + 52]
    assert desc[2] & 0x01 and desc[9] == 0x80 | 1 and int.from_bytes(desc[10:12], "big") == FULL
    assert desc[12:20] == FULL_SLOTS[FULL].encode()
    assert library.element(DRIVES[0]).type is ElementType.DATA_TRANSFER
