"""REPORT TARGET PORT GROUPS (SPC-4 6.36) and the ALUA vocabulary.

A device reached through more than one target port tells hosts how: each
target port group, its asymmetric access state and the relative target port
identifiers in it.  Multipath software (dm-multipath's ALUA handler, a backup
application's path failover) picks paths from this answer, so it lists every
group of the logical unit whatever port the command came through.

The transport wiring owns the topology and the states (``vtl path offline``
sets one port group OFFLINE); a device learns them through its ``port_groups``
hook, a callable returning the groups, so the answer is always current.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Callable, Sequence

from construct import (
    Array, BitStruct, BitsInteger, Flag, Int8ub, Int16ub, Int32ub, Padding, Struct, this,
)

from ..device import Access, Request, ScsiDevice
from ..layout import Layout, bits, control, reserved
from ..nexus import Nexus
from .commands import SPC


class AluaState(IntEnum):
    """Asymmetric access states (SPC-4 table 'ASYMMETRIC ACCESS STATE field')."""

    ACTIVE_OPTIMIZED = 0x0
    ACTIVE_NON_OPTIMIZED = 0x1
    STANDBY = 0x2
    UNAVAILABLE = 0x3
    LBA_DEPENDENT = 0x4
    OFFLINE = 0xE
    TRANSITIONING = 0xF


@dataclass(frozen=True)
class PortGroup:
    id: int
    state: AluaState
    ports: tuple[int, ...]
    """Relative target port identifiers of the ports in the group."""
    preferred: bool = False


PortGroups = Callable[[], Sequence[PortGroup]]

REPORT_TARGET_PORT_GROUPS = Layout(
    "REPORT TARGET PORT GROUPS", bits("opcode", 8), bits("parameter_data_format", 3),
    bits("service_action", 5), reserved(32), bits("allocation_length", 32), reserved(8),
    *control())

LENGTH_ONLY, EXTENDED = 0b000, 0b001
EXTENDED_FORMAT_TYPE = 0b001
IMPLICIT_TRANSITION_TIME = 0    # seconds; our transitions are immediate

GroupDescriptor = Struct(
    "flags" / BitStruct("pref" / Flag, Padding(3), "asymmetric_access_state" / BitsInteger(4),
                        "t_sup" / Flag, "o_sup" / Flag, "lbd_sup" / Flag, Padding(1),
                        "u_sup" / Flag, "s_sup" / Flag, "an_sup" / Flag, "ao_sup" / Flag),
    "target_port_group" / Int16ub,
    Padding(1),
    "status_code" / Int8ub,
    "vendor_specific" / Int8ub,
    "target_port_count" / Int8ub,
    "ports" / Array(this.target_port_count, Struct(Padding(2), "relative_target_port" / Int16ub)),
)

ExtendedHeader = Struct(
    "return_data_length" / Int32ub,
    "format" / BitStruct(Padding(1), "format_type" / BitsInteger(3), Padding(4)),
    "implicit_transition_time" / Int8ub,
    Padding(2),
)

# The states we ever report, so hosts know what to expect (SUP bits).
_SUPPORTED = dict(t_sup=False, o_sup=True, lbd_sup=False, u_sup=True, s_sup=False, an_sup=True,
                  ao_sup=True)

# Status code: the group's state changed because of an explicit command (00h: no status).
STATUS_NONE = 0x00


def group_descriptor(group: PortGroup) -> bytes:
    return GroupDescriptor.build(dict(
        flags=dict(pref=group.preferred, asymmetric_access_state=int(group.state), **_SUPPORTED),
        target_port_group=group.id, status_code=STATUS_NONE, vendor_specific=0,
        target_port_count=len(group.ports),
        ports=[dict(relative_target_port=p) for p in group.ports],
    ))


def groups_of(dev: ScsiDevice) -> Sequence[PortGroup] | None:
    """The device's port groups; None when it has none (then it does not do ALUA)."""
    hook = getattr(dev, "port_groups", None)
    groups = hook() if callable(hook) else None
    return groups or None


def group_of_port(dev: ScsiDevice, nexus: Nexus) -> int | None:
    """The target port group of the port a command came through (None when unknown)."""
    for group in groups_of(dev) or ():
        if nexus.target_port in group.ports:
            return group.id
    return None


@SPC.register("REPORT TARGET PORT GROUPS", 0xA3, REPORT_TARGET_PORT_GROUPS, service_action=0x0A,
              access=Access.ALWAYS)
def report_target_port_groups(dev: ScsiDevice, req: Request) -> bytes:
    groups = groups_of(dev)
    if groups is None:
        # Without ALUA the command is not supported (TPGS = 00b in standard INQUIRY data).
        raise req.invalid("service_action")
    fmt = req.fields.parameter_data_format
    if fmt not in (LENGTH_ONLY, EXTENDED):
        raise req.invalid("parameter_data_format")
    body = b"".join(group_descriptor(g) for g in groups)
    if fmt == EXTENDED:
        return ExtendedHeader.build(dict(
            return_data_length=len(body) + 4, format=dict(format_type=EXTENDED_FORMAT_TYPE),
            implicit_transition_time=IMPLICIT_TRANSITION_TIME)) + body
    return len(body).to_bytes(4, "big") + body
