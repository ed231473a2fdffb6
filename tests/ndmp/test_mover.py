"""The mover's state machine, sans-IO: every transition and refusal, the window, the
counters, and the decisions the edge asks for, driven with a scripted tape and an edge
that only records what it is told."""
from __future__ import annotations

import logging
import threading
from typing import Any

import pytest

from ndmp.constants import (
    AddrType,
    DataState,
    ErrorCode,
    MoverHaltReason,
    MoverMode,
    MoverPauseReason,
    MoverState,
)
from ndmp.constants import MessageCode as M
from ndmp.context import MoverSettings
from ndmp.messages.common import Addr, TcpAddr
from ndmp.mover import DEFAULT_RECORD_SIZE, INFINITY, Fetch, Mover, Refused, Send, Step
from ndmp.tape_drive import TapeIo

E = ErrorCode
S = MoverState
P = MoverPauseReason
H = MoverHaltReason
READ, WRITE = MoverMode.NDMP_MOVER_MODE_READ, MoverMode.NDMP_MOVER_MODE_WRITE
LOCAL, TCP = AddrType.NDMP_ADDR_LOCAL, AddrType.NDMP_ADDR_TCP
OK = TapeIo(E.NDMP_NO_ERR, 0)
RS = 4096
TCP_ADDR = Addr(addr_type=TCP, tcp_addr=[TcpAddr(ip_addr=0x7F000001, port=4242, addr_env=[])])


class FakeTape:
    def __init__(self, writable: bool = True):
        self.writable = writable
        self.device = "nrst0l"
        self.lock = threading.RLock()


class FakeEdge:
    def __init__(self, mover: Mover):
        self.mover = mover
        self.calls: list[Any] = []
        self.fail: OSError | None = None
        self.peer: Any = None
        self.wakes = 0

    def listen(self, mode, addr_type):
        self.calls.append(("listen", mode, addr_type))
        if self.fail:
            raise self.fail
        if addr_type == LOCAL:
            self.peer = "the DATA service's end"
            return Addr(addr_type=LOCAL)
        return TCP_ADDR

    def connect(self, mode, addr):
        self.calls.append(("connect", mode, addr))
        if self.fail:
            raise self.fail

    def adopt(self, mode, peer):
        self.calls.append(("adopt", mode, peer))

    def local_peer(self):
        peer, self.peer = self.peer, None
        return peer

    def wake(self):
        self.wakes += 1

    def close(self):
        self.calls.append("close")

    def join(self):
        self.calls.append("join")


class Data:
    """A DATA service as the mover sees it: a state, and a LOCAL endpoint to give."""

    def __init__(self, state=DataState.NDMP_DATA_STATE_IDLE, peer: Any = None):
        self.state = state
        self.peer = peer

    def local_peer(self):
        peer, self.peer = self.peer, None
        return peer


class Rig:
    def __init__(self, tape: FakeTape | None = None, data: Any = None):
        self.tape = tape if tape is not None else FakeTape()
        self.data = data
        self.posts: list[tuple[int, Any]] = []
        self.edges: list[FakeEdge] = []
        self.fail_next: OSError | None = None
        self.mover = Mover(MoverSettings(), tape=lambda: self.tape, post=lambda c, b: self.posts.append((c, b)),
                           edge=self._edge, data=lambda: self.data)

    def _edge(self, mover: Mover) -> FakeEdge:
        edge = FakeEdge(mover)
        edge.fail, self.fail_next = self.fail_next, None
        self.edges.append(edge)
        return edge

    @property
    def edge(self) -> FakeEdge:
        return self.edges[-1]

    def state(self) -> tuple:
        st = self.mover.status()
        return st["state"], st["pause_reason"], st["halt_reason"]

    def take_posts(self) -> list[tuple[int, Any]]:
        posts, self.posts = self.posts, []
        return posts


def refused(error: ErrorCode, call, *args) -> None:
    with pytest.raises(Refused) as info:
        call(*args)
    assert info.value.error == error, info.value


def active(rig: Rig, mode=READ, record_size: int = RS) -> Mover:
    """IDLE -> LISTEN (TCP) -> ACTIVE."""
    m = rig.mover
    m.set_record_size(record_size)
    m.listen(mode, TCP)
    assert m.connected("127.0.0.1:5555")
    return m


