"""PREVENT ALLOW MEDIUM REMOVAL locks the mailslot door for the operator, per I_T nexus."""
from __future__ import annotations

import pytest

from scsi.sense import Asc, SenseKey
from scsi.smc import MoveRefused, Refusal

from .conftest import A, B, MAILSLOTS, SLOTS, cdb_pointer, expect, move_medium, prevent_allow


def test_prevent_locks_operator_remove(pyscsi, library):
    library.operator_insert(MAILSLOTS[0], "OUT001L8")
    pyscsi.preventallowmediumremoval(prevent=1)
    assert library.door_locked
    with pytest.raises(MoveRefused) as err:
        library.operator_remove(MAILSLOTS[0])
    assert err.value.refusal is Refusal.REMOVAL_PREVENTED
    assert library.element(MAILSLOTS[0]).barcode == "OUT001L8"
    pyscsi.preventallowmediumremoval(prevent=0)
    assert not library.door_locked
    assert library.operator_remove(MAILSLOTS[0]) == "OUT001L8"
    assert library.where("OUT001L8") is None


def test_robot_still_moves_into_the_mailslot_and_operator_still_inserts(run, library):
    assert run(prevent_allow(1)).good
    assert run(move_medium(SLOTS[0], MAILSLOTS[0])).good
    library.operator_insert(MAILSLOTS[1], "IN0001L8")
    assert library.element(MAILSLOTS[1]).imported


def test_held_per_nexus(run, library):
    run(prevent_allow(1), nexus=A)
    run(prevent_allow(1), nexus=B)
    run(prevent_allow(0), nexus=A)
    assert library.door_locked                      # B still prevents
    run(prevent_allow(0), nexus=B)
    assert not library.door_locked


def test_allow_from_a_nexus_that_never_prevented(run, library):
    run(prevent_allow(1), nexus=A)
    run(prevent_allow(0), nexus=B)
    assert library.door_locked


def test_logical_unit_reset_and_nexus_loss_unlock(run, changer, library):
    run(prevent_allow(1), nexus=A)
    changer.logical_unit_reset()
    assert not library.door_locked and not changer.prevented
    run(prevent_allow(1), nexus=B)              # B first hears the reset
    run(prevent_allow(1), nexus=B)
    assert library.door_locked
    changer.nexus_loss(B)
    assert not library.door_locked


def test_door_told_only_on_change(changer, library, run):
    calls = []
    library.lock_door = calls.append
    run(prevent_allow(1), nexus=A)
    run(prevent_allow(1), nexus=A)
    run(prevent_allow(1), nexus=B)
    run(prevent_allow(0), nexus=A)
    run(prevent_allow(0), nexus=B)
    assert calls == [True, False]


@pytest.mark.parametrize("value", [2, 3])
def test_obsolete_prevent_values(run, value, library):
    expect(run(prevent_allow(value)), SenseKey.ILLEGAL_REQUEST, Asc.INVALID_FIELD_IN_CDB, cdb_pointer(4, 1))
    assert not library.door_locked


def test_operator_insert_raises_import_export_unit_attention(pyscsi, changer, library, run):
    library.operator_insert(MAILSLOTS[2], "IN0002L8")
    changer.medium_changed_by_operator()
    for nexus in (A, B):
        expect(run(bytes(6), nexus=nexus), SenseKey.UNIT_ATTENTION, Asc.IMPORT_OR_EXPORT_ELEMENT_ACCESSED)
        assert run(bytes(6), nexus=nexus).good
    r = pyscsi.readelementstatus(MAILSLOTS[2], 1, element_type=3, voltag=1).result
    x = r["element_status_pages"][0]["element_descriptors"][0]
    assert (x["full"], x["impexp"], bytes(x["primary_volume_tag"])[:8]) == (1, 1, b"IN0002L8")


def test_operator_refusals(library):
    with pytest.raises(MoveRefused) as err:
        library.operator_remove(MAILSLOTS[3])
    assert err.value.refusal is Refusal.SOURCE_EMPTY
    with pytest.raises(MoveRefused) as err:
        library.operator_insert(SLOTS[-1], "XX0001L8")
    assert err.value.refusal is Refusal.INVALID_ADDRESS
    library.operator_insert(MAILSLOTS[3], "XX0001L8")
    with pytest.raises(MoveRefused) as err:
        library.operator_insert(MAILSLOTS[3], "XX0002L8")
    assert err.value.refusal is Refusal.DESTINATION_FULL
    with pytest.raises(ValueError):
        library.operator_insert(MAILSLOTS[2], "XX0001L8")          # already in the library
    with pytest.raises(ValueError):
        library.operator_insert(MAILSLOTS[2], "WITH SPACE")
