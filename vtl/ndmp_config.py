"""The ``[ndmp]`` table of the node configuration: how `vtl serve` runs its NDMP server.

A minimal table is no table at all: NDMP is on, on 127.0.0.1 port 10000 (the NDMP
port), both authentication methods, one user ``ndmp`` of role backup.  Everything::

    [ndmp]
    enabled = true
    address = "127.0.0.1"
    port = 10000
    secure = false                 # also listen with TLS on secure_port (the ndmps port)
    secure_port = 30000
    certificate = "ndmp-cert.pem"  # PEM; required when secure = true
    key = "ndmp-key.pem"
    authtype = ["plaintext", "challenge"]
    max_sessions = 8               # default: the seed's figure for this machine's memory
    tape_reservations = "off"      # off | scsi | persistent (ONTAP's tape.reservations)
    data_buffers = 4               # records in flight between data connection and tape
    event_log = true               # the backup event log (ONTAP's backup.log.enable)
    event_log_directory = "log"    # default: log/ next to the state store
    secrets = "ndmp-secrets.json"  # default: next to the state store

    [[ndmp.user]]
    name = "ndmp"
    role = "backup"                # admin | backup

``port = 0`` (and ``secure_port = 0``) picks any free port; `vtl ndmp show` tells
which.  Problems are :class:`vtl.config.ConfigError` naming the file, the line when it
can be found, the table, the key, and the fix, as for the rest of the file.

**Where passwords live.**  The seed's NDMP password is not stored anywhere: it is
derived from the user's *login password* (``ndmp.auth.generate_password``, keyed by a
secret of the node), so it changes when the login password changes.  vtl has no login
accounts of its own, so each NDMP user's login password is kept in a per-node secrets
file (JSON, mode 0600, next to the state store unless ``secrets`` says otherwise)
together with the node secret.  The file is created on first use with a random login
password for every configured user and a random node secret; a user added to the
configuration later gets a random login password the first time it is needed.  Change
a login password with `vtl ndmp set-login-password --user NAME`; print the NDMP
password with `vtl ndmp generate-password --user NAME`.  Nothing in the configuration
file is secret.
"""
from __future__ import annotations

import ipaddress
import json
import os
import re
import secrets as _secrets
import stat
import tempfile
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NoReturn

from ndmp.auth import AuthPolicy, Role, User, generate_password
from ndmp.constants import NDMPPORT
from ndmp.context import TAPE_RESERVATIONS
from ndmp.registry import DEFAULT_MAX_SESSIONS, max_sessions_for_memory

from .config import (
    ConfigError,
    NodeConfig,
    SectionReader,
    short_value,
    unknown_key_fix,
    wrong_type,
)

__all__ = [
    "AUTHTYPES", "DEFAULT_USERS", "MAX_DATA_BUFFERS", "NDMPS_PORT", "SETTINGS", "NdmpConfig",
    "NdmpUser", "Secrets", "SecretsError", "check_setting", "machine_max_sessions", "ndmp_config",
]

#: IANA's "ndmps": the seed's secure NDMP control connections listen here.
NDMPS_PORT = 30000
#: The seed's -authtype values, in the order NDMP advertises them (text, then MD5).
AUTHTYPES = ("plaintext", "challenge")
MAX_DATA_BUFFERS = 64
SECRETS_NAME = "ndmp-secrets.json"
LOG_DIRECTORY = "log"

_KEYS = ("enabled", "address", "port", "secure", "secure_port", "certificate", "key", "authtype",
         "max_sessions", "tape_reservations", "data_buffers", "event_log", "event_log_directory",
         "secrets", "user")
