"""A format 1 cartridge (one record log per partition) opens as before: its records are
rewritten in format 2 on the first open, and an interrupted rewrite starts again."""
from __future__ import annotations

import json
import os

import pytest

from images.cartridge import Cartridge, CartridgeError, Kind
from images.cartridge.meta import FORMAT_VERSION
from support.format1 import make_format1

MIB = 1024 * 1024


def format1(tmp_path, tail: bytes = b"") -> tuple[str, list]:
    """A cartridge made now, then turned into what format 1 left on disk."""
    path = str(tmp_path / "A00001L8")
    Cartridge.create(path, capacity=8 * MIB).close()
    expected = [bytes([i]) * (100 + i) for i in range(5)] + [Kind.FILEMARK] + [b"last"]
    make_format1(path, expected, tail)
    return path, expected


def contents(cart) -> list:
    p = cart.active
    p.rewind()
    out, buf = [], memoryview(bytearray(1000))
    while (r := p.read(buf)).kind is not None:
        out.append(bytes(buf[:r.copied]) if r.kind == Kind.DATA else r.kind)
    return out


def test_a_format_1_cartridge_is_rewritten_on_open(tmp_path):
    path, expected = format1(tmp_path)
    with Cartridge.open(path) as cart:
        assert contents(cart) == expected
        assert cart.active.filemark_count == 1
    assert sorted(os.listdir(path)) == ["cartridge.json", "lock", "p0.dat", "p0.idx", "p0.rec"]
    with open(os.path.join(path, "cartridge.json")) as f:
        assert json.load(f)["format"] == FORMAT_VERSION
    with Cartridge.open(path) as cart:
        assert contents(cart) == expected


def test_an_interrupted_rewrite_starts_again(tmp_path, monkeypatch):
    from images.cartridge import upgrade
    path, expected = format1(tmp_path)

    def killed(*args, **kw):
        raise KeyboardInterrupt                       # as if killed before the label said format 2
    monkeypatch.setattr(upgrade, "write_atomically", killed)
    with pytest.raises(KeyboardInterrupt):
        Cartridge.open(path)
    monkeypatch.undo()
    assert os.path.exists(os.path.join(path, "p0.log"))
    with Cartridge.open(path) as cart:
        assert contents(cart) == expected


def test_what_follows_the_records_is_kept_beside_them(tmp_path):
    path, expected = format1(tmp_path, tail=b"not a record header, and longer than one")
    with Cartridge.open(path) as cart:
        assert contents(cart) == expected
    assert os.path.getsize(os.path.join(path, "p0.log.format1")) > 40


def test_a_read_only_format_1_cartridge_says_how_to_rewrite_it(tmp_path):
    path, _ = format1(tmp_path)
    with pytest.raises(CartridgeError, match="format 1, which vtl rewrites in format 2 when it opens it for "
                       "writing.* Fix: open it once for writing"):
        Cartridge.open(path, read_only=True)
