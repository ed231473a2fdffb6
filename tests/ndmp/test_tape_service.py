"""The TAPE interface over a real server and a real node, spoken by a DMA on a socket:
the v4 rules NDMJOB's test-tape checks, two sessions competing for one drive, a
connection dropped in the middle of a write, reservations seen from another
initiator, pass-through CDBs, the backup event log, and the mover's hold on the tape."""
from __future__ import annotations

import time

import pytest
from ndmp_client import NdmpClient
from ndmp_dma import USERS, Dma
from ndmp_node import PASSWORD, make_node, running_server

from ndmp.auth import Authenticator
from ndmp.constants import ErrorCode as E
from ndmp.constants import LogType
from ndmp.constants import MessageCode as M
from ndmp.constants import ScsiDataDir as D
from ndmp.constants import TapeMtioOp as O
from ndmp.constants import TapeStateUnsupported as U
from ndmp.context import ServerContext
from ndmp.event_log import EventLog, read_events
from ndmp.messages import scsi as sc
from ndmp.messages import tape as tp
from ndmp.sense import SenseKey, parse_sense
from ndmp.session import Session
from scsi import Nexus
from vtl.ndmp_backend import NodeBackend

READ, RDWR, RAW = 0, 1, 2
FIRST_SLOT, DRIVE0 = 4096, 256
GUARD = 30.0         # seconds: only so that a hang ends the test


@pytest.fixture
def server(tmp_path):
    with running_server(tmp_path) as (srv, node, _loop):
        node.library().load(FIRST_SLOT, DRIVE0)
        yield srv, node


def client(srv) -> NdmpClient:
    return NdmpClient("127.0.0.1", srv.port).connect("ndmp", PASSWORD)


def tape_open(dma, device="nrst0l", mode=RDWR) -> E:
    return dma.call(M.NDMP_TAPE_OPEN, tp.TapeOpenRequest(device=device, mode=mode)).body.error


def write(dma, data: bytes):
    body = dma.call(M.NDMP_TAPE_WRITE, tp.TapeWriteRequest(data_out=data)).body
    return body.error, body.count


def read(dma, count: int):
    body = dma.call(M.NDMP_TAPE_READ, tp.TapeReadRequest(count=count)).body
    return body.error, bytes(body.data_in)


def mtio(dma, op: O, count: int):
    body = dma.call(M.NDMP_TAPE_MTIO, tp.TapeMtioRequest(tape_op=op, count=count)).body
    return body.error, body.resid_count


def state(dma):
    return dma.call(M.NDMP_TAPE_GET_STATE).body


def close(dma) -> E:
    return dma.call(M.NDMP_TAPE_CLOSE).body.error


def until(condition, what: str) -> None:
    """Wait for something the server does after a connection ends (a guard, not a timing)."""
    deadline = time.monotonic() + GUARD
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen")
        time.sleep(0.01)


def test_not_open_and_open_rules(server):
    srv, _ = server
    with client(srv) as dma:
        assert close(dma) == E.NDMP_DEV_NOT_OPEN_ERR
        s = state(dma)
        assert s.error == E.NDMP_DEV_NOT_OPEN_ERR and s.unsupported & U.NDMP_TAPE_STATE_FILE_NUM_UNS
        assert write(dma, b"x") == (E.NDMP_DEV_NOT_OPEN_ERR, 0)
        assert read(dma, 10)[0] == E.NDMP_DEV_NOT_OPEN_ERR
        assert mtio(dma, O.NDMP_MTIO_REW, 1)[0] == E.NDMP_DEV_NOT_OPEN_ERR
        assert tape_open(dma, "bogus", READ) == E.NDMP_NO_DEVICE_ERR
        assert tape_open(dma, "nrst7l", READ) == E.NDMP_NO_DEVICE_ERR
        assert tape_open(dma, "nrst0l", 123) == E.NDMP_ILLEGAL_ARGS_ERR
        assert tape_open(dma, "nrst1l", READ) == E.NDMP_NO_TAPE_LOADED_ERR
        assert tape_open(dma, "nrst0l", READ) == E.NDMP_NO_ERR
        assert tape_open(dma, "nrst0l", READ) == E.NDMP_DEVICE_OPENED_ERR
        assert tape_open(dma, "nrst1l", READ) == E.NDMP_DEVICE_OPENED_ERR
        assert close(dma) == E.NDMP_NO_ERR
        assert close(dma) == E.NDMP_DEV_NOT_OPEN_ERR


