"""The SCSI commands the tape service sends, and the data it reads back, declared once.

The tape service is an initiator: it builds these CDBs and parses the replies
exactly as a host's st driver would (SPC-4, SSC-4).  Each CDB is a construct
``Struct`` built from keyword values; each data-in format is parsed by its own
declaration, so no offset arithmetic is spread over the service.  ndmp does not
import ``scsi/`` (the device side has its own declarations): a real drive behind
SG_IO must understand what is built here, which keeps both sides honest.
"""
from __future__ import annotations

import functools

from construct import (
    BitsInteger,
    BitStruct,
    Bytes,
    Const,
    Flag,
    GreedyBytes,
    GreedyRange,
    Int8ub,
    Int16ub,
    Int24sb,
    Int24ub,
    Int32ub,
    Int64ub,
    Padding,
    Prefixed,
    Struct,
)

__all__ = [
    "BLOCK_DESCRIPTOR", "DATA_COMPRESSION_PAGE", "LOAD_UNLOAD", "LOG_PAGE", "LOG_SENSE", "MODE_HEADER_6",
    "MODE_SELECT_6", "MODE_SENSE_6", "PR_OUT", "PR_OUT_PARAMETERS", "READ_6", "READ_BLOCK_LIMITS",
    "READ_BLOCK_LIMITS_DATA", "READ_POSITION", "READ_POSITION_LONG", "READ_POSITION_SHORT", "RELEASE_6",
    "RESERVE_6", "REWIND", "SPACE_6", "TEST_UNIT_READY", "WRITE_6", "WRITE_FILEMARKS_6", "build", "log_parameters",
]

_CONTROL = Const(0, Int8ub)

TEST_UNIT_READY = Struct("opcode" / Const(0x00, Int8ub), Padding(4), _CONTROL)
REWIND = Struct("opcode" / Const(0x01, Int8ub), "flags" / BitStruct(Padding(7), "immed" / Flag),
                Padding(3), _CONTROL)
READ_BLOCK_LIMITS = Struct("opcode" / Const(0x05, Int8ub), Padding(4), _CONTROL)
READ_6 = Struct("opcode" / Const(0x08, Int8ub), "flags" / BitStruct(Padding(6), "sili" / Flag, "fixed" / Flag),
                "transfer_length" / Int24ub, _CONTROL)
WRITE_6 = Struct("opcode" / Const(0x0A, Int8ub), "flags" / BitStruct(Padding(7), "fixed" / Flag),
                 "transfer_length" / Int24ub, _CONTROL)
WRITE_FILEMARKS_6 = Struct("opcode" / Const(0x10, Int8ub),
                           "flags" / BitStruct(Padding(6), "wsmk" / Flag, "immed" / Flag),
                           "count" / Int24ub, _CONTROL)
SPACE_6 = Struct("opcode" / Const(0x11, Int8ub), "code" / BitStruct(Padding(4), "value" / BitsInteger(4)),
                 "count" / Int24sb, _CONTROL)
MODE_SELECT_6 = Struct("opcode" / Const(0x15, Int8ub), "flags" / BitStruct(Padding(3), "pf" / Flag, Padding(3),
                                                                            "sp" / Flag),
                       Padding(2), "parameter_list_length" / Int8ub, _CONTROL)
RESERVE_6 = Struct("opcode" / Const(0x16, Int8ub), Padding(4), _CONTROL)
RELEASE_6 = Struct("opcode" / Const(0x17, Int8ub), Padding(4), _CONTROL)
MODE_SENSE_6 = Struct("opcode" / Const(0x1A, Int8ub), "flags" / BitStruct(Padding(4), "dbd" / Flag, Padding(3)),
                      "page" / BitStruct("pc" / BitsInteger(2), "code" / BitsInteger(6)),
                      "subpage" / Int8ub, "allocation_length" / Int8ub, _CONTROL)
LOAD_UNLOAD = Struct("opcode" / Const(0x1B, Int8ub), "flags" / BitStruct(Padding(7), "immed" / Flag), Padding(2),
                     "action" / BitStruct(Padding(4), "hold" / Flag, "eot" / Flag, "reten" / Flag, "load" / Flag),
                     _CONTROL)
READ_POSITION = Struct("opcode" / Const(0x34, Int8ub),
                       "service_action" / BitStruct(Padding(3), "value" / BitsInteger(5)),
                       Padding(5), "allocation_length" / Int16ub, _CONTROL)
LOG_SENSE = Struct("opcode" / Const(0x4D, Int8ub), "flags" / BitStruct(Padding(6), "ppc" / Flag, "sp" / Flag),
                   "page" / BitStruct("pc" / BitsInteger(2), "code" / BitsInteger(6)), "subpage" / Int8ub,
                   Padding(1), "parameter_pointer" / Int16ub, "allocation_length" / Int16ub, _CONTROL)
PR_OUT = Struct("opcode" / Const(0x5F, Int8ub), "service_action" / BitStruct(Padding(3), "value" / BitsInteger(5)),
                "scope_type" / BitStruct("scope" / BitsInteger(4), "type" / BitsInteger(4)), Padding(2),
                "parameter_list_length" / Int32ub, _CONTROL)

