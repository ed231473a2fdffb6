"""The ABI declarations: the struct twins say what construct says, and both say what
the kernel header says (checked with a C compiler when there is one)."""
from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys

import pytest

from vtl.tcmu import layout as L

rnd = random.Random(7)


def u(bits: int) -> int:
    return rnd.getrandbits(bits)


@pytest.mark.parametrize("i", range(20))
def test_mailbox_twin(i):
    values = dict(version=u(16), flags=u(16), cmdr_off=u(32), cmdr_size=u(32), cmd_head=u(32), cmd_tail=u(32))
    raw = L.MAILBOX.build(values)
    assert len(raw) == L.MAILBOX_SIZE == 128
    assert L.MAILBOX_HEAD_S.unpack_from(raw, 0) == (values["version"], values["flags"], values["cmdr_off"],
                                                    values["cmdr_size"], values["cmd_head"])
    assert L.U32_S.unpack_from(raw, L.CMD_TAIL_OFFSET)[0] == values["cmd_tail"]
    buf = bytearray(128)
    L.MAILBOX_HEAD_S.pack_into(buf, 0, *(values[k] for k in ("version", "flags", "cmdr_off", "cmdr_size",
                                                              "cmd_head")))
    L.U32_S.pack_into(buf, L.CMD_TAIL_OFFSET, values["cmd_tail"])
    assert bytes(buf) == raw
    parsed = L.MAILBOX.parse(bytes(buf))
    assert {k: parsed[k] for k in values} == values


@pytest.mark.parametrize("i", range(20))
def test_command_request_twin(i):
    n = rnd.randint(0, 6)
    hdr = dict(len_op=u(32), cmd_id=u(16), kflags=u(8), uflags=u(8))
    req = dict(iov_cnt=n, iov_bidi_cnt=0, iov_dif_cnt=0, cdb_off=u(64), pad1=0, pad2=0)
    iov = [dict(iov_base=u(64), iov_len=u(64)) for _ in range(n)]
    raw = L.CMD_REQUEST.build(dict(hdr=hdr, req=req, iov=iov))
    assert len(raw) == L.IOV_OFFSET + 16 * n
    twin = bytearray(len(raw))
    L.HDR_S.pack_into(twin, 0, *hdr.values())
    L.REQ_S.pack_into(twin, L.REQ_OFFSET, *req.values())
    for k, v in enumerate(iov):
        L.IOVEC_S.pack_into(twin, L.IOV_OFFSET + k * L.IOVEC_SIZE, v["iov_base"], v["iov_len"])
    assert bytes(twin) == raw
    assert L.U32_S.unpack_from(raw, 0)[0] == hdr["len_op"]
    assert int.from_bytes(raw[L.CDB_OFF_OFFSET:L.CDB_OFF_OFFSET + 8], sys.byteorder) == req["cdb_off"]
    parsed = L.CMD_REQUEST.parse(bytes(twin))
    assert parsed.req.cdb_off == req["cdb_off"] and [(x.iov_base, x.iov_len) for x in parsed.iov] == \
        [(x["iov_base"], x["iov_len"]) for x in iov]


@pytest.mark.parametrize("i", range(20))
def test_command_response_twin(i):
    sense = bytes(u(8) for _ in range(rnd.randint(0, 96)))
    rsp = dict(scsi_status=u(8), read_len=u(32), sense_buffer=sense.ljust(96, b"\0"))
    hdr = dict(len_op=u(32), cmd_id=u(16), kflags=u(8), uflags=u(8))
    raw = L.CMD_RESPONSE.build(dict(hdr=hdr, rsp=rsp))
    assert len(raw) == L.ENTRY_SIZE == 112
    twin = bytearray(len(raw))
    L.HDR_S.pack_into(twin, 0, *hdr.values())
    L.RSP_S.pack_into(twin, L.RSP_OFFSET, rsp["scsi_status"], rsp["read_len"], sense)   # zero-filled by the twin
    assert bytes(twin) == raw
    assert twin[L.SENSE_OFFSET:L.SENSE_OFFSET + len(sense)] == sense
    assert L.CMD_RESPONSE.parse(bytes(twin)).rsp.read_len == rsp["read_len"]


