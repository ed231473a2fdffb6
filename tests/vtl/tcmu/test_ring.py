"""The ring over a plain buffer, with the fake kernel in the same process (sans-IO)."""
from __future__ import annotations

import logging
import os
import sys

import pytest

from scsi.sense import SenseKey, decode
from support.tcmu_kernel import Cmd, FakeKernel, init_mailbox
from vtl.tcmu import layout as L
from vtl.tcmu.ring import Ring, RingError

MIB = 1024 * 1024


def make(cmdr_size: int = L.CMDR_SIZE, data: int = 2 * MIB, start: int = 0, flags: int = 0xF):
    buf = bytearray(L.CMDR_OFF + cmdr_size + data)
    init_mailbox(buf, cmdr_size, start, flags)
    return buf, FakeKernel(buf), Ring(buf)


def tail_of(buf) -> int:
    return L.MAILBOX.parse(bytes(buf[:128])).cmd_tail


def write6(n: int) -> bytes:
    return bytes([0x0A, 0]) + n.to_bytes(3, "big") + b"\0"


def test_a_command_is_views_of_the_buffer_not_copies():
    buf, k, ring = make()
    payload = os.urandom(10000)
    cid = k.submit(Cmd(write6(10000), data_out=payload))
    cmd = ring.next()
    assert cmd.cmd_id == cid
    assert bytes(cmd.cdb) == write6(10000)
    assert cmd.cdb.obj is buf and cmd.data.obj is buf          # zero copy
    assert bytes(cmd.data) == payload and not cmd.split
    assert len(cmd.iovecs) == 1 and cmd.iovecs[0][0] >= ring.data_off
    again = ring.next()                                        # not consumed until completed
    assert again.position == cmd.position == ring.tail
    ring.complete(cmd, 0)
    assert tail_of(buf) == ring.tail == ring.head
    (c,) = k.reap()
    assert (c.cmd_id, c.status, c.read_len, c.data, c.uflags) == (cid, 0, None, b"", 0)
    assert ring.next() is None


def test_command_without_data():
    _, k, ring = make()
    k.submit(Cmd(bytes(6)))
    cmd = ring.next()
    assert cmd.data is None and cmd.iovecs == []
    ring.complete(cmd, 0, b"", 123)                           # nothing to return: read_len ignored
    (c,) = k.reap()
    assert c.read_len is None and not c.uflags & L.UFLAG_READ_LEN


def test_response_carries_status_sense_and_read_len():
    buf, k, ring = make()
    k.submit(Cmd(bytes([0x08, 0, 0, 1, 0, 0]), data_in_len=256))
    cmd = ring.next()
    cmd.data[:40] = b"r" * 40
    sense = bytes([0x70, 0, 0x20, 0, 0, 0, 0xD8, 10]) + bytes(10)      # ILI, residue 216
    ring.complete(cmd, 2, sense, 40)
    raw = L.CMD_RESPONSE.parse(bytes(buf[128 + cmd.position:128 + cmd.position + 112]))
    assert raw.hdr.uflags & L.UFLAG_READ_LEN
    assert (raw.rsp.scsi_status, raw.rsp.read_len) == (2, 40)
    assert raw.rsp.sense_buffer == sense.ljust(96, b"\0")
    (c,) = k.reap()
    assert c.data == b"r" * 40 and c.sense == sense and c.read_len == 40


def test_sense_is_truncated_to_96_bytes_and_read_len_to_the_buffer():
    _, k, ring = make()
    k.submit(Cmd(bytes([0x12, 0, 0, 0, 8, 0]), data_in_len=8))
    cmd = ring.next()
    long_sense = bytes([0x72, 0, 0, 0, 0, 0, 0, 200]) + bytes(range(200))
    ring.complete(cmd, 2, long_sense, 100)
    (c,) = k.reap()
    assert c.read_len == 8
    assert c.sense == long_sense[:96]


def test_no_read_len_flag_when_the_kernel_does_not_offer_it():
    _, k, ring = make(flags=0x1)
    k.submit(Cmd(bytes([0x12, 0, 0, 0, 8, 0]), data_in_len=8))
    cmd = ring.next()
    ring.complete(cmd, 0, b"", 8)
    (c,) = k.reap()
    assert not c.uflags & L.UFLAG_READ_LEN and c.data == bytes(cmd.data)


def test_ring_wraps_with_pad_over_thousands_of_commands():
    buf, k, ring = make(cmdr_size=4096, data=4 * MIB)
    seen = split = 0
    for i in range(5000):
        n = (i * 7919) % 20000 + 1
        split += i % 5 == 0 and n > 4096
        payload = bytes([i & 0xFF]) * n
        cdb = write6(n) if i % 3 else bytes([0x88]) + bytes(15)     # 6- and 16-byte CDBs
        k.submit(Cmd(cdb, data_out=payload, split=(i % 5 == 0) * 3))
        cmd = ring.next()
        assert bytes(cmd.data) == payload and len(cmd.cdb) == len(cdb)
        ring.complete(cmd, 0)
        (c,) = k.reap()
        assert c.status == 0
        seen += 1
    assert seen == 5000
    assert ring.counters.pads > 100
    assert ring.counters.gathered == split > 500


