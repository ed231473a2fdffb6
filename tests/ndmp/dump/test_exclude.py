"""EXCLUDE with the seed's rules."""
from __future__ import annotations

import pytest

from ndmp.dump.exclude import parse_exclude
from ndmp.engine import Refusal


def test_exact_prefix_suffix_and_substring() -> None:
    ex = parse_exclude("core,*.o,tmp*,*cache*")
    assert ex.matches(b"core") and not ex.matches(b"core2")
    assert ex.matches(b"x.o") and not ex.matches(b"x.c")
    assert ex.matches(b"tmpdir") and ex.matches(b"my-cache-dir")
    assert not ex.matches(b"a")


def test_escaped_comma_is_part_of_a_name() -> None:
    ex = parse_exclude(r"a\,b,c")
    assert ex.matches(b"a,b") and ex.matches(b"c") and not ex.matches(b"a")


@pytest.mark.parametrize("raw, message", [
    ("a*b", "first or the last"),
    ("***", "asterisks"),
    ("*a*b*", "asterisks"),
    ("a,,b", "empty"),
    ("*", "everything"),
    (",".join(f"n{i}" for i in range(33)), "up to 32"),
    ("dir/file", "not a path"),
])
def test_refusals(raw: str, message: str) -> None:
    with pytest.raises(Refusal, match=message):
        parse_exclude(raw)


def test_thirty_two_names_are_allowed() -> None:
    assert len(parse_exclude(",".join(f"n{i}" for i in range(32))).patterns) == 32
