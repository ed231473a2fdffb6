"""A realistic request and reply body for every NDMP v4 message, as a DMA and our server
would exchange them during a backup (names, sizes and addresses a real session has).

Used where realism matters: the capture that Wireshark dissects, where odd values
would only test Wireshark's own tolerance.
"""
from __future__ import annotations

import hashlib

from ndmp.constants import (
    AddrType,
    AuthType,
    ButypeAttr,
    ConnectionStatusReason,
    DataHaltReason,
    DataOperation,
    DataState,
    DataStateUnsupported,
    ErrorCode,
    FileType,
    FsType,
    HasAssociatedMessage,
    LogType,
    MoverHaltReason,
    MoverMode,
    MoverPauseReason,
    MoverState,
    RecoveryStatus,
    ScsiDataDir,
    TapeAttr,
    TapeMtioOp,
    TapeOpenMode,
    TapeStateFlags,
)
from ndmp.constants import MessageCode as M
from ndmp.messages import config as cf
from ndmp.messages import connect as cn
from ndmp.messages import data as da
from ndmp.messages import fh, log
from ndmp.messages import mover as mv
from ndmp.messages import notify as nt
from ndmp.messages import scsi as sc
from ndmp.messages import tape as tp
from ndmp.messages.common import Addr, Pval, TcpAddr

OK = ErrorCode.NDMP_NO_ERR
LOCALHOST = 0x7F000001
CHALLENGE = bytes(range(64))


def md5_digest(password: bytes, challenge: bytes) -> bytes:
    """NDMJOB's digest: MD5 of 128 bytes with the password at both ends and the challenge between."""
    buf = bytearray(128)
    n = len(password)
    buf[0:n] = password
    buf[64 - n:128 - n] = challenge
    buf[128 - n:128] = password
    return hashlib.md5(bytes(buf)).digest()


def tcp(port: int) -> Addr:
    return Addr(addr_type=AddrType.NDMP_ADDR_TCP, tcp_addr=[TcpAddr(ip_addr=LOCALHOST, port=port, addr_env=[])])


def stat(ftype: FileType, size: int, mode: int) -> fh.FileStat.cls:
    return fh.FileStat(unsupported=0, fs_type=FsType.NDMP_FS_UNIX, ftype=ftype, mtime=1_789_000_000,
                       atime=1_789_000_100, ctime=1_789_000_000, owner=0, group=0, fattr=mode, size=size, links=1)


def unix(name: str) -> fh.FileName.cls:
    return fh.FileName(fs_type=FsType.NDMP_FS_UNIX, unix_name=name)


INQUIRY_CDB = bytes([0x12, 0, 0, 0, 96, 0])


def inquiry_data(peripheral: int, product: str) -> bytes:
    return (bytes([peripheral, 0x80 if peripheral == 1 else 0, 0x05, 0x02, 31, 0, 0, 0])
            + b"VTL     " + product.encode().ljust(16) + b"0100")


NOT_READY_NO_MEDIUM = bytes([0x70, 0, 0x02, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x3A, 0x00, 0, 0, 0, 0])

ENV = [Pval("FILESYSTEM", "/vol/vol0"), Pval("HIST", "y"), Pval("TYPE", "dump"), Pval("LEVEL", "0")]
NLIST = [da.Name(original_path="/etc/passwd", destination_dir="/vol/restore", name="", other_name="",
                 node=0xFFFFFFFFFFFFFFFF, fh_info=0x2000)]

