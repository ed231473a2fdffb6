"""PERSISTENT RESERVE IN/OUT through the command pipeline of a minimal device.

CDBs and parameter lists are written byte by byte from the SPC-4 tables and
the answers are taken apart with ``struct``, independently of our Layouts and
construct declarations, so the declarations are checked too.  The last test
runs random command sequences from several I_T nexuses against a small
reference model of registrations, reservation and unit attentions.
"""
from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

import scsi.spc  # noqa: F401  registers the SPC handlers
import scsi.spc.persistent  # noqa: F401
import scsi.spc.reservations  # noqa: F401
from scsi.device import Access, CommandSet, Result, ScsiDevice
from scsi.layout import Layout, bits, control, reserved
from scsi.nexus import Nexus
from scsi.sense import Asc, FieldPointer, SenseKey, decode
from scsi.spc.commands import SPC
from scsi.spc.persistent import allow_commands
from scsi.spc.reservations import Reservations
from scsi.status import Status

A, B, A2, C = Nexus("iqn.a", 1), Nexus("iqn.b", 1), Nexus("iqn.a", 2), Nexus("iqn.c", 1)

REGISTER, RESERVE, RELEASE, CLEAR, PREEMPT, PREEMPT_AND_ABORT, REGISTER_IGNORE = range(7)
READ_KEYS, READ_RESERVATION, REPORT_CAPABILITIES, READ_FULL_STATUS = range(4)
WE, EA, WE_RO, EA_RO, WE_AR, EA_AR = 1, 3, 5, 6, 7, 8
TYPES = (WE, EA, WE_RO, EA_RO, WE_AR, EA_AR)

RESERVATIONS_PREEMPTED, RESERVATIONS_RELEASED, REGISTRATIONS_PREEMPTED = (0x2A, 3), (0x2A, 4), (0x2A, 5)

READ_LIKE, WRITE_LIKE, ALWAYS_LIKE, TUR, MODE_SENSE6 = 0xC0, 0xC1, 0xC2, 0x00, 0x1A

TEST_CMDS = CommandSet("persistent reservation tests")
_SIX = Layout("test(6)", bits("opcode", 8), reserved(32), *control())
for _name, _opcode, _access in (("READ-LIKE", READ_LIKE, Access.READ),
                                ("WRITE-LIKE", WRITE_LIKE, Access.WRITE),
                                ("ALWAYS-LIKE", ALWAYS_LIKE, Access.ALWAYS),
                                ("TEST UNIT READY", TUR, Access.ALWAYS)):
    TEST_CMDS.register(_name, _opcode, _SIX, access=_access)(lambda dev, req: None)


class Dummy(ScsiDevice):
    commands = CommandSet("dummy", [SPC, TEST_CMDS])

    def __init__(self, **kw) -> None:
        super().__init__(power_on_ua=False)
        self.reservations = Reservations(self, **kw)


class Aborting(Dummy):
    """A device with queued work to drop on PREEMPT AND ABORT."""

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.aborted: list[set[Nexus]] = []

    def abort_tasks(self, nexuses: set[Nexus]) -> None:
        self.aborted.append(set(nexuses))


@pytest.fixture
def dev() -> Dummy:
    d = Dummy()
    for n in (A, B, A2, C):
        d.execute(n, six(ALWAYS_LIKE))      # every nexus has been seen
    return d


# -- CDBs and parameter lists from the SPC-4 tables ------------------------------------------

def six(opcode: int) -> bytes:
    return bytes([opcode, 0, 0, 0, 0, 0])


def pr_in_cdb(sa: int, alloc: int = 0x2000) -> bytes:
    return bytes([0x5E, sa, 0, 0, 0, 0, 0]) + alloc.to_bytes(2, "big") + b"\0"


def pr_out_cdb(sa: int, type_: int = 0, scope: int = 0, length: int = 24) -> bytes:
    return bytes([0x5F, sa, (scope << 4) | type_, 0, 0]) + length.to_bytes(4, "big") + b"\0"


def pr_out_params(key: int = 0, sa_key: int = 0, *, spec_i_pt: bool = False, all_tg_pt: bool = False,
                  aptpl: bool = False) -> bytes:
    flags = (0x08 if spec_i_pt else 0) | (0x04 if all_tg_pt else 0) | (0x01 if aptpl else 0)
    return struct.pack(">QQ4sBBH", key, sa_key, bytes(4), flags, 0, 0)


def out(dev: Dummy, nexus: Nexus, sa: int, key: int = 0, sa_key: int = 0, type_: int = 0, *,
        scope: int = 0, **flags) -> Result:
    return dev.execute(nexus, pr_out_cdb(sa, type_, scope), pr_out_params(key, sa_key, **flags))


def ok(result: Result) -> Result:
    assert result.status == Status.GOOD, (result.status, result.decoded_sense())
    return result


def conflict(result: Result) -> None:
    assert result.status == Status.RESERVATION_CONFLICT, (result.status, result.decoded_sense())


def sense_of(result: Result, key: SenseKey, code: tuple[int, int]):
    assert result.status == Status.CHECK_CONDITION, result.status
    sense = decode(result.sense)
    assert (sense.key, sense.code) == (key, code), str(sense)
    return sense


def read_keys(dev: Dummy, nexus: Nexus = A) -> tuple[int, list[int]]:
    data = bytes(ok(dev.execute(nexus, pr_in_cdb(READ_KEYS))).data)
    generation, length = struct.unpack_from(">II", data)
    assert len(data) == 8 + length and length % 8 == 0
    return generation, list(struct.unpack_from(f">{length // 8}Q", data, 8))


def read_reservation(dev: Dummy, nexus: Nexus = A) -> tuple[int, tuple[int, int, int] | None]:
    """(PRgeneration, (key, scope, type) or None)."""
    data = bytes(ok(dev.execute(nexus, pr_in_cdb(READ_RESERVATION))).data)
    generation, length = struct.unpack_from(">II", data)
    assert len(data) == 8 + length
    if length == 0:
        return generation, None
    assert length == 16
    key, = struct.unpack_from(">Q", data, 8)
    assert data[16:21] == bytes(5) and data[22:24] == bytes(2)
    return generation, (key, data[21] >> 4, data[21] & 0x0F)


