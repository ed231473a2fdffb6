"""The DATA service's state machine with real data connections: every transition and
refusal (NDMJOB's test-data series among them), LOCAL and TCP endpoints, jobs of a test
engine that really moves bytes, their outcomes as halt reasons, DATA_ABORT, the session's
end, NOTIFY_DATA_READ and the server-wide session limit.  The test plays the mover's end
of each connection."""
from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Any

import pytest
from ndmp_engines import PatternEngine, pattern

from ndmp.constants import (
    AddrType,
    DataHaltReason,
    DataOperation,
    DataState,
    DataStateUnsupported,
    ErrorCode,
    HasAssociatedMessage,
    LogType,
    MoverMode,
    MoverState,
)
from ndmp.constants import MessageCode as M
from ndmp.context import DataOperations, dump_session_limit, total_memory
from ndmp.data import Data, Refused
from ndmp.data_connection import DataConnection
from ndmp.messages.common import Addr
from ndmp.mover_connection import tcp_addr, tcp_targets

E = ErrorCode
S = DataState
H = DataHaltReason
LOCAL, TCP = AddrType.NDMP_ADDR_LOCAL, AddrType.NDMP_ADDR_TCP
READ, WRITE = MoverMode.NDMP_MOVER_MODE_READ, MoverMode.NDMP_MOVER_MODE_WRITE
GUARD = 30.0


class MoverEnd:
    """The session's mover as the DATA service sees it (state, mode, address, its LOCAL
    endpoint); the test holds the mover's end of the connection."""

    def __init__(self) -> None:
        self.state = MoverState.NDMP_MOVER_STATE_IDLE
        self.mode = READ
        self.address = Addr(addr_type=LOCAL)
        self.mine: socket.socket | None = None
        self._theirs: socket.socket | None = None

    def listen_local(self, mode=READ) -> None:
        self.mine, self._theirs = socket.socketpair()
        self.mine.settimeout(GUARD)
        self.state, self.mode = MoverState.NDMP_MOVER_STATE_LISTEN, mode

    def local_peer(self) -> socket.socket | None:
        if self.state != MoverState.NDMP_MOVER_STATE_LISTEN:
            return None
        peer, self._theirs = self._theirs, None
        self.state = MoverState.NDMP_MOVER_STATE_ACTIVE
        return peer


class Rig:
    def __init__(self, limits: DataOperations | None = None, *, join_timeout: float = GUARD,
                 accept_grace: float = 5.0):
        self.engine = PatternEngine()
        self.limits = limits if limits is not None else DataOperations(limit=4)
        self.mover = MoverEnd()
        self.posts: list[tuple[int, Any]] = []
        self.data = Data(engine={"pattern": self.engine}.get, limits=self.limits,
                         post=lambda c, b: self.posts.append((c, b)), mover=lambda: self.mover,
                         edge=lambda d: DataConnection(d, host="127.0.0.1", join_timeout=join_timeout),
                         session_id=7, name="session 7 data", accept_grace=accept_grace)

    def state(self) -> tuple:
        st = self.data.status()
        return st["state"], st["halt_reason"]

    def posted(self, code: int) -> list[Any]:
        return [b for c, b in self.posts if c == code]

    def halts(self) -> list[DataHaltReason]:
        return [b.reason for b in self.posted(M.NDMP_NOTIFY_DATA_HALTED)]

    def logs(self) -> list[str]:
        return [b.entry for b in self.posted(M.NDMP_LOG_MESSAGE)]

    def wait_halted(self) -> DataHaltReason:
        for _ in range(int(GUARD / 0.005)):
            st = self.data.status()
            if st["state"] == S.NDMP_DATA_STATE_HALTED:
                return st["halt_reason"]
            time.sleep(0.005)
        raise AssertionError(f"the DATA service stayed {st['state']!r}")

    def local(self, mode=READ) -> socket.socket:
        """CONNECTED over LOCAL (DATA_CONNECT to the mover's LOCAL endpoint)."""
        self.mover.listen_local(mode)
        self.data.connect(Addr(addr_type=LOCAL))
        assert self.mover.mine is not None
        return self.mover.mine

    def release(self) -> None:
        self.data.release()
        if self.mover.mine is not None:
            self.mover.mine.close()


@pytest.fixture
def rig():
    r = Rig()
    yield r
    r.release()


