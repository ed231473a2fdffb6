"""The changer as a logical unit: identity (python-scsi's INQUIRY decoder), readiness,
unit attentions, reservations, and the SPC commands it shares with the drive."""
from __future__ import annotations

import struct

import pytest
from pyscsi.pyscsi.scsi import SCSI

from scsi import Status
from scsi.sense import Asc, SenseKey
from scsi.smc import Inventory, MediumChanger

from .conftest import (
    A, B, DRIVES, SLOTS, expect, initialize_element_status, make_elements, mode_sense6, move_medium,
    position_to_element, prevent_allow, read_element_status,
)
from tests.pyscsi_adapter import PyscsiAdapter, StatusError

RESERVE6, RELEASE6, TUR = bytes([0x16, 0, 0, 0, 0, 0]), bytes([0x17, 0, 0, 0, 0, 0]), bytes(6)


# -- identity ----------------------------------------------------------------------------------
def test_inquiry(pyscsi, changer):
    r = pyscsi.inquiry().result
    assert (r["peripheral_qualifier"], r["peripheral_device_type"], r["rmb"]) == (0, 0x08, 1)
    assert bytes(r["t10_vendor_identification"]).rstrip() == b"IBM"
    assert bytes(r["product_identification"]).rstrip() == b"3573-TL"
    assert bytes(r["product_revision_level"]) == b"F.11"
    raw = bytes(pyscsi.inquiry(alloclen=96).datain)
    descriptors = struct.unpack(">8H", raw[58:74])
    assert descriptors[:3] == (0x00A0, 0x0460, 0x0480)        # SAM-5, SPC-4, SMC-3


def test_vpd_pages(pyscsi, changer):
    assert pyscsi.inquiry(evpd=1, page_code=0).result["vpd_pages"] == [0x00, 0x80, 0x83]
    serial = pyscsi.inquiry(evpd=1, page_code=0x80).result["unit_serial_number"]
    assert bytes(serial).decode() == "00L4U78A1234"
    ids = pyscsi.inquiry(evpd=1, page_code=0x83).result["designator_descriptors"]
    assert [d["designator_type"] for d in ids] == [3, 1, 4]    # NAA, T10 vendor ID, relative port
    t10 = next(d for d in ids if d["designator_type"] == 1)["designator"]
    assert bytes(t10["t10_vendor_id"]).rstrip() == b"IBM"


def test_custom_identity():
    dev = MediumChanger(Inventory(make_elements()), vendor="HP", product="MSL G3 Series", revision="E.00",
                        serial="DEC12345", lun=1, power_on_ua=False)
    r = SCSI(PyscsiAdapter(dev, A)).inquiry().result
    assert bytes(r["t10_vendor_identification"]).rstrip() == b"HP"
    assert bytes(r["product_identification"]).rstrip() == b"MSL G3 Series"
    assert dev.identity.lun == 1


def test_report_luns(pyscsi):
    assert pyscsi.reportluns().result["luns"] == [{"lun0": 0}]


def test_report_supported_operation_codes_lists_the_smc_commands(run):
    data = bytes(run(bytes([0xA3, 0x0C, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0])).data)
    length = int.from_bytes(data[:4], "big")
    opcodes = {data[4 + i] for i in range(0, length, 8)}
    assert {0x07, 0x1E, 0x2B, 0x37, 0xA5, 0xA6, 0xB8} <= opcodes
    assert not {0x08, 0x0A, 0x01} & opcodes                    # no SSC command leaked in


# -- readiness and unit attentions ----------------------------------------------------------
def test_always_ready(pyscsi):
    pyscsi.testunitready()


def test_not_ready_when_the_robot_says_so(run, library):
    library.ready = False
    expect(run(TUR), SenseKey.NOT_READY, Asc.NOT_READY_CAUSE_NOT_REPORTABLE)
    r = run(bytes([0x03, 0, 0, 0, 18, 0]))                       # REQUEST SENSE reports it
    assert r.good and (r.data[2] & 0x0F, r.data[12]) == (SenseKey.NOT_READY, 0x04)
    expect(run(move_medium(SLOTS[0], SLOTS[-1])), SenseKey.NOT_READY, Asc.NOT_READY_CAUSE_NOT_REPORTABLE)
    assert run(mode_sense6(0x1D)).good and run(prevent_allow(1)).good     # no robot needed
    library.ready = True
    assert run(TUR).good