@dataclass
class FullStatus:
    key: int
    all_tg_pt: bool
    r_holder: bool
    scope: int
    type: int
    relative_target_port: int
    transport_id: bytes


def read_full_status(dev: Dummy, nexus: Nexus = A) -> tuple[int, list[FullStatus]]:
    data = bytes(ok(dev.execute(nexus, pr_in_cdb(READ_FULL_STATUS))).data)
    generation, length = struct.unpack_from(">II", data)
    assert len(data) == 8 + length
    out_, at = [], 8
    while at < len(data):
        key, = struct.unpack_from(">Q", data, at)
        assert data[at + 8:at + 12] == bytes(4) and data[at + 14:at + 18] == bytes(4)
        flags, scope_type = data[at + 12], data[at + 13]
        assert flags & 0xFC == 0
        rtpi, tid_len = struct.unpack_from(">HI", data, at + 18)
        out_.append(FullStatus(key, bool(flags & 2), bool(flags & 1), scope_type >> 4, scope_type & 0xF,
                               rtpi, data[at + 24:at + 24 + tid_len]))
        at += 24 + tid_len
    assert at == len(data)
    return generation, out_


def drain_uas(dev: Dummy, nexus: Nexus) -> list[tuple[int, int]]:
    """Every pending unit attention of ``nexus``, in the order it is reported."""
    seen = []
    while True:
        r = dev.execute(nexus, six(ALWAYS_LIKE))
        if r.status == Status.GOOD:
            return seen
        sense = sense_of(r, SenseKey.UNIT_ATTENTION, decode(r.sense).code)
        seen.append(sense.code)


def all_uas(dev: Dummy) -> dict[Nexus, list[tuple[int, int]]]:
    return {n: drain_uas(dev, n) for n in (A, B, A2, C)}


def no_uas(**expected) -> dict[Nexus, list[tuple[int, int]]]:
    names = {"A": A, "B": B, "A2": A2, "C": C}
    got = {n: [] for n in names.values()}
    for name, codes in expected.items():
        got[names[name]] = codes
    return got


# -- REGISTER and REGISTER AND IGNORE EXISTING KEY -----------------------------------------

def test_register_new_key_and_generation(dev):
    assert read_keys(dev) == (0, [])
    ok(out(dev, A, REGISTER, 0, 0xAAAA))
    ok(out(dev, B, REGISTER, 0, 0xFFFF_FFFF_FFFF_FFFF))
    assert read_keys(dev) == (2, [0xAAAA, 0xFFFF_FFFF_FFFF_FFFF])


def test_register_key_rules(dev):
    conflict(out(dev, A, REGISTER, 5, 6))                 # not registered: RK must be zero
    ok(out(dev, A, REGISTER, 0, 5))
    conflict(out(dev, A, REGISTER, 0, 6))                 # registered: RK must be the key
    conflict(out(dev, A, REGISTER, 4, 6))
    assert read_keys(dev) == (1, [5])                     # conflicts do not count
    ok(out(dev, A, REGISTER, 5, 6))                       # change the key
    assert read_keys(dev) == (2, [6])
    ok(out(dev, A, REGISTER, 6, 0))                       # unregister
    assert read_keys(dev) == (3, [])
    ok(out(dev, A, REGISTER, 0, 0))                       # unregistered, SARK zero: GOOD, no-op
    assert read_keys(dev) == (4, [])


def test_each_i_t_nexus_registers_separately(dev):
    ok(out(dev, A, REGISTER, 0, 5))
    conflict(out(dev, A2, REGISTER, 5, 7))                # A2 is not registered
    ok(out(dev, A2, REGISTER, 0, 7))
    assert read_keys(dev)[1] == [5, 7]


def test_register_and_ignore_existing_key(dev):
    ok(out(dev, A, REGISTER_IGNORE, 0x1234, 5))            # RK ignored when unregistered
    ok(out(dev, A, REGISTER_IGNORE, 0x9999, 6))            # and when registered
    assert read_keys(dev) == (2, [6])
    ok(out(dev, A, REGISTER_IGNORE, 0x9999, 0))
    assert read_keys(dev) == (3, [])


def test_all_tg_pt_registers_through_every_target_port(dev):
    ok(out(dev, A, REGISTER, 0, 5, all_tg_pt=True))
    assert read_keys(dev)[1] == [5]
    far = Nexus("iqn.a", 9)                                # a port first seen later
    dev.execute(far, six(ALWAYS_LIKE))
    ok(out(dev, far, RESERVE, 5, 0, WE))
    conflict(out(dev, B, REGISTER, 5, 6))                  # other initiators are not covered
    _, (desc,) = read_full_status(dev)
    assert desc.all_tg_pt and desc.r_holder and desc.relative_target_port == 0
    ok(out(dev, A2, REGISTER, 5, 0))                       # unregistering it through any port
    assert read_keys(dev)[1] == []
    assert read_reservation(dev)[1] is None                # ... also drops the holder's reservation


def test_all_tg_pt_when_already_registered_elsewhere(dev):
    ok(out(dev, A, REGISTER, 0, 5))
    conflict(out(dev, A2, REGISTER, 0, 7, all_tg_pt=True))  # port 1 would see a key mismatch
    ok(out(dev, A2, REGISTER_IGNORE, 0, 7, all_tg_pt=True))
    assert read_keys(dev)[1] == [7]
    _, (desc,) = read_full_status(dev)
    assert desc.all_tg_pt


# -- parameter list and CDB checks ---------------------------------------------------------

@pytest.mark.parametrize("sa", [REGISTER, RESERVE, RELEASE, CLEAR, PREEMPT, PREEMPT_AND_ABORT,
                                REGISTER_IGNORE])
@pytest.mark.parametrize("length", [0, 23, 25, 28])
def test_parameter_list_length_must_be_24(dev, sa, length):
    ok(out(dev, A, REGISTER, 0, 5))
    r = dev.execute(A, pr_out_cdb(sa, WE, length=length), pr_out_params(5, 5).ljust(length, b"\0")[:length])
    sense_of(r, SenseKey.ILLEGAL_REQUEST, Asc.PARAMETER_LIST_LENGTH_ERROR)
    assert read_keys(dev) == (1, [5])


