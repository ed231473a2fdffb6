"""The cartridge label: every field is checked when it is read, so a damaged label is
refused at open with the field named, not found out later inside a SCSI command."""
from __future__ import annotations

import json
import os

import pytest

from images.cartridge import Cartridge, CartridgeError

MIB = 1024 * 1024


@pytest.fixture
def made(tmp_path):
    path = str(tmp_path / "A00001L8")
    Cartridge.create(path, capacity=8 * MIB).close()
    return path


def rewrite(path: str, change) -> None:
    label = os.path.join(path, "cartridge.json")
    with open(label) as f:
        raw = json.load(f)
    raw = change(raw)
    with open(label, "w") as f:
        f.write(raw if isinstance(raw, str) else json.dumps(raw))


def _set(key, value):
    def change(raw):
        raw[key] = value
        return raw
    return change


def _drop(key):
    def change(raw):
        del raw[key]
        return raw
    return change


@pytest.mark.parametrize("change, reason", [
    (lambda raw: "[1, 2]", "JSON list, not an object"),
    (lambda raw: "not json", "not a vtl cartridge label"),
    (_set("format", 3), "format 3 is not one of (1, 2)"),
    (_set("colour", "red"), "unknown field 'colour'"),
    (_drop("barcode"), "barcode is missing"),
    (_set("barcode", 5), "barcode is 5"),
    (_set("media", "LTO99"), "media 'LTO99' is not a known media type"),
    (_set("partitions", "x"), "partitions is not a list of 1 to 4"),
    (_set("partitions", []), "partitions is not a list of 1 to 4"),
    (_set("partitions", [{"capacity": 1}] * 5), "partitions is not a list of 1 to 4"),
    (_set("partitions", [{"capacity": -1}]), "capacity is -1"),
    (_set("partitions", [{"capacity": "big"}]), "capacity is 'big'"),
    (_set("partitions", [{"capacity": 1, "eod": 3}]), "partition {'capacity': 1, 'eod': 3}"),
    (_set("early_warning", True), "early_warning is True"),
    (_set("write_protected", "yes"), "write_protected is 'yes'"),
    (_set("density", 300), "density is 300"),
    (_set("mam", "x"), "mam is not an object"),
    (_set("mam", {"x": "00"}), "MAM attribute 'x'"),
    (_set("mam", {"0x0400": "abc"}), "MAM attribute 0x0400 is 'abc'"),
    (_set("mam", {"0x0400": "zz"}), "MAM attribute 0x0400 is 'zz'"),
])
def test_a_damaged_label_is_refused_naming_the_field(made, change, reason):
    rewrite(made, change)
    with pytest.raises(CartridgeError) as e:
        Cartridge.open(made)
    assert reason in str(e.value)
    assert str(e.value).startswith(os.path.join(made, "cartridge.json"))


def test_a_label_that_is_not_text_is_refused(made):
    with open(os.path.join(made, "cartridge.json"), "wb") as f:
        f.write(b"\xff\xfe\x00garbage")
    with pytest.raises(CartridgeError, match="not a vtl cartridge label"):
        Cartridge.open(made)


def test_the_label_written_by_create_reads_back(made):
    with Cartridge.open(made) as c:
        assert (c.barcode, c.media.name, c.capacity) == ("A00001L8", "LTO8", 8 * MIB)
