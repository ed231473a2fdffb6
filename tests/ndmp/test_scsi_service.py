"""The SCSI interface over a real server: a DMA opens the node's changer by any of its
names and drives it with raw CDBs; what the robot did shows in the node's inventory."""
from __future__ import annotations

import pytest
from ndmp_client import NdmpClient
from ndmp_node import PASSWORD, running_server

from ndmp.constants import ErrorCode as E
from ndmp.constants import MessageCode as M
from ndmp.constants import MessageType
from ndmp.constants import ScsiDataDir as D
from ndmp.header import HEADER, Header
from ndmp.messages import scsi as sc
from ndmp.record import frame
from ndmp.sense import SenseKey, parse_sense

TRANSPORT, MAILSLOT, DRIVE0, FIRST_SLOT, EMPTY_SLOT = 1, 16, 256, 4096, 4104
GOOD, CHECK = 0, 2


@pytest.fixture
def server(tmp_path):
    with running_server(tmp_path) as (srv, node, _loop):
        yield srv, node


@pytest.fixture
def dma(server):
    srv, _ = server
    with NdmpClient("127.0.0.1", srv.port).connect("ndmp", PASSWORD) as c:
        yield c


def open_(dma, name: str) -> E:
    return dma.call(M.NDMP_SCSI_OPEN, sc.ScsiOpenRequest(device=name)).body.error


def cdb(dma, command: bytes, flags: int = 0, datain_len: int = 0, dataout: bytes = b"", timeout: int = 30000):
    return dma.call(M.NDMP_SCSI_EXECUTE_CDB, sc.ExecuteCdbRequest(
        flags=flags, timeout=timeout, datain_len=datain_len, cdb=command, dataout=dataout)).body


def move(dma, source: int, destination: int):
    return cdb(dma, bytes([0xA5, 0]) + TRANSPORT.to_bytes(2, "big") + source.to_bytes(2, "big")
               + destination.to_bytes(2, "big") + bytes(4))


def element_status(dma, address: int) -> tuple[bool, str]:
    """READ ELEMENT STATUS with VOLTAG for one element: (full, barcode)."""
    rep = cdb(dma, bytes([0xB8, 0x10]) + address.to_bytes(2, "big") + (1).to_bytes(2, "big") + bytes([0])
              + (1024).to_bytes(3, "big") + bytes(2), D.NDMP_SCSI_DATA_IN, 1024)
    assert (rep.error, rep.status) == (E.NDMP_NO_ERR, GOOD)
    data = bytes(rep.datain)
    descriptor = data[16:]
    full = bool(descriptor[2] & 0x01)
    return full, descriptor[12:44].decode("ascii").strip() if full else ""


def ready(dma):
    """TEST UNIT READY until the changer has no unit attention left for us."""
    for _ in range(8):
        rep = cdb(dma, bytes(6))
        if rep.status == GOOD:
            return
    raise AssertionError(f"changer not ready: {parse_sense(bytes(rep.ext_sense))}")


@pytest.mark.parametrize("name", ["mc0", "TESTCHG0", "SN[TESTCHG0]", "SN[TESTCHG0]L0"])
def test_open_by_any_name(dma, name):
    assert open_(dma, name) == E.NDMP_NO_ERR
    assert open_(dma, name) == E.NDMP_DEVICE_OPENED_ERR
    assert open_(dma, "mc0") == E.NDMP_DEVICE_OPENED_ERR
    st = dma.call(M.NDMP_SCSI_GET_STATE).body
    assert (st.error, st.target_controller, st.target_id, st.target_lun) == (E.NDMP_NO_ERR, 0, 0, 0)
    assert dma.call(M.NDMP_SCSI_CLOSE).body.error == E.NDMP_NO_ERR


def test_unknown_names_and_not_open(dma):
    assert open_(dma, "mc7") == E.NDMP_NO_DEVICE_ERR
    assert open_(dma, "st0") == E.NDMP_NO_DEVICE_ERR            # a drive is not a changer
    assert dma.call(M.NDMP_SCSI_CLOSE).body.error == E.NDMP_DEV_NOT_OPEN_ERR
    assert dma.call(M.NDMP_SCSI_GET_STATE).body.error == E.NDMP_DEV_NOT_OPEN_ERR
    assert dma.call(M.NDMP_SCSI_RESET_DEVICE).body.error == E.NDMP_DEV_NOT_OPEN_ERR
    assert cdb(dma, bytes(6)).error == E.NDMP_DEV_NOT_OPEN_ERR