def test_data_out_shorter_than_parameter_list_length(dev):
    r = dev.execute(A, pr_out_cdb(REGISTER), pr_out_params(0, 5)[:20])
    sense_of(r, SenseKey.ILLEGAL_REQUEST, Asc.PARAMETER_LIST_LENGTH_ERROR)


@pytest.mark.parametrize("sa", [REGISTER, REGISTER_IGNORE, RESERVE, CLEAR])
def test_spec_i_pt_is_not_supported(dev, sa):
    r = out(dev, A, sa, 0, 5, WE, spec_i_pt=True)
    sense = sense_of(r, SenseKey.ILLEGAL_REQUEST, Asc.INVALID_FIELD_IN_PARAMETER_LIST)
    assert sense.specific == FieldPointer(20, 3, False)
    assert read_keys(dev) == (0, [])


@pytest.mark.parametrize("sa", [RESERVE, RELEASE, PREEMPT, PREEMPT_AND_ABORT])
@pytest.mark.parametrize("type_", [0, 2, 4, 9, 15])
def test_invalid_type(dev, sa, type_):
    ok(out(dev, A, REGISTER, 0, 5))
    sense = sense_of(out(dev, A, sa, 5, 5, type_), SenseKey.ILLEGAL_REQUEST, Asc.INVALID_FIELD_IN_CDB)
    assert sense.specific == FieldPointer(2, 3, True)


@pytest.mark.parametrize("sa", [RESERVE, RELEASE, PREEMPT, PREEMPT_AND_ABORT])
def test_scope_other_than_logical_unit(dev, sa):
    ok(out(dev, A, REGISTER, 0, 5))
    sense = sense_of(out(dev, A, sa, 5, 5, WE, scope=2), SenseKey.ILLEGAL_REQUEST, Asc.INVALID_FIELD_IN_CDB)
    assert sense.specific == FieldPointer(2, 7, True)


def test_scope_and_type_ignored_where_spc_says(dev):
    ok(out(dev, A, REGISTER, 0, 5, 0xF, scope=0xF))
    ok(out(dev, A, CLEAR, 5, 0, 0xF, scope=0xF))


@pytest.mark.parametrize("cdb", [pr_out_cdb(7), pr_out_cdb(0x1F), pr_in_cdb(4), pr_in_cdb(0x1F)],
                         ids=["register-and-move", "out-1f", "in-4", "in-1f"])
def test_unsupported_service_actions(dev, cdb):
    sense = sense_of(dev.execute(A, cdb, pr_out_params(0, 5)), SenseKey.ILLEGAL_REQUEST,
                     Asc.INVALID_FIELD_IN_CDB)
    assert sense.specific == FieldPointer(1, 4, True)


# -- RESERVE and RELEASE --------------------------------------------------------------------

def test_reserve_rules(dev):
    conflict(out(dev, A, RESERVE, 0, 0, WE))               # not registered
    ok(out(dev, A, REGISTER, 0, 5))
    ok(out(dev, B, REGISTER, 0, 6))
    conflict(out(dev, A, RESERVE, 6, 0, WE))               # wrong key
    ok(out(dev, A, RESERVE, 5, 0, WE_RO))
    ok(out(dev, A, RESERVE, 5, 0, WE_RO))                  # the holder again, same type
    conflict(out(dev, A, RESERVE, 5, 0, EA_RO))            # the holder, another type
    conflict(out(dev, B, RESERVE, 6, 0, WE_RO))            # a registrant is not the holder
    assert read_reservation(dev) == (2, (5, 0, WE_RO))      # RESERVE does not count


def test_all_registrants_reserve_by_any_registrant(dev):
    ok(out(dev, A, REGISTER, 0, 5))
    ok(out(dev, B, REGISTER, 0, 6))
    ok(out(dev, A, RESERVE, 5, 0, EA_AR))
    ok(out(dev, B, RESERVE, 6, 0, EA_AR))                  # every registrant holds it
    conflict(out(dev, B, RESERVE, 6, 0, WE_AR))
    assert read_reservation(dev)[1] == (0, 0, EA_AR)        # key zero for all registrants


def test_release_rules(dev):
    conflict(out(dev, A, RELEASE, 5, 0, WE))               # not registered
    ok(out(dev, A, REGISTER, 0, 5))
    ok(out(dev, B, REGISTER, 0, 6))
    ok(out(dev, A, RELEASE, 5, 0, WE))                     # nothing to release
    ok(out(dev, A, RESERVE, 5, 0, WE))
    conflict(out(dev, A, RELEASE, 6, 0, WE))               # wrong key
    ok(out(dev, B, RELEASE, 6, 0, WE))                     # not the holder: GOOD, nothing happens
    assert read_reservation(dev)[1] == (5, 0, WE)
    sense_of(out(dev, A, RELEASE, 5, 0, EA), SenseKey.ILLEGAL_REQUEST,
             Asc.INVALID_RELEASE_OF_PERSISTENT_RESERVATION)
    ok(out(dev, A, RELEASE, 5, 0, WE))
    assert read_reservation(dev) == (2, None)
    assert read_keys(dev)[1] == [5, 6]                     # registrations stay


@pytest.mark.parametrize("type_, released_ua", [(WE, False), (EA, False), (WE_RO, True), (EA_RO, True),
                                                (WE_AR, True), (EA_AR, True)])
def test_release_unit_attentions(dev, type_, released_ua):
    for n, k in ((A, 5), (B, 6), (A2, 7)):
        ok(out(dev, n, REGISTER, 0, k))
    ok(out(dev, A, RESERVE, 5, 0, type_))
    ok(out(dev, A, RELEASE, 5, 0, type_))
    expected = [RESERVATIONS_RELEASED] if released_ua else []
    assert all_uas(dev) == no_uas(B=expected, A2=expected)


# -- unregistering the holder -----------------------------------------------------------------

