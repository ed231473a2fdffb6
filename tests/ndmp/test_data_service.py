"""The DATA service over a real server and node, driven by a blocking DMA over TCP, with
the test engine of ndmp_engines writing and reading real bytes: a 2-way backup over
LOCAL onto a real cartridge and its recovery (whole and by direct access, the DMA
answering NOTIFY_DATA_READ with MOVER_READ), the swapped connection (DATA_LISTEN, then
MOVER_CONNECT), a 3-way backup and recovery with DATA on one session and the mover on
another, ABORT, STOP and GET_ENV, NOTIFY_DATA_HALTED reasons, the session limit, a
dropped control connection; the main session is decoded by tshark with nothing
malformed."""
from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest
from ndmp_capture import checked_port
from ndmp_client import NdmpClient
from ndmp_engines import PatternEngine, pattern
from ndmp_node import PASSWORD, running_server

from ndmp import codec
from ndmp.constants import (
    AddrType,
    DataHaltReason,
    DataOperation,
    DataState,
    ErrorCode,
    LogType,
    MoverHaltReason,
    MoverMode,
    MoverState,
    TapeMtioOp,
    TapeOpenMode,
)
from ndmp.constants import MessageCode as M
from ndmp.messages import data as da
from ndmp.messages import mover as mv
from ndmp.messages import tape as tp
from ndmp.messages.common import Addr, Pval
from ndmp.mover_connection import tcp_addr

E = ErrorCode
OK = E.NDMP_NO_ERR
S = DataState
H = DataHaltReason
READ, WRITE = MoverMode.NDMP_MOVER_MODE_READ, MoverMode.NDMP_MOVER_MODE_WRITE
LOCAL, TCP = AddrType.NDMP_ADDR_LOCAL, AddrType.NDMP_ADDR_TCP
INFINITY = (1 << 64) - 1
GUARD = 60.0
DRIVE0, DRIVE1 = 256, 257
FIRST, SECOND = 4096, 4097
RS = 32768


@contextlib.contextmanager
def serving(tmp_path, port: int = 0) -> Iterator:
    """A server on a real node, a cartridge in st0 and the test engine registered."""
    with running_server(tmp_path, port=port) as (srv, node, _loop):
        node.library().load(FIRST, DRIVE0)
        srv.context.engines = {"pattern": PatternEngine()}
        yield srv, node


@contextlib.contextmanager
def serving_captured(tmp_path) -> Iterator:
    """``serving``, its sessions captured and decoded by tshark when it can be (nothing
    malformed, every request answered: checked when the server has stopped)."""
    with checked_port(tmp_path / "ndmp.pcap") as port, serving(tmp_path / "node", port) as served:
        yield served


@pytest.fixture
def server(tmp_path) -> Iterator:
    with serving(tmp_path) as served:
        yield served


def client(srv) -> NdmpClient:
    return NdmpClient("127.0.0.1", srv.port).connect("ndmp", PASSWORD)


@pytest.fixture
def dma(server) -> Iterator[NdmpClient]:
    with client(server[0]) as c:
        yield c


def ok(reply: codec.Message) -> codec.Message:
    assert reply.header.error_code == OK and reply.body.error == OK, (reply.name, reply.header, reply.body)
    return reply


def error(reply: codec.Message) -> ErrorCode:
    assert reply.header.error_code == OK, reply.header
    return reply.body.error


def env(**values: object) -> list:
    return [Pval(name=k, value=str(v)) for k, v in values.items()]


def data_state(dma: NdmpClient):
    return ok(dma.call(M.NDMP_DATA_GET_STATE)).body


def mover_state(dma: NdmpClient):
    return ok(dma.call(M.NDMP_MOVER_GET_STATE)).body


def start_backup(dma: NdmpClient, **values: object) -> codec.Message:
    return dma.call(M.NDMP_DATA_START_BACKUP, da.DataStartBackupRequest(butype_name="pattern", env=env(**values)))