def test_power_on_unit_attention(library):
    dev = MediumChanger(library, serial="X")
    s = SCSI(PyscsiAdapter(dev, A))                    # INQUIRY does not consume it
    with pytest.raises(s.device.CheckCondition) as err:
        s.readelementstatus(0, 1)
    assert (err.value.asc, err.value.ascq) == Asc.POWER_ON_RESET_OR_BUS_DEVICE_RESET
    s.readelementstatus(0, 1)


def test_inventory_changed(run, changer):
    changer.inventory_changed()
    for nexus in (A, B):
        expect(run(read_element_status(), nexus=nexus), SenseKey.UNIT_ATTENTION,
               Asc.NOT_READY_TO_READY_CHANGE)
        assert run(read_element_status(), nexus=nexus).good


# -- reservations ----------------------------------------------------------------------------
SMC_COMMANDS = {
    "READ ELEMENT STATUS": read_element_status(),
    "MOVE MEDIUM": move_medium(SLOTS[0], SLOTS[-1]),
    "POSITION TO ELEMENT": position_to_element(DRIVES[0]),
    "INITIALIZE ELEMENT STATUS": initialize_element_status(),
    "PREVENT": prevent_allow(1),
}


@pytest.mark.parametrize("name", list(SMC_COMMANDS))
def test_spc2_reserve_conflicts_for_everything_but_the_holder(run, name):
    assert run(RESERVE6, nexus=A).good
    assert run(SMC_COMMANDS[name], nexus=B).status == Status.RESERVATION_CONFLICT
    assert run(SMC_COMMANDS[name], nexus=A).good
    assert run(bytes([0x12, 0, 0, 0, 96, 0]), nexus=B).good        # INQUIRY passes
    assert run(RELEASE6, nexus=A).good
    assert run(SMC_COMMANDS[name], nexus=B).status != Status.RESERVATION_CONFLICT


def test_reserve_then_move_from_another_initiator(changer, library):
    assert changer.execute(A, RESERVE6).good
    other = SCSI(PyscsiAdapter(changer, B))
    with pytest.raises(StatusError) as err:
        other.movemedium(0, SLOTS[0], SLOTS[-1])
    assert err.value.status == Status.RESERVATION_CONFLICT
    with pytest.raises(StatusError):
        other.readelementstatus(0, 0xFFFF)
    assert library.element(SLOTS[0]).full


def pr_out(run, nexus, sa, key=0, sa_key=0, type_=0):
    cdb = bytes([0x5F, sa, type_, 0, 0, 0, 0, 0, 24, 0])
    return run(cdb, struct.pack(">QQ8x", key, sa_key), nexus=nexus)


def test_write_exclusive_lets_others_read_element_status_but_not_move(run):
    assert pr_out(run, A, 0x00, 0, 0xA1).good                  # REGISTER
    assert pr_out(run, A, 0x01, 0xA1, 0, type_=1).good         # RESERVE, Write Exclusive
    assert run(read_element_status(), nexus=B).good
    assert run(mode_sense6(0x1D), nexus=B).good
    assert run(prevent_allow(0), nexus=B).good                  # allowing is always allowed
    for cdb in (move_medium(SLOTS[0], SLOTS[-1]), position_to_element(DRIVES[0]),
                initialize_element_status(), prevent_allow(1)):
        assert run(cdb, nexus=B).status == Status.RESERVATION_CONFLICT
    assert run(move_medium(SLOTS[0], SLOTS[-1]), nexus=A).good


def test_exclusive_access_keeps_others_from_reading(run):
    assert pr_out(run, A, 0x00, 0, 0xA1).good
    assert pr_out(run, A, 0x01, 0xA1, 0, type_=3).good         # Exclusive Access
    assert run(read_element_status(), nexus=B).status == Status.RESERVATION_CONFLICT
    assert run(TUR, nexus=B).good


def test_aptpl_state_is_handed_to_the_store_and_restored(library):
    saved = []
    dev = MediumChanger(library, serial="X", power_on_ua=False, reservation_store=saved.append)
    run = lambda cdb, data=None, nexus=A: dev.execute(nexus, cdb, data)   # noqa: E731
    assert run(bytes([0x5F, 0x00, 0, 0, 0, 0, 0, 0, 24, 0]),
               struct.pack(">QQ4sBBH", 0, 0xA1, bytes(4), 0x01, 0, 0)).good      # REGISTER, APTPL
    assert saved and saved[-1]["aptpl"]
    again = MediumChanger(library, serial="X", power_on_ua=False, reservation_state=saved[-1])
    assert [r.key for r in again.reservations.registrations] == [0xA1]
