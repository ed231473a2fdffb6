"""The NDMP mover's backup path against a plain socket-to-file copy of the same bytes.

    python benches/ndmp_mover.py [--gib 2] [--rounds 3] [--dir /var/tmp] [--profile]

(a) plain: a thread sends N GiB over loopback TCP; the receiver ``recv_into``s
    256 KiB buffers and ``os.write``s them to a file in ``--dir``, then fsyncs it.
(b) mover: a real NdmpServer over a real node (one IBM LTO-8 drive, a cartridge big
    enough for the run, in ``--dir``): TAPE_OPEN nrst0l RDWR, MOVER_SET_RECORD_SIZE
    262144, MOVER_SET_WINDOW(0, 2^64-1), MOVER_LISTEN(READ, TCP); a thread connects
    and sends the same N GiB; the time runs from the connection to the
    NOTIFY_MOVER_HALTED(CONNECT_CLOSED) that follows the mover's flush of the tape
    (WRITE FILEMARKS 0, which makes the cartridge durable: an fsync).

Both end at a sync point, so the ratio compares like with like; the plain copy's
time before its fsync is printed too.  The two alternate for ``--rounds`` rounds,
each after a ``sync``, and each side is judged by its best round.  ``--profile``
runs cProfile in the mover's two threads (socket reader, tape writer) during one
extra round.

Run by hand; figures go in benches/README.md, never into a test assertion.
"""
from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import ipaddress
import os
import pstats
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1])]

from ndmp import codec
from ndmp.auth import AuthPolicy, Role, User
from ndmp.constants import AddrType, AuthType, MoverHaltReason, MoverMode, TapeOpenMode
from ndmp.constants import MessageCode as M
from ndmp.messages import connect as cn
from ndmp.messages import mover as mv
from ndmp.messages import tape as tp
from ndmp.mover_pump import DataPump
from ndmp.record import RecordReader, frame
from ndmp.server import NdmpServer
from vtl.config import loads
from vtl.ndmp_backend import NodeBackend
from vtl.node import Node

RECORD = 256 * 1024
SEND_CHUNK = 1024 * 1024
PASSWORD = "bench-password-0123"
INFINITY = (1 << 64) - 1

CONFIG = """\
[node]
name = "bench"
kernel_target = false
state = "state.sqlite"
socket = "vtl.sock"

[[library]]
name = "lib0"
storage = "cartridges"
slots = 4
mailslots = 1

[library.changer]
serial = "BENCHCHG"
lun = 0

[[library.drive]]
personality = "IBM_LTO8"
serial = "BENCHDRV0"
lun = 1

[[library.cartridge]]
barcodes = "BEN000L8-BEN001L8"
capacity = "{capacity}"
"""