def paused_states_consistent(st: dict) -> None:
    """NDMJOB's self-consistency check of GET_STATE."""
    if st["state"] in (S.NDMP_MOVER_STATE_IDLE, S.NDMP_MOVER_STATE_LISTEN, S.NDMP_MOVER_STATE_ACTIVE):
        assert st["pause_reason"] == P.NDMP_MOVER_PAUSE_NA and st["halt_reason"] == H.NDMP_MOVER_HALT_NA
    elif st["state"] == S.NDMP_MOVER_STATE_PAUSED:
        assert st["halt_reason"] == H.NDMP_MOVER_HALT_NA
    else:
        assert st["pause_reason"] == P.NDMP_MOVER_PAUSE_NA


# ---------------------------------------------------------------------- IDLE

def test_initial_state():
    rig = Rig()
    st = rig.mover.status()
    assert st["state"] == S.NDMP_MOVER_STATE_IDLE and st["mode"] == READ
    assert (st["pause_reason"], st["halt_reason"]) == (P.NDMP_MOVER_PAUSE_NA, H.NDMP_MOVER_HALT_NA)
    assert st["record_size"] == DEFAULT_RECORD_SIZE == 10240
    assert (st["window_offset"], st["window_length"]) == (0, INFINITY)
    assert (st["record_num"], st["bytes_moved"], st["seek_position"], st["bytes_left_to_read"]) == (0, 0, 0, 0)
    assert st["data_connection_addr"] == Addr(addr_type=LOCAL)
    assert not rig.mover.uses_tape


def test_idle_refuses_what_needs_a_connection():
    m = Rig().mover
    for call in (m.continue_, m.abort, m.stop, m.close):
        refused(E.NDMP_ILLEGAL_STATE_ERR, call)
    refused(E.NDMP_ILLEGAL_STATE_ERR, m.read, 0, 100)
    m.set_window(0, 0)              # NDMJOB's M-IDLE series: a window and a record size are fine
    m.set_record_size(10240)
    assert m.status()["state"] == S.NDMP_MOVER_STATE_IDLE


@pytest.mark.parametrize("size", [4096, 10240, 32768, 262144])
def test_record_size_in_range(size):
    m = Rig().mover
    m.set_record_size(size)
    assert m.status()["record_size"] == size


@pytest.mark.parametrize("size", [0, 512, 4095, 262145, 1 << 20, 0xFFFFFFFF])
def test_record_size_out_of_range(size, caplog):
    m = Rig().mover
    with caplog.at_level(logging.WARNING, logger="ndmp.mover"):
        refused(E.NDMP_ILLEGAL_ARGS_ERR, m.set_record_size, size)
    assert "Tape record size must be in the range between 4KB and 256KB" in caplog.text
    assert m.status()["record_size"] == DEFAULT_RECORD_SIZE


def test_record_size_range_follows_the_settings():
    rig = Rig()
    rig.mover.settings = MoverSettings(min_record_size=8192, max_record_size=65536)
    refused(E.NDMP_ILLEGAL_ARGS_ERR, rig.mover.set_record_size, 4096)
    refused(E.NDMP_ILLEGAL_ARGS_ERR, rig.mover.set_record_size, 131072)
    rig.mover.set_record_size(65536)


def test_set_window_checks():
    m = Rig().mover
    m.set_record_size(RS)
    refused(E.NDMP_ILLEGAL_ARGS_ERR, m.set_window, 100, INFINITY)          # offset off a record boundary
    refused(E.NDMP_ILLEGAL_ARGS_ERR, m.set_window, 0, RS + 1)              # length off a record boundary
    refused(E.NDMP_ILLEGAL_ARGS_ERR, m.set_window, INFINITY - RS + 1 - (INFINITY + 1) % RS, 2 * RS)
    m.set_window(RS, INFINITY)                                              # all ones
    assert m.status()["window_length"] == INFINITY and m.window_end == INFINITY
    m.set_window(RS, INFINITY - RS)                                         # all ones minus the offset
    assert m.window_end == INFINITY
    m.set_window(2 * RS, 3 * RS)
    st = m.status()
    assert (st["window_offset"], st["window_length"], st["record_num"]) == (2 * RS, 3 * RS, 2)
    assert m.window_end == 5 * RS


# ---------------------------------------------------------------------- LISTEN

def test_listen_argument_errors_come_first():
    rig = Rig(tape=None)
    rig.tape = None
    m = rig.mover
    refused(E.NDMP_ILLEGAL_ARGS_ERR, m.listen, 123, LOCAL)
    refused(E.NDMP_ILLEGAL_ARGS_ERR, m.listen, READ, 123)
    refused(E.NDMP_ILLEGAL_ARGS_ERR, m.listen, READ, AddrType.NDMP_ADDR_IPC)
    refused(E.NDMP_ILLEGAL_ARGS_ERR, m.listen, MoverMode.NDMP_MOVER_MODE_NOACTION, TCP)
    for mode in (READ, WRITE):
        for addr_type in (LOCAL, TCP):
            refused(E.NDMP_DEV_NOT_OPEN_ERR, m.listen, mode, addr_type)
    assert rig.edges == [] and m.status()["state"] == S.NDMP_MOVER_STATE_IDLE


