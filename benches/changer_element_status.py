"""READ ELEMENT STATUS and MOVE MEDIUM through the medium changer model, on a big library.

    python benches/changer_element_status.py [--slots 10000] [--runs 50] [--moves 20000]

The library: one transport, 16 import/export slots, 64 drives, ``--slots``
storage slots of which 90% hold a cartridge.  Times a full READ ELEMENT
STATUS (all types, VOLTAG=1, DVCID=1, allocation length FFFFFFh) through
``MediumChanger.execute``, once into a buffer the transport supplies (as
TCMU's data area is) and once letting the changer allocate; the header-only
request hosts send first (allocation length 8); and MOVE MEDIUM per second
(slot to slot, and slot to drive and back).

Run by hand; figures go in benches/README.md, never into a test assertion.
"""
from __future__ import annotations

import argparse
import statistics
import time

from scsi import LOCAL, Status
from scsi.smc import Element, ElementType, Inventory, MediumChanger

TRANSPORT, FIRST_MAILSLOT, FIRST_DRIVE, FIRST_SLOT = 1, 16, 256, 4096


class Bay:
    """A drive bay that holds whatever it is given (no cartridge files behind it)."""

    threaded = False
    removal_prevented = False

    def __init__(self) -> None:
        self.barcode: str | None = None

    def accept(self, barcode: str) -> None:
        self.barcode = barcode

    def release(self) -> str:
        barcode, self.barcode = self.barcode, None
        return barcode or ""


def library(slots: int, drives: int = 64, mailslots: int = 16) -> Inventory:
    els = [Element(TRANSPORT, ElementType.TRANSPORT)]
    els += [Element(FIRST_MAILSLOT + i, ElementType.IMPORT_EXPORT) for i in range(mailslots)]
    els += [Element(FIRST_DRIVE + i, ElementType.DATA_TRANSFER, identifier=f"10WT{i:06d}", vendor="IBM",
                    product="ULT3580-TD8", lun=i % 8) for i in range(drives)]
    full = slots * 9 // 10
    els += [Element(FIRST_SLOT + i, ElementType.STORAGE, barcode=f"A{i:05d}L8" if i < full else None,
                    medium_type=1 if i < full else 0, source=None) for i in range(slots)]
    return Inventory(els, {FIRST_DRIVE + i: Bay() for i in range(drives)})


def res_cdb(allocation: int) -> bytes:
    return bytes([0xB8, 0x10, 0, 0, 0xFF, 0xFF, 0x03]) + allocation.to_bytes(3, "big") + b"\0\0"


def move_cdb(src: int, dst: int) -> bytes:
    return bytes([0xA5, 0, 0, 0]) + src.to_bytes(2, "big") + dst.to_bytes(2, "big") + bytes(4)


def time_command(changer: MediumChanger, cdb: bytes, runs: int, data_in: memoryview | None) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        r = changer.execute(LOCAL, cdb, None, data_in)
        out.append(time.perf_counter() - t)
        assert r.status == Status.GOOD
    return out


def moves_per_second(changer: MediumChanger, pairs: list[tuple[int, int]], n: int) -> float:
    cdbs = [(move_cdb(a, b), move_cdb(b, a)) for a, b in pairs]
    t = time.perf_counter()
    for i in range(n // 2):
        there, back = cdbs[i % len(cdbs)]
        assert changer.execute(LOCAL, there).status == Status.GOOD
        assert changer.execute(LOCAL, back).status == Status.GOOD
    return (n // 2 * 2) / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--slots", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--moves", type=int, default=20_000)
    args = ap.parse_args()

    lib = library(args.slots)
    changer = MediumChanger(lib, serial="LIB0001", power_on_ua=False)
    n_elements = len(lib.elements())
    full_cdb = res_cdb(0xFFFFFF)
    size = len(changer.execute(LOCAL, full_cdb).data)
    buffer = memoryview(bytearray(1 << 24))
    print(f"library: {n_elements} elements ({args.slots} slots, 64 drives, 16 mailslots), "
          f"report {size} bytes")
    for label, data_in in (("transport buffer", buffer), ("changer allocates", None)):
        ts = time_command(changer, full_cdb, args.runs, data_in)
        print(f"READ ELEMENT STATUS, full, VOLTAG+DVCID, {label}: best {min(ts) * 1e3:.2f} ms, "
              f"median {statistics.median(ts) * 1e3:.2f} ms ({args.runs} runs)")
    ts = time_command(changer, res_cdb(8), args.runs, None)
    print(f"READ ELEMENT STATUS, header only (allocation 8): best {min(ts) * 1e6:.0f} us, "
          f"median {statistics.median(ts) * 1e6:.0f} us")

    full = args.slots * 9 // 10
    slot_pairs = [(FIRST_SLOT + i, FIRST_SLOT + full + i) for i in range(min(50, args.slots - full))]
    drive_pairs = [(FIRST_SLOT + i, FIRST_DRIVE + i) for i in range(64)]
    print(f"MOVE MEDIUM slot<->slot: {moves_per_second(changer, slot_pairs, args.moves):,.0f} per second")
    print(f"MOVE MEDIUM slot<->drive: {moves_per_second(changer, drive_pairs, args.moves):,.0f} per second")


if __name__ == "__main__":
    main()
