"""The kernel target as a service of `vtl serve`: LIO objects plus the TCMU rings.

Order matters both ways.  Starting: backstores first (each makes a UIO ring),
then every ring is served, and only then are the LUNs exported, so the host's
first scan is answered.  Stopping: the target ports go first (LIO waits for
commands in flight, which the rings are still there to answer), then the
rings are drained and the backstores removed.

Where the kernel target cannot run (not root, no configfs, no
target_core_user) the service says so in one line and the daemon serves the
rest: the control socket, the CLI and in-process users such as NDMP.
"""
from __future__ import annotations

import asyncio
import logging
import os
import shutil
import subprocess
import time
from pathlib import Path

from scsi.nexus import Nexus

from ..daemon.service import ServiceUnavailable
from ..node import Node
from ..tcmu.server import TcmuServer
from ..tcmu.uio import UioDevice, list_uio, parse_name
from .plan import Plan, plan
from .wiring import CONFIGFS, TARGET_ROOT, Wiring, WiringError

log = logging.getLogger("vtl.lio")

TCMU_NEXUS = Nexus("tcmu", 0)
"""TCMU hands userspace no I_T nexus: LIO core keeps reservations per nexus, and the
devices see one initiator with an unknown target port."""

MODULES = ("target_core_mod", "target_core_user", "tcm_loop")
ISCSI_MODULE = "iscsi_target_mod"
UIO_WAIT = 10.0


def unavailable_reason(needs_iscsi: bool) -> str | None:
    """Why the kernel target cannot run here, in one line; None when it can."""
    if os.geteuid() != 0:
        return ("the kernel target (LIO/TCMU) needs root, so hosts will not see the devices; "
                "run vtl serve as root to attach them")
    wanted = MODULES + ((ISCSI_MODULE,) if needs_iscsi else ())
    if not (TARGET_ROOT / "core").is_dir() or not Path("/sys/module/target_core_user").exists():
        modprobe = shutil.which("modprobe")
        if modprobe:
            for module in wanted:
                subprocess.run([modprobe, "-q", module], capture_output=True, timeout=60)
        if CONFIGFS.is_dir() and not TARGET_ROOT.is_dir():
            subprocess.run(["mount", "-t", "configfs", "configfs", str(CONFIGFS)],
                           capture_output=True, timeout=30)
    if not (TARGET_ROOT / "core").is_dir():
        return ("this kernel has no LIO target (configfs target/ is missing and target_core_mod "
                "could not be loaded), so hosts will not see the devices")
    if not Path("/sys/module/target_core_user").exists():
        return "this kernel has no TCMU (target_core_user could not be loaded)"
    try:
        import rtslib_fb  # noqa: F401
    except ImportError:
        return "rtslib-fb is not installed (pip install rtslib-fb)"
    return None


class KernelTarget:
    name = "kernel target"

    def __init__(self) -> None:
        self.node: Node | None = None
        self.plan: Plan | None = None
        self.wiring: Wiring | None = None
        self.server = TcmuServer()
        self._uio: dict[str, UioDevice] = {}

    # -- Service --------------------------------------------------------------------
    async def start(self, node: Node) -> None:
        if not node.config.kernel_target:
            raise ServiceUnavailable("off in the configuration (kernel_target = false)")
        the_plan = plan(node.config)
        if not the_plan.ports:
            raise ServiceUnavailable("no library has a target port")
        needs_iscsi = any(p.target.fabric == "iscsi" for p in the_plan.ports)
        reason = await asyncio.to_thread(unavailable_reason, needs_iscsi)
        if reason:
            raise ServiceUnavailable(reason)
        self.node, self.plan = node, the_plan
        try:
            await asyncio.to_thread(self._start)
        except Exception as exc:
            log.debug("kernel target start failed", exc_info=True)
            await asyncio.to_thread(self._stop)
            text = str(exc) if isinstance(exc, WiringError) else f"LIO refused: {exc}"
            raise ServiceUnavailable(text) from None
        node.kernel = self

    async def stop(self) -> None:
        if self.node is not None:
            self.node.kernel = None
        await asyncio.to_thread(self._stop)

    # -- work ---------------------------------------------------------------------------
    def _start(self) -> None:
        assert self.node is not None and self.plan is not None
        # rtslib moves LIO's dbroot to /etc/target (targetcli's) when it may; LIO writes
        # the APTPL registrations under <dbroot>/pr.
        for dbroot in ("/etc/target", "/var/target"):
            Path(dbroot, "pr").mkdir(parents=True, exist_ok=True)
        self.wiring = Wiring(self.plan, self.node.store)
        self.wiring.clean_leftovers()
        backstores = self.wiring.create_backstores()
        devices = {d.serial.upper(): d for d in self.node.devices()}
        for serial, b in backstores.items():
            uio = self._open_ring(b.config)
            self._uio[b.serial] = uio
            device = devices[serial.upper()]
            self.server.attach(b.name, uio.map, uio.doorbell(), device, TCMU_NEXUS,
                               on_exit=lambda handle: log.info("ring %s ended", handle.name))
        self.wiring.export()
        log.info("kernel target: %d devices on %d target ports", len(backstores),
                 len(self.plan.ports))

    def _open_ring(self, config: str) -> UioDevice:
        deadline = time.monotonic() + UIO_WAIT
        while True:
            for number, name in list_uio():
                parsed = parse_name(name)
                if parsed is not None and parsed.config == config:
                    return UioDevice.open(number)
            if time.monotonic() > deadline:
                raise WiringError(f"the kernel made no TCMU ring for {config} within "
                                  f"{UIO_WAIT:.0f} s (is the uio module loaded?)")
            time.sleep(0.05)

    def _stop(self) -> None:
        wiring = self.wiring
        if wiring is not None:
            try:
                wiring.unexport()
            except Exception:
                log.exception("removing the target ports failed")
        self.server.stop(drain=True, timeout=30)
        for uio in self._uio.values():
            uio.close()
        self._uio.clear()
        if wiring is not None:
            try:
                wiring.remove_backstores()
            except Exception:
                log.exception("removing the backstores failed")
        self.wiring = None

    # -- what the control API asks ----------------------------------------------------------
    def port_wwn(self, key: str) -> str | None:
        return self.plan.port(key).wwn if self.plan else None

    def initiators(self, key: str) -> list[str]:
        return self.wiring.initiators(key) if self.wiring else []

    def path_errors(self, key: str) -> int:
        return self.wiring.transport_errors(key) if self.wiring else 0

    def set_port_online(self, key: str, online: bool) -> None:
        if self.wiring is None:
            return
        self.wiring.set_port_online(key, online)
