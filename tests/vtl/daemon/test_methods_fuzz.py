"""Every control request, with random values of the types its handler declares: the answer
is a result or an ApiError sentence, never an exception from inside the daemon (which the
control socket could only report as an internal error)."""
from __future__ import annotations

import random
import types
import typing
from pathlib import Path

from vtl.config import default_text, loads
from vtl.daemon.methods import METHODS, ApiError, _hints, call
from vtl.node import Node

CALLS = 3000

# Names and numbers that mean something to some request (drives, barcodes, elements,
# ports, tape operations, CDBs, sizes, volume names), and ones that mean nothing anywhere.
STRINGS = (
    "", "st0", "st1", "mc0", "nrst0l", "lib0", "VTL000L8", "VTL001L8", "VTL019L8", "CLN000CU", "ABC",
    "256", "257", "1000", "1", "0", "-1", "../../etc", "/", "A" * 300, "é", "\x00", "SN[zz]L1",
    "lib0:loop", "rewind", "fsf", "bsf", "eod", "weof", "nope", "all", "tape", "changer",
    "12 00 00 00 60 00", "01 00 00 00 00 00", "zz", "64MiB", "1KiB", "LTO8", "LTO99", "/vs1/vol1",
    "ndmp", "0x2050", "storage", "import_export", "data_transfer", "medium_transport", "8.6",
)
INTS = (0, 1, -1, 2, 255, 256, 257, 1000, 4095, 2**31, -2**31, 2**63 - 1, -2**63)
SETTINGS = ("port", "address", "max_sessions", "authtype", "enabled", "tape_reservations",
            "data_buffers", "event_log", "secure", "secrets", "bogus")


def _value(hint: typing.Any, rng: random.Random) -> typing.Any:
    origin = typing.get_origin(hint)
    if hint is typing.Any:
        return rng.choice((rng.choice(STRINGS), rng.choice(INTS), None, True))
    if origin in (typing.Union, types.UnionType):
        return _value(rng.choice(typing.get_args(hint)), rng)
    if hint is bool:
        return rng.random() < 0.5
    if hint is int:
        return rng.choice(INTS)
    if hint is str:
        return rng.choice(STRINGS)
    if (origin or hint) is dict:
        values = (*STRINGS[:12], *INTS[:6], True, False, None, [], ["md5"], ["plaintext"])
        return {rng.choice(SETTINGS): rng.choice(values) for _ in range(rng.randint(0, 3))}
    return None


def test_random_requests_get_a_result_or_a_sentence(tmp_path: Path) -> None:
    node = Node(loads(default_text(), base=tmp_path, source=tmp_path / "vtl.toml"))
    rng = random.Random(20261124)
    names = sorted(METHODS)
    answered = refused = 0
    try:
        for _ in range(CALLS):
            name = rng.choice(names)
            params = {k: _value(h, rng) for k, h in _hints(METHODS[name]).items() if rng.random() < 0.85}
            try:
                call(node, name, params)
                answered += 1
            except ApiError as e:
                assert str(e).strip(), (name, params)
                refused += 1
    finally:
        node.close()
    assert answered > CALLS // 10 and refused > CALLS // 10, (answered, refused)