def refused(error: ErrorCode, call, *args) -> Refused:
    with pytest.raises(Refused) as info:
        call(*args)
    assert info.value.error == error, info.value
    return info.value


def read_all(sock: socket.socket) -> bytes:
    out = bytearray()
    while chunk := sock.recv(1 << 16):
        out += chunk
    return bytes(out)


def consistent(st: dict) -> None:
    """NDMJOB's self-consistency check of DATA_GET_STATE."""
    if st["state"] != S.NDMP_DATA_STATE_HALTED:
        assert st["halt_reason"] == H.NDMP_DATA_HALT_NA


# ---------------------------------------------------------------------- IDLE, LISTEN (NDMJOB's series)

def test_initial_state(rig):
    st = rig.data.status()
    assert (st["state"], st["operation"], st["halt_reason"]) == (S.NDMP_DATA_STATE_IDLE,
                                                                 DataOperation.NDMP_DATA_OP_NOACTION,
                                                                 H.NDMP_DATA_HALT_NA)
    assert st["unsupported"] == DataStateUnsupported.NDMP_DATA_STATE_EST_BYTES_REMAIN_UNS \
        | DataStateUnsupported.NDMP_DATA_STATE_EST_TIME_REMAIN_UNS
    assert (st["bytes_processed"], st["est_bytes_remain"], st["read_offset"], st["read_length"]) == (0, 0, 0, 0)
    assert st["data_connection_addr"] == Addr(addr_type=LOCAL)


def test_idle_refuses_abort_stop_get_env_start(rig):
    """NDMJOB's D-IDLE: ABORT and STOP are NDMP_ILLEGAL_STATE_ERR in IDLE."""
    refused(E.NDMP_ILLEGAL_STATE_ERR, rig.data.abort)
    refused(E.NDMP_ILLEGAL_STATE_ERR, rig.data.stop)
    refused(E.NDMP_ILLEGAL_STATE_ERR, rig.data.get_env)
    refused(E.NDMP_ILLEGAL_STATE_ERR, rig.data.start, "backup", "pattern", [])
    assert rig.state() == (S.NDMP_DATA_STATE_IDLE, H.NDMP_DATA_HALT_NA) and rig.posts == []


@pytest.mark.parametrize("addr_type", [TCP, LOCAL])
def test_listen_series(rig, addr_type):
    """NDMJOB's ndmca_td_listen_subr: LISTEN, a second LISTEN and STOP refused, ABORT,
    HALTED(ABORTED), STOP, IDLE."""
    addr = rig.data.listen(addr_type)
    assert addr.addr_type == addr_type
    st = rig.data.status()
    assert st["state"] == S.NDMP_DATA_STATE_LISTEN and st["data_connection_addr"] == addr
    consistent(st)
    if addr_type == TCP:
        [(host, port)] = tcp_targets(addr)
        assert host == "127.0.0.1" and port > 0
    refused(E.NDMP_ILLEGAL_STATE_ERR, rig.data.listen, addr_type)
    refused(E.NDMP_ILLEGAL_STATE_ERR, rig.data.stop)
    rig.data.abort()
    assert rig.state() == (S.NDMP_DATA_STATE_HALTED, H.NDMP_DATA_HALT_ABORTED)
    assert rig.halts() == [H.NDMP_DATA_HALT_ABORTED]
    refused(E.NDMP_ILLEGAL_STATE_ERR, rig.data.abort)
    rig.data.stop()
    assert rig.state() == (S.NDMP_DATA_STATE_IDLE, H.NDMP_DATA_HALT_NA)
    assert rig.data.status()["data_connection_addr"] == Addr(addr_type=LOCAL)
    if addr_type == TCP:                                    # the listener is gone
        with pytest.raises(OSError):
            socket.create_connection((host, port), timeout=GUARD).close()


@pytest.mark.parametrize("addr_type", [123, AddrType.NDMP_ADDR_IPC, AddrType.NDMP_ADDR_RESERVED])
def test_listen_bogus_address_type(rig, addr_type):
    refused(E.NDMP_ILLEGAL_ARGS_ERR, rig.data.listen, addr_type)
    assert rig.state() == (S.NDMP_DATA_STATE_IDLE, H.NDMP_DATA_HALT_NA)


