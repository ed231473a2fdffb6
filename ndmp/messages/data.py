"""DATA interface (0x400-0x40B): the data service that runs backups and recoveries."""
from __future__ import annotations

from ..constants import AddrType, DataHaltReason, DataOperation, DataState
from ..constants import MessageCode as M
from ..xdr import UINT32, UINT64, Array, Enum, Struct
from .common import ERROR, NO_BODY, PVALS, STRING, Addr, Exchange, error_reply

DataGetStateReply = Struct(
    "ndmp_data_get_state_reply",
    unsupported=UINT32, error=ERROR, operation=Enum(DataOperation), state=Enum(DataState),
    halt_reason=Enum(DataHaltReason), bytes_processed=UINT64, est_bytes_remain=UINT64,
    est_time_remain=UINT32, data_connection_addr=Addr, read_offset=UINT64, read_length=UINT64)

DataListenRequest = Struct("ndmp_data_listen_request", addr_type=Enum(AddrType))
DataListenReply = Struct("ndmp_data_listen_reply", error=ERROR, connect_addr=Addr)
DataConnectRequest = Struct("ndmp_data_connect_request", addr=Addr)
DataConnectReply = error_reply("ndmp_data_connect_reply")

DataStartBackupRequest = Struct("ndmp_data_start_backup_request", butype_name=STRING, env=PVALS)
DataStartBackupReply = error_reply("ndmp_data_start_backup_reply")

Name = Struct(
    "ndmp_name",
    original_path=STRING, destination_dir=STRING, name=STRING, other_name=STRING,
    node=UINT64, fh_info=UINT64)
DataStartRecoverRequest = Struct(
    "ndmp_data_start_recover_request", env=PVALS, nlist=Array(Name), butype_name=STRING)
DataStartRecoverReply = error_reply("ndmp_data_start_recover_reply")
DataStartRecoverFilehistRequest = Struct(
    "ndmp_data_start_recover_filehist_request", env=PVALS, nlist=Array(Name), butype_name=STRING)
DataStartRecoverFilehistReply = error_reply("ndmp_data_start_recover_filehist_reply")

DataAbortReply = error_reply("ndmp_data_abort_reply")
DataStopReply = error_reply("ndmp_data_stop_reply")
DataGetEnvReply = Struct("ndmp_data_get_env_reply", error=ERROR, env=PVALS)

MESSAGES = {
    M.NDMP_DATA_GET_STATE: Exchange(NO_BODY, DataGetStateReply),
    M.NDMP_DATA_START_BACKUP: Exchange(DataStartBackupRequest, DataStartBackupReply),
    M.NDMP_DATA_START_RECOVER: Exchange(DataStartRecoverRequest, DataStartRecoverReply),
    M.NDMP_DATA_ABORT: Exchange(NO_BODY, DataAbortReply),
    M.NDMP_DATA_GET_ENV: Exchange(NO_BODY, DataGetEnvReply),
    M.NDMP_DATA_STOP: Exchange(NO_BODY, DataStopReply),
    M.NDMP_DATA_LISTEN: Exchange(DataListenRequest, DataListenReply),
    M.NDMP_DATA_CONNECT: Exchange(DataConnectRequest, DataConnectReply),
    M.NDMP_DATA_START_RECOVER_FILEHIST: Exchange(DataStartRecoverFilehistRequest, DataStartRecoverFilehistReply),
}
