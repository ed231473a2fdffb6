"""The server end to end: a fake kernel in another process, real tape drives here.

The map is a shared file laid out as target_core_user lays it out; the doorbell
is a socketpair.  Nothing here measures time: waits are bounded only so that a
bug fails instead of hanging.
"""
from __future__ import annotations

import logging
import os
import threading

import pytest

from scsi.device import Result
from scsi.nexus import Nexus
from scsi.sense import SenseKey, decode
from scsi.status import Status
from support.tcmu_kernel import Cmd
from vtl.tcmu import layout as L
from vtl.tcmu.server import TcmuServer

NEXUS = Nexus("iqn.2026-11.test:initiator", 1)
JOIN = 60.0
"""Only a safety net so that a bug fails a test instead of hanging it; never asserted on."""


def write6(n: int) -> bytes:
    return bytes([0x0A, 0]) + n.to_bytes(3, "big") + b"\0"


def read6(n: int, sili: bool = False) -> bytes:
    return bytes([0x08, 0x02 if sili else 0]) + n.to_bytes(3, "big") + b"\0"


REWIND = bytes([0x01, 0, 0, 0, 0, 0])
TUR = bytes(6)


def inquiry(alloc: int) -> bytes:
    return bytes([0x12, 0, 0]) + alloc.to_bytes(2, "big") + b"\0"


class BlockingTarget:
    """A target whose first ``execute`` waits for :attr:`release`; counts what it ran."""

    def __init__(self, inner=None, block_first: bool = True):
        self.inner = inner
        self.started = threading.Event()
        self.release = threading.Event()
        if not block_first:
            self.release.set()
        self.executed: list[bytes] = []

    def execute(self, nexus, cdb, data_out=None, data_in=None) -> Result:
        self.executed.append(bytes(cdb))
        if len(self.executed) == 1:
            self.started.set()
            assert self.release.wait(JOIN), "never released"
        if self.inner is not None:
            return self.inner.execute(nexus, cdb, data_out, data_in)
        return Result(Status.GOOD)


def sense_of(c):
    s = decode(c.sense)
    return s.key, s.asc, s.ascq


def test_records_written_then_read_back_identical(kernel, server, drive):
    handle = server.attach("drive0", kernel.map, kernel.doorbell, drive, NEXUS)
    records = [os.urandom(n) for n in (1, 100, 4096, 5000, 65536, 262144, 1048576 + 17)]
    out = kernel.run([Cmd(write6(len(r)), data_out=r) for r in records] + [Cmd(REWIND)])
    assert [c.status for c in out] == [0] * (len(records) + 1)
    back = kernel.run([Cmd(read6(len(r)), data_in_len=len(r)) for r in records])
    assert [c.status for c in back] == [0] * len(records)
    assert [c.data for c in back] == records
    assert [c.read_len for c in back] == [len(r) for r in records]
    eod = kernel.run([Cmd(read6(512), data_in_len=512)])[0]
    assert eod.status == 2 and sense_of(eod) == (SenseKey.BLANK_CHECK, 0x00, 0x05)
    total = sum(map(len, records))
    c = handle.counters
    assert (c.commands, c.bytes_in, c.bytes_out) == (2 * len(records) + 2, total, total + 512)
    assert c.check_conditions == 1 and c.errors == 0


def test_short_read_returns_data_and_ili_sense(kernel, server, drive):
    server.attach("drive0", kernel.map, kernel.doorbell, drive, NEXUS)
    record = os.urandom(100)
    kernel.run([Cmd(write6(100), data_out=record), Cmd(REWIND)])
    (c,) = kernel.run([Cmd(read6(300), data_in_len=300)])
    assert c.status == 2
    assert c.read_len == 100 and c.data == record          # data AND sense
    s = decode(c.sense)
    assert s.ili and s.information == 200 and s.key == SenseKey.NO_SENSE


def test_inquiry_returns_only_what_the_device_produced(kernel, server, drive):
    server.attach("drive0", kernel.map, kernel.doorbell, drive, NEXUS)
    (c,) = kernel.run([Cmd(inquiry(255), data_in_len=255)])
    assert c.status == 0
    assert 36 <= c.read_len < 255 and len(c.data) == c.read_len
    assert c.data[0] & 0x1F == 1                            # a sequential-access device


def test_ring_wraps_with_pad_over_thousands_of_commands(kernels, server, drive):
    kernel = kernels(cmdr_size=4096)                        # ~30 entries a lap
    handle = server.attach("drive0", kernel.map, kernel.doorbell, drive, NEXUS)
    records = [bytes([i & 0xFF]) * ((i * 7919) % 9000 + 1) for i in range(2500)]
    cmds = [Cmd(write6(len(r)), data_out=r, split=3 if i % 7 == 0 else 0) for i, r in enumerate(records)]
    cmds[1000:1000] = [Cmd(TUR), Cmd(tmr=(1, [1]))]
    out = kernel.run(cmds + [Cmd(REWIND)], depth=4)
    assert all(c.status == 0 for c in out) and len(out) == 2502
    back = kernel.run([Cmd(read6(len(r)), data_in_len=len(r), split=2 if i % 5 == 0 else 0)
                       for i, r in enumerate(records)], depth=3)
    assert [c.data for c in back] == records
    c = handle.counters
    assert c.pads > 100 and c.tmrs == 1 and c.gathered > 500 and c.errors == 0