_USER_KEYS = ("name", "role")
_USER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,31}", re.ASCII)
_HOSTNAME = re.compile(r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                       r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*", re.ASCII)

_EXAMPLES = {
    "enabled": "enabled = true",
    "address": 'address = "127.0.0.1"',
    "port": f"port = {NDMPPORT}",
    "secure": "secure = true",
    "secure_port": f"secure_port = {NDMPS_PORT}",
    "certificate": 'certificate = "ndmp-cert.pem"',
    "key": 'key = "ndmp-key.pem"',
    "authtype": 'authtype = ["plaintext", "challenge"]',
    "max_sessions": "max_sessions = 8",
    "tape_reservations": 'tape_reservations = "off"',
    "data_buffers": "data_buffers = 4",
    "event_log": "event_log = true",
    "event_log_directory": 'event_log_directory = "log"',
    "secrets": f'secrets = "{SECRETS_NAME}"',
    "user": '[[ndmp.user]] with name = "ndmp" and role = "backup"',
    "user.name": 'name = "ndmp"',
    "user.role": 'role = "backup"',
}



@dataclass(frozen=True)
class NdmpUser:
    """A user who may open NDMP sessions; the password comes from the secrets file."""

    name: str
    role: Role


DEFAULT_USERS = (NdmpUser("ndmp", Role.BACKUP),)


def machine_max_sessions() -> int:
    """The seed's session limit for this machine's memory ("Scalability limits for NDMP
    sessions"): 8 below 16 GB, 20 below 24 GB, else 36."""
    try:
        memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return DEFAULT_MAX_SESSIONS
    return max_sessions_for_memory(memory)


@dataclass(frozen=True)
class NdmpConfig:
    """The NDMP settings of a node.  ``given`` holds the keys the file set (the others are
    defaults), for `vtl ndmp show` to say where each value came from."""

    enabled: bool = True
    address: str = "127.0.0.1"
    port: int = NDMPPORT
    secure: bool = False
    secure_port: int = NDMPS_PORT
    certificate: Path | None = None
    key: Path | None = None
    authtype: tuple[str, ...] = AUTHTYPES
    max_sessions: int = DEFAULT_MAX_SESSIONS
    tape_reservations: str = "off"
    data_buffers: int = 4
    event_log: bool = True
    event_log_directory: Path = Path(LOG_DIRECTORY)
    secrets: Path = Path(SECRETS_NAME)
    users: tuple[NdmpUser, ...] = DEFAULT_USERS
    source: str = "<configuration>"
    given: frozenset[str] = field(default_factory=frozenset)

    @property
    def policy(self) -> AuthPolicy:
        return AuthPolicy(text="plaintext" in self.authtype, md5="challenge" in self.authtype)

    def user(self, name: str) -> NdmpUser:
        for u in self.users:
            if u.name == name:
                return u
        known = ", ".join(u.name for u in self.users) or "none"
        raise KeyError(f"{name!r} is not an NDMP user of this node (the users are: {known}); "
                       "users are [[ndmp.user]] tables of the configuration")

    def with_settings(self, values: dict[str, Any]) -> NdmpConfig:
        """This configuration with run-time settings (already checked) put over it."""
        known = {k: v for k, v in values.items() if k in SETTINGS}
        if "authtype" in known:
            known["authtype"] = tuple(known["authtype"])
        return replace(self, **known)


#: Settings `vtl ndmp on|off|modify` may change at run time (kept in the state store).
SETTINGS = ("enabled", "address", "port", "secure", "secure_port", "authtype", "max_sessions",
            "tape_reservations", "data_buffers", "event_log")
#: Settings that only take effect when the listeners start again.
LISTENER_SETTINGS = ("address", "port", "secure", "secure_port", "max_sessions")


# -- checking one value (shared by the file and by `vtl ndmp modify`) -----------------------


def check_setting(key: str, value: Any) -> Any:
    """``value`` checked and normalised for ``key``; ValueError says what is wrong and how
    to write it instead (one sentence, ending in a full stop)."""
    if key in ("enabled", "secure", "event_log"):
        if not isinstance(value, bool):
            raise ValueError(f"{key} is true or false, not {short_value(value)}.")
        return value
    if key in ("port", "secure_port"):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
            raise ValueError(f"{key} {short_value(value)} is not a TCP port; a port is 1 to 65535 "
                             "(or 0 for any free port).")
        return value
    if key == "address":
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"address must be an IP address or a host name, not {short_value(value)}.")
        text = value.strip()
        try:
            ipaddress.ip_address(text)
        except ValueError:
            if not _HOSTNAME.fullmatch(text):
                raise ValueError(f'"{value}" is neither an IP address nor a host name.') from None
        return text
    if key == "authtype":
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)) or not all(isinstance(i, str) for i in items):
            raise ValueError(f"authtype is a list of methods, not {short_value(value)}.")
        chosen = []
        for item in items:
            method = item.strip().lower()
            if method not in AUTHTYPES:
                raise ValueError(f'"{item}" is not an NDMP authentication method; the methods are '
                                 "plaintext (the password in clear text) and challenge (MD5).")
            if method not in chosen:
                chosen.append(method)
        if not chosen:
            raise ValueError("authtype is empty, so no DMA could ever log in; keep at least one "
                             "method.")
        return tuple(m for m in AUTHTYPES if m in chosen)
    if key == "max_sessions":
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= DEFAULT_MAX_SESSIONS:
            raise ValueError(f"max_sessions {short_value(value)} is out of range; a node allows 1 to "
                             f"{DEFAULT_MAX_SESSIONS} simultaneous NDMP sessions (ONTAP's limits by "
                             "memory: 8 below 16 GB, 20 below 24 GB, 36 from 24 GB).")
        return value
    if key == "tape_reservations":
        if not isinstance(value, str) or value.strip().lower() not in TAPE_RESERVATIONS:
            raise ValueError(f"tape_reservations {short_value(value)} is not one of off, scsi "
                             "(RESERVE/RELEASE) and persistent (PERSISTENT RESERVE).")
        return value.strip().lower()
    if key == "data_buffers":
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DATA_BUFFERS:
            raise ValueError(f"data_buffers {short_value(value)} is out of range; the mover keeps 1 to "
                             f"{MAX_DATA_BUFFERS} records in flight.")
        return value
    raise ValueError(f"{key} is not an NDMP setting; the settings are {', '.join(SETTINGS)}.")


