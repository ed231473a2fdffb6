"""SCSI interface (0x200-0x206): pass-through to a robot (medium changer).

``ExecuteCdbRequest`` / ``ExecuteCdbReply`` are also TAPE_EXECUTE_CDB's bodies
(the spec typedefs both from ndmp_execute_cdb_request/_reply).
"""
from __future__ import annotations

from ..constants import MessageCode as M
from ..xdr import SHORT, U_CHAR, UINT32, Struct
from .common import BULK, ERROR, NO_BODY, OPAQUE, STRING, Exchange, error_reply

ScsiOpenRequest = Struct("ndmp_scsi_open_request", device=STRING)
ScsiOpenReply = error_reply("ndmp_scsi_open_reply")
ScsiCloseReply = error_reply("ndmp_scsi_close_reply")
ScsiGetStateReply = Struct(
    "ndmp_scsi_get_state_reply", error=ERROR, target_controller=SHORT, target_id=SHORT, target_lun=SHORT)
ScsiResetDeviceReply = error_reply("ndmp_scsi_reset_device_reply")

ExecuteCdbRequest = Struct(
    "ndmp_execute_cdb_request",
    flags=UINT32, timeout=UINT32, datain_len=UINT32, cdb=OPAQUE, dataout=BULK)
ExecuteCdbReply = Struct(
    "ndmp_execute_cdb_reply",
    error=ERROR, status=U_CHAR, dataout_len=UINT32, datain=BULK, ext_sense=OPAQUE)

MESSAGES = {
    M.NDMP_SCSI_OPEN: Exchange(ScsiOpenRequest, ScsiOpenReply),
    M.NDMP_SCSI_CLOSE: Exchange(NO_BODY, ScsiCloseReply),
    M.NDMP_SCSI_GET_STATE: Exchange(NO_BODY, ScsiGetStateReply),
    M.NDMP_SCSI_RESET_DEVICE: Exchange(NO_BODY, ScsiResetDeviceReply),
    M.NDMP_SCSI_EXECUTE_CDB: Exchange(ExecuteCdbRequest, ExecuteCdbReply),
}