def test_listen_needs_the_sessions_mover_idle(rig):
    rig.mover.state = MoverState.NDMP_MOVER_STATE_LISTEN
    refused(E.NDMP_ILLEGAL_STATE_ERR, rig.data.listen, TCP)
    refused(E.NDMP_ILLEGAL_STATE_ERR, rig.data.connect, tcp_addr("127.0.0.1", 1))
    assert rig.state()[0] == S.NDMP_DATA_STATE_IDLE


def test_local_endpoint_is_taken_by_the_mover(rig):
    """LISTEN(LOCAL): the session's mover takes the other end (its MOVER_CONNECT LOCAL)."""
    rig.data.listen(LOCAL)
    peer = rig.data.local_peer()
    assert peer is not None and rig.data.local_peer() is None
    assert rig.state()[0] == S.NDMP_DATA_STATE_CONNECTED
    with peer:
        rig.mover.state, rig.mover.mode = MoverState.NDMP_MOVER_STATE_ACTIVE, READ
        rig.data.start("backup", "pattern", [("SIZE", "100000")])
        peer.settimeout(GUARD)
        assert read_all(peer) == pattern(0, 100000)
    assert rig.wait_halted() == H.NDMP_DATA_HALT_SUCCESSFUL


def test_local_peer_only_when_listening_on_local(rig):
    assert rig.data.local_peer() is None
    rig.data.listen(TCP)
    assert rig.data.local_peer() is None


# ---------------------------------------------------------------------- CONNECT

def test_connect_argument_errors(rig):
    refused(E.NDMP_ILLEGAL_ARGS_ERR, rig.data.connect, Addr(addr_type=AddrType.NDMP_ADDR_RESERVED))
    refused(E.NDMP_ILLEGAL_ARGS_ERR, rig.data.connect, Addr(addr_type=TCP, tcp_addr=[]))
    refused(E.NDMP_ILLEGAL_ARGS_ERR, rig.data.connect, None)
    refused(E.NDMP_ILLEGAL_STATE_ERR, rig.data.connect, Addr(addr_type=LOCAL))    # the mover does not listen
    assert rig.state()[0] == S.NDMP_DATA_STATE_IDLE


def test_connect_to_nobody(rig):
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
    refused(E.NDMP_CONNECT_ERR, rig.data.connect, tcp_addr("127.0.0.1", port))
    assert rig.state()[0] == S.NDMP_DATA_STATE_IDLE
    rig.data.listen(TCP)                                    # nothing was left half made


def test_connect_refused_unless_idle(rig):
    rig.data.listen(TCP)
    refused(E.NDMP_ILLEGAL_STATE_ERR, rig.data.connect, tcp_addr("127.0.0.1", 1))
    rig.mover.listen_local()
    refused(E.NDMP_ILLEGAL_STATE_ERR, rig.data.connect, Addr(addr_type=LOCAL))


# ---------------------------------------------------------------------- backups

def test_local_backup(rig):
    size = 3 * 1024 * 1024 + 17
    mine = rig.local(READ)
    st = rig.data.status()
    assert st["state"] == S.NDMP_DATA_STATE_CONNECTED and st["data_connection_addr"] == Addr(addr_type=LOCAL)
    env = [("SIZE", str(size)), ("HIST", "N")]
    rig.data.start("backup", "pattern", env)
    assert rig.data.status()["operation"] == DataOperation.NDMP_DATA_OP_BACKUP
    assert rig.data.get_env() == env                        # the DMA's, until the job returns
    assert rig.limits.running == 1
    assert read_all(mine) == pattern(0, size)
    assert rig.wait_halted() == H.NDMP_DATA_HALT_SUCCESSFUL
    assert rig.halts() == [H.NDMP_DATA_HALT_SUCCESSFUL]
    st = rig.data.status()
    assert (st["bytes_processed"], st["est_bytes_remain"]) == (size, 0)
    assert not st["unsupported"] & DataStateUnsupported.NDMP_DATA_STATE_EST_BYTES_REMAIN_UNS
    assert rig.data.get_env() == [*env, ("DONE", "Y")]
    assert rig.limits.running == 0
    [op] = rig.engine.ops
    assert (op.kind, op.butype, op.session_id) == ("backup", "pattern", 7)
    rig.data.stop()
    assert rig.data.status()["operation"] == DataOperation.NDMP_DATA_OP_NOACTION
    refused(E.NDMP_ILLEGAL_STATE_ERR, rig.data.get_env)