def start_recover(dma: NdmpClient, **values: object) -> codec.Message:
    return dma.call(M.NDMP_DATA_START_RECOVER, da.DataStartRecoverRequest(env=env(**values), nlist=[],
                                                                           butype_name="pattern"))


def data_halted(dma: NdmpClient) -> DataHaltReason:
    return dma.wait_post(M.NDMP_NOTIFY_DATA_HALTED).body.reason


def mover_halted(dma: NdmpClient) -> MoverHaltReason:
    return dma.wait_post(M.NDMP_NOTIFY_MOVER_HALTED).body.reason


def tape_open(dma: NdmpClient, device: str = "nrst0l", mode=TapeOpenMode.NDMP_TAPE_RDWR_MODE) -> None:
    ok(dma.call(M.NDMP_TAPE_OPEN, tp.TapeOpenRequest(device=device, mode=mode)))


def rewind(dma: NdmpClient) -> None:
    ok(dma.call(M.NDMP_TAPE_MTIO, tp.TapeMtioRequest(tape_op=TapeMtioOp.NDMP_MTIO_REW, count=1)))


def mover_prepare(dma: NdmpClient, rs: int = RS) -> None:
    ok(dma.call(M.NDMP_MOVER_SET_RECORD_SIZE, mv.MoverSetRecordSizeRequest(len=rs)))
    ok(dma.call(M.NDMP_MOVER_SET_WINDOW, mv.MoverSetWindowRequest(offset=0, length=INFINITY)))


def mover_listen(dma: NdmpClient, mode: MoverMode, addr_type: AddrType) -> Addr:
    return ok(dma.call(M.NDMP_MOVER_LISTEN, mv.MoverListenRequest(mode=mode, addr_type=addr_type))).body.connect_addr


def read_tape(dma: NdmpClient, rs: int = RS) -> bytes:
    out = bytearray()
    while True:
        reply = dma.call(M.NDMP_TAPE_READ, tp.TapeReadRequest(count=rs))
        if reply.body.error in (E.NDMP_EOM_ERR, E.NDMP_EOF_ERR):
            return bytes(out)
        out += ok(reply).body.data_in


def stop_both(data: NdmpClient, tape: NdmpClient) -> None:
    """What a DMA does at the end (NDMJOB's ndmca_monitor_shutdown): DATA_STOP, MOVER_STOP."""
    ok(data.call(M.NDMP_DATA_STOP))
    ok(tape.call(M.NDMP_MOVER_STOP))
    assert data_state(data).state == S.NDMP_DATA_STATE_IDLE
    assert mover_state(tape).state == MoverState.NDMP_MOVER_STATE_IDLE


def serve_reads(data: NdmpClient, tape: NdmpClient) -> list[tuple[int, int]]:
    """The DMA's side of a recovery: answer each NOTIFY_DATA_READ with MOVER_READ until the
    DATA service halts; the reads asked for."""
    reads = []
    while True:
        post = data.wait_post(lambda m: m.header.message_code in (M.NDMP_NOTIFY_DATA_READ,
                                                                    M.NDMP_NOTIFY_DATA_HALTED))
        if post.header.message_code == M.NDMP_NOTIFY_DATA_HALTED:
            data.posts.insert(0, post)
            return reads
        reads.append((post.body.offset, post.body.length))
        ok(tape.call(M.NDMP_MOVER_READ, mv.MoverReadRequest(offset=post.body.offset, length=post.body.length)))


