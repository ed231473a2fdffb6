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
from scsi import LOCAL, Status
from scsi.ssc import DrivePersonality, TapeDrive

RECORD = 256 * 1024


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


def dd(path: str, count: int) -> tuple[float, float]:
    t = time.perf_counter()
    subprocess.run(["dd", "if=/dev/zero", f"of={path}", "bs=256k", f"count={count}"], check=True,
                   stderr=subprocess.DEVNULL)
    w = time.perf_counter() - t
    t = time.perf_counter()
    subprocess.run(["dd", f"if={path}", "of=/dev/null", "bs=256k"], check=True, stderr=subprocess.DEVNULL)
    r = time.perf_counter() - t
    os.unlink(path)
    return w, r


def through_drive(directory: str, count: int, payloads: list[bytes], compress: bool) -> dict:
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
    drive.execute(LOCAL, bytes([0x01, 0, 0, 0, 0, 0]))   # REWIND (a sync point, not timed)
    buf = memoryview(mmap.mmap(-1, RECORD))
    read6 = bytes([0x08, 0]) + RECORD.to_bytes(3, "big") + b"\0"
    t = time.perf_counter()
    for i in range(count):
        r = drive.execute(LOCAL, read6, None, buf)
        if r.status != Status.GOOD:
            raise SystemExit(f"read {i}: {r.decoded_sense()}")
    rd = time.perf_counter() - t
    drive.eject().close()
    shutil.rmtree(cart_dir)
    return {"write_s": w, "read_s": rd, "stored": stored, "rss": rss}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gib", type=float, default=2.0)
    ap.add_argument("--dir", default=tempfile.gettempdir())
    args = ap.parse_args()
    total = int(args.gib * 1024**3)
    count = total // RECORD
    mb = count * RECORD / 1e6
    print(f"{count} records of 256 KiB = {mb:.0f} MB, in {args.dir}")

    # dd runs first and again at the end; the better of the two is the reference,
    # so the drive is never compared with a dd that paid for a cold filesystem.
    dw, dr = dd(os.path.join(args.dir, "bench-dd"), count)
    print(f"dd bs=256k        write {mb / dw:8.0f} MB/s   read {mb / dr:8.0f} MB/s   (first run)")

    rnd = [os.urandom(RECORD) for _ in range(16)]
    res = through_drive(args.dir, count, rnd, compress=False)
    print(f"drive plain       write {mb / res['write_s']:8.0f} MB/s   read {mb / res['read_s']:8.0f} MB/s"
          f"   ({mb / res['write_s'] / (mb / dw):.2f} x dd write, {mb / res['read_s'] / (mb / dr):.2f} x dd read)")
    print(f"   RSS while writing (MiB): {' '.join(f'{x:.0f}' for x in res['rss'])}")

    text = text_like(RECORD * 16)
    payloads = [text[i * RECORD:(i + 1) * RECORD] for i in range(16)]
    res = through_drive(args.dir, count, payloads, compress=True)
    print(f"drive lz4 (text)  write {mb / res['write_s']:8.0f} MB/s   read {mb / res['read_s']:8.0f} MB/s"
          f"   stored {res['stored'] / (count * RECORD):.2f} of host bytes")
    print(f"   RSS while writing (MiB): {' '.join(f'{x:.0f}' for x in res['rss'])}")
    dw2, dr2 = dd(os.path.join(args.dir, "bench-dd"), count)
    print(f"dd bs=256k        write {mb / dw2:8.0f} MB/s   read {mb / dr2:8.0f} MB/s   (last run)")
    print(f"best dd: write {mb / min(dw, dw2):.0f} MB/s, read {mb / min(dr, dr2):.0f} MB/s")
    print(f"max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
