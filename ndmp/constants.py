"""The NDMP v4 vocabulary: every enum and flag set of the specification's XDR, by its spec name.

Member names are the specification's (``NDMP_TAPE_OPEN``, ``NDMP_NO_ERR``) so a
log line or a test can be matched against the spec, NDMJOB (``NDMP4_*``) and
Wireshark (the same names without ``NDMP_``) by eye.  Enum classes are named
after the spec type without ``ndmp_`` (``ndmp_tape_open_mode`` ->
``TapeOpenMode``), except ``ndmp_message`` -> ``MessageCode`` and
``ndmp_error`` -> ``ErrorCode`` (it is not an exception).

Bit masks that travel in ``u_long`` fields (butype attributes, tape state
flags, "unsupported" masks) are ``IntFlag``s for building and testing values;
the codec itself keeps those fields as plain integers.
"""
from __future__ import annotations

from enum import IntEnum, IntFlag

NDMPVER = 4
NDMPPORT = 10000

# Ranges reserved in ndmp_message for extension classes (not messages themselves).
NDMP_EXT_STANDARD_BASE = 0x10000
NDMP_EXT_PROPRIETARY_BASE = 0x20000000


class MessageType(IntEnum):
    """ndmp_header_message_type; a post (NOTIFY, LOG, FH) is sent as a request and has no reply."""
    NDMP_MESSAGE_REQUEST = 0
    NDMP_MESSAGE_REPLY = 1


NDMP_MESSAGE_POST = MessageType.NDMP_MESSAGE_REQUEST


class ErrorCode(IntEnum):
    """ndmp_error (header error_code and the error field of reply bodies)."""
    NDMP_NO_ERR = 0
    NDMP_NOT_SUPPORTED_ERR = 1
    NDMP_DEVICE_BUSY_ERR = 2
    NDMP_DEVICE_OPENED_ERR = 3
    NDMP_NOT_AUTHORIZED_ERR = 4
    NDMP_PERMISSION_ERR = 5
    NDMP_DEV_NOT_OPEN_ERR = 6
    NDMP_IO_ERR = 7
    NDMP_TIMEOUT_ERR = 8
    NDMP_ILLEGAL_ARGS_ERR = 9
    NDMP_NO_TAPE_LOADED_ERR = 10
    NDMP_WRITE_PROTECT_ERR = 11
    NDMP_EOF_ERR = 12
    NDMP_EOM_ERR = 13
    NDMP_FILE_NOT_FOUND_ERR = 14
    NDMP_BAD_FILE_ERR = 15
    NDMP_NO_DEVICE_ERR = 16
    NDMP_NO_BUS_ERR = 17
    NDMP_XDR_DECODE_ERR = 18
    NDMP_ILLEGAL_STATE_ERR = 19
    NDMP_UNDEFINED_ERR = 20
    NDMP_XDR_ENCODE_ERR = 21
    NDMP_NO_MEM_ERR = 22
    NDMP_CONNECT_ERR = 23
    NDMP_SEQUENCE_NUM_ERR = 24
    NDMP_READ_IN_PROGRESS_ERR = 25
    NDMP_PRECONDITION_ERR = 26
    NDMP_CLASS_NOT_SUPPORTED_ERR = 27
    NDMP_VERSION_NOT_SUPPORTED_ERR = 28
    NDMP_EXT_DUPL_CLASSES_ERR = 29
    NDMP_EXT_DANDN_ILLEGAL_ERR = 30


