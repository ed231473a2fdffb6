"""What the kernel's copy into the TCMU data area costs when the daemon runs on another CPU.

    python benches/cross_core_copy.py [--rounds 3] [--count 3000]

Two processes share a 256 KiB buffer, as the kernel and the daemon share the data
area: the producer (CPU 0) copies a 256 KiB block into it, the consumer (CPU 1)
copies it out (as ``pwritev`` from the data area does), and they hand over by
spinning on a shared counter, so no sleep or wake-up is measured.  The baseline
is the same copy with nobody reading the buffer on the other CPU.

Run by hand; figures go in benches/README.md.
"""
from __future__ import annotations

import argparse
import mmap
import os
import time

RECORD = 256 * 1024


def alone(sources: list[bytes], count: int) -> float:
    os.sched_setaffinity(0, {0})
    dst = memoryview(mmap.mmap(-1, RECORD))
    t = time.perf_counter()
    for i in range(count):
        dst[:] = sources[i % len(sources)]
    return (time.perf_counter() - t) / count * 1e6


def ping_pong(sources: list[bytes], count: int) -> tuple[float, float]:
    """(producer's copy, whole hand-over round) in microseconds."""
    shared = mmap.mmap(-1, RECORD + 4096)
    view = memoryview(shared)
    data, turn = view[:RECORD], view[RECORD:RECORD + 8].cast("Q")
    pid = os.fork()
    if pid == 0:                                   # the consumer: the daemon's side
        try:
            os.sched_setaffinity(0, {1})
            local = bytearray(RECORD)
            for _ in range(count):
                while turn[0] % 2 == 0:
                    pass
                local[:] = data
                turn[0] += 1
        finally:
            os._exit(0)
    os.sched_setaffinity(0, {0})
    copy = 0.0
    t = time.perf_counter()
    for i in range(count):
        t0 = time.perf_counter()
        data[:] = sources[i % len(sources)]
        copy += time.perf_counter() - t0
        turn[0] += 1
        while turn[0] % 2 == 1:
            pass
    total = time.perf_counter() - t
    os.waitpid(pid, 0)
    return copy / count * 1e6, total / count * 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--count", type=int, default=3000)
    args = ap.parse_args()
    if len(os.sched_getaffinity(0)) < 2 or not {0, 1} <= os.sched_getaffinity(0):
        raise SystemExit("needs CPUs 0 and 1")
    sources = [os.urandom(RECORD) for _ in range(16)]
    print("microseconds per 256 KiB block")
    for n in range(args.rounds):
        base = alone(sources, args.count)
        copy, total = ping_pong(sources, args.count)
        print(f"round {n + 1}: copy alone {base:5.1f} | copy into a buffer CPU 1 just read {copy:5.1f}, "
              f"whole round (both copies) {total:5.1f}")


if __name__ == "__main__":
    main()
