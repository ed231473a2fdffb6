"""TAPE interface (0x300-0x307): open, position and read/write a tape drive."""
from __future__ import annotations

from ..constants import MessageCode as M
from ..constants import TapeMtioOp, TapeOpenMode
from ..xdr import UINT32, UINT64, Enum, Struct
from .common import BULK, ERROR, NO_BODY, STRING, Exchange, error_reply
from .scsi import ExecuteCdbReply, ExecuteCdbRequest

TapeOpenRequest = Struct("ndmp_tape_open_request", device=STRING, mode=Enum(TapeOpenMode))
TapeOpenReply = error_reply("ndmp_tape_open_reply")
TapeCloseReply = error_reply("ndmp_tape_close_reply")

TapeGetStateReply = Struct(
    "ndmp_tape_get_state_reply",
    unsupported=UINT32, error=ERROR, flags=UINT32, file_num=UINT32, soft_errors=UINT32,
    block_size=UINT32, blockno=UINT32, total_space=UINT64, space_remain=UINT64)

TapeMtioRequest = Struct("ndmp_tape_mtio_request", tape_op=Enum(TapeMtioOp), count=UINT32)
TapeMtioReply = Struct("ndmp_tape_mtio_reply", error=ERROR, resid_count=UINT32)

TapeWriteRequest = Struct("ndmp_tape_write_request", data_out=BULK)
TapeWriteReply = Struct("ndmp_tape_write_reply", error=ERROR, count=UINT32)
TapeReadRequest = Struct("ndmp_tape_read_request", count=UINT32)
TapeReadReply = Struct("ndmp_tape_read_reply", error=ERROR, data_in=BULK)

MESSAGES = {
    M.NDMP_TAPE_OPEN: Exchange(TapeOpenRequest, TapeOpenReply),
    M.NDMP_TAPE_CLOSE: Exchange(NO_BODY, TapeCloseReply),
    M.NDMP_TAPE_GET_STATE: Exchange(NO_BODY, TapeGetStateReply),
    M.NDMP_TAPE_MTIO: Exchange(TapeMtioRequest, TapeMtioReply),
    M.NDMP_TAPE_WRITE: Exchange(TapeWriteRequest, TapeWriteReply),
    M.NDMP_TAPE_READ: Exchange(TapeReadRequest, TapeReadReply),
    M.NDMP_TAPE_EXECUTE_CDB: Exchange(ExecuteCdbRequest, ExecuteCdbReply),
}
