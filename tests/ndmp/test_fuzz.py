"""Fuzz the wire: random and mutated records (flipped bytes, truncations, extensions, huge
counts and lengths, wrong message codes, hostile record marks) through RecordReader and
decode.  Only Message, XdrDecodeError, UnknownMessage and RecordTooLarge may come out,
every decoded message must re-encode to itself, and nothing may allocate much.

VTL_FUZZ_MESSAGES sets the count (default 20,000: a few seconds); benches/ndmp_fuzz.py
runs a million."""
from __future__ import annotations

import os
import tracemalloc

from ndmp_fuzzing import fuzz

MESSAGES = int(os.environ.get("VTL_FUZZ_MESSAGES", "20000"))
PEAK_LIMIT = 16 * 1024 * 1024     # what is legitimately held: one small record and its decoded value


def test_fuzz_wire():
    tally = fuzz(MESSAGES)
    # Every outcome a server must handle was actually reached.
    for outcome in ("decoded", "decode error", "decode error, no header", "unknown message", "record too large",
                    "incomplete record"):
        assert tally[outcome] > 0, (outcome, tally)


def test_fuzz_allocates_little():
    """Traced separately (tracing slows Python's allocator about fivefold)."""
    tracemalloc.start()
    try:
        fuzz(max(MESSAGES // 4, 1000), seed=7)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < PEAK_LIMIT, f"fuzzing peaked at {peak} bytes"
