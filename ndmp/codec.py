"""NDMP v4 messages to and from records (the bytes between record marks).

``decode(record)`` gives a :class:`Message` (header + body value) or raises one
of two exceptions, each telling a server what to answer:

* :class:`XdrDecodeError` -- the record is not a valid message.  ``.header`` is
  the header when the first 24 bytes were there (answer
  ``NDMP_XDR_DECODE_ERR`` to it), ``None`` when even the header was short
  (nothing can be answered; drop the record or the connection).
* :class:`UnknownMessage` -- a well-formed header naming a message (code and
  type) that NDMP v4 does not have: answer ``NDMP_NOT_SUPPORTED_ERR``.

Rules, chosen to match NDMJOB (the reference peer) where the spec is silent:

* A message whose header ``error_code`` is not ``NDMP_NO_ERR`` has no body,
  whatever its type (NDMJOB neither sends nor reads one).
* Bytes after the body are a decode error by default: a record is exactly one
  message, and then ``encode(decode(x)) == x`` for every accepted ``x`` (up to
  padding bytes, which are read unchecked and written as zeros).  rpcgen-based
  peers skip such bytes; ``decode(..., allow_trailing=True)`` does the same and
  counts them in ``Message.trailing``.
* A ``message_type`` other than request (0) or reply (1) is a decode error.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from .constants import ErrorCode, MessageCode, MessageType
from .header import HEADER, HEADER_SIZE, Header
from .messages import REGISTRY, lookup, name_of
from .xdr import XdrEncodeError, XdrError, decode_at, encode_to

__all__ = ["Message", "UnknownMessage", "XdrDecodeError", "decode", "encode", "reply", "request"]

_NO_ERR = ErrorCode.NDMP_NO_ERR
_REQUEST = MessageType.NDMP_MESSAGE_REQUEST
_REPLY = MessageType.NDMP_MESSAGE_REPLY


@dataclass(slots=True)
class Message:
    """One NDMP message: its header and its body value (``None`` when it has none)."""

    header: Header
    body: Any = None
    trailing: int = 0     # bytes ignored after the body (only with allow_trailing=True)

    @property
    def code(self) -> int:
        return self.header.message_code

    @property
    def name(self) -> str:
        """Spec name, e.g. ``"NDMP_TAPE_OPEN"``."""
        return name_of(self.header.message_code)

    @property
    def is_reply(self) -> bool:
        return self.header.message_type == _REPLY


def _describe(header: Header) -> str:
    kind = {0: "request", 1: "reply"}.get(header.message_type, f"message type {header.message_type}")
    return f"{name_of(header.message_code)} {kind} (sequence {header.sequence})"


class XdrDecodeError(XdrError):
    """A record that is not a valid NDMP v4 message; ``header`` is set when it was readable."""

    def __init__(self, reason: str, header: Header | None = None, path: list[str] | None = None):
        super().__init__(reason, path)
        self.header = header

    def __str__(self) -> str:
        where = super().__str__()
        return f"{_describe(self.header)}: {where}" if self.header is not None else where


class UnknownMessage(Exception):
    """A readable header naming a message NDMP v4 does not have (answer NDMP_NOT_SUPPORTED_ERR)."""

    def __init__(self, header: Header):
        super().__init__(f"no NDMP v4 message {_describe(header)}")
        self.header = header


def decode(record: bytes | bytearray | memoryview, *, allow_trailing: bool = False) -> Message:
    """Decode one record into a Message.  Raises only XdrDecodeError or UnknownMessage.

    Bulk fields (tape data, SCSI data) are memoryviews into ``record``: pass
    ``bytes`` (as RecordReader gives), or do not change the buffer afterwards."""
    buf = memoryview(record)
    if len(buf) < HEADER_SIZE:
        raise XdrDecodeError(f"a record of {len(buf)} bytes is shorter than the {HEADER_SIZE}-byte header")
    header, off = HEADER.decode_from(buf, 0)       # six 32-bit words: cannot fail at 24 bytes
    if header.message_type != _REQUEST and header.message_type != _REPLY:
        raise XdrDecodeError(f"message_type {header.message_type} is neither request (0) nor reply (1)",
                             header)
    declaration = REGISTRY.get((header.message_code, header.message_type))
    if declaration is None:
        raise UnknownMessage(header)
    body = None
    if header.error_code == _NO_ERR:
        try:
            body, off = decode_at(declaration, buf, off)
        except XdrError as e:
            raise XdrDecodeError(e.reason, header, e.path) from None
    rest = len(buf) - off
    if rest and not allow_trailing:
        what = "body" if header.error_code == _NO_ERR else f"header (error {header.error_code!r}: no body)"
        raise XdrDecodeError(f"{rest} bytes follow the {what}", header)
    return Message(header, body, rest)


def encode(message: Message) -> bytes:
    """Encode a Message into a record (not yet record-marked: see ``record.frame``).

    Raises XdrEncodeError for a message NDMP v4 does not have or a body that
    does not fit its declaration."""
    h = message.header
    declaration = REGISTRY.get((h.message_code, h.message_type))
    if declaration is None:
        raise XdrEncodeError(f"no NDMP v4 message {_describe(h)}")
    out = bytearray()
    encode_to(HEADER, h, out)
    if h.error_code == _NO_ERR:
        encode_to(declaration, message.body, out)
    elif message.body is not None:
        raise XdrEncodeError(f"{_describe(h)}: a message with header error {h.error_code!r} has no body")
    return bytes(out)


def _code(code: int | str) -> int:
    if isinstance(code, str):
        return lookup(code)
    try:
        return MessageCode(code)
    except ValueError:
        return code


def _now() -> int:
    return int(time.time()) & 0xFFFFFFFF


def request(code: int | str, body: Any = None, *, sequence: int, time_stamp: int | None = None) -> Message:
    """A request (or post) from this side: ``request("TAPE_OPEN", TapeOpenRequest(...), sequence=7)``."""
    return Message(Header(sequence, _now() if time_stamp is None else time_stamp, _REQUEST, _code(code),
                          0, _NO_ERR), body)


def reply(request_header: Header, error: int = _NO_ERR, body: Any = None, *, sequence: int,
          time_stamp: int | None = None) -> Message:
    """The reply to ``request_header``.  ``error`` is the *header* error_code: anything but
    NDMP_NO_ERR (NOT_SUPPORTED, XDR_DECODE, NOT_AUTHORIZED...) goes without a body.
    ``sequence`` is this side's own counter, not the request's."""
    try:
        error = ErrorCode(error)
    except ValueError:
        pass
    return Message(Header(sequence, _now() if time_stamp is None else time_stamp, _REPLY,
                          request_header.message_code, request_header.sequence, error), body)
