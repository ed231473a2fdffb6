"""REPORT TARGET PORT GROUPS and the ALUA bits of INQUIRY (scsi/spc/target_port_groups.py).

The answers are checked byte by byte against SPC-4's tables, not against our
declarations; sg_rtpg checks them again on a real kernel (tests/kernel).
"""
from __future__ import annotations

from scsi import Nexus
from scsi.spc.target_port_groups import AluaState, PortGroup

TWO_PATHS = [PortGroup(1, AluaState.ACTIVE_OPTIMIZED, (1,)),
             PortGroup(2, AluaState.OFFLINE, (2,))]


def rtpg(fmt: int = 0, alloc: int = 0x1000) -> bytes:
    return bytes([0xA3, (fmt << 5) | 0x0A, 0, 0, 0, 0]) + alloc.to_bytes(4, "big") + bytes(2)


def test_not_supported_without_ports(run, invalid_cdb):
    invalid_cdb(run(rtpg()), 1, 4)


def test_every_group_is_reported_whatever_the_path(run, device, nexus_b):
    device.port_groups = lambda: TWO_PATHS
    for nexus in (None, nexus_b):
        res = run(rtpg()) if nexus is None else run(rtpg(), nexus=nexus)
        data = bytes(res.data)
        assert res.good
        assert int.from_bytes(data[:4], "big") == len(data) - 4 == 2 * 12
        first, second = data[4:16], data[16:28]
        assert first[0] == 0x00 and second[0] == 0x0E          # active/optimized, offline
        assert first[1] == second[1] == 0b0100_1011            # O_SUP U_SUP AN_SUP AO_SUP
        assert int.from_bytes(first[2:4], "big") == 1 and int.from_bytes(second[2:4], "big") == 2
        assert first[7] == second[7] == 1                      # one port each
        assert int.from_bytes(first[10:12], "big") == 1
        assert int.from_bytes(second[10:12], "big") == 2


def test_extended_header_and_truncation(run, device):
    device.port_groups = lambda: TWO_PATHS
    data = bytes(run(rtpg(fmt=1)).data)
    assert int.from_bytes(data[:4], "big") == len(data) - 4 == 4 + 24
    assert data[4] == 0x10 and data[5] == 0                   # format type 001b, no transition time
    short = run(rtpg(alloc=10))
    assert short.good and len(short.data) == 10 and int.from_bytes(bytes(short.data[:4]), "big") == 24


def test_bad_format_is_refused(run, device, invalid_cdb):
    device.port_groups = lambda: TWO_PATHS
    invalid_cdb(run(rtpg(fmt=2)), 1, 7)


def test_inquiry_reports_implicit_alua_and_multiple_ports(run, device):
    device.port_groups = lambda: TWO_PATHS
    data = bytes(run(bytes([0x12, 0, 0, 0, 96, 0])).data)
    assert (data[5] >> 4) & 0b11 == 0b01                     # TPGS: implicit ALUA
    assert data[6] & 0x10                                    # MULTIP


def test_device_identification_names_the_port_and_its_group(run, device, nexus_b):
    device.port_groups = lambda: TWO_PATHS
    data = bytes(run(bytes([0x12, 1, 0x83, 0, 0xFF, 0]), nexus=nexus_b).data)
    kinds, values, at = [], [], 4
    while at < len(data):
        kinds.append(data[at + 1] & 0x0F)
        values.append(data[at + 4:at + 4 + data[at + 3]])
        at += 4 + data[at + 3]
    assert kinds == [3, 1, 4, 5]
    assert int.from_bytes(values[2], "big") == 2 and int.from_bytes(values[3], "big") == 2


def test_unknown_port_leaves_port_designators_out(run, device):
    """TCMU tells userspace no nexus: the LU designators stay, the port ones go."""
    device.port_groups = lambda: TWO_PATHS
    data = bytes(run(bytes([0x12, 1, 0x83, 0, 0xFF, 0]), nexus=Nexus("tcmu", 0)).data)
    kinds, at = [], 4
    while at < len(data):
        kinds.append(data[at + 1] & 0x0F)
        at += 4 + data[at + 3]
    assert kinds == [3, 1]
