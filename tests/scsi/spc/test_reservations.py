"""SPC-2 RESERVE/RELEASE and the reservation conflict table, through the
command pipeline of a minimal device.

CDBs are written byte by byte from the SPC-2/SPC-4 tables, not built from our
Layouts, so these tests check the declarations too.
"""
from __future__ import annotations

import struct

import pytest

import scsi.spc  # noqa: F401  registers the SPC handlers
import scsi.spc.persistent  # noqa: F401
import scsi.spc.reservations  # noqa: F401
from scsi.device import Access, CommandSet, ScsiDevice
from scsi.layout import Layout, bits, control, reserved
from scsi.nexus import Nexus
from scsi.sense import Asc, FieldPointer, SenseKey, decode
from scsi.spc.commands import SPC
from scsi.spc.reservations import Reservations
from scsi.status import Status

A, B, A2 = Nexus("iqn.a", 1), Nexus("iqn.b", 1), Nexus("iqn.a", 2)

TEST_CMDS = CommandSet("reservation tests")
_SIX = Layout("test(6)", bits("opcode", 8), reserved(32), *control())
_SA12 = Layout("test sa(12)", bits("opcode", 8), reserved(3), bits("service_action", 5), reserved(72),
               *control())

READ_LIKE, WRITE_LIKE, ALWAYS_LIKE = 0xC0, 0xC1, 0xC2
TUR, REQUEST_SENSE, INQUIRY, REPORT_LUNS, MAINTENANCE_IN = 0x00, 0x03, 0x12, 0xA0, 0xA3
RSOC, RTPG = 0x0C, 0x0A


def _good(dev, req):
    return None


for _name, _opcode, _access in (("READ-LIKE", READ_LIKE, Access.READ),
                                ("WRITE-LIKE", WRITE_LIKE, Access.WRITE),
                                ("ALWAYS-LIKE", ALWAYS_LIKE, Access.ALWAYS),
                                ("TEST UNIT READY", TUR, Access.ALWAYS),
                                ("REQUEST SENSE", REQUEST_SENSE, Access.ALWAYS),
                                ("INQUIRY", INQUIRY, Access.ALWAYS),
                                ("REPORT LUNS", REPORT_LUNS, Access.ALWAYS)):
    TEST_CMDS.register(_name, _opcode, _SIX, access=_access)(_good)
TEST_CMDS.register("RSOC", MAINTENANCE_IN, _SA12, service_action=RSOC, access=Access.ALWAYS)(_good)
TEST_CMDS.register("RTPG", MAINTENANCE_IN, _SA12, service_action=RTPG, access=Access.ALWAYS)(_good)


class Dummy(ScsiDevice):
    commands = CommandSet("dummy", [SPC, TEST_CMDS])

    def __init__(self) -> None:
        super().__init__(power_on_ua=False)
        self.reservations = Reservations(self)


@pytest.fixture
def dev() -> Dummy:
    return Dummy()


def six(opcode: int, byte1: int = 0) -> bytes:
    return bytes([opcode, byte1, 0, 0, 0, 0])


def sa12(sa: int) -> bytes:
    return bytes([MAINTENANCE_IN, sa]) + bytes(10)


def reserve10(byte1: int = 0) -> bytes:
    return bytes([0x56, byte1]) + bytes(8)


def release10(byte1: int = 0) -> bytes:
    return bytes([0x57, byte1]) + bytes(8)


RESERVE6, RELEASE6 = six(0x16), six(0x17)


def pr_out(sa: int, key: int = 0, sa_key: int = 0, type_: int = 0) -> tuple[bytes, bytes]:
    cdb = bytes([0x5F, sa, type_, 0, 0]) + (24).to_bytes(4, "big") + b"\0"
    return cdb, struct.pack(">QQ4sBBH", key, sa_key, bytes(4), 0, 0, 0)


def pr_in(sa: int) -> bytes:
    return bytes([0x5E, sa, 0, 0, 0, 0, 0, 0x10, 0, 0])


def status(dev: Dummy, nexus: Nexus, cdb: bytes, data: bytes | None = None) -> Status:
    return dev.execute(nexus, cdb, data).status


