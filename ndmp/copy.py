"""ndmcopy: a path copied from one NDMP data server to another, with no tape in between.

ONTAP's `ndmcopy` is a DMA of its own: it opens a control connection to the source and
to the destination data server (the same server twice is fine), has the destination's
DATA service listen for a data connection, has the source's connect to it, starts a
restore on the destination and a dump backup of the source path on the source, and
waits for both to halt.  The dump image goes straight from one DATA service to the
other.  Incremental copies (levels 1-9) take the source's dumpdates as their base, as
any incremental dump does; the copy is recorded there (UPDATE=Y) so the next level has
a base.  Exclusions are the dump engine's EXCLUDE.

Only the DMA is here; the servers are any NDMP v4 servers with the dump butype, ours or
not.  NDMP v4 carries data-connection addresses as IPv4 (``ndmp_tcp_addr``), so the data
connection is IPv4 whatever the control connections use.
"""
from __future__ import annotations

import re
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from .constants import NDMPPORT, AddrType, DataHaltReason, LogType, RecoveryStatus
from .constants import MessageCode as M
from .dma import DmaConnection, DmaError
from .messages import data as da
from .messages.common import Pval

__all__ = ["CopyError", "CopyResult", "Endpoint", "ndmcopy", "parse_location"]

FAMILIES = {"inet": socket.AF_INET, "inet6": socket.AF_INET6}
MAX_LEVEL = 9                  # the seed: one full and up to nine incremental transfers

_LOCATION = re.compile(r"(?:\[(?P<v6>[0-9A-Fa-f:.%]+)\]|(?P<host>[^\s:/\[\]]+))(?::(?P<port>\d{1,5}))?:(?P<path>/\S*)")


class CopyError(Exception):
    """The copy could not be made; ``messages`` holds what the servers logged meanwhile."""

    def __init__(self, message: str, messages: Sequence[tuple[str, str, str]] = (), side: str | None = None):
        super().__init__(message)
        self.messages = list(messages)
        self.side = side
        """The side ("source" or "destination") that refused a request, if that was it."""

    def reason(self) -> str | None:
        """What the refusing side logged as its error, if it did."""
        return next((text for s, kind, text in self.messages if s == self.side and kind == "error"), None)


@dataclass(frozen=True)
class Endpoint:
    """One side: a data server, the NDMP user to log in as, and the path there."""

    host: str
    port: int
    path: str
    user: str
    password: str
    auth: str = "md5"                      # "md5" or "text"
    family: int = socket.AF_UNSPEC         # of the control connection, for a host name

    @property
    def name(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.path}" if self.port == NDMPPORT else f"{host}:{self.port}:{self.path}"


@dataclass
class CopyResult:
    level: int
    bytes: int
    seconds: float
    messages: list[tuple[str, str, str]] = field(default_factory=list)
    """(side, log type, text) of every LOG_MESSAGE, in order per side: source first."""


def parse_location(text: str) -> tuple[str, int, str]:
    """``HOST[:PORT]:/vserver/volume[/path]`` (an IPv6 address in brackets) as (host, port,
    path); the port defaults to NDMP's 10000.  Raises ValueError naming the form."""
    m = _LOCATION.fullmatch(text.strip())
    if m is None or (m.group("port") and not 0 < int(m.group("port")) < 65536):
        raise ValueError(f"{text!r} is not HOST[:PORT]:/vserver/volume[/path] (an IPv6 address in "
                         "brackets, e.g. [2001:db8::1]:/vs1/vol1)")
    return (m.group("v6") or m.group("host"), int(m.group("port") or NDMPPORT), m.group("path"))