# code -> (request body, reply body); None where the message has no body, and
# no reply entry for posts.
SAMPLES: dict[M, tuple] = {
    M.NDMP_CONNECT_OPEN: (cn.ConnectOpenRequest(protocol_version=4), cn.ConnectOpenReply(error=OK)),
    M.NDMP_CONNECT_CLIENT_AUTH: (
        cn.ConnectClientAuthRequest(auth_data=cn.AuthData(
            auth_type=AuthType.NDMP_AUTH_MD5,
            auth_md5=cn.AuthMd5(auth_id="ndmp", auth_digest=md5_digest(b"secret", CHALLENGE)))),
        cn.ConnectClientAuthReply(error=OK)),
    M.NDMP_CONNECT_CLOSE: (None, None),
    M.NDMP_CONNECT_SERVER_AUTH: (
        cn.ConnectServerAuthRequest(client_attr=cn.AuthAttr(auth_type=AuthType.NDMP_AUTH_MD5, challenge=CHALLENGE)),
        cn.ConnectServerAuthReply(error=OK, server_result=cn.AuthData(
            auth_type=AuthType.NDMP_AUTH_TEXT, auth_text=cn.AuthText(auth_id="vtl", auth_password="secret")))),
    M.NDMP_CONFIG_GET_HOST_INFO: (None, cf.ConfigGetHostInfoReply(
        error=OK, hostname="vtl1", os_type="Linux", os_vers="6.1.0-28-amd64", hostid="7f0101")),
    M.NDMP_CONFIG_GET_CONNECTION_TYPE: (None, cf.ConfigGetConnectionTypeReply(
        error=OK, addr_types=[AddrType.NDMP_ADDR_LOCAL, AddrType.NDMP_ADDR_TCP])),
    M.NDMP_CONFIG_GET_AUTH_ATTR: (
        cf.ConfigGetAuthAttrRequest(auth_type=AuthType.NDMP_AUTH_MD5),
        cf.ConfigGetAuthAttrReply(error=OK, server_attr=cn.AuthAttr(auth_type=AuthType.NDMP_AUTH_MD5,
                                                                     challenge=CHALLENGE))),
    M.NDMP_CONFIG_GET_BUTYPE_INFO: (None, cf.ConfigGetButypeInfoReply(error=OK, butype_info=[
        cf.ButypeInfo(butype_name="dump", default_env=[Pval("HIST", "y"), Pval("UPDATE", "y")],
                      attrs=int(ButypeAttr.NDMP_BUTYPE_BACKUP_INCREMENTAL | ButypeAttr.NDMP_BUTYPE_BACKUP_UTF8
                                | ButypeAttr.NDMP_BUTYPE_RECOVER_FILELIST | ButypeAttr.NDMP_BUTYPE_BACKUP_FH_FILE)),
        cf.ButypeInfo(butype_name="smtape", default_env=[], attrs=0)])),
    M.NDMP_CONFIG_GET_FS_INFO: (None, cf.ConfigGetFsInfoReply(error=OK, fs_info=[cf.FsInfo(
        unsupported=0, fs_type="ext4", fs_logical_device="/vol/vol0", fs_physical_device="/dev/vda1",
        total_size=107_374_182_400, used_size=42_949_672_960, avail_size=64_424_509_440,
        total_inodes=6_553_600, used_inodes=123_456, fs_env=[Pval("LOCAL", "y")], fs_status="online")])),
    M.NDMP_CONFIG_GET_TAPE_INFO: (None, cf.ConfigGetTapeInfoReply(error=OK, tape_info=[cf.DeviceInfo(
        model="IBM ULT3580-TD6", caplist=[
            cf.DeviceCapability(device="nrst0a", attr=int(TapeAttr.NDMP_TAPE_ATTR_REWIND | TapeAttr.NDMP_TAPE_ATTR_UNLOAD),
                                capability=[Pval("EXECUTE_CDB", "t"), Pval("SERIAL_NUMBER", "1068000001")]),
            cf.DeviceCapability(device="rst0a", attr=int(TapeAttr.NDMP_TAPE_ATTR_REWIND), capability=[])])])),
    M.NDMP_CONFIG_GET_SCSI_INFO: (None, cf.ConfigGetScsiInfoReply(error=OK, scsi_info=[cf.DeviceInfo(
        model="STK L700", caplist=[cf.DeviceCapability(device="mc0", attr=0,
                                                       capability=[Pval("SERIAL_NUMBER", "XYZZY_A")])])])),
    M.NDMP_CONFIG_GET_SERVER_INFO: (None, cf.ConfigGetServerInfoReply(
        error=OK, vendor_name="vtl", product_name="vtl NDMP server", revision_number="0.1.0",
        auth_type=[AuthType.NDMP_AUTH_TEXT, AuthType.NDMP_AUTH_MD5])),
    M.NDMP_CONFIG_SET_EXT_LIST: (
        cf.ConfigSetExtListRequest(ndmp_selected_ext=[cf.ClassVersion(ext_class_id=0x2050, ext_version=1)]),
        cf.ConfigSetExtListReply(error=OK)),
    M.NDMP_CONFIG_GET_EXT_LIST: (None, cf.ConfigGetExtListReply(
        error=OK, class_list=[cf.ClassList(ext_class_id=0x2050, ext_version=[1])])),
    M.NDMP_SCSI_OPEN: (sc.ScsiOpenRequest(device="mc0"), sc.ScsiOpenReply(error=OK)),
    M.NDMP_SCSI_CLOSE: (None, sc.ScsiCloseReply(error=OK)),
    M.NDMP_SCSI_GET_STATE: (None, sc.ScsiGetStateReply(error=OK, target_controller=0, target_id=4, target_lun=0)),
    M.NDMP_SCSI_RESET_DEVICE: (None, sc.ScsiResetDeviceReply(error=OK)),
    M.NDMP_SCSI_EXECUTE_CDB: (
        sc.ExecuteCdbRequest(flags=int(ScsiDataDir.NDMP_SCSI_DATA_IN), timeout=30_000, datain_len=96,
                             cdb=INQUIRY_CDB, dataout=b""),
        sc.ExecuteCdbReply(error=OK, status=0, dataout_len=0, datain=inquiry_data(8, "Virtual Changer"),
                           ext_sense=b"")),
    M.NDMP_TAPE_OPEN: (tp.TapeOpenRequest(device="nrst0a", mode=TapeOpenMode.NDMP_TAPE_RDWR_MODE),
                       tp.TapeOpenReply(error=OK)),
    M.NDMP_TAPE_CLOSE: (None, tp.TapeCloseReply(error=OK)),
    M.NDMP_TAPE_GET_STATE: (None, tp.TapeGetStateReply(
        unsupported=0, error=OK, flags=int(TapeStateFlags.NDMP_TAPE_STATE_NOREWIND), file_num=2, soft_errors=0,
        block_size=0, blockno=1_000, total_space=2_500_000_000_000, space_remain=2_499_000_000_000)),
    M.NDMP_TAPE_MTIO: (tp.TapeMtioRequest(tape_op=TapeMtioOp.NDMP_MTIO_FSF, count=2),
                       tp.TapeMtioReply(error=OK, resid_count=0)),
    M.NDMP_TAPE_WRITE: (tp.TapeWriteRequest(data_out=bytes(range(256)) * 4), tp.TapeWriteReply(error=OK, count=1024)),
    M.NDMP_TAPE_READ: (tp.TapeReadRequest(count=1024), tp.TapeReadReply(error=OK, data_in=b"\xa5" * 1000)),
    M.NDMP_TAPE_EXECUTE_CDB: (
        sc.ExecuteCdbRequest(flags=0, timeout=30_000, datain_len=0, cdb=bytes(6), dataout=b""),
        sc.ExecuteCdbReply(error=OK, status=2, dataout_len=0, datain=b"", ext_sense=NOT_READY_NO_MEDIUM)),
    M.NDMP_DATA_GET_STATE: (None, da.DataGetStateReply(
        unsupported=int(DataStateUnsupported.NDMP_DATA_STATE_EST_TIME_REMAIN_UNS), error=OK,
        operation=DataOperation.NDMP_DATA_OP_BACKUP, state=DataState.NDMP_DATA_STATE_ACTIVE,
        halt_reason=DataHaltReason.NDMP_DATA_HALT_NA, bytes_processed=123_456_789, est_bytes_remain=876_543_211,
        est_time_remain=0, data_connection_addr=Addr(addr_type=AddrType.NDMP_ADDR_LOCAL), read_offset=0,
        read_length=0)),
    M.NDMP_DATA_START_BACKUP: (da.DataStartBackupRequest(butype_name="dump", env=ENV),
                               da.DataStartBackupReply(error=OK)),
    M.NDMP_DATA_START_RECOVER: (da.DataStartRecoverRequest(env=ENV, nlist=NLIST, butype_name="dump"),
                                da.DataStartRecoverReply(error=OK)),
    M.NDMP_DATA_ABORT: (None, da.DataAbortReply(error=OK)),
    M.NDMP_DATA_GET_ENV: (None, da.DataGetEnvReply(error=OK, env=ENV + [Pval("DUMP_DATE", "1789000000")])),
    M.NDMP_DATA_STOP: (None, da.DataStopReply(error=OK)),
    M.NDMP_DATA_LISTEN: (da.DataListenRequest(addr_type=AddrType.NDMP_ADDR_TCP),
                         da.DataListenReply(error=OK, connect_addr=tcp(40123))),
    M.NDMP_DATA_CONNECT: (da.DataConnectRequest(addr=tcp(40124)), da.DataConnectReply(error=OK)),
    M.NDMP_DATA_START_RECOVER_FILEHIST: (
        da.DataStartRecoverFilehistRequest(env=ENV, nlist=NLIST, butype_name="dump"),
        da.DataStartRecoverFilehistReply(error=OK)),
    M.NDMP_NOTIFY_DATA_HALTED: (nt.NotifyDataHaltedPost(reason=DataHaltReason.NDMP_DATA_HALT_SUCCESSFUL),),
    M.NDMP_NOTIFY_CONNECTION_STATUS: (nt.NotifyConnectionStatusPost(
        reason=ConnectionStatusReason.NDMP_CONNECTED, protocol_version=4, text_reason="vtl NDMP server ready"),),
    M.NDMP_NOTIFY_MOVER_HALTED: (nt.NotifyMoverHaltedPost(reason=MoverHaltReason.NDMP_MOVER_HALT_CONNECT_CLOSED),),
    M.NDMP_NOTIFY_MOVER_PAUSED: (nt.NotifyMoverPausedPost(reason=MoverPauseReason.NDMP_MOVER_PAUSE_EOM,
                                                          seek_position=2_499_999_744_000),),
    M.NDMP_NOTIFY_DATA_READ: (nt.NotifyDataReadPost(offset=0, length=65_536),),
    M.NDMP_LOG_FILE: (log.LogFilePost(name="/etc/passwd", recovery_status=RecoveryStatus.NDMP_RECOVERY_SUCCESSFUL),),
    M.NDMP_LOG_MESSAGE: (log.LogMessagePost(
        log_type=LogType.NDMP_LOG_NORMAL, message_id=1, entry="DUMP: Date of this level 0 dump: Tue Sep 1 2026",
        associated_message_valid=HasAssociatedMessage.NDMP_NO_ASSOCIATED_MESSAGE,
        associated_message_sequence=0),),
    M.NDMP_FH_ADD_FILE: (fh.FhAddFilePost(files=[fh.File(
        name=[unix("/etc/passwd")], stat=[stat(FileType.NDMP_FILE_REG, 1_934, 0o100644)], node=1234, fh_info=0x2000)]),),
    M.NDMP_FH_ADD_DIR: (fh.FhAddDirPost(dirs=[fh.Dir(name=[unix(".")], node=2, parent=2),
                                              fh.Dir(name=[unix("etc")], node=12, parent=2)]),),
    M.NDMP_FH_ADD_NODE: (fh.FhAddNodePost(nodes=[fh.Node(stats=[stat(FileType.NDMP_FILE_DIR, 4_096, 0o40755)],
                                                         node=12, fh_info=0x1000)]),),
    M.NDMP_MOVER_GET_STATE: (None, mv.MoverGetStateReply(
        error=OK, mode=MoverMode.NDMP_MOVER_MODE_READ, state=MoverState.NDMP_MOVER_STATE_ACTIVE,
        pause_reason=MoverPauseReason.NDMP_MOVER_PAUSE_NA, halt_reason=MoverHaltReason.NDMP_MOVER_HALT_NA,
        record_size=32_768, record_num=10, bytes_moved=327_680, seek_position=0, bytes_left_to_read=0,
        window_offset=0, window_length=2**64 - 1, data_connection_addr=tcp(40125))),
    M.NDMP_MOVER_LISTEN: (mv.MoverListenRequest(mode=MoverMode.NDMP_MOVER_MODE_READ, addr_type=AddrType.NDMP_ADDR_TCP),
                          mv.MoverListenReply(error=OK, connect_addr=tcp(40125))),
    M.NDMP_MOVER_CONTINUE: (None, mv.MoverContinueReply(error=OK)),
    M.NDMP_MOVER_ABORT: (None, mv.MoverAbortReply(error=OK)),
    M.NDMP_MOVER_STOP: (None, mv.MoverStopReply(error=OK)),
    M.NDMP_MOVER_SET_WINDOW: (mv.MoverSetWindowRequest(offset=0, length=2**64 - 1), mv.MoverSetWindowReply(error=OK)),
    M.NDMP_MOVER_READ: (mv.MoverReadRequest(offset=65_536, length=32_768), mv.MoverReadReply(error=OK)),
    M.NDMP_MOVER_CLOSE: (None, mv.MoverCloseReply(error=OK)),
    M.NDMP_MOVER_SET_RECORD_SIZE: (mv.MoverSetRecordSizeRequest(len=32_768), mv.MoverSetRecordSizeReply(error=OK)),
    M.NDMP_MOVER_CONNECT: (mv.MoverConnectRequest(mode=MoverMode.NDMP_MOVER_MODE_WRITE, addr=tcp(40126)),
                           mv.MoverConnectReply(error=OK)),
}
