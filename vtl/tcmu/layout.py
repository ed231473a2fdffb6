"""The TCMU ring ABI, declared once.

The kernel's ``include/uapi/linux/target_core_user.h`` is the authority; this
module restates it with ``construct`` so that every offset the transport uses
is derived from one declaration, and it adds precompiled :class:`struct.Struct`
twins for the hot path (one ``unpack_from``/``pack_into`` per field group,
about a microsecond per command instead of tens through construct).  A test
builds and parses the same bytes with both to prove the twins say the same
thing, and another checks the offsets against the C header with a compiler.

Two facts the header does not make obvious, both measured on a real kernel:

* Only the *outer* ``struct tcmu_cmd_entry`` is packed.  The anonymous request
  struct inside the union keeps its natural alignment, so there are 4 bytes of
  padding before ``cdb_off`` (entry+24) and ``iov[]`` starts at entry+48.
* ``iov_base`` is not a pointer: it is an offset from the start of the mmap
  (the mailbox), as is ``cdb_off``.  ``cmd_head`` and ``cmd_tail`` are offsets
  from the start of the command ring.
"""
from __future__ import annotations

import struct

from construct import Array, Bytes, Construct, Int8un, Int16un, Int32un, Int64un, Padding, Struct, this

# -- constants of the header -------------------------------------------------

MAILBOX_VERSION = 2
ALIGN_SIZE = 64
"""``cmd_tail`` sits on its own cacheline: the kernel writes the head, we write the tail."""

FLAG_CAP_OOOC = 1 << 0
FLAG_CAP_READ_LEN = 1 << 1
FLAG_CAP_TMR = 1 << 2
FLAG_CAP_KEEP_BUF = 1 << 3

OP_PAD = 0
OP_CMD = 1
OP_TMR = 2
OP_MASK = 0x7
"""The low three bits of ``len_op`` are the opcode; lengths are multiples of 8."""

UFLAG_UNKNOWN_OP = 0x1
UFLAG_READ_LEN = 0x2
UFLAG_KEEP_BUF = 0x4

SENSE_BUFFERSIZE = 96
OP_ALIGN_SIZE = 8

# What the kernel sets up by default (drivers/target/target_core_user.c);
# the ring itself always reads the real values from the mailbox.
CMDR_OFF = 128
"""``sizeof(struct tcmu_mailbox)``: the ring starts right after the mailbox."""
MB_CMDR_SIZE = 8 * 1024 * 1024
CMDR_SIZE = MB_CMDR_SIZE - CMDR_OFF
"""8388480: mailbox plus ring fill the first 8 MiB; the data area starts there."""
DATA_BLOCK_SIZE = 4096
"""The data area is handed out in blocks of this size (data_pages_per_blk = 1)."""
DATA_AREA_SIZE = 1024 * 1024 * 1024
"""max_data_area_mb = 1024: map0 is 1 GiB + 8 MiB."""

# -- declarations --------------------------------------------------------------

MAILBOX = Struct(
    "version" / Int16un,
    "flags" / Int16un,
    "cmdr_off" / Int32un,
    "cmdr_size" / Int32un,
    "cmd_head" / Int32un,
    Padding(ALIGN_SIZE - 16),
    "cmd_tail" / Int32un,            # __aligned__(64): its own cacheline
    Padding(2 * ALIGN_SIZE - ALIGN_SIZE - 4),
)

ENTRY_HDR = Struct(
    "len_op" / Int32un,
    "cmd_id" / Int16un,
    "kflags" / Int8un,
    "uflags" / Int8un,
)

REQ = Struct(
    "iov_cnt" / Int32un,
    "iov_bidi_cnt" / Int32un,
    "iov_dif_cnt" / Int32un,
    Padding(4),                      # the inner struct is not packed: cdb_off is 8-aligned
    "cdb_off" / Int64un,
    "pad1" / Int64un,
    "pad2" / Int64un,
)

RSP = Struct(
    "scsi_status" / Int8un,
    Padding(1),
    Padding(2),
    "read_len" / Int32un,
    "sense_buffer" / Bytes(SENSE_BUFFERSIZE),
)

IOVEC = Struct(
    "iov_base" / Int64un,            # offset from the start of the mmap
    "iov_len" / Int64un,
)

CMD_REQUEST = Struct(
    "hdr" / ENTRY_HDR,
    "req" / REQ,
    "iov" / Array(this.req.iov_cnt + this.req.iov_bidi_cnt + this.req.iov_dif_cnt, IOVEC),
)
"""A command entry as the kernel writes it (the CDB follows, at ``cdb_off``)."""

CMD_RESPONSE = Struct(
    "hdr" / ENTRY_HDR,
    "rsp" / RSP,
)
"""The same entry as userspace completes it (the response overlays the request)."""

TMR_ENTRY = Struct(
    "hdr" / ENTRY_HDR,
    "tmr_type" / Int8un,
    Padding(1),
    Padding(2),
    "cmd_cnt" / Int32un,
    Padding(8),
    Padding(8),
    "cmd_ids" / Array(this.cmd_cnt, Int16un),
)


