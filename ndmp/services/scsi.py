"""SCSI interface: a DMA drives a medium changer (robot) with raw CDBs.

SCSI_OPEN names the changer by alias (``mc0``), serial number or
``SN[serial]L<lun>``; the backend gives this session its own path (its own I_T
nexus) to it, held in ``state.robot`` until SCSI_CLOSE or the end of the
session.  SCSI_EXECUTE_CDB passes the CDB through unchanged and returns the
device's status, data and sense as they are: the DMA is the initiator, the
server only carries its commands.  Errors in the reply body: no such device
-> NDMP_NO_DEVICE_ERR, a second open -> NDMP_DEVICE_OPENED_ERR, anything
before an open -> NDMP_DEV_NOT_OPEN_ERR, bad flags or lengths ->
NDMP_ILLEGAL_ARGS_ERR, a path that failed -> NDMP_IO_ERR (NDMP_TIMEOUT_ERR when
the command timed out).  SCSI_SET_TARGET and SCSI_RESET_BUS are v3 messages NDMP
v4 dropped: the session answers them NDMP_NOT_SUPPORTED_ERR.

:func:`run_cdb` is shared with TAPE_EXECUTE_CDB.
"""
from __future__ import annotations

import logging
from typing import Any

from ..constants import ErrorCode
from ..constants import ScsiDataDir as D
from ..messages import scsi as sc
from ..scsi_path import NoSuchDevice, PathError, ScsiPath, ScsiStatus
from ..sense import SenseKey, parse_sense
from ..state import SessionState

__all__ = ["Robot", "run_cdb"]

log = logging.getLogger("ndmp.scsi")

E = ErrorCode
MAX_CDB = 260                      # SPC-4: the longest (variable-length) CDB
MAX_DATA_IN = 16 * 1024 * 1024     # the largest reply a session sends
DEFAULT_TIMEOUT = 600.0            # seconds, when the DMA gives 0
STALE_ATTENTIONS = 4


class Robot:
    """A changer open in one session (``state.robot``)."""

    def __init__(self, name: str, path: ScsiPath):
        self.name = name
        self.path = path

    def release(self) -> None:
        try:
            self.path.close()
        except Exception:
            log.exception("closing the path to changer %s failed", self.name)


def run_cdb(path: ScsiPath, body: Any) -> Any:
    """One NDMP execute_cdb request on ``path``: flags DATA_IN (1) / DATA_OUT (2),
    timeout in milliseconds, datain_len, the CDB and dataout."""
    flags = body.flags
    cdb = bytes(body.cdb)
    dataout = body.dataout
    reply_error = lambda error: sc.ExecuteCdbReply(error=error, status=0, dataout_len=0, datain=b"",
                                                   ext_sense=b"")
    both = int(D.NDMP_SCSI_DATA_IN | D.NDMP_SCSI_DATA_OUT)
    if int(flags) & ~both or int(flags) == both:
        return reply_error(E.NDMP_ILLEGAL_ARGS_ERR)
    if not 1 <= len(cdb) <= MAX_CDB:
        return reply_error(E.NDMP_ILLEGAL_ARGS_ERR)
    if len(dataout) and not flags & D.NDMP_SCSI_DATA_OUT:
        return reply_error(E.NDMP_ILLEGAL_ARGS_ERR)
    data_in = None
    if flags & D.NDMP_SCSI_DATA_IN:
        if body.datain_len > MAX_DATA_IN:
            return reply_error(E.NDMP_ILLEGAL_ARGS_ERR)
        data_in = memoryview(bytearray(body.datain_len))
    data_out = dataout if flags & D.NDMP_SCSI_DATA_OUT else None
    timeout = body.timeout / 1000.0 if body.timeout else DEFAULT_TIMEOUT
    try:
        r = path.execute(cdb, data_out, data_in, timeout=timeout)
    except TimeoutError as e:
        log.warning("CDB %s timed out: %s", cdb[:1].hex(), e)
        return reply_error(E.NDMP_TIMEOUT_ERR)
    except PathError as e:
        log.warning("CDB %s failed: %s", cdb[:1].hex(), e)
        return reply_error(E.NDMP_IO_ERR)
    return sc.ExecuteCdbReply(
        error=E.NDMP_NO_ERR, status=int(r.status),
        dataout_len=len(data_out) if data_out is not None else 0,
        datain=bytes(r.data_in) if data_in is not None else b"",
        ext_sense=bytes(r.sense) if r.status == ScsiStatus.CHECK_CONDITION else b"")


