"""`vtl serve`: run a node in the foreground until SIGTERM.

systemd-friendly: logs go to stderr (the journal), READY=1 / STOPPING=1 are
sent when ``$NOTIFY_SOCKET`` is set, SIGTERM and SIGINT stop cleanly.  A clean
stop stops every service, then syncs and closes every cartridge (they stay
in their drives, as the store says), then closes the store.

Only one daemon may run a given state store: the store's lock file is held
for the daemon's lifetime, so a second `vtl serve` on the same configuration
says so and exits instead of corrupting the first one's view.
"""
from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import signal
import socket
from pathlib import Path

from ..config import NodeConfig
from ..node import Node
from .control import ControlServer
from .service import Service, ServiceUnavailable

log = logging.getLogger("vtl")


class AlreadyRunning(Exception):
    pass


def lock_state(config: NodeConfig) -> int:
    path = Path(str(config.state) + ".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise AlreadyRunning(f"Another vtl serve is already running with the state store {config.state}. "
                             "Stop it first (or give this configuration another state file).") from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def services_for(config: NodeConfig) -> list[Service]:
    """The services of a node, in start order: the control socket, the NDMP server (its
    ``[ndmp]`` table; a bad one is a ConfigError), then the kernel target."""
    from ..lio.service import KernelTarget
    from ..ndmp_config import ndmp_config
    from ..ndmp_service import NdmpService
    return [ControlServer(config.socket, config.socket_mode), NdmpService(ndmp_config(config)), KernelTarget()]


async def run(node: Node, services: list[Service]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    started: list[Service] = []
    try:
        for svc in services:
            try:
                await svc.start(node)
                started.append(svc)
            except ServiceUnavailable as e:
                log.warning("%s: not started: %s", svc.name, e)
        drives = len(node.drives())
        log.info("node %s serving: %d libraries, %d drives, %d cartridges", node.name, len(node.libraries),
                 drives, len(node.store.locations()))
        node.ready = True
        _notify("READY=1")
        await stop.wait()
        _notify("STOPPING=1")
        log.info("stopping")
    finally:
        for svc in reversed(started):
            try:
                await svc.stop()
            except Exception:
                log.exception("%s: failed to stop cleanly", svc.name)


def serve(config: NodeConfig) -> None:
    fd = lock_state(config)
    try:
        node = Node(config)
        try:
            asyncio.run(run(node, services_for(config)))
        finally:
            node.close()
            log.info("stopped; every cartridge synced")
    finally:
        os.close(fd)


def _notify(state: str) -> None:
    addr = os.environ.get("NOTIFY_SOCKET")
    if not addr:
        return
    if addr.startswith("@"):
        addr = "\0" + addr[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        try:
            s.connect(addr)
            s.send(state.encode())
        except OSError:
            pass