def test_read_only_zero_lengths_and_oversized_reads(server):
    srv, _ = server
    with client(srv) as dma:
        assert tape_open(dma, mode=READ) == E.NDMP_NO_ERR
        assert write(dma, b"x" * 1024) == (E.NDMP_PERMISSION_ERR, 0)
        assert mtio(dma, O.NDMP_MTIO_EOF, 1) == (E.NDMP_PERMISSION_ERR, 1)
        assert read(dma, 0) == (E.NDMP_NO_ERR, b"")
        assert read(dma, 0x80000000) == (E.NDMP_ILLEGAL_ARGS_ERR, b"")
        assert close(dma) == E.NDMP_NO_ERR
        assert tape_open(dma, mode=RAW) == E.NDMP_NO_ERR
        assert write(dma, b"") == (E.NDMP_NO_ERR, 0)            # v4: zero length is a no-op
        assert close(dma) == E.NDMP_NO_ERR


def test_v4_filemark_and_end_of_data(server):
    srv, _ = server
    with client(srv) as dma:
        assert tape_open(dma) == E.NDMP_NO_ERR
        assert write(dma, b"A" * 1024) == (E.NDMP_NO_ERR, 1024)
        assert mtio(dma, O.NDMP_MTIO_EOF, 1) == (E.NDMP_NO_ERR, 0)
        assert write(dma, b"B" * 512) == (E.NDMP_NO_ERR, 512)
        assert mtio(dma, O.NDMP_MTIO_EOF, 1) == (E.NDMP_NO_ERR, 0)
        assert mtio(dma, O.NDMP_MTIO_REW, 1) == (E.NDMP_NO_ERR, 0)
        assert read(dma, 4096) == (E.NDMP_NO_ERR, b"A" * 1024)        # a longer read: the record
        assert read(dma, 4096) == (E.NDMP_EOF_ERR, b"")
        s = state(dma)                                                 # on the BOT side of the filemark
        assert s.file_num == 0 and s.unsupported & U.NDMP_TAPE_STATE_BLOCKNO_UNS
        assert read(dma, 4096) == (E.NDMP_EOF_ERR, b"")               # still there: the DMA skips it
        assert mtio(dma, O.NDMP_MTIO_FSF, 1) == (E.NDMP_NO_ERR, 0)
        s = state(dma)
        assert (s.file_num, s.blockno, s.unsupported & U.NDMP_TAPE_STATE_BLOCKNO_UNS) == (1, 0, 0)
        assert read(dma, 100) == (E.NDMP_NO_ERR, b"B" * 100)          # a shorter read: the buffer
        assert read(dma, 100) == (E.NDMP_EOF_ERR, b"")
        assert mtio(dma, O.NDMP_MTIO_FSF, 1) == (E.NDMP_NO_ERR, 0)
        assert read(dma, 100) == (E.NDMP_EOM_ERR, b"")                # end of data, not EOF (v4)
        s = state(dma)
        assert (s.error, s.file_num, s.block_size, s.total_space) == (E.NDMP_NO_ERR, 2, 0, 16 << 20)
        assert close(dma) == E.NDMP_NO_ERR


def test_a_drive_open_in_another_session_is_busy(server):
    srv, _ = server
    with client(srv) as a, client(srv) as b:
        assert tape_open(a, "nrst0l", READ) == E.NDMP_NO_ERR
        assert tape_open(b, "rst0a", READ) == E.NDMP_DEVICE_BUSY_ERR   # another name, the same drive
        assert tape_open(b, "nrst1l", READ) == E.NDMP_NO_TAPE_LOADED_ERR
        assert close(a) == E.NDMP_NO_ERR
        assert tape_open(b, "rst0a", READ) == E.NDMP_NO_ERR
        assert close(b) == E.NDMP_NO_ERR


