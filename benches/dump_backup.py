"""A level-0 dump backup through NDMP against GNU tar of the same tree.

    python benches/dump_backup.py [--tree large|small|both] [--gib 2] [--files 100000]
                                  [--rounds 3] [--dir /var/tmp] [--btrfs] [--hist]

(a) ``large``: --gib GiB in 64 MiB files; (b) ``small``: --files files of 1-8 KiB in
    directories of 1,000.
dump: a real NdmpServer over a real node (one LTO-8 drive, a cartridge in --dir):
    TAPE_OPEN, MOVER_SET_RECORD_SIZE 256 KiB, MOVER_LISTEN(READ, LOCAL), DATA_CONNECT,
    DATA_START_BACKUP (FILESYSTEM, HIST); timed from START_BACKUP to the
    NOTIFY_MOVER_HALTED that follows the mover's flush of the tape (a sync point).  The
    snapshot the dump engine makes is inside the time.
tar: ``tar cf OUT -C TREE .`` into --dir, timed with and without an fsync of OUT.

``--btrfs`` puts the tree on a btrfs filesystem on a loop device made in --dir (root
only), where the snapshot is a btrfs subvolume snapshot; without it the tree is on
--dir's own filesystem and the snapshot is whatever that allows (a copy on ext4).
The two alternate for --rounds rounds, after a ``sync`` and a drop of the page cache
where permitted; each side is judged by its best round.

Run by hand; figures go in benches/README.md, never into a test assertion.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

import ndmp_mover as bench

from ndmp.constants import AddrType, MoverMode, TapeOpenMode
from ndmp.constants import MessageCode as M
from ndmp.messages import data as da
from ndmp.messages import mover as mv
from ndmp.messages import tape as tp
from ndmp.messages.common import Pval

RECORD = 256 * 1024
INFINITY = (1 << 64) - 1


def make_large(root: Path, gib: int) -> tuple[int, int]:
    root.mkdir(parents=True)
    chunk = os.urandom(1 << 20)
    n = gib * 16
    for i in range(n):
        with open(root / f"big{i:04d}", "wb") as f:
            f.writelines(chunk for _ in range(64))
    return n, n << 26


def make_small(root: Path, files: int) -> tuple[int, int]:
    root.mkdir(parents=True)
    blob = os.urandom(8192)
    total = 0
    for i in range(files):
        d = root / f"d{i // 1000:04d}"
        if i % 1000 == 0:
            d.mkdir()
        size = 1024 + (i * 7919) % 7168
        (d / f"f{i:06d}").write_bytes(blob[:size])
        total += size
    return files, total


def settle() -> None:
    os.sync()
    with contextlib.suppress(OSError):
        Path("/proc/sys/vm/drop_caches").write_text("3\n")


def tar(tree: Path, out: Path) -> tuple[float, float]:
    t = time.perf_counter()
    subprocess.run(["tar", "cf", str(out), "-C", str(tree), "."], check=True)
    plain = time.perf_counter() - t
    fd = os.open(out, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    durable = time.perf_counter() - t
    out.unlink()
    return plain, durable


def dump(server: bench.Server, path: str, hist: bool) -> tuple[float, int, str]:
    lib = server.node.library()
    drive = next(e.address for e in lib.elements() if e.type.name == "DATA_TRANSFER")
    slot = next(e.address for e in lib.elements() if e.type.name == "STORAGE" and e.full)
    lib.load(slot, drive)
    c = bench.Client(server.server.port)
    try:
        c.check(c.call(M.NDMP_TAPE_OPEN, tp.TapeOpenRequest(device="nrst0l", mode=TapeOpenMode.NDMP_TAPE_RDWR_MODE)))
        c.check(c.call(M.NDMP_MOVER_SET_RECORD_SIZE, mv.MoverSetRecordSizeRequest(len=RECORD)))
        c.check(c.call(M.NDMP_MOVER_SET_WINDOW, mv.MoverSetWindowRequest(offset=0, length=INFINITY)))
        addr = c.check(c.call(M.NDMP_MOVER_LISTEN, mv.MoverListenRequest(
            mode=MoverMode.NDMP_MOVER_MODE_READ, addr_type=AddrType.NDMP_ADDR_LOCAL))).body.connect_addr
        c.check(c.call(M.NDMP_DATA_CONNECT, da.DataConnectRequest(addr=addr)))
        env = [Pval(name="FILESYSTEM", value=path), Pval(name="HIST", value="Y" if hist else "N"),
               Pval(name="UPDATE", value="N")]
        t = time.perf_counter()
        c.check(c.call(M.NDMP_DATA_START_BACKUP, da.DataStartBackupRequest(butype_name="dump", env=env)))
        halted = c.post(M.NDMP_NOTIFY_DATA_HALTED)
        c.post(M.NDMP_NOTIFY_MOVER_HALTED)
        elapsed = time.perf_counter() - t
        if halted.body.reason != 1:
            raise SystemExit(f"the backup halted with {halted.body.reason!r}: "
                             f"{[p.body for p in c.posts if p.code == M.NDMP_LOG_MESSAGE]}")
        moved = c.check(c.call(M.NDMP_MOVER_GET_STATE)).body.bytes_moved
        method = next((p.body.entry.rsplit("(", 1)[-1].rstrip(")") for p in c.posts
                       if p.code == M.NDMP_LOG_MESSAGE and "using snapshot" in p.body.entry), "?")
        c.check(c.call(M.NDMP_DATA_STOP))
        c.check(c.call(M.NDMP_MOVER_STOP))
        c.check(c.call(M.NDMP_TAPE_CLOSE))
    finally:
        c.sock.close()
    lib.unload(drive)
    return elapsed, moved, method


@contextlib.contextmanager
def btrfs(base: Path, gib: int):
    image = base / "btrfs.img"
    with open(image, "wb") as f:
        f.truncate((gib * 3 + 2) << 30)
    subprocess.run(["mkfs.btrfs", "-q", str(image)], check=True)
    mnt = base / "mnt"
    mnt.mkdir()
    subprocess.run(["mount", "-o", "loop", str(image), str(mnt)], check=True)
    try:
        subprocess.run(["btrfs", "subvolume", "create", str(mnt / "vol")], check=True, capture_output=True)
        yield mnt / "vol"
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def run(kind: str, args: argparse.Namespace, base: Path) -> None:
    with contextlib.ExitStack() as stack:
        vol = stack.enter_context(btrfs(base, args.gib)) if args.btrfs else base / "vol"
        vol.mkdir(exist_ok=True)
        tree = vol / "tree"
        n, size = make_large(tree, args.gib) if kind == "large" else make_small(tree, args.files)
        bench.CONFIG = bench.CONFIG.split("\n[[volume]]")[0] + \
            f'\n[[volume]]\nname = "/bench/vol"\npath = "{vol}"\n'
        server = bench.Server(base / "node", f"{max(4, args.gib * 2 + 2)}GiB")
        stack.callback(server.close)
        best_dump = best_tar = best_tar_durable = float("inf")
        for r in range(args.rounds):
            settle()
            d, moved, method = dump(server, "/bench/vol/tree", args.hist)
            settle()
            p, durable = tar(tree, base / "out.tar")
            best_dump, best_tar, best_tar_durable = min(best_dump, d), min(best_tar, p), min(best_tar_durable, durable)
            print(f"  round {r + 1}: dump {d:.2f} s ({moved / d / 1e6:,.0f} MB/s of stream), "
                  f"tar {p:.2f} s ({durable:.2f} s with fsync)", flush=True)
        unit, dump_rate, tar_rate = (("MB/s", size / best_dump / 1e6, size / best_tar / 1e6) if kind == "large"
                                     else ("files/s", n / best_dump, n / best_tar))
        print(f"{kind}: {n:,} files, {size / 2**20:,.0f} MiB, snapshot by {method}, HIST={'Y' if args.hist else 'N'}")
        print(f"  dump {best_dump:.2f} s = {dump_rate:,.0f} {unit};  tar {best_tar:.2f} s = {tar_rate:,.0f} {unit} "
              f"({size / best_tar_durable / 1e6 if kind == 'large' else n / best_tar_durable:,.0f} with fsync)")
        print(f"  dump / tar = {dump_rate / tar_rate:.2f}  (vs tar with fsync: {best_tar_durable / best_dump:.2f})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tree", choices=("large", "small", "both"), default="both")
    ap.add_argument("--gib", type=int, default=2)
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dir", default="/var/tmp")
    ap.add_argument("--btrfs", action="store_true")
    ap.add_argument("--hist", action="store_true")
    args = ap.parse_args()
    for kind in (("large", "small") if args.tree == "both" else (args.tree,)):
        base = Path(tempfile.mkdtemp(prefix="vtl-dump-bench-", dir=args.dir))
        try:
            run(kind, args, base)
        finally:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