def test_listen_needs_a_writable_tape_to_back_up():
    rig = Rig(FakeTape(writable=False))
    m = rig.mover
    refused(E.NDMP_PERMISSION_ERR, m.listen, READ, LOCAL)
    refused(E.NDMP_PERMISSION_ERR, m.listen, READ, TCP)
    assert m.listen(WRITE, TCP) == TCP_ADDR
    assert m.status()["state"] == S.NDMP_MOVER_STATE_LISTEN


@pytest.mark.parametrize("addr_type", [LOCAL, TCP])
@pytest.mark.parametrize("mode", [READ, WRITE])
def test_listen_series(mode, addr_type):
    """NDMJOB's ndmca_tm_listen_subr: LISTEN, what LISTEN refuses, ABORT, STOP."""
    rig = Rig()
    m = rig.mover
    addr = m.listen(mode, addr_type)
    assert addr.addr_type == addr_type
    assert rig.edge.calls == [("listen", mode, addr_type)]
    st = m.status()
    assert st["state"] == S.NDMP_MOVER_STATE_LISTEN and st["mode"] == mode and st["data_connection_addr"] == addr
    paused_states_consistent(st)
    assert not m.uses_tape
    refused(E.NDMP_ILLEGAL_STATE_ERR, m.listen, mode, addr_type)
    refused(E.NDMP_ILLEGAL_STATE_ERR, m.continue_)
    refused(E.NDMP_ILLEGAL_STATE_ERR, m.stop)
    refused(E.NDMP_ILLEGAL_STATE_ERR, m.set_window, 0, 0)                # v4: not in LISTEN
    refused(E.NDMP_ILLEGAL_STATE_ERR, m.set_record_size, 10240)
    refused(E.NDMP_ILLEGAL_STATE_ERR, m.read, 0, 10)
    m.abort()
    assert rig.state() == (S.NDMP_MOVER_STATE_HALTED, P.NDMP_MOVER_PAUSE_NA, H.NDMP_MOVER_HALT_ABORTED)
    assert rig.edge.calls[-2:] == ["close", "join"]
    [(code, post)] = rig.take_posts()
    assert code == M.NDMP_NOTIFY_MOVER_HALTED and post.reason == H.NDMP_MOVER_HALT_ABORTED
    refused(E.NDMP_ILLEGAL_STATE_ERR, m.abort)
    refused(E.NDMP_ILLEGAL_STATE_ERR, m.continue_)
    m.stop()
    assert rig.state() == (S.NDMP_MOVER_STATE_IDLE, P.NDMP_MOVER_PAUSE_NA, H.NDMP_MOVER_HALT_NA)
    assert m.status()["data_connection_addr"] == Addr(addr_type=LOCAL)
    m.listen(mode, addr_type)                       # a new connection, a new edge
    assert len(rig.edges) == 2


def test_listen_that_cannot_open_an_endpoint():
    rig = Rig()
    rig.fail_next = OSError("no free port")
    refused(E.NDMP_IO_ERR, rig.mover.listen, READ, TCP)
    assert rig.mover.status()["state"] == S.NDMP_MOVER_STATE_IDLE


def test_listen_while_the_data_service_is_busy():
    rig = Rig(data=Data(DataState.NDMP_DATA_STATE_ACTIVE))
    refused(E.NDMP_ILLEGAL_STATE_ERR, rig.mover.listen, READ, TCP)
    rig.data.state = DataState.NDMP_DATA_STATE_IDLE
    rig.mover.listen(READ, TCP)


def test_accepted_connection_goes_active():
    rig = Rig()
    m = rig.mover
    m.listen(READ, TCP)
    assert m.connected("10.0.0.1:999")
    assert rig.state() == (S.NDMP_MOVER_STATE_ACTIVE, P.NDMP_MOVER_PAUSE_NA, H.NDMP_MOVER_HALT_NA)
    assert m.uses_tape
    assert not m.connected("again")             # only from LISTEN
    refused(E.NDMP_ILLEGAL_STATE_ERR, m.set_window, 0, INFINITY)
    refused(E.NDMP_ILLEGAL_STATE_ERR, m.set_record_size, RS)
    refused(E.NDMP_ILLEGAL_STATE_ERR, m.continue_)
    refused(E.NDMP_ILLEGAL_STATE_ERR, m.stop)