def test_dropped_connection_mid_write(tmp_path):
    with running_server(tmp_path) as (srv, node, _loop):
        node.library().load(FIRST_SLOT, DRIVE0)
        srv.context.tape_reservations = "persistent"
        srv.context.event_log = log = EventLog(tmp_path / "log")
        records = [bytes([i]) * (1000 + i) for i in range(20)]
        a = client(srv)
        assert tape_open(a) == E.NDMP_NO_ERR
        host = Nexus("iqn.1994-05.com.example:host", 1)
        drive = node.find_device("st0")

        def host_write(data: bytes) -> int:
            for _ in range(8):             # the host's own unit attentions first
                r = drive.execute(host, bytes([0x0A, 0]) + len(data).to_bytes(3, "big") + bytes(1), data, None)
                s = parse_sense(bytes(r.sense)) if r.sense else None
                if s is None or s.key != SenseKey.UNIT_ATTENTION:
                    return r.status
            return r.status

        for rec in records:
            assert write(a, rec) == (E.NDMP_NO_ERR, len(rec))
        assert host_write(b"intruder") == 0x18                   # RESERVATION CONFLICT while open
        a.close()                                                # no TAPE_CLOSE: the connection just ends
        until(lambda: srv.context.claims.owner("TESTDRV0") is None, "releasing the dropped session's drive")
        assert host_write(b"host") == 0                          # the reservation is gone
        with client(srv) as b:
            assert tape_open(b, "nrst0l", READ) == E.NDMP_NO_ERR
            assert mtio(b, O.NDMP_MTIO_REW, 1) == (E.NDMP_NO_ERR, 0)
            for rec in records:                                  # every acknowledged record is there
                assert read(b, 65536) == (E.NDMP_NO_ERR, rec)
            assert read(b, 65536) == (E.NDMP_NO_ERR, b"host")
            assert read(b, 65536)[0] == E.NDMP_EOM_ERR
            assert close(b) == E.NDMP_NO_ERR
        events = [(r.kind, r.event, r.info) for r in read_events(log.path) if r.kind != "log"]
        assert events == [("dmp", "Tape_open", "nrst0l"), ("dmp", "Tape_close", "nrst0l"),
                          ("rst", "Tape_open", "nrst0l"), ("rst", "Tape_close", "nrst0l")]


def test_preemption_is_told_to_the_dma(tmp_path):
    with running_server(tmp_path) as (srv, node, _loop):
        node.library().load(FIRST_SLOT, DRIVE0)
        srv.context.tape_reservations = "scsi"
        with client(srv) as dma:
            assert tape_open(dma) == E.NDMP_NO_ERR
            assert write(dma, b"x" * 100) == (E.NDMP_NO_ERR, 100)
            drive = node.find_device("st0")
            drive.device.logical_unit_reset()                    # the SCSI-2 reservation is lost...
            host = Nexus("iqn.1994-05.com.example:host", 1)
            for _ in range(8):                                   # ...and another initiator takes the drive
                r = drive.execute(host, bytes([0x16, 0, 0, 0, 0, 0]), None, None)
                if r.status == 0:
                    break
            assert r.status == 0
            assert write(dma, b"y" * 100) == (E.NDMP_IO_ERR, 0)
            post = dma.wait_post(M.NDMP_LOG_MESSAGE)
            assert post.body.log_type == LogType.NDMP_LOG_ERROR
            assert post.body.entry == "Tape reservation preempted: nrst0l"
            assert mtio(dma, O.NDMP_MTIO_REW, 1)[0] == E.NDMP_IO_ERR
            assert close(dma) == E.NDMP_NO_ERR


def test_early_warning_is_eom_with_the_record_written(server):
    srv, _ = server
    with client(srv) as dma:
        assert tape_open(dma) == E.NDMP_NO_ERR
        record = bytes(512 * 1024)
        replies = []
        while not replies or replies[-1][0] == E.NDMP_NO_ERR:
            replies.append(write(dma, record))
            assert len(replies) < 40
        assert replies[-1] == (E.NDMP_EOM_ERR, len(record))              # early warning: written
        while replies[-1][1]:
            replies.append(write(dma, record))
            assert len(replies) < 40
        assert replies[-1] == (E.NDMP_EOM_ERR, 0)                        # physical end: not written
        written = sum(1 for _, n in replies if n)
        assert mtio(dma, O.NDMP_MTIO_REW, 1) == (E.NDMP_NO_ERR, 0)
        assert mtio(dma, O.NDMP_MTIO_FSR, 100) == (E.NDMP_NO_ERR, 100 - written)
        assert close(dma) == E.NDMP_NO_ERR


def cdb_request(cdb: bytes, flags: int = 0, datain_len: int = 0, dataout: bytes = b"", timeout: int = 0):
    return sc.ExecuteCdbRequest(flags=flags, timeout=timeout, datain_len=datain_len, cdb=cdb, dataout=dataout)