def test_wrap_at_the_real_ring_size():
    _, k, ring = make(start=L.CMDR_SIZE - 1000)
    for i in range(50):
        k.submit(Cmd(bytes(6)))
    n = 0
    while (cmd := ring.next()) is not None:
        ring.complete(cmd, 0)
        n += 1
    assert n == 50 and ring.counters.pads == 1 and ring.tail < 50 * 120
    assert len(k.reap()) == 50


def test_several_commands_pending_are_taken_in_order():
    _, k, ring = make()
    ids = [k.submit(Cmd(write6(100), data_out=bytes([i]) * 100)) for i in range(10)]
    got = []
    while (cmd := ring.next()) is not None:
        got.append((cmd.cmd_id, bytes(cmd.data[:1])))
        ring.complete(cmd, 0)
    assert got == [(cid, bytes([i])) for i, cid in enumerate(ids)]


def test_until_stops_at_an_earlier_head():
    _, k, ring = make()
    k.submit(Cmd(bytes(6)))
    k.submit(Cmd(bytes(6)))
    snapshot = ring.head
    k.submit(Cmd(bytes(6)))
    n = 0
    while (cmd := ring.next(snapshot)) is not None:
        ring.complete(cmd, 0)
        n += 1
    assert n == 2 and ring.pending()


def test_split_iovecs_are_gathered_then_scattered():
    _, k, ring = make()
    payload = os.urandom(40000)
    k.submit(Cmd(write6(40000), data_out=payload, split=3))
    cmd = ring.next()
    assert cmd.split and len(cmd.iovecs) == 3 and bytes(cmd.data) == payload
    assert ring.counters.gathered == 1
    ring.complete(cmd, 0)
    k.reap()
    # data-in: only what the device produced goes back, across the pieces
    k.submit(Cmd(bytes([0x08, 0, 0, 0x9C, 0x40, 0]), data_in_len=40000, split=4))
    cmd = ring.next()
    assert cmd.split and len(cmd.iovecs) == 4
    cmd.data[:30000] = payload[:30000]
    ring.complete(cmd, 0, b"", 30000)
    (c,) = k.reap()
    assert c.read_len == 30000 and c.data == payload[:30000]


def test_scratch_grows_for_a_larger_split_command():
    _, k, ring = make(data=4 * MIB)
    for n in (5000, 300000, 70000):
        payload = os.urandom(n)
        k.submit(Cmd(write6(n), data_out=payload, split=2))
        cmd = ring.next()
        assert bytes(cmd.data) == payload
        ring.complete(cmd, 0)
        k.reap()


def test_tmr_and_unknown_opcodes_are_consumed():
    _, k, ring = make()
    k.submit(Cmd(tmr=(L.OP_TMR, [1, 2, 3])))
    k.submit(Cmd(bytes(6), tamper={"opcode": 5}))
    cid = k.submit(Cmd(bytes(6)))
    cmd = ring.next()
    assert cmd.cmd_id == cid
    assert (ring.counters.tmrs, ring.counters.unknown_ops) == (1, 1)
    ring.complete(cmd, 0)
    unknown, good = k.reap()
    assert unknown.uflags & L.UFLAG_UNKNOWN_OP and unknown.status == 2
    assert good.status == 0


BAD = [
    pytest.param({"iov0_base": 0}, id="iovec in the mailbox"),
    pytest.param({"iov0_base": 2**40}, id="iovec beyond the map"),
    pytest.param({"iov0_len": 2**30}, id="iovec runs off the map"),
    pytest.param({"cdb_off": 5}, id="cdb_off in the mailbox"),
    pytest.param({"cdb_off": 2**33}, id="cdb_off beyond the map"),
    pytest.param({"iov_cnt": 1000}, id="more iovecs than the entry holds"),
    pytest.param({"iov_bidi_cnt": 1}, id="bidirectional"),
]


@pytest.mark.parametrize("tamper", BAD)
def test_bad_entries_are_answered_hardware_error(tamper, caplog):
    _, k, ring = make()
    k.submit(Cmd(write6(100), data_out=b"x" * 100, tamper=tamper))
    cid = k.submit(Cmd(bytes(6)))
    with caplog.at_level(logging.WARNING, "vtl.tcmu.ring"):
        cmd = ring.next()
    assert cmd.cmd_id == cid
    assert ring.counters.malformed == 1
    assert len(caplog.records) == 1
    ring.complete(cmd, 0)
    bad, good = k.reap()
    assert bad.status == 2 and good.status == 0
    s = decode(bad.sense)
    assert (s.key, s.asc, s.ascq) == (SenseKey.HARDWARE_ERROR, 0x44, 0x00)


