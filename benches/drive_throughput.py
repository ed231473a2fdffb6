"""Write then read N GiB in 256 KiB variable records through the tape drive
model, uncompressed and compressed, against dd on the same filesystem.

    python benches/drive_throughput.py [--gib 2] [--dir /var/tmp]

Run by hand; figures go in the notes, never into a test assertion.
"""
from __future__ import annotations

import argparse
import mmap
import os
import random
import resource
import shutil
import subprocess
import tempfile
import time

from images.cartridge import Cartridge
from memory_state import prime
from scsi import LOCAL, Status
from scsi.ssc import DrivePersonality, TapeDrive

RECORD = 256 * 1024
MARGIN = 256 << 20     # primed beyond a phase's own bytes (the cartridge's index, dd's buffers)


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def text_like(size: int) -> bytes:
    rng = random.Random(1)
    words = [bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 10)))
             for _ in range(5000)]
    out = bytearray()
    while len(out) < size:
        out += b" ".join(rng.choice(words) for _ in range(1000)) + b"\n"
    return bytes(out[:size])


def aligned(data: bytes) -> memoryview:
    m = mmap.mmap(-1, len(data))
    m[:] = data
    return memoryview(m)


def evict(path: str) -> None:
    """Write the file back and drop it from the page cache: the next read comes from the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def dd(path: str, count: int, cold: bool = False) -> tuple[float, float]:
    prime(os.path.dirname(path), count * RECORD + MARGIN)
    t = time.perf_counter()
    subprocess.run(["dd", "if=/dev/zero", f"of={path}", "bs=256k", f"count={count}"], check=True,
                   stderr=subprocess.DEVNULL)
    w = time.perf_counter() - t
    if cold:
        evict(path)
        prime(os.path.dirname(path), count * RECORD + MARGIN)
    t = time.perf_counter()
    subprocess.run(["dd", f"if={path}", "of=/dev/null", "bs=256k"], check=True, stderr=subprocess.DEVNULL)
    r = time.perf_counter() - t
    os.unlink(path)
    return w, r


def through_drive(directory: str, count: int, payloads: list[bytes], compress: bool,
                  cold: bool = False) -> dict:
    cart_dir = os.path.join(directory, "bench-cart")
    shutil.rmtree(cart_dir, ignore_errors=True)
    drive = TapeDrive(DrivePersonality.bundled("IBM_LTO9"), "BENCH", power_on_ua=False)
    drive.insert(Cartridge.create(cart_dir, "LTO9"))
    drive.unit_attentions.clear()
    drive.compression = compress
    # Page-aligned buffers, as the TCMU data area is: the kernel copies
    # unaligned buffers markedly slower, which would measure the wrong thing.
    views = [aligned(p) for p in payloads]
    write6 = bytes([0x0A, 0]) + RECORD.to_bytes(3, "big") + b"\0"
    rss = []
    prime(directory, count * RECORD + MARGIN)
    t = time.perf_counter()
    for i in range(count):
        r = drive.execute(LOCAL, write6, views[i % len(views)])
        if r.status != Status.GOOD:
            raise SystemExit(f"write {i}: {r.decoded_sense()}")
        if i % (count // 8 or 1) == 0:
            rss.append(rss_mib())
    drive.execute(LOCAL, bytes([0x10, 1, 0, 0, 1, 0]))   # WRITE FILEMARKS, IMMED: no fsync
    w = time.perf_counter() - t
    stored = drive.cartridge.active.end
    read6 = bytes([0x08, 0]) + RECORD.to_bytes(3, "big") + b"\0"
    times, read_rss = [], []
    # First as an in-process initiator reads (no buffer: the drive answers with a view
    # of the block in the page cache), then into a transport's buffer, as TCMU reads.
    for buf in (None, memoryview(mmap.mmap(-1, RECORD))):
        drive.execute(LOCAL, bytes([0x01, 0, 0, 0, 0, 0]))   # REWIND
        if cold:
            for part_file in (drive.cartridge.active.rec_path, drive.cartridge.active.dat_path):
                evict(part_file)
            prime(directory, count * RECORD + MARGIN)
        t = time.perf_counter()
        for i in range(count):
            r = drive.execute(LOCAL, read6, None, buf)
            if r.status != Status.GOOD:
                raise SystemExit(f"read {i}: {r.decoded_sense()}")
            if i % (count // 8 or 1) == 0:
                read_rss.append(rss_mib())
        times.append(time.perf_counter() - t)
        del r
    drive.eject().close()
    shutil.rmtree(cart_dir)
    return {"write_s": w, "read_s": times[0], "read_buffer_s": times[1], "stored": stored, "rss": rss,
            "read_rss": read_rss}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gib", type=float, default=2.0)
    ap.add_argument("--dir", default=tempfile.gettempdir())
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cold", action="store_true",
                    help="read from the disk: drop the files from the page cache before each read phase")
    args = ap.parse_args()
    total = int(args.gib * 1024**3)
    count = total // RECORD
    mb = count * RECORD / 1e6
    print(f"{count} records of 256 KiB = {mb:.0f} MB, in {args.dir}"
          f"{', reads from disk (page cache dropped)' if args.cold else ', reads from the page cache'}")

    # Page-cache writes run at memory speed until writeback catches up, so a
    # run that starts with gigabytes still being flushed is slower whoever it
    # is.  Every measurement starts after a sync and with memory primed (see
    # memory_state.py), dd and the drive alternate for ``--rounds`` rounds, and
    # each side is judged by its best round.
    rnd = [os.urandom(RECORD) for _ in range(16)]
    text = text_like(RECORD * 16)
    texts = [text[i * RECORD:(i + 1) * RECORD] for i in range(16)]
    dd_w, dd_r, pw, pr, pb, zw, zr, stored, rss, read_rss = [], [], [], [], [], [], [], 0, [], []
    for n in range(args.rounds):
        os.sync()
        w, r = dd(os.path.join(args.dir, "bench-dd"), count, args.cold)
        dd_w.append(mb / w)
        dd_r.append(mb / r)
        os.sync()
        res = through_drive(args.dir, count, rnd, compress=False, cold=args.cold)
        pw.append(mb / res["write_s"])
        pr.append(mb / res["read_s"])
        pb.append(mb / res["read_buffer_s"])
        rss += res["rss"]
        read_rss += res["read_rss"]
        os.sync()
        res = through_drive(args.dir, count, texts, compress=True, cold=args.cold)
        zw.append(mb / res["write_s"])
        zr.append(mb / res["read_s"])
        stored = res["stored"]
        rss += res["rss"]
        print(f"round {n + 1}: dd write {dd_w[-1]:6.0f} read {dd_r[-1]:6.0f} | drive plain write {pw[-1]:6.0f} "
              f"read {pr[-1]:6.0f} (into a buffer {pb[-1]:6.0f}) | lz4 text write {zw[-1]:5.0f} "
              f"read {zr[-1]:5.0f} MB/s")
    print(f"best dd bs=256k   write {max(dd_w):8.0f} MB/s   read {max(dd_r):8.0f} MB/s")
    print(f"best drive plain  write {max(pw):8.0f} MB/s   read {max(pr):8.0f} MB/s"
          f"   ({max(pw) / max(dd_w):.2f} x dd write, {max(pr) / max(dd_r):.2f} x dd read)")
    print(f"drive plain read into a transport buffer {max(pb):8.0f} MB/s ({max(pb) / max(dd_r):.2f} x dd read)")
    print(f"best drive lz4    write {max(zw):8.0f} MB/s   read {max(zr):8.0f} MB/s"
          f"   (text-like data, stored {stored / (count * RECORD):.2f} of host bytes)")
    print(f"RSS while writing (MiB): min {min(rss):.0f}, max {max(rss):.0f}; "
          f"while reading: min {min(read_rss):.0f}, max {max(read_rss):.0f}")
    print(f"max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
