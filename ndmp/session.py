"""One NDMP control connection as a sans-IO object (the h11 way).

The owner feeds received bytes with :meth:`Session.receive` (``b""`` for end
of file), sends whatever :meth:`Session.outgoing` returns, reads
:meth:`Session.events`, and closes the connection once :attr:`Session.closed`
is true and the outgoing bytes are sent.  The Session never touches a socket
or a clock other than the context's.

What it does with each record:

* not a message: NDMP_XDR_DECODE_ERR in the reply header, echoing the
  request's code and sequence when its header was readable (a record shorter
  than a header cannot be answered and is dropped);
* a message NDMP v4 does not have: NDMP_NOT_SUPPORTED_ERR;
* a request its phase does not allow yet: NDMP_PRECONDITION_ERR before
  CONNECT_OPEN (it must come first), NDMP_NOT_AUTHORIZED_ERR before
  CONNECT_CLIENT_AUTH;
* a v4 request whose service is not implemented: NDMP_NOT_SUPPORTED_ERR;
* a reply or a post (NOTIFY, LOG, FH) from the DMA: nothing to answer, ignored;
* anything else: its handler from ``ndmp.dispatch``.  A handler that fails
  unexpectedly gets NDMP_UNDEFINED_ERR and a logged traceback.

The session survives all of these.  Only a record larger than the limit
(64 KiB before authentication, 16 MiB after) ends it, with a
NOTIFY_CONNECTION_STATUS(SHUTDOWN) saying why: the stream cannot be
resynchronised.

Every message the server sends carries its own sequence counter (from 1), the
request's sequence as reply_sequence, and the context clock's time.

Threads: ``receive`` may block (a TAPE_READ waits for the drive), so the edge
calls it from a worker thread, one call at a time per session.  Posts made
while the session runs (the mover's NOTIFY_MOVER_PAUSED, from the mover's
thread) go through :meth:`Session.post`, which is safe from any thread and
calls :attr:`Session.on_output` so the edge knows there is something to send.
When the connection is over the edge calls :meth:`Session.release`: the tape
is closed and its reservation released, the mover stopped.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import codec, dispatch
from .answers import NO_REPLY, HeaderError
from .constants import NDMPVER, ConnectionStatusReason, ErrorCode, MessageType
from .constants import MessageCode as M
from .context import ServerContext
from .events import Closed, Event
from .header import HEADER, Header
from .messages import is_post, name_of
from .messages.notify import NotifyConnectionStatusPost
from .record import RecordReader, RecordTooLarge, frame
from .state import Phase, SessionState

__all__ = ["Session", "SessionInfo"]

log = logging.getLogger("ndmp.session")

_NO_ERR = ErrorCode.NDMP_NO_ERR
_REQUEST = MessageType.NDMP_MESSAGE_REQUEST
_REPLY = MessageType.NDMP_MESSAGE_REPLY

CONNECTED_TEXT = "vtl NDMP server: connected"


@dataclass(frozen=True)
class SessionInfo:
    """One line of ``vtl ndmp status``."""

    session_id: int
    peer: str
    started: float
    phase: str
    user: str | None
    role: str | None
    auth_type: str | None
    protocol_version: int | None
    requests: int
    closed: bool


class Session:
    """One NDMP session.  ``refuse`` makes a session that only says why it will not serve
    (NOTIFY_CONNECTION_STATUS with reason REFUSED) and is closed from the start."""

    def __init__(self, context: ServerContext, *, session_id: int = 0, peer: str = "",
                 refuse: str | None = None):
        self.context = context
        self.state = SessionState(context=context, login=context.auth.login(), session_id=session_id,
                                  peer=peer, started=context.clock())
        self._reader = RecordReader(min(context.unauthenticated_max_record_size, context.max_record_size))
        self._lock = threading.Lock()        # guards _out and _sequence: posts come from other threads
        self._out = bytearray()
        self._sequence = 0
        self._closed_reported = False
        self.on_output: Callable[[], None] | None = None
        """Called (from any thread) after a post was queued outside ``receive``."""
        self.state.post = self.post
        if refuse is None:
            self._notify(ConnectionStatusReason.NDMP_CONNECTED, CONNECTED_TEXT)
        else:
            self._notify(ConnectionStatusReason.NDMP_REFUSED, refuse)
            self.state.close(f"refused: {refuse}")

    # ------------------------------------------------------------------ the owner's interface

    @property
    def session_id(self) -> int:
        return self.state.session_id

    @property
    def closed(self) -> bool:
        """No more input will be processed: flush ``outgoing()`` and close the connection."""
        return self.state.close_reason is not None

    @property
    def close_reason(self) -> str | None:
        return self.state.close_reason

    def receive(self, data: bytes | bytearray | memoryview) -> None:
        """Bytes from the DMA; ``b""`` means it closed its side."""
        if self.closed:
            return
        if not data:
            partial = "" if self._reader.at_boundary else " in the middle of a message"
            self.state.close(f"the DMA closed the connection{partial}")
            return
        try:
            records = self._reader.feed(data)
        except RecordTooLarge as e:
            self.shutdown(f"protocol error: {e}")
            return
        for record in records:
            self._handle(record)
            if self.closed:        # CONNECT_CLOSE: what follows it is not served
                break

    def outgoing(self) -> bytes:
        """Everything queued for the DMA since the last call."""
        with self._lock:
            data = bytes(self._out)
            self._out.clear()
        return data

    def post(self, code: int, body: Any) -> None:
        """Queue a post (NOTIFY_*, LOG_*, FH_*) for the DMA.  Safe from any thread; after
        the session closed, posts are dropped (nobody is listening)."""
        if self.closed:
            return
        self._emit(_REQUEST, code, 0, _NO_ERR, body)
        callback = self.on_output
        if callback is not None:
            callback()

    def release(self) -> None:
        """The connection is over: give back the tape, the robot, the mover.  The edge
        calls it once, after the last ``receive``; it may block (a rewind on close)."""
        self.state.close(self.state.close_reason or "released")
        self.state.release()

    def events(self) -> list[Event]:
        """What happened since the last call (see ``ndmp.events``)."""
        if self.closed and not self._closed_reported:
            self._closed_reported = True
            self.state.events.append(Closed(self.state.close_reason or ""))
        events, self.state.events = self.state.events, []
        return events

    def shutdown(self, text: str) -> None:
        """End the session from our side (``vtl ndmp kill``, server stop): tell the DMA why
        with NOTIFY_CONNECTION_STATUS(SHUTDOWN) and stop reading."""
        if self.closed:
            return
        self._notify(ConnectionStatusReason.NDMP_SHUTDOWN, text)
        self.state.close(text)

    def info(self) -> SessionInfo:
        s = self.state
        return SessionInfo(
            session_id=s.session_id, peer=s.peer, started=s.started, phase=s.phase.name.lower(),
            user=s.user.name if s.user else None, role=s.user.role.value if s.user else None,
            auth_type={1: "text", 2: "md5"}.get(int(s.auth_type)) if s.auth_type is not None else None,
            protocol_version=s.protocol_version, requests=s.requests, closed=self.closed)

    # ------------------------------------------------------------------ sending

    def _emit(self, message_type: int, code: int, reply_sequence: int, error: int, body: Any = None) -> None:
        """Number, encode and queue one message (the body ``None``: the bare header).  The
        sequence is taken under the same lock as the queue, so the DMA sees sequences in
        the order messages arrive, whichever thread made them."""
        with self._lock:
            self._sequence = (self._sequence + 1) & 0xFFFFFFFF or 1
            header = Header(self._sequence, int(self.context.clock()) & 0xFFFFFFFF, message_type, code,
                            reply_sequence, error)
            if body is None:
                record = HEADER.encode(header)
            else:
                try:
                    record = codec.encode(codec.Message(header, body))
                except Exception:
                    log.exception("session %d: cannot encode %s", self.session_id, name_of(code))
                    header.error_code = ErrorCode.NDMP_UNDEFINED_ERR
                    record = HEADER.encode(header)
            self._out += frame(record)

    def _notify(self, reason: ConnectionStatusReason, text: str) -> None:
        body = NotifyConnectionStatusPost(reason=reason, protocol_version=NDMPVER, text_reason=text)
        self._emit(_REQUEST, M.NDMP_NOTIFY_CONNECTION_STATUS, 0, _NO_ERR, body)

    def _reply(self, request: Header, body: Any) -> None:
        self._emit(_REPLY, request.message_code, request.sequence, _NO_ERR, body)

    def _reply_error(self, request: Header, error: ErrorCode) -> None:
        """A reply with an error in its header and no body.  Encoded as the bare header, so
        a code NDMP v4 does not have (an unknown message) is echoed too."""
        self._emit(_REPLY, request.message_code, request.sequence, error)

    # ------------------------------------------------------------------ receiving

    def _handle(self, record: bytes) -> None:
        try:
            message = codec.decode(record)
        except codec.XdrDecodeError as e:
            self._refuse_undecodable(e)
            return
        except codec.UnknownMessage as e:
            log.info("session %d: %s", self.session_id, e)
            if e.header.message_type == _REQUEST:
                self._reply_error(e.header, ErrorCode.NDMP_NOT_SUPPORTED_ERR)
            return
        header = message.header
        if message.is_reply or is_post(header.message_code):
            log.info("session %d: ignored %s %s from the DMA", self.session_id, message.name,
                     "reply" if message.is_reply else "post")
            return
        self.state.requests += 1
        if header.error_code != _NO_ERR:             # a request with a header error has no body to serve
            self._reply_error(header, ErrorCode.NDMP_XDR_DECODE_ERR)
            return
        self._dispatch(message)

    def _refuse_undecodable(self, e: codec.XdrDecodeError) -> None:
        if e.header is None:
            log.info("session %d: dropped a record too short to hold a header: %s", self.session_id, e)
            return
        log.info("session %d: undecodable message: %s", self.session_id, e)
        if e.header.message_type != _REPLY and not is_post(e.header.message_code):
            self.state.requests += 1
            self._reply_error(e.header, ErrorCode.NDMP_XDR_DECODE_ERR)

    def _dispatch(self, message: codec.Message) -> None:
        state, header = self.state, message.header
        route = dispatch.route_for(header.message_code)
        if state.phase < route.phase:
            error = (ErrorCode.NDMP_PRECONDITION_ERR if state.phase == Phase.CONNECTED and route.phase == Phase.OPEN
                     else ErrorCode.NDMP_NOT_AUTHORIZED_ERR)
            self._reply_error(header, error)
            return
        if route.handler is None:
            self._reply_error(header, ErrorCode.NDMP_NOT_SUPPORTED_ERR)
            return
        was = state.phase
        try:
            body = route.handler(state, message.body)
        except HeaderError as e:
            self._reply_error(header, e.error)
            return
        except Exception:
            log.exception("session %d: %s failed", self.session_id, message.name)
            self._reply_error(header, ErrorCode.NDMP_UNDEFINED_ERR)
            return
        if header.message_code not in dispatch.NEGOTIATION:
            state.extensions_settled = True
        if body is not NO_REPLY:
            self._reply(header, body)
        if was < Phase.AUTHENTICATED <= state.phase:
            self._reader.max_record_size = self.context.max_record_size