def test_connection_after_abort_is_refused():
    rig = Rig()
    rig.mover.listen(WRITE, TCP)
    rig.mover.abort()
    assert not rig.mover.connected("late")


def test_local_peer_hands_out_the_other_end_once():
    rig = Rig()
    m = rig.mover
    assert m.local_peer() is None                       # IDLE
    m.listen(READ, TCP)
    assert m.local_peer() is None                       # TCP
    m.abort()
    m.stop()
    m.listen(READ, LOCAL)
    assert m.local_peer() == "the DATA service's end"
    assert m.status()["state"] == S.NDMP_MOVER_STATE_ACTIVE
    assert m.local_peer() is None


def test_connection_failure_while_listening():
    rig = Rig()
    rig.mover.listen(READ, TCP)
    rig.mover.connection_failed("accept: too many open files")
    assert rig.state() == (S.NDMP_MOVER_STATE_HALTED, P.NDMP_MOVER_PAUSE_NA, H.NDMP_MOVER_HALT_CONNECT_ERROR)
    assert [c for c, _ in rig.take_posts()] == [M.NDMP_NOTIFY_MOVER_HALTED]


# ---------------------------------------------------------------------- CONNECT

def test_connect_checks():
    rig = Rig()
    m = rig.mover
    refused(E.NDMP_ILLEGAL_ARGS_ERR, m.connect, 7, TCP_ADDR)
    refused(E.NDMP_ILLEGAL_ARGS_ERR, m.connect, READ, Addr(addr_type=AddrType.NDMP_ADDR_IPC))
    refused(E.NDMP_ILLEGAL_ARGS_ERR, m.connect, READ, Addr(addr_type=TCP, tcp_addr=[]))
    refused(E.NDMP_ILLEGAL_STATE_ERR, m.connect, READ, Addr(addr_type=LOCAL))     # no DATA service listening
    rig.tape = None
    refused(E.NDMP_DEV_NOT_OPEN_ERR, m.connect, READ, TCP_ADDR)
    rig.tape = FakeTape(writable=False)
    refused(E.NDMP_PERMISSION_ERR, m.connect, READ, TCP_ADDR)
    rig.fail_next = OSError("connection refused")
    refused(E.NDMP_CONNECT_ERR, m.connect, WRITE, TCP_ADDR)
    assert m.status()["state"] == S.NDMP_MOVER_STATE_IDLE
    m.connect(WRITE, TCP_ADDR)
    st = m.status()
    assert st["state"] == S.NDMP_MOVER_STATE_ACTIVE and st["mode"] == WRITE and st["data_connection_addr"] == TCP_ADDR
    assert rig.edge.calls == [("connect", WRITE, TCP_ADDR)]
    refused(E.NDMP_ILLEGAL_STATE_ERR, m.connect, WRITE, TCP_ADDR)


def test_connect_local_takes_the_data_services_endpoint():
    data = Data(DataState.NDMP_DATA_STATE_LISTEN, peer="data's socket")
    rig = Rig(data=data)
    rig.mover.connect(READ, Addr(addr_type=LOCAL))
    assert rig.edge.calls == [("adopt", READ, "data's socket")]
    assert rig.mover.status()["state"] == S.NDMP_MOVER_STATE_ACTIVE


def test_connect_tcp_while_the_data_service_is_busy():
    rig = Rig(data=Data(DataState.NDMP_DATA_STATE_CONNECTED))
    refused(E.NDMP_ILLEGAL_STATE_ERR, rig.mover.connect, READ, TCP_ADDR)


# ---------------------------------------------------------------------- backup decisions

def test_backup_records_and_counters():
    rig = Rig()
    m = active(rig)
    for n in range(1, 4):
        step, tape = m.next_write()
        assert step is Step.GO and tape is rig.tape
        assert m.wrote(TapeIo(E.NDMP_NO_ERR, RS))
        st = m.status()
        assert (st["bytes_moved"], st["record_num"]) == (n * RS, n)
    assert rig.posts == []


