"""A blocking DMA over a real socket, for tests that need a real server in front of real
devices (tape, robot, mover): connect, authenticate with MD5, send requests, get the
decoded replies, collect the server's posts.

    with NdmpClient("127.0.0.1", server.port).connect("ndmp", PASSWORD) as dma:
        reply = dma.call(M.NDMP_TAPE_OPEN, tp.TapeOpenRequest(device="nrst0l", mode=1))
        assert reply.body.error == ErrorCode.NDMP_NO_ERR

Everything goes through the codec and record marking, as a DMA's bytes would.  A
reply to a message v4 does not have decodes to its header only (``body`` None).
Posts (NOTIFY_*, LOG_*, FH_*) that arrive while waiting for a reply are kept in
:attr:`NdmpClient.posts`; :meth:`NdmpClient.wait_post` reads until one arrives.  The
socket timeout is a guard against a hung server, never a measurement.
"""
from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any, Self

from ndmp import codec
from ndmp.auth import md5_digest
from ndmp.constants import AuthType, ErrorCode, MessageType
from ndmp.constants import MessageCode as M
from ndmp.messages import config as cf
from ndmp.messages import connect as cn
from ndmp.record import RecordReader, frame

__all__ = ["NdmpClient", "NdmpClientError"]

GUARD = 60.0          # seconds a read may block before the test is declared hung


class NdmpClientError(AssertionError):
    """The server did something a DMA cannot go on from (closed, refused, garbled)."""


def _decode(record: bytes) -> codec.Message:
    try:
        return codec.decode(record)
    except codec.UnknownMessage as e:
        return codec.Message(e.header)


class NdmpClient:
    def __init__(self, host: str, port: int, *, timeout: float = GUARD):
        self.address = (host, port)
        self.sock = socket.create_connection(self.address, timeout=timeout)
        self.sock.settimeout(timeout)
        self._reader = RecordReader()
        self._queue: list[codec.Message] = []
        self.sequence = 0
        self.posts: list[codec.Message] = []
        self.greeting: codec.Message | None = None

    # ------------------------------------------------------------------ connection

    def connect(self, user: str, password: str, *, version: int = 4) -> Self:
        """NOTIFY_CONNECTION_STATUS from the server, CONNECT_OPEN, an MD5 challenge,
        CONNECT_CLIENT_AUTH.  Raises NdmpClientError when any step is refused."""
        self.greeting = self._next()
        if self.greeting.header.message_code != M.NDMP_NOTIFY_CONNECTION_STATUS:
            raise NdmpClientError(f"the server greeted with {self.greeting.name}")
        self._expect_ok(self.call(M.NDMP_CONNECT_OPEN, cn.ConnectOpenRequest(protocol_version=version)))
        attr = self.call(M.NDMP_CONFIG_GET_AUTH_ATTR, cf.ConfigGetAuthAttrRequest(auth_type=AuthType.NDMP_AUTH_MD5))
        self._expect_ok(attr)
        digest = md5_digest(password.encode(), attr.body.server_attr.challenge)
        self._expect_ok(self.call(M.NDMP_CONNECT_CLIENT_AUTH, cn.ConnectClientAuthRequest(auth_data=cn.AuthData(
            auth_type=AuthType.NDMP_AUTH_MD5, auth_md5=cn.AuthMd5(auth_id=user, auth_digest=digest)))))
        return self

    @staticmethod
    def _expect_ok(reply: codec.Message) -> None:
        if reply.header.error_code != ErrorCode.NDMP_NO_ERR or reply.body is None \
                or getattr(reply.body, "error", ErrorCode.NDMP_NO_ERR) != ErrorCode.NDMP_NO_ERR:
            raise NdmpClientError(f"{reply.name} refused: header {reply.header.error_code!r}, body {reply.body!r}")

    def close(self) -> None:
        """Drop the connection (no CONNECT_CLOSE: the server must cope with either)."""
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
        self.sock.sendall(frame(codec.encode(request)))
        return self.sequence

    def call(self, code: int | str, body: Any = None) -> codec.Message:
        """Send a request and return its reply; posts that come first go to ``posts``."""
        sequence = self.send(code, body)
        while True:
            message = self._next()
            if message.header.message_type == MessageType.NDMP_MESSAGE_REPLY:
                if message.header.reply_sequence != sequence:
                    raise NdmpClientError(f"a reply to sequence {message.header.reply_sequence} arrived while "
                                          f"waiting for {sequence}")
                return message
            self.posts.append(message)

    def wait_post(self, predicate: Callable[[codec.Message], bool] | int | None = None) -> codec.Message:
        """The first post (already received or next to come) that ``predicate`` accepts;
        an int is a message code.  Removed from ``posts``."""
        if isinstance(predicate, int):
            code = predicate
            predicate = lambda m: m.header.message_code == code
        accept = predicate or (lambda m: True)
        while True:
            for i, message in enumerate(self.posts):
                if accept(message):
                    return self.posts.pop(i)
            message = self._next()
            if message.header.message_type == MessageType.NDMP_MESSAGE_REPLY:
                raise NdmpClientError(f"an unexpected reply {message.name} arrived while waiting for a post")
            self.posts.append(message)

    def closed_by_server(self) -> bool:
        """Read until the server closes the connection (posts are kept); True if it did."""
        try:
            while True:
                self.posts.append(self._next())
        except NdmpClientError:
            return True

    def _next(self) -> codec.Message:
        while not self._queue:
            try:
                data = self.sock.recv(1 << 20)
            except TimeoutError:
                raise NdmpClientError(f"no message from {self.address} in {self.sock.gettimeout()} s") from None
            if not data:
                raise NdmpClientError(f"{self.address} closed the connection")
            self._queue.extend(_decode(r) for r in self._reader.feed(data))
        return self._queue.pop(0)
