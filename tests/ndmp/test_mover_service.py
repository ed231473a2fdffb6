"""The MOVER service over a real server and node, driven by a blocking DMA over TCP:
backups written through a TCP data connection and read back from the cartridge with
TAPE_READ, restores with MOVER_READ, a backup spanning two cartridges (the DMA changes
tapes with the robot while the mover is paused at early warning), MOVER_CONNECT, the
LOCAL endpoint, ABORT mid-stream, and a dropped control connection."""
from __future__ import annotations

import ipaddress
import os
import socket
import threading
from collections.abc import Iterator

import pytest
from ndmp_client import NdmpClient
from ndmp_node import PASSWORD, running_server

from ndmp import codec
from ndmp.constants import (
    AddrType,
    ErrorCode,
    MoverHaltReason,
    MoverMode,
    MoverPauseReason,
    MoverState,
    TapeMtioOp,
    TapeOpenMode,
)
from ndmp.constants import MessageCode as M
from ndmp.messages import mover as mv
from ndmp.messages import scsi as sc
from ndmp.messages import tape as tp
from ndmp.messages.common import Addr
from ndmp.mover_connection import tcp_addr

E = ErrorCode
OK = E.NDMP_NO_ERR
S = MoverState
READ, WRITE = MoverMode.NDMP_MOVER_MODE_READ, MoverMode.NDMP_MOVER_MODE_WRITE
INFINITY = (1 << 64) - 1
GUARD = 60.0            # seconds a socket may block before the test is declared hung
DRIVE = 256             # st0's element address in the test library
FIRST, SECOND = 4096, 4097


@pytest.fixture
def server(tmp_path) -> Iterator:
    with running_server(tmp_path) as (srv, node, _loop):
        node.library().load(FIRST, DRIVE)
        yield srv, node


@pytest.fixture
def dma(server) -> Iterator[NdmpClient]:
    srv, _ = server
    with NdmpClient("127.0.0.1", srv.port).connect("ndmp", PASSWORD) as client:
        yield client


def ok(reply: codec.Message) -> codec.Message:
    assert reply.header.error_code == OK and reply.body.error == OK, (reply.name, reply.header, reply.body)
    return reply


def error(reply: codec.Message) -> ErrorCode:
    assert reply.header.error_code == OK, reply.header
    return reply.body.error


def tape_open(dma: NdmpClient, mode=TapeOpenMode.NDMP_TAPE_RDWR_MODE, device: str = "nrst0l") -> None:
    ok(dma.call(M.NDMP_TAPE_OPEN, tp.TapeOpenRequest(device=device, mode=mode)))


def mtio(dma: NdmpClient, op: TapeMtioOp, count: int = 1) -> codec.Message:
    return dma.call(M.NDMP_TAPE_MTIO, tp.TapeMtioRequest(tape_op=op, count=count))


def mover_state(dma: NdmpClient):
    return ok(dma.call(M.NDMP_MOVER_GET_STATE)).body


def prepare(dma: NdmpClient, record_size: int, offset: int = 0, length: int = INFINITY) -> None:
    ok(dma.call(M.NDMP_MOVER_SET_RECORD_SIZE, mv.MoverSetRecordSizeRequest(len=record_size)))
    ok(dma.call(M.NDMP_MOVER_SET_WINDOW, mv.MoverSetWindowRequest(offset=offset, length=length)))


def listen(dma: NdmpClient, mode: MoverMode) -> tuple[str, int]:
    reply = ok(dma.call(M.NDMP_MOVER_LISTEN, mv.MoverListenRequest(mode=mode, addr_type=AddrType.NDMP_ADDR_TCP)))
    addr = reply.body.connect_addr
    assert addr.addr_type == AddrType.NDMP_ADDR_TCP and len(addr.tcp_addr) == 1
    a = addr.tcp_addr[0]
    assert a.port > 0
    return str(ipaddress.IPv4Address(a.ip_addr)), a.port