def test_a_cdb_running_off_its_entry_is_refused():
    buf, k, ring = make()
    k.submit(Cmd(bytes([0x88]) + bytes(15)))
    # shrink the CDB room: point cdb_off at the last 8 bytes of the entry
    o = 128 + 0
    length = int.from_bytes(buf[o:o + 4], sys.byteorder) & ~7
    buf[o + L.CDB_OFF_OFFSET:o + L.CDB_OFF_OFFSET + 8] = (o + length - 8).to_bytes(8, sys.byteorder)
    buf[o + length - 8] = 0x88
    assert ring.next() is None
    assert ring.counters.malformed == 1


@pytest.mark.parametrize("what", ["zero length", "past the head", "misaligned head", "too short", "past the end"])
def test_an_unwalkable_ring_raises(what):
    buf, k, ring = make(cmdr_size=4096)
    k.submit(Cmd(bytes(6)))
    o = 128
    if what == "zero length":
        buf[o:o + 4] = (0 | L.OP_CMD).to_bytes(4, sys.byteorder)
    elif what == "past the head":
        buf[o:o + 4] = (240 | L.OP_CMD).to_bytes(4, sys.byteorder)
    elif what == "misaligned head":
        L.U32_S.pack_into(buf, L.CMD_HEAD_OFFSET, 3)
    elif what == "too short":
        buf[o:o + 4] = (64 | L.OP_CMD).to_bytes(4, sys.byteorder)
    else:
        L.U32_S.pack_into(buf, L.CMD_TAIL_OFFSET, 4000)   # 216 bytes up to the head, 96 to the end
        buf[o + 4000:o + 4004] = (200 | L.OP_PAD).to_bytes(4, sys.byteorder)
        ring = Ring(buf)
    with pytest.raises(RingError):
        ring.next()


def test_completions_must_be_in_order():
    _, k, ring = make()
    k.submit(Cmd(bytes(6)))
    k.submit(Cmd(bytes(6)))
    first = ring.next()
    ring.complete(first, 0)
    second = ring.next()
    with pytest.raises(RingError):
        ring.complete(first, 0)
    ring.complete(second, 0)


@pytest.mark.parametrize("field,value", [("version", 1), ("cmdr_size", 2**31), ("cmdr_off", 0), ("cmd_tail", 5)])
def test_a_mailbox_we_do_not_understand_is_refused(field, value):
    buf = bytearray(L.CMDR_OFF + L.CMDR_SIZE + MIB)
    init_mailbox(buf)
    m = L.MAILBOX.parse(bytes(buf[:128]))
    m[field] = value
    buf[:128] = L.MAILBOX.build(m)
    with pytest.raises(RingError):
        Ring(buf)


def test_a_read_only_buffer_is_refused():
    buf = bytearray(L.CMDR_OFF + L.CMDR_SIZE + MIB)
    init_mailbox(buf)
    with pytest.raises(ValueError):
        Ring(bytes(buf))


def test_dirty_tells_the_caller_a_kick_is_owed():
    _, k, ring = make()
    assert not ring.dirty
    k.submit(Cmd(tmr=(1, [])))
    assert ring.next() is None and ring.dirty


def test_a_check_condition_without_sense_leaves_no_request_bytes_in_the_sense_buffer():
    """The response overlays the request: GOOD writes status and read length only (the
    kernel reads sense only with CHECK CONDITION); any other status writes the whole
    sense buffer, zeros included, so no iovec or CDB byte can pass for sense."""
    buf, k, ring = make()
    k.submit(Cmd(write6(4096), data_out=os.urandom(4096)))
    cmd = ring.next()
    ring.complete(cmd, 2)
    raw = L.CMD_RESPONSE.parse(bytes(buf[128 + cmd.position:128 + cmd.position + 112]))
    assert (raw.rsp.scsi_status, raw.rsp.sense_buffer) == (2, bytes(96))
    k.reap()


@pytest.mark.parametrize("opcode", [op for op in range(256) if op != 0x7F])
def test_every_opcode_has_the_cdb_length_the_kernel_copied(opcode):
    """One iovec (the straight-line decode) or none (the general one): the CDB is as
    long as scsi_command_size says, whatever the opcode."""
    _, k, ring = make()
    n = L.cdb_size(opcode)
    for cmd in (Cmd(bytes([opcode]) + bytes(n - 1), data_out=b"x" * 512), Cmd(bytes([opcode]) + bytes(n - 1))):
        k.submit(cmd)
        got = ring.next()
        assert bytes(got.cdb) == bytes([opcode]) + bytes(n - 1)
        ring.complete(got, 0)
        k.reap()
