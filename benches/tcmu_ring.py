"""256 KiB WRITE(6) commands through the TCMU ring into a tape drive, against the same
drive called in-process.

    python benches/tcmu_ring.py [--gib 2] [--dir /var/tmp] [--rounds 3] [--depth 4] [--same-cpu] [--profile]

A producer process plays the kernel (benches/tcmu_producer.c, or with ``--producer
python`` tests/support/tcmu_kernel.py): the map is laid out as target_core_user lays it
out (mailbox v2, 8 MiB ring, 1 GiB data area, in /dev/shm), each command's payload is
copied into the data area as the kernel copies it from the initiator's pages, and the
doorbell is a socketpair.  ``--depth`` is how many commands the producer keeps queued:
the default 4 measures the ring's throughput (the kernel queues while the device works);
``--depth 1`` is one st driver waiting for each command, where the figure is per-command
latency (see benches/README.md).  The consumer is ``vtl.tcmu.TcmuServer``
driving an IBM LTO-9 drive with a cartridge in ``--dir``.  The in-process path is
``drive.execute(nexus, cdb, data_out)`` in a loop over page-aligned buffers.  The
two alternate, each after a ``sync``, and each is judged by its best round.
``--same-cpu`` pins both sides to CPU 0 (at depth 1 they alternate anyway; this
takes the VM's idle-vCPU wake-up out of the hand-off); ``--profile`` runs the
server's worker under cProfile instead.

Run by hand; figures go in benches/README.md, never into a test assertion.
"""
from __future__ import annotations

import argparse
import cProfile
import mmap
import multiprocessing
import os
import pstats
import select
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from images.cartridge import Cartridge  # noqa: E402
from scsi import LOCAL, Status  # noqa: E402
from scsi.ssc import DrivePersonality, TapeDrive  # noqa: E402
from support.tcmu_kernel import (  # noqa: E402
    KICK, Cmd, FakeKernel, Full, SocketDoorbell, init_mailbox, shm_dir,
)
from vtl.tcmu.layout import CMDR_OFF, CMDR_SIZE, DATA_AREA_SIZE  # noqa: E402
from vtl.tcmu.server import TcmuServer  # noqa: E402

RECORD = 256 * 1024


def write6(n: int) -> bytes:
    return bytes([0x0A, 0]) + n.to_bytes(3, "big") + b"\0"


def new_drive(directory: str) -> TapeDrive:
    cart_dir = os.path.join(directory, "bench-tcmu-cart")
    shutil.rmtree(cart_dir, ignore_errors=True)
    drive = TapeDrive(DrivePersonality.bundled("IBM_LTO9"), "BENCH", power_on_ua=False)
    drive.insert(Cartridge.create(cart_dir, "LTO9"))
    drive.unit_attentions.clear()
    drive.compression = False
    return drive


def done_with(drive: TapeDrive, directory: str) -> None:
    drive.execute(LOCAL, bytes([0x10, 1, 0, 0, 1, 0]))           # WRITE FILEMARKS, IMMED (untimed)
    drive.execute(LOCAL, bytes([0x01, 0, 0, 0, 0, 0]))           # REWIND: a sync point
    drive.eject().close()
    shutil.rmtree(os.path.join(directory, "bench-tcmu-cart"))


# -- the kernel's side, in its own process ------------------------------------------

