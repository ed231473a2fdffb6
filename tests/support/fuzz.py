"""Mutating CDBs for the fuzz tests of every device type."""
from __future__ import annotations

import random
from typing import Sequence


def mutate(rng: random.Random, cdb: bytes, *, fields: Sequence[int] = (), values: Sequence[int] = ()) -> bytes:
    """One to four mutations of ``cdb``: a flipped bit, a random byte, a dropped or an
    extra last byte, and -- given ``values`` -- one of them written as a big-endian
    16-bit number at one of the ``fields`` offsets (addresses where the device expects
    them, so mutations reach the device's logic instead of failing the first check).
    The opcode survives nine times in ten."""
    b = bytearray(cdb)
    flip, rand, plant = (0.4, 0.6, 0.8) if values else (0.5, 0.8, 0.8)
    for _ in range(rng.randint(1, 4)):
        op = rng.random()
        i = rng.randrange(len(b))
        if op < flip:
            b[i] ^= 1 << rng.randrange(8)
        elif op < rand:
            b[i] = rng.randrange(256)
        elif op < plant and len(b) >= 8:
            j = rng.choice([f for f in fields if f + 2 <= len(b)] or [2])
            b[j:j + 2] = rng.choice(values).to_bytes(2, "big")
        elif op < 0.9 and len(b) > 1:
            del b[-1]
        else:
            b.append(rng.randrange(256))
    if b and rng.random() < 0.9:
        b[0] = cdb[0]
    return bytes(b)


def check_answer(result, cdb: bytes, seen: dict) -> None:
    """A fuzzed command's answer is GOOD or RESERVATION CONFLICT without sense, or CHECK
    CONDITION with sense that decodes and is not HARDWARE ERROR (our own failure); counted in ``seen``."""
    from scsi import Status
    from scsi.sense import SenseKey, decode

    assert result.status in seen, (cdb.hex(), result.status)
    seen[result.status] += 1
    if result.status == Status.CHECK_CONDITION:
        s = decode(result.sense)
        assert s.key != SenseKey.HARDWARE_ERROR, (cdb.hex(), s)
    else:
        assert not result.sense


# Pieces of configuration syntax that mutations splice in: quoting, table headers, numbers
# out of every range, TOML's own oddities, and whole key lines of the node's tables.
TEXT_TOKENS = (
    '"', "'", "[", "]", "[[", "]]", "=", "\n", "#", "\\", "\x00", "é", "0", "-1", "0x", "1e999",
    "nan", "inf", "true", '""', "{}", "[]", "99999999999999999999", "3.5", "2020-01-01", "00:00",
    "lun = 1", "slots = 0", 'serial = "A"', 'barcodes = "VTL000L8-VTL999L8"', "[[library.drive]]",
    "[ndmp]", "[[volume]]", '[[library]]\nname = "x"\nslots = 1', 'capacity = "1KiB"',
    'capacity = "-5MiB"', "=0x", "_density=", "autoload=", "cmd_timeout_0x08=5m",
)


def mutate_text(rng: random.Random, text: str) -> str:
    """One to six mutations of a configuration file: a cut, a token of ``TEXT_TOKENS``
    spliced in, a character replaced, or a piece of the file repeated elsewhere."""
    b = list(text)
    for _ in range(rng.randint(1, 6)):
        op = rng.random()
        pos = rng.randint(0, len(b))
        if op < 0.3 and b:
            del b[pos:pos + rng.randint(1, 20)]
        elif op < 0.6:
            b[pos:pos] = list(rng.choice(TEXT_TOKENS))
        elif op < 0.8 and b:
            b[min(pos, len(b) - 1)] = chr(rng.randrange(0x80))
        else:
            start = rng.randint(0, len(b))
            b[pos:pos] = b[start:start + rng.randint(0, 80)]
    return "".join(b)