# -- the [ndmp] table -----------------------------------------------------------------------


def ndmp_config(node: NodeConfig) -> NdmpConfig:
    """The node's NDMP settings from ``node.extra["ndmp"]`` (defaults when absent).
    Relative paths are relative to the configuration file's directory, as everywhere in
    it; the event log and the secrets file default to the state store's directory, where
    the daemon keeps its other files."""
    return _Reader(node).read(node.extra.get("ndmp"))


_MISPLACED_KEY_FIXES = {
    "users": "write each user as its own [[ndmp.user]] table with name and role.",
    "password": ("remove it: NDMP passwords are not kept in the configuration; "
                 "`vtl ndmp generate-password --user NAME` prints one."),
}
"""Keys people write where they do not belong, with where they go instead."""


class _Reader(SectionReader):
    # -- reporting --------------------------------------------------------------------

    def fail(self, where: tuple, message: str, fix: str) -> NoReturn:
        table = "[ndmp]"
        key = where[-1] if where and isinstance(where[-1], str) else None
        if len(where) >= 2 and where[0] == "user" and isinstance(where[1], int):
            table = f"[[ndmp.user]] number {where[1] + 1}"
            key = where[2] if len(where) > 2 else None
        raise ConfigError(self.label, message, fix, line=self.line_of(("ndmp", *where)),
                          table=table, key=key)

    def example(self, key: str) -> str:
        return _EXAMPLES.get(key, f"{key} = ...")

    def get(self, table: dict, key: str, kind: type | tuple[type, ...], where: tuple, example: str,
            default: Any = None) -> Any:
        if key not in table:
            return default
        value = table[key]
        wanted = wrong_type(value, kind)
        if wanted is not None:
            self.fail((*where, key), f"{key} must be {wanted}, not {short_value(value)}.",
                      f"write it like {self.example(example)}.")
        return value

    def check_keys(self, table: dict, known: tuple[str, ...], where: tuple, kind: str) -> None:
        for key in table:
            if key in known:
                continue
            fix = _MISPLACED_KEY_FIXES.get(key) or unknown_key_fix(key, known, kind)
            self.fail((*where, key), f"{key} is not a key of {kind}.", fix)

    # -- the table --------------------------------------------------------------------------

    def read(self, data: Any) -> NdmpConfig:
        if data is None:
            data = {}
        if isinstance(data, list):
            self.fail((), "[[ndmp]] is an array of tables, but a node has one NDMP server.",
                      "write [ndmp] with one pair of brackets.")
        self.check_keys(data, _KEYS, (), "[ndmp]")
        values: dict[str, Any] = {}
        for key in SETTINGS:
            if key not in data:
                continue
            raw = data[key]
            try:
                values[key] = check_setting(key, raw)
            except ValueError as exc:
                self.fail((key,), str(exc), f"write it like {self.example(key)}.")
        if "max_sessions" not in values:
            values["max_sessions"] = machine_max_sessions()
        secure = values.get("secure", False)
        port = values.get("port", NDMPPORT)
        secure_port = values.get("secure_port", NDMPS_PORT)
        if secure and port and port == secure_port:
            self.fail(("secure_port",), f"secure_port is {secure_port}, the same as port; the TLS "
                      "listener needs a port of its own.",
                      f"write secure_port = {NDMPS_PORT} (the ndmps port) or another free port.")
        certificate = self.file(data, "certificate", required=secure)
        key = self.file(data, "key", required=secure)
        log_dir = self.path(data, "event_log_directory", self.node.state.parent / LOG_DIRECTORY)
        secrets_path = self.path(data, "secrets", self.node.state.parent / SECRETS_NAME)
        users = self.users(data)
        return NdmpConfig(certificate=certificate, key=key, event_log_directory=log_dir,
                          secrets=secrets_path, users=users, source=self.label,
                          given=frozenset(data), **values)

    def path(self, data: dict, key: str, default: Path) -> Path:
        text = self.get(data, key, str, (), key)
        if text is None:
            return default
        if not text.strip():
            self.fail((key,), f"{key} is empty.", f"write a path, like {self.example(key)}.")
        path = Path(text).expanduser()
        return path if path.is_absolute() else self.base / path

    def file(self, data: dict, key: str, *, required: bool) -> Path | None:
        what = "TLS certificate (PEM)" if key == "certificate" else "TLS private key (PEM)"
        if key not in data:
            if required:
                self.fail((key,), f"secure = true needs the {what}, and {key} is missing.",
                          f"add {self.example(key)}, or set secure = false.")
            return None
        path = self.path(data, key, Path())
        try:
            with open(path, "rb") as f:
                f.read(1)
        except FileNotFoundError:
            self.fail((key,), f"the {what} {path} does not exist.",
                      f"check the path (relative paths start at {self.base}), or create it, for "
                      "example with openssl req -x509 -newkey rsa:2048 -nodes.")
        except IsADirectoryError:
            self.fail((key,), f"{path} is a directory, not the {what}.", "name the PEM file itself.")
        except OSError as exc:
            self.fail((key,), f"the {what} {path} cannot be read ({exc.strerror}).",
                      "check its permissions: the user running vtl serve must be able to read it.")
        return path

    def users(self, data: dict) -> tuple[NdmpUser, ...]:
        if "user" not in data:
            return DEFAULT_USERS
        items = data["user"]
        if isinstance(items, dict):
            self.fail(("user",), "[ndmp.user] is a single table, but users are an array of tables.",
                      "write [[ndmp.user]] (with two brackets) for each user.")
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            self.fail(("user",), "user must be an array of tables.",
                      f"write each user as {self.example('user')}.")
        users: list[NdmpUser] = []
        seen: dict[str, int] = {}
        for index, item in enumerate(items):
            where = ("user", index)
            self.check_keys(item, _USER_KEYS, where, "[[ndmp.user]]")
            if "name" not in item:
                self.fail((*where, "name"), "name is missing; every user has one.",
                          f"add {self.example('user.name')}.")
            name = self.get(item, "name", str, where, "user.name")
            if not _USER_NAME.fullmatch(name):
                self.fail((*where, "name"), f'"{name}" cannot be an NDMP user name.',
                          "use 1 to 32 letters, digits, '_', '.' and '-', starting with a letter "
                          'or "_", like name = "ndmp".')
            if name in seen:
                self.fail((*where, "name"), f'the user "{name}" is defined twice (also in '
                          f"[[ndmp.user]] number {seen[name] + 1}).", "give every user one table.")
            seen[name] = index
            role_text = self.get(item, "role", str, where, "user.role", default="backup")
            try:
                role = Role(role_text.strip().lower())
            except ValueError:
                self.fail((*where, "role"), f'"{role_text}" is not an NDMP role; the roles that may '
                          "use NDMP are admin and backup.", 'write role = "backup" or role = "admin".')
            users.append(NdmpUser(name, role))
        return tuple(users)


