"""Fuzz the changer with 20,000 random and mutated CDBs (and data-out): nothing escapes
as an exception, nothing is an internal error, every answer is GOOD, RESERVATION
CONFLICT or CHECK CONDITION with sense that decodes, and the library never loses
or duplicates a cartridge."""
from __future__ import annotations

import random

from support import fuzz
from support.fuzz import check_answer

from scsi import Status

from .conftest import (
    DRIVES,
    MAILSLOTS,
    SLOTS,
    TRANSPORT,
    A,
    B,
    exchange_medium,
    initialize_element_status,
    initialize_element_status_with_range,
    mode_sense6,
    move_medium,
    position_to_element,
    prevent_allow,
    read_element_status,
)

COMMANDS = 20_000
ADDRESSES = [0, TRANSPORT, *MAILSLOTS, *DRIVES, *SLOTS]

SEEDS = [
    read_element_status(), read_element_status(voltag=True, dvcid=True), read_element_status(SLOTS[3], 4, 2),
    read_element_status(element_type=4, dvcid=True, allocation=100), read_element_status(allocation=8),
    move_medium(SLOTS[0], SLOTS[-1]), move_medium(SLOTS[1], DRIVES[0]), move_medium(DRIVES[0], MAILSLOTS[0]),
    exchange_medium(SLOTS[0], SLOTS[1], SLOTS[-1]), exchange_medium(SLOTS[2], DRIVES[1], SLOTS[2]),
    position_to_element(DRIVES[2]), initialize_element_status(),
    initialize_element_status_with_range(SLOTS[0], 4, use_range=True), prevent_allow(1), prevent_allow(0),
    mode_sense6(0x3F), mode_sense6(0x1D), mode_sense6(0x1F, pc=1), bytes([0x5A, 0, 0x1E, 0, 0, 0, 0, 0, 64, 0]),
    bytes([0x15, 0x10, 0, 0, 24, 0]), bytes([0x12, 0, 0, 0, 96, 0]), bytes([0x12, 1, 0x83, 0, 255, 0]),
    bytes([0xA0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]), bytes([0xA3, 0x0C, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0]),
    bytes([0x5E, 0, 0, 0, 0, 0, 0, 0, 64, 0]), bytes([0x5F, 0, 0, 0, 0, 0, 0, 0, 24, 0]),
    bytes([0x16, 0, 0, 0, 0, 0]), bytes([0x17, 0, 0, 0, 0, 0]), bytes(6), bytes([0x03, 0, 0, 0, 18, 0]),
    bytes([0x4D, 0, 0x40, 0, 0, 0, 0, 0, 64, 0]),
]
OPCODES = sorted({s[0] for s in SEEDS} | {0x08, 0x0A, 0x1B, 0x44, 0xB5, 0xB6, 0xE7, 0x8C})


def mutate(rng: random.Random, cdb: bytes) -> bytes:
    """Mutations that also plant real element addresses where address fields may be."""
    return fuzz.mutate(rng, cdb, fields=(2, 4, 6), values=ADDRESSES)


def make(rng: random.Random) -> tuple[bytes, bytes | None]:
    r = rng.random()
    if r < 0.15:
        cdb = bytes([rng.choice(OPCODES)]) + rng.randbytes(rng.choice((5, 9, 11, 15)))
    elif r < 0.2:
        cdb = rng.randbytes(rng.randint(0, 16))
    elif r < 0.35:
        # Well-formed moves between random elements, so the library's state keeps changing.
        a, b, c = (rng.choice(ADDRESSES) for _ in range(3))
        cdb = move_medium(a, b) if rng.random() < 0.6 else exchange_medium(a, b, rng.choice((a, c)))
    else:
        cdb = mutate(rng, rng.choice(SEEDS))
    data = rng.randbytes(rng.choice((0, 1, 4, 8, 12, 24, 28, 40))) if rng.random() < 0.5 else None
    return cdb, data


def test_fuzz_cdbs(changer, library, bays):
    rng = random.Random(20261124)
    seen = {Status.GOOD: 0, Status.CHECK_CONDITION: 0, Status.RESERVATION_CONFLICT: 0}
    cartridges = sorted(e.barcode for e in library.elements() if e.barcode is not None)
    for i in range(COMMANDS):
        cdb, data = make(rng)
        r = changer.execute(rng.choice((A, B)), cdb, data)
        check_answer(r, cdb, seen)
        if i % 500 == 499:
            changer.logical_unit_reset()            # drop SPC-2 reservations now and then
            for bay in bays.values():
                bay.threaded = rng.random() < 0.3 and bay.barcode is not None
    assert changer.internal_errors == 0
    assert sorted(e.barcode for e in library.elements() if e.barcode is not None) == cartridges
    assert all(bays[a].barcode == library.element(a).barcode for a in DRIVES)
    assert seen[Status.GOOD] > 2000 and seen[Status.CHECK_CONDITION] > 2000