def test_early_warning_pauses_for_a_tape_change():
    rig = Rig()
    m = active(rig)
    m.next_write()
    assert m.wrote(TapeIo(E.NDMP_NO_ERR, RS))
    wakes = rig.edge.wakes
    assert m.wrote(TapeIo(E.NDMP_NO_ERR, RS, early_warning=True))          # the record is on tape
    assert rig.state() == (S.NDMP_MOVER_STATE_PAUSED, P.NDMP_MOVER_PAUSE_EOM, H.NDMP_MOVER_HALT_NA)
    assert rig.edge.wakes > wakes
    [(code, post)] = rig.take_posts()
    assert code == M.NDMP_NOTIFY_MOVER_PAUSED
    assert (post.reason, post.seek_position) == (P.NDMP_MOVER_PAUSE_EOM, 2 * RS)
    st = m.status()
    assert (st["seek_position"], st["record_num"], st["bytes_moved"]) == (2 * RS, 2, 2 * RS)
    assert not m.uses_tape                       # the DMA may close the tape and change cartridges
    assert m.next_write() == (Step.WAIT, None)
    # The tape change: TAPE_CLOSE, robot, TAPE_OPEN, SET_WINDOW, CONTINUE.
    rig.tape = None
    refused(E.NDMP_DEV_NOT_OPEN_ERR, m.continue_)
    rig.tape = FakeTape(writable=False)
    refused(E.NDMP_PERMISSION_ERR, m.continue_)
    second = rig.tape = FakeTape()
    m.set_window(2 * RS, INFINITY)
    m.continue_()
    assert rig.state() == (S.NDMP_MOVER_STATE_ACTIVE, P.NDMP_MOVER_PAUSE_NA, H.NDMP_MOVER_HALT_NA)
    step, tape = m.next_write()
    assert step is Step.GO and tape is second                  # the tape open now, not the one before
    assert m.wrote(TapeIo(E.NDMP_NO_ERR, RS))
    assert m.status()["record_num"] == 3


def test_end_of_medium_keeps_the_record_for_the_next_tape():
    rig = Rig()
    m = active(rig)
    m.next_write()
    assert not m.wrote(TapeIo(E.NDMP_EOM_ERR, 0))
    assert rig.state()[:2] == (S.NDMP_MOVER_STATE_PAUSED, P.NDMP_MOVER_PAUSE_EOM)
    assert m.status()["bytes_moved"] == 0
    m.continue_()
    assert m.next_write()[0] is Step.GO


def test_tape_error_halts_with_media_error():
    rig = Rig()
    m = active(rig)
    m.next_write()
    assert not m.wrote(TapeIo(E.NDMP_IO_ERR, 0))
    assert rig.state() == (S.NDMP_MOVER_STATE_HALTED, P.NDMP_MOVER_PAUSE_NA, H.NDMP_MOVER_HALT_MEDIA_ERROR)
    assert [c for c, _ in rig.take_posts()] == [M.NDMP_NOTIFY_MOVER_HALTED]
    assert "close" in rig.edge.calls
    assert m.next_write() == (Step.EXIT, None)
    assert not m.uses_tape


def test_end_of_window_pauses_before_the_record():
    rig = Rig()
    m = rig.mover
    m.set_record_size(RS)
    m.set_window(0, 2 * RS)
    m.listen(READ, LOCAL)
    m.local_peer()
    for _ in range(2):
        assert m.next_write()[0] is Step.GO
        m.wrote(TapeIo(E.NDMP_NO_ERR, RS))
    assert m.next_write() == (Step.WAIT, None)
    assert rig.state()[:2] == (S.NDMP_MOVER_STATE_PAUSED, P.NDMP_MOVER_PAUSE_EOW)
    [(code, post)] = rig.take_posts()
    assert (code, post.reason, post.seek_position) == (M.NDMP_NOTIFY_MOVER_PAUSED, P.NDMP_MOVER_PAUSE_EOW, 2 * RS)
    m.continue_()                                   # the same window: the same pause
    assert m.next_write() == (Step.WAIT, None)
    assert rig.state()[1] == P.NDMP_MOVER_PAUSE_EOW
    m.set_window(2 * RS, INFINITY - 2 * RS)
    m.continue_()
    assert m.next_write()[0] is Step.GO


def test_zero_window_pauses_at_once():
    rig = Rig()
    m = rig.mover
    m.set_record_size(RS)
    m.set_window(0, 0)
    active(rig)
    assert m.next_write() == (Step.WAIT, None)
    assert rig.state()[1] == P.NDMP_MOVER_PAUSE_EOW


def test_end_of_stream_flushes_then_halts():
    rig = Rig()
    m = active(rig)
    m.next_write()
    m.wrote(TapeIo(E.NDMP_NO_ERR, RS))
    assert m.next_flush() == (Step.GO, rig.tape)
    assert m.status()["state"] == S.NDMP_MOVER_STATE_ACTIVE
    m.flushed(OK)
    assert rig.state() == (S.NDMP_MOVER_STATE_HALTED, P.NDMP_MOVER_PAUSE_NA, H.NDMP_MOVER_HALT_CONNECT_CLOSED)
    [(code, post)] = rig.take_posts()
    assert (code, post.reason) == (M.NDMP_NOTIFY_MOVER_HALTED, H.NDMP_MOVER_HALT_CONNECT_CLOSED)
    assert m.next_flush() == (Step.EXIT, None)
    m.stop()
    st = m.status()
    assert st["state"] == S.NDMP_MOVER_STATE_IDLE and st["bytes_moved"] == 0 and st["record_num"] == 0
    assert st["record_size"] == RS                  # a setting: STOP keeps it