@pytest.mark.parametrize("type_", [WE, EA, WE_RO, EA_RO])
def test_unregistering_the_holder_releases(dev, type_):
    ok(out(dev, A, REGISTER, 0, 5))
    ok(out(dev, B, REGISTER, 0, 6))
    ok(out(dev, A, RESERVE, 5, 0, type_))
    ok(out(dev, A, REGISTER, 5, 0))
    assert read_reservation(dev) == (3, None)
    ua = [RESERVATIONS_RELEASED] if type_ in (WE_RO, EA_RO) else []
    assert all_uas(dev) == no_uas(B=ua)


def test_changing_the_holders_key_keeps_the_reservation(dev):
    ok(out(dev, A, REGISTER, 0, 5))
    ok(out(dev, A, RESERVE, 5, 0, EA))
    ok(out(dev, A, REGISTER, 5, 9))
    assert read_reservation(dev)[1] == (9, 0, EA)


@pytest.mark.parametrize("type_", [WE_AR, EA_AR])
def test_all_registrants_reservation_lasts_while_anyone_is_registered(dev, type_):
    ok(out(dev, A, REGISTER, 0, 5))
    ok(out(dev, B, REGISTER, 0, 6))
    ok(out(dev, A, RESERVE, 5, 0, type_))
    ok(out(dev, A, REGISTER, 5, 0))
    assert read_reservation(dev)[1] == (0, 0, type_)
    conflict(dev.execute(A, six(WRITE_LIKE)))              # A is no longer a registrant
    ok(dev.execute(B, six(WRITE_LIKE)))
    ok(out(dev, B, REGISTER, 6, 0))
    assert read_reservation(dev)[1] is None
    assert all_uas(dev) == no_uas()


# -- CLEAR --------------------------------------------------------------------------------------

def test_clear(dev):
    conflict(out(dev, A, CLEAR, 0))
    for n, k in ((A, 5), (B, 6), (A2, 7)):
        ok(out(dev, n, REGISTER, 0, k))
    ok(out(dev, B, RESERVE, 6, 0, EA_RO))
    conflict(out(dev, A, CLEAR, 6))                        # wrong key
    conflict(out(dev, C, CLEAR, 5))                        # not registered
    ok(out(dev, A, CLEAR, 5))
    assert read_keys(dev) == (4, [])
    assert read_reservation(dev)[1] is None
    assert all_uas(dev) == no_uas(B=[RESERVATIONS_PREEMPTED], A2=[RESERVATIONS_PREEMPTED])


# -- PREEMPT and PREEMPT AND ABORT ----------------------------------------------------------

@pytest.fixture(params=[PREEMPT, PREEMPT_AND_ABORT], ids=["preempt", "preempt-and-abort"])
def preempt_sa(request) -> int:
    return request.param


def test_preempt_needs_registration_and_key(dev, preempt_sa):
    conflict(out(dev, A, preempt_sa, 0, 6, WE))
    ok(out(dev, A, REGISTER, 0, 5))
    ok(out(dev, B, REGISTER, 0, 6))
    conflict(out(dev, A, preempt_sa, 6, 6, WE))


def test_preempt_without_reservation_removes_registrations(dev, preempt_sa):
    for n, k in ((A, 5), (B, 6), (A2, 6), (C, 7)):
        ok(out(dev, n, REGISTER, 0, k))
    conflict(out(dev, A, preempt_sa, 5, 8, WE))            # no such key
    ok(out(dev, A, preempt_sa, 5, 6, WE))
    assert read_keys(dev) == (5, [5, 7])
    assert read_reservation(dev)[1] is None                # TYPE ignored: nothing reserved
    assert all_uas(dev) == no_uas(B=[REGISTRATIONS_PREEMPTED], A2=[REGISTRATIONS_PREEMPTED])


def test_preempt_zero_key_is_invalid_unless_all_registrants(dev, preempt_sa):
    ok(out(dev, A, REGISTER, 0, 5))
    ok(out(dev, B, REGISTER, 0, 6))
    sense = sense_of(out(dev, A, preempt_sa, 5, 0, WE), SenseKey.ILLEGAL_REQUEST,
                     Asc.INVALID_FIELD_IN_PARAMETER_LIST)
    assert sense.specific == FieldPointer(8, None, False)
    ok(out(dev, B, RESERVE, 6, 0, EA))
    sense_of(out(dev, A, preempt_sa, 5, 0, WE), SenseKey.ILLEGAL_REQUEST,
             Asc.INVALID_FIELD_IN_PARAMETER_LIST)
    assert read_keys(dev) == (2, [5, 6])


@pytest.mark.parametrize("new_type", [WE, EA])
def test_preempt_the_holder(dev, preempt_sa, new_type):
    for n, k in ((A, 5), (B, 6), (C, 7)):
        ok(out(dev, n, REGISTER, 0, k))
    ok(out(dev, B, RESERVE, 6, 0, WE))
    ok(out(dev, A, preempt_sa, 5, 6, new_type))
    assert read_keys(dev) == (4, [5, 7])
    assert read_reservation(dev)[1] == (5, 0, new_type)
    released = [RESERVATIONS_RELEASED] if new_type != WE else []
    assert all_uas(dev) == no_uas(B=[REGISTRATIONS_PREEMPTED], C=released)


def test_preempt_a_non_holder_leaves_the_reservation(dev, preempt_sa):
    for n, k in ((A, 5), (B, 6), (C, 7)):
        ok(out(dev, n, REGISTER, 0, k))
    ok(out(dev, B, RESERVE, 6, 0, WE_RO))
    ok(out(dev, A, preempt_sa, 5, 7, EA))
    assert read_keys(dev)[1] == [5, 6]
    assert read_reservation(dev)[1] == (6, 0, WE_RO)
    assert all_uas(dev) == no_uas(C=[REGISTRATIONS_PREEMPTED])


def test_holder_preempting_itself_changes_type(dev, preempt_sa):
    for n, k in ((A, 5), (B, 5), (C, 7)):
        ok(out(dev, n, REGISTER, 0, k))
    ok(out(dev, A, RESERVE, 5, 0, WE))
    ok(out(dev, A, preempt_sa, 5, 5, EA_RO))
    assert read_keys(dev)[1] == [5, 7]                     # B shared the key: removed; A kept
    assert read_reservation(dev)[1] == (5, 0, EA_RO)
    assert all_uas(dev) == no_uas(B=[REGISTRATIONS_PREEMPTED], C=[RESERVATIONS_RELEASED])