def backup_local(dma: NdmpClient, size: int, *, swap: bool = False, **values: object) -> None:
    """A 2-way backup over LOCAL: MOVER_LISTEN + DATA_CONNECT (or DATA_LISTEN + MOVER_CONNECT)."""
    mover_prepare(dma)
    if swap:
        addr = ok(dma.call(M.NDMP_DATA_LISTEN, da.DataListenRequest(addr_type=LOCAL))).body.connect_addr
        assert addr.addr_type == LOCAL
        assert data_state(dma).state == S.NDMP_DATA_STATE_LISTEN
        ok(dma.call(M.NDMP_MOVER_CONNECT, mv.MoverConnectRequest(mode=READ, addr=addr)))
    else:
        addr = mover_listen(dma, READ, LOCAL)
        ok(dma.call(M.NDMP_DATA_CONNECT, da.DataConnectRequest(addr=addr)))
    st = data_state(dma)
    assert st.state == S.NDMP_DATA_STATE_CONNECTED and st.data_connection_addr.addr_type == LOCAL
    assert mover_state(dma).state == MoverState.NDMP_MOVER_STATE_ACTIVE
    ok(start_backup(dma, SIZE=size, **values))


# ---------------------------------------------------------------------- 2-way

def test_two_way_backup_and_recovery_decode_cleanly(tmp_path):
    """Back the test engine's bytes up to a cartridge over LOCAL, read them back with
    TAPE_READ, recover them whole and by direct access; tshark reads the session."""
    size = 5 * RS + 1234
    with serving_captured(tmp_path) as (srv, _):
        engine = srv.context.engines["pattern"]
        with client(srv) as dma:
            tape_open(dma)
            backup_local(dma, size, HIST="N")
            st = data_state(dma)
            assert st.operation == DataOperation.NDMP_DATA_OP_BACKUP
            assert data_halted(dma) == H.NDMP_DATA_HALT_SUCCESSFUL
            assert mover_halted(dma) == MoverHaltReason.NDMP_MOVER_HALT_CONNECT_CLOSED
            st = data_state(dma)
            assert (st.state, st.halt_reason, st.bytes_processed) == (S.NDMP_DATA_STATE_HALTED,
                                                                      H.NDMP_DATA_HALT_SUCCESSFUL, size)
            reply = ok(dma.call(M.NDMP_DATA_GET_ENV))
            assert [(p.name, p.value) for p in reply.body.env] == [("SIZE", str(size)), ("HIST", "N"), ("DONE", "Y")]
            assert error(dma.call(M.NDMP_DATA_ABORT)) == E.NDMP_ILLEGAL_STATE_ERR      # halted already
            stop_both(dma, dma)
            rewind(dma)
            image = read_tape(dma)
            assert len(image) == 6 * RS and image[:size] == pattern(0, size) and image[size:] == bytes(6 * RS - size)

            for offset, length in ((0, size), (3 * RS + 100, RS + 7)):   # whole, then direct access
                rewind(dma)
                mover_prepare(dma)
                addr = mover_listen(dma, WRITE, LOCAL)
                ok(dma.call(M.NDMP_DATA_CONNECT, da.DataConnectRequest(addr=addr)))
                ok(start_recover(dma, READ=f"{offset}:{length}"))
                assert serve_reads(dma, dma) == [(offset, length)]
                st = data_state(dma)
                assert (st.operation, st.read_offset, st.read_length) == (DataOperation.NDMP_DATA_OP_RECOVER,
                                                                          offset, length)
                assert data_halted(dma) == H.NDMP_DATA_HALT_SUCCESSFUL
                assert mover_halted(dma) == MoverHaltReason.NDMP_MOVER_HALT_CONNECT_CLOSED
                ok(dma.call(M.NDMP_DATA_GET_ENV))    # a recovery answers too (NDMJOB asks after one)
                stop_both(dma, dma)
                assert engine.received[-1] == pattern(offset, length)
            ok(dma.call(M.NDMP_TAPE_CLOSE))


def test_swapped_local_connection(dma):
    """DATA_LISTEN(LOCAL) then MOVER_CONNECT(LOCAL): the mover takes the DATA service's end."""
    tape_open(dma)
    backup_local(dma, 100_000, swap=True)
    assert data_halted(dma) == H.NDMP_DATA_HALT_SUCCESSFUL
    assert mover_halted(dma) == MoverHaltReason.NDMP_MOVER_HALT_CONNECT_CLOSED
    stop_both(dma, dma)
    rewind(dma)
    assert read_tape(dma)[:100_000] == pattern(0, 100_000)