class MessageCode(IntEnum):
    """ndmp_message: every NDMP v4 message (the registry in ``ndmp.messages`` has a body for each)."""
    # CONNECT interface
    NDMP_CONNECT_OPEN = 0x900
    NDMP_CONNECT_CLIENT_AUTH = 0x901
    NDMP_CONNECT_CLOSE = 0x902
    NDMP_CONNECT_SERVER_AUTH = 0x903
    # CONFIG interface (SET_EXT_LIST / GET_EXT_LIST: extension negotiation)
    NDMP_CONFIG_GET_HOST_INFO = 0x100
    NDMP_CONFIG_GET_CONNECTION_TYPE = 0x102
    NDMP_CONFIG_GET_AUTH_ATTR = 0x103
    NDMP_CONFIG_GET_BUTYPE_INFO = 0x104
    NDMP_CONFIG_GET_FS_INFO = 0x105
    NDMP_CONFIG_GET_TAPE_INFO = 0x106
    NDMP_CONFIG_GET_SCSI_INFO = 0x107
    NDMP_CONFIG_GET_SERVER_INFO = 0x108
    NDMP_CONFIG_SET_EXT_LIST = 0x109
    NDMP_CONFIG_GET_EXT_LIST = 0x10A
    # SCSI interface
    NDMP_SCSI_OPEN = 0x200
    NDMP_SCSI_CLOSE = 0x201
    NDMP_SCSI_GET_STATE = 0x202
    NDMP_SCSI_RESET_DEVICE = 0x204
    NDMP_SCSI_EXECUTE_CDB = 0x206
    # TAPE interface
    NDMP_TAPE_OPEN = 0x300
    NDMP_TAPE_CLOSE = 0x301
    NDMP_TAPE_GET_STATE = 0x302
    NDMP_TAPE_MTIO = 0x303
    NDMP_TAPE_WRITE = 0x304
    NDMP_TAPE_READ = 0x305
    NDMP_TAPE_EXECUTE_CDB = 0x307
    # DATA interface
    NDMP_DATA_GET_STATE = 0x400
    NDMP_DATA_START_BACKUP = 0x401
    NDMP_DATA_START_RECOVER = 0x402
    NDMP_DATA_ABORT = 0x403
    NDMP_DATA_GET_ENV = 0x404
    NDMP_DATA_STOP = 0x407
    NDMP_DATA_LISTEN = 0x409
    NDMP_DATA_CONNECT = 0x40A
    NDMP_DATA_START_RECOVER_FILEHIST = 0x40B
    # NOTIFY interface (posts)
    NDMP_NOTIFY_DATA_HALTED = 0x501
    NDMP_NOTIFY_CONNECTION_STATUS = 0x502
    NDMP_NOTIFY_MOVER_HALTED = 0x503
    NDMP_NOTIFY_MOVER_PAUSED = 0x504
    NDMP_NOTIFY_DATA_READ = 0x505
    # LOG interface (posts)
    NDMP_LOG_FILE = 0x602
    NDMP_LOG_MESSAGE = 0x603
    # FILE HISTORY interface (posts)
    NDMP_FH_ADD_FILE = 0x703
    NDMP_FH_ADD_DIR = 0x704
    NDMP_FH_ADD_NODE = 0x705
    # MOVER interface
    NDMP_MOVER_GET_STATE = 0xA00
    NDMP_MOVER_LISTEN = 0xA01
    NDMP_MOVER_CONTINUE = 0xA02
    NDMP_MOVER_ABORT = 0xA03
    NDMP_MOVER_STOP = 0xA04
    NDMP_MOVER_SET_WINDOW = 0xA05
    NDMP_MOVER_READ = 0xA06
    NDMP_MOVER_CLOSE = 0xA07
    NDMP_MOVER_SET_RECORD_SIZE = 0xA08
    NDMP_MOVER_CONNECT = 0xA09


class AuthType(IntEnum):
    NDMP_AUTH_NONE = 0
    NDMP_AUTH_TEXT = 1
    NDMP_AUTH_MD5 = 2


class AddrType(IntEnum):
    NDMP_ADDR_LOCAL = 0
    NDMP_ADDR_TCP = 1
    NDMP_ADDR_RESERVED = 2      # was FC in v3; ndmp_addr has no arm for it
    NDMP_ADDR_IPC = 3


class TapeOpenMode(IntEnum):
    NDMP_TAPE_READ_MODE = 0
    NDMP_TAPE_RDWR_MODE = 1
    NDMP_TAPE_RAW_MODE = 2


class TapeMtioOp(IntEnum):
    NDMP_MTIO_FSF = 0
    NDMP_MTIO_BSF = 1
    NDMP_MTIO_FSR = 2
    NDMP_MTIO_BSR = 3
    NDMP_MTIO_REW = 4
    NDMP_MTIO_EOF = 5
    NDMP_MTIO_OFF = 6
    NDMP_MTIO_TUR = 7