def test_end_of_stream_after_early_warning_waits_for_the_tape_change():
    rig = Rig()
    m = active(rig)
    m.next_write()
    m.wrote(TapeIo(E.NDMP_NO_ERR, RS, early_warning=True))
    assert m.next_flush() == (Step.WAIT, None)
    second = rig.tape = FakeTape()
    m.set_window(RS, INFINITY)
    m.continue_()
    assert m.next_flush() == (Step.GO, second)
    m.flushed(OK)
    assert rig.state()[2] == H.NDMP_MOVER_HALT_CONNECT_CLOSED


def test_failed_flush_is_a_media_error():
    rig = Rig()
    m = active(rig)
    m.next_flush()
    m.flushed(TapeIo(E.NDMP_IO_ERR, 0))
    assert rig.state()[2] == H.NDMP_MOVER_HALT_MEDIA_ERROR


def test_broken_connection_halts_with_connect_error():
    rig = Rig()
    m = active(rig)
    m.connection_failed("connection reset by peer")
    assert rig.state()[2] == H.NDMP_MOVER_HALT_CONNECT_ERROR
    m.connection_failed("again")                    # once halted, nothing changes
    m.connection_closed()
    m.internal_error("late")
    assert rig.state()[2] == H.NDMP_MOVER_HALT_CONNECT_ERROR
    assert len(rig.take_posts()) == 1


def test_backup_with_no_tape_left_open_is_an_internal_error():
    rig = Rig()
    m = active(rig)
    rig.tape = None
    assert m.next_write() == (Step.EXIT, None)
    assert rig.state()[2] == H.NDMP_MOVER_HALT_INTERNAL_ERROR


# ---------------------------------------------------------------------- CLOSE, ABORT, release

def test_close_in_each_state():
    rig = Rig()
    m = rig.mover
    refused(E.NDMP_ILLEGAL_STATE_ERR, m.close)                       # IDLE
    m.listen(READ, TCP)
    m.close()                                                         # LISTEN
    assert rig.state()[2] == H.NDMP_MOVER_HALT_CONNECT_CLOSED
    m.close()                                                         # HALTED: nothing left to close
    assert rig.state()[2] == H.NDMP_MOVER_HALT_CONNECT_CLOSED
    m.stop()
    active(rig)
    m.next_write()
    m.wrote(TapeIo(E.NDMP_NO_ERR, RS, early_warning=True))            # PAUSED
    rig.take_posts()
    m.close()
    assert rig.state() == (S.NDMP_MOVER_STATE_HALTED, P.NDMP_MOVER_PAUSE_NA, H.NDMP_MOVER_HALT_CONNECT_CLOSED)
    assert [c for c, _ in rig.take_posts()] == [M.NDMP_NOTIFY_MOVER_HALTED]
    m.stop()
    active(rig, WRITE)
    m.close()                                                         # ACTIVE (a restore the DMA ends)
    assert rig.state()[2] == H.NDMP_MOVER_HALT_CONNECT_CLOSED


def test_abort_when_paused():
    rig = Rig()
    m = active(rig)
    m.next_write()
    m.wrote(TapeIo(E.NDMP_NO_ERR, RS, early_warning=True))
    m.abort()
    assert rig.state() == (S.NDMP_MOVER_STATE_HALTED, P.NDMP_MOVER_PAUSE_NA, H.NDMP_MOVER_HALT_ABORTED)


def test_release_aborts_quietly():
    rig = Rig()
    m = active(rig)
    edge = rig.edge
    m.release()
    assert rig.state()[2] == H.NDMP_MOVER_HALT_ABORTED
    assert rig.posts == []                          # nobody is listening any more
    assert edge.calls[-2:] == ["close", "join"]
    assert m.next_write() == (Step.EXIT, None)
    m.release()                                     # twice is harmless


def test_release_of_an_idle_mover():
    rig = Rig()
    rig.mover.release()
    assert rig.edges == [] and rig.posts == []


# ---------------------------------------------------------------------- restore decisions

def restoring(rig: Rig, window: tuple[int, int] = (0, INFINITY)) -> Mover:
    m = rig.mover
    m.set_record_size(RS)
    m.set_window(*window)
    m.listen(WRITE, TCP)
    m.connected()
    return m