class Client:
    """A blocking DMA: requests and replies in order, posts kept aside."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.reader = RecordReader()
        self.pending: list[codec.Message] = []
        self.posts: list[codec.Message] = []
        self.sequence = 0
        self._next()                                  # NOTIFY_CONNECTION_STATUS
        self.call(M.NDMP_CONNECT_OPEN, cn.ConnectOpenRequest(protocol_version=4))
        self.check(self.call(M.NDMP_CONNECT_CLIENT_AUTH, cn.ConnectClientAuthRequest(auth_data=cn.AuthData(
            auth_type=AuthType.NDMP_AUTH_TEXT, auth_text=cn.AuthText(auth_id="ndmp", auth_password=PASSWORD)))))

    def _next(self) -> codec.Message:
        while not self.pending:
            data = self.sock.recv(1 << 16)
            if not data:
                raise SystemExit("the server closed the control connection")
            self.pending += [codec.decode(r) for r in self.reader.feed(data)]
        return self.pending.pop(0)

    def call(self, code: int, body: object = None) -> codec.Message:
        self.sequence += 1
        self.sock.sendall(frame(codec.encode(codec.request(code, body, sequence=self.sequence))))
        while True:
            m = self._next()
            if m.is_reply and m.header.reply_sequence == self.sequence:
                return m
            self.posts.append(m)

    def post(self, code: int) -> codec.Message:
        for i, m in enumerate(self.posts):
            if m.code == code:
                return self.posts.pop(i)
        while True:
            m = self._next()
            if m.code == code:
                return m
            self.posts.append(m)

    @staticmethod
    def check(reply: codec.Message) -> codec.Message:
        if reply.body is None or reply.body.error != 0:
            raise SystemExit(f"{reply.name} failed: {reply.header.error_code!r} {reply.body}")
        return reply


def send(address: tuple[str, int], total: int, payload: memoryview) -> None:
    with socket.create_connection(address) as s:
        left = total
        while left:
            n = min(left, len(payload))
            s.sendall(payload[:n])
            left -= n


def plain(directory: str, total: int, payload: memoryview) -> tuple[float, float]:
    """recv_into + os.write to a file, then fsync; (seconds to the last write, to durable)."""
    path = os.path.join(directory, "bench-plain")
    with socket.socket() as ls:
        ls.bind(("127.0.0.1", 0))
        ls.listen(1)
        sender = threading.Thread(target=send, args=(ls.getsockname(), total, payload))
        sender.start()
        conn, _ = ls.accept()
    buf = bytearray(RECORD)
    view = memoryview(buf)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        with conn:
            t = time.perf_counter()
            while True:
                n = 0
                while n < RECORD:
                    got = conn.recv_into(view[n:], RECORD - n, socket.MSG_WAITALL)
                    if not got:
                        break
                    n += got
                if n:
                    os.write(fd, view[:n])
                if n < RECORD:
                    break
            written = time.perf_counter() - t
            os.fsync(fd)
            durable = time.perf_counter() - t
    finally:
        os.close(fd)
        os.unlink(path)
    sender.join()
    return written, durable


class Server:
    """A node and an NdmpServer on their own event loop thread."""

    def __init__(self, base: Path, capacity: str):
        base.mkdir(parents=True, exist_ok=True)
        self.node = Node(loads(CONFIG.format(capacity=capacity), base=base, source=base / "vtl.toml"))
        users = [User("ndmp", Role.BACKUP, PASSWORD)]
        self.server = NdmpServer("127.0.0.1", 0, NodeBackend(self.node), users,
                                 auth_policy=AuthPolicy(text=True, md5=True))
        self.loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        ready = threading.Event()

        async def main() -> None:
            self._stop = asyncio.Event()
            async with self.server:
                ready.set()
                await self._stop.wait()

        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(main(),), daemon=True)
        self.thread.start()
        if not ready.wait(30):
            raise SystemExit("the NDMP server did not start")

    def close(self) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self.thread.join(60)
        self.node.close()


def mover(server: Server, total: int, payload: memoryview) -> float:
    """One backup of ``total`` bytes through the mover; seconds from the connection to the
    mover's halt after its final flush."""
    lib = server.node.library()
    drive = next(e.address for e in lib.elements() if e.type.name == "DATA_TRANSFER")
    slot = next(e.address for e in lib.elements() if e.type.name == "STORAGE" and e.full)
    lib.load(slot, drive)
    c = Client(server.server.port)
    try:
        c.check(c.call(M.NDMP_TAPE_OPEN, tp.TapeOpenRequest(device="nrst0l", mode=TapeOpenMode.NDMP_TAPE_RDWR_MODE)))
        c.check(c.call(M.NDMP_MOVER_SET_RECORD_SIZE, mv.MoverSetRecordSizeRequest(len=RECORD)))
        c.check(c.call(M.NDMP_MOVER_SET_WINDOW, mv.MoverSetWindowRequest(offset=0, length=INFINITY)))
        reply = c.check(c.call(M.NDMP_MOVER_LISTEN, mv.MoverListenRequest(
            mode=MoverMode.NDMP_MOVER_MODE_READ, addr_type=AddrType.NDMP_ADDR_TCP)))
        a = reply.body.connect_addr.tcp_addr[0]
        t = time.perf_counter()
        sender = threading.Thread(target=send, args=((str(ipaddress.IPv4Address(a.ip_addr)), a.port), total,
                                                     payload))
        sender.start()
        halted = c.post(M.NDMP_NOTIFY_MOVER_HALTED)
        elapsed = time.perf_counter() - t
        sender.join()
        if halted.body.reason != MoverHaltReason.NDMP_MOVER_HALT_CONNECT_CLOSED:
            raise SystemExit(f"the mover halted with {halted.body.reason!r}")
        state = c.check(c.call(M.NDMP_MOVER_GET_STATE)).body
        if state.bytes_moved != total:
            raise SystemExit(f"the mover moved {state.bytes_moved} bytes, not {total}")
        c.check(c.call(M.NDMP_MOVER_STOP))
        c.check(c.call(M.NDMP_TAPE_CLOSE))
    finally:
        c.sock.close()
    lib.unload(drive)
    return elapsed


def profiled(server: Server, total: int, payload: memoryview) -> str:
    """cProfile of the mover's two threads (socket reader, tape writer) during one backup."""
    profiles: list[tuple[str, cProfile.Profile]] = []
    originals = {name: getattr(DataPump, name) for name in ("_backup", "_read_ahead")}

    def wrap(name: str, fn):
        def run(*a, **kw):
            prof = cProfile.Profile()
            profiles.append((name, prof))
            return prof.runcall(fn, *a, **kw)
        return run

    for name, fn in originals.items():
        setattr(DataPump, name, wrap(name, fn))
    try:
        mover(server, total, payload)
    finally:
        for name, fn in originals.items():
            setattr(DataPump, name, fn)
    out = io.StringIO()
    for name, prof in profiles:
        out.write(f"---- thread running DataPump.{name}\n")
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(12)
    return out.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gib", type=float, default=2.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dir", default="/var/tmp" if os.path.isdir("/var/tmp") else tempfile.gettempdir())
    ap.add_argument("--profile", action="store_true", help="profile one extra mover round (slow)")
    args = ap.parse_args()
    total = int(args.gib * 1024**3) // RECORD * RECORD
    mb = total / 1e6
    payload = memoryview(os.urandom(SEND_CHUNK))
    base = Path(tempfile.mkdtemp(prefix="bench-mover-", dir=args.dir))
    capacity = f"{int(args.gib) + 2}GiB"
    print(f"{total // RECORD} records of 256 KiB = {mb:.0f} MB over loopback TCP, files in {base}")
    server = Server(base, capacity)
    try:
        pw, pd, mo = [], [], []
        for n in range(args.rounds):
            os.sync()
            written, durable = plain(str(base), total, payload)
            pw.append(mb / written)
            pd.append(mb / durable)
            os.sync()
            mo.append(mb / mover(server, total, payload))
            print(f"round {n + 1}: plain {pw[-1]:6.0f} MB/s to the last write, {pd[-1]:6.0f} MB/s durable | "
                  f"mover {mo[-1]:6.0f} MB/s (to NOTIFY_MOVER_HALTED)")
        print(f"best plain (recv_into + os.write + fsync) {max(pd):7.0f} MB/s   (before the fsync {max(pw):.0f})")
        print(f"best mover (socket -> tape, flushed)      {max(mo):7.0f} MB/s")
        print(f"mover / plain: {max(mo) / max(pd):.2f} x   (against the plain copy before its fsync: "
              f"{max(mo) / max(pw):.2f} x)")
        if args.profile:
            os.sync()
            print(profiled(server, total, payload))
    finally:
        server.close()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