def test_tcp_listen_backup(rig):
    addr = rig.data.listen(TCP)
    [target] = tcp_targets(addr)
    with socket.create_connection(target, timeout=GUARD) as mine:
        for _ in range(int(GUARD / 0.005)):
            if rig.state()[0] == S.NDMP_DATA_STATE_CONNECTED:
                break
            time.sleep(0.005)
        assert rig.data.status()["data_connection_addr"] == addr
        rig.data.start("backup", "pattern", [("SIZE", "1000000")])
        assert read_all(mine) == pattern(0, 1000000)
    assert rig.wait_halted() == H.NDMP_DATA_HALT_SUCCESSFUL


def test_start_in_listen_waits_for_the_movers_connection(rig):
    """DATA_LISTEN, MOVER_CONNECT on the tape server, START at once: the START may arrive
    before our accept has run."""
    addr = rig.data.listen(TCP)
    got: list[bytes] = []

    def mover() -> None:
        time.sleep(0.3)
        with socket.create_connection(tcp_targets(addr)[0], timeout=GUARD) as s:
            got.append(read_all(s))

    t = threading.Thread(target=mover)
    t.start()
    rig.data.start("backup", "pattern", [("SIZE", "5000")])
    t.join(GUARD)
    assert got == [pattern(0, 5000)]
    assert rig.wait_halted() == H.NDMP_DATA_HALT_SUCCESSFUL


def test_start_in_listen_without_a_connection():
    r = Rig(accept_grace=0.2)
    try:
        r.data.listen(TCP)
        refused(E.NDMP_ILLEGAL_STATE_ERR, r.data.start, "backup", "pattern", [])
        assert r.state()[0] == S.NDMP_DATA_STATE_LISTEN     # still listening
    finally:
        r.release()
    r = Rig(accept_grace=GUARD)
    try:
        r.data.listen(LOCAL)                                # LOCAL: the mover has not taken its end
        t0 = time.monotonic()
        refused(E.NDMP_ILLEGAL_STATE_ERR, r.data.start, "backup", "pattern", [])
        assert time.monotonic() - t0 < 1.0
    finally:
        r.release()


# ---------------------------------------------------------------------- what START checks

def test_start_checks_the_local_mover(rig):
    rig.local(WRITE)                                         # a mover that restores
    refused(E.NDMP_ILLEGAL_STATE_ERR, rig.data.start, "backup", "pattern", [])
    rig.mover.state = MoverState.NDMP_MOVER_STATE_HALTED
    refused(E.NDMP_ILLEGAL_STATE_ERR, rig.data.start, "recover", "pattern", [])
    rig.mover.state, rig.mover.address = MoverState.NDMP_MOVER_STATE_ACTIVE, tcp_addr("127.0.0.1", 1)
    refused(E.NDMP_ILLEGAL_STATE_ERR, rig.data.start, "recover", "pattern", [])
    assert rig.engine.ops == [] and rig.state()[0] == S.NDMP_DATA_STATE_CONNECTED


def test_start_over_tcp_needs_the_sessions_mover_idle(rig):
    addr = rig.data.listen(TCP)
    with socket.create_connection(tcp_targets(addr)[0], timeout=GUARD):
        while rig.state()[0] != S.NDMP_DATA_STATE_CONNECTED:
            time.sleep(0.005)
        rig.mover.state = MoverState.NDMP_MOVER_STATE_ACTIVE
        refused(E.NDMP_ILLEGAL_STATE_ERR, rig.data.start, "backup", "pattern", [])


def test_unknown_butype(rig):
    rig.local()
    e = refused(E.NDMP_ILLEGAL_ARGS_ERR, rig.data.start, "backup", "tar", [])
    assert "tar" in str(e)
    assert rig.logs() == ["Backup type 'tar' is not supported"]
    assert rig.state()[0] == S.NDMP_DATA_STATE_CONNECTED and rig.limits.running == 0


