"""The personalities shipped in tapeconf/drives."""

from __future__ import annotations

from importlib import resources

import pytest

from tapeconf import (
    QualificationTable,
    UnknownDriveError,
    bundled,
    bundled_names,
    get_bundled,
    parse_tape_config,
    render_tape_config,
)

LTO_DENSITY = {5: 0x58, 6: 0x5A, 7: 0x5C, 8: 0x5E, 9: 0x60, 10: 0x62}

# name -> (vendor_id, product_id, generation)
LTO_DRIVES = {
    "IBM_LTO5": ("IBM", "ULT3580-TD5", 5),
    "IBM_LTO6": ("IBM", "ULT3580-TD6", 6),
    "IBM_LTO7": ("IBM", "ULT3580-TD7", 7),
    "IBM_LTO8": ("IBM", "ULT3580-TD8", 8),
    "IBM_LTO9": ("IBM", "ULT3580-TD9", 9),
    "IBM_LTO10": ("IBM", "ULT3580-TDA", 10),
    "HP_LTO5": ("HP", "Ultrium 5-SCSI", 5),
    "HP_LTO6": ("HP", "Ultrium 6-SCSI", 6),
    "HPE_LTO7": ("HP", "Ultrium 7-SCSI", 7),
    "HPE_LTO8": ("HP", "Ultrium 8-SCSI", 8),
    "HPE_LTO9": ("HP", "Ultrium 9-SCSI", 9),
    "QUANTUM_LTO8": ("QUANTUM", "ULTRIUM-HH8", 8),
    "QUANTUM_LTO9": ("QUANTUM", "ULTRIUM-HH9", 9),
    "TANDBERG_LTO8": ("TANDBERG", "LTO-8 HH", 8),
}

NATIVE_GB = {5: 1500, 6: 2500, 7: 6000, 8: 12000, 9: 18000, 10: 30000}


def drive_files() -> list[resources.abc.Traversable]:
    drives = resources.files("tapeconf").joinpath("drives")
    return sorted((f for f in drives.iterdir() if f.name.endswith(".tcf")), key=lambda f: f.name)


@pytest.mark.parametrize("entry", drive_files(), ids=lambda f: f.name)
def test_every_file_parses_and_has_a_header_comment(entry: resources.abc.Traversable) -> None:
    text = entry.read_text(encoding="utf-8")
    assert text.startswith("# ")
    config = parse_tape_config(text, entry.name)
    assert config.name == entry.name.removesuffix(".tcf")
    assert config.vendor_pretty is not None and config.product_pretty is not None


def test_bundled_holds_every_file() -> None:
    assert bundled_names() == [config.name for config in bundled()]
    assert len(bundled()) == len(drive_files())
    assert set(LTO_DRIVES) | {"STK_T10000D"} <= set(bundled_names())


def test_bundled_is_read_once() -> None:
    assert bundled() is bundled()


def test_names_sort_numbers_by_value() -> None:
    names = bundled_names()
    assert names.index("IBM_LTO9") < names.index("IBM_LTO10")


@pytest.mark.parametrize(("name", "drive"), LTO_DRIVES.items(), ids=list(LTO_DRIVES))
def test_lto_personalities(name: str, drive: tuple[str, str, int]) -> None:
    vendor, product, generation = drive
    config = get_bundled(name)
    assert (config.vendor_id, config.product_id) == (vendor, product)
    assert config.matches(vendor.ljust(8), product.ljust(16))
    assert config.autoload is True
    density = LTO_DENSITY[generation]
    h, a = config.settings["h"], config.settings["a"]
    assert (h.density, h.algorithm) == (density, 0x00)
    assert (a.density, a.algorithm) == (density, 0x01)
    assert h.description == f"LTO-{generation} {NATIVE_GB[generation]}GB"
    assert a.description.startswith(f"LTO-{generation} ") and a.description.endswith(" cmp")
    # l and m follow the seed: the drive's default density, without / with compression.
    assert [config.settings[c].density for c in "lm"] == [0x00, 0x00]
    assert [config.settings[c].algorithm for c in "lm"] == [0x00, 0x01]
    assert config.product_pretty.startswith(f"LTO-{generation}")


def test_hp_and_hpe_names() -> None:
    assert get_bundled("HP_LTO5").vendor_pretty == "Hewlett-Packard"
    assert get_bundled("HP_LTO5").id_match_size == 9  # "Ultrium 5", as in the seed
    for generation in (7, 8, 9):
        config = get_bundled(f"HPE_LTO{generation}")
        assert config.vendor_id == "HP"
        assert config.vendor_pretty == "HPE"


def test_ibm_files_carry_slow_command_timeouts() -> None:
    for generation in range(5, 11):
        timeouts = get_bundled(f"IBM_LTO{generation}").cmd_timeouts
        assert {0x01, 0x19, 0x1B} <= set(timeouts)
        assert timeouts[0x19] > timeouts[0x01]  # a long erase outlasts a rewind
    assert get_bundled("IBM_LTO5").cmd_timeouts[0x01] == 600.0


def test_t10000d() -> None:
    config = get_bundled("STK_T10000D")
    assert (config.vendor_id, config.product_id) == ("STK", "T10000D")
    assert config.display_name == "StorageTek T10000D"
    assert config.settings["h"].density == 0x4D
    assert config.settings["a"].density == 0x4D
    assert config.settings["a"].compression
    assert config.settings["h"].description == "T10000D 8500GB"


def test_get_bundled_is_case_insensitive() -> None:
    assert get_bundled("ibm_lto5") is get_bundled("IBM_LTO5")
    assert get_bundled("IBM_LTO5.tcf") is get_bundled("IBM_LTO5")


def test_get_bundled_unknown_name_lists_the_names() -> None:
    with pytest.raises(KeyError) as info:
        get_bundled("IBM_LTO4")
    error = info.value
    assert isinstance(error, UnknownDriveError)
    assert str(error).startswith('There is no tape drive personality named "IBM_LTO4". Known names: ')
    assert "IBM_LTO5" in str(error) and "STK_T10000D" in str(error)


def test_each_drive_resolves_to_its_own_file() -> None:
    """No two shipped files claim the same drive."""
    table = QualificationTable()
    for config in bundled():
        assert table.lookup(config.vendor_id, config.product_id) is config


def test_files_are_in_canonical_form() -> None:
    """The shipped files are exactly what render_tape_config writes, below the header."""
    for entry in drive_files():
        text = entry.read_text(encoding="utf-8")
        body = text[text.index("\n\n") + 2:]
        assert body == render_tape_config(parse_tape_config(text, entry.name))
