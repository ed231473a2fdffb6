"""Types shared by several interfaces (ndmp_pval, ndmp_addr, error-only replies) and the
shape of a per-interface message table.

``Exchange(request, reply)`` is one message's pair of body declarations:
``NO_BODY`` for a message that carries none, ``reply=None`` for a post
(NOTIFY, LOG, FH), which is never answered.
"""
from __future__ import annotations

from typing import NamedTuple

from ..constants import AddrType, ErrorCode
from ..xdr import (
    OPAQUE_ANY,
    STRING_ANY,
    U_SHORT,
    UINT32,
    Array,
    Enum,
    Opaque,
    String,
    Struct,
    Union,
    Void,
    XdrType,
)

NO_BODY = Void("no body")

ERROR = Enum(ErrorCode)
STRING = STRING_ANY
OPAQUE = OPAQUE_ANY
BULK = Opaque(view=True, name="opaque<> (bulk)")    # tape records: decoded as a view, not copied
PATH = String(name="ndmp_path")                      # typedef string ndmp_path<>

Pval = Struct("ndmp_pval", name=STRING, value=STRING)
PVALS = Array(Pval)

TcpAddr = Struct("ndmp_tcp_addr", ip_addr=UINT32, port=U_SHORT, addr_env=PVALS)
IpcAddr = Struct("ndmp_ipc_addr", comm_data=OPAQUE)
Addr = Union("ndmp_addr", ("addr_type", Enum(AddrType)), {
    AddrType.NDMP_ADDR_LOCAL: None,
    AddrType.NDMP_ADDR_TCP: ("tcp_addr", Array(TcpAddr)),
    AddrType.NDMP_ADDR_IPC: ("ipc_addr", IpcAddr),
})


def error_reply(spec_name: str) -> Struct:
    """``struct <spec_name> { ndmp_error error; }`` -- the reply of most requests."""
    return Struct(spec_name, error=ERROR)


class Exchange(NamedTuple):
    request: XdrType
    reply: XdrType | None        # None: a post, no reply exists


def post(body: XdrType) -> Exchange:
    return Exchange(body, None)
