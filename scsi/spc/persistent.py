"""PERSISTENT RESERVE IN and OUT (SPC-4 6.15, 6.16): the wire side.

Clusters, multipath hosts and backup applications sharing a tape drive fence
each other with persistent reservations (``sg_persist``, ONTAP's
``tape.reservations persistent``).  This module declares the CDBs, the
PERSISTENT RESERVE OUT parameter list and every PERSISTENT RESERVE IN data
format once, checks what SPC-4 says must be checked in them, and hands the
decoded request to :class:`~scsi.spc.reservation_state.Reservations`, which
owns the rules.

Not implemented, and said so: REGISTER AND MOVE (the service action is
refused as an invalid CDB field, because it is simply not registered) and
SPEC_I_PT (SIP_C=0 in REPORT CAPABILITIES; a request with it set is an
invalid parameter list field).
"""
from __future__ import annotations

import re

from construct import (
    BitStruct, BitsInteger, Const, Container, Flag, GreedyBytes, GreedyRange, Int16ub, Int32ub,
    Int64ub, Nibble, Padding, Prefixed, Struct,
)

from ..device import Access, Request, ScsiDevice
from ..layout import Layout, bits, control, reserved
from ..sense import parameter_list_length_error
from .commands import SPC
from .reservation_state import LU_SCOPE, PrType, Registration, state_of

PR_IN = Layout("PERSISTENT RESERVE IN", bits("opcode", 8), reserved(3), bits("service_action", 5),
               reserved(40), bits("allocation_length", 16), *control())

PR_OUT = Layout("PERSISTENT RESERVE OUT", bits("opcode", 8), reserved(3), bits("service_action", 5),
                bits("scope", 4), bits("type", 4), reserved(16), bits("parameter_list_length", 32),
                *control())

# The basic parameter list (SPC-4 6.16.3); bytes 16-19 and 22-23 are obsolete.
PR_OUT_PARAMETERS = Layout(
    "PERSISTENT RESERVE OUT parameter list",
    bits("reservation_key", 64), bits("service_action_reservation_key", 64), reserved(32),
    reserved(4), bits("spec_i_pt", 1), bits("all_tg_pt", 1), reserved(1), bits("aptpl", 1),
    reserved(8), reserved(16),
    in_cdb=False)
PARAMETER_LIST_SIZE = PR_OUT_PARAMETERS.size

ReadKeys = Struct(
    "generation" / Int32ub,
    "keys" / Prefixed(Int32ub, GreedyRange(Int64ub)),
)

ReservationDescriptor = Struct(
    "key" / Int64ub,
    Padding(4),                       # obsolete scope-specific address
    Padding(1),
    "scope_type" / BitStruct("scope" / Nibble, "type" / Nibble),
    Padding(2),                       # obsolete extent length
)

ReadReservation = Struct(
    "generation" / Int32ub,
    "reservations" / Prefixed(Int32ub, GreedyRange(ReservationDescriptor)),   # none or one
)

ReportCapabilities = Struct(
    "length" / Const(8, Int16ub),
    "bits" / BitStruct(
        Padding(3), "crh" / Flag, "sip_c" / Flag, "atp_c" / Flag, Padding(1), "ptpl_c" / Flag,
        "tmv" / Flag, "allow_commands" / BitsInteger(3), Padding(3), "ptpl_a" / Flag,
        # PERSISTENT RESERVATION TYPE MASK
        "wr_ex_ar" / Flag, "ex_ac_ro" / Flag, "wr_ex_ro" / Flag, Padding(1),
        "ex_ac" / Flag, Padding(1), "wr_ex" / Flag, Padding(1),
        Padding(7), "ex_ac_ar" / Flag,
    ),
    Padding(2),
)

TransportId = Struct(
    "head" / BitStruct("format_code" / BitsInteger(2), Padding(2), "protocol_identifier" / Nibble),
    Padding(1),
    "name" / Prefixed(Int16ub, GreedyBytes),
)

FullStatusDescriptor = Struct(
    "key" / Int64ub,
    Padding(4),
    "flags" / BitStruct(Padding(6), "all_tg_pt" / Flag, "r_holder" / Flag),
    "scope_type" / BitStruct("scope" / Nibble, "type" / Nibble),
    Padding(4),
    "relative_target_port" / Int16ub,
    "transport_id" / Prefixed(Int32ub, TransportId),
)

ReadFullStatus = Struct(
    "generation" / Int32ub,
    "descriptors" / Prefixed(Int32ub, GreedyRange(FullStatusDescriptor)),
)

ISCSI_PROTOCOL = 0x5
ISCSI_NAME, ISCSI_NAME_WITH_ISID = 0b00, 0b01
_MIN_ISCSI_NAME_FIELD = 20
_ISID_SUFFIX = re.compile(r".+,i,0x[0-9A-Fa-f]+")

