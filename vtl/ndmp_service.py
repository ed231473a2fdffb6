"""NDMP as a service of `vtl serve`: the NDMP server in front of the node's libraries.

One :class:`~ndmp.server.NdmpServer` listens on ``address:port``; with ``secure``
a second one listens on ``secure_port`` with TLS from the first byte (the seed's
secure control connections: the server presents its certificate, clients are not
asked for one).  Both share one session registry (one session limit, one set of
session ids for `vtl ndmp status` and `kill`) and one server context (backend,
users, tape reservations, mover buffers, the backup event log).

Settings changed at run time (`vtl ndmp on|off|modify`) are saved in the state
store and win over the configuration file, also after a restart, until `vtl ndmp
modify --reset` forgets them.  Settings a session reads when it needs them
(authentication methods, tape reservations, data buffers, the event log) change in
place; those of the listeners (address, ports, TLS, the session limit) restart the
listeners, which ends the sessions with a NOTIFY_CONNECTION_STATUS that says why.

Control requests arrive on the control server's threads; everything that touches
the listeners or the registry runs on the daemon's event loop (:meth:`_on_loop`).
"""
from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
import ssl
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar

from ndmp.auth import Authenticator
from ndmp.constants import NDMPVER
from ndmp.context import MoverSettings, ServerContext
from ndmp.dump.dumpdates import DumpDates
from ndmp.dump.engine import DumpEngine
from ndmp.event_log import EventLog, log_files, read_events
from ndmp.registry import SessionRegistry
from ndmp.server import NdmpServer
from ndmp.services.config import EXTENSIONS

from .daemon.service import ServiceUnavailable
from .ndmp_backend import NodeBackend
from .ndmp_config import (
    LISTENER_SETTINGS,
    SETTINGS,
    NdmpConfig,
    Secrets,
    SecretsError,
    check_setting,
)

if TYPE_CHECKING:
    from ndmp.session import Session

    from .node import Node

__all__ = ["OFF_TEXT", "RESTART_TEXT", "NdmpError", "NdmpService"]

#: The dump engine's record of LEVEL/UPDATE backups, next to the state store.
DUMPDATES_NAME = "dumpdates"

log = logging.getLogger("vtl.ndmp")

SCOPE = "ndmp"
OFF_TEXT = "the NDMP service was turned off by an administrator (vtl ndmp off)"
RESTART_TEXT = "the NDMP service is restarting to apply new settings (vtl ndmp modify)"
STOP_TEXT = "the vtl daemon is stopping"
KILL_TEXT = "the NDMP session was terminated by an administrator (vtl ndmp kill)"
WAIT = 60.0                      # seconds a control request waits for the event loop
ROTATION_CHECK = 3600.0          # how often the backup event log is offered its weekly rotation

T = TypeVar("T")


class NdmpError(Exception):
    """A request the NDMP service refuses; the message is one sentence for the operator."""


def _enum_name(value: Any) -> Any:
    """``MoverState.NDMP_MOVER_STATE_ACTIVE`` -> ``"active"``; other values unchanged."""
    if isinstance(value, Enum):
        name = value.name
        for prefix in ("NDMP_MOVER_STATE_", "NDMP_MOVER_MODE_", "NDMP_MOVER_PAUSE_", "NDMP_MOVER_HALT_",
                       "NDMP_DATA_STATE_", "NDMP_DATA_OP_", "NDMP_DATA_HALT_", "NDMP_TAPE_", "NDMP_ADDR_"):
            if name.startswith(prefix):
                name = name[len(prefix):]
                break
        return name.lower().removesuffix("_mode")
    return value


# What `vtl ndmp probe` shows of the objects a session holds, when they have it (the names
# of the GET_STATE replies' fields; an object without a field simply does not show it).
_TAPE_FIELDS = ("device", "mode", "writable")
_MOVER_FIELDS = ("state", "mode", "pause_reason", "halt_reason", "record_size", "record_num",
                 "bytes_moved", "seek_position", "bytes_left_to_read", "window_offset", "window_length")
