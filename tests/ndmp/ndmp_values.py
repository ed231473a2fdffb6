"""Values for any XDR declaration, found by walking it: hypothesis strategies for the
property tests, plain ``random`` values for the fuzz seeds and the benchmark.

Both walk the same declarations the codec uses, so a message added to the
registry is generated, round-tripped and fuzzed without anyone listing it.
"""
from __future__ import annotations

import functools
import random
from typing import Any

from hypothesis import strategies as st

from ndmp.xdr import (
    Array,
    Bool,
    Enum,
    FixedArray,
    FixedOpaque,
    Int,
    Opaque,
    Optional,
    String,
    Struct,
    Union,
    Void,
    XdrType,
)

MAX_ITEMS = 3        # array lengths: enough to see several elements, small enough to stay fast
MAX_BYTES = 40       # opaque and string lengths (not a multiple of 4: padding gets exercised)
INT32_RANGE = (-2**31, 2**31 - 1)


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


@functools.cache
def strategy_for(t: XdrType) -> st.SearchStrategy:
    """A hypothesis strategy producing every kind of value ``t`` can encode."""
    if isinstance(t, Int):
        return st.integers(t.lo, t.hi)
    if isinstance(t, Bool):
        return st.booleans()
    if isinstance(t, Enum):
        return st.sampled_from(list(t.enum_cls)) | st.integers(*INT32_RANGE)   # unknown values too
    if isinstance(t, FixedOpaque):
        return st.binary(min_size=t.size, max_size=t.size)
    if isinstance(t, String):
        return st.binary(max_size=min(t.max or MAX_BYTES, MAX_BYTES)).map(_text)
    if isinstance(t, Opaque):
        return st.binary(max_size=min(t.max or MAX_BYTES, MAX_BYTES))
    if isinstance(t, Array):
        return st.lists(strategy_for(t.element), max_size=min(t.max or MAX_ITEMS, MAX_ITEMS))
    if isinstance(t, FixedArray):
        return st.lists(strategy_for(t.element), min_size=t.size, max_size=t.size)
    if isinstance(t, Optional):
        return st.none() | strategy_for(t.element)
    if isinstance(t, Void):
        return st.none()
    if isinstance(t, Struct):
        return st.builds(t.cls, *[strategy_for(ft) for _, ft in t.fields])
    if isinstance(t, Union):
        return st.one_of(*[_union_case(t, d) for d in _union_discriminants(t)])
    raise TypeError(f"no strategy for {t!r}")


def _union_discriminants(t: Union) -> list:
    """Every declared case, plus (if there is a default arm) one value outside them."""
    cases: list = list(t.arms)
    if t.has_default:
        cases.append(None)            # stands for "any value that is not a case"
    return cases


def _union_case(t: Union, disc: Any) -> st.SearchStrategy:
    disc_name = t.discriminant[0]
    if disc is None:
        discs = st.integers(*INT32_RANGE).filter(lambda v: v not in t.arms)
        arm = t.default
    else:
        discs = st.just(disc)
        arm = t.arms[disc]
    if arm is None:
        return discs.map(lambda d: t.cls(**{disc_name: d}))
    return st.tuples(discs, strategy_for(arm[1])).map(lambda p: t.cls(**{disc_name: p[0], arm[0]: p[1]}))


def random_value(t: XdrType, rng: random.Random) -> Any:
    """One random value for ``t`` (no hypothesis: fast enough for a million fuzz seeds)."""
    if isinstance(t, Int):
        return rng.choice((t.lo, t.hi, max(0, t.lo), rng.randint(t.lo, t.hi)))
    if isinstance(t, Bool):
        return rng.random() < 0.5
    if isinstance(t, Enum):
        return rng.choice(list(t.enum_cls)) if rng.random() < 0.9 else rng.randint(*INT32_RANGE)
    if isinstance(t, FixedOpaque):
        return rng.randbytes(t.size)
    if isinstance(t, String):
        return _text(rng.randbytes(rng.randint(0, min(t.max or 12, 12))))
    if isinstance(t, Opaque):
        return rng.randbytes(rng.randint(0, min(t.max or MAX_BYTES, MAX_BYTES)))
    if isinstance(t, Array):
        return [random_value(t.element, rng) for _ in range(rng.randint(0, min(t.max or MAX_ITEMS, MAX_ITEMS)))]
    if isinstance(t, FixedArray):
        return [random_value(t.element, rng) for _ in range(t.size)]
    if isinstance(t, Optional):
        return None if rng.random() < 0.3 else random_value(t.element, rng)
    if isinstance(t, Void):
        return None
    if isinstance(t, Struct):
        return t.cls(*[random_value(ft, rng) for _, ft in t.fields])
    if isinstance(t, Union):
        disc = rng.choice(_union_discriminants(t))
        if disc is None:
            disc = rng.choice([v for v in range(-1, 40) if v not in t.arms])
            arm = t.default
        else:
            arm = t.arms[disc]
        kwargs = {t.discriminant[0]: disc}
        if arm is not None:
            kwargs[arm[0]] = random_value(arm[1], rng)
        return t.cls(**kwargs)
    raise TypeError(f"no random value for {t!r}")
