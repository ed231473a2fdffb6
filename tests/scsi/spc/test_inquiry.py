"""INQUIRY: standard data and VPD pages decoded by python-scsi; errors by field pointer."""
from __future__ import annotations

import pytest
from pyscsi.pyscsi.scsi import SCSI

from scsi import Asc, SenseKey
from scsi.identity import LIO_OUI
from scsi.sense import decode
from tests.pyscsi_adapter import PyscsiAdapter

SAM5, SPC4, SSC4 = 0x00A0, 0x0460, 0x0520


def test_standard_data_as_pyscsi_reads_it(pyscsi, device):
    r = pyscsi.inquiry().result
    assert r["peripheral_qualifier"] == 0
    assert r["peripheral_device_type"] == 0x01
    assert r["rmb"] == 1
    assert r["version"] == 0x06
    assert r["response_data_format"] == 2
    assert r["hisup"] == 1
    assert r["normaca"] == 0
    assert r["additional_length"] == 91
    assert r["cmdque"] == 1
    assert r["tpgs"] == 0 and r["multip"] == 0
    assert bytes(r["t10_vendor_identification"]) == b"VTLTEST "
    assert bytes(r["product_identification"]) == b"SPC TEST DEVICE "
    assert bytes(r["product_revision_level"]) == b"0.1 "


def test_standard_data_layout(run):
    data = bytes(run(bytes([0x12, 0, 0, 0, 0xFF, 0])).data)
    assert len(data) == 96
    assert data[36:58] == bytes(22)                   # vendor specific, then reserved
    descriptors = [int.from_bytes(data[i:i + 2], "big") for i in range(58, 74, 2)]
    assert descriptors == [SAM5, SPC4, SSC4, 0, 0, 0, 0, 0]
    assert data[74:] == bytes(22)


def test_version_descriptors_are_not_repeated(run, device):
    device.version_descriptors = (SAM5, SPC4, SSC4)    # what TapeDrive declares
    data = bytes(run(bytes([0x12, 0, 0, 0, 96, 0])).data)
    assert [int.from_bytes(data[i:i + 2], "big") for i in range(58, 64, 2)] == [SAM5, SPC4, SSC4]


def test_alua_and_multiport(pyscsi, device):
    device.alua = True
    device.multiport = True
    r = pyscsi.inquiry().result
    assert r["tpgs"] == 0b01
    assert r["multip"] == 1


def test_allocation_length_truncates(run):
    res = run(bytes([0x12, 0, 0, 0, 36, 0]))
    assert len(res.data) == 36
    assert res.data[4] == 91            # the additional length still tells the whole size


def test_sixteen_bit_allocation_length(run):
    res = run(bytes([0x12, 0, 0, 0x01, 0x00, 0]))     # 256 bytes allowed, 96 returned
    assert len(res.data) == 96


def test_vpd_supported_pages(pyscsi, device):
    assert pyscsi.inquiry(evpd=1, page_code=0x00).result["vpd_pages"] == [0x00, 0x80, 0x83]
    device.vpd_pages = {0xB0: lambda: b"\x01\x02"}
    r = pyscsi.inquiry(evpd=1, page_code=0x00).result
    assert r["vpd_pages"] == [0x00, 0x80, 0x83, 0xB0]
    assert r["peripheral_device_type"] == 0x01


def test_device_supplied_vpd_page_gets_its_header(run, device):
    device.vpd_pages = {0xB0: lambda: b"\x01\x02"}
    assert bytes(run(bytes([0x12, 1, 0xB0, 0, 0xFF, 0])).data) == bytes([0x01, 0xB0, 0, 2, 1, 2])


def test_vpd_unit_serial_number(pyscsi):
    r = pyscsi.inquiry(evpd=1, page_code=0x80).result
    assert bytes(r["unit_serial_number"]) == b"TST0001234"


def test_vpd_device_identification(pyscsi, device):
    d = pyscsi.inquiry(evpd=1, page_code=0x83).result["designator_descriptors"]
    assert [x["designator_type"] for x in d] == [3, 1, 4]
    naa, t10, port = d
    assert (naa["code_set"], naa["association"], naa["piv"]) == (1, 0, 0)
    assert naa["designator"]["naa"] == 5
    assert naa["designator"]["ieee_company_id"] == LIO_OUI
    assert (t10["code_set"], t10["association"]) == (2, 0)
    assert bytes(t10["designator"]["t10_vendor_id"]) == b"VTLTEST "
    assert bytes(t10["designator"]["vendor_specific_id"]) == b"SPC TEST DEVICE TST0001234"
    assert (port["code_set"], port["association"], port["piv"]) == (1, 1, 0)
    assert "protocol_identifier" not in port          # PIV=0: no protocol claimed
    assert port["designator"]["relative_port"] == 1


def test_naa_designator_is_the_identity_name(run, device):
    data = bytes(run(bytes([0x12, 1, 0x83, 0, 0xFF, 0])).data)
    assert data[4:8] == bytes([0x01, 0x03, 0x00, 0x08])
    assert int.from_bytes(data[8:16], "big") == device.identity.naa_name


def test_relative_port_follows_the_nexus(device, nexus_b):
    scsi = SCSI(PyscsiAdapter(device, nexus_b))
    d = scsi.inquiry(evpd=1, page_code=0x83).result["designator_descriptors"]
    assert d[2]["designator"]["relative_port"] == 2


def test_iscsi_port_and_target_port_group(pyscsi, device):
    device.protocol_identifier = 0x5
    device.target_port_group = lambda nexus: 0x10 + nexus.target_port
    d = pyscsi.inquiry(evpd=1, page_code=0x83).result["designator_descriptors"]
    assert [x["designator_type"] for x in d] == [3, 1, 4, 5]
    port, group = d[2], d[3]
    assert (port["piv"], port["protocol_identifier"], port["association"]) == (1, 5, 1)
    assert (group["piv"], group["protocol_identifier"], group["association"]) == (1, 5, 1)
    assert group["designator"]["target_portal_group"] == 0x11


def test_page_code_without_evpd(run, invalid_cdb):
    invalid_cdb(run(bytes([0x12, 0, 0x80, 0, 0xFF, 0])), 2)


def test_unsupported_vpd_page(run, invalid_cdb):
    invalid_cdb(run(bytes([0x12, 1, 0x81, 0, 0xFF, 0])), 2)


def test_unsupported_vpd_page_through_pyscsi(pyscsi):
    with pytest.raises(pyscsi.device.CheckCondition) as err:
        pyscsi.inquiry(evpd=1, page_code=0xB0)
    assert (err.value.data["sense_key"], err.value.asc, err.value.ascq) == (0x05, 0x24, 0x00)
    assert decode(err.value.sense).specific.byte == 2


def test_cmddt(run, invalid_cdb):
    invalid_cdb(run(bytes([0x12, 0x02, 0, 0, 0xFF, 0])), 1, 1)


def test_link_bit(run, invalid_cdb):
    invalid_cdb(run(bytes([0x12, 0, 0, 0, 0xFF, 0x01])), 5, 0)


def test_answers_with_a_unit_attention_pending(run, device, expect_check):
    device.unit_attentions.establish(Asc.MODE_PARAMETERS_CHANGED)
    assert run(bytes([0x12, 0, 0, 0, 96, 0])).good
    expect_check(run(bytes(6)), SenseKey.UNIT_ATTENTION, Asc.MODE_PARAMETERS_CHANGED)
