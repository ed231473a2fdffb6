"""REPORT LUNS: inventory, single-level LUN encoding, SELECT REPORT and allocation length."""
from __future__ import annotations

import pytest

from scsi import Asc, SenseKey
from scsi.spc.report_luns import encode_lun


def report_luns(select: int = 0, allocation: int = 0x1000) -> bytes:
    return bytes([0xA0, 0, select, 0, 0, 0]) + allocation.to_bytes(4, "big") + bytes(2)


def lun_list(data: bytes) -> list[int]:
    length = int.from_bytes(data[:4], "big")
    return [int.from_bytes(data[8 + i:16 + i], "big") for i in range(0, length, 8)]


def test_default_inventory_is_the_device_lun(pyscsi):
    assert pyscsi.reportluns().result["luns"] == [{"lun0": 0}]


def test_lun_list_through_pyscsi(pyscsi, device):
    device.luns = lambda: [5, 0, 300]
    cmd = pyscsi.reportluns(alloclen=96)
    assert cmd.datain[:8] == bytes([0, 0, 0, 24, 0, 0, 0, 0])
    luns = [entry[f"lun{i}"] for i, entry in enumerate(cmd.result["luns"])]
    # pyscsi stops its list at LUN LIST LENGTH + 4 instead of + 8, so it reads
    # only the first half of the last entry.
    assert luns[:2] == [0x0000 << 48, 0x0005 << 48]
    assert luns[2] == 0x412C << 16
    assert lun_list(bytes(cmd.datain)) == [0, 0x0005 << 48, 0x412C << 48]


@pytest.mark.parametrize("lun, first_level", [(0, 0x0000), (255, 0x00FF), (256, 0x4100),
                                              (16383, 0x7FFF)])
def test_single_level_encoding(lun, first_level):
    assert encode_lun(lun) == first_level << 48


@pytest.mark.parametrize("lun", [-1, 1 << 14])
def test_lun_beyond_flat_space(lun):
    with pytest.raises(ValueError):
        encode_lun(lun)


@pytest.mark.parametrize("select", [0x00, 0x02, 0x11])
def test_reports_that_include_our_lun(run, select):
    assert lun_list(bytes(run(report_luns(select)).data)) == [0]


@pytest.mark.parametrize("select", [0x01, 0x10])
def test_no_well_known_or_administrative_luns(run, select):
    assert bytes(run(report_luns(select)).data) == bytes(8)


@pytest.mark.parametrize("select", [0x12, 0x03, 0x0F, 0x13, 0xF8, 0xFF])
def test_other_select_reports(run, invalid_cdb, select):
    invalid_cdb(run(report_luns(select)), 2)


def test_allocation_length_below_sixteen(run, invalid_cdb):
    invalid_cdb(run(report_luns(allocation=15)), 6)


def test_allocation_length_truncates(run, device):
    device.luns = lambda: [0, 1, 2]
    data = bytes(run(report_luns(allocation=16)).data)
    assert len(data) == 16
    assert int.from_bytes(data[:4], "big") == 24


def test_answers_with_a_unit_attention_pending(run, device, expect_check):
    device.unit_attentions.establish(Asc.POWER_ON_RESET_OR_BUS_DEVICE_RESET)
    assert run(report_luns()).good
    expect_check(run(bytes(6)), SenseKey.UNIT_ATTENTION, Asc.POWER_ON_RESET_OR_BUS_DEVICE_RESET)