def test_tmr_twin():
    raw = L.TMR_ENTRY.build(dict(hdr=dict(len_op=40 | L.OP_TMR, cmd_id=0, kflags=0, uflags=0),
                                 tmr_type=5, cmd_cnt=3, cmd_ids=[1, 2, 3]))
    assert len(raw) == L.TMR_SIZE + 6
    assert L.TMR_S.unpack_from(raw, 8) == (5, 3)


def test_measured_facts():
    """What was measured on a real kernel: only the outer struct is packed."""
    assert (L.CMD_HEAD_OFFSET, L.CMD_TAIL_OFFSET) == (12, 64)
    assert L.CDB_OFF_OFFSET == 24
    assert L.IOV_OFFSET == 48
    assert (L.RSP_OFFSET, L.SENSE_OFFSET) == (8, 16)
    assert L.ENTRY_SIZE == 112
    assert L.CMDR_OFF == L.MAILBOX_SIZE == 128
    assert L.CMDR_SIZE == 8388480
    assert L.CMDR_OFF + L.CMDR_SIZE + L.DATA_AREA_SIZE == 1024**3 + 8 * 1024**2


def test_kernel_sizes():
    assert L.base_command_size(0) == L.base_command_size(4) == 112
    assert L.base_command_size(5) == 128
    assert L.command_size(1, 6) == 120
    assert L.command_size(1, 16) == 128
    assert [L.cdb_size(op) for op in (0x00, 0x0A, 0x28, 0x34, 0x5A, 0x7E, 0x88, 0xA0, 0xC0, 0xE0)] == \
        [6, 6, 10, 10, 10, 12, 16, 12, 10, 10]
    assert L.cdb_size(0x7F, 24) == 32


HEADER = "/usr/include/linux/target_core_user.h"


@pytest.mark.skipif(not (shutil.which("cc") and os.path.exists(HEADER)),
                    reason="needs a C compiler and linux-libc-dev")
def test_offsets_match_the_kernel_header(tmp_path):
    src = tmp_path / "o.c"
    src.write_text("""
#include <stdio.h>
#include <stddef.h>
#include <linux/target_core_user.h>
#define P(x) printf("%zu\\n", (size_t)(x))
int main(void) {
  P(sizeof(struct tcmu_mailbox)); P(offsetof(struct tcmu_mailbox, cmd_head));
  P(offsetof(struct tcmu_mailbox, cmd_tail));
  P(sizeof(struct tcmu_cmd_entry_hdr)); P(offsetof(struct tcmu_cmd_entry_hdr, uflags));
  P(sizeof(struct tcmu_cmd_entry)); P(offsetof(struct tcmu_cmd_entry, req.cdb_off));
  P(offsetof(struct tcmu_cmd_entry, req.iov)); P(offsetof(struct tcmu_cmd_entry, rsp.scsi_status));
  P(offsetof(struct tcmu_cmd_entry, rsp.read_len)); P(offsetof(struct tcmu_cmd_entry, rsp.sense_buffer));
  P(sizeof(struct tcmu_tmr_entry)); P(sizeof(struct iovec));
  P(TCMU_MAILBOX_VERSION); P(TCMU_UFLAG_UNKNOWN_OP); P(TCMU_UFLAG_READ_LEN); P(TCMU_SENSE_BUFFERSIZE);
  P(TCMU_OP_PAD); P(TCMU_OP_CMD); P(TCMU_OP_TMR); P(TCMU_OP_MASK);
  return 0;
}
""")
    exe = tmp_path / "o"
    subprocess.run(["cc", "-o", str(exe), str(src)], check=True)
    got = [int(x) for x in subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.split()]
    assert got == [L.MAILBOX_SIZE, L.CMD_HEAD_OFFSET, L.CMD_TAIL_OFFSET,
                   L.HDR_SIZE, L.UFLAGS_OFFSET,
                   L.ENTRY_SIZE, L.CDB_OFF_OFFSET, L.IOV_OFFSET, L.RSP_OFFSET,
                   L.RSP_OFFSET + 4, L.SENSE_OFFSET,
                   L.TMR_SIZE, L.IOVEC_SIZE,
                   L.MAILBOX_VERSION, L.UFLAG_UNKNOWN_OP, L.UFLAG_READ_LEN, L.SENSE_BUFFERSIZE,
                   L.OP_PAD, L.OP_CMD, L.OP_TMR, L.OP_MASK]
