"""SCSI sense data as an initiator reads it: what the tape and robot services need to
know about a CHECK CONDITION.

The services are SCSI initiators (DESIGN principle 2), so they decide what a
command did from its sense: the key, ASC/ASCQ, the FILEMARK / EOM / ILI bits
and the INFORMATION field, which for a tape drive is a *signed* residue (a READ
of a record longer than the transfer length reports a negative one).  Both
formats a device may return are declared here once: fixed (70h current, 71h
deferred) and descriptor (72h/73h, with the information and stream-commands
descriptors).  ndmp never imports ``scsi/``: a real drive behind SG_IO sends the
same bytes our emulated one does, and this module is the only place that reads
them.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from construct import (
    BitsInteger,
    BitStruct,
    Bytes,
    ConstructError,
    Flag,
    GreedyBytes,
    GreedyRange,
    Int8ub,
    Int32sb,
    Int64ub,
    Padding,
    Prefixed,
    Struct,
    Switch,
    this,
)

__all__ = ["Asc", "Sense", "SenseKey", "parse_sense"]


class SenseKey(enum.IntEnum):
    NO_SENSE = 0x0
    RECOVERED_ERROR = 0x1
    NOT_READY = 0x2
    MEDIUM_ERROR = 0x3
    HARDWARE_ERROR = 0x4
    ILLEGAL_REQUEST = 0x5
    UNIT_ATTENTION = 0x6
    DATA_PROTECT = 0x7
    BLANK_CHECK = 0x8
    VENDOR_SPECIFIC = 0x9
    COPY_ABORTED = 0xA
    ABORTED_COMMAND = 0xB
    VOLUME_OVERFLOW = 0xD
    MISCOMPARE = 0xE


class Asc:
    """The (ASC, ASCQ) pairs the services act on, by their SPC/SSC names."""

    NO_ADDITIONAL_SENSE = (0x00, 0x00)
    FILEMARK_DETECTED = (0x00, 0x01)
    END_OF_PARTITION_MEDIUM_DETECTED = (0x00, 0x02)
    BEGINNING_OF_PARTITION_MEDIUM_DETECTED = (0x00, 0x04)
    END_OF_DATA_DETECTED = (0x00, 0x05)
    BECOMING_READY = (0x04, 0x01)
    INITIALIZING_COMMAND_REQUIRED = (0x04, 0x02)
    WRITE_PROTECTED = (0x27, 0x00)
    NOT_READY_TO_READY_CHANGE = (0x28, 0x00)
    RESERVATIONS_PREEMPTED = (0x2A, 0x03)
    RESERVATIONS_RELEASED = (0x2A, 0x04)
    REGISTRATIONS_PREEMPTED = (0x2A, 0x05)
    MEDIUM_NOT_PRESENT = 0x3A          # any ASCQ
    POWER_ON_RESET = 0x29              # any ASCQ: power on, reset, I_T nexus loss


# SPC-4 4.5.3: fixed format.  INFORMATION is four bytes; SSC uses it as a signed residue.
FIXED_SENSE = Struct(
    "head" / BitStruct("valid" / Flag, "response_code" / BitsInteger(7)),
    Padding(1),                                   # obsolete
    "flags" / BitStruct("filemark" / Flag, "eom" / Flag, "ili" / Flag, "sdat_ovfl" / Flag,
                        "sense_key" / BitsInteger(4)),
    "information" / Int32sb,
    "additional_length" / Int8ub,
    "command_specific" / Bytes(4),
    "asc" / Int8ub,
    "ascq" / Int8ub,
    "fru" / Int8ub,
    "sense_key_specific" / Bytes(3),
)
FIXED_SIZE = FIXED_SENSE.sizeof()

# SPC-4 4.5.2: descriptor format, with the two descriptors a tape drive's residue and
# stream bits travel in (information 00h, stream commands 04h); others are skipped.
INFORMATION_DESCRIPTOR, STREAM_COMMANDS_DESCRIPTOR = 0x00, 0x04
SENSE_DESCRIPTOR = Struct(
    "type" / Int8ub,
    "body" / Prefixed(Int8ub, Switch(this.type, {
        INFORMATION_DESCRIPTOR: Struct("head" / BitStruct("valid" / Flag, Padding(7)), Padding(1),
                                       "information" / Int64ub),
        STREAM_COMMANDS_DESCRIPTOR: Struct(Padding(1), "flags" / BitStruct(
            "filemark" / Flag, "eom" / Flag, "ili" / Flag, Padding(5))),
    }, default=GreedyBytes)),
)
DESCRIPTOR_SENSE = Struct(
    "head" / BitStruct(Padding(1), "response_code" / BitsInteger(7)),
    "sense_key" / BitStruct(Padding(4), "value" / BitsInteger(4)),
    "asc" / Int8ub,
    "ascq" / Int8ub,
    Padding(3),
    "descriptors" / Prefixed(Int8ub, GreedyRange(SENSE_DESCRIPTOR)),
)

CURRENT_FIXED, DEFERRED_FIXED, CURRENT_DESCRIPTOR, DEFERRED_DESCRIPTOR = 0x70, 0x71, 0x72, 0x73


@dataclass(frozen=True, slots=True)
class Sense:
    """One decoded sense block.  ``information`` is ``None`` when the device did not mark
    it valid; otherwise signed (a residue: requested minus done)."""

    key: int
    asc: int = 0
    ascq: int = 0
    filemark: bool = False
    eom: bool = False
    ili: bool = False
    information: int | None = None
    deferred: bool = False

    @property
    def code(self) -> tuple[int, int]:
        return (self.asc, self.ascq)

    def is_(self, key: SenseKey, code: tuple[int, int] | int | None = None) -> bool:
        """Key and (when given) ASC/ASCQ match; an int ``code`` matches the ASC alone."""
        if self.key != key:
            return False
        if code is None:
            return True
        if isinstance(code, int):
            return self.asc == code
        return self.code == code

    def __str__(self) -> str:
        try:
            name = SenseKey(self.key).name
        except ValueError:
            name = f"key 0x{self.key:X}"
        bits = "".join(f" {n}" for n, v in (("FILEMARK", self.filemark), ("EOM", self.eom), ("ILI", self.ili))
                       if v)
        info = f" information={self.information}" if self.information is not None else ""
        return f"{name} {self.asc:02X}/{self.ascq:02X}{bits}{info}"


def _signed64(v: int) -> int:
    return v - (1 << 64) if v >> 63 else v


def parse_sense(data: bytes | bytearray | memoryview) -> Sense | None:
    """The sense a device returned, or ``None`` when there is none (or it is not sense
    data at all: a response code other than 70h-73h).  A fixed block cut short by the
    device is read as far as it goes; missing fields are zero."""
    raw = bytes(data)
    if not raw:
        return None
    code = raw[0] & 0x7F
    try:
        if code in (CURRENT_FIXED, DEFERRED_FIXED):
            f = FIXED_SENSE.parse(raw[:FIXED_SIZE].ljust(FIXED_SIZE, b"\0"))
            # ASC/ASCQ exist only if the additional length reaches them.
            has_asc = len(raw) >= 14 and f.additional_length >= 6
            return Sense(f.flags.sense_key, f.asc if has_asc else 0, f.ascq if has_asc else 0,
                         f.flags.filemark, f.flags.eom, f.flags.ili,
                         f.information if f.head.valid else None, code == DEFERRED_FIXED)
        if code in (CURRENT_DESCRIPTOR, DEFERRED_DESCRIPTOR):
            raw = raw.ljust(8, b"\0")
            n = min(raw[7], len(raw) - 8)          # a list cut short: the descriptors that fit
            d = DESCRIPTOR_SENSE.parse(raw[:7] + bytes([n]) + raw[8:8 + n])
            fields: dict = {}
            for desc in d.descriptors:
                if desc.type == INFORMATION_DESCRIPTOR and desc.body.head.valid:
                    fields["information"] = _signed64(desc.body.information)
                elif desc.type == STREAM_COMMANDS_DESCRIPTOR:
                    fl = desc.body.flags
                    fields.update(filemark=fl.filemark, eom=fl.eom, ili=fl.ili)
            return Sense(d.sense_key.value, d.asc, d.ascq, deferred=code == DEFERRED_DESCRIPTOR, **fields)
    except ConstructError:
        return None
    return None