def data_socket(address: tuple[str, int]) -> socket.socket:
    sock = socket.create_connection(address, timeout=GUARD)
    sock.settimeout(GUARD)
    return sock


def wait_state(dma: NdmpClient, state: MoverState, tries: int = 2000):
    """Poll MOVER_GET_STATE until the mover is in ``state`` (the edge runs on its own threads)."""
    for _ in range(tries):
        st = mover_state(dma)
        if st.state == state:
            return st
        threading.Event().wait(0.005)
    raise AssertionError(f"the mover stayed {st.state!r}, never {state!r}")


def read_tape(dma: NdmpClient, record_size: int) -> list[bytes]:
    """Every record from the head to end of data (a filemark ends it too)."""
    records = []
    while True:
        reply = dma.call(M.NDMP_TAPE_READ, tp.TapeReadRequest(count=record_size))
        if reply.body.error in (E.NDMP_EOM_ERR, E.NDMP_EOF_ERR):
            return records
        ok(reply)
        records.append(bytes(reply.body.data_in))


def recv_exactly(sock: socket.socket, n: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        assert chunk, f"the mover closed the data connection after {len(out)} of {n} bytes"
        out += chunk
    return bytes(out)


class Sender(threading.Thread):
    """Sends ``data`` on ``sock`` and closes it (the DATA server's side of a backup)."""

    def __init__(self, sock: socket.socket, data: bytes, *, close: bool = True):
        super().__init__(daemon=True)
        self.sock, self.data, self.close_after = sock, data, close
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            self.sock.sendall(self.data)
            if self.close_after:
                self.sock.close()
        except OSError as e:
            self.error = e


def move_medium(dma: NdmpClient, source: int, destination: int) -> None:
    cdb = bytes([0xA5, 0, 0, 0]) + source.to_bytes(2, "big") + destination.to_bytes(2, "big") + bytes(4)
    reply = ok(dma.call(M.NDMP_SCSI_EXECUTE_CDB, sc.ExecuteCdbRequest(
        flags=0, timeout=60000, datain_len=0, cdb=cdb, dataout=b"")))
    assert reply.body.status == 0, reply.body


# ---------------------------------------------------------------------- backup

def test_backup_over_tcp_is_on_the_tape_in_records(dma):
    rs = 32768
    data = os.urandom(40 * rs + 1000)            # the last record is partial
    tape_open(dma)
    prepare(dma, rs)
    address = listen(dma, READ)
    assert address[0] == "127.0.0.1"
    st = mover_state(dma)
    assert (st.state, st.mode, st.record_size) == (S.NDMP_MOVER_STATE_LISTEN, READ, rs)
    sock = data_socket(address)
    sender = Sender(sock, data[:rs], close=False)
    sender.join(GUARD)
    wait_state(dma, S.NDMP_MOVER_STATE_ACTIVE)
    # While the mover has the tape, the TAPE service must not move it.
    assert error(dma.call(M.NDMP_TAPE_WRITE, tp.TapeWriteRequest(data_out=b"x" * 512))) == E.NDMP_ILLEGAL_STATE_ERR
    assert error(mtio(dma, TapeMtioOp.NDMP_MTIO_REW)) == E.NDMP_ILLEGAL_STATE_ERR
    assert error(dma.call(M.NDMP_TAPE_CLOSE)) == E.NDMP_ILLEGAL_STATE_ERR
    assert error(dma.call(M.NDMP_MOVER_SET_RECORD_SIZE, mv.MoverSetRecordSizeRequest(len=rs))) \
        == E.NDMP_ILLEGAL_STATE_ERR
    sender = Sender(sock, data[rs:])
    sender.join(GUARD)
    assert sender.error is None
    halted = dma.wait_post(M.NDMP_NOTIFY_MOVER_HALTED)
    assert halted.body.reason == MoverHaltReason.NDMP_MOVER_HALT_CONNECT_CLOSED
    st = mover_state(dma)
    assert (st.state, st.halt_reason, st.pause_reason) == (S.NDMP_MOVER_STATE_HALTED,
                                                           MoverHaltReason.NDMP_MOVER_HALT_CONNECT_CLOSED,
                                                           MoverPauseReason.NDMP_MOVER_PAUSE_NA)
    assert (st.bytes_moved, st.record_num) == (41 * rs, 41)
    ok(dma.call(M.NDMP_MOVER_STOP))
    assert mover_state(dma).state == S.NDMP_MOVER_STATE_IDLE
    ok(mtio(dma, TapeMtioOp.NDMP_MTIO_REW))
    records = read_tape(dma, 2 * rs)
    assert [len(r) for r in records] == [rs] * 41
    stream = b"".join(records)
    assert stream[:len(data)] == data
    assert stream[len(data):] == bytes(41 * rs - len(data))       # padded with zeros to the record size
    ok(dma.call(M.NDMP_TAPE_CLOSE))


def test_backup_spanning_two_cartridges(dma):
    """16 MiB cartridges, ~25 MiB of stream: the mover pauses at early warning, the DMA
    closes the tape, moves the next cartridge in with the robot, opens it, sets the window
    where the first tape ended and continues.  Both tapes together hold the stream."""
    rs = 65536
    data = os.urandom(25 * 1024 * 1024 + 12345)
    tape_open(dma)
    prepare(dma, rs)
    sock = data_socket(listen(dma, READ))
    sender = Sender(sock, data)
    paused = dma.wait_post(M.NDMP_NOTIFY_MOVER_PAUSED)
    assert paused.body.reason == MoverPauseReason.NDMP_MOVER_PAUSE_EOM
    at = paused.body.seek_position
    assert 0 < at < len(data) and at % rs == 0
    st = mover_state(dma)
    assert (st.state, st.pause_reason, st.seek_position) == (S.NDMP_MOVER_STATE_PAUSED,
                                                             MoverPauseReason.NDMP_MOVER_PAUSE_EOM, at)
    assert st.record_num * rs == at == st.bytes_moved
    # The tape change, as a DMA does it: unload, close, robot, open, window, continue.
    ok(mtio(dma, TapeMtioOp.NDMP_MTIO_OFF))
    ok(dma.call(M.NDMP_TAPE_CLOSE))
    ok(dma.call(M.NDMP_SCSI_OPEN, sc.ScsiOpenRequest(device="mc0")))
    move_medium(dma, DRIVE, FIRST)
    move_medium(dma, SECOND, DRIVE)
    assert error(dma.call(M.NDMP_MOVER_CONTINUE)) == E.NDMP_DEV_NOT_OPEN_ERR      # no tape open yet
    tape_open(dma)
    ok(dma.call(M.NDMP_MOVER_SET_WINDOW, mv.MoverSetWindowRequest(offset=at, length=INFINITY)))
    ok(dma.call(M.NDMP_MOVER_CONTINUE))
    halted = dma.wait_post(M.NDMP_NOTIFY_MOVER_HALTED)
    assert halted.body.reason == MoverHaltReason.NDMP_MOVER_HALT_CONNECT_CLOSED
    sender.join(GUARD)
    assert sender.error is None
    records = -(-len(data) // rs)
    st = mover_state(dma)
    assert (st.bytes_moved, st.record_num, st.window_offset) == (records * rs, records, at)
    ok(dma.call(M.NDMP_MOVER_STOP))
    ok(mtio(dma, TapeMtioOp.NDMP_MTIO_REW))
    second = b"".join(read_tape(dma, rs))
    ok(mtio(dma, TapeMtioOp.NDMP_MTIO_OFF))
    ok(dma.call(M.NDMP_TAPE_CLOSE))
    move_medium(dma, DRIVE, SECOND)
    move_medium(dma, FIRST, DRIVE)
    tape_open(dma, TapeOpenMode.NDMP_TAPE_READ_MODE)
    ok(mtio(dma, TapeMtioOp.NDMP_MTIO_REW))
    first = b"".join(read_tape(dma, rs))
    ok(dma.call(M.NDMP_TAPE_CLOSE))
    assert len(first) == at and len(second) == records * rs - at
    stream = first + second
    assert stream[:len(data)] == data and stream[len(data):] == bytes(len(stream) - len(data))


def test_backup_pauses_at_the_end_of_its_window(dma):
    rs = 16384
    data = os.urandom(5 * rs)
    tape_open(dma)
    prepare(dma, rs, 0, 3 * rs)
    sock = data_socket(listen(dma, READ))
    sender = Sender(sock, data)
    paused = dma.wait_post(M.NDMP_NOTIFY_MOVER_PAUSED)
    assert (paused.body.reason, paused.body.seek_position) == (MoverPauseReason.NDMP_MOVER_PAUSE_EOW, 3 * rs)
    assert mover_state(dma).bytes_moved == 3 * rs
    ok(dma.call(M.NDMP_MOVER_SET_WINDOW, mv.MoverSetWindowRequest(offset=3 * rs, length=INFINITY - 3 * rs)))
    ok(dma.call(M.NDMP_MOVER_CONTINUE))
    assert dma.wait_post(M.NDMP_NOTIFY_MOVER_HALTED).body.reason == MoverHaltReason.NDMP_MOVER_HALT_CONNECT_CLOSED
    sender.join(GUARD)
    ok(dma.call(M.NDMP_MOVER_STOP))
    ok(mtio(dma, TapeMtioOp.NDMP_MTIO_REW))
    assert b"".join(read_tape(dma, rs)) == data


def test_record_size_changed_while_paused(dma):
    """The buffers already filled at the old size are cut again at the new one."""
    rs = 16384
    data = os.urandom(6 * rs + 100)
    tape_open(dma)
    prepare(dma, rs, 0, 2 * rs)
    sock = data_socket(listen(dma, READ))
    sender = Sender(sock, data)
    assert dma.wait_post(M.NDMP_NOTIFY_MOVER_PAUSED).body.reason == MoverPauseReason.NDMP_MOVER_PAUSE_EOW
    sender.join(GUARD)                  # everything sent: the mover's buffers hold the rest
    prepare(dma, rs // 2, 2 * rs)
    ok(dma.call(M.NDMP_MOVER_CONTINUE))
    assert dma.wait_post(M.NDMP_NOTIFY_MOVER_HALTED).body.reason == MoverHaltReason.NDMP_MOVER_HALT_CONNECT_CLOSED
    st = mover_state(dma)
    assert (st.record_size, st.bytes_moved) == (rs // 2, 2 * rs + 9 * (rs // 2))
    ok(dma.call(M.NDMP_MOVER_STOP))
    ok(mtio(dma, TapeMtioOp.NDMP_MTIO_REW))
    records = read_tape(dma, rs)
    assert [len(r) for r in records] == [rs, rs] + [rs // 2] * 9
    stream = b"".join(records)
    assert stream[:len(data)] == data and stream[len(data):] == bytes(len(stream) - len(data))


def test_backup_refused_on_a_read_only_tape(dma):
    tape_open(dma, TapeOpenMode.NDMP_TAPE_READ_MODE)
    reply = dma.call(M.NDMP_MOVER_LISTEN, mv.MoverListenRequest(mode=READ, addr_type=AddrType.NDMP_ADDR_TCP))
    assert error(reply) == E.NDMP_PERMISSION_ERR
    assert mover_state(dma).state == S.NDMP_MOVER_STATE_IDLE


# ---------------------------------------------------------------------- restore

def write_records(dma: NdmpClient, records: list[bytes]) -> None:
    for r in records:
        reply = ok(dma.call(M.NDMP_TAPE_WRITE, tp.TapeWriteRequest(data_out=r)))
        assert reply.body.count == len(r)
    ok(mtio(dma, TapeMtioOp.NDMP_MTIO_REW))


def test_restore_sends_the_bytes_asked_for(dma):
    rs = 8192
    records = [os.urandom(rs) for _ in range(12)]
    stream = b"".join(records)
    tape_open(dma)
    write_records(dma, records)
    prepare(dma, rs)
    sock = data_socket(listen(dma, WRITE))
    wait_state(dma, S.NDMP_MOVER_STATE_ACTIVE)
    for offset, length in ((2 * rs + 100, rs + 500), (10, 50), (7 * rs, 3 * rs), (11 * rs + rs // 2, rs // 2)):
        ok(dma.call(M.NDMP_MOVER_READ, mv.MoverReadRequest(offset=offset, length=length)))
        assert recv_exactly(sock, length) == stream[offset:offset + length]
    st = wait_state(dma, S.NDMP_MOVER_STATE_ACTIVE)
    assert st.bytes_left_to_read == 0
    assert st.bytes_moved == rs + 500 + 50 + 3 * rs + rs // 2
    # Past the end of what is on the tape: end of data pauses the mover.
    ok(dma.call(M.NDMP_MOVER_READ, mv.MoverReadRequest(offset=12 * rs, length=100)))
    paused = dma.wait_post(M.NDMP_NOTIFY_MOVER_PAUSED)
    assert (paused.body.reason, paused.body.seek_position) == (MoverPauseReason.NDMP_MOVER_PAUSE_EOM, 12 * rs)
    # The DMA has nothing more: it closes the data connection; the DATA server sees the end.
    ok(dma.call(M.NDMP_MOVER_CLOSE))
    assert dma.wait_post(M.NDMP_NOTIFY_MOVER_HALTED).body.reason == MoverHaltReason.NDMP_MOVER_HALT_CONNECT_CLOSED
    assert sock.recv(10) == b""
    ok(dma.call(M.NDMP_MOVER_STOP))
    ok(dma.call(M.NDMP_TAPE_CLOSE))


def test_restore_with_a_record_size_smaller_than_the_tapes(dma, caplog):
    """Records of 16 KiB read with a record size of 8 KiB would lose half of each: the mover
    halts with a media error and the seed's "Tape record size is too small" instead."""
    tape_open(dma)
    write_records(dma, [os.urandom(16384) for _ in range(3)])
    prepare(dma, 8192)
    sock = data_socket(listen(dma, WRITE))
    wait_state(dma, S.NDMP_MOVER_STATE_ACTIVE)
    with caplog.at_level("ERROR", logger="ndmp.mover"):
        ok(dma.call(M.NDMP_MOVER_READ, mv.MoverReadRequest(offset=0, length=16384)))
        assert dma.wait_post(M.NDMP_NOTIFY_MOVER_HALTED).body.reason == MoverHaltReason.NDMP_MOVER_HALT_MEDIA_ERROR
    assert "Tape record size is too small. Try a larger size." in caplog.text
    sock.close()
    ok(dma.call(M.NDMP_MOVER_STOP))
    ok(dma.call(M.NDMP_TAPE_CLOSE))


def test_restore_a_read_in_progress_and_a_read_outside_the_window(dma):
    rs = 8192
    records = [os.urandom(rs) for _ in range(8)]
    stream = b"".join(records)
    tape_open(dma)
    write_records(dma, records)
    prepare(dma, rs, 0, 4 * rs)
    sock = data_socket(listen(dma, WRITE))
    wait_state(dma, S.NDMP_MOVER_STATE_ACTIVE)
    ok(dma.call(M.NDMP_MOVER_READ, mv.MoverReadRequest(offset=3 * rs, length=2 * rs)))
    first = recv_exactly(sock, rs)                      # the window holds one record of it
    assert first == stream[3 * rs:4 * rs]
    paused = dma.wait_post(M.NDMP_NOTIFY_MOVER_PAUSED)
    assert (paused.body.reason, paused.body.seek_position) == (MoverPauseReason.NDMP_MOVER_PAUSE_SEEK, 4 * rs)
    st = mover_state(dma)
    assert (st.state, st.bytes_left_to_read) == (S.NDMP_MOVER_STATE_PAUSED, rs)
    assert error(dma.call(M.NDMP_MOVER_READ, mv.MoverReadRequest(offset=0, length=1))) == E.NDMP_ILLEGAL_STATE_ERR
    # The DMA positions the tape where the rest is and says so with a window.
    ok(mtio(dma, TapeMtioOp.NDMP_MTIO_REW))
    ok(mtio(dma, TapeMtioOp.NDMP_MTIO_FSR, 4))
    ok(dma.call(M.NDMP_MOVER_SET_WINDOW, mv.MoverSetWindowRequest(offset=4 * rs, length=4 * rs)))
    ok(dma.call(M.NDMP_MOVER_CONTINUE))
    assert recv_exactly(sock, rs) == stream[4 * rs:5 * rs]
    ok(dma.call(M.NDMP_MOVER_ABORT))
    assert dma.wait_post(M.NDMP_NOTIFY_MOVER_HALTED).body.reason == MoverHaltReason.NDMP_MOVER_HALT_ABORTED
    assert sock.recv(10) == b""


def test_mover_connect_to_a_listening_data_server(dma):
    rs = 4096
    records = [os.urandom(rs) for _ in range(3)]
    tape_open(dma)
    write_records(dma, records)
    prepare(dma, rs)
    with socket.create_server(("127.0.0.1", 0)) as data_server:
        port = data_server.getsockname()[1]
        ok(dma.call(M.NDMP_MOVER_CONNECT, mv.MoverConnectRequest(mode=WRITE, addr=tcp_addr("127.0.0.1", port))))
        data_server.settimeout(GUARD)
        conn, _ = data_server.accept()
    with conn:
        conn.settimeout(GUARD)
        st = mover_state(dma)
        assert st.state == S.NDMP_MOVER_STATE_ACTIVE and st.data_connection_addr.tcp_addr[0].port == port
        ok(dma.call(M.NDMP_MOVER_READ, mv.MoverReadRequest(offset=rs - 1, length=2)))
        assert recv_exactly(conn, 2) == records[0][-1:] + records[1][:1]
        conn.shutdown(socket.SHUT_RDWR)                 # the DATA server is done: the mover sees it
        assert dma.wait_post(M.NDMP_NOTIFY_MOVER_HALTED).body.reason \
            == MoverHaltReason.NDMP_MOVER_HALT_CONNECT_CLOSED


def test_mover_connect_to_nobody(dma):
    tape_open(dma)
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]                       # closed again: nobody listens there
    reply = dma.call(M.NDMP_MOVER_CONNECT, mv.MoverConnectRequest(mode=READ, addr=tcp_addr("127.0.0.1", port)))
    assert error(reply) == E.NDMP_CONNECT_ERR
    assert mover_state(dma).state == S.NDMP_MOVER_STATE_IDLE
    reply = dma.call(M.NDMP_MOVER_CONNECT, mv.MoverConnectRequest(mode=READ, addr=Addr(
        addr_type=AddrType.NDMP_ADDR_LOCAL)))
    assert error(reply) == E.NDMP_ILLEGAL_STATE_ERR       # no DATA service listens on LOCAL


def test_local_endpoint_is_taken_by_the_data_service(server, dma):
    """LISTEN(LOCAL): the session's DATA service takes the other end with local_peer()."""
    srv, _ = server
    rs = 4096
    tape_open(dma)
    prepare(dma, rs)
    reply = ok(dma.call(M.NDMP_MOVER_LISTEN, mv.MoverListenRequest(mode=READ, addr_type=AddrType.NDMP_ADDR_LOCAL)))
    assert reply.body.connect_addr == Addr(addr_type=AddrType.NDMP_ADDR_LOCAL)
    [info] = srv.registry.sessions()
    mover = srv.registry.get(info.session_id).state.mover
    peer = mover.local_peer()
    assert peer is not None and mover.local_peer() is None
    assert mover_state(dma).state == S.NDMP_MOVER_STATE_ACTIVE
    data = os.urandom(3 * rs)
    with peer:
        peer.sendall(data)
    assert dma.wait_post(M.NDMP_NOTIFY_MOVER_HALTED).body.reason == MoverHaltReason.NDMP_MOVER_HALT_CONNECT_CLOSED
    ok(dma.call(M.NDMP_MOVER_STOP))
    ok(mtio(dma, TapeMtioOp.NDMP_MTIO_REW))
    assert b"".join(read_tape(dma, rs)) == data


# ---------------------------------------------------------------------- abort, dropped connection

def test_abort_mid_stream(dma):
    rs = 32768
    tape_open(dma)
    prepare(dma, rs)
    sock = data_socket(listen(dma, READ))
    Sender(sock, os.urandom(8 * rs), close=False).join(GUARD)
    wait_moved(dma, 8 * rs)
    ok(dma.call(M.NDMP_MOVER_ABORT))
    st = mover_state(dma)
    assert (st.state, st.halt_reason) == (S.NDMP_MOVER_STATE_HALTED, MoverHaltReason.NDMP_MOVER_HALT_ABORTED)
    assert st.bytes_moved == 8 * rs
    assert dma.wait_post(M.NDMP_NOTIFY_MOVER_HALTED).body.reason == MoverHaltReason.NDMP_MOVER_HALT_ABORTED
    assert sock.recv(10) == b""                         # the mover closed the data connection
    assert error(dma.call(M.NDMP_MOVER_ABORT)) == E.NDMP_ILLEGAL_STATE_ERR
    ok(mtio(dma, TapeMtioOp.NDMP_MTIO_REW))             # the tape is the DMA's again
    assert len(read_tape(dma, rs)) == 8
    ok(dma.call(M.NDMP_MOVER_STOP))
    assert mover_state(dma).state == S.NDMP_MOVER_STATE_IDLE


def wait_moved(dma: NdmpClient, n: int, tries: int = 2000) -> None:
    for _ in range(tries):
        if mover_state(dma).bytes_moved >= n:
            return
        threading.Event().wait(0.005)
    raise AssertionError(f"the mover never moved {n} bytes")


def _mover_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if " mover-" in t.name]


def test_dropped_control_connection_releases_everything(server):
    srv, _ = server
    rs = 32768
    dma = NdmpClient("127.0.0.1", srv.port).connect("ndmp", PASSWORD)
    tape_open(dma)
    prepare(dma, rs)
    sock = data_socket(listen(dma, READ))
    Sender(sock, os.urandom(4 * rs), close=False).join(GUARD)
    wait_moved(dma, 4 * rs)
    assert _mover_threads()
    dma.close()
    assert sock.recv(10) == b""                         # the data connection is closed
    sock.close()
    for _ in range(2000):                               # the session's release runs on the server's side
        if not _mover_threads() and not srv.registry.sessions():
            break
        threading.Event().wait(0.005)
    assert _mover_threads() == []
    # The drive is free: another session opens it.
    with NdmpClient("127.0.0.1", srv.port).connect("ndmp", PASSWORD) as other:
        tape_open(other)
        ok(mtio(other, TapeMtioOp.NDMP_MTIO_REW))
        assert len(read_tape(other, rs)) == 4           # what was moved before the drop is on the tape
        ok(other.call(M.NDMP_TAPE_CLOSE))
