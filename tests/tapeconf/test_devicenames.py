"""Tape device names (nrst0a) and device listings."""

from __future__ import annotations

import pytest

from tapeconf import (
    DensitySetting,
    DeviceName,
    RewindType,
    TapeConfig,
    device_listing,
    format_listing,
    get_bundled,
    parse_device_name,
)

# "Example of a listing of tape devices" from the seed, exactly.
SEED_LISTING = """\
          Tape drive (fc202_6:2.126L1)  HP          Ultrium 2-SCSI
rst0l  -  rewind device,                format is: HP (200GB)
nrst0l -  no rewind device,             format is: HP (200GB)
urst0l -  unload/reload device,         format is: HP (200GB)
rst0m  -  rewind device,                format is: HP (200GB)
nrst0m -  no rewind device,             format is: HP (200GB)
urst0m -  unload/reload device,         format is: HP (200GB)
rst0h  -  rewind device,                format is: HP (200GB)
nrst0h -  no rewind device,             format is: HP (200GB)
urst0h -  unload/reload device,         format is: HP (200GB)
rst0a  -  rewind device,                format is: HP (400GB w/comp)
nrst0a -  no rewind device,             format is: HP (400GB w/comp)
urst0a -  unload/reload device,         format is: HP (400GB w/comp)
"""

HP_ULTRIUM_2 = TapeConfig(
    vendor_id="HP",
    product_id="Ultrium 2-SCSI",
    id_match_size=9,
    vendor_pretty=None,
    product_pretty=None,
    settings={
        "l": DensitySetting("HP (200GB)", 0x00, 0x00),
        "m": DensitySetting("HP (200GB)", 0x00, 0x00),
        "h": DensitySetting("HP (200GB)", 0x42, 0x00),
        "a": DensitySetting("HP (400GB w/comp)", 0x42, 0x01),
    },
    autoload=True,
)


def test_parse_the_seed_example() -> None:
    name = parse_device_name("nrst0a")
    assert name == DeviceName(RewindType.NO_REWIND, 0, "a")
    assert name.alias == "st0"
    assert str(name) == "nrst0a"


@pytest.mark.parametrize(
    ("text", "rewind", "alias", "compression"),
    [
        ("rst0l", RewindType.REWIND, 0, "l"),
        ("nrst3m", RewindType.NO_REWIND, 3, "m"),
        ("urst12h", RewindType.UNLOAD_RELOAD, 12, "h"),
        ("rst105a", RewindType.REWIND, 105, "a"),
    ],
)
def test_round_trip(text: str, rewind: RewindType, alias: int, compression: str) -> None:
    name = parse_device_name(text)
    assert (name.rewind, name.alias_number, name.compression) == (rewind, alias, compression)
    assert str(name) == text


def test_every_device_of_a_drive_round_trips() -> None:
    for text, _, _ in device_listing(7, HP_ULTRIUM_2):
        assert str(parse_device_name(text)) == text


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("st0a", "it does not start with a rewind type"),
        ("xrst0a", "it does not start with a rewind type"),
        ("nrsx0a", 'the rewind type is not followed by "st"'),
        ("rmc0a", 'the rewind type is not followed by "st"'),
        ("nrsta", 'there is no alias number after "st"'),
        ("nrst0", "the compression type is missing at the end"),
        ("nrst0x", 'it ends in "x", which is not a compression type'),
        ("nrst0aa", 'it ends in "aa", which is not a compression type'),
        ("nrst00a", 'the alias number "00" has a leading zero, and st00 is not the same alias as st0'),
        ("NRST0A", "tape device names are lower case"),
        (" nrst0a", "it does not start with a rewind type"),
    ],
)
def test_bad_names(text: str, reason: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_device_name(text)
    message = str(info.value)
    assert message.startswith(f'"{text}" is not a tape device name: {reason}.')
    assert message.endswith("for example nrst0a.")


def test_empty_name() -> None:
    with pytest.raises(ValueError, match="A tape device name is empty"):
        parse_device_name("")


def test_device_name_checks_its_fields() -> None:
    with pytest.raises(ValueError, match="alias_number"):
        DeviceName(RewindType.REWIND, -1, "a")
    with pytest.raises(ValueError, match="compression must be one of"):
        DeviceName(RewindType.REWIND, 0, "z")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        DeviceName("nr", 0, "a")  # type: ignore[arg-type]


def test_rewind_descriptions() -> None:
    assert [r.description for r in RewindType] == [
        "rewind device,", "no rewind device,", "unload/reload device,",
    ]


def test_device_listing_rows_in_seed_order() -> None:
    rows = device_listing(0, HP_ULTRIUM_2)
    assert [row[0] for row in rows] == [
        "rst0l", "nrst0l", "urst0l", "rst0m", "nrst0m", "urst0m",
        "rst0h", "nrst0h", "urst0h", "rst0a", "nrst0a", "urst0a",
    ]
    assert rows[1] == ("nrst0l", "no rewind device,", "format is: HP (200GB)")
    assert rows[-1] == ("urst0a", "unload/reload device,", "format is: HP (400GB w/comp)")


def test_format_listing_reproduces_the_seed() -> None:
    assert format_listing("fc202_6:2.126L1", 0, HP_ULTRIUM_2) == SEED_LISTING


def test_format_listing_widens_for_long_alias_numbers() -> None:
    lines = format_listing("0b.5", 12, get_bundled("IBM_LTO8")).splitlines()
    assert lines[0] == "           Tape drive (0b.5)  IBM         LTO-8"
    assert lines[1] == "rst12l  -  rewind device,                format is: LTO-7 6000GB"
    assert lines[2] == "nrst12l -  no rewind device,             format is: LTO-7 6000GB"
    assert lines[-1] == "urst12a -  unload/reload device,         format is: LTO-8 30000GB cmp"


def test_device_name_selects_a_setting() -> None:
    config = get_bundled("IBM_LTO5")
    assert parse_device_name("nrst0a").setting(config) == config.settings["a"]
    assert parse_device_name("rst0h").setting(config).density == 0x58