def test_what_the_mover_and_data_refuse_of_each_other(dma):
    tape_open(dma)
    mover_prepare(dma)
    # DATA_CONNECT(LOCAL) needs the mover listening on LOCAL.
    assert error(dma.call(M.NDMP_DATA_CONNECT, da.DataConnectRequest(addr=Addr(addr_type=LOCAL)))) \
        == E.NDMP_ILLEGAL_STATE_ERR
    # DATA_LISTEN needs the session's mover IDLE; MOVER_LISTEN the DATA service IDLE.
    addr = mover_listen(dma, READ, TCP)
    assert error(dma.call(M.NDMP_DATA_LISTEN, da.DataListenRequest(addr_type=TCP))) == E.NDMP_ILLEGAL_STATE_ERR
    ok(dma.call(M.NDMP_MOVER_ABORT))
    ok(dma.call(M.NDMP_MOVER_STOP))
    ok(dma.call(M.NDMP_DATA_LISTEN, da.DataListenRequest(addr_type=TCP)))
    reply = dma.call(M.NDMP_MOVER_LISTEN, mv.MoverListenRequest(mode=READ, addr_type=TCP))
    assert error(reply) == E.NDMP_ILLEGAL_STATE_ERR
    # A START in the wrong state, STOP and GET_ENV out of turn.
    assert error(dma.call(M.NDMP_DATA_STOP)) == E.NDMP_ILLEGAL_STATE_ERR
    assert error(dma.call(M.NDMP_DATA_GET_ENV)) == E.NDMP_ILLEGAL_STATE_ERR
    ok(dma.call(M.NDMP_DATA_ABORT))
    assert data_halted(dma) == H.NDMP_DATA_HALT_ABORTED
    assert error(start_backup(dma)) == E.NDMP_ILLEGAL_STATE_ERR
    ok(dma.call(M.NDMP_DATA_STOP))
    assert addr.addr_type == TCP


def test_unknown_butype_and_refusal(dma):
    tape_open(dma)
    mover_prepare(dma)
    ok(dma.call(M.NDMP_DATA_CONNECT, da.DataConnectRequest(addr=mover_listen(dma, READ, LOCAL))))
    reply = dma.call(M.NDMP_DATA_START_BACKUP, da.DataStartBackupRequest(butype_name="tar", env=[]))
    assert error(reply) == E.NDMP_ILLEGAL_ARGS_ERR
    reply = start_backup(dma, REFUSE="Invalid LEVEL value 40")
    assert error(reply) == E.NDMP_ILLEGAL_ARGS_ERR
    logs = [m.body for m in dma.posts if m.header.message_code == M.NDMP_LOG_MESSAGE]
    assert [(b.log_type, b.entry) for b in logs] == [(LogType.NDMP_LOG_ERROR, "Backup type 'tar' is not supported"),
                                                     (LogType.NDMP_LOG_ERROR, "Invalid LEVEL value 40")]
    assert data_state(dma).state == S.NDMP_DATA_STATE_CONNECTED
    ok(dma.call(M.NDMP_DATA_ABORT))
    assert data_halted(dma) == H.NDMP_DATA_HALT_ABORTED
    assert mover_halted(dma) == MoverHaltReason.NDMP_MOVER_HALT_CONNECT_CLOSED
    stop_both(dma, dma)


# ---------------------------------------------------------------------- 3-way