def serve(m: Mover, records: dict[int, int]) -> list[Any]:
    """Run the edge's loop against a tape of ``records`` (index -> length); the steps seen."""
    steps: list[Any] = []
    while True:
        step = m.next_read()
        steps.append(step)
        if isinstance(step, Send):
            m.sent(step.length)
        elif isinstance(step, Fetch):
            length = records.get(step.index)
            io = TapeIo(E.NDMP_NO_ERR, length) if length is not None else TapeIo(E.NDMP_EOF_ERR, 0)
            space = TapeIo(E.NDMP_NO_ERR, 0) if step.space else None
            m.fetched(step, space, io)
        else:
            return steps


def test_mover_read_checks():
    rig = Rig()
    m = rig.mover
    m.listen(WRITE, TCP)
    refused(E.NDMP_ILLEGAL_STATE_ERR, m.read, 0, 10)            # LISTEN
    m.connected()
    refused(E.NDMP_ILLEGAL_ARGS_ERR, m.read, 0, 0)
    rig.tape = None
    refused(E.NDMP_DEV_NOT_OPEN_ERR, m.read, 0, 10)
    rig.tape = FakeTape()
    m.read(0, 10)
    refused(E.NDMP_READ_IN_PROGRESS_ERR, m.read, 10, 10)
    st = m.status()
    assert (st["seek_position"], st["bytes_left_to_read"]) == (0, 10)
    other = Rig()
    active(other, READ)
    refused(E.NDMP_ILLEGAL_STATE_ERR, other.mover.read, 0, 10)  # a backup mover


def test_restore_reads_records_and_sends_the_bytes_asked():
    rig = Rig()
    m = restoring(rig)
    assert m.next_read() is Step.WAIT                          # no MOVER_READ yet
    m.read(100, RS + 50)
    steps = serve(m, {0: RS, 1: RS, 2: RS})
    assert steps == [Fetch(rig.tape, 0, 0), Send(100, RS - 100), Fetch(rig.tape, 0, 1), Send(0, 150), Step.WAIT]
    st = m.status()
    assert (st["bytes_left_to_read"], st["bytes_moved"], st["record_num"]) == (0, RS + 50, 1)
    assert rig.posts == []
    # Further on: space forward over what is not wanted.
    m.read(3 * RS + 1, 10)
    assert serve(m, {3: RS}) == [Fetch(rig.tape, 1, 3), Send(1, 10), Step.WAIT]
    # Back again: space backwards.
    m.read(RS, 10)
    assert serve(m, {1: RS}) == [Fetch(rig.tape, -3, 1), Send(0, 10), Step.WAIT]
    # Within the record in hand: no tape motion at all.
    m.read(RS + 20, 5)
    assert serve(m, {}) == [Send(20, 5), Step.WAIT]


def test_restore_outside_the_window_pauses_with_seek():
    rig = Rig()
    m = restoring(rig, (0, 2 * RS))
    m.read(2 * RS + 7, 100)
    assert m.next_read() is Step.WAIT
    assert rig.state()[:2] == (S.NDMP_MOVER_STATE_PAUSED, P.NDMP_MOVER_PAUSE_SEEK)
    [(code, post)] = rig.take_posts()
    assert (code, post.reason, post.seek_position) == (M.NDMP_NOTIFY_MOVER_PAUSED, P.NDMP_MOVER_PAUSE_SEEK,
                                                      2 * RS + 7)
    st = m.status()
    assert (st["seek_position"], st["bytes_left_to_read"]) == (2 * RS + 7, 100)
    m.set_window(2 * RS, INFINITY)                  # the DMA loaded the tape holding it
    m.continue_()
    assert serve(m, {0: RS}) == [Fetch(rig.tape, 0, 0), Send(7, 100), Step.WAIT]


def test_restore_reads_stop_at_the_windows_end():
    rig = Rig()
    m = restoring(rig, (0, RS))
    m.read(RS - 10, 30)
    steps = serve(m, {0: RS})
    assert steps == [Fetch(rig.tape, 0, 0), Send(RS - 10, 10), Step.WAIT]
    assert rig.state()[1] == P.NDMP_MOVER_PAUSE_SEEK and m.status()["seek_position"] == RS
    assert m.status()["bytes_left_to_read"] == 20


