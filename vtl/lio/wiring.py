"""Make LIO hold what a :class:`~vtl.lio.plan.Plan` says, with rtslib-fb.

Ownership is what makes cleanup safe on a machine where other people use LIO
too: every object this node makes is recorded in the state store *before*
it is made (``kernel_objects``), so a clean stop removes exactly those, and a
start after a crash knows which leftovers are its own.  Leftovers that still
match the plan are adopted as they are (a host keeps its ``/dev/nst0`` across a
daemon crash, and the ring is served again); leftovers that no longer match are
removed.  Objects of anybody else are never touched.

Reservations: LIO core answers PERSISTENT RESERVE IN/OUT and RESERVE/RELEASE
for TCMU devices (TCMU tells userspace nothing about the I_T nexus, so only
the core can keep them per nexus), and stores APTPL registrations in
``<dbroot>/pr/aptpl_<unit serial>``.  Each backstore's unit serial is the
device's serial number, and rtslib feeds that file back when the backstore is
made again, so APTPL registrations survive a daemon restart.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from ..store import Store
from . import names
from .plan import BACKSTORE_SIZE, HW_MAX_SECTORS, Backstore, Plan, Port

log = logging.getLogger("vtl.lio")

CONFIGFS = Path("/sys/kernel/config")
TARGET_ROOT = CONFIGFS / "target"
TPG_TAG = 1


def _rtslib() -> Any:
    import rtslib_fb
    return rtslib_fb


class WiringError(Exception):
    """The kernel refused something; the message says what and what to do."""


class Wiring:
    def __init__(self, plan: Plan, store: Store) -> None:
        self.plan = plan
        self.store = store
        self.rts = _rtslib()
        self._objects: dict[str, Any] = {}     # serial -> storage object
        self._tpgs: dict[str, Any] = {}        # port key -> TPG

    # -- ownership ------------------------------------------------------------------
    def _record(self, path: str, kind: str) -> None:
        self.store.record_kernel_object(path, kind)

    def _forget(self, path: str) -> None:
        self.store.forget_kernel_object(path)

    def _wanted_paths(self) -> set[str]:
        wanted = set()
        for port in self.plan.ports:
            wanted.add(self._target_path(port))
        return wanted

    def _target_path(self, port: Port) -> str:
        fabric = "loopback" if port.target.fabric == "loop" else "iscsi"
        return str(TARGET_ROOT / fabric / port.wwn)

    # -- start --------------------------------------------------------------------------
    def clean_leftovers(self) -> None:
        """Remove what an earlier run of this node left that the plan no longer wants."""
        wanted_targets = self._wanted_paths()
        wanted_stores = {b.name for b in self.plan.backstores}
        root = self.rts.RTSRoot()
        by_path = {t.path: t for t in root.targets}
        stores = {so.name: so for so in root.storage_objects if so.plugin == "user"}
        for path, kind in reversed(self.store.kernel_objects()):
            if kind == "target" and path not in wanted_targets:
                target = by_path.get(path)
                if target is not None:
                    log.info("removing a target port left by an earlier run: %s", path)
                    target.delete()
                self._forget(path)
        for path, kind in self.store.kernel_objects():
            if kind != "backstore":
                continue
            name = path.split("/", 1)[1]
            so = stores.get(name)
            wanted = next((b for b in self.plan.backstores if b.name == name), None)
            if so is not None and (wanted is None or so.config != wanted.config):
                log.info("removing a backstore left by an earlier run: %s", name)
                so.delete()
                so = None
            if so is None:
                self._forget(path)
        # Backstores of this node (by config string) the store lost track of: ours too.
        for so in list(stores.values()):
            parsed = names.parse_tcmu_config(_config_of(so) or "")
            if parsed and parsed[0] == self.plan.node and so.name not in wanted_stores:
                if so.exists:
                    log.info("removing a backstore of this node that is no longer configured: %s",
                             so.name)
                    so.delete()

    def create_backstores(self) -> dict[str, Backstore]:
        """One TCMU user backstore per device; adopted when one already matches."""
        root = self.rts.RTSRoot()
        existing = {so.name: so for so in root.storage_objects if so.plugin == "user"}
        made: dict[str, Backstore] = {}
        for b in self.plan.backstores:
            so = existing.get(b.name)
            if so is not None and _config_of(so) == b.config:
                log.info("adopting backstore %s", b.name)
                self._record(_store_key(b.name), "backstore")
            else:
                if so is not None:
                    raise WiringError(
                        f"a TCMU backstore named {b.name} already exists with another "
                        f"configuration ({_config_of(so)}); it is not this node's. Remove it "
                        f"(targetcli /backstores/user:{_config_of(so).split('/')[0]} delete "
                        f"{b.name}) or give the device another serial number.")
                self._record(_store_key(b.name), "backstore")
                so = self.rts.UserBackedStorageObject(
                    b.name, config=b.config, size=BACKSTORE_SIZE, wwn=b.serial,
                    hw_max_sectors=HW_MAX_SECTORS)
            self._objects[b.serial.upper()] = so
            made[b.serial] = b
        return made

    def export(self) -> None:
        """Targets, TPGs, LUNs, portals, ACLs: hosts see the devices once this returns."""
        for port in self.plan.ports:
            self._export_port(port)

    def _export_port(self, port: Port) -> None:
        rts = self.rts
        fabric = rts.FabricModule("loopback" if port.target.fabric == "loop" else "iscsi")
        path = self._target_path(port)
        self._record(path, "target")
        target = rts.Target(fabric, port.wwn, mode="any")
        tpg = rts.TPG(target, TPG_TAG, mode="any")
        self._tpgs[port.key] = tpg
        if port.target.fabric == "iscsi":
            self._configure_iscsi(tpg, port)
        else:
            # The host's initiator port name must be the same on every start: persistent
            # reservations (APTPL) are registered to it.  rtslib gives a new TPG a random
            # nexus; an adopted port already has ours.
            current = tpg.nexus
            if (current or "").lower() != port.nexus.lower():
                if current:
                    _write(Path(tpg.path) / "nexus", "NULL")
                tpg.nexus = port.nexus
        wanted = {e.lun: e for e in port.exports}
        for lun in list(tpg.luns):
            e = wanted.get(lun.lun)
            so = self._objects.get(e.serial.upper()) if e else None
            if so is None or lun.storage_object != so:
                lun.delete()
        have = {lun.lun for lun in tpg.luns}
        for e in port.exports:
            if e.lun not in have:
                rts.LUN(tpg, lun=e.lun, storage_object=self._objects[e.serial.upper()])
        if port.target.fabric == "iscsi":
            self._configure_acls(tpg, port)
            tpg.enable = True
        log.info("target port %s (%s %s): %d LUNs", port.key, port.target.fabric, port.wwn,
                 len(port.exports))

    def _configure_iscsi(self, tpg: Any, port: Port) -> None:
        from ..target_ports import parse_portal
        t = port.target
        wanted = {parse_portal(p) for p in t.portals}
        for np in list(tpg.network_portals):
            if (np.ip_address.strip("[]"), np.port) not in wanted:
                np.delete()
        have = {(np.ip_address.strip("[]"), np.port) for np in tpg.network_portals}
        for address, tcp in wanted - have:
            shown = f"[{address}]" if ":" in address else address
            try:
                self.rts.NetworkPortal(tpg, shown, tcp, mode="any")
            except Exception as exc:
                raise WiringError(f"cannot listen for iSCSI on {shown}:{tcp} ({exc}); is another "
                                  "target using it? Change portals of target port "
                                  f"{port.key}.") from None
        demo = not t.initiators
        tpg.set_attribute("generate_node_acls", "1" if demo else "0")
        tpg.set_attribute("cache_dynamic_acls", "1" if demo else "0")
        tpg.set_attribute("demo_mode_write_protect", "0")
        tpg.set_attribute("authentication", "1" if t.chap else "0")
        if demo and t.chap:
            tpg.chap_userid = t.chap.userid
            tpg.chap_password = t.chap.password
            if t.chap.mutual_userid:
                tpg.chap_mutual_userid = t.chap.mutual_userid
                tpg.chap_mutual_password = t.chap.mutual_password

    def _configure_acls(self, tpg: Any, port: Port) -> None:
        t = port.target
        wanted = {name.lower(): name for name in t.initiators}
        for acl in list(tpg.node_acls):
            if acl.node_wwn.lower() not in wanted:
                acl.delete()
        for name in t.initiators:
            acl = self.rts.NodeACL(tpg, name, mode="any")
            if t.chap:
                acl.chap_userid = t.chap.userid
                acl.chap_password = t.chap.password
                if t.chap.mutual_userid:
                    acl.chap_mutual_userid = t.chap.mutual_userid
                    acl.chap_mutual_password = t.chap.mutual_password
            have = {m.mapped_lun for m in acl.mapped_luns}
            for lun in tpg.luns:
                if lun.lun not in have:
                    self.rts.MappedLUN(acl, lun.lun, lun)

    # -- stop ---------------------------------------------------------------------------
    def unexport(self) -> None:
        """Remove every target port this node made: hosts lose the devices first."""
        root = self.rts.RTSRoot()
        by_path = {t.path: t for t in root.targets}
        for path, kind in reversed(self.store.kernel_objects()):
            if kind != "target":
                continue
            target = by_path.get(path)
            if target is not None:
                target.delete()
            self._forget(path)
        self._tpgs.clear()

    def remove_backstores(self) -> None:
        root = self.rts.RTSRoot()
        stores = {_store_key(so.name): so for so in root.storage_objects if so.plugin == "user"}
        for path, kind in reversed(self.store.kernel_objects()):
            if kind != "backstore":
                continue
            so = stores.get(path)
            if so is not None:
                so.delete()
            self._forget(path)
        self._objects.clear()

    # -- paths --------------------------------------------------------------------------
    def set_port_online(self, key: str, online: bool) -> None:
        """Make a path fail or come back, as a pulled cable or a failed switch port would.

        tcm_loop: the port's transport goes offline (commands end with a transport
        error, the host's error handling sees a dead path).  iSCSI: the TPG is
        disabled (sessions drop, logins are refused) and enabled again.
        """
        port = self.plan.port(key)
        tpg = self._tpgs.get(port.key)
        if tpg is None:
            raise WiringError(f"target port {port.key} is not exported")
        if port.target.fabric == "iscsi":
            tpg.enable = online
        else:
            _write(Path(tpg.path) / "transport_status", "online" if online else "offline")

    def initiators(self, key: str) -> list[str]:
        """Initiator port names with an I_T nexus on a port now."""
        port = self.plan.port(key)
        tpg = self._tpgs.get(port.key)
        if tpg is None:
            return []
        if port.target.fabric == "loop":
            try:
                nexus = tpg.nexus
            except Exception:
                return []
            return [nexus] if nexus else []
        out = []
        for acl in tpg.node_acls:
            session = acl.session
            if session and session.get("state") == "LOGGED_IN":
                out.append(acl.node_wwn)
        dynamic = Path(tpg.path) / "dynamic_sessions"
        if dynamic.exists():
            out += [line.strip() for line in _read(dynamic).split("\0")
                    if line.strip() and line.strip() not in out]
        return out

    def transport_errors(self, key: str) -> int:
        """Errors the kernel counted on a port's transport (iSCSI: digest, format and
        connection-timeout errors of its sessions); tcm_loop has no transport to fail."""
        port = self.plan.port(key)
        if port.target.fabric != "iscsi":
            return 0
        stats = Path(self._target_path(port)) / "fabric_statistics" / "iscsi_sess_err"
        total = 0
        for name in ("digest_errors", "cxn_timeout_errors", "format_errors"):
            try:
                total += int(_read(stats / name).strip() or 0)
            except (OSError, ValueError):
                pass
        return total


def _store_key(name: str) -> str:
    """How kernel_objects names a backstore: its HBA number is the kernel's choice."""
    return f"user/{name}"


def _config_of(so: Any) -> str | None:
    try:
        return so.config
    except Exception:
        return None


def _read(path: Path) -> str:
    with open(path) as f:
        return f.read()


def _write(path: Path, value: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)
