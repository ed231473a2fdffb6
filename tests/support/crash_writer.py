"""A writer process for the crash test: writes deterministic records through a
tape drive, with a filemark (a sync point) every few records, and reports on
stdout each sync point it completed.  The test kills it with SIGKILL.

    python -m support.crash_writer CARTRIDGE SEED
"""
from __future__ import annotations

import random
import sys
import time

from images.cartridge import Cartridge
from scsi import LOCAL, SenseKey, Status
from scsi.ssc import DrivePersonality, TapeDrive


def record(seed: int, n: int) -> bytes:
    rng = random.Random(seed * 1_000_003 + n)
    size = rng.choice((1, 17, 512, 4096, 16384, 65536))
    body = rng.randbytes(size) if n % 2 else (b"%08d " % n) * (size // 9 + 1)
    return body[:size]


def main() -> None:
    path, seed = sys.argv[1], int(sys.argv[2])
    drive = TapeDrive(DrivePersonality.bundled("IBM_LTO8"), "CRASH", power_on_ua=False)
    drive.insert(Cartridge.open(path))
    drive.unit_attentions.clear()
    drive.compression = bool(seed % 2)
    rng = random.Random(seed)
    # Append after what earlier runs left: space to EOD.
    drive.execute(LOCAL, bytes([0x11, 3, 0, 0, 0, 0]))
    pos = int.from_bytes(bytes(drive.execute(LOCAL, bytes([0x34, 6, 0, 0, 0, 0, 0, 0, 0, 0])).data[8:16]), "big")
    n = pos
    while True:
        for _ in range(rng.randint(1, 8)):
            data = record(seed, n)
            r = drive.execute(LOCAL, bytes([0x0A, 0]) + len(data).to_bytes(3, "big") + b"\0", data)
            if not written(r, n, "write"):
                return
            n += 1
        r = drive.execute(LOCAL, bytes([0x10, 0, 0, 0, 1, 0]))     # WRITE FILEMARKS, IMMED=0
        if not written(r, n, "filemark"):
            return
        n += 1
        print(f"SYNC {n}", flush=True)


def written(r, n: int, what: str) -> bool:
    """GOOD, or early warning (written, EOM set), counts; a full tape waits for the kill."""
    if r.status == Status.GOOD:
        return True
    sense = r.decoded_sense()
    if sense.key == SenseKey.NO_SENSE and sense.eom:
        return True
    if sense.key == SenseKey.VOLUME_OVERFLOW:
        print("FULL", flush=True)
        time.sleep(3600)
    print(f"ERROR {what} {n}: {sense}", flush=True)
    return False


if __name__ == "__main__":
    main()