_DATA_FIELDS = ("state", "operation", "halt_reason", "bytes_processed", "butype")
_ROBOT_FIELDS = ("device", "name")


def _held(obj: Any, fields: tuple[str, ...]) -> dict[str, Any] | None:
    """What ``obj`` shows of ``fields``: from its ``status()`` dict when it has one (taken at
    one instant, as the mover gives MOVER_GET_STATE's fields), else from its attributes."""
    if obj is None:
        return None
    values: dict[str, Any] = {}
    status = getattr(obj, "status", None)
    if callable(status):
        try:
            got = status()
        except Exception:  # noqa: BLE001 -- a held object that cannot answer now: show the rest
            got = None
        if isinstance(got, dict):
            values.update(got)
    out: dict[str, Any] = {}
    for name in fields:
        if name in values:
            value = values[name]
        else:
            try:
                value = getattr(obj, name)
            except Exception:  # noqa: BLE001,S112 -- a property that cannot answer now is left out
                continue
        if callable(value):
            continue
        value = _enum_name(value)
        if isinstance(value, (str, int, float, bool)) or value is None:
            out[name] = value
    return out


def _split_peer(peer: str) -> tuple[str, int | None]:
    host, _, port = peer.rpartition(":")
    if not host:
        return peer, None
    host = host.strip("[]")
    return host, int(port) if port.isdigit() else None


