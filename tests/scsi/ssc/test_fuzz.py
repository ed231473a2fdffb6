"""Fuzz the drive with >= 100,000 random and mutated CDBs (and data-out):
nothing escapes as an exception, nothing is an internal error, and every answer
is GOOD, RESERVATION CONFLICT, or CHECK CONDITION with sense that decodes."""
from __future__ import annotations

import random

import support.cdbs as c
from support.fuzz import check_answer, mutate

from scsi import Nexus, Status

COMMANDS = 100_000

SEEDS = [
    c.write6(512), c.write6(2, fixed=True), c.read6(512), c.read6(1, fixed=True), c.read6(100, sili=True),
    c.write_filemarks6(1), c.space6(0, 1), c.space6(1, -1), c.space6(3, 0), c.space16(2, 2), c.locate10(3),
    c.locate16(1, 1), c.read_position(0), c.read_position(6), c.read_position(8, 32), c.rewind(),
    c.load_unload(True), c.load_unload(False), c.erase(), c.read_block_limits(), c.read_block_limits(True),
    c.test_unit_ready(), c.request_sense(), c.prevent_allow(0), c.report_density_support(),
    c.report_density_support(media=True, medium_type=True), c.log_sense(0x0C), c.log_sense(0x17),
    c.log_sense(0x2E), c.log_sense(0x00), c.mode_sense6(0x3F), c.mode_sense6(0x0F), c.mode_sense6(0x11),
    c.mode_select6(16), c.read_attribute(0), c.read_attribute(5), c.write_attribute(20), c.format_medium(1),
    c.set_capacity(0xFFFF), c.verify6(512), c.verify6(1, bytcmp=True), c.allow_overwrite(1),
    bytes([0x12, 0, 0, 0, 96, 0]), bytes([0x12, 1, 0x83, 0, 255, 0]), bytes([0xA0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]),
    bytes([0xA3, 0x0C, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0]), bytes([0x5E, 0, 0, 0, 0, 0, 0, 0, 64, 0]),
    bytes([0x5F, 0, 0, 0, 0, 0, 0, 0, 24, 0]), bytes([0x16, 0, 0, 0, 0, 0]), bytes([0x17, 0, 0, 0, 0, 0]),
    bytes([0x5A, 0, 0x3F, 0, 0, 0, 0, 0x10, 0, 0]), bytes([0x4C, 2, 0x40, 0, 0, 0, 0, 0, 0, 0]),
]
OPCODES = sorted({s[0] for s in SEEDS} | {0x00, 0x03, 0x04, 0x0B, 0x13, 0x1E, 0x2B, 0x44, 0x55, 0x56, 0x57,
                                          0x80, 0x82, 0x8C, 0x8D, 0x91, 0x92})


def make(rng: random.Random) -> tuple[bytes, bytes | None]:
    r = rng.random()
    if r < 0.15:
        cdb = bytes([rng.choice(OPCODES)]) + rng.randbytes(rng.choice((5, 9, 11, 15)))
    elif r < 0.2:
        cdb = rng.randbytes(rng.randint(0, 16))
    else:
        cdb = mutate(rng, rng.choice(SEEDS))
    # Keep transfers small so the fuzz spends its time on parsing, not copying.
    if cdb[:1] in (b"\x08", b"\x0a", b"\x13") and len(cdb) >= 5:
        cdb = cdb[:2] + bytes([0, cdb[3] & 0x0F]) + cdb[4:]
    data = rng.randbytes(rng.choice((0, 1, 4, 8, 12, 16, 24, 40, 512, 4096))) if rng.random() < 0.7 else None
    return cdb, data


def test_fuzz_cdbs(make_drive):
    rng = random.Random(20261123)
    drive = make_drive(capacity=1024 * 1024)
    drive.internal_errors = 0
    nexuses = [Nexus("iqn.fuzz:a"), Nexus("iqn.fuzz:b", 2)]
    seen = {Status.GOOD: 0, Status.CHECK_CONDITION: 0, Status.RESERVATION_CONFLICT: 0}
    for i in range(COMMANDS):
        cdb, data = make(rng)
        r = drive.execute(rng.choice(nexuses), cdb, data)
        check_answer(r, cdb, seen)
        if i % 5000 == 4999 and drive.cartridge is not None and drive.state.value != "ready":
            drive.execute(nexuses[0], c.load_unload(True))   # keep the tape threaded most of the time
    assert drive.internal_errors == 0
    assert seen[Status.GOOD] > 1000 and seen[Status.CHECK_CONDITION] > 1000
