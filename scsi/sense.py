"""Sense data: the vocabulary (keys, ASC/ASCQ), both wire formats, and the
exception that carries a CHECK CONDITION out of a command handler.

Handlers never build sense bytes themselves; they raise :class:`CheckCondition`
with a :class:`Sense`, and the device encodes it in the format the initiator
asked for (D_SENSE in the control mode page).  That keeps the bit layouts in
one place and lets tests compare meaning rather than bytes.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from enum import IntEnum

from construct import (
    BitStruct, BitsInteger, Bytes, Flag, GreedyBytes, GreedyRange, Int8ub, Int32ub,
    Int64ub, Padding, Prefixed, Struct, Switch, this,
)


class SenseKey(IntEnum):
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
    """(ASC, ASCQ) pairs by their SPC/SSC names, so code reads like the standard."""

    NO_ADDITIONAL_SENSE = (0x00, 0x00)
    FILEMARK_DETECTED = (0x00, 0x01)
    END_OF_PARTITION_MEDIUM_DETECTED = (0x00, 0x02)
    SETMARK_DETECTED = (0x00, 0x03)
    BEGINNING_OF_PARTITION_MEDIUM_DETECTED = (0x00, 0x04)
    END_OF_DATA_DETECTED = (0x00, 0x05)
    OPERATION_IN_PROGRESS = (0x00, 0x16)
    NOT_READY_CAUSE_NOT_REPORTABLE = (0x04, 0x00)
    BECOMING_READY = (0x04, 0x01)
    INITIALIZING_COMMAND_REQUIRED = (0x04, 0x02)
    FORMAT_IN_PROGRESS = (0x04, 0x04)
    OFFLINE = (0x04, 0x12)
    WRITE_ERROR = (0x0C, 0x00)
    UNRECOVERED_READ_ERROR = (0x11, 0x00)
    READ_ERROR_FAILED_RETRANSMISSION = (0x11, 0x0D)
    RECORD_NOT_FOUND = (0x14, 0x01)
    END_OF_DATA_NOT_FOUND = (0x14, 0x03)
    LOCATE_OPERATION_FAILURE = (0x14, 0x07)
    SEQUENTIAL_POSITIONING_ERROR = (0x3B, 0x00)
    PARAMETER_LIST_LENGTH_ERROR = (0x1A, 0x00)
    INVALID_COMMAND_OPERATION_CODE = (0x20, 0x00)
    LOGICAL_BLOCK_ADDRESS_OUT_OF_RANGE = (0x21, 0x01)
    INVALID_FIELD_IN_CDB = (0x24, 0x00)
    LOGICAL_UNIT_NOT_SUPPORTED = (0x25, 0x00)
    INVALID_FIELD_IN_PARAMETER_LIST = (0x26, 0x00)
    PARAMETER_NOT_SUPPORTED = (0x26, 0x01)
    PARAMETER_VALUE_INVALID = (0x26, 0x02)
    INVALID_RELEASE_OF_PERSISTENT_RESERVATION = (0x26, 0x04)
    WRITE_PROTECTED = (0x27, 0x00)
    NOT_READY_TO_READY_CHANGE = (0x28, 0x00)
    IMPORT_OR_EXPORT_ELEMENT_ACCESSED = (0x28, 0x01)
    POWER_ON_RESET_OR_BUS_DEVICE_RESET = (0x29, 0x00)
    POWER_ON_OCCURRED = (0x29, 0x01)
    I_T_NEXUS_LOSS_OCCURRED = (0x29, 0x07)
    PARAMETERS_CHANGED = (0x2A, 0x00)
    MODE_PARAMETERS_CHANGED = (0x2A, 0x01)
    LOG_PARAMETERS_CHANGED = (0x2A, 0x02)
    RESERVATIONS_PREEMPTED = (0x2A, 0x03)
    RESERVATIONS_RELEASED = (0x2A, 0x04)
    REGISTRATIONS_PREEMPTED = (0x2A, 0x05)
    CAPACITY_DATA_HAS_CHANGED = (0x2A, 0x09)
    DATA_ENCRYPTION_PARAMETERS_CHANGED_BY_ANOTHER_I_T_NEXUS = (0x2A, 0x11)
    UNABLE_TO_DECRYPT_DATA = (0x74, 0x01)
    UNENCRYPTED_DATA_ENCOUNTERED_WHILE_DECRYPTING = (0x74, 0x02)
    INCORRECT_DATA_ENCRYPTION_KEY = (0x74, 0x03)
    ENCRYPTED_BLOCK_NOT_RAW_READ_ENABLED = (0x74, 0x0A)
    COMMAND_SEQUENCE_ERROR = (0x2C, 0x00)
    OVERWRITE_ERROR_ON_UPDATE_IN_PLACE = (0x2D, 0x00)
    COMMANDS_CLEARED_BY_ANOTHER_INITIATOR = (0x2F, 0x00)
    INCOMPATIBLE_MEDIUM_INSTALLED = (0x30, 0x00)
    CANNOT_READ_MEDIUM_UNKNOWN_FORMAT = (0x30, 0x01)
    CANNOT_READ_MEDIUM_INCOMPATIBLE_FORMAT = (0x30, 0x02)
    CLEANING_CARTRIDGE_INSTALLED = (0x30, 0x03)
    CANNOT_WRITE_MEDIUM_INCOMPATIBLE_FORMAT = (0x30, 0x05)
    CANNOT_FORMAT_MEDIUM_INCOMPATIBLE_MEDIUM = (0x30, 0x06)
    CLEANING_FAILURE = (0x30, 0x07)
    MEDIUM_FORMAT_CORRUPTED = (0x31, 0x00)
    SAVING_PARAMETERS_NOT_SUPPORTED = (0x39, 0x00)
    MEDIUM_NOT_PRESENT = (0x3A, 0x00)
    MEDIUM_REMOVAL_PREVENTED = (0x53, 0x02)
    INTERNAL_TARGET_FAILURE = (0x44, 0x00)
    INVALID_MESSAGE_ERROR = (0x49, 0x00)
    INSUFFICIENT_REGISTRATION_RESOURCES = (0x55, 0x04)
    AUXILIARY_MEMORY_OUT_OF_SPACE = (0x55, 0x06)
    MISCOMPARE_DURING_VERIFY = (0x1D, 0x00)
    MEDIUM_LOAD_OR_EJECT_FAILED = (0x53, 0x00)
    UNLOAD_TAPE_FAILURE = (0x53, 0x01)
    WORM_MEDIUM_OVERWRITE_ATTEMPTED = (0x30, 0x0C)
    WORM_MEDIUM_INTEGRITY_CHECK = (0x30, 0x0D)
    LOGICAL_UNIT_COMMUNICATION_FAILURE = (0x08, 0x00)
    MICROCODE_CHANGED = (0x3F, 0x01)
    INQUIRY_DATA_CHANGED = (0x3F, 0x03)
    REPORTED_LUNS_DATA_CHANGED = (0x3F, 0x0E)
    MEDIUM_DESTINATION_ELEMENT_FULL = (0x3B, 0x0D)
    MEDIUM_SOURCE_ELEMENT_EMPTY = (0x3B, 0x0E)
    MEDIUM_MAGAZINE_NOT_ACCESSIBLE = (0x3B, 0x11)
    INVALID_ELEMENT_ADDRESS = (0x21, 0x01)
    INSUFFICIENT_TIME_FOR_OPERATION = (0x2E, 0x00)
    TOO_MANY_TARGET_DESCRIPTORS = (0x26, 0x06)


@dataclass(frozen=True, slots=True)
class FieldPointer:
    """Sense-key-specific field pointer: where in the CDB or parameter list the error is."""

    byte: int
    bit: int | None = None
    in_cdb: bool = True


@dataclass(frozen=True, slots=True)
class Progress:
    """Sense-key-specific progress indication (0..65535 of 65536)."""

    fraction: int


@dataclass(frozen=True, slots=True)
class Sense:
    key: SenseKey
    asc: int = 0
    ascq: int = 0
    filemark: bool = False
    eom: bool = False
    ili: bool = False
    information: int | None = None
    command_specific: int = 0
    specific: FieldPointer | Progress | None = None
    deferred: bool = False

    @classmethod
    def of(cls, key: SenseKey, code: tuple[int, int], **kw) -> "Sense":
        return cls(key, code[0], code[1], **kw)

    @property
    def code(self) -> tuple[int, int]:
        return (self.asc, self.ascq)

    def with_(self, **kw) -> "Sense":
        return replace(self, **kw)

    def encode(self, descriptor: bool = False) -> bytes:
        return encode_descriptor(self) if descriptor else encode_fixed(self)

    def __str__(self) -> str:
        flags = "".join(n for n, v in (("FM ", self.filemark), ("EOM ", self.eom), ("ILI ", self.ili)) if v)
        info = f" info={self.information}" if self.information is not None else ""
        return f"{self.key.name} {self.asc:02X}/{self.ascq:02X} {flags}{info}".rstrip()


class CheckCondition(Exception):
    """Raised by a command handler to end the command with CHECK CONDITION.

    ``data`` is data-in that was transferred before the condition (a short READ
    returns the block *and* ILI sense).
    """

    def __init__(self, sense: Sense, data: memoryview | bytes | None = None):
        super().__init__(str(sense))
        self.sense = sense
        self.data = data


class ReservationConflict(Exception):
    """Ends the command with RESERVATION CONFLICT status and no sense."""


def check(key: SenseKey, code: tuple[int, int], **kw) -> CheckCondition:
    return CheckCondition(Sense.of(key, code, **kw))


def invalid_field_in_cdb(byte: int, bit: int | None = None) -> CheckCondition:
    return check(SenseKey.ILLEGAL_REQUEST, Asc.INVALID_FIELD_IN_CDB, specific=FieldPointer(byte, bit))


def invalid_field_in_parameter_list(byte: int, bit: int | None = None,
                                    code: tuple[int, int] = Asc.INVALID_FIELD_IN_PARAMETER_LIST) -> CheckCondition:
    return check(SenseKey.ILLEGAL_REQUEST, code, specific=FieldPointer(byte, bit, in_cdb=False))


def parameter_list_length_error() -> CheckCondition:
    return check(SenseKey.ILLEGAL_REQUEST, Asc.PARAMETER_LIST_LENGTH_ERROR)


def not_ready(code: tuple[int, int] = Asc.MEDIUM_NOT_PRESENT) -> CheckCondition:
    return check(SenseKey.NOT_READY, code)


# ---------------------------------------------------------------------------
# Wire formats (SPC-4 4.5.2 descriptor format, 4.5.3 fixed format)

SenseKeySpecific = BitStruct(
    "sksv" / Flag,
    "cd" / Flag,
    Padding(2),
    "bpv" / Flag,
    "bit_pointer" / BitsInteger(3),
    "field_pointer" / BitsInteger(16),
)

FixedSense = Struct(
    "valid_response" / BitStruct("valid" / Flag, "response_code" / BitsInteger(7)),
    "obsolete" / Int8ub,
    "flags" / BitStruct("filemark" / Flag, "eom" / Flag, "ili" / Flag, "sdat_ovfl" / Flag,
                        "sense_key" / BitsInteger(4)),
    "information" / Int32ub,
    "additional_length" / Int8ub,
    "command_specific" / Int32ub,
    "asc" / Int8ub,
    "ascq" / Int8ub,
    "fru" / Int8ub,
    "sks" / Bytes(3),
)

DescriptorHeader = Struct(
    "response_code" / Int8ub,
    "sense_key" / Int8ub,
    "asc" / Int8ub,
    "ascq" / Int8ub,
    "flags" / Int8ub,
    Padding(2),
)

SenseDescriptor = Struct(
    "type" / Int8ub,
    "body" / Prefixed(Int8ub, Switch(this.type, {
        0x00: Struct("valid" / Int8ub, Padding(1), "information" / Int64ub),
        0x01: Struct(Padding(2), "command_specific" / Int64ub),
        0x02: Struct("sks" / Bytes(3), Padding(1)),
        0x04: Struct(Padding(1), "flags" / Int8ub),
    }, default=GreedyBytes)),
)

DescriptorSense = Struct(
    "header" / DescriptorHeader,
    "descriptors" / Prefixed(Int8ub, GreedyRange(SenseDescriptor)),
)


def _sks_bytes(specific: FieldPointer | Progress | None) -> bytes:
    if specific is None:
        return b"\0\0\0"
    if isinstance(specific, Progress):
        return bytes([0x80]) + specific.fraction.to_bytes(2, "big")
    return SenseKeySpecific.build(dict(
        sksv=True, cd=specific.in_cdb, bpv=specific.bit is not None,
        bit_pointer=specific.bit or 0, field_pointer=specific.byte))


def encode_fixed(s: Sense) -> bytes:
    info = s.information
    return FixedSense.build(dict(
        valid_response=dict(valid=info is not None, response_code=0x71 if s.deferred else 0x70),
        obsolete=0,
        flags=dict(filemark=s.filemark, eom=s.eom, ili=s.ili, sdat_ovfl=False, sense_key=int(s.key)),
        # INFORMATION is a 4-byte signed field for SSC residues.
        information=(info or 0) & 0xFFFFFFFF,
        additional_length=10,
        command_specific=s.command_specific & 0xFFFFFFFF,
        asc=s.asc, ascq=s.ascq, fru=0,
        sks=_sks_bytes(s.specific),
    ))


def encode_descriptor(s: Sense) -> bytes:
    descriptors = []
    if s.information is not None:
        descriptors.append(dict(type=0x00, body=dict(valid=0x80, information=s.information & (2**64 - 1))))
    if s.command_specific:
        descriptors.append(dict(type=0x01, body=dict(command_specific=s.command_specific)))
    if s.specific is not None:
        descriptors.append(dict(type=0x02, body=dict(sks=_sks_bytes(s.specific))))
    if s.filemark or s.eom or s.ili:
        descriptors.append(dict(type=0x04, body=dict(
            flags=(0x80 if s.filemark else 0) | (0x40 if s.eom else 0) | (0x20 if s.ili else 0))))
    return DescriptorSense.build(dict(
        header=dict(response_code=0x73 if s.deferred else 0x72, sense_key=int(s.key),
                    asc=s.asc, ascq=s.ascq, flags=0),
        descriptors=descriptors,
    ))


def _signed32(v: int) -> int:
    return v - (1 << 32) if v & 0x80000000 else v


def decode(data: bytes) -> Sense:
    """Parse fixed or descriptor sense (used by initiators: NDMP tape service, tests)."""
    code = data[0] & 0x7F
    if code in (0x70, 0x71):
        f = FixedSense.parse(bytes(data[:18]).ljust(18, b"\0"))
        sks = SenseKeySpecific.parse(f.sks)
        specific = None
        if sks.sksv:
            specific = FieldPointer(sks.field_pointer, sks.bit_pointer if sks.bpv else None, sks.cd)
        return Sense(SenseKey(f.flags.sense_key), f.asc, f.ascq, f.flags.filemark, f.flags.eom,
                     f.flags.ili, _signed32(f.information) if f.valid_response.valid else None,
                     f.command_specific, specific, code == 0x71)
    if code in (0x72, 0x73):
        d = DescriptorSense.parse(bytes(data))
        kw: dict = {}
        for desc in d.descriptors:
            if desc.type == 0x00:
                v = desc.body.information
                kw["information"] = v - (1 << 64) if v >> 63 else v
            elif desc.type == 0x01:
                kw["command_specific"] = desc.body.command_specific
            elif desc.type == 0x02:
                sks = SenseKeySpecific.parse(desc.body.sks)
                kw["specific"] = FieldPointer(sks.field_pointer, sks.bit_pointer if sks.bpv else None, sks.cd)
            elif desc.type == 0x04:
                fl = desc.body.flags
                kw.update(filemark=bool(fl & 0x80), eom=bool(fl & 0x40), ili=bool(fl & 0x20))
        h = d.header
        return Sense(SenseKey(h.sense_key & 0xF), h.asc, h.ascq, deferred=code == 0x73, **kw)
    raise ValueError(f"not sense data: response code 0x{code:02X}")