def test_wrap_at_the_real_ring_size(kernels, server, drive):
    kernel = kernels(start=L.CMDR_SIZE - 2000)              # a ring that has been running a while
    handle = server.attach("drive0", kernel.map, kernel.doorbell, drive, NEXUS)
    out = kernel.run([Cmd(write6(10), data_out=b"0123456789") for _ in range(40)], depth=8)
    assert all(c.status == 0 for c in out)
    assert handle.counters.pads == 1


def test_split_iovecs_are_gathered_and_scattered(kernel, server, drive):
    handle = server.attach("drive0", kernel.map, kernel.doorbell, drive, NEXUS)
    records = [os.urandom(n) for n in (40000, 262144, 9000)]
    out = kernel.run([Cmd(write6(len(r)), data_out=r, split=3) for r in records] + [Cmd(REWIND)])
    assert all(c.status == 0 for c in out)
    back = kernel.run([Cmd(read6(len(r)), data_in_len=len(r), split=4) for r in records[:2]]
                      + [Cmd(read6(20000), data_in_len=20000, split=3)])      # short, split
    assert [c.data for c in back] == records
    assert back[2].status == 2 and back[2].read_len == 9000 and decode(back[2].sense).ili
    assert handle.counters.gathered == 6


def test_pending_at_attach_are_answered_reset_and_not_executed(kernel, server, drive, caplog):
    ids = kernel.submit([Cmd(write6(10), data_out=b"x" * 10) for _ in range(3)] + [Cmd(tmr=(1, [])), Cmd(TUR)])
    with caplog.at_level(logging.INFO, "vtl.tcmu.server"):
        handle = server.attach("drive0", kernel.map, kernel.doorbell, drive, NEXUS)
        stale = kernel.collect(4)
        assert [c.cmd_id for c in stale] == [i for i in ids if i is not None]
        for c in stale:
            assert c.status == 2 and sense_of(c) == (SenseKey.UNIT_ATTENTION, 0x29, 0x00) and c.read_len is None
        assert handle.counters.reset_answered == 4 and handle.counters.commands == 0
        # none of them reached the tape: it is still blank
        out = kernel.run([Cmd(REWIND), Cmd(read6(10), data_in_len=10)])
    # (logged before the worker served anything new)
    assert [r.getMessage() for r in caplog.records if "29/00" in r.getMessage()]
    assert sense_of(out[1]) == (SenseKey.BLANK_CHECK, 0x00, 0x05)
    # and the device serves normally afterwards
    assert kernel.run([Cmd(write6(3), data_out=b"abc")])[0].status == 0


def test_clean_stop_drains_what_is_queued(kernel, server, drive):
    target = BlockingTarget(drive)
    handle = server.attach("drive0", kernel.map, kernel.doorbell, target, NEXUS)
    kernel.submit([Cmd(TUR)])
    assert target.started.wait(JOIN)                        # the first command is executing
    kernel.submit([Cmd(write6(5), data_out=bytes([i]) * 5) for i in range(5)])
    stopper = threading.Thread(target=server.detach, args=("drive0",), kwargs={"drain": True})
    stopper.start()
    target.release.set()
    stopper.join(JOIN)
    assert handle.state == "stopped" and not handle.alive
    out = kernel.collect(6)
    assert [c.status for c in out] == [0] * 6
    assert len(target.executed) == 6
    assert "drive0" not in server.devices


def test_stop_without_drain_leaves_the_rest_for_the_next_attach(kernel, drive):
    first = TcmuServer()
    target = BlockingTarget(drive)
    first.attach("drive0", kernel.map, kernel.doorbell, target, NEXUS)
    kernel.submit([Cmd(write6(4), data_out=b"once")])
    assert target.started.wait(JOIN)
    kernel.submit([Cmd(write6(5), data_out=b"later") for _ in range(3)])
    stopper = threading.Thread(target=first.stop, kwargs={"drain": False})
    stopper.start()
    target.release.set()
    stopper.join(JOIN)
    assert kernel.collect(1)[0].status == 0                 # the one executing was finished
    assert len(target.executed) == 1
    # a new run of the daemon: the three left are answered 29/00, never executed
    second = TcmuServer()
    try:
        again = BlockingTarget(drive, block_first=False)
        h = second.attach("drive0", kernel.map, kernel.doorbell, again, NEXUS)
        out = kernel.collect(3)
        assert [sense_of(c) for c in out] == [(SenseKey.UNIT_ATTENTION, 0x29, 0x00)] * 3
        assert again.executed == [] and h.counters.reset_answered == 3
    finally:
        second.stop(timeout=JOIN)


