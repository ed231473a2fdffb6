"""The dump engine driven the way the DATA service drives it, without a server: a
backup's stream is collected from a socket pair, and a recovery's NOTIFY_DATA_READ
requests are answered from an image held in memory (each request counted), as a DMA
and a mover would."""
from __future__ import annotations

import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ndmp.backend import StaticBackend, Volume
from ndmp.constants import MessageCode as M
from ndmp.dump.engine import DumpEngine
from ndmp.engine import Operation
from ndmp.event_log import EventLog
from ndmp.messages.data import Name

INFINITY = 0xFFFFFFFFFFFFFFFF


@dataclass
class Lab:
    engine: DumpEngine
    context: Any
    posts: list = field(default_factory=list)
    logs: list = field(default_factory=list)


def make_context(volumes: dict[str, Path], log_dir: Path) -> Any:
    from ndmp.auth import Authenticator
    from ndmp.context import ServerContext
    backend = StaticBackend(volume_list=[Volume(name=n, host_path=str(p)) for n, p in volumes.items()])
    return ServerContext(backend, Authenticator(()), event_log=EventLog(log_dir))


def _op(lab: Lab, kind: str, env: Sequence[tuple[str, str]], nlist: Sequence[Any], stream: socket.socket,
        read: Any = lambda o, n: None) -> Operation:
    lab.posts.clear()
    lab.logs.clear()
    return Operation(kind, "dump", list(env), list(nlist), stream, 1, lab.context,
                     post=lambda code, body: lab.posts.append((code, body)),
                     log=lambda level, text: lab.logs.append((level, text)), read=read)


def backup(lab: Lab, env: Sequence[tuple[str, str]]) -> tuple[bytes, list[tuple[str, str]]]:
    a, b = socket.socketpair()
    chunks: list[bytes] = []

    def collect() -> None:
        while True:
            got = b.recv(1 << 20)
            if not got:
                return
            chunks.append(got)

    t = threading.Thread(target=collect, daemon=True)
    t.start()
    try:
        job = lab.engine.backup(_op(lab, "backup", env, (), a))
        out = list(job.run())
    finally:
        a.shutdown(socket.SHUT_WR)
        t.join(60)
        a.close()
        b.close()
    return b"".join(chunks), out


def name(original: str, destination: str, fh_info: int = INFINITY, node: int = INFINITY) -> Any:
    return Name(original_path=original, destination_dir=destination, name="", other_name="", node=node,
                fh_info=fh_info)


def recover(lab: Lab, image: bytes, env: Sequence[tuple[str, str]], nlist: Sequence[Any] = (),
            kind: str = "recover") -> list[tuple[int, int]]:
    """Run a recovery from ``image``; returns the (offset, length) of every read it asked for."""
    a, b = socket.socketpair()
    requests: list[tuple[int, int]] = []
    lock = threading.Condition()

    def read(offset: int, length: int) -> None:
        with lock:
            requests.append((offset, length))
            lock.notify()

    def serve() -> None:
        done = 0
        while True:
            with lock:
                while len(requests) == done:
                    if not lock.wait(60):
                        return
                offset, length = requests[done]
                done += 1
            if offset == -1:
                return
            end = len(image) if length == INFINITY else min(len(image), offset + length)
            try:
                b.sendall(image[offset:end])
                if length == INFINITY or end == len(image) and offset + length > len(image):
                    b.shutdown(socket.SHUT_WR)
            except OSError:
                return

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        job = lab.engine.recover(_op(lab, kind, env, nlist, a, read))
        job.run()
    finally:
        read(-1, 0)
        t.join(60)
        a.close()
        b.close()
    return [r for r in requests if r[0] != -1]


def fh_nodes(lab: Lab) -> dict[int, int]:
    """node -> fh_info from the FH_ADD_NODE posts of the last backup."""
    out = {}
    for code, body in lab.posts:
        if code == M.NDMP_FH_ADD_NODE:
            for n in body.nodes:
                out[n.node] = n.fh_info
    return out


def fh_names(lab: Lab) -> dict[bytes, tuple[int, int]]:
    """name -> (node, parent) from the FH_ADD_DIR posts of the last backup."""
    out = {}
    for code, body in lab.posts:
        if code == M.NDMP_FH_ADD_DIR:
            for d in body.dirs:
                nm = d.name[0].unix_name
                out[nm if isinstance(nm, bytes) else nm.encode("utf-8", "surrogateescape")] = (d.node, d.parent)
    return out
