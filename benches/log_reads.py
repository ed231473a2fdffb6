"""Where a 256 KiB READ's time goes: the page-cache copy, the CRC, and the log's layout.

    python benches/log_reads.py [--mib 1024] [--dir /var/tmp] [--rounds 3]

Writes the same blocks twice in ``--dir``: as dd lays them out (aligned 256 KiB
writes) and as a cartridge log (through the drive: a 32-byte record header before
each block), then times, per block, from the page cache:

* ``preadv`` of the block into one page-aligned buffer (dd's read; our copy);
* CRC32C of that buffer (what the drive verifies before GOOD);
* CRC32C over a fresh read-only mapping of the block (a zero-copy read would do
  this instead of the copy: the page-table work of mapping the page cache);
* READ(6) through ``TapeDrive.execute`` into the same buffer (the whole command).

Run by hand; figures go in benches/README.md, never into a test assertion.
"""
from __future__ import annotations

import argparse
import mmap
import os
import shutil
import time

from images.cartridge import Cartridge
from images.cartridge.checksum import crc32c
from images.cartridge.record import HEADER_SIZE
from scsi import LOCAL, Status
from scsi.ssc import DrivePersonality, TapeDrive

RECORD = 256 * 1024
WINDOW = 64 * 1024 * 1024


def per_block(seconds: float, count: int) -> float:
    return seconds / count * 1e6


def preadv_loop(fd: int, offsets: list[int], buf: memoryview, crc: bool) -> float:
    t = time.perf_counter()
    for off in offsets:
        os.preadv(fd, [buf], off)
        if crc:
            crc32c(buf)
    return per_block(time.perf_counter() - t, len(offsets))


def mapped_crc_loop(fd: int, offsets: list[int]) -> float:
    """CRC32C of each block through 64 MiB read-only windows mapped afresh."""
    size = os.fstat(fd).st_size
    t = time.perf_counter()
    start = stop = -1
    m = view = None
    for off in offsets:
        if not start <= off <= off + RECORD <= stop:
            if m is not None:
                view.release()
                m.close()
            start = off - off % WINDOW
            stop = min(start + WINDOW + RECORD + HEADER_SIZE, size)
            m = mmap.mmap(fd, stop - start, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ, offset=start)
            view = memoryview(m)
        crc32c(view[off - start:off - start + RECORD])
    if m is not None:
        view.release()
        m.close()
    return per_block(time.perf_counter() - t, len(offsets))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mib", type=int, default=1024)
    ap.add_argument("--dir", default="/var/tmp")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    count = args.mib * 1024 * 1024 // RECORD
    blocks = [os.urandom(RECORD) for _ in range(16)]
    src = memoryview(mmap.mmap(-1, RECORD))
    buf = memoryview(mmap.mmap(-1, RECORD))

    flat = os.path.join(args.dir, "bench-log-reads.flat")
    fd_flat = os.open(flat, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    for i in range(count):
        os.pwrite(fd_flat, blocks[i % 16], i * RECORD)
    cart_dir = os.path.join(args.dir, "bench-log-reads.cart")
    shutil.rmtree(cart_dir, ignore_errors=True)
    drive = TapeDrive(DrivePersonality.bundled("IBM_LTO9"), "BENCH", power_on_ua=False)
    drive.insert(Cartridge.create(cart_dir, "LTO9"))
    drive.unit_attentions.clear()
    drive.compression = False
    write6 = bytes([0x0A, 0]) + RECORD.to_bytes(3, "big") + b"\0"
    for i in range(count):
        src[:] = blocks[i % 16]
        if drive.execute(LOCAL, write6, src).status != Status.GOOD:
            raise SystemExit(f"write {i} failed")
    drive.execute(LOCAL, bytes([0x01, 0, 0, 0, 0, 0]))        # REWIND: a sync point
    fd_log = drive.cartridge.active.fd
    flat_offsets = [i * RECORD for i in range(count)]
    log_offsets = [i * (RECORD + HEADER_SIZE) + HEADER_SIZE for i in range(count)]
    read6 = bytes([0x08, 0]) + RECORD.to_bytes(3, "big") + b"\0"
    print(f"{count} blocks of 256 KiB in {args.dir}, from the page cache; microseconds per block")
    print("round | aligned file: preadv  +CRC  mapped CRC | cartridge log: preadv  +CRC  mapped CRC"
          "  READ(6)")
    try:
        for n in range(args.rounds):
            a = preadv_loop(fd_flat, flat_offsets, buf, False)
            b = preadv_loop(fd_flat, flat_offsets, buf, True)
            c = mapped_crc_loop(fd_flat, flat_offsets)
            d = preadv_loop(fd_log, log_offsets, buf, False)
            e = preadv_loop(fd_log, log_offsets, buf, True)
            f = mapped_crc_loop(fd_log, log_offsets)
            drive.execute(LOCAL, bytes([0x01, 0, 0, 0, 0, 0]))
            t = time.perf_counter()
            for i in range(count):
                if drive.execute(LOCAL, read6, None, buf).status != Status.GOOD:
                    raise SystemExit(f"read {i} failed")
            g = per_block(time.perf_counter() - t, count)
            print(f"{n + 1:5} | {a:20.1f} {b:5.1f} {c:11.1f} | {d:21.1f} {e:5.1f} {f:11.1f} {g:8.1f}")
    finally:
        os.close(fd_flat)
        os.unlink(flat)
        drive.eject().close()
        shutil.rmtree(cart_dir)


if __name__ == "__main__":
    main()
