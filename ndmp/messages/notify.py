"""NOTIFY interface (0x501-0x505): posts from a server to the DMA; never answered."""
from __future__ import annotations

from ..constants import (
    ConnectionStatusReason,
    DataHaltReason,
    MoverHaltReason,
    MoverPauseReason,
)
from ..constants import MessageCode as M
from ..xdr import U_SHORT, UINT64, Enum, Struct
from .common import STRING, post

NotifyDataHaltedPost = Struct("ndmp_notify_data_halted_post", reason=Enum(DataHaltReason))
NotifyConnectionStatusPost = Struct(
    "ndmp_notify_connection_status_post",
    reason=Enum(ConnectionStatusReason), protocol_version=U_SHORT, text_reason=STRING)
NotifyMoverHaltedPost = Struct("ndmp_notify_mover_halted_post", reason=Enum(MoverHaltReason))
NotifyMoverPausedPost = Struct(
    "ndmp_notify_mover_paused_post", reason=Enum(MoverPauseReason), seek_position=UINT64)
NotifyDataReadPost = Struct("ndmp_notify_data_read_post", offset=UINT64, length=UINT64)

MESSAGES = {
    M.NDMP_NOTIFY_DATA_HALTED: post(NotifyDataHaltedPost),
    M.NDMP_NOTIFY_CONNECTION_STATUS: post(NotifyConnectionStatusPost),
    M.NDMP_NOTIFY_MOVER_HALTED: post(NotifyMoverHaltedPost),
    M.NDMP_NOTIFY_MOVER_PAUSED: post(NotifyMoverPausedPost),
    M.NDMP_NOTIFY_DATA_READ: post(NotifyDataReadPost),
}