def test_engine_refusal(rig, caplog):
    """Refusal: the reply's error, a LOG_MESSAGE with the reason, nothing runs."""
    rig.local()
    with caplog.at_level(logging.WARNING, logger="ndmp.data"):
        refused(E.NDMP_ILLEGAL_ARGS_ERR, rig.data.start, "backup", "pattern", [("REFUSE", "LEVEL 40 is invalid")])
    [post] = rig.posted(M.NDMP_LOG_MESSAGE)
    assert (post.log_type, post.entry) == (LogType.NDMP_LOG_ERROR, "LEVEL 40 is invalid")
    assert post.associated_message_valid == HasAssociatedMessage.NDMP_NO_ASSOCIATED_MESSAGE
    assert "LEVEL 40 is invalid" in caplog.text
    refused(E.NDMP_NO_DEVICE_ERR, rig.data.start, "backup", "pattern",
            [("REFUSE", "no such volume"), ("REFUSE_ERROR", "NDMP_NO_DEVICE_ERR")])
    assert rig.state()[0] == S.NDMP_DATA_STATE_CONNECTED and rig.limits.running == 0
    assert rig.halts() == []
    rig.data.abort()                                        # what a DMA does next
    assert rig.halts() == [H.NDMP_DATA_HALT_ABORTED]


def test_what_a_refusal_cannot_say(rig, caplog):
    """A Refusal with NO_ERR is an argument error; an engine that fails to prepare is
    NDMP_UNDEFINED_ERR, its traceback in our log."""
    rig.local()
    refused(E.NDMP_ILLEGAL_ARGS_ERR, rig.data.start, "backup", "pattern",
            [("REFUSE", "no"), ("REFUSE_ERROR", "NDMP_NO_ERR")])
    with caplog.at_level(logging.ERROR, logger="ndmp.data"):
        refused(E.NDMP_UNDEFINED_ERR, rig.data.start, "backup", "pattern", [("PREPARE", "crash")])
    assert "Traceback" in caplog.text and "a bug in the engine's preparation" in caplog.text
    assert rig.state()[0] == S.NDMP_DATA_STATE_CONNECTED and rig.limits.running == 0


# ---------------------------------------------------------------------- outcomes

@pytest.mark.parametrize("reason, halted", [
    (H.NDMP_DATA_HALT_INTERNAL_ERROR, H.NDMP_DATA_HALT_INTERNAL_ERROR),
    (H.NDMP_DATA_HALT_CONNECT_ERROR, H.NDMP_DATA_HALT_CONNECT_ERROR),
    (H.NDMP_DATA_HALT_NA, H.NDMP_DATA_HALT_INTERNAL_ERROR)])        # NA is no halt reason
def test_engine_error_halts_with_its_reason(rig, reason, halted):
    rig.local()
    env = [("FAIL", "engine"), ("FAIL_TEXT", "Snapshot creation failed"), ("FAIL_REASON", reason.name)]
    rig.data.start("backup", "pattern", env)
    assert rig.wait_halted() == halted
    assert rig.halts() == [halted]
    log = rig.posted(M.NDMP_LOG_MESSAGE)[-1]
    assert (log.log_type, log.entry) == (LogType.NDMP_LOG_ERROR, "Snapshot creation failed")
    assert rig.data.get_env() == env                        # the job returned nothing
    assert rig.mover.mine.recv(10) == b""                   # the connection is closed


def test_unexpected_exception_is_an_internal_error(rig, caplog):
    rig.local()
    with caplog.at_level(logging.ERROR, logger="ndmp.data"):
        rig.data.start("backup", "pattern", [("FAIL", "crash")])
        assert rig.wait_halted() == H.NDMP_DATA_HALT_INTERNAL_ERROR
    assert "Traceback" in caplog.text and "a bug in the engine" in caplog.text
    assert rig.halts() == [H.NDMP_DATA_HALT_INTERNAL_ERROR]
    assert "Internal error: RuntimeError: a bug in the engine" in rig.logs()


def test_job_raising_aborted(rig):
    rig.local()
    rig.data.start("backup", "pattern", [("FAIL", "abort")])
    assert rig.wait_halted() == H.NDMP_DATA_HALT_ABORTED


def test_broken_connection_is_a_connect_error(rig):
    mine = rig.local()
    rig.data.start("backup", "pattern", [("SIZE", str(1 << 30)), ("CHUNK", "1048576")])
    mine.recv(1000)
    mine.close()                                            # the mover is gone
    rig.mover.mine = None
    assert rig.wait_halted() == H.NDMP_DATA_HALT_CONNECT_ERROR
    assert rig.halts() == [H.NDMP_DATA_HALT_CONNECT_ERROR]
    assert any(text.startswith("Network communication error") for text in rig.logs())


