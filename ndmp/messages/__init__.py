"""The one table of NDMP v4 message bodies: (message code, message type) -> declaration.

Each interface module (``connect``, ``config``, ``scsi``, ``tape``, ``data``,
``notify``, ``log``, ``fh``, ``mover``) declares its bodies and a ``MESSAGES``
table of ``Exchange(request, reply)``; this module merges them.  A message
without a body maps to ``NO_BODY``; a post (NOTIFY, LOG, FH) has no reply
entry at all, so a "reply" to one is an unknown message.

Names: ``name_of(code)`` gives the spec name (``"NDMP_TAPE_OPEN"``), and
``lookup`` accepts that or the short form Wireshark prints (``"TAPE_OPEN"``).
"""
from __future__ import annotations

from ..constants import MessageCode, MessageType
from ..xdr import XdrType
from . import config, connect, data, fh, log, mover, notify, scsi, tape
from .common import NO_BODY, Exchange

__all__ = ["EXCHANGES", "NO_BODY", "REGISTRY", "Exchange", "body_for", "is_post", "lookup", "name_of"]

REQUEST = MessageType.NDMP_MESSAGE_REQUEST
REPLY = MessageType.NDMP_MESSAGE_REPLY

EXCHANGES: dict[MessageCode, Exchange] = {}
for _module in (connect, config, scsi, tape, data, notify, log, fh, mover):
    for _code, _exchange in _module.MESSAGES.items():
        if _code in EXCHANGES:
            raise RuntimeError(f"{_code.name} declared twice ({_module.__name__})")
        EXCHANGES[_code] = _exchange

REGISTRY: dict[tuple[int, int], XdrType] = {}
for _code, _exchange in EXCHANGES.items():
    REGISTRY[(_code, REQUEST)] = _exchange.request
    if _exchange.reply is not None:
        REGISTRY[(_code, REPLY)] = _exchange.reply


def body_for(code: int, message_type: int) -> XdrType | None:
    """The body declaration of a message, ``None`` if there is no such message."""
    return REGISTRY.get((code, message_type))


def is_post(code: int) -> bool:
    """True for NOTIFY, LOG and FH messages: sent as requests, never answered."""
    exchange = EXCHANGES.get(code)   # type: ignore[call-overload]
    return exchange is not None and exchange.reply is None


def name_of(code: int) -> str:
    """Spec name of a message code; an unknown one is shown in hex (``"0x40C"``)."""
    try:
        return MessageCode(code).name
    except ValueError:
        return f"0x{code:X}" if code >= 0 else str(code)


def lookup(name: str) -> MessageCode:
    """``"NDMP_TAPE_OPEN"``, ``"TAPE_OPEN"`` or ``"tape_open"`` -> ``MessageCode.NDMP_TAPE_OPEN``."""
    key = name.strip().upper()
    if not key.startswith("NDMP_"):
        key = "NDMP_" + key
    try:
        return MessageCode[key]
    except KeyError:
        raise KeyError(f"no NDMP v4 message is called {name!r}") from None