def test_three_way_backup_and_recovery(tmp_path):
    """DATA on one session, the mover and the tape on another: DATA_CONNECT to the mover's
    TCP endpoint for the backup; DATA_LISTEN, MOVER_CONNECT and START at once for the
    recovery, whose NOTIFY_DATA_READ the DMA forwards as MOVER_READ.  tshark reads both
    sessions."""
    size = 7 * RS + 99
    with serving_captured(tmp_path) as (srv, _), client(srv) as data, client(srv) as tape:
        tape_open(tape)
        mover_prepare(tape)
        addr = mover_listen(tape, READ, TCP)
        ok(data.call(M.NDMP_DATA_CONNECT, da.DataConnectRequest(addr=addr)))
        st = data_state(data)
        assert st.state == S.NDMP_DATA_STATE_CONNECTED and st.data_connection_addr == addr
        ok(start_backup(data, SIZE=size))
        assert data_halted(data) == H.NDMP_DATA_HALT_SUCCESSFUL
        assert mover_halted(tape) == MoverHaltReason.NDMP_MOVER_HALT_CONNECT_CLOSED
        assert mover_state(tape).bytes_moved == 8 * RS
        ok(data.call(M.NDMP_DATA_STOP))
        ok(tape.call(M.NDMP_MOVER_STOP))

        rewind(tape)
        mover_prepare(tape)
        listen = ok(data.call(M.NDMP_DATA_LISTEN, da.DataListenRequest(addr_type=TCP))).body.connect_addr
        assert listen.addr_type == TCP and listen.tcp_addr[0].port > 0
        ok(tape.call(M.NDMP_MOVER_CONNECT, mv.MoverConnectRequest(mode=WRITE, addr=listen)))
        ok(start_recover(data, READ=f"{RS - 10}:{2 * RS}"))
        assert serve_reads(data, tape) == [(RS - 10, 2 * RS)]
        assert data_halted(data) == H.NDMP_DATA_HALT_SUCCESSFUL
        assert mover_halted(tape) == MoverHaltReason.NDMP_MOVER_HALT_CONNECT_CLOSED
        assert srv.context.engines["pattern"].received[-1] == pattern(RS - 10, 2 * RS)
        ok(data.call(M.NDMP_DATA_STOP))
        ok(tape.call(M.NDMP_MOVER_STOP))
        ok(tape.call(M.NDMP_TAPE_CLOSE))


# ---------------------------------------------------------------------- ABORT, halt reasons

def test_abort_mid_backup(dma):
    tape_open(dma)
    backup_local(dma, 3 * RS, WAIT="Y")
    ok(dma.call(M.NDMP_DATA_ABORT))
    st = data_state(dma)
    assert (st.state, st.halt_reason) == (S.NDMP_DATA_STATE_HALTED, H.NDMP_DATA_HALT_ABORTED)
    assert data_halted(dma) == H.NDMP_DATA_HALT_ABORTED
    mover_halted(dma)                                       # the mover saw the stream end
    assert error(dma.call(M.NDMP_DATA_ABORT)) == E.NDMP_ILLEGAL_STATE_ERR
    reply = ok(dma.call(M.NDMP_DATA_GET_ENV))                # a backup ran: its (the DMA's) environment
    assert [(p.name, p.value) for p in reply.body.env] == [("SIZE", str(3 * RS)), ("WAIT", "Y")]
    stop_both(dma, dma)
    assert [m for m in dma.posts if m.header.message_code == M.NDMP_NOTIFY_DATA_HALTED] == []   # once only


@pytest.mark.parametrize("reason", [H.NDMP_DATA_HALT_INTERNAL_ERROR, H.NDMP_DATA_HALT_CONNECT_ERROR])
def test_engine_error_reason_and_message(dma, reason):
    tape_open(dma)
    backup_local(dma, 0, FAIL="engine", FAIL_TEXT="Unable to locate snapshot", FAIL_REASON=reason.name)
    assert data_halted(dma) == reason
    log = [m.body for m in dma.posts if m.header.message_code == M.NDMP_LOG_MESSAGE][-1]
    assert (log.log_type, log.entry) == (LogType.NDMP_LOG_ERROR, "Unable to locate snapshot")
    assert data_state(dma).halt_reason == reason
    mover_halted(dma)
    stop_both(dma, dma)