def test_execute_cdb_through_the_tape(server):
    srv, _ = server
    with client(srv) as dma:
        rep = dma.call(M.NDMP_TAPE_EXECUTE_CDB, cdb_request(bytes([0x12, 0, 0, 0, 96, 0]), D.NDMP_SCSI_DATA_IN, 96))
        assert rep.body.error == E.NDMP_DEV_NOT_OPEN_ERR
        assert tape_open(dma) == E.NDMP_NO_ERR
        inq = dma.call(M.NDMP_TAPE_EXECUTE_CDB, cdb_request(bytes([0x12, 0, 0, 0, 96, 0]), D.NDMP_SCSI_DATA_IN, 96))
        assert (inq.body.error, inq.body.status) == (E.NDMP_NO_ERR, 0)
        assert bytes(inq.body.datain)[8:16].strip() == b"IBM" and bytes(inq.body.datain)[16:27] == b"ULT3580-TD8"
        # READ(6) at end of data: CHECK CONDITION, the sense handed back as it is
        rd = dma.call(M.NDMP_TAPE_EXECUTE_CDB, cdb_request(bytes([0x08, 0, 0, 0x04, 0, 0]), D.NDMP_SCSI_DATA_IN, 1024))
        assert (rd.body.error, rd.body.status) == (E.NDMP_NO_ERR, 2)
        assert parse_sense(bytes(rd.body.ext_sense)).key == SenseKey.BLANK_CHECK
        # WRITE(6) of 4 bytes, data out
        wr = dma.call(M.NDMP_TAPE_EXECUTE_CDB, cdb_request(bytes([0x0A, 0, 0, 0, 4, 0]), D.NDMP_SCSI_DATA_OUT,
                                                            dataout=b"cdb!"))
        assert (wr.body.error, wr.body.status, wr.body.dataout_len) == (E.NDMP_NO_ERR, 0, 4)
        both = dma.call(M.NDMP_TAPE_EXECUTE_CDB, cdb_request(bytes(6), D.NDMP_SCSI_DATA_IN | D.NDMP_SCSI_DATA_OUT))
        assert both.body.error == E.NDMP_ILLEGAL_ARGS_ERR
        assert state(dma).unsupported & U.NDMP_TAPE_STATE_FILE_NUM_UNS   # a raw CDB may have moved the tape
        assert mtio(dma, O.NDMP_MTIO_REW, 1) == (E.NDMP_NO_ERR, 0)
        assert read(dma, 100) == (E.NDMP_NO_ERR, b"cdb!")
        assert close(dma) == E.NDMP_NO_ERR


class ActiveMover:
    """The mover's side of the contract the tape service reads: ``uses_tape``."""

    def __init__(self) -> None:
        self.uses_tape = True
        self.released = False

    def release(self) -> None:
        self.released = True


def test_the_mover_holds_the_tape_while_active(tmp_path):
    node = make_node(tmp_path)
    try:
        node.library().load(FIRST_SLOT, DRIVE0)
        ctx = ServerContext(NodeBackend(node), Authenticator(USERS))
        dma = Dma(Session(ctx, session_id=1))
        dma.login()
        assert dma.call(M.NDMP_TAPE_OPEN, tp.TapeOpenRequest(device="nrst0l", mode=RDWR)).body.error == E.NDMP_NO_ERR
        dma.session.state.mover = mover = ActiveMover()
        refused = [
            dma.call(M.NDMP_TAPE_WRITE, tp.TapeWriteRequest(data_out=b"x")).body.error,
            dma.call(M.NDMP_TAPE_READ, tp.TapeReadRequest(count=10)).body.error,
            dma.call(M.NDMP_TAPE_MTIO, tp.TapeMtioRequest(tape_op=O.NDMP_MTIO_REW, count=1)).body.error,
            dma.call(M.NDMP_TAPE_CLOSE).body.error,
            dma.call(M.NDMP_TAPE_EXECUTE_CDB, cdb_request(bytes(6))).body.error,
        ]
        assert refused == [E.NDMP_ILLEGAL_STATE_ERR] * 5
        assert dma.call(M.NDMP_TAPE_GET_STATE).body.error == E.NDMP_NO_ERR       # always answered
        mover.uses_tape = False                                                  # PAUSED: a tape change
        assert dma.call(M.NDMP_TAPE_CLOSE).body.error == E.NDMP_NO_ERR
        dma.session.release()
        assert mover.released and ctx.claims.owner("TESTDRV0") is None
    finally:
        node.close()