# -- the secrets file -----------------------------------------------------------------------


class SecretsError(Exception):
    """The secrets file cannot be used; the message names it and says how to fix it."""


_LOGIN_LENGTH = 24


def _random_password() -> str:
    return _secrets.token_urlsafe(18)[:_LOGIN_LENGTH]


class Secrets:
    """The per-node secrets file: the node secret and each NDMP user's login password.

    Only `vtl serve` reads and writes it (the CLI asks the daemon); every use reads it
    afresh and every change replaces it whole (write, fsync, rename), mode 0600."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._node_secret = ""
        self._logins: dict[str, str] = {}
        self._lock = threading.RLock()

    # -- reading and writing ---------------------------------------------------------------

    def load(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            self._node_secret = _secrets.token_hex(32)
            self._logins = {}
            return
        except OSError as exc:
            raise SecretsError(f"{self.path}: the NDMP secrets file cannot be read ({exc.strerror}). "
                               "Fix: make it readable by the user running vtl serve (mode 0600).") from None
        try:
            mode = os.fstat(fd).st_mode
            with os.fdopen(fd, "rb") as f:
                raw = f.read()
        except OSError as exc:
            raise SecretsError(f"{self.path}: the NDMP secrets file cannot be read ({exc.strerror}).") from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise SecretsError(f"{self.path}: the NDMP secrets file may be read by others (mode "
                               f"{stat.S_IMODE(mode):04o}); it holds the login passwords NDMP passwords "
                               f"come from. Fix: chmod 600 {self.path}")
        try:
            data = json.loads(raw.decode("utf-8"))
            node_secret = data["node_secret"]
            logins = {str(k): v["login_password"] for k, v in data.get("users", {}).items()}
            if not isinstance(node_secret, str) or not node_secret or \
                    not all(isinstance(v, str) for v in logins.values()):
                raise ValueError("wrong types")
        except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
            raise SecretsError(f"{self.path}: the NDMP secrets file is damaged (it is not the JSON "
                               "vtl writes). Fix: restore it from a backup, or move it aside to "
                               "start with new random login passwords (every NDMP password changes)."
                               ) from None
        self._node_secret, self._logins = node_secret, logins

    def _save(self) -> None:
        data = {"comment": "vtl NDMP secrets: the node secret and each NDMP user's login password. "
                           "NDMP passwords are derived from them (vtl ndmp generate-password).",
                "node_secret": self._node_secret,
                "users": {name: {"login_password": pw} for name, pw in sorted(self._logins.items())}}
        text = json.dumps(data, indent=2) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        try:
            dfd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        except OSError:
            pass

    def _ensure(self, names: list[str]) -> None:
        """Read the file (it is small; reading each time means no stale copy) and make sure
        each user has a login password; write it back if anything is new."""
        existed = self.path.exists()
        self.load()
        missing = [n for n in names if n not in self._logins]
        for name in missing:
            self._logins[name] = _random_password()
        if missing or not existed:
            try:
                self._save()
            except OSError as exc:
                raise SecretsError(f"{self.path}: the NDMP secrets file cannot be written "
                                   f"({exc.strerror}). Fix: make its directory writable by the user "
                                   "running vtl serve.") from None

    # -- what the service asks ---------------------------------------------------------------

    def users(self, config: NdmpConfig) -> list[User]:
        """The configured users with their NDMP passwords (creating what is missing)."""
        with self._lock:
            self._ensure([u.name for u in config.users])
            return [User(u.name, u.role, generate_password(u.name, self._logins[u.name], self._node_secret))
                    for u in config.users]

    def ndmp_password(self, config: NdmpConfig, name: str) -> str:
        """The NDMP password of user ``name`` (KeyError: not a configured user)."""
        user = config.user(name)
        with self._lock:
            self._ensure([user.name])
            return generate_password(user.name, self._logins[user.name], self._node_secret)

    def set_login_password(self, config: NdmpConfig, name: str, login_password: str) -> None:
        """Change a user's login password, and with it the user's NDMP password."""
        user = config.user(name)
        if not login_password:
            raise ValueError("the new login password is empty")
        with self._lock:
            self._ensure([user.name])
            old = self._logins[user.name]
            self._logins[user.name] = login_password
            try:
                self._save()
            except OSError as exc:
                self._logins[user.name] = old
                raise SecretsError(f"{self.path}: the NDMP secrets file cannot be written "
                                   f"({exc.strerror}); the login password is unchanged.") from None
