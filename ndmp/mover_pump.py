"""The threads that move a mover's bytes: data connection -> tape (backup) and tape ->
data connection (restore).  One :class:`DataPump` per data connection; it is the
``MoverEdge`` of ``ndmp.mover`` and asks the Mover before every step.

Backup runs two threads so that the socket and the tape work at the same time:
the *reader* fills record-size buffers straight from the socket
(``recv_into`` with MSG_WAITALL, no intermediate copy) and queues them; the
*writer* hands each one to ``tape.write`` as a memoryview and gives it back.
``MoverSettings.buffers`` buffers circulate (seed 004's "data buffers"): the
reader runs at most that far ahead of the tape.  The last, partial record is
padded with zeros to the record size, as NDMJOB does, and the tape is flushed
(WRITE FILEMARKS 0: a sync point) before the mover halts with CONNECT_CLOSED.
If the DMA changes the record size while the mover is paused, the buffers
already filled are cut again at the new size (a copy, on that rare path only).

Restore runs one thread: it spaces to and reads the record the Mover names,
then sends the part of it the current MOVER_READ wants.

Waiting (paused, or a restore with no MOVER_READ pending) is a ``poll`` on a
wake-up socket pair the Mover rings after each change, and in a restore also
on the data socket, so that a DATA server that hangs up is noticed at once.
``close`` shuts the sockets down (waking a blocked ``recv``/``send``/``accept``)
and ``join`` waits, bounded, for the threads.
"""
from __future__ import annotations

import errno
import logging
import queue
import select
import socket
import threading
from typing import Any

from .constants import AddrType, ErrorCode, MoverMode, TapeMtioOp
from .messages.common import Addr
from .mover import Fetch, Mover, Send, Step
from .mover_connection import connect_tcp, listen_tcp, local_pair, tcp_addr, tune

__all__ = ["DataPump"]

log = logging.getLogger("ndmp.mover")

JOIN_TIMEOUT = 60.0         # seconds: a tape command in progress may take this long to return
_EOF = object()             # reader -> writer: the data connection ended cleanly
_STOP = object()            # close() -> writer: stop now
_WRITTEN = object()         # _write's answers
_RESIZED = object()
_HANGUP = (errno.EPIPE, errno.ECONNRESET, errno.ESHUTDOWN)


