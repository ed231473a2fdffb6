"""LOG SENSE / LOG SELECT, checked against the SPC-4 log page and parameter formats."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scsi import Asc, SenseKey, Status
from scsi.spc.log_page import CounterPage, LogPage, LogParameter, ParameterFormat


def log_sense(page: int, subpage: int = 0, pc: int = 1, pointer: int = 0, sp: bool = False,
              allocation: int = 0x1000) -> bytes:
    return (bytes([0x4D, int(sp), pc << 6 | page, subpage, 0]) + pointer.to_bytes(2, "big")
            + allocation.to_bytes(2, "big") + bytes(1))


def log_select(pcr: bool = False, sp: bool = False, pc: int = 1, page: int = 0, subpage: int = 0,
               length: int = 0) -> bytes:
    return (bytes([0x4C, (0x02 if pcr else 0) | int(sp), pc << 6 | page, subpage, 0, 0, 0])
            + length.to_bytes(2, "big") + bytes(1))


COUNTERS_7_0_5 = bytes.fromhex("b200 001c"
                               "0000 20 04 00000007"
                               "0001 20 04 00000000"
                               "0002 20 08 0000000000000005")
FACTS = bytes.fromhex("b300 0010" "0001 21 06") + b"FW 1.0" + bytes.fromhex("0010 23 02 0102")


@pytest.fixture
def counted(device):
    device.stats = {0x0000: 7, 0x0001: 0, 0x0002: 5}
    return device


def test_supported_pages(run):
    assert bytes(run(log_sense(0x00)).data) == bytes.fromhex("8000 0003 00 32 33")


def test_supported_pages_and_subpages(run):
    assert bytes(run(log_sense(0x00, 0xFF)).data) == bytes.fromhex("c0ff 0008 0000 00ff 3200 3300")


def test_counter_page(run, counted):
    assert bytes(run(log_sense(0x32)).data) == COUNTERS_7_0_5


def test_list_page_sorted_by_parameter_code(run):
    assert bytes(run(log_sense(0x33)).data) == FACTS


def test_default_cumulative_values(run, counted):
    data = bytes(run(log_sense(0x32, pc=3)).data)
    assert data == bytes.fromhex("b200 001c 0000 20 04 00000000 0001 20 04 00000000"
                                 "0002 20 08 0000000000000000")
    assert bytes(run(log_sense(0x33, pc=3)).data) == FACTS


def test_subpage_page(run, device):
    device.log_pages.append(CounterPage(0x32, lambda: {0x0001: 3}, subpage=0x01))
    assert bytes(run(log_sense(0x32, 0x01)).data) == bytes.fromhex("f201 0008 0001 20 04 00000003")
    assert bytes(run(log_sense(0x00, 0xFF)).data) == bytes.fromhex(
        "c0ff 000a 0000 00ff 3200 3201 3300")
    assert bytes(run(log_sense(0x00)).data) == bytes.fromhex("8000 0003 00 32 33")


@pytest.mark.parametrize("pointer, codes", [(0, [0, 1, 2]), (1, [1, 2]), (2, [2])])
def test_parameter_pointer(run, counted, pointer, codes):
    data = bytes(run(log_sense(0x32, pointer=pointer)).data)
    got, offset = [], 4
    while offset < len(data):
        got.append(int.from_bytes(data[offset:offset + 2], "big"))
        offset += 4 + data[offset + 3]
    assert got == codes
    assert int.from_bytes(data[2:4], "big") == len(data) - 4


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pointer=st.integers(0, 0xFFFF))
def test_any_parameter_pointer(run, counted, pointer):
    res = run(log_sense(0x32, pointer=pointer))
    if pointer > 2:
        assert not res.good
    else:
        data = bytes(res.data)
        assert int.from_bytes(data[4:6], "big") == pointer      # the first parameter returned


def test_parameter_pointer_beyond_the_last_parameter(run, invalid_cdb):
    invalid_cdb(run(log_sense(0x32, pointer=3)), 5)
    invalid_cdb(run(log_sense(0x33, pointer=0x11)), 5)


def test_allocation_length_truncates(run, counted):
    data = bytes(run(log_sense(0x32, allocation=6)).data)
    assert data == COUNTERS_7_0_5[:6]


@pytest.mark.parametrize("pc", [0, 2])
def test_threshold_values_are_not_supported(run, invalid_cdb, pc):
    invalid_cdb(run(log_sense(0x32, pc=pc)), 2, 7)


def test_save_parameters(run, invalid_cdb):
    invalid_cdb(run(log_sense(0x32, sp=True)), 1, 0)


def test_unknown_page(run, invalid_cdb):
    invalid_cdb(run(log_sense(0x20)), 2, 5)


@pytest.mark.parametrize("page, subpage", [(0x32, 0x01), (0x32, 0xFF), (0x00, 0x01)])
def test_unknown_subpage(run, invalid_cdb, page, subpage):
    invalid_cdb(run(log_sense(page, subpage)), 3)


def test_log_sense_is_refused_with_a_unit_attention_pending(run, device, expect_check):
    device.unit_attentions.establish(Asc.MODE_PARAMETERS_CHANGED)
    expect_check(run(log_sense(0x32)), SenseKey.UNIT_ATTENTION, Asc.MODE_PARAMETERS_CHANGED)


# -- LOG SELECT -----------------------------------------------------------------------
@pytest.mark.parametrize("pc", [1, 3])
def test_reset_every_page(run, counted, nexus_b, expect_check, pc):
    assert run(log_select(pcr=True, pc=pc)).good
    assert counted.stats == {0x0000: 0, 0x0001: 0, 0x0002: 0}
    expect_check(run(bytes(6), nexus=nexus_b), SenseKey.UNIT_ATTENTION, Asc.LOG_PARAMETERS_CHANGED)
    assert run(bytes(6)).good


def test_reset_one_page(run, counted):
    other = {0x0001: 9}
    counted.log_pages.append(CounterPage(0x34, lambda: other, clear=other.clear))
    assert run(log_select(pcr=True, page=0x34)).good
    assert other == {} and counted.stats[0x0000] == 7
    assert run(log_select(pcr=True, page=0x32, subpage=0xFF)).good
    assert counted.stats[0x0000] == 0


def test_reset_unknown_page(run, invalid_cdb):
    invalid_cdb(run(log_select(pcr=True, page=0x20)), 2, 5)
    invalid_cdb(run(log_select(pcr=True, page=0x32, subpage=0x07)), 3)


@pytest.mark.parametrize("pc", [0, 2])
def test_resetting_thresholds_changes_nothing(run, counted, nexus_b, pc):
    assert run(log_select(pcr=True, pc=pc)).good
    assert counted.stats[0x0000] == 7
    assert run(bytes(6), nexus=nexus_b).good


def test_no_reset_no_data_changes_nothing(run, counted, nexus_b):
    assert run(log_select()).good
    assert counted.stats[0x0000] == 7
    assert run(bytes(6), nexus=nexus_b).good


def test_reset_with_a_parameter_list(run, invalid_cdb):
    data = bytes.fromhex("3200 0000")
    invalid_cdb(run(log_select(pcr=True, length=len(data)), data), 1, 1)


def test_save_parameters_on_select(run, invalid_cdb):
    invalid_cdb(run(log_select(pcr=True, sp=True)), 1, 0)


def test_page_code_with_a_parameter_list(run, invalid_cdb):
    data = bytes.fromhex("3200 0000")
    invalid_cdb(run(log_select(page=0x32, length=len(data)), data), 2, 5)
    invalid_cdb(run(log_select(subpage=0x01, length=len(data)), data), 3)


def test_pages_do_not_take_values(run, invalid_parameter):
    data = bytes.fromhex("3200 0008 0000 00 04 00000001")
    invalid_parameter(run(log_select(length=len(data)), data), 0, 5)


def test_unknown_page_in_the_parameter_list(run, device, invalid_parameter):
    device.log_pages.append(TakesValues())
    data = bytes.fromhex("3500 0000" "2000 0000")
    invalid_parameter(run(log_select(length=len(data)), data), 4, 5)


@pytest.mark.parametrize("data", [bytes.fromhex("3500"), bytes.fromhex("3500 0008 0001 00 02 00"),
                                  bytes.fromhex("3500 0002 0001")])
def test_truncated_parameter_list(run, device, expect_check, data):
    device.log_pages.append(TakesValues())
    expect_check(run(log_select(length=len(data)), data), SenseKey.ILLEGAL_REQUEST,
                 Asc.PARAMETER_LIST_LENGTH_ERROR)


def test_less_data_than_the_cdb_says(run, expect_check):
    data = bytes.fromhex("3200 0000")
    expect_check(run(log_select(length=8), data), SenseKey.ILLEGAL_REQUEST,
                 Asc.PARAMETER_LIST_LENGTH_ERROR)


def test_a_page_that_takes_values(run, device, nexus_b, expect_check):
    page = TakesValues()
    device.log_pages.append(page)
    data = bytes.fromhex("3500 000d 0001 03 01 09 0002 03 04 00000010")
    assert run(log_select(length=len(data)), data).good
    assert page.received == [(0x0001, 0x03, b"\x09"), (0x0002, 0x03, bytes([0, 0, 0, 0x10]))]
    assert page.base == 0
    expect_check(run(bytes(6), nexus=nexus_b), SenseKey.UNIT_ATTENTION, Asc.LOG_PARAMETERS_CHANGED)


def test_log_select_is_refused_with_a_unit_attention_pending(run, device):
    device.unit_attentions.establish(Asc.MODE_PARAMETERS_CHANGED)
    assert run(log_select(pcr=True)).status == Status.CHECK_CONDITION


class TakesValues(LogPage):
    """A page that accepts LOG SELECT parameter values, as a device may declare."""

    code = 0x35

    def __init__(self) -> None:
        self.received: list[tuple[int, int, bytes]] = []
        self.base = -1

    def parameters(self) -> list[LogParameter]:
        return []

    def select(self, parameters: list[tuple[int, int, bytes]], base: int) -> None:
        self.received, self.base = parameters, base


# -- the parameter vocabulary -----------------------------------------------------------
def test_counters_saturate():
    assert LogParameter.counter(1, 1 << 40, width=4).value == b"\xff" * 4
    assert LogParameter.counter(1, -3, width=2).value == bytes(2)


def test_parameter_formats():
    assert LogParameter.counter(1, 5).fmt == ParameterFormat.BOUNDED_COUNTER
    assert LogParameter.ascii(1, "x").fmt == ParameterFormat.ASCII_LIST
    assert LogParameter.binary(1, b"x").fmt == ParameterFormat.BINARY_LIST
    assert LogParameter.counter(1, 5).default() == LogParameter.counter(1, 0)
    text = LogParameter.ascii(1, "x")
    assert text.default() is text


def test_counter_page_without_clear_is_not_reset(run, device):
    fixed = {0x0001: 4}
    device.log_pages.append(CounterPage(0x36, lambda: fixed))
    assert run(log_select(pcr=True)).good
    assert fixed == {0x0001: 4}