def test_inquiry_and_bad_arguments(dma):
    assert open_(dma, "mc0") == E.NDMP_NO_ERR
    inq = cdb(dma, bytes([0x12, 0, 0, 0, 96, 0]), D.NDMP_SCSI_DATA_IN, 96)
    assert (inq.error, inq.status, inq.dataout_len, inq.ext_sense) == (E.NDMP_NO_ERR, GOOD, 0, b"")
    data = bytes(inq.datain)
    assert data[0] & 0x1F == 0x08 and data[8:16].strip() == b"IBM" and data[16:32].strip() == b"3573-TL"
    assert cdb(dma, bytes([0x12, 0, 0, 0, 96, 0]), D.NDMP_SCSI_DATA_IN | D.NDMP_SCSI_DATA_OUT, 96).error \
        == E.NDMP_ILLEGAL_ARGS_ERR
    assert cdb(dma, b"", D.NDMP_SCSI_DATA_IN, 96).error == E.NDMP_ILLEGAL_ARGS_ERR
    assert cdb(dma, bytes(6), 0, 0, b"stray data").error == E.NDMP_ILLEGAL_ARGS_ERR
    assert cdb(dma, bytes(6), 4).error == E.NDMP_ILLEGAL_ARGS_ERR


def test_moves_show_in_the_inventory(server, dma):
    _, node = server
    lib = node.library()
    assert open_(dma, "mc0") == E.NDMP_NO_ERR
    ready(dma)
    assert element_status(dma, FIRST_SLOT) == (True, "TST000L8")
    rep = move(dma, FIRST_SLOT, DRIVE0)
    assert (rep.error, rep.status) == (E.NDMP_NO_ERR, GOOD)
    assert lib.element(DRIVE0).barcode == "TST000L8" and lib.element(FIRST_SLOT).barcode is None
    assert element_status(dma, DRIVE0) == (True, "TST000L8")
    # an empty source: CHECK CONDITION, the changer's own sense handed back
    rep = move(dma, FIRST_SLOT, EMPTY_SLOT)
    assert (rep.error, rep.status) == (E.NDMP_NO_ERR, CHECK)
    s = parse_sense(bytes(rep.ext_sense))
    assert s.key == SenseKey.ILLEGAL_REQUEST and s.code == (0x3B, 0x0E)        # medium source element empty
    # the drive threaded it: a robot cannot take it before the drive unloads (a vendor ASC: 3B/90)
    rep = move(dma, DRIVE0, FIRST_SLOT)
    assert rep.status == CHECK and parse_sense(bytes(rep.ext_sense)).code == (0x3B, 0x90)
    bay = node.find_device("st0").bay
    with bay.lock:
        bay.drive.unthread()                                                    # the drive unloads
    assert move(dma, DRIVE0, FIRST_SLOT).status == GOOD
    assert lib.element(FIRST_SLOT).barcode == "TST000L8"


def test_data_out(dma):
    assert open_(dma, "mc0") == E.NDMP_NO_ERR
    ready(dma)
    # MODE SELECT(6) of a bare header: four bytes out, nothing changed
    rep = cdb(dma, bytes([0x15, 0x10, 0, 0, 4, 0]), D.NDMP_SCSI_DATA_OUT, dataout=bytes(4))
    assert (rep.error, rep.status, rep.dataout_len) == (E.NDMP_NO_ERR, GOOD, 4)


def test_reset_device(dma):
    assert open_(dma, "mc0") == E.NDMP_NO_ERR
    ready(dma)
    assert dma.call(M.NDMP_SCSI_RESET_DEVICE).body.error == E.NDMP_NO_ERR
    rep = cdb(dma, bytes(6))                       # the reset is announced to us like to any initiator
    assert rep.status == CHECK and parse_sense(bytes(rep.ext_sense)).is_(SenseKey.UNIT_ATTENTION, 0x29)


def test_robot_released_with_the_session(server):
    srv, node = server
    a = NdmpClient("127.0.0.1", srv.port).connect("ndmp", PASSWORD)
    assert open_(a, "mc0") == E.NDMP_NO_ERR
    a.close()
    with NdmpClient("127.0.0.1", srv.port).connect("ndmp", PASSWORD) as b:
        assert open_(b, "mc0") == E.NDMP_NO_ERR      # a changer is shared: no claim on it
        ready(b)
        assert move(b, FIRST_SLOT, DRIVE0).status == GOOD
    assert node.library().element(DRIVE0).barcode == "TST000L8"


def test_set_target_is_a_v3_message(dma):
    """SCSI_SET_TARGET (0x203) and RESET_BUS (0x205) left the protocol with v4."""
    for code in (0x203, 0x205):
        dma.sequence += 1
        header = Header(dma.sequence, 0, MessageType.NDMP_MESSAGE_REQUEST, code, 0, E.NDMP_NO_ERR)
        dma.sock.sendall(frame(HEADER.encode(header) + bytes(8)))
        reply = dma._next()
        assert reply.header.message_code == code and reply.header.reply_sequence == dma.sequence
        assert reply.header.error_code == E.NDMP_NOT_SUPPORTED_ERR
