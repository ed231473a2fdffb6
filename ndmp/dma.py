"""A DMA's end of one NDMP control connection: connect, authenticate, send requests, read
their replies, and collect what the server posts meanwhile.

This is the client side that `vtl ndmp copy` (ONTAP's ndmcopy) drives against two data
servers, and that the tests drive against ours.  Everything goes through the codec and
record marking, as any DMA's bytes would.  A reply to a message v4 does not have decodes
to its header only (``body`` None).  Posts (NOTIFY_*, LOG_*, FH_*) that arrive while a
reply is awaited are kept in :attr:`DmaConnection.posts`; :meth:`wait_post` reads until
the one wanted arrives.

The socket timeout bounds every wait for a reply, so a hung server is an error rather
than a hang; waiting for a post (a backup's end) may take as long as the job takes, so
:meth:`wait_post` takes its own timeout.
"""
from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any, Self

from . import codec
from .auth import md5_digest
from .constants import AuthType, ErrorCode, MessageType
from .constants import MessageCode as M
from .messages import config as cf
from .messages import connect as cn
from .record import RecordReader, frame

__all__ = ["AUTH_TYPES", "DmaConnection", "DmaError"]

REPLY_TIMEOUT = 60.0          # seconds a server may take to answer a request
AUTH_TYPES = ("md5", "text")


class DmaError(Exception):
    """The server did something a DMA cannot go on from (closed, refused, garbled, silent)."""


def _decode(record: bytes) -> codec.Message:
    try:
        return codec.decode(record)
    except codec.UnknownMessage as e:
        return codec.Message(e.header)


def refusal(reply: codec.Message) -> str | None:
    """Why the server refused this request (its error's name), or None if it did not."""
    if reply.header.error_code != ErrorCode.NDMP_NO_ERR:
        return ErrorCode(reply.header.error_code).name
    if reply.body is None:
        return "no reply body"
    error = getattr(reply.body, "error", ErrorCode.NDMP_NO_ERR)
    return None if error == ErrorCode.NDMP_NO_ERR else ErrorCode(error).name


