"""Kill -9 a writer at random points (>= 50 trials): every cartridge opens,
every record passes its CRC, and every record acknowledged before the last sync
point the writer reported is there, byte for byte."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from images.cartridge import Cartridge, Kind
from support.crash_writer import record

TRIALS = 50
ROOT = Path(__file__).resolve().parents[3]   # the repository


def verify(path: str, seed_of_record) -> int:
    """Read the whole cartridge back; return the number of objects; assert contents."""
    with Cartridge.open(path) as cart:
        part = cart.active
        buf = memoryview(bytearray(1 << 20))
        n = 0
        while True:
            r = part.read(buf)               # raises MediumError on any CRC failure
            if r.kind is None:
                return n
            if r.kind == Kind.DATA:
                assert bytes(buf[: r.copied]) == record(seed_of_record(n), n), f"record {n} differs"
            n += 1


@pytest.mark.parametrize("batch", range(5))
def test_kill_during_writes(tmp_path, batch):
    rng = random.Random(batch)
    path = str(tmp_path / "C00001L8")
    Cartridge.create(path, capacity=4 << 30).close()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "tests")]))
    # Every run appends to the same cartridge with its own seed, so what an
    # earlier run wrote must survive every later kill too.
    seeds: list[tuple[int, int]] = []   # (first record number, seed)
    synced = 0
    for trial in range(TRIALS // 5):
        seed = batch * 100 + trial
        proc = subprocess.Popen([sys.executable, "-m", "support.crash_writer", path, str(seed)],
                                stdout=subprocess.PIPE, text=True, env=env, cwd=str(ROOT))
        seeds.append((synced, seed))
        deadline = time.monotonic() + rng.uniform(0.5, 1.5)
        last = synced
        os.set_blocking(proc.stdout.fileno(), False)
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if line.startswith("SYNC"):
                last = int(line.split()[1])
            elif line.startswith("ERROR"):
                pytest.fail(line)
            else:
                time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL, "the writer died before it was killed"
        for line in proc.stdout.read().splitlines():
            if line.startswith("SYNC"):
                last = int(line.split()[1])

        def seed_of(n: int) -> int:
            return max(s for first, s in seeds if first <= n)

        objects = verify(path, seed_of)
        assert objects >= last, f"trial {trial}: {last} objects were synced, only {objects} survived"
        synced = objects   # the next writer starts at EOD, so its records begin here
    assert synced > 0, "no writer ever reached a sync point"
