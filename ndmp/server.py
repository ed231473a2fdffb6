"""The asyncio edge: accepts connections and moves bytes between sockets and Sessions.

Everything NDMP happens in :class:`~ndmp.session.Session`; this module only
reads, writes and closes.  One Session per connection; a connection beyond the
session limit gets a REFUSED Session that says why and is closed.  With a
``tls_context`` (an ``ssl.SSLContext`` holding the server certificate) the
control connection is TLS from the first byte (the seed's secure NDMP:
server-side authentication only); which port that listens on is the
caller's choice.

``registry.kill(id)`` / ``kill_all()`` must be called on the server's event
loop (from another thread, use ``loop.call_soon_threadsafe``).
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import ssl
from collections.abc import Iterable
from typing import Self

from .auth import Authenticator, AuthPolicy, User
from .backend import Backend, StaticBackend
from .constants import NDMPPORT
from .context import ServerContext, ServerIdentity
from .events import (
    Authenticated,
    AuthenticationFailed,
    Closed,
    Event,
    Opened,
    VersionRefused,
)
from .registry import SessionLimitReached, SessionRegistry
from .session import Session

__all__ = ["NdmpServer"]

log = logging.getLogger("ndmp.server")

READ_SIZE = 256 * 1024
TLS_SHUTDOWN_TIMEOUT = 5.0
STOPPING_TEXT = "the NDMP service is stopping"


def _peer(writer: asyncio.StreamWriter) -> str:
    name = writer.get_extra_info("peername")
    if isinstance(name, tuple) and len(name) >= 2:
        host = f"[{name[0]}]" if ":" in str(name[0]) else str(name[0])
        return f"{host}:{name[1]}"
    return str(name or "")


class NdmpServer:
    """An NDMP v4 server on ``address:port`` (port 0: any free port, see :attr:`port`)."""

    def __init__(self, address: str = "127.0.0.1", port: int = NDMPPORT, backend: Backend | None = None,
                 users: Iterable[User] = (), tls_context: ssl.SSLContext | None = None, *,
                 auth_policy: AuthPolicy | None = None, registry: SessionRegistry | None = None,
                 identity: ServerIdentity | None = None, context: ServerContext | None = None):
        self.address = address
        self.requested_port = port
        self.tls_context = tls_context
        self.context = context if context is not None else ServerContext(
            backend if backend is not None else StaticBackend(),
            Authenticator(users, auth_policy),
            identity if identity is not None else ServerIdentity())
        self.registry = registry if registry is not None else SessionRegistry()
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task] = set()
        # Requests run here, one at a time per session: a TAPE_READ waiting for the drive
        # must not stop the event loop (and with it every other session).
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None

    @property
    def port(self) -> int:
        """The port actually listened on (after start())."""
        if self._server is None or not self._server.sockets:
            return self.requested_port
        return self._server.sockets[0].getsockname()[1]

    @property
    def serving(self) -> bool:
        return self._server is not None

    async def start(self) -> None:
        if self._server is not None:
            return
        self._executor = concurrent.futures.ThreadPoolExecutor(self.registry.max_sessions + 2,
                                                               thread_name_prefix="ndmp-session")
        # A DMA that stops reading must not hold a TLS session's close (and with it
        # `vtl ndmp off`) for asyncio's default 30 s.
        tls = {"ssl": self.tls_context, "ssl_shutdown_timeout": TLS_SHUTDOWN_TIMEOUT} if self.tls_context else {}
        self._server = await asyncio.start_server(self._serve, self.address, self.requested_port, **tls)
        log.info("NDMP server listening on %s:%d%s", self.address, self.port, " (TLS)" if self.tls_context else "")

    async def stop(self, text: str = STOPPING_TEXT) -> None:
        """Stop listening, tell every session why (SHUTDOWN) and wait for them to close."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        self.registry.kill_all(text)
        await server.wait_closed()
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ one connection

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        peer = _peer(writer)
        try:
            try:
                sid = self.registry.reserve(peer)
            except SessionLimitReached as e:
                log.warning("refused an NDMP connection from %s: %s", peer, e)
                writer.write(Session(self.context, peer=peer, refuse=str(e)).outgoing())
                return
            try:
                await self._run(sid, peer, reader, writer)
            finally:
                self.registry.release(sid)
        except (ConnectionError, ssl.SSLError, OSError) as e:
            log.info("NDMP connection from %s ended: %s", peer, e)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            if task is not None:
                self._tasks.discard(task)

    async def _run(self, sid: int, peer: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Read and serve requests (in the executor) until the session closes; a second
        task sends whatever the session queues, replies and posts alike.  When the
        session closes, the sender flushes and closes the transport, which ends a read
        still waiting; then the session releases what it holds."""
        loop = asyncio.get_running_loop()
        session = Session(self.context, session_id=sid, peer=peer)
        local = writer.get_extra_info("sockname")
        session.state.local_address = str(local[0]) if isinstance(local, tuple) else ""
        wake = asyncio.Event()
        session.on_output = lambda: loop.call_soon_threadsafe(wake.set)

        def kill(text: str) -> None:
            session.shutdown(text)
            wake.set()

        self.registry.attach(sid, session, kill)
        log.info("NDMP session %d from %s", sid, peer)
        wake.set()                      # the greeting (NOTIFY_CONNECTION_STATUS) is queued already
        sender = asyncio.create_task(self._send(session, writer, wake))
        try:
            while not session.closed:
                try:
                    data = await reader.read(READ_SIZE)
                except (ConnectionError, ssl.SSLError, OSError):
                    data = b""
                await loop.run_in_executor(self._executor, session.receive, data)
                wake.set()
        finally:
            await loop.run_in_executor(self._executor, session.release)
            wake.set()
            await sender

    async def _send(self, session: Session, writer: asyncio.StreamWriter, wake: asyncio.Event) -> None:
        try:
            while True:
                await wake.wait()
                wake.clear()
                out = session.outgoing()
                if out and not writer.is_closing():
                    writer.write(out)
                    await writer.drain()
                self._log(session, session.events())
                if session.closed:
                    return
        except (ConnectionError, ssl.SSLError, OSError) as e:
            log.info("NDMP session %d: cannot send: %s", session.session_id, e)
            session.shutdown(f"the connection failed: {e}")
        finally:
            writer.close()              # flushes what is buffered, then wakes a waiting read with EOF

    @staticmethod
    def _log(session: Session, events: list[Event]) -> None:
        sid = session.session_id
        for event in events:
            if isinstance(event, Authenticated):
                log.info("NDMP session %d: user %s (%s) authenticated by %s", sid, event.user, event.role,
                         event.method)
            elif isinstance(event, AuthenticationFailed):
                log.warning("NDMP session %d: %s", sid, event.reason)
            elif isinstance(event, Closed):
                log.info("NDMP session %d closed: %s", sid, event.reason)
            elif isinstance(event, (Opened, VersionRefused)):
                log.debug("NDMP session %d: %s", sid, event)