class DataOperation(IntEnum):
    NDMP_DATA_OP_NOACTION = 0
    NDMP_DATA_OP_BACKUP = 1
    NDMP_DATA_OP_RECOVER = 2
    NDMP_DATA_OP_RECOVER_FILEHIST = 3


class DataState(IntEnum):
    NDMP_DATA_STATE_IDLE = 0
    NDMP_DATA_STATE_ACTIVE = 1
    NDMP_DATA_STATE_HALTED = 2
    NDMP_DATA_STATE_LISTEN = 3
    NDMP_DATA_STATE_CONNECTED = 4


class DataHaltReason(IntEnum):
    NDMP_DATA_HALT_NA = 0
    NDMP_DATA_HALT_SUCCESSFUL = 1
    NDMP_DATA_HALT_ABORTED = 2
    NDMP_DATA_HALT_INTERNAL_ERROR = 3
    NDMP_DATA_HALT_CONNECT_ERROR = 4


class MoverMode(IntEnum):
    NDMP_MOVER_MODE_READ = 0       # the mover reads from the data connection and writes tape
    NDMP_MOVER_MODE_WRITE = 1      # the mover reads tape and writes to the data connection
    NDMP_MOVER_MODE_NOACTION = 2


class MoverState(IntEnum):
    NDMP_MOVER_STATE_IDLE = 0
    NDMP_MOVER_STATE_LISTEN = 1
    NDMP_MOVER_STATE_ACTIVE = 2
    NDMP_MOVER_STATE_PAUSED = 3
    NDMP_MOVER_STATE_HALTED = 4


class MoverPauseReason(IntEnum):
    NDMP_MOVER_PAUSE_NA = 0
    NDMP_MOVER_PAUSE_EOM = 1
    NDMP_MOVER_PAUSE_EOF = 2
    NDMP_MOVER_PAUSE_SEEK = 3
    NDMP_MOVER_PAUSE_MEDIA_ERROR = 4   # v3's value; the v4 text skips 4, NDMJOB and Wireshark keep it
    NDMP_MOVER_PAUSE_EOW = 5


class MoverHaltReason(IntEnum):
    NDMP_MOVER_HALT_NA = 0
    NDMP_MOVER_HALT_CONNECT_CLOSED = 1
    NDMP_MOVER_HALT_ABORTED = 2
    NDMP_MOVER_HALT_INTERNAL_ERROR = 3
    NDMP_MOVER_HALT_CONNECT_ERROR = 4
    NDMP_MOVER_HALT_MEDIA_ERROR = 5


class ConnectionStatusReason(IntEnum):
    NDMP_CONNECTED = 0
    NDMP_SHUTDOWN = 1
    NDMP_REFUSED = 2


class HasAssociatedMessage(IntEnum):
    NDMP_NO_ASSOCIATED_MESSAGE = 0
    NDMP_HAS_ASSOCIATED_MESSAGE = 1


class LogType(IntEnum):
    NDMP_LOG_NORMAL = 0
    NDMP_LOG_DEBUG = 1
    NDMP_LOG_ERROR = 2
    NDMP_LOG_WARNING = 3


class RecoveryStatus(IntEnum):
    NDMP_RECOVERY_SUCCESSFUL = 0
    NDMP_RECOVERY_FAILED_PERMISSION = 1
    NDMP_RECOVERY_FAILED_NOT_FOUND = 2
    NDMP_RECOVERY_FAILED_NO_DIRECTORY = 3
    NDMP_RECOVERY_FAILED_OUT_OF_MEMORY = 4
    NDMP_RECOVERY_FAILED_IO_ERROR = 5
    NDMP_RECOVERY_FAILED_UNDEFINED_ERROR = 6
    NDMP_RECOVERY_FAILED_FILE_PATH_EXISTS = 7


class FsType(IntEnum):
    """ndmp_fs_type: selects the ndmp_file_name arm (unknown values use other_name)."""
    NDMP_FS_UNIX = 0
    NDMP_FS_NT = 1
    NDMP_FS_OTHER = 2


