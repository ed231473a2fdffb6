"""TapeConfig and DensitySetting built in code obey the same rules as files."""

from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest

from tapeconf import DensitySetting, TapeConfig, get_bundled

SETTINGS = {
    "l": DensitySetting("LTO-4 800GB", 0x00, 0x00),
    "m": DensitySetting("LTO-4 1600GB cmp", 0x00, 0x01),
    "h": DensitySetting("LTO-5 1500GB", 0x58, 0x00),
    "a": DensitySetting("LTO-5 3000GB cmp", 0x58, 0x01),
}


def make(**changes: object) -> TapeConfig:
    fields = dict(
        vendor_id="HP", product_id="Ultrium 5-SCSI", id_match_size=9,
        vendor_pretty=None, product_pretty=None, settings=SETTINGS,
    )
    fields.update(changes)
    return TapeConfig(**fields)  # type: ignore[arg-type]


def test_defaults() -> None:
    config = make()
    assert config.autoload is False
    assert dict(config.cmd_timeouts) == {}
    assert config.emulates is None
    assert config.source == "<string>"


def test_settings_are_read_only_and_in_canonical_order() -> None:
    config = make(settings=dict(reversed(list(SETTINGS.items()))))
    assert list(config.settings) == ["l", "m", "h", "a"]
    with pytest.raises(TypeError):
        config.settings["l"] = SETTINGS["h"]  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.vendor_id = "IBM"  # type: ignore[misc]


def test_timeouts_are_sorted_floats() -> None:
    config = make(cmd_timeouts={0x19: 600, 0x01: 0.5})
    assert list(config.cmd_timeouts.items()) == [(0x01, 0.5), (0x19, 600.0)]


def test_hash_pickle_copy_and_replace() -> None:
    config = get_bundled("IBM_LTO5")
    assert pickle.loads(pickle.dumps(config)) == config
    assert copy.deepcopy(config) == config
    assert hash(make()) == hash(make(source="other.tcf"))
    assert {config, copy.copy(config)} == {config}
    assert dataclasses.replace(config, autoload=False).autoload is False


def test_setting_and_compression() -> None:
    config = make()
    assert config.setting("a") == SETTINGS["a"]
    assert config.setting("a").compression and not config.setting("h").compression
    with pytest.raises(ValueError, match="'x' is not a compression type"):
        config.setting("x")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"vendor_id": "HEWLETTPK"}, 'vendor_id "HEWLETTPK" is 9 bytes; at most 8'),
        ({"product_id": ""}, "product_id is empty"),
        ({"id_match_size": 15}, "id_match_size is 15"),
        ({"id_match_size": 0}, "at least 1 byte"),
        ({"vendor_pretty": "HP"}, "vendor_pretty is set but product_pretty is not"),
        ({"settings": {"l": SETTINGS["l"]}}, "exactly the keys l, m, h and a; it has l"),
        ({"cmd_timeouts": {0x01: 0}}, "a timeout must be positive"),
        ({"cmd_timeouts": {0x01: 0.0001}}, "not a whole number of milliseconds"),
        ({"cmd_timeouts": {0x100: 1}}, "operation code 0x100 does not fit in one byte"),
    ],
)
def test_invalid_configs_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        make(**changes)
    assert " Fix: " in str(info.value) or "settings" in changes


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"id_match_size": "9"}, "id_match_size must be an int"),
        ({"autoload": "yes"}, "autoload must be a bool"),
        ({"settings": {**SETTINGS, "a": ("x", 1, 1)}}, r"settings\['a'\] must be a DensitySetting"),
        ({"cmd_timeouts": {1: "10m"}}, "must be a number of seconds"),
    ],
)
def test_wrong_types_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(TypeError, match=message):
        make(**changes)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("x" * 25, 0, 0), "is 25 bytes; at most 24"),
        (("ok", 0x100, 0), "density 0x100 does not fit in one byte"),
        (("ok", 0, -1), "algorithm -1 does not fit in one byte"),
    ],
)
def test_invalid_density_settings(args: tuple[str, int, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DensitySetting(*args)


def test_density_setting_refuses_bool() -> None:
    with pytest.raises(TypeError, match="density must be an int"):
        DensitySetting("x", True, 0)  # type: ignore[arg-type]


def test_matches_ignores_inquiry_padding_only() -> None:
    config = make(vendor_id="IBM", product_id="ULT3580-TD5", id_match_size=11)
    assert config.matches("IBM     ", "ULT3580-TD5     ")
    assert not config.matches("IBM", "ULT3580-TD6")
    assert not config.matches("IBM", "ULT3580-TD")
    assert not config.matches(" IBM", "ULT3580-TD5")
    assert not config.matches("ibm", "ULT3580-TD5")