class NdmpService:
    """The daemon's NDMP server (see the module docstring)."""

    name = "NDMP"

    def __init__(self, config: NdmpConfig):
        self.file_config = config
        self.config = config                      # what is in effect: the file, then saved settings
        self.saved: dict[str, Any] = {}
        self.secrets = Secrets(config.secrets)
        self.node: Node | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.registry: SessionRegistry | None = None
        self.context: ServerContext | None = None
        self.event_log: EventLog | None = None
        self.servers: list[NdmpServer] = []
        self.unavailable: str | None = None
        """Why NDMP is not running although the daemon is (start failed), else None."""
        self.started = 0.0
        self._busy: asyncio.Lock | None = None
        self._rotation: asyncio.Task | None = None
        self._secrets_lock = threading.Lock()

    # -- Service ------------------------------------------------------------------------------
    async def start(self, node: Node) -> None:
        self.node = node
        self.loop = asyncio.get_running_loop()
        self._busy = asyncio.Lock()
        node.ndmp = self
        try:
            self.saved = self._load_saved(node)
            self.config = self.file_config.with_settings(self.saved)
            users = await asyncio.to_thread(self.secrets.users, self.config)
            self.registry = SessionRegistry(self.config.max_sessions)
            self.event_log = EventLog(self.config.event_log_directory, enabled=self.config.event_log,
                                      node=node.name)
            self.context = ServerContext(
                NodeBackend(node), Authenticator(users, self.config.policy),
                tape_reservations=self.config.tape_reservations,
                mover=MoverSettings(buffers=self.config.data_buffers), event_log=self.event_log,
                engines={"dump": DumpEngine(DumpDates(node.config.state.parent / DUMPDATES_NAME))})
            self._set_data_address()
            if self.config.enabled:
                await self._listen()
        except (NdmpError, SecretsError) as e:
            await self._close()
            self.unavailable = str(e)
            raise ServiceUnavailable(str(e)) from None
        self.started = time.time()
        self._rotation = asyncio.create_task(self._rotate_weekly())
        if not self.config.enabled:
            log.info("NDMP is off (%s); `vtl ndmp on` starts it", self.source("enabled"))

    async def stop(self) -> None:
        if self._rotation is not None:
            self._rotation.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._rotation
            self._rotation = None
        await self._close()

    async def _close(self) -> None:
        await self._stop_listening(STOP_TEXT)
        if self.event_log is not None:
            self.event_log.close()
            self.event_log = None

    # -- the listeners --------------------------------------------------------------------------
    @property
    def listening(self) -> bool:
        return bool(self.servers)

    async def _listen(self) -> None:
        """Start the listener(s) of ``self.config``; NdmpError (nothing left listening) when a
        port cannot be had or the TLS files cannot be used."""
        cfg = self.config
        assert self.context is not None and self.registry is not None
        self.registry.max_sessions = cfg.max_sessions
        tls = self._tls_context(cfg) if cfg.secure else None
        servers: list[NdmpServer] = []
        try:
            for port, context in [(cfg.port, None)] + ([(cfg.secure_port, tls)] if tls else []):
                server = NdmpServer(cfg.address, port, tls_context=context, registry=self.registry,
                                    context=self.context)
                try:
                    await server.start()
                except (OSError, socket.gaierror) as e:
                    raise NdmpError(self._bind_error(cfg, port, e, secure=context is not None)) from None
                servers.append(server)
        except BaseException:
            for server in reversed(servers):
                await server.stop(STOP_TEXT)
            raise
        self.servers = servers
        log.info("NDMP listening on %s", ", ".join(self._endpoints()))

    async def _stop_listening(self, text: str) -> int:
        """Stop every listener and end every session with ``text``; returns how many ended."""
        servers, self.servers = self.servers, []
        ended = len(self.registry) if self.registry is not None else 0
        for server in reversed(servers):
            await server.stop(text)
        return ended if servers else 0

    def _endpoints(self) -> list[str]:
        out = []
        for server in self.servers:
            host = f"[{server.address}]" if ":" in server.address else server.address
            out.append(f"{host}:{server.port}" + (" (TLS)" if server.tls_context is not None else ""))
        return out

    def _bind_error(self, cfg: NdmpConfig, port: int, e: OSError, *, secure: bool) -> str:
        where = f"{cfg.address}:{port}"
        key = "secure_port" if secure else "port"
        fix = (f"Fix: stop what uses it, or choose another port ({key} in [ndmp] of {cfg.source}, "
               f"or vtl ndmp modify --{key.replace('_', '-')} N).")
        if isinstance(e, socket.gaierror):
            return (f"NDMP cannot listen on {where}: the address {cfg.address} does not resolve "
                    f"({e.strerror}). Fix: give an IP address of this machine as address in [ndmp] "
                    f"of {cfg.source}.")
        if e.errno == errno.EADDRINUSE:
            return f"NDMP cannot listen on {where}: the port is already in use (another NDMP server?). {fix}"
        if e.errno == errno.EACCES:
            return (f"NDMP cannot listen on {where}: ports below 1024 need root. Fix: run vtl serve as "
                    f"root, or choose a port from 1024 up ({key} in [ndmp]).")
        if e.errno == errno.EADDRNOTAVAIL:
            return (f"NDMP cannot listen on {where}: {cfg.address} is not an address of this machine. "
                    f"Fix: give one of its addresses (or 0.0.0.0 for all) as address in [ndmp] of "
                    f"{cfg.source}.")
        return f"NDMP cannot listen on {where}: {e.strerror or e}. {fix}"

    @staticmethod
    def _tls_context(cfg: NdmpConfig) -> ssl.SSLContext:
        if cfg.certificate is None or cfg.key is None:
            raise NdmpError(f"Secure NDMP needs a certificate and a key, and [ndmp] of {cfg.source} has "
                            "none. Fix: add certificate = \"FILE.pem\" and key = \"FILE.pem\" to [ndmp], "
                            "then restart vtl serve.")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            context.load_cert_chain(cfg.certificate, cfg.key)
        except FileNotFoundError as e:
            raise NdmpError(f"Secure NDMP: {e.filename} does not exist. Fix: check certificate and key "
                            f"in [ndmp] of {cfg.source}.") from None
        except (ssl.SSLError, OSError) as e:
            reason = getattr(e, "reason", None) or getattr(e, "strerror", None) or str(e)
            raise NdmpError(f"Secure NDMP cannot use the certificate {cfg.certificate} with the key "
                            f"{cfg.key} ({reason}). Fix: give a PEM certificate and its own unencrypted "
                            f"PEM private key in [ndmp] of {cfg.source}.") from None
        return context

    def _set_data_address(self) -> None:
        """Data connections (MOVER_LISTEN TCP) are offered on the listening address when it is
        one address; with 0.0.0.0 or :: each session uses the address its DMA reached."""
        assert self.context is not None
        address = self.config.address
        if address not in ("0.0.0.0", "::"):
            self.context.data_address = address

    # -- saved settings ------------------------------------------------------------------------
    def _load_saved(self, node: Node) -> dict[str, Any]:
        saved = {}
        for key, value in node.store.settings(SCOPE).items():
            try:
                saved[key] = check_setting(key, value)
            except ValueError as e:
                log.warning("NDMP: ignoring the saved setting %s (%s); `vtl ndmp modify` sets it again",
                            key, e)
        return saved

    def source(self, key: str) -> str:
        """Where the value of ``key`` in effect comes from."""
        if key in self.saved:
            return "vtl ndmp on/off" if key == "enabled" else "vtl ndmp modify"
        if key in self.file_config.given:
            return "configuration"
        return "default"

    def _save(self, values: dict[str, Any]) -> None:
        assert self.node is not None
        stored = {k: (list(v) if isinstance(v, tuple) else v) for k, v in values.items()}
        self.node.store.save_settings(SCOPE, stored)
        self.saved.update(values)

    # -- running things on the event loop --------------------------------------------------------
    def _on_loop(self, make: Callable[[], Awaitable[T]]) -> T:
        """Run a coroutine on the daemon's loop from a control thread and wait for its result."""
        if self.loop is None:
            raise NdmpError("The NDMP service has not started.")
        future = asyncio.run_coroutine_threadsafe(self._serialised(make), self.loop)
        try:
            return future.result(WAIT)
        except TimeoutError:
            future.cancel()
            raise NdmpError(f"The NDMP service did not answer within {WAIT:.0f} s (a session stuck in "
                            "device I/O?); see the daemon's log.") from None

    async def _serialised(self, make: Callable[[], Awaitable[T]]) -> T:
        assert self._busy is not None
        async with self._busy:
            return await make()

    def _require_running(self) -> None:
        if self.unavailable is not None:
            raise NdmpError(f"NDMP is not running on this node: {self.unavailable}")

    # -- on / off / modify ---------------------------------------------------------------------
    def on(self) -> dict[str, Any]:
        self._require_running()

        async def work() -> dict[str, Any]:
            if self.listening:
                return {**self.show_now(), "changed": False}
            self.config = self.config.with_settings({"enabled": True})
            try:
                await self._listen()
            except NdmpError:
                self.config = self.config.with_settings({"enabled": False})
                raise
            self._save({"enabled": True})
            return {**self.show_now(), "changed": True}
        return self._on_loop(work)

    def off(self) -> dict[str, Any]:
        self._require_running()

        async def work() -> dict[str, Any]:
            changed = self.listening or self.config.enabled
            ended = await self._stop_listening(OFF_TEXT)
            self.config = self.config.with_settings({"enabled": False})
            self._save({"enabled": False})
            log.info("NDMP turned off; %d sessions ended", ended)
            return {**self.show_now(), "changed": changed, "sessions_ended": ended}
        return self._on_loop(work)

    def modify(self, changes: dict[str, Any], reset: bool = False) -> dict[str, Any]:
        """Apply and save ``changes`` (setting -> value); with ``reset`` first forget every saved
        setting (back to the configuration file).  Restarts the listeners when it must."""
        self._require_running()
        checked: dict[str, Any] = {}
        for key, value in changes.items():
            if key not in SETTINGS or key == "enabled":
                raise NdmpError(f"{key} cannot be changed with vtl ndmp modify; the settings are "
                                f"{', '.join(k for k in SETTINGS if k != 'enabled')} (and vtl ndmp on|off).")
            try:
                checked[key] = check_setting(key, value)
            except ValueError as e:
                raise NdmpError(f"Cannot set {key}: {e}") from None

        async def work() -> dict[str, Any]:
            old = self.config
            # --reset: back to the file for everything but on/off, which stays as it is
            base = self.file_config.with_settings({"enabled": old.enabled}) if reset else old
            new = base.with_settings(checked)
            if new.secure and (new.certificate is None or new.key is None):
                raise NdmpError(f"Secure NDMP needs a certificate and a key; add certificate = "
                                f"\"FILE.pem\" and key = \"FILE.pem\" to [ndmp] of {new.source} and "
                                "restart vtl serve, then vtl ndmp modify --secure true.")
            if new.secure and new.port and new.port == new.secure_port:
                raise NdmpError(f"The secure port {new.secure_port} is the same as the port; give the "
                                "TLS listener a port of its own (--secure-port).")
            if new.secure and not old.secure:
                self._tls_context(new)              # refuse a broken certificate before anything stops
            restart = self.listening and any(getattr(new, k) != getattr(old, k) for k in LISTENER_SETTINGS)
            ended = 0
            if restart:
                ended = await self._stop_listening(RESTART_TEXT)
            self.config = new
            self._apply_live(old, new)
            if restart:
                try:
                    await self._listen()
                except NdmpError as e:
                    self.config = old                # back to what worked
                    self._apply_live(new, old)
                    try:
                        await self._listen()
                        state = "the previous settings are back in effect"
                    except NdmpError:
                        state = "NDMP is not listening now; vtl ndmp on tries again"
                    lost = f" ({ended} sessions ended with the restart)" if ended else ""
                    raise NdmpError(f"{e} Nothing was changed: {state}{lost}.") from None
            if reset:
                assert self.node is not None
                keep = {k: v for k, v in self.saved.items() if k == "enabled"}
                self.node.store.clear_settings(SCOPE)
                self.saved = {}
                self._save(keep)
            if checked:
                self._save(checked)
            changed = sorted(k for k in SETTINGS if getattr(new, k) != getattr(old, k))
            if changed:
                log.info("NDMP settings changed: %s%s", ", ".join(f"{k}={getattr(new, k)}" for k in changed),
                         f" (listeners restarted, {ended} sessions ended)" if restart else "")
            return {**self.show_now(), "changed": changed, "restarted": restart, "sessions_ended": ended}
        return self._on_loop(work)

    def _apply_live(self, old: NdmpConfig, new: NdmpConfig) -> None:
        """The settings sessions read when they need them: changed in place."""
        assert self.context is not None and self.registry is not None
        self.context.auth.policy = new.policy
        self.context.tape_reservations = new.tape_reservations
        self.context.mover.buffers = new.data_buffers
        if self.event_log is not None and new.event_log != old.event_log:
            self.event_log.set_enabled(new.event_log)
        if not self.listening:
            self.registry.max_sessions = new.max_sessions
        self._set_data_address()

    # -- show / version / extensions --------------------------------------------------------------
    def show(self) -> dict[str, Any]:
        if self.unavailable is not None or self.loop is None:
            return self.show_now()

        async def work() -> dict[str, Any]:
            return self.show_now()
        return self._on_loop(work)

    def show_now(self) -> dict[str, Any]:
        cfg = self.config
        node = self.node.name if self.node is not None else ""

        def setting(key: str, value: Any) -> dict[str, Any]:
            return {"value": list(value) if isinstance(value, tuple) else value, "source": self.source(key)}

        plain = next((s for s in self.servers if s.tls_context is None), None)
        secure = next((s for s in self.servers if s.tls_context is not None), None)
        return {
            "node": node,
            "running": self.unavailable is None,
            "unavailable": self.unavailable,
            "listening": self._endpoints(),
            "port_in_use": plain.port if plain is not None else None,
            "secure_port_in_use": secure.port if secure is not None else None,
            "sessions": len(self.registry) if self.registry is not None and self.listening else 0,
            "version": NDMPVER,
            "configuration": cfg.source,
            "settings": {key: setting(key, getattr(cfg, key)) for key in SETTINGS},
            "certificate": str(cfg.certificate) if cfg.certificate else None,
            "key": str(cfg.key) if cfg.key else None,
            "event_log_file": str(cfg.event_log_directory / "backup"),
            "secrets": str(cfg.secrets),
            "users": [{"name": u.name, "role": u.role.value} for u in cfg.users],
            "users_source": self.source("user"),
        }

    @staticmethod
    def extensions() -> list[dict[str, Any]]:
        """The extension classes CONFIG_GET_EXT_LIST offers (none until 0x2050 is built)."""
        return [{"class": f"0x{cid:04x}", "versions": list(versions), "enabled": True}
                for cid, versions in EXTENSIONS]

    def modify_extension(self, ext_class: str, enabled: bool) -> dict[str, Any]:
        try:
            cid = int(ext_class, 0)
        except ValueError:
            raise NdmpError(f"{ext_class!r} is not an extension class number; write it like 0x2050.") from None
        offered = dict(EXTENSIONS)
        if cid not in offered:
            listed = ", ".join(f"0x{c:04x}" for c in offered) or "none yet"
            raise NdmpError(f"This NDMP server does not offer extension class 0x{cid:04x}, so it cannot be "
                            f"{'enabled' if enabled else 'disabled'} (offered: {listed}; vtl ndmp extensions "
                            "show lists them).")
        if not enabled:
            raise NdmpError(f"Extension class 0x{cid:04x} is always offered by this version of the server; "
                            "it cannot be disabled.")
        return {"class": f"0x{cid:04x}", "enabled": True, "changed": False}

    # -- sessions ----------------------------------------------------------------------------------
    def _session_view(self, session: Session) -> dict[str, Any]:
        info = session.info()
        state = session.state
        host, port = _split_peer(info.peer)
        return {
            "node": self.node.name if self.node is not None else "",
            "session_id": info.session_id, "client_addr": host, "client_port": port,
            "server_addr": state.local_address or None,
            "user": info.user, "role": info.role, "auth_type": info.auth_type,
            "phase": info.phase, "authorized": info.phase == "authenticated",
            "ndmp_version": info.protocol_version, "requests": info.requests,
            "started": info.started,
            "start_time": datetime.fromtimestamp(info.started).astimezone().isoformat(timespec="seconds"),
            "closing": info.closed,
            "tape": _held(state.tape, _TAPE_FIELDS),
            "mover": _held(state.mover, _MOVER_FIELDS),
            "data": _held(state.data, _DATA_FIELDS),
            "robot": _held(state.robot, _ROBOT_FIELDS),
        }

    def sessions(self, session_id: int | None = None, client_addr: str | None = None) -> list[dict[str, Any]]:
        self._require_running()

        async def work() -> list[dict[str, Any]]:
            assert self.registry is not None
            rows = []
            for info in self.registry.sessions():
                session = self.registry.get(info.session_id)
                if session is None:
                    continue
                rows.append(self._session_view(session))
            return rows
        rows = self._on_loop(work)
        if session_id is not None:
            rows = [r for r in rows if r["session_id"] == session_id]
            if not rows:
                raise NdmpError(f"ndmpd session {session_id} not active; vtl ndmp status lists the sessions.")
        if client_addr is not None:
            rows = [r for r in rows if r["client_addr"] == client_addr.strip("[]")]
        return rows

    def kill(self, session_id: int) -> dict[str, Any]:
        self._require_running()

        async def work() -> dict[str, Any]:
            assert self.registry is not None
            if not self.registry.kill(session_id, KILL_TEXT):
                raise NdmpError(f"ndmpd session {session_id} not active; vtl ndmp status lists the sessions.")
            gone = await self._wait_gone({session_id})
            log.info("NDMP session %d terminated by the administrator", session_id)
            return {"session_id": session_id, "ended": gone == {session_id}}
        return self._on_loop(work)

    def kill_all(self) -> dict[str, Any]:
        self._require_running()

        async def work() -> dict[str, Any]:
            assert self.registry is not None
            ids = {info.session_id for info in self.registry.sessions()}
            self.registry.kill_all(KILL_TEXT)
            gone = await self._wait_gone(ids)
            if ids:
                log.info("NDMP: %d sessions terminated by the administrator", len(ids))
            return {"killed": sorted(ids), "ended": sorted(gone)}
        return self._on_loop(work)

    async def _wait_gone(self, ids: set[int], limit: float = WAIT / 2) -> set[int]:
        """Wait (on the loop) until the sessions have closed their connections and given back
        what they held; returns those that did within ``limit`` seconds."""
        assert self.registry is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        while True:
            left = {sid for sid in ids if self.registry.get(sid) is not None}
            if not left or loop.time() >= deadline:
                return ids - left
            await asyncio.sleep(0.02)

    # -- passwords ---------------------------------------------------------------------------------
    def generate_password(self, user: str) -> dict[str, Any]:
        try:
            with self._secrets_lock:
                password = self.secrets.ndmp_password(self.config, user)
        except KeyError as e:
            raise NdmpError(str(e.args[0])[:1].upper() + str(e.args[0])[1:] + ".") from None
        except SecretsError as e:
            raise NdmpError(str(e)) from None
        return {"node": self.node.name if self.node is not None else "", "user": user, "password": password}

    def set_login_password(self, user: str, password: str) -> dict[str, Any]:
        try:
            with self._secrets_lock:
                self.secrets.set_login_password(self.config, user, password)
                users = self.secrets.users(self.config)
        except KeyError as e:
            raise NdmpError(str(e.args[0])[:1].upper() + str(e.args[0])[1:] + ".") from None
        except ValueError:
            raise NdmpError("The new login password is empty; nothing was changed.") from None
        except SecretsError as e:
            raise NdmpError(str(e)) from None
        if self.context is not None:
            changed = next(u for u in users if u.name == user)
            self.context.auth.users[user] = changed   # new sessions log in with the new password
        log.info("NDMP: the login password of user %s was changed (its NDMP password changes with it)", user)
        return self.generate_password(user)

    # -- the backup event log ---------------------------------------------------------------------
    def events(self, lines: int | None = None) -> dict[str, Any]:
        directory = self.config.event_log_directory
        records = []
        for path in log_files(directory):
            try:
                records.extend(read_events(path))
            except FileNotFoundError:        # rotated away between listing and reading
                continue
            except OSError as e:
                raise NdmpError(f"The backup event log {path} cannot be read ({e.strerror}).") from None
        if lines is not None:
            records = records[-lines:] if lines > 0 else []
        return {"path": str(directory / "backup"),
                "enabled": self.event_log.enabled if self.event_log is not None else self.config.event_log,
                "events": [{"type": r.kind, "timestamp": r.timestamp.isoformat(), "identifier": r.identifier,
                            "event": r.event, "info": r.info, "line": r.line()} for r in records]}

    async def _rotate_weekly(self) -> None:
        """ONTAP rotates the backup log every week; the log rotates on its first write after
        the week is over, and here also on a quiet week."""
        while True:
            await asyncio.sleep(ROTATION_CHECK)
            if self.event_log is not None:
                await asyncio.to_thread(self.event_log.rotate_if_due)