class DmaConnection:
    def __init__(self, host: str, port: int, *, timeout: float = REPLY_TIMEOUT,
                 family: int = socket.AF_UNSPEC):
        self.address = (host, port)
        self.sock = _connect(host, port, timeout, family)
        self.sock.settimeout(timeout)
        self._reader = RecordReader()
        self._queue: list[codec.Message] = []
        self.sequence = 0
        self.posts: list[codec.Message] = []
        self.greeting: codec.Message | None = None

    # ------------------------------------------------------------------ connection

    def connect(self, user: str, password: str, *, auth: str = "md5", version: int = 4) -> Self:
        """NOTIFY_CONNECTION_STATUS from the server, CONNECT_OPEN, then CONNECT_CLIENT_AUTH
        with ``auth`` "md5" (after the server's challenge) or "text".  Raises DmaError when
        any step is refused."""
        self.greeting = self._next()
        if self.greeting.header.message_code != M.NDMP_NOTIFY_CONNECTION_STATUS:
            raise DmaError(f"the server greeted with {self.greeting.name}")
        self.call_ok(M.NDMP_CONNECT_OPEN, cn.ConnectOpenRequest(protocol_version=version))
        if auth == "md5":
            attr = self.call_ok(M.NDMP_CONFIG_GET_AUTH_ATTR,
                                cf.ConfigGetAuthAttrRequest(auth_type=AuthType.NDMP_AUTH_MD5))
            digest = md5_digest(password.encode(), attr.body.server_attr.challenge)
            data = cn.AuthData(auth_type=AuthType.NDMP_AUTH_MD5,
                               auth_md5=cn.AuthMd5(auth_id=user, auth_digest=digest))
        elif auth == "text":
            data = cn.AuthData(auth_type=AuthType.NDMP_AUTH_TEXT,
                               auth_text=cn.AuthText(auth_id=user, auth_password=password))
        else:
            raise ValueError(f"authentication type {auth!r} is not one of {', '.join(AUTH_TYPES)}")
        self.call_ok(M.NDMP_CONNECT_CLIENT_AUTH, cn.ConnectClientAuthRequest(auth_data=data))
        return self

    def close(self) -> None:
        """Drop the connection (no CONNECT_CLOSE: a server must cope with either)."""
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ messages

    def send(self, code: int | str, body: Any = None) -> int:
        """Send one request; returns its sequence number."""
        self.sequence += 1
        request = codec.request(code, body, sequence=self.sequence)
        try:
            self.sock.sendall(frame(codec.encode(request)))
        except OSError as e:
            raise DmaError(f"{self._peer()}: cannot send {request.name}: {e.strerror or e}") from None
        return self.sequence

    def call(self, code: int | str, body: Any = None) -> codec.Message:
        """Send a request and return its reply; posts that come first go to ``posts``."""
        sequence = self.send(code, body)
        while True:
            message = self._next()
            if message.header.message_type == MessageType.NDMP_MESSAGE_REPLY:
                if message.header.reply_sequence != sequence:
                    raise DmaError(f"a reply to sequence {message.header.reply_sequence} arrived while "
                                   f"waiting for {sequence}")
                return message
            self.posts.append(message)

    def call_ok(self, code: int | str, body: Any = None) -> codec.Message:
        """:meth:`call`, raising DmaError (naming the request and the error) on a refusal."""
        reply = self.call(code, body)
        why = refusal(reply)
        if why is not None:
            raise DmaError(f"{self._peer()} refused {reply.name.replace('_REPLY', '')}: {why}")
        return reply

    def wait_post(self, predicate: Callable[[codec.Message], bool] | int | None = None, *,
                  timeout: float | None = REPLY_TIMEOUT) -> codec.Message:
        """The first post (already received or next to come) that ``predicate`` accepts;
        an int is a message code.  Removed from ``posts``.  ``timeout`` None waits for as
        long as it takes."""
        if isinstance(predicate, int):
            code = predicate
            predicate = lambda m: m.header.message_code == code
        accept = predicate or (lambda m: True)
        self.sock.settimeout(timeout)
        try:
            while True:
                for i, message in enumerate(self.posts):
                    if accept(message):
                        return self.posts.pop(i)
                message = self._next()
                if message.header.message_type == MessageType.NDMP_MESSAGE_REPLY:
                    raise DmaError(f"an unexpected reply {message.name} arrived while waiting for a post")
                self.posts.append(message)
        finally:
            self.sock.settimeout(REPLY_TIMEOUT)

    def closed_by_server(self) -> bool:
        """Read until the server closes the connection (posts are kept); True if it did."""
        try:
            while True:
                self.posts.append(self._next())
        except DmaError:
            return True

    def _peer(self) -> str:
        host, port = self.address
        return f"{host}:{port}" if ":" not in host else f"[{host}]:{port}"

    def _next(self) -> codec.Message:
        while not self._queue:
            try:
                data = self.sock.recv(1 << 20)
            except TimeoutError:
                raise DmaError(f"no message from {self._peer()} in {self.sock.gettimeout():g} s") from None
            except OSError as e:
                raise DmaError(f"{self._peer()}: {e.strerror or e}") from None
            if not data:
                raise DmaError(f"{self._peer()} closed the connection")
            self._queue.extend(_decode(r) for r in self._reader.feed(data))
        return self._queue.pop(0)


def _connect(host: str, port: int, timeout: float, family: int) -> socket.socket:
    """A TCP connection to the first address of ``host`` in ``family`` that answers."""
    try:
        infos = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise DmaError(f"{host}: {e.strerror}") from None
    last: OSError | None = None
    for fam, kind, proto, _, address in infos:
        sock = socket.socket(fam, kind, proto)
        sock.settimeout(timeout)
        try:
            sock.connect(address)
            return sock
        except OSError as e:
            sock.close()
            last = e
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    raise DmaError(f"cannot reach the NDMP server at {where}: {last.strerror if last else 'no address'}")
