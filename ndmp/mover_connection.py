"""The endpoints of a mover's data connection: a TCP listener, a TCP connection to a
DATA server, and the in-process (LOCAL) pair.

NDMP v4 gives a TCP endpoint as ``ndmp_tcp_addr`` (an IPv4 address as a 32-bit
number in host order on the wire's big-endian, a port, an environment) inside
``ndmp_addr``; :func:`tcp_addr` and :func:`tcp_targets` convert.  A LOCAL data
connection is a ``socket.socketpair()``: the mover keeps one end and the
session's DATA service takes the other, so both sides read and write a socket
whatever the address type, and the mover's code has one path.
"""
from __future__ import annotations

import ipaddress
import socket
from typing import Any

from .constants import AddrType
from .messages.common import Addr, TcpAddr

__all__ = ["DEFAULT_ADDRESS", "connect_tcp", "data_host", "ipv4_of", "listen_tcp", "local_pair", "tcp_addr", "tcp_targets",
           "tune"]

DEFAULT_ADDRESS = "127.0.0.1"
CONNECT_TIMEOUT = 30.0      # seconds for MOVER_CONNECT to reach a DATA server
SOCKET_BUFFER = 4 * 1024 * 1024


def ipv4_of(address: str | None) -> str | None:
    """The IPv4 address of ``address`` (an IPv4-mapped IPv6 address counts), None otherwise:
    ndmp_tcp_addr has room for IPv4 only."""
    if not address:
        return None
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        ip = ip.ipv4_mapped  # type: ignore[assignment]
        if ip is None:
            return None
    if ip.is_unspecified:
        return None
    return str(ip)


def data_host(session_address: str | None, server_data_address: str | None) -> str:
    """Where a session's TCP data endpoint (mover or DATA) listens: the address the DMA
    reached the session on, else the server's data address, else 127.0.0.1."""
    return ipv4_of(session_address) or ipv4_of(server_data_address) or DEFAULT_ADDRESS


def tcp_addr(host: str, port: int) -> Any:
    """``ndmp_addr`` of one TCP endpoint."""
    return Addr(addr_type=AddrType.NDMP_ADDR_TCP,
                tcp_addr=[TcpAddr(ip_addr=int(ipaddress.IPv4Address(host)), port=port, addr_env=[])])


def tcp_targets(addr: Any) -> list[tuple[str, int]]:
    """The (host, port) pairs of an ``ndmp_addr`` with addr_type TCP, in the DMA's order."""
    return [(str(ipaddress.IPv4Address(a.ip_addr & 0xFFFFFFFF)), a.port) for a in (addr.tcp_addr or [])]


def tune(sock: socket.socket) -> None:
    """Large kernel buffers: a record of up to 256 KiB should not need several wake-ups."""
    for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
        try:
            sock.setsockopt(socket.SOL_SOCKET, option, SOCKET_BUFFER)
        except OSError:
            pass


def listen_tcp(host: str) -> socket.socket:
    """A listening socket on ``host``, on a free port, for one data connection."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        tune(sock)          # before listen: accepted sockets inherit the buffer sizes
        sock.bind((host, 0))
        sock.listen(1)
    except OSError:
        sock.close()
        raise
    return sock


def connect_tcp(addr: Any, timeout: float = CONNECT_TIMEOUT) -> socket.socket:
    """Connect to the first of ``addr``'s TCP endpoints that answers; OSError when none does."""
    failures = []
    for host, port in tcp_targets(addr):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tune(sock)
        sock.settimeout(timeout)
        try:
            sock.connect((host, port))
        except OSError as e:
            sock.close()
            failures.append(f"{host}:{port}: {e.strerror or e}")
            continue
        sock.settimeout(None)
        return sock
    raise OSError("; ".join(failures) or "no TCP address given")


def local_pair() -> tuple[socket.socket, socket.socket]:
    """(the mover's end, the DATA service's end) of a LOCAL data connection."""
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    for s in (mine, theirs):
        tune(s)
    return mine, theirs