class DataPump:
    """The I/O side of one data connection of ``mover``; ``host`` is the address a TCP
    endpoint listens on, ``buffers`` the number of record buffers of a backup."""

    def __init__(self, mover: Mover, *, host: str, buffers: int = 4, join_timeout: float = JOIN_TIMEOUT):
        self.mover = mover
        self.host = host
        self.buffers = max(2, buffers)
        self.join_timeout = join_timeout
        self._lock = threading.Lock()          # guards the sockets against close() from other threads
        self._closed = False
        self._disposed = False                  # the sockets are closed: the threads are done
        self._listener: socket.socket | None = None
        self._sock: socket.socket | None = None
        self._peer: socket.socket | None = None     # LOCAL: the DATA service's end, until taken
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._free: queue.SimpleQueue = queue.SimpleQueue()
        self._full: queue.SimpleQueue = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []

    # ------------------------------------------------------------------ MoverEdge

    def listen(self, mode: MoverMode, addr_type: AddrType) -> Any:
        try:
            if addr_type == AddrType.NDMP_ADDR_TCP:
                self._listener = listen_tcp(self.host)
                address = tcp_addr(self.host, self._listener.getsockname()[1])
            else:
                self._sock, self._peer = local_pair()
                address = Addr(addr_type=AddrType.NDMP_ADDR_LOCAL)
        except OSError:
            self._abandon()
            raise
        self._spawn(self._run, mode, True)
        return address

    def connect(self, mode: MoverMode, addr: Any) -> None:
        try:
            self._sock = connect_tcp(addr)
        except OSError:
            self._abandon()
            raise
        self._spawn(self._run, mode, False)

    def adopt(self, mode: MoverMode, peer: Any) -> None:
        self._sock = peer
        tune(peer)
        self._spawn(self._run, mode, False)

    def local_peer(self) -> socket.socket | None:
        with self._lock:
            peer, self._peer = self._peer, None
        return peer

    def wake(self) -> None:
        with self._lock:          # never a send on a socket being closed (its fd could be reused)
            if self._disposed:
                return
            try:
                self._wake_w.send(b"!")
            except OSError:       # full: a wake-up is pending anyway
                pass

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for s in (self._listener, self._sock):
                if s is not None:
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
        self._free.put(None)
        self._full.put(_STOP)
        self.wake()

    def join(self) -> None:
        me = threading.current_thread()
        for t in list(self._threads):
            if t is not me:
                t.join(self.join_timeout)
                if t.is_alive():
                    log.error("%s: the data connection's thread %s did not end within %.0f s", self.mover.name,
                              t.name, self.join_timeout)

    def _abandon(self) -> None:
        """No connection was made: nothing runs, give the sockets back now."""
        self._closed = True
        self._dispose()

    def _dispose(self) -> None:
        with self._lock:
            self._disposed = True
            for s in (self._listener, self._sock, self._peer, self._wake_r, self._wake_w):
                if s is not None:
                    s.close()
            self._peer = None

    # ------------------------------------------------------------------ threads

    def _spawn(self, target: Any, *args: Any) -> threading.Thread:
        t = threading.Thread(target=target, args=args, name=f"{self.mover.name}-{target.__name__.strip('_')}",
                             daemon=True)
        self._threads.append(t)
        t.start()
        return t

    def _run(self, mode: MoverMode, listening: bool) -> None:
        try:
            if listening and not self._await_connection():
                return
            if mode == MoverMode.NDMP_MOVER_MODE_READ:
                self._backup()
            else:
                self._restore()
        except Exception as e:
            log.exception("%s: the data connection failed", self.mover.name)
            self.mover.internal_error(f"internal error moving data: {e}")
        finally:
            self.close()
            for t in self._threads:
                if t is not threading.current_thread():
                    t.join(self.join_timeout)
            self._dispose()

    def _wait(self, *sockets: socket.socket | None) -> set[int]:
        """Block until the Mover rings or one of ``sockets`` is readable; the fds ready."""
        poller = select.poll()
        poller.register(self._wake_r, select.POLLIN)
        for s in sockets:
            if s is not None:
                poller.register(s, select.POLLIN)
        ready = {fd for fd, _ in poller.poll()}
        if self._wake_r.fileno() in ready:
            try:
                while self._wake_r.recv(4096):
                    pass
            except OSError:
                pass
        return ready

    def _await_connection(self) -> bool:
        """LISTEN: TCP waits for the DATA server to connect, LOCAL for the DATA service to
        take its end (the Mover goes ACTIVE then)."""
        mover = self.mover
        listener = self._listener
        while True:
            if self._closed or not mover.running:
                return False
            if listener is None:
                if mover.uses_tape:
                    return True
                self._wait()
                continue
            if listener.fileno() not in self._wait(listener) or self._closed:
                continue
            try:
                conn, peer = listener.accept()
            except OSError as e:
                if not self._closed:
                    mover.connection_failed(f"accepting the data connection failed: {e}")
                return False
            tune(conn)
            with self._lock:
                self._listener = None
                listener.close()
                if self._closed:
                    conn.close()
                    return False
                self._sock = conn
            return mover.connected(f"{peer[0]}:{peer[1]}")

    # backup: data connection -> tape

    def _backup(self) -> None:
        mover = self.mover
        for _ in range(self.buffers):
            self._free.put(bytearray(mover.record_size))
        self._spawn(self._read_ahead, self._sock)
        staging = bytearray()           # bytes not yet cut into records (slow path only)
        while True:
            item = self._full.get()
            if item is _STOP:
                return
            if item is _EOF:
                if self._drain(staging, final=True):
                    self._finish()
                return
            if isinstance(item, str):
                mover.connection_failed(f"reading the backup stream failed: {item}")
                return
            buf, n = item
            if not staging and n == len(buf):
                done = self._write(memoryview(buf))         # the fast path: the buffer is the record
                if done is _STOP:
                    return
                if done is _RESIZED:
                    staging += buf
            else:                                           # the stream's tail, or a new record size
                staging += memoryview(buf)[:n]
            if staging and not self._drain(staging):
                return
            if len(buf) != mover.record_size:
                buf = bytearray(mover.record_size)
            self._free.put(buf)

    def _drain(self, staging: bytearray, final: bool = False) -> bool:
        """Write the whole records ``staging`` holds (at the end of the stream also the
        last, partial one, padded with zeros); False when the mover stopped."""
        while staging:
            rs = self.mover.record_size
            if len(staging) < rs and not final:
                return True
            record = bytes(staging[:rs])
            if len(record) < rs:
                record += bytes(rs - len(record))
            done = self._write(record)
            if done is _STOP:
                return False
            if done is _WRITTEN:
                del staging[:rs]
        return True

    def _write(self, record: Any) -> object:
        """Write one record, waiting out pauses: _WRITTEN, _STOP (the mover stopped) or
        _RESIZED (the DMA changed the record size during a pause: cut it again)."""
        mover = self.mover
        while True:
            step, tape = mover.next_write()
            if step is Step.EXIT:
                return _STOP
            if step is Step.WAIT:
                self._wait()
                continue
            if len(record) != mover.record_size:         # stable while ACTIVE: only a pause changes it
                return _RESIZED
            with tape.lock:
                io = tape.write(record)
            if mover.wrote(io):
                return _WRITTEN

    def _finish(self) -> None:
        """The stream ended and its last record is on tape: flush (a sync point), halt."""
        mover = self.mover
        while True:
            step, tape = mover.next_flush()
            if step is Step.EXIT:
                return
            if step is Step.WAIT:
                self._wait()
                continue
            with tape.lock:
                io = tape.flush()
            mover.flushed(io)
            return

    def _read_ahead(self, sock: socket.socket) -> None:
        """Fill free buffers from the socket until end of stream (then _EOF) or an error
        (then its text)."""
        try:
            while True:
                buf = self._free.get()
                if buf is None:
                    return
                size = len(buf)
                n = 0
                with memoryview(buf) as view:
                    while n < size:
                        got = sock.recv_into(view[n:], size - n, socket.MSG_WAITALL)
                        if got == 0:
                            break
                        n += got
                self._full.put((buf, n))
                if n < size:
                    self._full.put(_EOF)
                    return
        except OSError as e:
            self._full.put(_EOF if self._closed else (e.strerror or str(e)))

    # restore: tape -> data connection

    def _restore(self) -> None:
        mover = self.mover
        sock = self._sock
        assert sock is not None
        buf = bytearray(mover.record_size)
        view = memoryview(buf)
        while True:
            step = mover.next_read()
            if step is Step.EXIT:
                return
            if step is Step.WAIT:
                if sock.fileno() in self._wait(sock) and not self._still_connected(sock):
                    return
                continue
            if isinstance(step, Send):
                # Counted before it goes: once the DATA server has the bytes, the next
                # MOVER_READ (which it may prompt at once) must not find this one pending.
                mover.sent(step.length)
                try:
                    sock.sendall(view[step.start:step.start + step.length])
                except OSError as e:
                    if e.errno in _HANGUP:
                        mover.connection_closed()
                    else:
                        mover.connection_failed(f"sending restored data failed: {e.strerror or e}")
                    return
                continue
            assert isinstance(step, Fetch)
            if len(buf) != mover.record_size:
                view.release()
                buf = bytearray(mover.record_size)
                view = memoryview(buf)
            tape = step.tape
            with tape.lock:
                space = None
                if step.space:
                    op = TapeMtioOp.NDMP_MTIO_FSR if step.space > 0 else TapeMtioOp.NDMP_MTIO_BSR
                    space = tape.mtio(op, abs(step.space))
                io = None
                if space is None or (space.error == ErrorCode.NDMP_NO_ERR and space.count == 0):
                    io = tape.read_into(view)
            mover.fetched(step, space, io)

    def _still_connected(self, sock: socket.socket) -> bool:
        """The data socket is readable during a restore: the DATA server hung up (tell the
        Mover; False) or sent bytes it should not have (drop them; True)."""
        try:
            data = sock.recv(65536, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return True
        except OSError as e:
            if e.errno in _HANGUP:
                self.mover.connection_closed()
            else:
                self.mover.connection_failed(f"the data connection failed: {e.strerror or e}")
            return False
        if not data:
            self.mover.connection_closed()
            return False
        log.warning("%s: the DATA server sent %d bytes during a restore; dropped", self.mover.name, len(data))
        return True