def test_broken_data_connection(dma):
    """The mover end goes away mid-backup (a mover on a server we cannot see): CONNECT_ERROR."""
    with socket.create_server(("127.0.0.1", 0)) as far:
        far.settimeout(GUARD)
        ok(dma.call(M.NDMP_DATA_CONNECT, da.DataConnectRequest(addr=tcp_addr("127.0.0.1", far.getsockname()[1]))))
        conn, _ = far.accept()
    ok(start_backup(dma, SIZE=1 << 30, CHUNK=1 << 20))
    with conn:
        conn.settimeout(GUARD)
        assert conn.recv(1000)
    assert data_halted(dma) == H.NDMP_DATA_HALT_CONNECT_ERROR
    st = data_state(dma)
    assert (st.state, st.halt_reason) == (S.NDMP_DATA_STATE_HALTED, H.NDMP_DATA_HALT_CONNECT_ERROR)
    ok(dma.call(M.NDMP_DATA_STOP))


def test_session_limit(server):
    """One dump at a time: the second START is refused with the seed's message."""
    srv, _ = server
    srv.context.data_operations.limit = 1
    with client(srv) as first, client(srv) as second, socket.create_server(("127.0.0.1", 0)) as far:
        tape_open(first)
        backup_local(first, 10, WAIT="Y")
        far.settimeout(GUARD)
        ok(second.call(M.NDMP_DATA_CONNECT, da.DataConnectRequest(addr=tcp_addr("127.0.0.1", far.getsockname()[1]))))
        conn, _ = far.accept()
        with conn:
            assert error(start_backup(second, SIZE=10)) == E.NDMP_DEVICE_BUSY_ERR
            [log] = [m.body for m in second.posts if m.header.message_code == M.NDMP_LOG_MESSAGE]
            assert log.entry == "Maximum number of allowed dumps or restores (1) in progress"
            assert data_state(second).state == S.NDMP_DATA_STATE_CONNECTED
            ok(first.call(M.NDMP_DATA_ABORT))
            ok(start_backup(second, SIZE=10))
            conn.settimeout(GUARD)
            assert conn.recv(100) == pattern(0, 10)
            assert data_halted(second) == H.NDMP_DATA_HALT_SUCCESSFUL
    assert srv.context.data_operations.running == 0


def _data_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if " data-" in t.name]


def test_dropped_control_connection_ends_the_operation(server):
    srv, _ = server
    dma = client(srv)
    tape_open(dma)
    backup_local(dma, 2 * RS, WAIT="Y")
    assert _data_threads()
    dma.close()
    for _ in range(4000):                                   # the session's release runs on the server's side
        if not _data_threads() and not srv.registry.sessions():
            break
        threading.Event().wait(0.005)
    assert _data_threads() == [] and srv.context.data_operations.running == 0
    with client(srv) as other:                               # the drive is free
        tape_open(other)
        rewind(other)
        written = read_tape(other)                          # what the mover wrote before it was stopped
        assert len(written) in (0, RS, 2 * RS) and written == pattern(0, len(written))


def test_a_big_backup_through_the_mover(dma):
    """Enough bytes that the mover's buffers and the engine's sends interleave."""
    size = 24 * 1024 * 1024 // 2 + 5
    tape_open(dma)
    backup_local(dma, size, CHUNK=300_000)
    assert data_halted(dma) == H.NDMP_DATA_HALT_SUCCESSFUL
    assert mover_halted(dma) == MoverHaltReason.NDMP_MOVER_HALT_CONNECT_CLOSED
    assert mover_state(dma).bytes_moved == -(-size // RS) * RS
    stop_both(dma, dma)
    rewind(dma)
    assert read_tape(dma)[:size] == pattern(0, size)