def run(dev: Dummy, nexus: Nexus, cdb: bytes, data: bytes | None = None) -> None:
    r = dev.execute(nexus, cdb, data)
    assert r.status == Status.GOOD, (r.status, r.decoded_sense())


# -- SPC-2 RESERVE / RELEASE -------------------------------------------------------------

@pytest.mark.parametrize("reserve, release", [(RESERVE6, RELEASE6), (reserve10(), release10())],
                         ids=["6", "10"])
def test_reserve_keeps_others_out_until_release(dev, reserve, release):
    run(dev, A, reserve)
    run(dev, A, reserve)                                   # the holder may reserve again
    assert status(dev, B, reserve) == Status.RESERVATION_CONFLICT
    assert status(dev, B, six(READ_LIKE)) == Status.RESERVATION_CONFLICT
    assert status(dev, B, six(WRITE_LIKE)) == Status.RESERVATION_CONFLICT
    assert status(dev, A2, six(WRITE_LIKE)) == Status.RESERVATION_CONFLICT   # another I_T nexus
    run(dev, A, six(WRITE_LIKE))
    run(dev, B, release)                                   # GOOD, and nothing released
    assert status(dev, B, six(READ_LIKE)) == Status.RESERVATION_CONFLICT
    run(dev, A, release)
    run(dev, B, six(WRITE_LIKE))
    run(dev, B, reserve)


def test_reserve6_and_release10_are_one_reservation(dev):
    run(dev, A, RESERVE6)
    run(dev, A, release10())
    run(dev, B, reserve10())


def test_spc2_exempt_commands(dev):
    """Only INQUIRY, REQUEST SENSE, REPORT LUNS, REPORT SUPPORTED OPERATION CODES and
    RELEASE pass another nexus's SPC-2 reservation; even ALWAYS commands do not."""
    run(dev, A, RESERVE6)
    for cdb in (six(INQUIRY), six(REQUEST_SENSE), six(REPORT_LUNS), sa12(RSOC), RELEASE6, release10()):
        run(dev, B, cdb)
    for cdb in (six(TUR), six(ALWAYS_LIKE), six(READ_LIKE), sa12(RTPG), pr_in(0), pr_in(2)):
        assert status(dev, B, cdb) == Status.RESERVATION_CONFLICT
    assert status(dev, B, *pr_out(0, 0, 1)) == Status.RESERVATION_CONFLICT


def test_persistent_reserve_conflicts_with_any_spc2_reservation(dev):
    """SPC-2 5.5.1: PERSISTENT RESERVE IN/OUT conflict whoever holds the SPC-2 reservation."""
    run(dev, A, RESERVE6)
    for nexus in (A, B):
        assert status(dev, nexus, *pr_out(0, 0, 1)) == Status.RESERVATION_CONFLICT
        assert status(dev, nexus, pr_in(0)) == Status.RESERVATION_CONFLICT
    run(dev, A, RELEASE6)
    run(dev, B, *pr_out(0, 0, 1))


def test_reserve_and_release_conflict_while_registrations_exist(dev):
    """CRH=0: with any registration, RESERVE and RELEASE conflict for everyone (SPC-2 5.5.1)."""
    run(dev, A, *pr_out(0, 0, 7))
    for nexus in (A, B):
        for cdb in (RESERVE6, RELEASE6, reserve10(), release10()):
            assert status(dev, nexus, cdb) == Status.RESERVATION_CONFLICT
    run(dev, A, *pr_out(0, 7, 0))                 # unregister: the last registration goes
    run(dev, B, RESERVE6)


@pytest.mark.parametrize("cdb, byte, bit", [
    (six(0x16, 0x10), 1, 4), (six(0x16, 0x01), 1, 0), (six(0x17, 0x10), 1, 4),
    (reserve10(0x10), 1, 4), (reserve10(0x02), 1, 1), (reserve10(0x01), 1, 0),
    (release10(0x10), 1, 4), (release10(0x02), 1, 1),
], ids=["r6-3rdpty", "r6-extent", "rel6-3rdpty", "r10-3rdpty", "r10-longid", "r10-extent",
        "rel10-3rdpty", "rel10-longid"])
