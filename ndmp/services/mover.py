"""MOVER interface: the session's mover, made on the first MOVER request.

The decisions are ``ndmp.mover.Mover``'s; this module turns requests into its
calls and its refusals (``Refused``) into the error of the reply body.  The
data connection's endpoints and threads are ``ndmp.mover_pump.DataPump``: a
TCP endpoint listens on the address the DMA reached this session on
(``state.local_address``), else on the server's data address, else on
127.0.0.1, because ndmp_tcp_addr has room for IPv4 only.
"""
from __future__ import annotations

import logging
from typing import Any

from ..constants import AddrType, ErrorCode
from ..messages import mover as mv
from ..messages.common import Addr
from ..mover import Mover, Refused
from ..mover_connection import data_host
from ..mover_pump import DataPump
from ..state import SessionState

log = logging.getLogger("ndmp.mover")

_OK = ErrorCode.NDMP_NO_ERR
_NO_ADDR = Addr(addr_type=AddrType.NDMP_ADDR_LOCAL)


def mover_of(state: SessionState) -> Mover:
    """The session's mover (made now if this is the first MOVER request)."""
    if state.mover is None:
        host = data_host(state.local_address, state.context.data_address)
        settings = state.context.mover
        state.mover = Mover(settings, tape=lambda: state.tape, post=lambda code, body: state.post(code, body),
                            data=lambda: state.data, name=f"session {state.session_id} mover",
                            edge=lambda m: DataPump(m, host=host, buffers=settings.buffers))
    return state.mover


def _refused(state: SessionState, request: str, e: Refused) -> ErrorCode:
    log.info("session %d: %s refused (%s): %s", state.session_id, request, e.error.name, e)
    return e.error


def get_state(state: SessionState, body: Any) -> Any:
    return mv.MoverGetStateReply(error=_OK, **mover_of(state).status())


def listen(state: SessionState, body: Any) -> Any:
    try:
        address = mover_of(state).listen(body.mode, body.addr_type)
    except Refused as e:
        return mv.MoverListenReply(error=_refused(state, "MOVER_LISTEN", e), connect_addr=_NO_ADDR)
    return mv.MoverListenReply(error=_OK, connect_addr=address)


def connect(state: SessionState, body: Any) -> Any:
    try:
        mover_of(state).connect(body.mode, body.addr)
    except Refused as e:
        return mv.MoverConnectReply(error=_refused(state, "MOVER_CONNECT", e))
    return mv.MoverConnectReply(error=_OK)


def _simple(name: str, reply: Any, call: Any) -> Any:
    def handler(state: SessionState, body: Any) -> Any:
        try:
            call(mover_of(state), body)
        except Refused as e:
            return reply(error=_refused(state, name, e))
        return reply(error=_OK)
    handler.__name__ = name.lower()
    handler.__doc__ = f"NDMP_{name}."
    return handler


continue_ = _simple("MOVER_CONTINUE", mv.MoverContinueReply, lambda m, b: m.continue_())
abort = _simple("MOVER_ABORT", mv.MoverAbortReply, lambda m, b: m.abort())
stop = _simple("MOVER_STOP", mv.MoverStopReply, lambda m, b: m.stop())
close = _simple("MOVER_CLOSE", mv.MoverCloseReply, lambda m, b: m.close())
set_window = _simple("MOVER_SET_WINDOW", mv.MoverSetWindowReply, lambda m, b: m.set_window(b.offset, b.length))
read = _simple("MOVER_READ", mv.MoverReadReply, lambda m, b: m.read(b.offset, b.length))
set_record_size = _simple("MOVER_SET_RECORD_SIZE", mv.MoverSetRecordSizeReply,
                          lambda m, b: m.set_record_size(b.len))