# ---------------------------------------------------------------------- recovery, DAR

def test_tcp_connect_recover_with_direct_access(rig):
    """DATA_CONNECT to a mover on TCP; the engine asks for bytes 1000..6000 with
    NOTIFY_DATA_READ and gets them."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(GUARD)
        addr = tcp_addr("127.0.0.1", server.getsockname()[1])
        rig.data.connect(addr)
        conn, _ = server.accept()
    with conn:
        assert rig.data.status()["data_connection_addr"] == addr
        rig.data.start("recover", "pattern", [("READ", "1000:5000")], [])
        for _ in range(int(GUARD / 0.005)):
            if rig.posted(M.NDMP_NOTIFY_DATA_READ):
                break
            time.sleep(0.005)
        [read] = rig.posted(M.NDMP_NOTIFY_DATA_READ)
        assert (read.offset, read.length) == (1000, 5000)
        st = rig.data.status()
        assert (st["operation"], st["read_offset"], st["read_length"]) == (DataOperation.NDMP_DATA_OP_RECOVER,
                                                                           1000, 5000)
        assert rig.data.get_env() == [("READ", "1000:5000")]     # a recovery answers too (NDMJOB asks)
        conn.sendall(pattern(1000, 5000))
        conn.shutdown(socket.SHUT_WR)                           # the DMA closes the mover: end of stream
        assert rig.wait_halted() == H.NDMP_DATA_HALT_SUCCESSFUL
    assert rig.engine.received == [pattern(1000, 5000)]
    assert rig.data.status()["bytes_processed"] == 5000
    assert "recovered 5000 bytes" in rig.logs()


def test_local_recover_filehist_of_a_damaged_image(rig):
    mine = rig.local(WRITE)
    rig.data.start("recover_filehist", "pattern", [], [])
    assert rig.data.status()["operation"] == DataOperation.NDMP_DATA_OP_RECOVER_FILEHIST
    mine.sendall(b"\xff" * 100)
    mine.shutdown(socket.SHUT_WR)
    assert rig.wait_halted() == H.NDMP_DATA_HALT_INTERNAL_ERROR
    assert "the image is damaged" in rig.logs()


def test_a_read_ndmp_cannot_express_is_an_internal_error(rig):
    mine = rig.local(WRITE)
    rig.data.start("recover", "pattern", [("READ", "0:0")])
    assert rig.wait_halted() == H.NDMP_DATA_HALT_INTERNAL_ERROR
    assert rig.posted(M.NDMP_NOTIFY_DATA_READ) == []
    mine.close()
    rig.mover.mine = None


# ---------------------------------------------------------------------- ABORT, the session's end

def test_abort_while_active(rig):
    mine = rig.local()
    rig.data.start("backup", "pattern", [("SIZE", "70000"), ("WAIT", "Y")])
    assert mine.recv(1 << 20)
    rig.data.abort()                                        # returns once the job has ended
    assert rig.state() == (S.NDMP_DATA_STATE_HALTED, H.NDMP_DATA_HALT_ABORTED)
    assert rig.halts() == [H.NDMP_DATA_HALT_ABORTED]
    assert rig.engine.cancels == 1 and rig.engine.ops[0].aborted.is_set()
    read_all(mine)                                          # the connection ends
    assert rig.limits.running == 0
    refused(E.NDMP_ILLEGAL_STATE_ERR, rig.data.abort)
    rig.data.stop()
    assert rig.state()[0] == S.NDMP_DATA_STATE_IDLE


def test_abort_of_a_job_that_does_not_stop(caplog):
    r = Rig(join_timeout=0.3)
    try:
        r.local()
        r.data.start("backup", "pattern", [("WAIT", "Y"), ("CANCEL", "ignore")])
        assert r.engine.started.wait(GUARD)
        with caplog.at_level(logging.ERROR, logger="ndmp.data"):
            r.data.abort()
        assert "did not end within" in caplog.text
        assert r.state() == (S.NDMP_DATA_STATE_HALTED, H.NDMP_DATA_HALT_ABORTED)
        r.engine.release.set()                              # the job ends late: nothing more happens
        for t in threading.enumerate():
            if t.name.startswith("session 7 data-"):
                t.join(GUARD)
        assert r.halts() == [H.NDMP_DATA_HALT_ABORTED] and r.limits.running == 0
    finally:
        r.release()


def test_release_aborts_and_waits(rig):
    mine = rig.local()
    rig.data.start("backup", "pattern", [("SIZE", "1000"), ("WAIT", "Y")])
    assert rig.engine.started.wait(GUARD)
    rig.data.release()
    assert rig.state() == (S.NDMP_DATA_STATE_HALTED, H.NDMP_DATA_HALT_ABORTED)
    assert rig.halts() == []                                # nobody listens any more
    assert [t for t in threading.enumerate() if t.name.startswith("session 7 data-")] == []
    assert pattern(0, 1000).startswith(read_all(mine))         # then the end of the stream
    assert rig.limits.running == 0


def test_release_while_listening_closes_the_listener(rig):
    addr = rig.data.listen(TCP)
    rig.data.release()
    with pytest.raises(OSError):
        socket.create_connection(tcp_targets(addr)[0], timeout=GUARD).close()
    assert [t for t in threading.enumerate() if t.name.startswith("session 7 data-")] == []


# ---------------------------------------------------------------------- LOG_MESSAGE

def test_log_messages(rig):
    rig.local()
    rig.data.start("backup", "pattern", [("SIZE", "0")])
    op = rig.engine.ops[0]
    for level in ("normal", "debug", "error", "warning", "WARNING", "other"):
        op.log(level, f"a {level} line")
    rig.wait_halted()
    posts = rig.posted(M.NDMP_LOG_MESSAGE)
    types = {p.entry: p.log_type for p in posts}
    assert types["backup prepared"] == LogType.NDMP_LOG_DEBUG
    assert [types[f"a {lv} line"] for lv in ("normal", "debug", "error", "warning", "WARNING", "other")] == [
        LogType.NDMP_LOG_NORMAL, LogType.NDMP_LOG_DEBUG, LogType.NDMP_LOG_ERROR, LogType.NDMP_LOG_WARNING,
        LogType.NDMP_LOG_WARNING, LogType.NDMP_LOG_NORMAL]
    ids = [p.message_id for p in posts]
    assert ids == sorted(set(ids))


# ---------------------------------------------------------------------- session limits

def test_session_limit(caplog):
    limits = DataOperations(limit=1)
    a, b = Rig(limits), Rig(limits)
    try:
        a.local()
        a.data.start("backup", "pattern", [("SIZE", "10"), ("WAIT", "Y")])
        b.local()
        with caplog.at_level(logging.WARNING, logger="ndmp.data"):
            refused(E.NDMP_DEVICE_BUSY_ERR, b.data.start, "backup", "pattern", [("SIZE", "10")])
        assert "Maximum number of allowed dumps or restores (1) in progress" in caplog.text
        assert b.logs() == ["Maximum number of allowed dumps or restores (1) in progress"]
        assert b.engine.ops == []                           # the engine was not even asked
        a.data.abort()
        assert limits.running == 0
        b.data.start("backup", "pattern", [("SIZE", "10")])
        assert read_all(b.mover.mine) == pattern(0, 10)
        assert b.wait_halted() == H.NDMP_DATA_HALT_SUCCESSFUL
    finally:
        a.release()
        b.release()


@pytest.mark.parametrize("gib, limit", [(2, 4), (15.4, 4), (15.6, 16), (16, 16), (23.4, 16), (23.6, 32), (24, 32),
                                        (512, 32)])
def test_session_limit_by_memory(tmp_path, gib, limit):
    """Seed 002's table: 4 below 16 GB, 16 below 24 GB, 32 above; MemTotal of a 16 GiB
    machine (about 15.6 GiB) counts as 16."""
    meminfo = tmp_path / "meminfo"
    meminfo.write_text(f"MemTotal:       {int(gib * 1024 * 1024)} kB\nMemFree:         1000 kB\n")
    assert total_memory(meminfo) == int(gib * 1024 * 1024) * 1024
    assert dump_session_limit(total_memory(meminfo)) == limit


def test_session_limit_unknown_memory(tmp_path):
    assert total_memory(tmp_path / "missing") is None
    (tmp_path / "odd").write_text("MemFree: 12 kB\n")
    assert total_memory(tmp_path / "odd") is None
    assert dump_session_limit(None) == 4
    assert DataOperations().limit == dump_session_limit(total_memory())
