"""DATA interface: the session's DATA service, made on the first DATA request.

The decisions are ``ndmp.data.Data``'s; this module turns requests into its calls
and its refusals (``Refused``) into the error of the reply body.  The data
connection's sockets are ``ndmp.data_connection.DataConnection``: a TCP endpoint
listens on the address the DMA reached this session on (``state.local_address``),
else on the server's data address, else on 127.0.0.1, as the mover's does.
Engines come from ``context.engines`` by backup type when a START arrives; the
session limit is the server's ``context.data_operations``.
"""
from __future__ import annotations

import logging
from typing import Any

from ..constants import AddrType, ErrorCode
from ..data import Data, Refused
from ..data_connection import DataConnection
from ..messages import data as da
from ..messages.common import Addr, Pval
from ..mover_connection import data_host
from ..state import SessionState

log = logging.getLogger("ndmp.data")

_OK = ErrorCode.NDMP_NO_ERR
_NO_ADDR = Addr(addr_type=AddrType.NDMP_ADDR_LOCAL)


def data_of(state: SessionState) -> Data:
    """The session's DATA service (made now if this is the first DATA request)."""
    if state.data is None:
        host = data_host(state.local_address, state.context.data_address)
        context = state.context
        state.data = Data(engine=lambda butype: context.engines.get(butype), limits=context.data_operations,
                          post=lambda code, body: state.post(code, body), mover=lambda: state.mover,
                          edge=lambda d: DataConnection(d, host=host), session_id=state.session_id,
                          context=context, name=f"session {state.session_id} data")
    return state.data


def _refused(state: SessionState, request: str, e: Refused) -> ErrorCode:
    log.info("session %d: %s refused (%s): %s", state.session_id, request, e.error.name, e)
    return e.error


def _env(body: Any) -> list[tuple[str, str]]:
    return [(pv.name, pv.value) for pv in body.env]


def get_state(state: SessionState, body: Any) -> Any:
    return da.DataGetStateReply(error=_OK, **data_of(state).status())


def listen(state: SessionState, body: Any) -> Any:
    try:
        address = data_of(state).listen(body.addr_type)
    except Refused as e:
        return da.DataListenReply(error=_refused(state, "DATA_LISTEN", e), connect_addr=_NO_ADDR)
    return da.DataListenReply(error=_OK, connect_addr=address)


def get_env(state: SessionState, body: Any) -> Any:
    try:
        env = data_of(state).get_env()
    except Refused as e:
        return da.DataGetEnvReply(error=_refused(state, "DATA_GET_ENV", e), env=[])
    return da.DataGetEnvReply(error=_OK, env=[Pval(name=n, value=v) for n, v in env])


def _simple(name: str, reply: Any, call: Any) -> Any:
    def handler(state: SessionState, body: Any) -> Any:
        try:
            call(data_of(state), body)
        except Refused as e:
            return reply(error=_refused(state, name, e))
        return reply(error=_OK)
    handler.__name__ = name.lower()
    handler.__doc__ = f"NDMP_{name}."
    return handler


connect = _simple("DATA_CONNECT", da.DataConnectReply, lambda d, b: d.connect(b.addr))
start_backup = _simple("DATA_START_BACKUP", da.DataStartBackupReply,
                       lambda d, b: d.start("backup", b.butype_name, _env(b)))
start_recover = _simple("DATA_START_RECOVER", da.DataStartRecoverReply,
                        lambda d, b: d.start("recover", b.butype_name, _env(b), b.nlist))
start_recover_filehist = _simple("DATA_START_RECOVER_FILEHIST", da.DataStartRecoverFilehistReply,
                                 lambda d, b: d.start("recover_filehist", b.butype_name, _env(b), b.nlist))
abort = _simple("DATA_ABORT", da.DataAbortReply, lambda d, b: d.abort())
stop = _simple("DATA_STOP", da.DataStopReply, lambda d, b: d.stop())