@pytest.mark.parametrize("new_type", [EA_AR, WE])
def test_preempt_all_registrants_with_zero_key(dev, preempt_sa, new_type):
    for n, k in ((A, 5), (B, 6), (A2, 7)):
        ok(out(dev, n, REGISTER, 0, k))
    ok(out(dev, B, RESERVE, 6, 0, EA_AR))
    ok(out(dev, A, preempt_sa, 5, 0, new_type))
    assert read_keys(dev) == (4, [5])
    assert read_reservation(dev)[1] == ((0 if new_type == EA_AR else 5), 0, new_type)
    assert all_uas(dev) == no_uas(B=[REGISTRATIONS_PREEMPTED], A2=[REGISTRATIONS_PREEMPTED])


def test_preempt_all_registrants_with_a_key_removes_only_that(dev, preempt_sa):
    for n, k in ((A, 5), (B, 6), (A2, 7)):
        ok(out(dev, n, REGISTER, 0, k))
    ok(out(dev, B, RESERVE, 6, 0, WE_AR))
    ok(out(dev, A, preempt_sa, 5, 6, EA))
    assert read_keys(dev)[1] == [5, 7]
    assert read_reservation(dev)[1] == (0, 0, WE_AR)
    assert all_uas(dev) == no_uas(B=[REGISTRATIONS_PREEMPTED])


def test_preempt_and_abort_aborts_the_victims_tasks():
    dev = Aborting()
    for n, k in ((A, 5), (B, 6), (A2, 6), (C, 7)):
        ok(out(dev, n, REGISTER, 0, k))
    ok(out(dev, B, RESERVE, 6, 0, EA))
    ok(out(dev, A, PREEMPT, 5, 7, EA))                     # plain PREEMPT aborts nothing
    assert dev.aborted == []
    ok(out(dev, A, PREEMPT_AND_ABORT, 5, 6, EA))
    assert dev.aborted == [{B, A2}]


# -- REPORT CAPABILITIES --------------------------------------------------------------------

def report_capabilities(dev: Dummy) -> bytes:
    data = bytes(ok(dev.execute(A, pr_in_cdb(REPORT_CAPABILITIES))).data)
    assert len(data) == 8 and struct.unpack_from(">H", data)[0] == 8 and data[6:] == b"\0\0"
    return data


def test_report_capabilities(dev):
    data = report_capabilities(dev)
    assert data[2] == 0b0000_0101                   # CRH=0 SIP_C=0 ATP_C=1 PTPL_C=1
    assert data[3] & 0x80                           # TMV
    assert (data[3] >> 4) & 7 == 0b011              # TUR always; nothing listed refused through WE
    assert data[3] & 0x0E == 0 and data[3] & 1 == 0  # PTPL_A off
    # WR_EX_AR, EX_AC_RO, WR_EX_RO, EX_AC, WR_EX; EX_AC_AR
    assert data[4:6] == bytes([0b1110_1010, 0b0000_0001])
    ok(out(dev, A, REGISTER, 0, 5, aptpl=True))
    assert report_capabilities(dev)[3] & 1          # PTPL_A on


def _variant(*commands: tuple[int, int | None, Access]) -> ScsiDevice:
    """A device with only the given (opcode, service action, access) commands."""
    cmds = CommandSet("variant")
    for opcode, sa, access in commands:
        cmds.register(f"{opcode:02X}", opcode, _SIX, service_action=sa, access=access)(lambda d, r: None)

    class Variant(ScsiDevice):
        commands = cmds
    return Variant()


@pytest.mark.parametrize("commands, value", [
    ([(TUR, None, Access.READ)], 0b000),
    ([(TUR, None, Access.ALWAYS)], 0b011),
    ([(TUR, None, Access.ALWAYS), (MODE_SENSE6, None, Access.WRITE)], 0b010),
    ([(TUR, None, Access.ALWAYS), (MODE_SENSE6, None, Access.READ), (0xA3, 0x0C, Access.ALWAYS)], 0b011),
    ([(TUR, None, Access.ALWAYS), (MODE_SENSE6, None, Access.WRITE), (0xA3, 0x0C, Access.ALWAYS)], 0b001),
], ids=["tur-conflicts", "tur-only", "refused", "allowed", "mixed"])
def test_allow_commands_tells_the_truth(commands, value):
    assert allow_commands(_variant(*commands)) == value


# -- READ FULL STATUS and TransportIDs ------------------------------------------------------------

def iscsi_tid(text: str, fmt: int) -> bytes:
    body = text.encode() + b"\0"
    body += bytes(-len(body) % 4)
    body = body.ljust(20, b"\0")
    return bytes([(fmt << 6) | 0x5, 0]) + struct.pack(">H", len(body)) + body


def test_read_full_status(dev):
    isid = Nexus("iqn.1994-05.com.redhat:host,i,0x23d000000", 2)
    ok(out(dev, A, REGISTER, 0, 5))
    ok(out(dev, B, REGISTER, 0, 6))
    ok(out(dev, isid, REGISTER, 0, 7, all_tg_pt=True))
    ok(out(dev, B, RESERVE, 6, 0, EA_RO))
    generation, descs = read_full_status(dev)
    assert generation == 3
    assert descs == [
        FullStatus(5, False, False, 0, 0, 1, iscsi_tid("iqn.a", 0)),
        FullStatus(6, False, True, 0, EA_RO, 1, iscsi_tid("iqn.b", 0)),
        FullStatus(7, True, False, 0, 0, 0, iscsi_tid("iqn.1994-05.com.redhat:host,i,0x23d000000", 1)),
    ]
    assert len(descs[0].transport_id) == 24
    assert all(len(d.transport_id) % 4 == 0 for d in descs)


def test_read_full_status_all_registrants_are_holders(dev):
    ok(out(dev, A, REGISTER, 0, 5))
    ok(out(dev, B, REGISTER, 0, 6))
    ok(out(dev, B, RESERVE, 6, 0, WE_AR))
    _, descs = read_full_status(dev)
    assert [(d.r_holder, d.type) for d in descs] == [(True, WE_AR), (True, WE_AR)]


