"""The NDMP server fuzz: hostile connections against a running server in front of a real node.

Shared by tests/ndmp/test_server_fuzz.py (a few thousand messages) and
benches/ndmp_server_fuzz.py (a million, by hand).  Each connection logs in (most
of them) and sends a stream of records: realistic requests of every interface
(TAPE_OPEN of a real drive, MOVER_LISTEN, SCSI_EXECUTE_CDB ...) and mutated or
random ones, then ends cleanly or abruptly, sometimes in the middle of a record.
Afterwards the server must still be serving, and nothing may be left behind: no
session in the registry, no device claimed, no mover thread, no open file.

What "crash" means here: the server stops answering a fresh, well-behaved
client, or a handler's exception escapes (counted by the sessions as
NDMP_UNDEFINED_ERR replies, which a correct server never sends).
"""
from __future__ import annotations

import os
import random
import socket
import struct
import threading
import time
from collections import Counter

from ndmp_fuzzing import mutate, seed_record
from ndmp_node import PASSWORD, running_server  # noqa: F401 (the bench imports it from here)
from ndmp_samples import SAMPLES

from ndmp import codec
from ndmp.constants import AuthType, ErrorCode
from ndmp.constants import MessageCode as M
from ndmp.messages import connect as cn
from ndmp.messages import is_post
from ndmp.record import RecordReader, frame

OPEN = codec.encode(codec.request(M.NDMP_CONNECT_OPEN, cn.ConnectOpenRequest(protocol_version=4), sequence=1))
LOGIN = codec.encode(codec.request(M.NDMP_CONNECT_CLIENT_AUTH, cn.ConnectClientAuthRequest(auth_data=cn.AuthData(
    auth_type=AuthType.NDMP_AUTH_TEXT, auth_text=cn.AuthText(auth_id="ndmp", auth_password=PASSWORD))), sequence=2))


def realistic_requests() -> list[bytes]:
    """Every request of SAMPLES, as a DMA would send it (TAPE_OPEN nrst0a, MOVER_LISTEN ...)."""
    out = []
    for code, sample in SAMPLES.items():
        if is_post(code) or code in (M.NDMP_CONNECT_CLOSE, M.NDMP_CONNECT_OPEN, M.NDMP_CONNECT_CLIENT_AUTH):
            continue
        out.append(codec.encode(codec.request(code, sample[0], sequence=3)))
    return out


class _Drain(threading.Thread):
    """Reads everything the server sends on one connection, counting replies with
    NDMP_UNDEFINED_ERR (a handler that failed: a bug)."""

    def __init__(self, sock: socket.socket):
        super().__init__(daemon=True)
        self.sock = sock
        self.undefined = 0
        self.messages = 0

    def run(self) -> None:
        reader = RecordReader(1 << 26)
        try:
            while data := self.sock.recv(1 << 16):
                for rec in reader.feed(data):
                    self.messages += 1
                    if len(rec) >= 24 and struct.unpack_from(">I", rec, 20)[0] == ErrorCode.NDMP_UNDEFINED_ERR:
                        self.undefined += 1
        except OSError:
            pass


def one_connection(port: int, rng: random.Random, seeds: list[bytes], real: list[bytes], count: int,
                   tally: Counter) -> None:
    sock = socket.create_connection(("127.0.0.1", port))
    drain = _Drain(sock)
    drain.start()
    out = bytearray()
    if rng.random() < 0.9:
        out += frame(OPEN) + frame(LOGIN)
        tally["logged in"] += 1
    for _ in range(count):
        r = rng.random()
        if r < 0.35:
            rec = rng.choice(real)
        elif r < 0.85:
            rec = mutate(rng, rng.choice(real if rng.random() < 0.6 else seeds), rng.choice(seeds))
        else:
            rec = rng.choice(seeds)
        out += frame(rec)
    end = rng.random()
    if end < 0.1:
        out += frame(rng.choice(real))[: rng.randint(1, 20)]           # cut off mid-record
        tally["cut mid-record"] += 1
    try:
        sock.sendall(out)
        if end < 0.3:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))   # RST
            tally["reset"] += 1
            # The reset goes out when the socket is released, and the drain thread's
            # pending recv holds it: close() alone would leave the connection open
            # (and the session with it) whenever every reply had already arrived.
            # SHUT_RD ends that recv without sending anything.
            sock.shutdown(socket.SHUT_RD)
            drain.join(60)
        else:
            sock.shutdown(socket.SHUT_WR)
            drain.join(60)
    except OSError:
        tally["server closed first"] += 1
    finally:
        sock.close()
        drain.join(60)
    tally["messages"] += count
    tally["replies and posts"] += drain.messages
    tally["undefined errors"] += drain.undefined


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _threads() -> set[str]:
    return {t.name for t in threading.enumerate() if not t.name.startswith("ndmp-session")}


def settle(server, baseline_fds: int, baseline_threads: set[str], timeout: float = 30.0) -> dict:
    """Wait until nothing is held; return what is still held when the time is up."""
    deadline = time.monotonic() + timeout
    while True:
        held = {
            "sessions": len(server.registry),
            "claims": len(server.context.claims._owners),
            "extra threads": sorted(_threads() - baseline_threads),
            "extra fds": _fds() - baseline_fds,
        }
        if not held["sessions"] and not held["claims"] and not held["extra threads"] and held["extra fds"] <= 0:
            return {}
        if time.monotonic() > deadline:
            return held
        time.sleep(0.05)


def healthy(port: int) -> bool:
    """A well-behaved client still gets CONNECT_OPEN answered with NO_ERR."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(frame(OPEN))
        reader = RecordReader()
        seen = []
        while len(seen) < 2:
            data = sock.recv(1 << 16)
            if not data:
                return False
            seen += reader.feed(data)
        reply = codec.decode(seen[1])
        return reply.header.message_code == M.NDMP_CONNECT_OPEN and reply.body.error == ErrorCode.NDMP_NO_ERR


def load_drives(node) -> None:
    """A cartridge in every drive, so that TAPE_OPEN succeeds and the requests behind it
    (writes, reads, MTIO, the mover) reach a real tape."""
    lib = node.library()
    full = [e.address for e in lib.elements() if e.type.name == "STORAGE" and e.full]
    for (address, _), slot in zip(lib.drives(), full):
        if lib.element(address).barcode is None:
            lib.load(slot, address)


def fuzz_server(server, messages: int, seed: int = 20261123, *, per_connection: int = 200,
                progress=None) -> Counter:
    """Send ``messages`` records over connections of about ``per_connection`` records each."""
    rng = random.Random(seed)
    # CONNECT_CLOSE ends a session at once: left in, most of each stream would never be read.
    seeds = [r for r in (seed_record(rng) for _ in range(600))
             if struct.unpack_from(">I", r, 12)[0] != M.NDMP_CONNECT_CLOSE]
    real = realistic_requests()
    tally: Counter = Counter()
    sent = 0
    while sent < messages:
        count = min(rng.randint(1, 2 * per_connection), messages - sent)
        one_connection(server.port, rng, seeds, real, count, tally)
        tally["connections"] += 1
        sent += count
        if progress is not None:
            progress(sent, tally)
    return tally
