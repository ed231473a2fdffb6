"""REPORT SUPPORTED OPERATION CODES against the SPC-4 tables, byte by byte."""
from __future__ import annotations

import pytest

from scsi.spc.report_opcodes import cdb_usage_data


def rsoc(options: int = 0, opcode: int = 0, sa: int = 0, rctd: bool = False,
         allocation: int = 0x2000) -> bytes:
    return (bytes([0xA3, 0x0C, (0x80 if rctd else 0) | options, opcode]) + sa.to_bytes(2, "big")
            + allocation.to_bytes(4, "big") + bytes(2))


def descriptors(data: bytes, size: int) -> list[bytes]:
    length = int.from_bytes(data[:4], "big")
    assert length == len(data) - 4
    return [data[i:i + size] for i in range(4, 4 + length, size)]


def test_all_commands(run, device):
    data = bytes(run(rsoc()).data)
    entries = descriptors(data, 8)
    commands = device.supported_commands()
    assert len(entries) == len(commands)
    for entry, cmd in zip(entries, commands, strict=True):
        assert entry[0] == cmd.opcode
        assert entry[1] == 0 and entry[4] == 0
        assert int.from_bytes(entry[2:4], "big") == (cmd.service_action or 0)
        assert entry[5] == (0x01 if cmd.service_action is not None else 0x00)   # SERVACTV, CTDP=0
        assert int.from_bytes(entry[6:8], "big") == cmd.layout.size
    reported = [(e[0], int.from_bytes(e[2:4], "big")) for e in entries]
    assert reported == sorted(reported)
    assert (0xA3, 0x0C) in reported and (0x12, 0) in reported


def test_all_commands_with_timeouts(run, device):
    data = bytes(run(rsoc(rctd=True)).data)
    entries = descriptors(data, 20)
    for entry, cmd in zip(entries, device.supported_commands(), strict=True):
        assert entry[5] & 0x02                                    # CTDP
        assert entry[8:10] == bytes([0x00, 0x0A])                 # descriptor length
        assert int.from_bytes(entry[12:16], "big") == 0           # no nominal time claimed
        assert int.from_bytes(entry[16:20], "big") == cmd.timeout


@pytest.mark.parametrize("opcode, usage", [
    (0x00, "00 00 00 00 00 c7"),                          # TEST UNIT READY
    (0x03, "03 01 00 00 ff c7"),                          # REQUEST SENSE
    (0x12, "12 03 ff ff ff c7"),                          # INQUIRY (CMDDT, EVPD)
    (0x15, "15 11 00 00 ff c7"),                          # MODE SELECT(6)
    (0x1A, "1a 08 ff ff ff c7"),                          # MODE SENSE(6)
    (0x4C, "4c 03 ff ff 00 00 00 ff ff c7"),              # LOG SELECT
    (0x4D, "4d 01 ff ff 00 ff ff ff ff c7"),              # LOG SENSE
    (0x55, "55 11 00 00 00 00 00 ff ff c7"),              # MODE SELECT(10)
    (0x5A, "5a 18 ff ff 00 00 00 ff ff c7"),              # MODE SENSE(10)
    (0xA0, "a0 00 ff 00 00 00 ff ff ff ff 00 c7"),        # REPORT LUNS
])
def test_one_command_usage_data(run, opcode, usage):
    data = bytes(run(rsoc(options=0b001, opcode=opcode)).data)
    expected = bytes.fromhex(usage)
    assert data[:4] == bytes([0, 0x03]) + len(expected).to_bytes(2, "big")   # SUPPORT 011b
    assert data[4:] == expected


def test_service_action_shows_its_value(run):
    data = bytes(run(rsoc(options=0b010, opcode=0xA3, sa=0x0C)).data)
    assert data == bytes([0, 0x03, 0, 12]) + bytes.fromhex("a3 0c 87 ff ff ff ff ff ff ff 00 c7")


def test_one_command_with_timeouts(run, device):
    data = bytes(run(rsoc(options=0b001, opcode=0x12, rctd=True)).data)
    assert data[1] == 0x83                                         # CTDP, SUPPORT 011b
    timeouts = data[4 + 6:]
    assert timeouts[:2] == bytes([0, 0x0A]) and len(timeouts) == 12
    inquiry = next(c for c in device.supported_commands() if c.opcode == 0x12)
    assert int.from_bytes(timeouts[8:12], "big") == inquiry.timeout


@pytest.mark.parametrize("options, opcode, sa", [(0b001, 0x02, 0), (0b010, 0xA3, 0x05),
                                                 (0b010, 0xA4, 0x00), (0b011, 0xC0, 0)])
def test_not_supported(run, options, opcode, sa):
    assert bytes(run(rsoc(options=options, opcode=opcode, sa=sa)).data) == bytes([0, 0x01, 0, 0])


def test_option_three_ignores_the_service_action_of_plain_opcodes(run):
    data = bytes(run(rsoc(options=0b011, opcode=0x12, sa=0x1234)).data)
    assert data[1] == 0x03 and data[4] == 0x12
    data = bytes(run(rsoc(options=0b011, opcode=0xA3, sa=0x0C)).data)
    assert data[1] == 0x03 and data[4:6] == bytes([0xA3, 0x0C])


def test_opcode_with_service_actions_needs_one(run, invalid_cdb):
    invalid_cdb(run(rsoc(options=0b001, opcode=0xA3)), 3)


def test_service_action_of_plain_opcode(run, invalid_cdb):
    invalid_cdb(run(rsoc(options=0b010, opcode=0x12, sa=1)), 3)


@pytest.mark.parametrize("options", [0b100, 0b101, 0b111])
def test_reserved_reporting_options(run, invalid_cdb, options):
    invalid_cdb(run(rsoc(options=options)), 2, 2)


def test_allocation_length_truncates(run):
    data = bytes(run(rsoc(allocation=12)).data)
    assert len(data) == 12
    assert int.from_bytes(data[:4], "big") > 8


def test_usage_data_marks_exactly_the_named_fields(device):
    for cmd in device.supported_commands():
        usage = cdb_usage_data(cmd)
        assert len(usage) == cmd.layout.size and usage[0] == cmd.opcode
        assert usage[-1] == 0xC7                                   # vendor bits, NACA, FLAG, LINK
        parsed = cmd.layout.parse(usage)
        for name, (_byte, _bit, width) in cmd.layout.field_bits().items():
            if name in ("opcode", "service_action"):
                continue
            assert parsed[name] in ((1 << width) - 1, True), (cmd.name, name)
