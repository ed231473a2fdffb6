"""LOG interface (0x602-0x603): posts carrying log lines and per-file recovery results."""
from __future__ import annotations

from ..constants import HasAssociatedMessage, LogType, RecoveryStatus
from ..constants import MessageCode as M
from ..xdr import UINT32, Enum, Struct
from .common import STRING, post

LogMessagePost = Struct(
    "ndmp_log_message_post",
    log_type=Enum(LogType), message_id=UINT32, entry=STRING,
    associated_message_valid=Enum(HasAssociatedMessage), associated_message_sequence=UINT32)
LogFilePost = Struct("ndmp_log_file_post", name=STRING, recovery_status=Enum(RecoveryStatus))

MESSAGES = {
    M.NDMP_LOG_FILE: post(LogFilePost),
    M.NDMP_LOG_MESSAGE: post(LogMessagePost),
}