def test_long_iscsi_name_is_padded_to_four(dev):
    name = "iqn.2026-11.example.com:a-rather-long-initiator-name"
    n = Nexus(name, 1)
    ok(out(dev, n, REGISTER, 0, 5))
    _, (desc,) = read_full_status(dev)
    assert desc.transport_id == iscsi_tid(name, 0)
    assert desc.transport_id[4:].rstrip(b"\0") == name.encode()


# -- allocation length ---------------------------------------------------------------------------

def test_allocation_length_truncates_but_reports_full_length(dev):
    for n, k in ((A, 5), (B, 6), (C, 7)):
        ok(out(dev, n, REGISTER, 0, k))
    data = bytes(ok(dev.execute(A, pr_in_cdb(READ_KEYS, alloc=12))).data)
    assert data == struct.pack(">IIQ", 3, 24, 5)[:12]
    data = bytes(ok(dev.execute(A, pr_in_cdb(READ_FULL_STATUS, alloc=8))).data)
    assert struct.unpack(">II", data) == (3, 3 * 48)
    assert bytes(ok(dev.execute(A, pr_in_cdb(READ_RESERVATION, alloc=0))).data) == b""
    assert bytes(ok(dev.execute(A, pr_in_cdb(REPORT_CAPABILITIES, alloc=2))).data) == b"\x00\x08"


# -- unit attentions and the pipeline -------------------------------------------------------------

def test_pending_unit_attention_comes_before_persistent_reserve(dev):
    for n, k in ((A, 5), (B, 6)):
        ok(out(dev, n, REGISTER, 0, k))
    ok(out(dev, A, PREEMPT, 5, 6, EA))
    sense_of(dev.execute(B, pr_in_cdb(READ_KEYS)), SenseKey.UNIT_ATTENTION, REGISTRATIONS_PREEMPTED)
    assert read_keys(dev, B) == (3, [5])


# -- APTPL ---------------------------------------------------------------------------------------

def test_aptpl_store_and_restore():
    stored: list[dict] = []
    dev = Dummy(store=stored.append)
    ok(out(dev, A, REGISTER, 0, 5))
    assert stored == []                                   # APTPL not asked for: nothing stored
    ok(out(dev, B, REGISTER, 0, 0xFEDC_BA98_7654_3210, aptpl=True))
    ok(out(dev, A, REGISTER, 5, 0x55, all_tg_pt=True))  # APTPL=0 in this one turns it off ...
    assert stored[-1]["aptpl"] is False
    ok(out(dev, A, REGISTER_IGNORE, 0, 0x56, aptpl=True))  # ... and on again
    count = len(stored)
    ok(out(dev, B, RESERVE, 0xFEDC_BA98_7654_3210, 0, EA_RO))
    assert len(stored) == count + 1                        # RESERVE changes state too
    snapshot = json.loads(json.dumps(stored[-1]))
    assert snapshot == dev.reservations.to_dict()

    again = Dummy(state=snapshot)                          # power on
    assert read_keys(again, B) == (0, [0xFEDC_BA98_7654_3210, 0x56])   # generation restarts
    assert read_reservation(again, B)[1] == (0xFEDC_BA98_7654_3210, 0, EA_RO)
    assert report_capabilities(again)[3] & 1
    conflict(again.execute(C, six(READ_LIKE)))
    ok(again.execute(A2, six(WRITE_LIKE)))                # the ALL_TG_PT registration came back
    _, descs = read_full_status(again, B)
    assert [d.all_tg_pt for d in descs] == [False, True]


def test_every_change_is_stored_while_aptpl():
    stored: list[dict] = []
    dev = Dummy(store=stored.append)
    ok(out(dev, A, REGISTER, 0, 5, aptpl=True))
    ok(out(dev, B, REGISTER, 0, 6, aptpl=True))
    ok(out(dev, A, RESERVE, 5, 0, WE))
    ok(out(dev, A, RELEASE, 5, 0, WE))
    ok(out(dev, A, PREEMPT, 5, 6, WE))
    ok(out(dev, A, CLEAR, 5))
    assert len(stored) == 6
    assert stored[-1] == {"aptpl": True, "generation": 4, "registrations": [], "reservation": None}
    conflict(out(dev, A, CLEAR, 5))
    assert len(stored) == 6                                # a failed command changes nothing


def test_a_change_the_store_cannot_save_is_refused_and_undone():
    """APTPL on and the store failing (its disk is full): each service action ends ILLEGAL
    REQUEST, INSUFFICIENT REGISTRATION RESOURCES with the state as it was before, so the
    initiator is never told "failed" about a change that took effect."""
    stored: list[dict] = []
    full = False

    def store(state: dict) -> None:
        if full:
            raise OSError(28, "No space left on device")
        stored.append(state)
    dev = Dummy(store=store)
    ok(out(dev, A, REGISTER, 0, 5, aptpl=True))
    ok(out(dev, B, REGISTER, 0, 6, aptpl=True))
    ok(out(dev, A, RESERVE, 5, 0, WE))
    before = (read_keys(dev), read_reservation(dev))
    full = True
    for args in ((C, REGISTER, 0, 7), (A, REGISTER, 5, 9), (A, RELEASE, 5, 0, WE), (A, PREEMPT, 5, 6, WE),
                 (B, PREEMPT, 6, 5, EA), (A, CLEAR, 5), (A, REGISTER, 5, 0)):
        sense_of(out(dev, *args), SenseKey.ILLEGAL_REQUEST, (0x55, 0x04))
        assert (read_keys(dev), read_reservation(dev)) == before, args
    conflict(dev.execute(B, six(WRITE_LIKE)))             # A's reservation still holds
    ab = Aborting(store=store)
    for n in (A, B):
        ab.execute(n, six(ALWAYS_LIKE))
    full = False
    ok(out(ab, A, REGISTER, 0, 5, aptpl=True))
    ok(out(ab, B, REGISTER, 0, 6, aptpl=True))
    full = True
    sense_of(out(ab, A, PREEMPT_AND_ABORT, 5, 6, WE), SenseKey.ILLEGAL_REQUEST, (0x55, 0x04))
    assert ab.aborted == [] and read_keys(ab)[1] == [5, 6]  # nothing was aborted either
    full = False
    ok(out(dev, C, REGISTER, 0, 7))                        # and with room again, changes are saved
    assert stored[-1]["registrations"][-1] == {"initiator": C.initiator, "target_port": C.target_port,
                                               "key": f"{7:016x}"}