# SPACE codes (SSC-4 7.7) and PERSISTENT RESERVE OUT service actions / types (SPC-4 6.16).
SPACE_BLOCKS, SPACE_FILEMARKS = 0, 1
PR_REGISTER, PR_RESERVE, PR_RELEASE, PR_REGISTER_AND_IGNORE = 0x00, 0x01, 0x02, 0x06
PR_EXCLUSIVE_ACCESS = 3
READ_POSITION_SHORT_FORM, READ_POSITION_LONG_FORM = 0x00, 0x06
MODE_CURRENT, MODE_CHANGEABLE = 0, 1
DATA_COMPRESSION_PAGE_CODE = 0x0F
SUPPORTED_LOG_PAGES, TAPE_CAPACITY_LOG_PAGE = 0x00, 0x31
WRITE_ERROR_COUNTERS, READ_ERROR_COUNTERS = 0x02, 0x03
TOTAL_ERRORS_CORRECTED = 0x0003

PR_OUT_PARAMETERS = Struct(
    "reservation_key" / Int64ub,
    "service_action_reservation_key" / Int64ub,
    Padding(4),                                         # obsolete
    "flags" / BitStruct(Padding(4), "spec_i_pt" / Flag, "all_tg_pt" / Flag, Padding(1), "aptpl" / Flag),
    Padding(3),
)

READ_BLOCK_LIMITS_DATA = Struct("granularity" / BitStruct(Padding(3), "value" / BitsInteger(5)),
                                "maximum" / Int24ub, "minimum" / Int16ub)

READ_POSITION_SHORT = Struct(
    "flags" / BitStruct("bop" / Flag, "eop" / Flag, "locu" / Flag, "bycu" / Flag, Padding(1), "lolu" / Flag,
                        "perr" / Flag, "bpew" / Flag),
    "partition" / Int8ub,
    Padding(2),
    "first_location" / Int32ub,
    "last_location" / Int32ub,
    Padding(1),
    "objects_in_buffer" / Int24ub,
    "bytes_in_buffer" / Int32ub,
)

READ_POSITION_LONG = Struct(
    "flags" / BitStruct("bop" / Flag, "eop" / Flag, Padding(2), "mpu" / Flag, "lonu" / Flag, Padding(1),
                        "bpew" / Flag),
    Padding(3),
    "partition" / Int32ub,
    "logical_object_number" / Int64ub,
    "logical_file_identifier" / Int64ub,
    "logical_set_identifier" / Int64ub,
)

MODE_HEADER_6 = Struct(
    "mode_data_length" / Int8ub,
    "medium_type" / Int8ub,
    "device_specific" / BitStruct("wp" / Flag, "buffered_mode" / BitsInteger(3), "speed" / BitsInteger(4)),
    "block_descriptor_length" / Int8ub,
)
BLOCK_DESCRIPTOR = Struct("density_code" / Int8ub, "number_of_blocks" / Int24ub, Padding(1),
                          "block_length" / Int24ub)
DATA_COMPRESSION_PAGE = Struct(
    "head" / BitStruct("ps" / Flag, "spf" / Flag, "page_code" / BitsInteger(6)),
    "page_length" / Int8ub,
    "byte2" / BitStruct("dce" / Flag, "dcc" / Flag, Padding(6)),
    "byte3" / BitStruct("dde" / Flag, "red" / BitsInteger(2), Padding(5)),
    "compression_algorithm" / Int32ub,
    "decompression_algorithm" / Int32ub,
    "reserved" / Bytes(4),
)

LOG_PARAMETER = Struct("code" / Int16ub, "control" / Int8ub, "value" / Prefixed(Int8ub, GreedyBytes))
LOG_PAGE = Struct(
    "head" / BitStruct("ds" / Flag, "spf" / Flag, "page_code" / BitsInteger(6)),
    "subpage" / Int8ub,
    "parameters" / Prefixed(Int16ub, GreedyRange(LOG_PARAMETER)),
)


def build(cdb: Struct, **fields) -> bytes:
    """One CDB; nested bit fields are given as dicts (``flags=dict(immed=False)``)."""
    return cdb.build(fields)


# The data path sends one of these per record, nearly always of one length, and a
# construct build takes about 15 us: a fifth of the time a 256 KiB record spends in
# the drive.  Each length is built from the declaration once.

@functools.lru_cache(maxsize=64)
def write6_variable(length: int) -> bytes:
    """WRITE(6) of one variable-length record."""
    return build(WRITE_6, flags=dict(fixed=False), transfer_length=length)


@functools.lru_cache(maxsize=64)
def read6_variable(length: int) -> bytes:
    """READ(6) of one variable-length record, SILI=0 (a short record is reported)."""
    return build(READ_6, flags=dict(sili=False, fixed=False), transfer_length=length)


def log_parameters(data: bytes | memoryview) -> dict[int, bytes]:
    """A LOG SENSE page as {parameter code: value bytes}; a page cut short by the
    allocation length keeps the parameters that arrived whole."""
    raw = bytes(data)
    if len(raw) < 4:
        return {}
    length = min(int.from_bytes(raw[2:4], "big"), len(raw) - 4)
    page = LOG_PAGE.parse(raw[:2] + length.to_bytes(2, "big") + raw[4:4 + length])
    return {p.code: bytes(p.value) for p in page.parameters}
