"""The control socket: JSON lines over a Unix stream socket.

One request per line, ``{"id": 1, "method": "load", "params": {...}}``; one
reply per line, ``{"id": 1, "result": ...}`` or ``{"id": 1, "error":
{"message": "..."}}``.  Access control is the socket file's permissions
(``socket_mode`` in the configuration, 0660 by default): whoever may open
the file may operate the library, as with the Docker or libvirt sockets.

Requests run on a small thread pool: library operations take the library's
lock and may wait on cartridge I/O, and the event loop must keep accepting.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .methods import ApiError, call

if TYPE_CHECKING:
    from ..node import Node

log = logging.getLogger(__name__)

LINE_LIMIT = 64 * 1024 * 1024


class SocketInUse(Exception):
    pass


class ControlServer:
    name = "control"

    def __init__(self, path: Path, mode: int = 0o660, workers: int = 8):
        self.path = Path(path)
        self.mode = mode
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vtl-control")
        self._server: asyncio.base_events.Server | None = None
        self._node: "Node | None" = None
        self._clients: set[asyncio.Task] = set()

    async def start(self, node: "Node") -> None:
        self._node = node
        _claim(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        old = os.umask(0o777 & ~self.mode)
        try:
            self._server = await asyncio.start_unix_server(self._serve, path=str(self.path), limit=LINE_LIMIT)
        finally:
            os.umask(old)
        os.chmod(self.path, self.mode)
        log.info("control socket %s (mode %04o)", self.path, self.mode)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._clients):
                task.cancel()
            await self._server.wait_closed()
        self._pool.shutdown(wait=True)
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._clients.add(task)
        loop = asyncio.get_running_loop()
        try:
            while True:
                try:
                    line = await reader.readline()
                except (asyncio.LimitOverrunError, ValueError):
                    await _send(writer, {"id": None, "error": {"message": "request too long"}})
                    break
                if not line:
                    break
                reply = await loop.run_in_executor(self._pool, self._answer, line)
                await _send(writer, reply)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            if task is not None:
                self._clients.discard(task)
            writer.close()

    def _answer(self, line: bytes) -> dict[str, Any]:
        try:
            req = json.loads(line)
            if not isinstance(req, dict) or not isinstance(req.get("method"), str):
                raise ValueError("a request is an object with a method")
            params = req.get("params") or {}
            if not isinstance(params, dict):
                raise ValueError("params must be an object")
        except ValueError as e:
            return {"id": None, "error": {"message": f"Malformed request: {e}"}}
        rid = req.get("id")
        try:
            assert self._node is not None
            return {"id": rid, "result": call(self._node, req["method"], params)}
        except ApiError as e:
            return {"id": rid, "error": {"message": str(e)}}
        except Exception as e:  # a bug of ours: answer, log, keep serving
            log.exception("control request %s failed", req.get("method"))
            return {"id": rid, "error": {"message": f"Internal error in the daemon ({type(e).__name__}: {e}); "
                                                    "see the daemon's log."}}


async def _send(writer: asyncio.StreamWriter, obj: dict[str, Any]) -> None:
    writer.write(json.dumps(obj).encode() + b"\n")
    await writer.drain()


def _claim(path: Path) -> None:
    """Remove a stale socket left by a killed daemon; refuse if one is alive."""
    if not path.exists():
        return
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except OSError:
        path.unlink()
        return
    finally:
        probe.close()
    raise SocketInUse(f"Another vtl serve is already running on {path}. Stop it first, or give this one "
                      "another socket in the configuration.")
