"""REPORT SUPPORTED OPERATION CODES (SPC-4; MAINTENANCE IN, service action 0Ch).

Everything reported is derived from the dispatch table and the CDB layouts
that are actually registered, so the answer cannot drift from what the device
accepts: the CDB USAGE DATA of a command marks exactly the bits of its named
fields, and the timeouts come from each command's registered timeout.
"""
from __future__ import annotations

from construct import BitStruct, BitsInteger, Const, Flag, Int8ub, Int16ub, Int32ub, Padding, Struct

from ..device import Access, Command, Request, ScsiDevice
from ..layout import Layout, bits, control, reserved
from .commands import SPC

REPORT_SUPPORTED_OPERATION_CODES = Layout(
    "REPORT SUPPORTED OPERATION CODES", bits("opcode", 8), reserved(3), bits("service_action", 5),
    bits("rctd", 1), reserved(4), bits("reporting_options", 3), bits("requested_operation_code", 8),
    bits("requested_service_action", 16), bits("allocation_length", 32), reserved(8), *control())

# REPORTING OPTIONS (SPC-4 table 'REPORTING OPTIONS field').
ALL_COMMANDS = 0b000
ONE_OPCODE = 0b001            # operation code without service action
ONE_SERVICE_ACTION = 0b010    # operation code and service action
ONE_COMMAND = 0b011           # service action used only if the opcode has them

# SUPPORT field of the one_command parameter data.
NOT_SUPPORTED = 0b001
SUPPORTED = 0b011

TimeoutsDescriptor = Struct(
    "descriptor_length" / Const(0x0A, Int16ub),
    Padding(1),
    "command_specific" / Int8ub,
    "nominal_command_processing_timeout" / Int32ub,
    "recommended_command_timeout" / Int32ub,
)

CommandDescriptor = Struct(
    "operation_code" / Int8ub,
    Padding(1),
    "service_action" / Int16ub,
    Padding(1),
    "flags" / BitStruct(Padding(6), "ctdp" / Flag, "servactv" / Flag),
    "cdb_length" / Int16ub,
)

OneCommandHeader = Struct(
    Padding(1),
    "flags" / BitStruct("ctdp" / Flag, Padding(4), "support" / BitsInteger(3)),
    "cdb_size" / Int16ub,
)

# The SERVICE ACTION of every service-action opcode we register sits in CDB
# byte 1, bits 4-0 (MAINTENANCE IN/OUT, PERSISTENT RESERVE IN/OUT, ...):
# ScsiDevice.lookup decodes it from there too.
SERVICE_ACTION_MASK = 0x1F


def cdb_usage_data(cmd: Command) -> bytes:
    """Opcode, then a 1 for every bit of a named field; the service action shows its value."""
    usage = bytearray(cmd.layout.size)
    for byte, msb, width in cmd.layout.field_bits().values():
        start = byte * 8 + (7 - msb)
        for pos in range(start, start + width):
            usage[pos // 8] |= 0x80 >> (pos % 8)
    usage[0] = cmd.opcode
    if cmd.service_action is not None:
        usage[1] = (usage[1] & ~SERVICE_ACTION_MASK & 0xFF) | cmd.service_action
    return bytes(usage)


def timeouts(cmd: Command) -> bytes:
    """No nominal processing time is claimed (0); the recommended timeout is the registered one."""
    return TimeoutsDescriptor.build(dict(command_specific=0, nominal_command_processing_timeout=0,
                                         recommended_command_timeout=cmd.timeout))


def all_commands(dev: ScsiDevice, rctd: bool) -> bytes:
    out = bytearray()
    for cmd in dev.supported_commands():
        out += CommandDescriptor.build(dict(
            operation_code=cmd.opcode, service_action=cmd.service_action or 0,
            flags=dict(ctdp=rctd, servactv=cmd.service_action is not None),
            cdb_length=cmd.layout.size))
        if rctd:
            out += timeouts(cmd)
    return len(out).to_bytes(4, "big") + bytes(out)


def one_command(cmd: Command | None, rctd: bool) -> bytes:
    if cmd is None:
        return OneCommandHeader.build(dict(flags=dict(ctdp=False, support=NOT_SUPPORTED), cdb_size=0))
    usage = cdb_usage_data(cmd)
    head = OneCommandHeader.build(dict(flags=dict(ctdp=rctd, support=SUPPORTED), cdb_size=len(usage)))
    return head + usage + (timeouts(cmd) if rctd else b"")


@SPC.register("REPORT SUPPORTED OPERATION CODES", 0xA3, REPORT_SUPPORTED_OPERATION_CODES,
              service_action=0x0C, access=Access.ALWAYS)
def report_supported_operation_codes(dev: ScsiDevice, req: Request) -> bytes:
    f = req.fields
    commands = dev.supported_commands()
    if f.reporting_options == ALL_COMMANDS:
        return all_commands(dev, f.rctd)
    opcode = f.requested_operation_code
    with_sa = {c.opcode for c in commands if c.service_action is not None}
    if f.reporting_options == ONE_OPCODE:
        if opcode in with_sa:
            raise req.invalid("requested_operation_code")
        sa = None
    elif f.reporting_options == ONE_SERVICE_ACTION:
        if opcode not in with_sa and any(c.opcode == opcode for c in commands):
            raise req.invalid("requested_operation_code")
        sa = f.requested_service_action
    elif f.reporting_options == ONE_COMMAND:
        sa = f.requested_service_action if opcode in with_sa else None
    else:
        raise req.invalid("reporting_options")
    match = next((c for c in commands if c.opcode == opcode and c.service_action == sa), None)
    return one_command(match, f.rctd)