def test_bad_entries_are_answered_and_the_device_goes_on(kernel, server, drive):
    handle = server.attach("drive0", kernel.map, kernel.doorbell, drive, NEXUS)
    bad = [{"iov0_base": 64}, {"cdb_off": 1 << 40}, {"iov_cnt": 500}, {"iov_bidi_cnt": 2}]
    out = kernel.run([Cmd(write6(8), data_out=b"bad data", tamper=t) for t in bad]
                     + [Cmd(TUR, tamper={"opcode": 6}), Cmd(write6(8), data_out=b"good one")])
    for c in out[:4]:
        assert c.status == 2 and sense_of(c) == (SenseKey.HARDWARE_ERROR, 0x44, 0x00)
    assert out[4].uflags & L.UFLAG_UNKNOWN_OP
    assert out[5].status == 0
    c = handle.counters
    assert (c.malformed, c.unknown_ops, c.commands) == (4, 1, 1)
    assert handle.alive and handle.state == "running"


def test_a_target_that_raises_is_answered_hardware_error(kernel, server, caplog):
    class Flaky:
        def execute(self, nexus, cdb, data_out=None, data_in=None):
            if cdb[0] == 0x00:
                raise RuntimeError("boom")
            return Result(Status.GOOD)

    handle = server.attach("flaky", kernel.map, kernel.doorbell, Flaky(), NEXUS)
    with caplog.at_level(logging.ERROR, "vtl.tcmu.server"):
        out = kernel.run([Cmd(TUR), Cmd(TUR), Cmd(REWIND)])
    assert [c.status for c in out] == [2, 2, 0]
    assert sense_of(out[0]) == (SenseKey.HARDWARE_ERROR, 0x44, 0x00)
    assert handle.counters.target_errors == 2 and handle.alive
    assert len([r for r in caplog.records if r.levelno >= logging.ERROR]) == 1      # logged once


def test_one_blocked_device_does_not_stall_another(kernels, server, make_drive):
    ka, kb = kernels(), kernels()
    slow = BlockingTarget(make_drive())
    ha = server.attach("drive-a", ka.map, ka.doorbell, slow, NEXUS)
    hb = server.attach("drive-b", kb.map, kb.doorbell, make_drive(), NEXUS)
    ka.submit([Cmd(REWIND)])
    assert slow.started.wait(JOIN)                          # drive A is stuck in a command
    records = [os.urandom(3000) for _ in range(200)]
    out = kb.run([Cmd(write6(len(r)), data_out=r) for r in records] + [Cmd(REWIND)]
                 + [Cmd(read6(3000), data_in_len=3000) for _ in records])
    assert [c.data for c in out[201:]] == records           # B did all its work meanwhile
    assert ha.counters.commands == 0 and ka.state()[2] == 1 # A still has its command in flight
    slow.release.set()
    assert ka.collect(1)[0].status == 0
    assert hb.counters.commands == 401


def test_device_gone_ends_the_worker_quietly(kernel, server, drive, caplog):
    ended = threading.Event()
    with caplog.at_level(logging.INFO, "vtl.tcmu"):
        handle = server.attach("drive0", kernel.map, kernel.doorbell, drive, NEXUS,
                               on_exit=lambda h: ended.set())
        kernel.run([Cmd(TUR)])
        kernel.unplug()
        assert ended.wait(JOIN) and handle.join(JOIN)
    assert handle.state == "gone"
    mine = [r for r in caplog.records if r.name.startswith("vtl.tcmu")]
    assert len(mine) == 1 and "gone" in mine[0].getMessage() and mine[0].levelno == logging.INFO
    assert "drive0" in server.devices                       # visible until detached
    server.detach("drive0")
    assert "drive0" not in server.devices


def test_a_corrupt_ring_fails_that_device_only(kernels, server, make_drive, caplog):
    ka, kb = kernels(), kernels()
    ha = server.attach("drive-a", ka.map, ka.doorbell, make_drive(), NEXUS)
    hb = server.attach("drive-b", kb.map, kb.doorbell, make_drive(), NEXUS)
    with caplog.at_level(logging.ERROR, "vtl.tcmu.server"):
        L.mailbox_words(ka.map)[L.HEAD_WORD] = 12           # not an entry boundary
        ka.submit([], kick=True)
        assert ha.join(JOIN)
    assert ha.state == "failed" and len(caplog.records) == 1
    assert kb.run([Cmd(TUR)])[0].status == 0 and hb.alive


def test_attach_twice_is_refused_and_stop_ends_everything(kernels, make_drive):
    ks = [kernels() for _ in range(3)]
    with TcmuServer() as server:
        handles = [server.attach(f"d{i}", k.map, k.doorbell, make_drive(), NEXUS) for i, k in enumerate(ks)]
        with pytest.raises(ValueError):
            server.attach("d0", ks[0].map, ks[0].doorbell, make_drive(), NEXUS)
        for k in ks:
            assert k.run([Cmd(TUR)])[0].status == 0
    assert all(h.state == "stopped" for h in handles) and server.devices == {}
