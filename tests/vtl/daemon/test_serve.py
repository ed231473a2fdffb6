"""The daemon's start sequence: the control socket answers before the other services are
up, so ``ping`` says ``ready`` only once every service has started."""
from __future__ import annotations

import asyncio
import os
import signal

from support.daemon import small_config

from vtl.config import loads
from vtl.daemon.methods import ping
from vtl.daemon.serve import run
from vtl.node import Node


class _Gated:
    """A service whose start waits for the test (a slow kernel target, say)."""

    name = "gated"

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.stopped = False

    async def start(self, node: Node) -> None:
        self.entered.set()
        await self.release.wait()

    async def stop(self) -> None:
        self.stopped = True


def test_ping_is_ready_only_once_every_service_has_started(tmp_path):
    node = Node(loads(small_config(), base=tmp_path, source=tmp_path / "vtl.toml"))

    async def scenario() -> list[bool]:
        gated = _Gated()
        seen = [ping(node)["ready"]]
        daemon = asyncio.create_task(run(node, [gated]))
        await asyncio.wait_for(gated.entered.wait(), 10)
        seen.append(ping(node)["ready"])          # a service is still starting
        gated.release.set()
        for _ in range(200):
            if ping(node)["ready"]:
                break
            await asyncio.sleep(0.01)
        seen.append(ping(node)["ready"])
        os.kill(os.getpid(), signal.SIGTERM)       # run() stops on SIGTERM, as under systemd
        await asyncio.wait_for(daemon, 10)
        assert gated.stopped
        return seen

    try:
        assert asyncio.run(scenario()) == [False, False, True]
    finally:
        node.close()