def test_unsupported_reserve_forms_are_invalid_fields(dev, cdb, byte, bit):
    r = dev.execute(A, cdb)
    assert r.status == Status.CHECK_CONDITION
    sense = decode(r.sense)
    assert (sense.key, sense.code) == (SenseKey.ILLEGAL_REQUEST, Asc.INVALID_FIELD_IN_CDB)
    assert sense.specific == FieldPointer(byte, bit, True)
    run(dev, B, RESERVE6)                        # nothing was reserved


def test_logical_unit_reset_releases_spc2_but_not_persistent(dev):
    run(dev, A, RESERVE6)
    dev.logical_unit_reset()
    dev.unit_attentions.clear()
    run(dev, B, six(WRITE_LIKE))
    run(dev, B, *pr_out(0, 0, 5))
    run(dev, B, *pr_out(1, 5, 0, type_=1))
    dev.logical_unit_reset()
    dev.unit_attentions.clear()
    assert status(dev, A, six(WRITE_LIKE)) == Status.RESERVATION_CONFLICT


def test_nexus_loss_releases_only_the_lost_holder(dev):
    run(dev, A, RESERVE6)
    dev.nexus_loss(B)
    assert status(dev, B, six(READ_LIKE)) == Status.RESERVATION_CONFLICT
    dev.nexus_loss(A)
    dev.unit_attentions.clear()
    run(dev, B, six(WRITE_LIKE))
    run(dev, B, RESERVE6)


# -- the persistent reservation conflict table (SPC-4 5.13.1 / table of allowed commands) ---

C = Nexus("iqn.c", 1)
OK, RC = Status.GOOD, Status.RESERVATION_CONFLICT

# type: {who: (READ-like, WRITE-like)}; A is the holder, B a registrant, C unregistered.
TABLE = {
    1: {"A": (OK, OK), "B": (OK, RC), "C": (OK, RC), "A2": (OK, RC)},
    3: {"A": (OK, OK), "B": (RC, RC), "C": (RC, RC), "A2": (RC, RC)},
    5: {"A": (OK, OK), "B": (OK, OK), "C": (OK, RC), "A2": (OK, RC)},
    6: {"A": (OK, OK), "B": (OK, OK), "C": (RC, RC), "A2": (RC, RC)},
    7: {"A": (OK, OK), "B": (OK, OK), "C": (OK, RC), "A2": (OK, RC)},
    8: {"A": (OK, OK), "B": (OK, OK), "C": (RC, RC), "A2": (RC, RC)},
}


@pytest.mark.parametrize("type_", sorted(TABLE))
def test_persistent_conflict_table(dev, type_):
    nexuses = {"A": A, "B": B, "C": C, "A2": A2}
    run(dev, A, *pr_out(0, 0, 0xA))
    run(dev, B, *pr_out(0, 0, 0xB))
    run(dev, A, *pr_out(1, 0xA, 0, type_=type_))
    for who, (read, write) in TABLE[type_].items():
        n = nexuses[who]
        assert status(dev, n, six(READ_LIKE)) == read, (type_, who, "read")
        assert status(dev, n, six(WRITE_LIKE)) == write, (type_, who, "write")
        assert status(dev, n, six(ALWAYS_LIKE)) == OK
        assert status(dev, n, pr_in(0)) == OK          # PERSISTENT RESERVE IN never conflicts
    for cdb in (RESERVE6, RELEASE6, reserve10(), release10()):
        assert status(dev, C, cdb) == RC


def test_no_reservation_no_conflict(dev):
    run(dev, A, *pr_out(0, 0, 0xA))
    for n in (A, B, A2):
        run(dev, n, six(WRITE_LIKE))
        run(dev, n, six(READ_LIKE))


def test_device_without_reservation_state_does_not_know_the_commands():
    class Plain(ScsiDevice):
        commands = CommandSet("plain", [SPC])

    plain = Plain(power_on_ua=False)
    for cdb in (RESERVE6, release10(), pr_in(0), pr_out(0, 0, 1)[0]):
        r = plain.execute(A, cdb, pr_out(0, 0, 1)[1])
        sense = decode(r.sense)
        assert (sense.key, sense.code) == (SenseKey.ILLEGAL_REQUEST, Asc.INVALID_COMMAND_OPERATION_CODE)