# ALLOW COMMANDS (SPC-4 table 'ALLOW COMMANDS field') speaks of TEST UNIT READY
# and of these commands passing Write Exclusive reservations.
TEST_UNIT_READY = 0x00
_ALLOW_COMMANDS_OPCODES = frozenset({
    0x1A, 0x5A,     # MODE SENSE(6), MODE SENSE(10)
    0x8C, 0x3C,     # READ ATTRIBUTE, READ BUFFER
    0x84, 0x1C,     # RECEIVE COPY RESULTS, RECEIVE DIAGNOSTIC RESULTS
    0x37, 0xB7,     # READ DEFECT DATA(10), (12)
})
_ALLOW_COMMANDS_SERVICE_ACTIONS = frozenset({
    (0xA3, 0x0C), (0xA3, 0x0D),     # REPORT SUPPORTED OPERATION CODES / TASK MANAGEMENT FUNCTIONS
})


def iscsi_transport_id(initiator: str) -> dict:
    """The iSCSI TransportID of an initiator port (SPC-4 7.6.4.6), as ``TransportId`` fields.

    ``iqn.x,i,0x<isid>`` names a port with its ISID (format 01b), any other
    string is an iSCSI name alone (format 00b).  The text is null-terminated
    and null-padded to a multiple of four, at least 20 bytes.
    """
    text = initiator.encode() + b"\0"
    size = max(_MIN_ISCSI_NAME_FIELD, -(-len(text) // 4) * 4)
    fmt = ISCSI_NAME_WITH_ISID if _ISID_SUFFIX.fullmatch(initiator) else ISCSI_NAME
    return dict(head=dict(format_code=fmt, protocol_identifier=ISCSI_PROTOCOL),
                name=text.ljust(size, b"\0"))


def allow_commands(dev: ScsiDevice) -> int:
    """The ALLOW COMMANDS value that is true of this device's command table.

    011b/010b when every listed command it has is allowed/refused through Write
    Exclusive, 001b when that differs per command, 000b unless TEST UNIT READY
    is always allowed.
    """
    commands = dev.supported_commands()
    if not any(c.opcode == TEST_UNIT_READY and c.access is Access.ALWAYS for c in commands):
        return 0b000
    listed = [c.access for c in commands
              if c.opcode in _ALLOW_COMMANDS_OPCODES
              or (c.opcode, c.service_action) in _ALLOW_COMMANDS_SERVICE_ACTIONS]
    if any(callable(a) for a in listed):
        return 0b001
    allowed = {a is not Access.WRITE for a in listed}
    if allowed == {False}:
        return 0b010
    return 0b011 if allowed <= {True} else 0b001


# -- PERSISTENT RESERVE IN -----------------------------------------------------------

@SPC.register("PERSISTENT RESERVE IN (READ KEYS)", 0x5E, PR_IN, service_action=0x00,
              access=Access.RESERVATION)
def read_keys(dev: ScsiDevice, req: Request) -> bytes:
    s = state_of(dev)
    return ReadKeys.build(dict(generation=s.generation, keys=[r.key for r in s.registrations]))


@SPC.register("PERSISTENT RESERVE IN (READ RESERVATION)", 0x5E, PR_IN, service_action=0x01,
              access=Access.RESERVATION)
def read_reservation(dev: ScsiDevice, req: Request) -> bytes:
    s = state_of(dev)
    res = s.reservation
    held = [] if res is None else [dict(key=s.holder_key(), scope_type=dict(scope=LU_SCOPE, type=res.type))]
    return ReadReservation.build(dict(generation=s.generation, reservations=held))


@SPC.register("PERSISTENT RESERVE IN (REPORT CAPABILITIES)", 0x5E, PR_IN, service_action=0x02,
              access=Access.RESERVATION)
def report_capabilities(dev: ScsiDevice, req: Request) -> bytes:
    return ReportCapabilities.build(dict(bits=dict(
        crh=False, sip_c=False, atp_c=True, ptpl_c=True,
        tmv=True, allow_commands=allow_commands(dev), ptpl_a=state_of(dev).aptpl,
        wr_ex_ar=True, ex_ac_ro=True, wr_ex_ro=True, ex_ac=True, wr_ex=True, ex_ac_ar=True,
    )))


@SPC.register("PERSISTENT RESERVE IN (READ FULL STATUS)", 0x5E, PR_IN, service_action=0x03,
              access=Access.RESERVATION)
def read_full_status(dev: ScsiDevice, req: Request) -> bytes:
    s = state_of(dev)
    res = s.reservation
    holder_reg = None if res is None else s.registration(res.holder)

    def descriptor(reg: Registration) -> dict:
        holds = res is not None and (res.type.all_registrants or reg is holder_reg)
        return dict(
            key=reg.key,
            flags=dict(all_tg_pt=reg.all_target_ports, r_holder=holds),
            scope_type=dict(scope=LU_SCOPE, type=res.type if holds else 0),
            relative_target_port=reg.target_port or 0,
            transport_id=iscsi_transport_id(reg.initiator),
        )

    return ReadFullStatus.build(dict(generation=s.generation,
                                     descriptors=[descriptor(r) for r in s.registrations]))


# -- PERSISTENT RESERVE OUT ------------------------------------------------------------

def _parameters(req: Request) -> Container:
    """The 24-byte parameter list, checked as SPC-4 6.16.3 asks."""
    length = req.fields.parameter_list_length
    if length < PARAMETER_LIST_SIZE:
        raise parameter_list_length_error()
    params = PR_OUT_PARAMETERS.parse(req.parameters(PARAMETER_LIST_SIZE))
    if params.spec_i_pt:
        raise PR_OUT_PARAMETERS.invalid("spec_i_pt")
    if length != PARAMETER_LIST_SIZE:
        raise parameter_list_length_error()
    return params


def _reservation_type(req: Request) -> PrType:
    """SCOPE and TYPE, for the service actions that use them."""
    f = req.fields
    if f.scope != LU_SCOPE:
        raise req.invalid("scope")
    try:
        return PrType(f.type)
    except ValueError:
        raise req.invalid("type") from None


def _register(dev: ScsiDevice, req: Request, *, ignore_existing: bool) -> None:
    p = _parameters(req)
    state_of(dev).register(req.nexus, p.reservation_key, p.service_action_reservation_key,
                         ignore_existing=ignore_existing, all_target_ports=p.all_tg_pt,
                         aptpl=p.aptpl)


def _preempt(dev: ScsiDevice, req: Request, *, abort: bool) -> None:
    type_ = _reservation_type(req)
    p = _parameters(req)
    s = state_of(dev)
    s.authenticate(req.nexus, p.reservation_key)
    if p.service_action_reservation_key == 0 and not s.all_registrants_reservation():
        raise PR_OUT_PARAMETERS.invalid("service_action_reservation_key")
    s.preempt(req.nexus, p.reservation_key, p.service_action_reservation_key, type_, abort=abort)


@SPC.register("PERSISTENT RESERVE OUT (REGISTER)", 0x5F, PR_OUT, service_action=0x00,
              access=Access.RESERVATION)
def register(dev: ScsiDevice, req: Request) -> None:
    _register(dev, req, ignore_existing=False)


@SPC.register("PERSISTENT RESERVE OUT (RESERVE)", 0x5F, PR_OUT, service_action=0x01,
              access=Access.RESERVATION)
def reserve(dev: ScsiDevice, req: Request) -> None:
    type_ = _reservation_type(req)
    p = _parameters(req)
    state_of(dev).reserve(req.nexus, p.reservation_key, type_)


@SPC.register("PERSISTENT RESERVE OUT (RELEASE)", 0x5F, PR_OUT, service_action=0x02,
              access=Access.RESERVATION)
def release(dev: ScsiDevice, req: Request) -> None:
    type_ = _reservation_type(req)
    p = _parameters(req)
    state_of(dev).release(req.nexus, p.reservation_key, type_)


@SPC.register("PERSISTENT RESERVE OUT (CLEAR)", 0x5F, PR_OUT, service_action=0x03,
              access=Access.RESERVATION)
def clear(dev: ScsiDevice, req: Request) -> None:
    p = _parameters(req)
    state_of(dev).clear(req.nexus, p.reservation_key)


@SPC.register("PERSISTENT RESERVE OUT (PREEMPT)", 0x5F, PR_OUT, service_action=0x04,
              access=Access.RESERVATION)
def preempt(dev: ScsiDevice, req: Request) -> None:
    _preempt(dev, req, abort=False)


@SPC.register("PERSISTENT RESERVE OUT (PREEMPT AND ABORT)", 0x5F, PR_OUT, service_action=0x05,
              access=Access.RESERVATION)
def preempt_and_abort(dev: ScsiDevice, req: Request) -> None:
    _preempt(dev, req, abort=True)


@SPC.register("PERSISTENT RESERVE OUT (REGISTER AND IGNORE EXISTING KEY)", 0x5F, PR_OUT,
              service_action=0x06, access=Access.RESERVATION)
def register_and_ignore_existing_key(dev: ScsiDevice, req: Request) -> None:
    _register(dev, req, ignore_existing=True)