def test_no_restore_without_aptpl():
    dev = Dummy()
    ok(out(dev, A, REGISTER, 0, 5))
    ok(out(dev, A, RESERVE, 5, 0, EA))
    snapshot = dev.reservations.to_dict()
    assert snapshot["aptpl"] is False
    again = Dummy(state=snapshot)
    assert read_keys(again) == (0, [])
    assert read_reservation(again)[1] is None
    ok(again.execute(B, six(WRITE_LIKE)))


def test_unregister_ignores_aptpl_bit():
    stored: list[dict] = []
    dev = Dummy(store=stored.append)
    ok(out(dev, A, REGISTER, 0, 5, aptpl=True))
    ok(out(dev, A, REGISTER, 5, 0))                        # APTPL=0 ignored when unregistering
    assert stored[-1]["aptpl"] is True and stored[-1]["registrations"] == []


# -- random sequences against a reference model ---------------------------------------------------

NEXUSES = (A, B, A2, C)
NEXUS = st.sampled_from(NEXUSES)
# "registered" is the first registered I_T nexus and "holder" the reservation holder, so
# that the service actions mostly come from someone entitled to send them.
SENDERS = st.sampled_from(["registered"] * 3 + ["holder"] * 2 + list(NEXUSES))
# "own" is the sender's registered key (zero if none), "holder" the reservation holder's:
# without them almost every command would fail on a key mismatch.
KEYS = st.sampled_from(["own", "own", 0, 1, 2, 3])
VICTIMS = st.sampled_from(["holder", "holder", 0, 1, 2, 3])


@dataclass
class Model:
    """Registrations per I_T nexus, the reservation, PRgeneration, pending unit attentions,
    the SPC-2 reservation; written straight from SPC-4 5.13 and SPC-2 5.5.1."""

    regs: dict[Nexus, int] = field(default_factory=dict)
    res: tuple[Nexus, int] | None = None
    generation: int = 0
    ua: dict[Nexus, list[tuple[int, int]]] = field(default_factory=lambda: {n: [] for n in NEXUSES})
    spc2: Nexus | None = None

    def all_registrants(self) -> bool:
        return self.res is not None and self.res[1] in (WE_AR, EA_AR)

    def holds(self, n: Nexus) -> bool:
        if self.res is None:
            return False
        return n in self.regs if self.all_registrants() else self.res[0] == n

    def attention(self, code: tuple[int, int], targets, but: Nexus | None = None) -> None:
        for t in targets:
            if t != but and code not in self.ua[t]:
                self.ua[t].append(code)

    def conflicts(self, n: Nexus, kind: str) -> bool:
        if self.spc2 not in (None, n):
            return True
        if self.res is None or kind == "always":
            return False
        if self.res[1] in (WE_RO, EA_RO, WE_AR, EA_AR):
            if n in self.regs:
                return False
        elif self.res[0] == n:
            return False
        return kind == "write" or self.res[1] in (EA, EA_RO, EA_AR)

    def unregister(self, n: Nexus) -> None:
        del self.regs[n]
        if self.res is None:
            return
        holder, type_ = self.res
        if self.all_registrants():
            if not self.regs:
                self.res = None
        elif holder == n:
            self.res = None
            if type_ in (WE_RO, EA_RO):
                self.attention(RESERVATIONS_RELEASED, self.regs, n)


GOOD = "good"
RC = "conflict"


class PersistentReservationMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dev = Dummy()
        self.model = Model()

    @initialize(keys=st.lists(st.sampled_from([0, 1, 2, 3]), min_size=4, max_size=4))
    def meet_everyone(self, keys) -> None:
        """Every nexus is seen, and most start registered (key zero: not registered)."""
        for n, key in zip(NEXUSES, keys, strict=False):
            ok(self.dev.execute(n, six(ALWAYS_LIKE)))
            if key:
                ok(out(self.dev, n, REGISTER, 0, key))
                self.model.regs[n] = key
                self.model.generation += 1

    def expect(self, n: Nexus, result: Result, outcome) -> None:
        """Compare the device's answer with the model's: GOOD, conflict or an (ASC, ASCQ)."""
        if outcome == RC:
            assert result.status == Status.RESERVATION_CONFLICT, (result, result.decoded_sense())
        elif outcome == GOOD:
            assert result.status == Status.GOOD, (result.status, result.decoded_sense())
        else:
            assert result.status == Status.CHECK_CONDITION, result.status
            assert decode(result.sense).code == outcome, (decode(result.sense), outcome)

    def gate(self, n: Nexus, kind: str):
        """Reservation check, then pending unit attention, as the pipeline does them."""
        m = self.model
        if kind == "pr" and m.spc2 is not None:
            return RC
        if kind == "spc2" and m.regs:
            return RC
        if kind == "spc2-reserve" and (m.regs or m.spc2 not in (None, n)):
            return RC
        if kind in ("read", "write", "always") and m.conflicts(n, kind):
            return RC
        if m.ua[n]:
            return m.ua[n].pop(0)
        return None

    def sender(self, n) -> Nexus:
        if n == "registered":
            return next(iter(self.model.regs), A)
        if n == "holder":
            return self.model.res[0] if self.model.res is not None else A
        return n

    def key(self, n: Nexus, key) -> int:
        m = self.model
        if key == "own":
            return m.regs.get(n, 0)
        if key == "holder":
            return m.regs.get(m.res[0], 1) if m.res is not None else 1
        return key

    @rule(n=NEXUS, kind=st.sampled_from(["read", "write", "always"]))
    def access(self, n, kind):
        opcode = {"read": READ_LIKE, "write": WRITE_LIKE, "always": ALWAYS_LIKE}[kind]
        self.expect(n, self.dev.execute(n, six(opcode)), self.gate(n, kind) or GOOD)

    @rule(n=SENDERS, key=KEYS, new=st.sampled_from([0, 1, 1, 2, 2, 3, 3]), ignore=st.booleans())
    def register(self, n, key, new, ignore):
        m, n = self.model, self.sender(n)
        key = self.key(n, key)
        result = out(self.dev, n, REGISTER_IGNORE if ignore else REGISTER, key, new)
        outcome = self.gate(n, "pr")
        if outcome is None:
            if not ignore and key != m.regs.get(n, 0):
                outcome = RC
            else:
                if new == 0:
                    if n in m.regs:
                        m.unregister(n)
                else:
                    m.regs[n] = new
                m.generation += 1
        self.expect(n, result, outcome or GOOD)

    def authenticated(self, n: Nexus, key: int) -> bool:
        return n in self.model.regs and self.model.regs[n] == key

    @rule(n=SENDERS, key=KEYS, type_=st.sampled_from(TYPES))
    def reserve(self, n, key, type_):
        m, n = self.model, self.sender(n)
        key = self.key(n, key)
        result = out(self.dev, n, RESERVE, key, 0, type_)
        outcome = self.gate(n, "pr")
        if outcome is None:
            if not self.authenticated(n, key):
                outcome = RC
            elif m.res is not None:
                outcome = None if m.holds(n) and m.res[1] == type_ else RC
            else:
                m.res = (n, type_)
        self.expect(n, result, outcome or GOOD)

    @rule(n=SENDERS, key=KEYS, type_=st.sampled_from(TYPES))
    def release(self, n, key, type_):
        m, n = self.model, self.sender(n)
        key = self.key(n, key)
        result = out(self.dev, n, RELEASE, key, 0, type_)
        outcome = self.gate(n, "pr")
        if outcome is None:
            if not self.authenticated(n, key):
                outcome = RC
            elif m.holds(n):
                if m.res[1] != type_:
                    outcome = Asc.INVALID_RELEASE_OF_PERSISTENT_RESERVATION
                else:
                    if type_ not in (WE, EA):
                        m.attention(RESERVATIONS_RELEASED, m.regs, n)
                    m.res = None
        self.expect(n, result, outcome or GOOD)

    @rule(n=SENDERS, key=KEYS)
    def clear(self, n, key):
        m, n = self.model, self.sender(n)
        key = self.key(n, key)
        result = out(self.dev, n, CLEAR, key)
        outcome = self.gate(n, "pr")
        if outcome is None:
            if not self.authenticated(n, key):
                outcome = RC
            else:
                m.attention(RESERVATIONS_PREEMPTED, m.regs, n)
                m.regs.clear()
                m.res = None
                m.generation += 1
        self.expect(n, result, outcome or GOOD)

    @rule(n=SENDERS, key=KEYS, victim=VICTIMS, type_=st.sampled_from(TYPES), abort=st.booleans())
    def preempt(self, n, key, victim, type_, abort):
        m, n = self.model, self.sender(n)
        key, victim = self.key(n, key), self.key(n, victim)
        result = out(self.dev, n, PREEMPT_AND_ABORT if abort else PREEMPT, key, victim, type_)
        outcome = self.gate(n, "pr")
        if outcome is None:
            if not self.authenticated(n, key):
                outcome = RC
            elif victim == 0 and not m.all_registrants():
                outcome = Asc.INVALID_FIELD_IN_PARAMETER_LIST
            elif m.res is not None and (victim == 0 if m.all_registrants() else m.regs[m.res[0]] == victim):
                lost = [x for x, k in m.regs.items() if x != n and (victim == 0 or k == victim)]
                for x in lost:
                    del m.regs[x]
                old_type = m.res[1]
                m.res = (n, type_)
                if old_type != type_:
                    m.attention(RESERVATIONS_RELEASED, m.regs, n)
                m.attention(REGISTRATIONS_PREEMPTED, lost, n)
                m.generation += 1
            else:
                lost = [x for x, k in m.regs.items() if k == victim]
                if not lost:
                    outcome = RC
                else:
                    for x in lost:
                        del m.regs[x]
                    if m.all_registrants() and not m.regs:
                        m.res = None
                    m.attention(REGISTRATIONS_PREEMPTED, lost, n)
                    m.generation += 1
        self.expect(n, result, outcome or GOOD)

    @rule(n=NEXUS, what=st.sampled_from(["release"] * 6 + ["reserve", "reset", "nexus loss"]))
    def disturb(self, n, what):
        """SPC-2 RESERVE/RELEASE(6), logical unit reset, I_T nexus loss: kept rare, since
        each of them makes the next commands conflict or report a unit attention."""
        m = self.model
        if what == "reset":
            self.dev.logical_unit_reset()
            m.spc2 = None
            for x in NEXUSES:
                m.ua[x] = [(0x29, 0x00)]
        elif what == "nexus loss":
            self.dev.nexus_loss(n)
            if m.spc2 == n:
                m.spc2 = None
            m.ua[n] = [(0x29, 0x07)]
        else:
            release = what == "release"
            if release and m.spc2 is not None:
                n = m.spc2                          # mostly the holder releasing
            result = self.dev.execute(n, six(0x17 if release else 0x16))
            outcome = self.gate(n, "spc2" if release else "spc2-reserve")
            if outcome is None:
                if not release:
                    m.spc2 = n
                elif m.spc2 == n:
                    m.spc2 = None
            self.expect(n, result, outcome or GOOD)

    @invariant()
    def state_matches(self):
        s, m = self.dev.reservations, self.model
        assert s.generation == m.generation
        assert sorted(r.key for r in s.registrations) == sorted(m.regs.values())
        assert {Nexus(r.initiator, r.target_port): r.key for r in s.registrations} == m.regs
        if m.res is None:
            assert s.reservation is None
        else:
            assert s.reservation is not None and s.reservation.type == m.res[1]
            if not m.all_registrants():
                assert s.reservation.holder == m.res[0]
        assert s.spc2_holder == m.spc2
        for n in NEXUSES:
            assert self.dev.unit_attentions.peek(n) == (m.ua[n][0] if m.ua[n] else None), n


PersistentReservationMachine.TestCase.settings = settings(
    max_examples=300, stateful_step_count=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow])
test_persistent_reservation_machine = PersistentReservationMachine.TestCase