def producer(path: str, size: int, sock: socket.socket, conn, record: int, cpus: set[int] | None) -> None:
    """Queue WRITE(6)s keeping ``depth`` in flight; report the seconds from the first
    queued to the last reaped, and how many completions were not GOOD."""
    if cpus:
        os.sched_setaffinity(0, cpus)
    fd = os.open(path, os.O_RDWR)
    m = mmap.mmap(fd, size, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    os.close(fd)
    k = FakeKernel(m)
    payloads = [Cmd(write6(record), data_out=os.urandom(record)) for _ in range(16)]
    sock.setblocking(True)
    while True:
        msg = conn.recv()
        if msg is None:
            return
        count, depth = msg
        bad = done = queued = inflight = 0
        t = time.perf_counter()
        while done < count:
            while queued < count and inflight < depth:
                try:
                    k.submit(payloads[queued % 16])
                except Full:
                    break
                queued += 1
                inflight += 1
                sock.send(KICK)
            got = k.reap()
            while not got:
                sock.recv(65536)
                got = k.reap()
            for c in got:
                if c.status != 0:
                    bad += 1
            done += len(got)
            inflight -= len(got)
        conn.send((time.perf_counter() - t, bad))


class KernelSide:
    """The producer process and the map it shares with us."""

    def __init__(self, record: int, cpus: set[int] | None = None):
        self.size = CMDR_OFF + CMDR_SIZE + DATA_AREA_SIZE
        fd, self.path = tempfile.mkstemp(prefix="tcmu-bench-", dir=shm_dir())
        os.ftruncate(fd, self.size)                                # sparse, as the kernel's pages
        self.map = mmap.mmap(fd, self.size, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ | mmap.PROT_WRITE)
        os.close(fd)
        init_mailbox(self.map)
        ours, theirs = socket.socketpair()
        self.doorbell = SocketDoorbell(ours)
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=producer, args=(self.path, self.size, theirs, child, record, cpus),
                                daemon=True)
        self.proc.start()
        theirs.close()

    def run(self, count: int, depth: int, handle) -> tuple[float, int]:
        self.conn.send((count, depth))
        while not self.conn.poll(1.0):
            if not handle.alive:                # the server gave up: say so instead of hanging
                raise SystemExit(f"TCMU path: the worker ended ({handle.state}); see the log above")
        return self.conn.recv()

    def close(self) -> None:
        self.conn.send(None)
        self.proc.join()
        try:
            self.map.close()
        except BufferError:
            pass
        os.unlink(self.path)


class CKernelSide(KernelSide):
    """The same, with the producer in C (benches/tcmu_producer.c): the kernel's per-command
    work at the kernel's speed, so the interpreter time of the Python stand-in is not
    charged to the ring handling under test."""

    def __init__(self, record: int, cpus: set[int] | None = None):
        self.size = CMDR_OFF + CMDR_SIZE + DATA_AREA_SIZE
        fd, self.path = tempfile.mkstemp(prefix="tcmu-bench-", dir=shm_dir())
        os.ftruncate(fd, self.size)
        self.map = mmap.mmap(fd, self.size, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ | mmap.PROT_WRITE)
        os.close(fd)
        init_mailbox(self.map)
        ours, theirs = socket.socketpair()
        self.doorbell = SocketDoorbell(ours)
        binary = build_producer()
        pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
        self.proc = subprocess.Popen([binary, self.path, str(self.size), str(theirs.fileno()), str(record)],
                                     pass_fds=[theirs.fileno()], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, preexec_fn=pin)
        theirs.close()

    def run(self, count: int, depth: int, handle) -> tuple[float, int]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"{count} {depth}\n")
        self.proc.stdin.flush()
        while not select.select([self.proc.stdout], [], [], 1.0)[0]:
            if not handle.alive:
                raise SystemExit(f"TCMU path: the worker ended ({handle.state}); see the log above")
            if self.proc.poll() is not None:
                raise SystemExit(f"TCMU path: the C producer ended ({self.proc.returncode})")
        seconds, bad = self.proc.stdout.readline().split()
        return float(seconds), int(bad)

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(30)
        try:
            self.map.close()
        except BufferError:
            pass
        os.unlink(self.path)


def build_producer() -> str:
    """Compile benches/tcmu_producer.c (once per run, into a temporary directory)."""
    source = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tcmu_producer.c")
    out = os.path.join(tempfile.mkdtemp(prefix="tcmu-producer-"), "tcmu_producer")
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise SystemExit("--producer c needs a C compiler (cc); use --producer python")
    subprocess.run([cc, "-O2", "-Wall", "-o", out, source], check=True)
    return out


# -- the two paths ---------------------------------------------------------------

def in_process(directory: str, count: int, record: int) -> float:
    drive = new_drive(directory)
    views = []
    for _ in range(16):
        m = mmap.mmap(-1, record)
        m[:] = os.urandom(record)
        views.append(memoryview(m))
    cdb = write6(record)
    t = time.perf_counter()
    for i in range(count):
        r = drive.execute(LOCAL, cdb, views[i % 16])
        if r.status != Status.GOOD:
            raise SystemExit(f"in-process write {i}: {r.decoded_sense()}")
    s = time.perf_counter() - t
    done_with(drive, directory)
    return s


