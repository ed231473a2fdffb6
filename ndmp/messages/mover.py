"""MOVER interface (0xA00-0xA09): the tape-side end of a data connection."""
from __future__ import annotations

from ..constants import (
    AddrType,
    MoverHaltReason,
    MoverMode,
    MoverPauseReason,
    MoverState,
)
from ..constants import MessageCode as M
from ..xdr import UINT32, UINT64, Enum, Struct
from .common import ERROR, NO_BODY, Addr, Exchange, error_reply

MoverGetStateReply = Struct(
    "ndmp_mover_get_state_reply",
    error=ERROR, mode=Enum(MoverMode), state=Enum(MoverState), pause_reason=Enum(MoverPauseReason),
    halt_reason=Enum(MoverHaltReason), record_size=UINT32, record_num=UINT32, bytes_moved=UINT64,
    seek_position=UINT64, bytes_left_to_read=UINT64, window_offset=UINT64, window_length=UINT64,
    data_connection_addr=Addr)

MoverListenRequest = Struct("ndmp_mover_listen_request", mode=Enum(MoverMode), addr_type=Enum(AddrType))
MoverListenReply = Struct("ndmp_mover_listen_reply", error=ERROR, connect_addr=Addr)
MoverConnectRequest = Struct("ndmp_mover_connect_request", mode=Enum(MoverMode), addr=Addr)
MoverConnectReply = error_reply("ndmp_mover_connect_reply")

MoverSetRecordSizeRequest = Struct("ndmp_mover_set_record_size_request", len=UINT32)
MoverSetRecordSizeReply = error_reply("ndmp_mover_set_record_size_reply")
MoverSetWindowRequest = Struct("ndmp_mover_set_window_request", offset=UINT64, length=UINT64)
MoverSetWindowReply = error_reply("ndmp_mover_set_window_reply")
MoverReadRequest = Struct("ndmp_mover_read_request", offset=UINT64, length=UINT64)
MoverReadReply = error_reply("ndmp_mover_read_reply")

MoverContinueReply = error_reply("ndmp_mover_continue_reply")
MoverAbortReply = error_reply("ndmp_mover_abort_reply")
MoverStopReply = error_reply("ndmp_mover_stop_reply")
MoverCloseReply = error_reply("ndmp_mover_close_reply")

MESSAGES = {
    M.NDMP_MOVER_GET_STATE: Exchange(NO_BODY, MoverGetStateReply),
    M.NDMP_MOVER_LISTEN: Exchange(MoverListenRequest, MoverListenReply),
    M.NDMP_MOVER_CONTINUE: Exchange(NO_BODY, MoverContinueReply),
    M.NDMP_MOVER_ABORT: Exchange(NO_BODY, MoverAbortReply),
    M.NDMP_MOVER_STOP: Exchange(NO_BODY, MoverStopReply),
    M.NDMP_MOVER_SET_WINDOW: Exchange(MoverSetWindowRequest, MoverSetWindowReply),
    M.NDMP_MOVER_READ: Exchange(MoverReadRequest, MoverReadReply),
    M.NDMP_MOVER_CLOSE: Exchange(NO_BODY, MoverCloseReply),
    M.NDMP_MOVER_SET_RECORD_SIZE: Exchange(MoverSetRecordSizeRequest, MoverSetRecordSizeReply),
    M.NDMP_MOVER_CONNECT: Exchange(MoverConnectRequest, MoverConnectReply),
}
