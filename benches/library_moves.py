"""Library throughput: READ ELEMENT STATUS of a 10,000-slot persistent library,
and moves per second through SCSI (MOVE MEDIUM on the changer) and through
the control API (a running `vtl serve`, as `vtl move` reaches it).

Every move is a durable SQLite transaction (WAL, synchronous=FULL), so the
move rate is bounded by fsync on the state store's filesystem; run it on the
filesystem you will use (``--dir``).

    python benches/library_moves.py [--dir /var/tmp] [--moves 500]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parents[1] / "tests")]

from scsi import Nexus, Status  # noqa: E402
from support.daemon import Daemon, small_config  # noqa: E402
from vtl.config import loads  # noqa: E402
from vtl.node import Node  # noqa: E402

BIG = """\
[node]
name = "bench"
state = "state.sqlite"
socket = "vtl.sock"

[[library]]
name = "big"
slots = 10000
mailslots = 16

[library.changer]
serial = "BENCHCHG"
{drives}
[[library.cartridge]]
barcodes = "B00000L8-B08999L8"
capacity = "16MiB"
"""

HOST = Nexus("iqn.bench")


def res_cdb(alloc: int = 0xFFFFFF) -> bytes:
    """READ ELEMENT STATUS, all types, VOLTAG=1, DVCID=1, from element 0, 65535 elements."""
    return bytes([0xB8, 0x10, 0, 0, 0xFF, 0xFF, 0x01]) + alloc.to_bytes(3, "big") + bytes([0, 0])


def move_cdb(src: int, dst: int) -> bytes:
    return bytes([0xA5, 0, 0, 0]) + src.to_bytes(2, "big") + dst.to_bytes(2, "big") + bytes(4)


def settle(dev, nexus) -> None:
    for _ in range(8):
        if dev.execute(nexus, bytes(6)).status == Status.GOOD:
            return


def bench_res(base: Path, runs: int) -> None:
    drives = "".join(f'\n[[library.drive]]\npersonality = "IBM_LTO8"\nserial = "BENCHD{i:02d}"\n' for i in range(64))
    t0 = time.perf_counter()
    node = Node(loads(BIG.format(drives=drives), base=base, source=base / "vtl.toml"))
    print(f"10,000-slot library with 9,000 cartridges, 64 drives: first start {time.perf_counter() - t0:.1f} s")
    node.close()
    t0 = time.perf_counter()
    node = Node(loads(BIG.format(drives=drives), base=base, source=base / "vtl.toml"))
    print(f"restart: {time.perf_counter() - t0:.2f} s")
    mc = node.find_device("mc0")
    settle(mc, HOST)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        r = mc.execute(HOST, res_cdb())
        times.append(time.perf_counter() - t)
        assert r.status == Status.GOOD
    print(f"READ ELEMENT STATUS (VOLTAG, DVCID, all {len(node.library().elements())} elements, "
          f"{len(r.data)} bytes): best {min(times) * 1e3:.1f} ms, median {statistics.median(times) * 1e3:.1f} ms")
    node.close()


def bench_scsi_moves(base: Path, moves: int) -> None:
    node = Node(loads(small_config(slots=40, cartridges=20), base=base, source=base / "vtl.toml"))
    lib = node.library()
    mc = node.find_device("mc0")
    settle(mc, HOST)
    slots = [e.address for e in lib.elements() if e.type.name == "STORAGE"]
    t = time.perf_counter()
    for i in range(moves):
        src, dst = (slots[0], slots[39]) if i % 2 == 0 else (slots[39], slots[0])
        assert mc.execute(HOST, move_cdb(src, dst)).status == Status.GOOD
    dt = time.perf_counter() - t
    print(f"MOVE MEDIUM slot->slot through the changer: {moves / dt:.0f} moves/s")
    drive = [e.address for e in lib.elements() if e.type.name == "DATA_TRANSFER"][0]
    t = time.perf_counter()
    n = moves // 4
    for _ in range(n):
        assert mc.execute(HOST, move_cdb(slots[1], drive)).status == Status.GOOD
        dev = node.find_device("st0")
        settle(dev, HOST)
        assert dev.execute(HOST, bytes([0x1B, 0, 0, 0, 0, 0])).status == Status.GOOD   # UNLOAD
        assert mc.execute(HOST, move_cdb(drive, slots[1])).status == Status.GOOD
    dt = time.perf_counter() - t
    print(f"load cycle (MOVE to drive, UNLOAD, MOVE back) through SCSI: {n / dt:.0f} cycles/s")
    node.close()


def bench_api_moves(base: Path, moves: int) -> None:
    d = Daemon(base, small_config(slots=40, cartridges=20))
    with d:
        inv = d.call("inventory")
        slots = [e["address"] for e in inv if e["type"] == "storage"]
        with d.client() as c:
            t = time.perf_counter()
            for i in range(moves):
                src, dst = (slots[0], slots[39]) if i % 2 == 0 else (slots[39], slots[0])
                c.call("move", source=str(src), destination=str(dst))
            dt = time.perf_counter() - t
        print(f"move through the control API (one connection): {moves / dt:.0f} moves/s")
        t = time.perf_counter()
        n = 20
        for i in range(n):
            src, dst = (slots[0], slots[39]) if i % 2 == 0 else (slots[39], slots[0])
            d.vtl("move", str(src), str(dst))
        dt = time.perf_counter() - t
        print(f"`vtl move` command (a new process each): {n / dt:.1f} moves/s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default=None)
    ap.add_argument("--moves", type=int, default=500)
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        base = Path(tmp)
        bench_res(base / "res", args.runs)
        bench_scsi_moves(base / "scsi", args.moves)
        bench_api_moves(base / "api", args.moves)


if __name__ == "__main__":
    main()
