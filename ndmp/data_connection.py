"""The sockets of a DATA service's data connection and the threads that use them: the
*edge* of ``ndmp.data``, which decides and calls back; this module only does the I/O.

A TCP endpoint (DATA_LISTEN TCP) is a listener on the address the DMA reached the
session on, accepted on a thread of its own so that the DMA's MOVER_CONNECT on
another server completes whatever the DATA service is doing; a LOCAL endpoint is
a socket pair whose other end the session's mover takes (``local_peer``).
DATA_CONNECT makes the connection itself (TCP) or adopts the mover's end (LOCAL).
Either way the engine then reads or writes one blocking stream socket.

Sockets and threads: ``shutdown`` wakes whatever blocks on a socket (a job in
``recv``/``sendall``, the accept) without closing it, so a descriptor is never
closed under a thread that still uses it (it could be reused meanwhile); ``close``
shuts down and closes the descriptors once no thread of this connection runs,
else the last thread to end closes them.  ``join`` waits, bounded, for the threads.
"""
from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from typing import Any, Protocol

from .constants import AddrType
from .messages.common import Addr
from .mover_connection import connect_tcp, listen_tcp, local_pair, tcp_addr, tune

__all__ = ["DataConnection", "DataSide"]

log = logging.getLogger("ndmp.data")

JOIN_TIMEOUT = 60.0      # seconds: an engine has this long to notice DATA_ABORT


class DataSide(Protocol):
    """What the connection calls back on the DATA service (``ndmp.data.Data``)."""

    name: str

    def connected(self, peer: str) -> bool:
        """A mover connected to the TCP endpoint; False: drop it (no longer listening)."""
        ...

    def connection_failed(self, reason: str) -> None: ...


class DataConnection:
    """One data connection of ``data``; ``host`` is the IPv4 address a TCP endpoint listens on."""

    def __init__(self, data: DataSide, *, host: str, join_timeout: float = JOIN_TIMEOUT):
        self.data = data
        self.host = host
        self.join_timeout = join_timeout
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._sock: socket.socket | None = None
        self._peer: socket.socket | None = None      # LOCAL: the mover's end, until taken
        self._threads: list[threading.Thread] = []
        self._running = 0
        self._closed = False
        self._disposed = False

    # ------------------------------------------------------------------ endpoints

    def listen(self, addr_type: AddrType) -> Any:
        """Open the endpoint; the ndmp_addr for the DMA to give the mover.  OSError if it
        cannot be made."""
        if addr_type == AddrType.NDMP_ADDR_TCP:
            listener = listen_tcp(self.host)
            with self._lock:
                self._listener = listener
            self.spawn("accept", lambda: self._accept(listener))
            return tcp_addr(self.host, listener.getsockname()[1])
        self._sock, self._peer = local_pair()
        return Addr(addr_type=AddrType.NDMP_ADDR_LOCAL)

    def connect(self, addr: Any) -> None:
        """Connect to a mover listening at ``addr`` (TCP); OSError when none answers."""
        sock = connect_tcp(addr)
        with self._lock:
            if self._closed:
                sock.close()
                raise OSError("the data connection was closed while connecting")
            self._sock = sock

    def adopt(self, sock: socket.socket) -> None:
        """Use ``sock`` (the session mover's LOCAL end) as the connection."""
        tune(sock)
        with self._lock:
            self._sock = sock

    def local_peer(self) -> socket.socket | None:
        """The other end of a LOCAL endpoint, once."""
        with self._lock:
            peer, self._peer = self._peer, None
        return peer

    @property
    def stream(self) -> socket.socket | None:
        """The connected socket (blocking), None before a connection is made."""
        return self._sock

    # ------------------------------------------------------------------ threads

    def spawn(self, what: str, target: Callable[[], None]) -> threading.Thread:
        """Run ``target`` on a thread of this connection (the job, the accept)."""
        def run() -> None:
            try:
                target()
            finally:
                with self._lock:
                    self._running -= 1
                    last = self._closed and self._running == 0
                if last:
                    self._dispose()

        thread = threading.Thread(target=run, name=f"{self.data.name}-{what}", daemon=True)
        with self._lock:
            self._running += 1
            self._threads.append(thread)
        thread.start()
        return thread

    def _accept(self, listener: socket.socket) -> None:
        try:
            conn, peer = listener.accept()
        except OSError as e:
            if not self._closed:
                self.data.connection_failed(f"accepting the data connection failed: {e.strerror or e}")
            return
        tune(conn)
        with self._lock:
            self._listener = None
            listener.close()
            if self._closed:
                conn.close()
                return
            self._sock = conn
        if not self.data.connected(f"{peer[0]}:{peer[1]}"):
            self.close()

    # ------------------------------------------------------------------ ending

    def shutdown(self) -> None:
        """Wake every call blocked on the sockets: a job sees its connection end, the accept
        fails.  The descriptors stay open (see ``close``)."""
        with self._lock:
            for s in (self._listener, self._sock):
                if s is not None:
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

    def close(self) -> None:
        """Shut down, and close the descriptors now if no thread runs (else the last one does).
        Bytes already sent still reach the peer, followed by end of stream."""
        with self._lock:
            self._closed = True
        self.shutdown()
        with self._lock:
            idle = self._running == 0
        if idle:
            self._dispose()

    def _dispose(self) -> None:
        with self._lock:
            if self._disposed:
                return
            self._disposed = True
            for s in (self._listener, self._sock, self._peer):
                if s is not None:
                    s.close()
            self._listener = self._sock = self._peer = None

    def join(self) -> None:
        """Wait (bounded) for the threads of this connection, the caller's own excepted."""
        me = threading.current_thread()
        for t in list(self._threads):
            if t is not me:
                t.join(self.join_timeout)
                if t.is_alive():
                    log.error("%s: the thread %s did not end within %.0f s", self.data.name, t.name,
                              self.join_timeout)