def offset_of(declaration: Struct, name: str) -> int:
    """Byte offset of field ``name`` in a fixed-size ``Struct`` (sum of what precedes it)."""
    off = 0
    for sub in declaration.subcons:
        if sub.name == name:
            return off
        off += sub.sizeof()
    raise KeyError(name)


def _fixed(c: Construct) -> int:
    return c.sizeof()


MAILBOX_SIZE = _fixed(MAILBOX)
CMD_HEAD_OFFSET = offset_of(MAILBOX, "cmd_head")
CMD_TAIL_OFFSET = offset_of(MAILBOX, "cmd_tail")
HDR_SIZE = _fixed(ENTRY_HDR)
UFLAGS_OFFSET = offset_of(ENTRY_HDR, "uflags")
REQ_OFFSET = RSP_OFFSET = HDR_SIZE
CDB_OFF_OFFSET = REQ_OFFSET + offset_of(REQ, "cdb_off")
IOV_OFFSET = REQ_OFFSET + _fixed(REQ)
IOVEC_SIZE = _fixed(IOVEC)
SENSE_OFFSET = RSP_OFFSET + offset_of(RSP, "sense_buffer")
ENTRY_SIZE = HDR_SIZE + max(_fixed(REQ), _fixed(RSP))
"""``sizeof(struct tcmu_cmd_entry)``: header plus the larger member of the union (112)."""
TMR_SIZE = HDR_SIZE + _fixed(Struct(*TMR_ENTRY.subcons[1:-1]))

# -- the two words the kernel and we share ---------------------------------------------

HEAD_WORD = CMD_HEAD_OFFSET // 4
TAIL_WORD = CMD_TAIL_OFFSET // 4


def mailbox_words(buffer) -> memoryview:
    """The mailbox as native 32-bit words, for ``cmd_head`` and ``cmd_tail``.

    The kernel reads and writes these two while we run, so each access must be one
    aligned 32-bit load or store.  An item of a memoryview cast to ``"I"`` is copied
    with a 4-byte ``memcpy``, a single instruction.  ``struct.pack_into`` is not: it
    clears the field first and then writes it byte by byte, so the other side can
    read a tail of 0 (measured: a consumer saw ``cmd_head`` = 0 mid-run under load).
    The fields are host-endian, as the kernel's ``__u32`` are.
    """
    return memoryview(buffer)[:MAILBOX_SIZE].cast("B").cast("I")


# -- the hot path's twins ----------------------------------------------------------

MAILBOX_HEAD_S = struct.Struct("=HHIII")
"""version, flags, cmdr_off, cmdr_size, cmd_head: the first 16 bytes of MAILBOX."""
U32_S = struct.Struct("=I")
"""One u32 field of an entry.  Never for cmd_head/cmd_tail while the other side runs:
see :func:`mailbox_words`."""
HDR_S = struct.Struct("=IHBB")
"""ENTRY_HDR: len_op, cmd_id, kflags, uflags."""
REQ_S = struct.Struct("=III4xQQQ")
"""REQ: iov_cnt, iov_bidi_cnt, iov_dif_cnt, cdb_off, pad1, pad2."""
RSP_S = struct.Struct(f"=B3xI{SENSE_BUFFERSIZE}s")
"""RSP: scsi_status, read_len, sense_buffer (zero-filled to 96 bytes by ``pack``)."""
RSP_STATUS_S = struct.Struct("=B3xI")
"""RSP without its sense buffer: what a completion without sense writes."""
IOVEC_S = struct.Struct("=QQ")
"""IOVEC: iov_base, iov_len."""
TMR_S = struct.Struct("=B3xI16x")
"""TMR_ENTRY after the header: tmr_type, cmd_cnt."""


def base_command_size(iov_cnt: int) -> int:
    """What the kernel reserves for an entry before its CDB (``tcmu_cmd_get_base_cmd_size``):
    the header and ``iov_cnt`` iovecs, never less than ``sizeof(struct tcmu_cmd_entry)``."""
    return _round_up(max(IOV_OFFSET + iov_cnt * IOVEC_SIZE, ENTRY_SIZE), OP_ALIGN_SIZE)


def command_size(iov_cnt: int, cdb_len: int) -> int:
    """The whole entry's length as the kernel computes it: base, then the CDB, 8-aligned."""
    return _round_up(base_command_size(iov_cnt) + cdb_len, OP_ALIGN_SIZE)


_GROUP_CDB_SIZE = (6, 10, 10, 12, 16, 12, 10, 10)
VARIABLE_LENGTH_CMD = 0x7F


def cdb_size(opcode: int, byte7: int = 0) -> int:
    """How many CDB bytes the kernel copied into the ring (``scsi_command_size``): by group
    code, or 8 + additional length for a variable-length CDB.  The entry does not say."""
    if opcode == VARIABLE_LENGTH_CMD:
        return 8 + byte7
    return _GROUP_CDB_SIZE[opcode >> 5]


def _round_up(n: int, a: int) -> int:
    return (n + a - 1) // a * a