def _consume_stale_attention(path: ScsiPath) -> None:
    """A new I_T nexus starts with a power-on/reset unit attention, which a host's
    driver consumes when it attaches the device.  Our sessions each get a fresh nexus,
    so the attention says nothing about the changer: take it here (TEST UNIT READY),
    as the driver would, rather than hand it to the DMA."""
    for _ in range(STALE_ATTENTIONS):
        try:
            r = path.execute(bytes(6), None, None, timeout=60.0)
        except PathError:
            return
        s = parse_sense(r.sense) if r.status == ScsiStatus.CHECK_CONDITION else None
        if s is None or s.key != SenseKey.UNIT_ATTENTION or s.asc != 0x29:
            return


def open_(state: SessionState, body: Any) -> Any:
    if state.robot is not None:
        return sc.ScsiOpenReply(error=E.NDMP_DEVICE_OPENED_ERR)
    name = body.device
    try:
        path = state.context.backend.open_changer(name, state.initiator)
    except NoSuchDevice as e:
        log.info("session %d: SCSI_OPEN %r: %s", state.session_id, name, e)
        return sc.ScsiOpenReply(error=E.NDMP_NO_DEVICE_ERR)
    except PathError as e:
        log.warning("session %d: SCSI_OPEN %r: %s", state.session_id, name, e)
        return sc.ScsiOpenReply(error=E.NDMP_IO_ERR)
    _consume_stale_attention(path)
    state.robot = Robot(name, path)
    log.info("session %d: changer %s open", state.session_id, name)
    return sc.ScsiOpenReply(error=E.NDMP_NO_ERR)


def close(state: SessionState, body: Any) -> Any:
    robot = state.robot
    if robot is None:
        return sc.ScsiCloseReply(error=E.NDMP_DEV_NOT_OPEN_ERR)
    state.robot = None
    robot.release()
    return sc.ScsiCloseReply(error=E.NDMP_NO_ERR)


def get_state(state: SessionState, body: Any) -> Any:
    robot = state.robot
    if robot is None:
        return sc.ScsiGetStateReply(error=E.NDMP_DEV_NOT_OPEN_ERR, target_controller=0, target_id=0, target_lun=0)
    controller, target, lun = robot.path.address
    return sc.ScsiGetStateReply(error=E.NDMP_NO_ERR, target_controller=controller, target_id=target, target_lun=lun)


def reset_device(state: SessionState, body: Any) -> Any:
    robot = state.robot
    if robot is None:
        return sc.ScsiResetDeviceReply(error=E.NDMP_DEV_NOT_OPEN_ERR)
    try:
        robot.path.reset()
    except PathError as e:
        log.warning("session %d: resetting changer %s failed: %s", state.session_id, robot.name, e)
        return sc.ScsiResetDeviceReply(error=E.NDMP_IO_ERR)
    return sc.ScsiResetDeviceReply(error=E.NDMP_NO_ERR)


def execute_cdb(state: SessionState, body: Any) -> Any:
    robot = state.robot
    if robot is None:
        return sc.ExecuteCdbReply(error=E.NDMP_DEV_NOT_OPEN_ERR, status=0, dataout_len=0, datain=b"", ext_sense=b"")
    return run_cdb(robot.path, body)
