"""A million hostile NDMP messages against a server in front of a real node.

    python benches/ndmp_server_fuzz.py [--messages 1000000] [--seed 20261123] [--per-connection 400]

The engine is tests/ndmp/ndmp_server_fuzz.py (test_server_fuzz.py runs a few
thousand): connections that log in and send realistic, mutated and random
requests of every interface, ending cleanly, with a reset, or mid-record.  At
the end nothing may be held (sessions, device claims, threads, descriptors),
no handler may have failed (NDMP_UNDEFINED_ERR), and a fresh client must still
be served.  Run by hand; figures go in benches/README.md.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests" / "ndmp"), str(ROOT / "tests"), str(ROOT)]

from ndmp_server_fuzz import _fds, _threads, fuzz_server, healthy, load_drives, running_server, settle  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=20261123)
    ap.add_argument("--per-connection", type=int, default=400)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d, running_server(Path(d)) as (server, node, loop):
        load_drives(node)
        fds, threads = _fds(), _threads()
        start = time.perf_counter()
        step = max(args.messages // 10, 1)
        mark = [step]

        def progress(sent, tally):
            if sent >= mark[0]:
                mark[0] += step
                rate = sent / (time.perf_counter() - start)
                print(f"  {sent:>10,} messages  {tally['connections']:>7,} connections  {rate:>8,.0f} msg/s",
                      flush=True)

        tally = fuzz_server(server, args.messages, args.seed, per_connection=args.per_connection,
                            progress=progress)
        elapsed = time.perf_counter() - start
        held = settle(server, fds, threads)
        ok = healthy(server.port)
    print(f"{args.messages:,} messages over {tally['connections']:,} connections in {elapsed:.1f} s "
          f"({args.messages / elapsed:,.0f} msg/s)")
    for key, value in sorted(tally.items()):
        print(f"  {key:<20} {value:>10,}")
    print(f"left behind: {held or 'nothing'}; server still serving: {ok}")
    return 0 if ok and not held and tally["undefined errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