class FileType(IntEnum):
    NDMP_FILE_DIR = 0
    NDMP_FILE_FIFO = 1
    NDMP_FILE_CSPEC = 2
    NDMP_FILE_BSPEC = 3
    NDMP_FILE_REG = 4
    NDMP_FILE_SLINK = 5
    NDMP_FILE_SOCK = 6
    NDMP_FILE_REGISTRY = 7
    NDMP_FILE_OTHER = 8


# ----------------------------------------------------------------- bit masks (u_long fields)

class ButypeAttr(IntFlag):
    """ndmp_butype_info.attrs: what a backup type can do."""
    NDMP_BUTYPE_BACKUP_FILELIST = 0x0002
    NDMP_BUTYPE_RECOVER_FILELIST = 0x0004
    NDMP_BUTYPE_BACKUP_DIRECT = 0x0008
    NDMP_BUTYPE_RECOVER_DIRECT = 0x0010
    NDMP_BUTYPE_BACKUP_INCREMENTAL = 0x0020
    NDMP_BUTYPE_RECOVER_INCREMENTAL = 0x0040
    NDMP_BUTYPE_BACKUP_UTF8 = 0x0080
    NDMP_BUTYPE_RECOVER_UTF8 = 0x0100
    NDMP_BUTYPE_BACKUP_FH_FILE = 0x0200
    NDMP_BUTYPE_BACKUP_FH_DIR = 0x0400
    NDMP_BUTYPE_RECOVER_FILEHIST = 0x0800
    NDMP_BUTYPE_RECOVER_FH_FILE = 0x1000
    NDMP_BUTYPE_RECOVER_FH_DIR = 0x2000


class FsInfoUnsupported(IntFlag):
    """ndmp_fs_info.unsupported: which counters are not valid."""
    NDMP_FS_INFO_TOTAL_SIZE_UNS = 0x01
    NDMP_FS_INFO_USED_SIZE_UNS = 0x02
    NDMP_FS_INFO_AVAIL_SIZE_UNS = 0x04
    NDMP_FS_INFO_TOTAL_INODES_UNS = 0x08
    NDMP_FS_INFO_USED_INODES_UNS = 0x10


class TapeAttr(IntFlag):
    """ndmp_device_capability.attr for tape devices."""
    NDMP_TAPE_ATTR_REWIND = 0x1
    NDMP_TAPE_ATTR_UNLOAD = 0x2
    NDMP_TAPE_ATTR_RAW = 0x4


class TapeStateFlags(IntFlag):
    """ndmp_tape_get_state_reply.flags."""
    NDMP_TAPE_STATE_NOREWIND = 0x0008
    NDMP_TAPE_STATE_WR_PROT = 0x0010
    NDMP_TAPE_STATE_ERROR = 0x0020
    NDMP_TAPE_STATE_UNLOAD = 0x0040


class TapeStateUnsupported(IntFlag):
    """ndmp_tape_get_state_reply.unsupported: which fields are not valid."""
    NDMP_TAPE_STATE_FILE_NUM_UNS = 0x01
    NDMP_TAPE_STATE_SOFT_ERRORS_UNS = 0x02
    NDMP_TAPE_STATE_BLOCK_SIZE_UNS = 0x04
    NDMP_TAPE_STATE_BLOCKNO_UNS = 0x08
    NDMP_TAPE_STATE_TOTAL_SPACE_UNS = 0x10
    NDMP_TAPE_STATE_SPACE_REMAIN_UNS = 0x20
    NDMP_TAPE_STATE_RESERVED1_UNS = 0x40


class ScsiDataDir(IntFlag):
    """ndmp_execute_cdb_request.flags: the data phase direction."""
    NDMP_SCSI_DATA_IN = 0x1
    NDMP_SCSI_DATA_OUT = 0x2


class DataStateUnsupported(IntFlag):
    """ndmp_data_get_state_reply.unsupported."""
    NDMP_DATA_STATE_EST_BYTES_REMAIN_UNS = 0x1
    NDMP_DATA_STATE_EST_TIME_REMAIN_UNS = 0x2


class FileStatUnsupported(IntFlag):
    """ndmp_file_stat.unsupported."""
    NDMP_FILE_STAT_ATIME_UNS = 0x1
    NDMP_FILE_STAT_CTIME_UNS = 0x2
    NDMP_FILE_STAT_GROUP_UNS = 0x4
