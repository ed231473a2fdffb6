"""The NDMP wire fuzz: random and mutated records through RecordReader and decode.

Shared by tests/ndmp/test_fuzz.py (a few seconds' worth) and
benches/ndmp_fuzz.py (a million messages, by hand).  What a server may see
from the wire is only: a Message, XdrDecodeError, UnknownMessage, or
RecordError (drop the connection).  Anything else escaping is a bug, and so is
a decoded message that does not survive encode -> decode unchanged.
"""
from __future__ import annotations

import random
from collections import Counter
from itertools import pairwise

from ndmp_values import random_value

from ndmp.codec import Message, UnknownMessage, XdrDecodeError, decode, encode
from ndmp.constants import ErrorCode, MessageType
from ndmp.header import Header
from ndmp.messages import REGISTRY
from ndmp.record import DEFAULT_MAX_RECORD_SIZE, RecordReader, RecordTooLarge, frame

HUGE = (0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 0x40000000, 0x10000000, 0x00FFFFFF, 0x0001_0000)
KEYS = sorted(REGISTRY)
CODES = sorted({code for code, _ in KEYS})


def seed_record(rng: random.Random) -> bytes:
    """A valid record of a random message (any code and type in the registry)."""
    code, mtype = rng.choice(KEYS)
    error = ErrorCode.NDMP_NO_ERR if rng.random() < 0.95 else rng.choice(list(ErrorCode)[1:])
    header = Header(rng.getrandbits(32), rng.getrandbits(32), mtype, code,
                    rng.getrandbits(32) if mtype == MessageType.NDMP_MESSAGE_REPLY else 0, error)
    body = random_value(REGISTRY[(code, mtype)], rng) if error == ErrorCode.NDMP_NO_ERR else None
    return encode(Message(header, body))


def mutate(rng: random.Random, record: bytes, other: bytes) -> bytes:
    """One to three mutations: bit flips, random bytes, truncation, extension, a huge
    count or length planted on a word boundary, another message code or type in the
    header (a body read with the wrong declaration), or a splice with ``other``."""
    b = bytearray(record)
    for _ in range(rng.randint(1, 3)):
        op = rng.random()
        if op < 0.15 and b:
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
        elif op < 0.25 and b:
            b[rng.randrange(len(b))] = rng.randrange(256)
        elif op < 0.40:
            keep_header = len(b) > 24 and rng.random() < 0.8
            del b[rng.randint(24 if keep_header else 0, len(b)):]
        elif op < 0.50:
            b += rng.randbytes(rng.randint(1, 16))
        elif op < 0.70 and len(b) >= 28:
            at = rng.randrange(24, len(b) - 3) & ~3
            b[at:at + 4] = rng.choice(HUGE).to_bytes(4, "big")
        elif op < 0.80 and len(b) >= 24:
            code = rng.choice(CODES) if rng.random() < 0.8 else rng.getrandbits(32)
            b[12:16] = code.to_bytes(4, "big")
        elif op < 0.85 and len(b) >= 24:
            b[8:12] = rng.choice((0, 1, 1, 2, 0xFFFFFFFF)).to_bytes(4, "big")
        elif op < 0.90 and len(b) >= 24:
            b[20:24] = rng.choice((0, 0, 1, 18, 0x7FFFFFFF)).to_bytes(4, "big")
        else:
            cut = rng.randint(0, len(b))
            b[cut:] = other[rng.randint(0, len(other)):]
    return bytes(b)


def make_stream(rng: random.Random, seeds: list[bytes]) -> tuple[bytes, int]:
    """Bytes as a peer might send them, and how many records they were built from."""
    r = rng.random()
    if r < 0.05:
        return rng.randbytes(rng.randint(0, 96)), 0                        # noise, no framing
    count = 1 if r < 0.9 else rng.randint(2, 4)
    out = bytearray()
    for _ in range(count):
        rec = rng.choice(seeds)
        if rng.random() < 0.85:
            rec = mutate(rng, rec, rng.choice(seeds))
        elif rng.random() < 0.3:
            rec = rng.randbytes(rng.randint(0, 120))
        out += frame(rec, fragment_size=rng.choice((None, None, None, 1, 3, 8, 24)))
    if rng.random() < 0.05:                                                # a hostile record mark
        at = rng.randrange(0, max(len(out) - 3, 1)) if rng.random() < 0.5 else 0
        out[at:at + 4] = (rng.choice(HUGE) | rng.choice((0, 0x80000000))).to_bytes(4, "big")
    return bytes(out), count


def chunks(rng: random.Random, data: bytes) -> list[bytes]:
    """``data`` cut at 0-3 random places (a record may arrive in pieces anywhere)."""
    cuts = sorted(rng.randint(0, len(data)) for _ in range(rng.randint(0, 3)))
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in pairwise(bounds)]


def fuzz(messages: int, seed: int = 20261123, *, max_record_size: int = DEFAULT_MAX_RECORD_SIZE) -> Counter:
    """Run ``messages`` streams through a fresh RecordReader each and decode what comes out.

    Returns the tally of outcomes; raises AssertionError (with the record in hex)
    on anything a server could not handle."""
    rng = random.Random(seed)
    seeds = [seed_record(rng) for _ in range(4 * len(KEYS))]
    tally: Counter = Counter()
    for _ in range(messages):
        stream, _ = make_stream(rng, seeds)
        reader = RecordReader(max_record_size)
        try:
            for piece in chunks(rng, stream):
                for rec in reader.feed(piece):
                    _check(rec, tally)
        except RecordTooLarge:
            tally["record too large"] += 1
            continue
        if not reader.at_boundary:
            tally["incomplete record"] += 1
    return tally


def _check(rec: bytes, tally: Counter) -> None:
    try:
        m = decode(rec)
    except XdrDecodeError as e:
        tally["decode error" if e.header is not None else "decode error, no header"] += 1
        return
    except UnknownMessage:
        tally["unknown message"] += 1
        return
    except Exception as e:
        raise AssertionError(f"decode raised {type(e).__name__}: {e} on record {rec.hex()}") from e
    tally["decoded"] += 1
    try:
        again = decode(encode(m))
    except Exception as e:
        raise AssertionError(f"re-encoding failed ({type(e).__name__}: {e}) for {m!r}") from e
    assert again == m, (rec.hex(), m, again)
