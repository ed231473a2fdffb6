"""An NDMP server in front of a real node (libraries, drives, cartridges) for the tape,
robot and mover tests: the same devices `vtl serve` runs, reached in-process.

``node_server(tmp_path)`` is an async context manager giving ``(server, node)``;
the node has one library (``lib0``: changer ``mc0`` on LUN 0, drives ``st0``/``st1``,
12 slots, 2 mailslots, 8 cartridges of 16 MiB, ``TST000L8``..``TST007L8``).
"""
from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from ndmp_dma import USERS
from support.daemon import small_config

from ndmp.server import NdmpServer
from vtl.config import loads
from vtl.ndmp_backend import NodeBackend
from vtl.node import Node

PASSWORD = "jWZiNt57huPOoD8d"


def make_node(tmp_path: Path, **kw: Any) -> Node:
    return Node(loads(small_config(**kw), base=tmp_path, source=tmp_path / "vtl.toml"))


@contextlib.asynccontextmanager
async def node_server(tmp_path: Path, *, port: int = 0, node_kw: dict | None = None,
                      **server_kw: Any) -> AsyncIterator[tuple[NdmpServer, Node]]:
    node = make_node(tmp_path, **(node_kw or {}))
    try:
        server = NdmpServer("127.0.0.1", port, NodeBackend(node), USERS, **server_kw)
        async with server:
            yield server, node
    finally:
        node.close()


@contextlib.contextmanager
def running_server(tmp_path: Path, **kw: Any) -> Iterator[tuple[NdmpServer, Node, asyncio.AbstractEventLoop]]:
    """A node server on its own event loop thread, for blocking clients (the fuzz, ndmjob,
    Amanda); ``kw`` as for node_server."""
    ready = threading.Event()
    stop: asyncio.Event | None = None
    holder: dict = {}

    async def main() -> None:
        nonlocal stop
        stop = asyncio.Event()
        async with node_server(tmp_path, **kw) as (server, node):
            holder.update(server=server, node=node, loop=asyncio.get_running_loop())
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    if not ready.wait(30):
        raise RuntimeError("the NDMP server did not start")
    try:
        yield holder["server"], holder["node"], holder["loop"]
    finally:
        holder["loop"].call_soon_threadsafe(stop.set)
        thread.join(60)
