"""Fuzz the NDMP wire codec with a million random and mutated records, and time the codec.

    python benches/ndmp_fuzz.py [--messages 1000000] [--seed 20261123]

Runs tests/ndmp/ndmp_fuzzing.fuzz (the same engine as tests/ndmp/test_fuzz.py:
mutated records through RecordReader and decode, every decoded message
re-encoded and compared) and prints messages/s and the outcome tally; then the
codec's speed on realistic messages and RecordReader's on 256 KiB tape records.

Run by hand; figures go in benches/README.md, never into a test assertion.
"""
from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "ndmp"))

from ndmp_fuzzing import fuzz
from ndmp_samples import SAMPLES

from ndmp import codec
from ndmp.constants import MessageCode as M
from ndmp.messages import is_post
from ndmp.messages.tape import TapeWriteRequest
from ndmp.record import RecordReader, frame


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_fuzz(messages: int, seed: int) -> None:
    print(f"fuzz: {messages:,} streams of 1-4 records each (or noise), seed {seed}")
    done, tally, start = 0, None, time.perf_counter()
    step = max(messages // 10, 1)
    while done < messages:
        n = min(step, messages - done)
        part = fuzz(n, seed + done)
        tally = part if tally is None else tally + part
        done += n
        elapsed = time.perf_counter() - start
        print(f"  {done:>10,}  {done / elapsed:>9,.0f} streams/s  peak RSS {rss_mib():.0f} MiB", flush=True)
    elapsed = time.perf_counter() - start
    records = sum(v for k, v in tally.items() if k not in ("record too large", "incomplete record"))
    print(f"total {messages:,} streams ({records:,} records decoded or refused) in {elapsed:.1f} s: "
          f"{messages / elapsed:,.0f} streams/s, {records / elapsed:,.0f} records/s")
    for outcome, count in tally.most_common():
        print(f"  {outcome:<24} {count:>10,}  {100 * count / sum(tally.values()):5.1f} %")


def run_codec() -> None:
    records = []
    for code, sample in SAMPLES.items():
        req = codec.request(code, sample[0], sequence=1, time_stamp=1_790_000_000)
        records.append(codec.encode(req))
        if not is_post(code):
            records.append(codec.encode(codec.reply(req.header, 0, sample[1], sequence=1, time_stamp=1_790_000_000)))
    rounds = 2000
    start = time.perf_counter()
    for _ in range(rounds):
        for r in records:
            codec.decode(r)
    dec = (time.perf_counter() - start) / (rounds * len(records))
    decoded = [codec.decode(r) for r in records]
    start = time.perf_counter()
    for _ in range(rounds):
        for m in decoded:
            codec.encode(m)
    enc = (time.perf_counter() - start) / (rounds * len(decoded))
    print(f"codec, {len(records)} realistic messages (every request and reply): "
          f"decode {dec * 1e6:.1f} us, encode {enc * 1e6:.1f} us per message")

    block = 256 * 1024
    stream = frame(codec.encode(codec.request(M.NDMP_TAPE_WRITE, TapeWriteRequest(data_out=bytes(block)),
                                              sequence=1, time_stamp=0)))
    chunk = 64 * 1024
    pieces = [stream[i:i + chunk] for i in range(0, len(stream), chunk)]
    reader = RecordReader()
    rounds = 2000
    start = time.perf_counter()
    for _ in range(rounds):
        for p in pieces:
            for rec in reader.feed(p):
                codec.decode(rec)
    elapsed = time.perf_counter() - start
    print(f"TAPE_WRITE of {block // 1024} KiB fed in {chunk // 1024} KiB pieces, reassembled and decoded: "
          f"{rounds * block / elapsed / 1e6:,.0f} MB/s ({elapsed / rounds * 1e6:.0f} us per record)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=20261123)
    ap.add_argument("--skip-codec", action="store_true", help="only the fuzz")
    args = ap.parse_args()
    run_fuzz(args.messages, args.seed)
    if not args.skip_codec:
        run_codec()


if __name__ == "__main__":
    main()
