"""The tape drive as python-scsi sees it: its builders make the CDBs, its
decoders read our answers (INQUIRY + VPD, MODE SENSE, TUR, REPORT LUNS,
PREVENT ALLOW MEDIUM REMOVAL)."""
from __future__ import annotations

import pytest
from pyscsi.pyscsi.scsi import SCSI

from scsi import Nexus
from scsi.sense import SenseKey, decode
from tests.pyscsi_adapter import PyscsiAdapter


@pytest.fixture
def pyscsi(drive):
    return SCSI(PyscsiAdapter(drive, Nexus("iqn.2026-11.test:pyscsi", 1)))


def test_inquiry_identity_from_the_tape_configuration_file(pyscsi, drive):
    r = pyscsi.inquiry().result
    assert r["peripheral_device_type"] == 0x01 and r["rmb"] == 1
    assert bytes(r["t10_vendor_identification"]).rstrip() == b"IBM"
    assert bytes(r["product_identification"]).rstrip() == b"ULT3580-TD8"


def test_vpd_pages(pyscsi, drive):
    pages = pyscsi.inquiry(evpd=1, page_code=0x00).result["vpd_pages"]
    assert pages == [0x00, 0x80, 0x83, 0xB0]
    serial = pyscsi.inquiry(evpd=1, page_code=0x80).result["unit_serial_number"]
    assert bytes(serial).decode().strip() == drive.identity.serial
    ids = pyscsi.inquiry(evpd=1, page_code=0x83).result["designator_descriptors"]
    types = [d["designator_type"] for d in ids]
    assert 3 in types and 1 in types and 4 in types       # NAA, T10 vendor id, relative target port
    t10 = next(d for d in ids if d["designator_type"] == 1)["designator"]
    assert bytes(t10["t10_vendor_id"]).rstrip() == b"IBM"
    port = next(d for d in ids if d["designator_type"] == 4)["designator"]
    assert port["relative_port"] == 1


def test_mode_sense_block_descriptor_and_pages(pyscsi, drive):
    cmd = pyscsi.modesense6(page_code=0x3F, alloclen=255)
    r = cmd.result
    assert r["medium_type"] == drive.cartridge.media.medium_type
    assert r["device_specific_parameter"] == 0x10          # buffered mode 1, not write-protected
    bd = bytes(cmd.datain[4:12])                          # pyscsi leaves block descriptors undecoded
    assert bd[0] == 0x5E and bd[5:8] == b"\0\0\0"
    assert r["mode_pages"][0]["page_code"] == 0x01           # pages in page-code order
    data = bytes(cmd.datain[: r["mode_data_length"] + 1]) if "mode_data_length" in r else bytes(cmd.datain)
    codes, off = [], 12
    while off < min(len(data), data[0] + 1):
        codes.append(data[off] & 0x3F)
        off += data[off + 1] + 2
    assert codes == [0x01, 0x02, 0x0A, 0x0F, 0x10, 0x11, 0x1C]
    control = pyscsi.modesense6(page_code=0x0A).result["mode_pages"][0]
    assert control["page_code"] == 0x0A and control["d_sense"] == 0
    r10 = pyscsi.modesense10(page_code=0x0F).result
    assert r10["mode_pages"][0]["page_code"] == 0x0F


def test_test_unit_ready_and_prevent_allow(pyscsi, drive):
    pyscsi.testunitready()
    pyscsi.preventallowmediumremoval(prevent=1)
    assert drive.removal_prevented
    pyscsi.preventallowmediumremoval(prevent=0)
    assert not drive.removal_prevented


def test_report_luns(pyscsi):
    assert pyscsi.reportluns().result["luns"] == [{"lun0": 0}]


def test_not_ready_through_pyscsi(make_drive):
    empty = make_drive(load=False)
    s = SCSI(PyscsiAdapter(empty))
    with pytest.raises(Exception) as exc:
        s.testunitready()
    sense = decode(exc.value.sense)
    assert sense.key == SenseKey.NOT_READY and sense.code == (0x3A, 0)