def through_tcmu(directory: str, kernel: KernelSide, count: int, depth: int) -> float:
    drive = new_drive(directory)
    server = TcmuServer()
    handle = server.attach("bench", kernel.map, kernel.doorbell, drive, LOCAL)
    s, bad = kernel.run(count, depth, handle)
    server.stop()
    if bad or handle.counters.commands != count:
        raise SystemExit(f"TCMU path: {bad} commands not GOOD, {handle.counters.snapshot()}")
    if handle.counters.gathered:
        print(f"  ({handle.counters.gathered} commands had split iovecs)")
    done_with(drive, directory)
    return s


def profile_tcmu(directory: str, kernel: KernelSide, count: int, depth: int) -> None:
    """One TCMU run with the consumer's worker thread under cProfile."""
    from vtl.tcmu import server as server_module
    prof = cProfile.Profile()
    orig = server_module.DeviceHandle._loop

    def loop(self) -> None:
        prof.enable()
        try:
            orig(self)
        finally:
            prof.disable()
    server_module.DeviceHandle._loop = loop  # type: ignore[method-assign]
    try:
        s = through_tcmu(directory, kernel, count, depth)
    finally:
        server_module.DeviceHandle._loop = orig  # type: ignore[method-assign]
    print(f"profiled run: {count * RECORD / s / 1e6:.0f} MB/s")
    pstats.Stats(prof).sort_stats("tottime").print_stats(15)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gib", type=float, default=2.0)
    ap.add_argument("--dir", default="/var/tmp")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--depth", type=int, default=4,
                    help="commands queued in the ring (default 4: throughput; 1: one st driver's latency)")
    ap.add_argument("--profile", action="store_true", help="profile one TCMU run instead")
    ap.add_argument("--producer", choices=("c", "python"), default="c",
                    help="the kernel stand-in: C at the kernel's speed (default), or "
                         "tests/support/tcmu_kernel.py in Python")
    ap.add_argument("--same-cpu", action="store_true",
                    help="pin the kernel stand-in and the server to CPU 0 (see benches/README.md)")
    args = ap.parse_args()
    cpus = {0} if args.same_cpu else None
    if cpus:
        os.sched_setaffinity(0, cpus)
    count = int(args.gib * 1024**3) // RECORD
    mb = count * RECORD / 1e6
    print(f"{count} WRITE(6) of 256 KiB = {mb:.0f} MB per run, depth {args.depth}, cartridge in {args.dir}, "
          f"ring in {shm_dir()}, {args.producer} producer{', both sides on CPU 0' if cpus else ''}")
    kernel = (CKernelSide if args.producer == "c" else KernelSide)(RECORD, cpus)
    try:
        if args.profile:
            profile_tcmu(args.dir, kernel, count, args.depth)
            return
        ip, tc = [], []
        for n in range(args.rounds):
            os.sync()
            s = in_process(args.dir, count, RECORD)
            ip.append(mb / s)
            os.sync()
            s = through_tcmu(args.dir, kernel, count, args.depth)
            tc.append(mb / s)
            print(f"round {n + 1}: in-process {ip[-1]:6.0f} MB/s {count / (mb / ip[-1]):7.0f} cmd/s | "
                  f"TCMU {tc[-1]:6.0f} MB/s {count / (mb / tc[-1]):7.0f} cmd/s | ratio {tc[-1] / ip[-1]:.2f}")
        bi, bt = max(ip), max(tc)
        mi, mt = statistics.median(ip), statistics.median(tc)
        print(f"median in-process {mi:6.0f} MB/s, TCMU {mt:6.0f} MB/s, ratio of medians {mt / mi:.2f}")
        print(f"best in-process {bi:6.0f} MB/s ({bi * 1e6 / RECORD:.0f} cmd/s, {RECORD / bi:.0f} us/cmd)")
        print(f"best TCMU       {bt:6.0f} MB/s ({bt * 1e6 / RECORD:.0f} cmd/s, {RECORD / bt:.0f} us/cmd)")
        print(f"TCMU / in-process: {bt / bi:.2f}")
    finally:
        kernel.close()


if __name__ == "__main__":
    main()
