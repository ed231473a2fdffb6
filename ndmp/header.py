"""The NDMP v4 message header: six 32-bit words in front of every message body.

Kept apart from the bodies because a server must read it even when the body
is garbage: the header alone says which request an ``NDMP_XDR_DECODE_ERR`` or
``NDMP_NOT_SUPPORTED_ERR`` reply answers.
"""
from __future__ import annotations

from .constants import ErrorCode, MessageCode, MessageType
from .xdr import UINT32, Enum, Struct

HEADER = Struct(
    "ndmp_header",
    sequence=UINT32,                      # the sender's own counter, from 1
    time_stamp=UINT32,                    # seconds since the epoch
    message_type=Enum(MessageType),
    message_code=Enum(MessageCode),
    reply_sequence=UINT32,                # in a reply: the request's sequence; 0 in a request
    error_code=Enum(ErrorCode),           # protocol-level error; a message with one has no body
)
Header = HEADER.cls
HEADER_SIZE = HEADER.min_size             # 24