def test_restore_filemark_pauses_with_eof_and_forgets_the_position():
    rig = Rig()
    m = restoring(rig)
    m.read(0, 3 * RS)
    steps = serve(m, {0: RS})                       # record 1 is a filemark
    assert steps[-1] is Step.WAIT
    assert rig.state()[:2] == (S.NDMP_MOVER_STATE_PAUSED, P.NDMP_MOVER_PAUSE_EOF)
    assert rig.take_posts()[0][1].seek_position == RS
    m.continue_()                                   # no new window: where the tape is, only the DMA knows
    assert m.next_read() is Step.WAIT
    assert rig.state()[1] == P.NDMP_MOVER_PAUSE_SEEK
    m.set_window(RS, INFINITY)                      # the next tape holds the stream from RS
    m.continue_()
    assert serve(m, {0: RS, 1: RS}) == [Fetch(rig.tape, 0, 0), Send(0, RS), Fetch(rig.tape, 0, 1), Send(0, RS),
                                        Step.WAIT]


def test_restore_short_space_pauses_with_eof():
    rig = Rig()
    m = restoring(rig)
    m.read(5 * RS, 10)
    step = m.next_read()
    assert step == Fetch(rig.tape, 5, 5)
    m.fetched(step, TapeIo(E.NDMP_NO_ERR, 2), None)          # stopped 2 records short, before a filemark
    assert rig.state()[1] == P.NDMP_MOVER_PAUSE_EOF
    m.set_window(0, INFINITY)
    m.continue_()
    assert m.next_read() == Fetch(rig.tape, 5, 5)


def test_restore_end_of_data_pauses_with_eom_and_errors_halt():
    rig = Rig()
    m = restoring(rig)
    m.read(0, 10)
    step = m.next_read()
    m.fetched(step, None, TapeIo(E.NDMP_EOM_ERR, 0))
    assert rig.state()[1] == P.NDMP_MOVER_PAUSE_EOM
    m.set_window(0, INFINITY)
    m.continue_()
    step = m.next_read()
    m.fetched(step, None, TapeIo(E.NDMP_IO_ERR, 0))
    assert rig.state()[2] == H.NDMP_MOVER_HALT_MEDIA_ERROR
    assert m.next_read() is Step.EXIT
    assert m.status()["bytes_left_to_read"] == 0


def test_restore_failed_backward_space_is_a_media_error():
    rig = Rig()
    m = restoring(rig)
    m.read(2 * RS, 10)
    serve(m, {2: RS})
    m.read(0, 10)
    step = m.next_read()
    assert step.space == -3
    m.fetched(step, TapeIo(E.NDMP_NO_ERR, 1), None)
    assert rig.state()[2] == H.NDMP_MOVER_HALT_MEDIA_ERROR


def test_restore_short_records_are_skipped_past():
    rig = Rig()
    m = restoring(rig)
    m.read(0, RS + 10)
    steps = serve(m, {0: 100, 1: RS})
    assert steps == [Fetch(rig.tape, 0, 0), Send(0, 100), Fetch(rig.tape, 0, 1), Send(0, RS - 90), Step.WAIT]


def test_record_size_change_while_paused_drops_the_record_in_hand():
    rig = Rig()
    m = restoring(rig, (0, RS))
    m.read(0, RS + 1)
    serve(m, {0: RS})
    assert rig.state()[1] == P.NDMP_MOVER_PAUSE_SEEK
    m.set_record_size(2 * RS)
    m.set_window(0, INFINITY)
    m.continue_()
    assert m.next_read() == Fetch(rig.tape, 0, 0)


def test_restore_peer_hangup_and_release():
    rig = Rig()
    m = restoring(rig)
    m.connection_closed()
    assert rig.state()[2] == H.NDMP_MOVER_HALT_CONNECT_CLOSED
    assert m.next_read() is Step.EXIT


def test_every_state_reported_is_self_consistent():
    rig = Rig()
    m = rig.mover
    seen = [m.status()]
    m.set_record_size(RS)
    m.listen(READ, TCP)
    seen.append(m.status())
    m.connected()
    seen.append(m.status())
    m.next_write()
    m.wrote(TapeIo(E.NDMP_NO_ERR, RS, early_warning=True))
    seen.append(m.status())
    m.continue_()
    seen.append(m.status())
    m.abort()
    seen.append(m.status())
    m.stop()
    seen.append(m.status())
    assert [s["state"] for s in seen] == [S.NDMP_MOVER_STATE_IDLE, S.NDMP_MOVER_STATE_LISTEN,
                                          S.NDMP_MOVER_STATE_ACTIVE, S.NDMP_MOVER_STATE_PAUSED,
                                          S.NDMP_MOVER_STATE_ACTIVE, S.NDMP_MOVER_STATE_HALTED,
                                          S.NDMP_MOVER_STATE_IDLE]
    for st in seen:
        paused_states_consistent(st)
