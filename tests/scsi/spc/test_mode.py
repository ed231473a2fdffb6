"""MODE SENSE / MODE SELECT (6) and (10), with python-scsi where it has the command."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyscsi.pyscsi.scsi_cdb_modesense6 import ModeSelect6
from pyscsi.pyscsi.scsi_cdb_modesense10 import ModeSense10

from scsi import Asc, SenseKey, Status
from scsi.sense import FieldPointer, decode

CONTROL = bytes.fromhex("0a0a 02 00 00 00 0000 0000 0000")
INFORMATIONAL_EXCEPTIONS = bytes.fromhex("1c0a 08 03 00000000 00000000")
TUNABLE = bytes.fromhex("2504 02 1234 00")
FIXED_SUBPAGE = bytes.fromhex("6501 0002 0a 00")
BLOCK_DESCRIPTOR = bytes.fromhex("58 000000 00 000000")


def sense6(page: int, subpage: int = 0, pc: int = 0, dbd: bool = False, allocation: int = 255) -> bytes:
    return bytes([0x1A, 0x08 if dbd else 0, pc << 6 | page, subpage, allocation, 0])


def sense10(page: int, subpage: int = 0, pc: int = 0, dbd: bool = False, llbaa: bool = False,
            allocation: int = 0x1000) -> bytes:
    return (bytes([0x5A, (0x10 if llbaa else 0) | (0x08 if dbd else 0), pc << 6 | page, subpage, 0, 0, 0])
            + allocation.to_bytes(2, "big") + bytes(1))


def select6(data: bytes, pf: bool = True, sp: bool = False, length: int | None = None) -> bytes:
    n = len(data) if length is None else length
    return bytes([0x15, (0x10 if pf else 0) | int(sp), 0, 0, n, 0])


def select10(data: bytes, pf: bool = True, sp: bool = False, length: int | None = None) -> bytes:
    n = len(data) if length is None else length
    return bytes([0x55, (0x10 if pf else 0) | int(sp), 0, 0, 0, 0, 0]) + n.to_bytes(2, "big") + bytes(1)


def header6(bdl: int = 0, dsp: int = 0x10) -> bytes:
    return bytes([0, 0, dsp, bdl])


def header10(bdl: int = 0, dsp: int = 0x10, longlba: bool = False) -> bytes:
    return bytes([0, 0, 0, dsp, int(longlba), 0]) + bdl.to_bytes(2, "big")


# -- MODE SENSE -----------------------------------------------------------------------
def test_control_page_through_pyscsi_6(pyscsi):
    r = pyscsi.modesense6(page_code=0x0A).result
    assert (r["medium_type"], r["device_specific_parameter"]) == (0, 0x10)
    page = r["mode_pages"][0]
    assert (page["page_code"], page["spf"], page["ps"]) == (0x0A, 0, 0)
    assert page["d_sense"] == 0 and page["gltsd"] == 1
    assert page["qerr"] == 0 and page["tst"] == 0 and page["busy_timeout_period"] == 0


def test_control_page_through_pyscsi_10(pyscsi):
    cmd = pyscsi.modesense10(page_code=0x0A)
    assert cmd.result["mode_pages"][0]["gltsd"] == 1
    assert cmd.result["longlba"] == 0
    assert bytes(cmd.datain[6:8]) == bytes([0, 8])                     # block descriptor length


def test_all_pages_6(run):
    data = bytes(run(sense6(0x3F)).data)
    body = BLOCK_DESCRIPTOR + CONTROL + INFORMATIONAL_EXCEPTIONS + TUNABLE
    assert data == bytes([3 + len(body), 0, 0x10, 8]) + body


def test_all_pages_and_subpages_10(run):
    data = bytes(run(sense10(0x3F, 0xFF)).data)
    body = BLOCK_DESCRIPTOR + CONTROL + INFORMATIONAL_EXCEPTIONS + TUNABLE + FIXED_SUBPAGE
    assert data == (6 + len(body)).to_bytes(2, "big") + bytes([0, 0x10, 0, 0, 0, 8]) + body


def test_one_page_and_its_subpages(run):
    assert bytes(run(sense6(0x25, dbd=True)).data)[4:] == TUNABLE
    assert bytes(run(sense6(0x25, 0x01, dbd=True)).data)[4:] == FIXED_SUBPAGE
    assert bytes(run(sense6(0x25, 0xFF, dbd=True)).data)[4:] == TUNABLE + FIXED_SUBPAGE


def test_dbd_leaves_out_the_block_descriptor(run):
    data = bytes(run(sense10(0x0A, dbd=True)).data)
    assert data[6:8] == bytes(2) and data[8:] == CONTROL


def test_llbaa_is_ignored(run):
    data = bytes(run(sense10(0x0A, llbaa=True)).data)
    assert data[4] == 0 and data[6:8] == bytes([0, 8]) and data[8:16] == BLOCK_DESCRIPTOR


def test_no_block_descriptor_without_the_hook(run, device):
    device.block_descriptor = lambda: None
    assert bytes(run(sense6(0x0A)).data) == bytes([3 + 12, 0, 0x10, 0]) + CONTROL


def test_changeable_values(run):
    data = bytes(run(sense6(0x3F, 0xFF, pc=1)).data)
    assert data[4:12] == bytes.fromhex("ff 000000 00 ffffff")
    body = data[12:]
    assert body[:12] == bytes.fromhex("0a0a 04 00 00 00 0000 0000 0000")          # D_SENSE
    assert body[12:24] == bytes.fromhex("1c0a 08 0f 00000000 00000000")          # DEXCPT, MRIE
    assert body[24:30] == bytes.fromhex("2504 8f 0000 00")                       # ENABLE, LEVEL
    assert body[30:] == bytes.fromhex("6501 0002 00 00")


def test_default_values_stay_defaults(run, device):
    device.mode_pages[2].values["level"] = 6
    assert bytes(run(sense6(0x25, dbd=True)).data)[4:] == bytes.fromhex("2504 06 1234 00")
    assert bytes(run(sense6(0x25, pc=2, dbd=True)).data)[4:] == TUNABLE


def test_saved_values_are_not_supported(run, expect_check):
    expect_check(run(sense6(0x0A, pc=3)), SenseKey.ILLEGAL_REQUEST,
                 Asc.SAVING_PARAMETERS_NOT_SUPPORTED, FieldPointer(2, 7))


def test_sense_of_an_unknown_page(run, invalid_cdb):
    invalid_cdb(run(sense6(0x05)), 2, 5)
    invalid_cdb(run(sense10(0x05)), 2, 5)


def test_unknown_subpage(run, invalid_cdb):
    invalid_cdb(run(sense6(0x0A, 0x02)), 3)
    invalid_cdb(run(sense6(0x3F, 0x05)), 3)


def test_allocation_length_truncates_but_lengths_tell_all(run):
    data = bytes(run(sense6(0x3F, allocation=4)).data)
    assert data == bytes([3 + 8 + 12 + 12 + 6, 0, 0x10, 8])
    data = bytes(run(sense10(0x3F, allocation=2)).data)
    assert data == (6 + 8 + 12 + 12 + 6).to_bytes(2, "big")


# -- MODE SELECT ----------------------------------------------------------------------
def test_descriptor_sense_through_pyscsi_mode_select_6(pyscsi, device, run, nexus_b, expect_check):
    # SCSI.modeselect6() runs the command, then fails decoding a data-in it
    # does not have; so the command pyscsi builds is executed directly.
    current = pyscsi.modesense6(page_code=0x0A).result
    current["mode_pages"][0]["d_sense"] = 1
    cmd = ModeSelect6(pyscsi.device.opcodes.MODE_SELECT_6, current)
    assert cmd.cdb[1] & 0x10                             # PF
    pyscsi.execute(cmd)
    assert device.descriptor_sense is True
    assert device.mode_changes == 1
    res = run(sense6(0x05))
    assert res.sense[0] == 0x72                          # CHECK CONDITION now in descriptor format
    assert decode(res.sense).specific == FieldPointer(2, 5)
    expect_check(run(bytes(6), nexus=nexus_b), SenseKey.UNIT_ATTENTION, Asc.MODE_PARAMETERS_CHANGED)
    assert run(bytes(6)).good                            # not for the nexus that changed them


def test_mode_select_10_with_pyscsi_parameter_data(pyscsi, device, run):
    # pyscsi's ModeSelect10 cannot be constructed (it passes a positional
    # argument to build_cdb), so only its parameter list encoder is used here.
    current = pyscsi.modesense10(page_code=0x0A).result
    current["mode_pages"][0]["d_sense"] = 1
    data = bytes(ModeSense10.marshall_datain(current))
    assert run(select10(data), data).good
    assert device.descriptor_sense is True
    assert pyscsi.modesense10(page_code=0x0A).result["mode_pages"][0]["d_sense"] == 1


def test_block_descriptor_and_pages(run, device):
    data = header6(bdl=8) + bytes.fromhex("58 000000 00 000400") + bytes.fromhex("2504 85 1234 00")
    assert run(select6(data), data).good
    assert device.block_length == 1024
    tunable = device.mode_pages[2].values
    assert (tunable["enable"], tunable["level"]) == (True, 5)
    assert bytes(run(sense6(0x25)).data)[4:] == bytes.fromhex("58 000000 00 000400 2504 85 1234 00")


def test_block_descriptor_in_mode_select_10(run, device):
    data = header10(bdl=8) + bytes.fromhex("00 000000 00 000200")
    assert run(select10(data, pf=False), data).good            # no pages: PF does not matter
    assert (device.density_code, device.block_length) == (0x58, 512)


def test_unchanged_values_establish_no_unit_attention(run, device, nexus_b):
    data = header6() + TUNABLE
    assert run(select6(data), data).good
    assert device.mode_changes == 0
    assert run(bytes(6), nexus=nexus_b).good


def test_device_specific_parameter(run, device):
    data = header6(dsp=0x00)
    assert run(select6(data), data).good
    assert device.buffered_mode == 0
    assert bytes(run(sense6(0x0A)).data)[2] == 0x00


def test_zero_length_parameter_list(run, device):
    assert run(select6(b"", length=0)).good
    assert device.mode_changes == 0


def test_save_pages(run, invalid_cdb):
    data = header6() + TUNABLE
    invalid_cdb(run(select6(data, sp=True), data), 1, 0)
    invalid_cdb(run(select10(header10() + TUNABLE, sp=True), header10() + TUNABLE), 1, 0)


def test_pages_need_page_format(run, invalid_cdb):
    data = header6() + TUNABLE
    invalid_cdb(run(select6(data, pf=False), data), 1, 4)


def test_less_data_than_the_cdb_says(run, expect_check):
    data = header6() + TUNABLE
    expect_check(run(select6(data, length=len(data) + 1), data), SenseKey.ILLEGAL_REQUEST,
                 Asc.PARAMETER_LIST_LENGTH_ERROR)


@pytest.mark.parametrize("data", [
    bytes(2),                                            # header cut short
    header6(bdl=8),                                      # block descriptor missing
    header6(bdl=8) + BLOCK_DESCRIPTOR[:4],
    header6() + TUNABLE[:4],                             # page shorter than its page length
    header6() + b"\x25",                                 # page header cut short
    header6() + FIXED_SUBPAGE[:3],                       # subpage header cut short
])
def test_truncated_parameter_lists(run, expect_check, data):
    expect_check(run(select6(data), data), SenseKey.ILLEGAL_REQUEST, Asc.PARAMETER_LIST_LENGTH_ERROR)


def test_block_descriptor_length(run, invalid_parameter):
    data = header6(bdl=4) + bytes(4)
    invalid_parameter(run(select6(data), data), 3)
    data = header10(bdl=16) + bytes(16)
    invalid_parameter(run(select10(data), data), 6)


def test_block_descriptor_on_a_device_without_one(run, device, invalid_parameter):
    device.block_descriptor = lambda: None
    data = header6(bdl=8) + BLOCK_DESCRIPTOR
    invalid_parameter(run(select6(data), data), 3)


def test_longlba(run, invalid_parameter):
    data = header10(longlba=True)
    invalid_parameter(run(select10(data), data), 4, 0)


@pytest.mark.parametrize("descriptor, pointer", [
    ("44 000000 00 000000", (4, None)),                  # density code
    ("58 000010 00 000000", (5, None)),                  # number of blocks
    ("58 000000 00 010000", (9, None)),                  # block length
])
def test_block_descriptor_refused_by_the_device(run, invalid_parameter, descriptor, pointer):
    data = header6(bdl=8) + bytes.fromhex(descriptor)
    invalid_parameter(run(select6(data), data), *pointer)
    data10 = header10(bdl=8) + bytes.fromhex(descriptor)
    invalid_parameter(run(select10(data10), data10), pointer[0] + 4, pointer[1])


def test_device_specific_parameter_refused(run, invalid_parameter):
    data = header6(dsp=0x20)                             # buffered mode 2
    invalid_parameter(run(select6(data), data), 2, 6)
    data = header10(dsp=0x20)
    invalid_parameter(run(select10(data), data), 3, 6)


def test_select_of_an_unknown_page(run, invalid_parameter):
    data = header6() + TUNABLE + bytes.fromhex("0502 0000")
    invalid_parameter(run(select6(data), data), 4 + len(TUNABLE), 5)


def test_unchangeable_field(run, invalid_parameter):
    data = header6() + bytes.fromhex("2504 02 4321 00")              # MODEL
    invalid_parameter(run(select6(data), data), 4 + 3)
    data = header10(bdl=8) + BLOCK_DESCRIPTOR + bytes.fromhex("0a0a 02 10 00 00 0000 0000 0000")
    invalid_parameter(run(select10(data), data), 16 + 3, 7)           # QUEUE ALGORITHM MODIFIER


def test_page_validation(run, invalid_parameter):
    data = header6() + bytes.fromhex("2504 09 1234 00")               # LEVEL 9
    invalid_parameter(run(select6(data), data), 4 + 2, 3)


def test_wrong_page_length(run, invalid_parameter):
    data = header6() + bytes.fromhex("2505 02 1234 00 00")
    invalid_parameter(run(select6(data), data), 4 + 1)


@pytest.mark.parametrize("mrie, accepted", [(0, True), (1, False), (2, False), (3, True), (4, True),
                                            (5, False), (6, True), (15, False)])
def test_informational_exceptions_mrie(run, device, invalid_parameter, mrie, accepted):
    page = bytes.fromhex("1c0a 00") + bytes([mrie]) + bytes(8)
    data = header6() + page
    res = run(select6(data), data)
    if accepted:
        assert res.good
        assert device.mode_pages[1].values == {"dexcpt": False, "mrie": mrie}
        assert device.mode_pages[1].reporting is (mrie != 0)
    else:
        invalid_parameter(res, 4 + 3, 3)


def test_pages_are_applied_all_or_nothing(run, device, invalid_parameter, nexus_b):
    bad_ie = bytes.fromhex("1c0a 00 05 00000000 00000000")
    data = header6() + bytes.fromhex("2504 85 1234 00") + bad_ie
    invalid_parameter(run(select6(data), data), 4 + 6 + 3, 3)
    assert device.mode_pages[2].values["level"] == 2
    assert device.mode_changes == 0
    assert run(bytes(6), nexus=nexus_b).good


def test_mode_data_length_is_ignored_on_select(run, device):
    data = bytes([0x77, 0, 0x10, 0]) + bytes.fromhex("2504 83 1234 00")
    assert run(select6(data), data).good
    assert device.mode_pages[2].values["level"] == 3


def test_mode_select_is_refused_with_a_unit_attention_pending(run, device, expect_check):
    device.unit_attentions.establish(Asc.POWER_ON_RESET_OR_BUS_DEVICE_RESET)
    data = header6() + TUNABLE
    res = run(select6(data), data)
    assert res.status == Status.CHECK_CONDITION
    expect_check(res, SenseKey.UNIT_ATTENTION, Asc.POWER_ON_RESET_OR_BUS_DEVICE_RESET)


def test_what_mode_sense_returns_mode_select_accepts(run, device, nexus_b):
    """The read-modify-write idiom: the current pages go back unchanged, and nothing changes."""
    sensed = bytes(run(sense10(0x3F, 0xFF)).data)
    data = bytes(2) + sensed[2:]                        # MODE DATA LENGTH is reserved in MODE SELECT
    assert run(select10(data), data).good
    assert device.mode_changes == 0
    assert run(bytes(6), nexus=nexus_b).good


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(enable=st.booleans(), level=st.integers(0, 15))
def test_tunable_page_round_trip(run, device, enable, level):
    before = dict(device.mode_pages[2].values)
    page = bytes([0x25, 4, (0x80 if enable else 0) | level, 0x12, 0x34, 0])
    data = header6() + page
    res = run(select6(data), data)
    if level <= 7:
        assert res.good
        assert bytes(run(sense6(0x25, dbd=True)).data)[4:] == page
    else:
        assert decode(res.sense).specific == FieldPointer(6, 3, in_cdb=False)
        assert device.mode_pages[2].values == before