def ndmcopy(source: Endpoint, destination: Endpoint, *, level: int = 0, exclude: Sequence[str] = (),
            data_family: str | None = None) -> CopyResult:
    """Copy ``source.path`` to ``destination.path``; raises CopyError (and DmaError for a
    server that cannot be reached or logged in to)."""
    if not 0 <= level <= MAX_LEVEL:
        raise CopyError(f"level {level} is not 0 (a full copy) to {MAX_LEVEL}")
    if data_family == "inet6":
        raise CopyError("an IPv6 data connection cannot be set up: NDMP v4 carries data-connection "
                        "addresses as IPv4. Use -md inet, or leave -md out.")
    started = time.monotonic()
    with _login(destination) as dst, _login(source) as src:
        sides = ((src, "source"), (dst, "destination"))
        side = "destination"
        try:
            addr = dst.call_ok(M.NDMP_DATA_LISTEN, da.DataListenRequest(addr_type=AddrType.NDMP_ADDR_TCP))
            side = "source"
            src.call_ok(M.NDMP_DATA_CONNECT, da.DataConnectRequest(addr=addr.body.connect_addr))
            side = "destination"
            dst.call_ok(M.NDMP_DATA_START_RECOVER, da.DataStartRecoverRequest(
                env=_env(FILESYSTEM=destination.path), nlist=[], butype_name="dump"))
            env = _env(FILESYSTEM=source.path, LEVEL=level, UPDATE="Y", HIST="N")
            if exclude:
                env.append(Pval(name="EXCLUDE", value=",".join(e.replace(",", "\\,") for e in exclude)))
            side = "source"
            src.call_ok(M.NDMP_DATA_START_BACKUP, da.DataStartBackupRequest(butype_name="dump", env=env))
            reasons = []
            for c, side in sides:
                reasons.append(c.wait_post(M.NDMP_NOTIFY_DATA_HALTED, timeout=None).body.reason)
            side = "source"
            moved = src.call_ok(M.NDMP_DATA_GET_STATE).body.bytes_processed
        except (DmaError, KeyboardInterrupt) as e:
            for c, _ in sides:
                _abort(c)
            if isinstance(e, KeyboardInterrupt):
                raise
            raise CopyError(f"the {side}: {e}", _messages(sides), side) from None
        for c, _ in sides:
            _stop(c)
        messages = _messages(sides)
    failed = [f"the {side}'s {what} ended {_reason(r)}{_why(messages, side, r)}" for (_, side), what, r in
              zip(sides, ("backup", "restore"), reasons, strict=True) if r != DataHaltReason.NDMP_DATA_HALT_SUCCESSFUL]
    if failed:
        raise CopyError(f"{source.name} was not copied to {destination.name}: {'; '.join(failed)}", messages)
    return CopyResult(level, moved, time.monotonic() - started, messages)


def _login(e: Endpoint) -> DmaConnection:
    conn = DmaConnection(e.host, e.port, family=e.family)
    try:
        return conn.connect(e.user, e.password, auth=e.auth)
    except DmaError as err:
        conn.close()
        raise DmaError(f"cannot log in to {e.name.rsplit(':/', 1)[0]} as {e.user} ({e.auth}): {err}") from None


def _env(**values: object) -> list:
    return [Pval(name=k, value=str(v)) for k, v in values.items()]


def _reason(reason: int) -> str:
    return {DataHaltReason.NDMP_DATA_HALT_ABORTED: "aborted",
            DataHaltReason.NDMP_DATA_HALT_INTERNAL_ERROR: "with an error",
            DataHaltReason.NDMP_DATA_HALT_CONNECT_ERROR: "with its data connection broken"}.get(
                reason, f"with halt reason {reason}")


def _why(messages: list[tuple[str, str, str]], side: str, reason: int) -> str:
    """The side's own first error, for a side that failed of itself (not because the
    other side broke the data connection)."""
    if reason != DataHaltReason.NDMP_DATA_HALT_INTERNAL_ERROR:
        return ""
    first = next((text for s, kind, text in messages if s == side and kind == "error"), None)
    return f" ({first})" if first else ""


def _abort(conn: DmaConnection) -> None:
    """Best effort: whatever the DATA service is doing ends, and it is idle again."""
    for code in (M.NDMP_DATA_ABORT, M.NDMP_DATA_STOP):
        try:
            conn.call(code)
        except DmaError:
            return


def _stop(conn: DmaConnection) -> None:
    try:
        conn.call(M.NDMP_DATA_STOP)
    except DmaError:
        pass


def _messages(sides) -> list[tuple[str, str, str]]:
    out = []
    for conn, side in sides:
        for m in conn.posts:
            code = m.header.message_code
            if code == M.NDMP_LOG_MESSAGE and m.body is not None:
                out.append((side, LogType(m.body.log_type).name.removeprefix("NDMP_LOG_").lower(), m.body.entry))
            elif code == M.NDMP_LOG_FILE and m.body is not None and \
                    m.body.recovery_status != RecoveryStatus.NDMP_RECOVERY_SUCCESSFUL:
                out.append((side, "error", f"{m.body.name}: {RecoveryStatus(m.body.recovery_status).name}"))
    return out
