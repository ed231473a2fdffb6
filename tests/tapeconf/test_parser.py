"""Reading tape configuration files: the seed's example, the syntax, every complaint."""

from __future__ import annotations

import re

import pytest

from tapeconf import DensitySetting, TapeConfig, TapeConfigError, load_tape_config, parse_tape_config

# The same settings, one per line, so tests can point at line numbers.
BASE_LINES = [
    'vendor_id="HP"',                            # 1
    'product_id="Ultrium 5-SCSI"',               # 2
    "id_match_size=9",                           # 3
    'vendor_pretty="Hewlett-Packard"',           # 4
    'product_pretty="LTO-5"',                    # 5
    'l_description="LTO-3(ro)/4 4/800GB"',       # 6
    "l_density=0x00",                            # 7
    "l_algorithm=0x00",                          # 8
    'm_description="LTO-3(ro)/4 8/1600GB cmp"',  # 9
    "m_density=0x00",                            # 10
    "m_algorithm=0x01",                          # 11
    'h_description="LTO-5 1600GB"',              # 12
    "h_density=0x58",                            # 13
    "h_algorithm=0x00",                          # 14
    'a_description="LTO-5 3200GB cmp"',          # 15
    "a_density=0x58",                            # 16
    "a_algorithm=0x01",                          # 17
    'autoload="yes"',                            # 18
]


def text_with(replace: dict[int, str | None] | None = None, append: list[str] = ()) -> str:
    """BASE_LINES with some lines replaced (by 1-based number; None drops it) or added."""
    lines = []
    for number, line in enumerate(BASE_LINES, start=1):
        new = (replace or {}).get(number, line)
        if new is not None:
            lines.append(new)
    return "\n".join([*lines, *append]) + "\n"


def error_for(text: str, source: str = "HP_LTO5.tcf") -> TapeConfigError:
    with pytest.raises(TapeConfigError) as info:
        parse_tape_config(text, source)
    return info.value


def assert_error(error: TapeConfigError, line: int, *fragments: str) -> None:
    """The message names the file, the line, what is wrong and the fix."""
    text = str(error)
    assert error.line == line
    where = f"HP_LTO5.tcf, line {line}: " if line else "HP_LTO5.tcf, end of file: "
    assert text.startswith(where), text
    assert " Fix: " in text and text.endswith("."), text
    assert error.fix and error.fix in text
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in {text!r}"


# -- the seed's example --------------------------------------------------------------

def test_seed_example_parses(seed_hp_lto5: str) -> None:
    config = parse_tape_config(seed_hp_lto5, "HP_LTO5.tcf")
    assert config.vendor_id == "HP"
    assert config.product_id == "Ultrium 5-SCSI"
    assert config.id_match_size == 9
    assert config.vendor_pretty == "Hewlett-Packard"
    assert config.product_pretty == "LTO-5"
    assert dict(config.settings) == {
        "l": DensitySetting("LTO-3(ro)/4 4/800GB", 0x00, 0x00),
        "m": DensitySetting("LTO-3(ro)/4 8/1600GB cmp", 0x00, 0x01),
        "h": DensitySetting("LTO-5 1600GB", 0x58, 0x00),
        "a": DensitySetting("LTO-5 3200GB cmp", 0x58, 0x01),
    }
    assert config.autoload is True
    assert dict(config.cmd_timeouts) == {}
    assert config.source == "HP_LTO5.tcf"
    assert config.name == "HP_LTO5"
    assert config.display_vendor == "Hewlett-Packard"
    assert config.display_product == "LTO-5"


def test_seed_example_matches_hp_lto5_inquiry(seed_hp_lto5: str) -> None:
    config = parse_tape_config(seed_hp_lto5)
    assert config.matches("HP      ", "Ultrium 5-SCSI  ")
    assert config.matches("HP", "Ultrium 5-SCSI")
    # id_match_size=9: "Ultrium 5" is all that is compared.
    assert config.matches("HP", "Ultrium 5-SAS")
    assert not config.matches("HP", "Ultrium 6-SCSI")
    assert not config.matches("IBM", "Ultrium 5-SCSI")
    assert not config.matches("hp", "Ultrium 5-SCSI")


def test_load_tape_config_reads_a_file(tmp_path, seed_hp_lto5: str) -> None:
    path = tmp_path / "HP_LTO5.tcf"
    path.write_text(seed_hp_lto5)
    config = load_tape_config(path)
    assert config == parse_tape_config(seed_hp_lto5)
    assert config.source == str(path)


def test_load_tape_config_rejects_bytes_that_are_not_text(tmp_path) -> None:
    path = tmp_path / "HP_LTO5.tcf"
    path.write_bytes(b'vendor_id="HP"\nproduct_id="Ult\xffrium"\n')
    with pytest.raises(TapeConfigError) as info:
        load_tape_config(path)
    assert info.value.line == 2
    assert "0xFF is not text" in str(info.value)


# -- syntax that is accepted ------------------------------------------------------------

def test_comments_blank_lines_spaces_and_unquoted_values() -> None:
    text = "\n".join([
        "# HP LTO-5",
        "",
        "   vendor_id = HP   # inline comment",
        'product_id="Ultrium 5-SCSI"   # quoted, then a comment',
        "id_match_size=9",
        "l_description=LTO-4",
        "l_density=0x00", "l_algorithm=0X00",
        'm_description="LTO-4 # not a comment"',
        "m_density=0x00", "m_algorithm=0x1",
        'h_description="LTO-5"', "h_density=0x58", "h_algorithm=0x00",
        'a_description="LTO-5 cmp"', "a_density=0x58", "a_algorithm=0x01",
        "autoload=YES",
        "cmd_timeout_0x08=10m",
        "cmd_timeout_0x0A=90s",
        "cmd_timeout_0x1b=500ms",
    ]) + "\r\n"
    config = parse_tape_config("\ufeff" + text.replace("\n", "\r\n"))
    assert config.vendor_id == "HP"
    assert config.settings["l"].description == "LTO-4"
    assert config.settings["m"].description == "LTO-4 # not a comment"
    assert config.settings["m"].algorithm == 0x01
    assert config.vendor_pretty is None and config.product_pretty is None
    assert config.display_vendor == "HP" and config.display_product == "Ultrium 5-SCSI"
    assert config.autoload is True
    assert dict(config.cmd_timeouts) == {0x08: 600.0, 0x0A: 90.0, 0x1B: 0.5}


def test_autoload_defaults_to_no() -> None:
    assert parse_tape_config(text_with({18: None})).autoload is False
    assert parse_tape_config(text_with({18: "autoload=no"})).autoload is False


def test_quoted_numbers_are_accepted() -> None:
    config = parse_tape_config(text_with({3: 'id_match_size="9"', 13: 'h_density="0x58"'}))
    assert config.id_match_size == 9
    assert config.settings["h"].density == 0x58


def test_equality_ignores_source(seed_hp_lto5: str) -> None:
    assert parse_tape_config(seed_hp_lto5, "a.tcf") == parse_tape_config(seed_hp_lto5, "b.tcf")


# -- keys -------------------------------------------------------------------------------

def test_unknown_key_suggests_the_closest() -> None:
    error = error_for(text_with(append=['vendr_pretty="x"']))
    assert_error(error, 19, "vendr_pretty is not a key", "write vendor_pretty if that is the key you meant")


def test_unknown_key_with_nothing_close_lists_the_keys() -> None:
    error = error_for(text_with(append=["colour=blue"]))
    assert_error(error, 19, "colour is not a key", "use one of the keys vendor_id, product_id")


def test_unknown_compression_type_names_the_four() -> None:
    error = error_for(text_with(append=["x_density=0x58"]))
    assert_error(error, 19, "x_density is not a key", "l_density, m_density, h_density or a_density")


def test_upper_case_key() -> None:
    error = error_for(text_with({1: 'Vendor_ID="HP"'}))
    assert_error(error, 1, "Vendor_ID is not a key", "keys are lower case: write vendor_id")


def test_unknown_key_is_reported_before_its_value() -> None:
    error = error_for(text_with(append=["colour="]))
    assert_error(error, 19, "colour is not a key")


def test_duplicate_key() -> None:
    error = error_for(text_with(append=['vendor_id="IBM"']))
    assert_error(error, 19, "vendor_id is set again; it was first set on line 1",
                 "remove the other")


def test_duplicate_timeout_spelled_differently() -> None:
    error = error_for(text_with(append=["cmd_timeout_0x1b=10m", "cmd_timeout_0x1B=20m"]))
    assert_error(error, 20, "operation code 0x1B again", "first set on line 19 (cmd_timeout_0x1b)")


@pytest.mark.parametrize(
    ("drop", "key"),
    [(1, "vendor_id"), (2, "product_id"), (3, "id_match_size"), (6, "l_description"),
     (10, "m_density"), (17, "a_algorithm")],
)
def test_missing_required_key(drop: int, key: str) -> None:
    error = error_for(text_with({drop: None}))
    assert_error(error, 0, f"the required key {key} is missing", f"add a line {key}=")


def test_empty_file() -> None:
    error = error_for("# nothing here\n\n")
    assert_error(error, 0, "the file sets nothing", "add vendor_id, product_id, id_match_size")


def test_line_without_equals() -> None:
    error = error_for(text_with(append=["vendor_id"]))
    assert_error(error, 19, '"vendor_id" is not a key=value line', "key=value")


def test_key_with_bad_characters() -> None:
    error = error_for(text_with(append=["vendor id=HP"]))
    assert_error(error, 19, '"vendor id" is not a key', "underscores")


def test_key_without_value() -> None:
    error = error_for(text_with({2: "product_id=   # to do"}))
    assert_error(error, 2, "product_id has no value", "write a value after the = sign")


# -- quoting ----------------------------------------------------------------------------

def test_unterminated_quote() -> None:
    error = error_for(text_with({2: 'product_id="Ultrium 5-SCSI'}))
    assert_error(error, 2, "opens a double quote but never closes it",
                 'product_id="Ultrium 5-SCSI"')


def test_text_after_closing_quote() -> None:
    error = error_for(text_with({2: 'product_id="Ultrium" 5-SCSI"'}))
    assert_error(error, 2, "continues after its closing double quote", "one pair of double quotes")


def test_unquoted_value_with_spaces() -> None:
    error = error_for(text_with({2: "product_id=Ultrium 5-SCSI"}))
    assert_error(error, 2, "contains white space but is not in double quotes",
                 'product_id="Ultrium 5-SCSI"')


def test_stray_quote_in_unquoted_value() -> None:
    error = error_for(text_with({2: 'product_id=Ultrium"5'}))
    assert_error(error, 2, "stray double quote")


# -- strings ----------------------------------------------------------------------------

def test_product_id_too_long() -> None:
    error = error_for(text_with({2: 'product_id="Ultrium 5-SCSI-LONG"'}))
    assert str(error) == (
        'HP_LTO5.tcf, line 2: product_id "Ultrium 5-SCSI-LONG" is 19 bytes; at most 16 '
        "are allowed. Fix: shorten it to the product id the drive reports in INQUIRY."
    )


@pytest.mark.parametrize(
    ("number", "line", "size", "limit"),
    [
        (1, 'vendor_id="HEWLETTPK"', 9, 8),
        (4, 'vendor_pretty="Hewlett Packard Enterprise"', 26, 16),
        (5, 'product_pretty="LTO-5 Ultrium SCSI"', 18, 16),
        (12, 'h_description="LTO-5 1500GB native capacity"', 28, 24),
    ],
)
def test_strings_too_long(number: int, line: str, size: int, limit: int) -> None:
    error = error_for(text_with({number: line}))
    key = line.split("=")[0]
    assert_error(error, number, f"{key} ", f"is {size} bytes; at most {limit} are allowed",
                 "shorten")


def test_empty_string() -> None:
    error = error_for(text_with({1: 'vendor_id=""'}))
    assert_error(error, 1, "vendor_id is empty", "the vendor id the drive reports in INQUIRY")


def test_non_ascii_string() -> None:
    error = error_for(text_with({4: 'vendor_pretty="Hewlett-Packärd"'}))
    assert_error(error, 4, "'ä' (U+00E4) at position 13, which is not printable ASCII", "ASCII")


# -- numbers and codes --------------------------------------------------------------------

def test_id_match_size_not_a_number() -> None:
    error = error_for(text_with({3: "id_match_size=nine"}))
    assert_error(error, 3, 'id_match_size "nine" is not a whole number', "id_match_size=9")


def test_id_match_size_longer_than_product_id() -> None:
    error = error_for(text_with({3: "id_match_size=15"}))
    assert_error(error, 3, 'id_match_size is 15 but product_id "Ultrium 5-SCSI" is only 14 bytes',
                 "use a number from 1 to 14")


def test_id_match_size_zero() -> None:
    error = error_for(text_with({3: "id_match_size=0"}))
    assert_error(error, 3, "at least 1 byte must be matched", "from 1 to 14")


def test_id_match_size_is_checked_even_when_it_comes_first() -> None:
    text = text_with({2: None, 3: None}).replace(
        'vendor_id="HP"', 'vendor_id="HP"\nid_match_size=20\nproduct_id="Ultrium 5-SCSI"'
    )
    assert_error(error_for(text), 2, "id_match_size is 20")


def test_vendor_pretty_without_product_pretty() -> None:
    error = error_for(text_with({5: None}))
    assert_error(error, 4, "vendor_pretty is set but product_pretty is not",
                 'add a product_pretty="..." line, or remove vendor_pretty')


def test_product_pretty_without_vendor_pretty() -> None:
    error = error_for(text_with({4: None}))
    assert_error(error, 4, "product_pretty is set but vendor_pretty is not",
                 'add a vendor_pretty="..." line, or remove product_pretty')


@pytest.mark.parametrize("value", ["58", "0x", "0xZZ", "88h", "-0x1"])
def test_density_not_hex(value: str) -> None:
    error = error_for(text_with({13: f"h_density={value}"}))
    assert_error(error, 13, f'h_density "{value}" is not a hex code', "e.g. h_density=0x58")


def test_density_larger_than_a_byte() -> None:
    error = error_for(text_with({13: "h_density=0x158"}))
    assert_error(error, 13, "h_density 0x158 does not fit in one byte (0x00 to 0xFF)",
                 "REPORT DENSITY SUPPORT")


def test_algorithm_not_hex() -> None:
    error = error_for(text_with({14: "h_algorithm=on"}))
    assert_error(error, 14, 'h_algorithm "on" is not a hex code', "h_algorithm=0x01")


def test_algorithm_larger_than_a_byte() -> None:
    error = error_for(text_with({17: "a_algorithm=0x100"}))
    assert_error(error, 17, "a_algorithm 0x100 does not fit in one byte",
                 "use 0x01 for the drive's default compression or 0x00 for none")


def test_autoload_not_yes_or_no() -> None:
    error = error_for(text_with({18: 'autoload="true"'}))
    assert_error(error, 18, 'autoload "true" is neither yes nor no', 'autoload="yes"')


# -- command timeouts -----------------------------------------------------------------------

@pytest.mark.parametrize(
    ("value", "seconds"),
    [("10m", 600.0), ("90s", 90.0), ("500ms", 0.5), ("1ms", 0.001), ("0090s", 90.0)],
)
def test_timeout_units(value: str, seconds: float) -> None:
    config = parse_tape_config(text_with(append=[f"cmd_timeout_0x08={value}"]))
    assert config.cmd_timeouts == {0x08: seconds}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("10", '"10" has no unit'),
        ("10h", '"10h" has the unit "h", which is not m, s or ms'),
        ("1.5m", '"1.5m" is not a whole number followed by a unit'),
        ("m", '"m" is not a whole number followed by a unit'),
        ("-5s", '"-5s" is not a whole number followed by a unit'),
    ],
)
def test_timeout_bad_value(value: str, message: str) -> None:
    error = error_for(text_with(append=[f"cmd_timeout_0x08={value}"]))
    assert_error(error, 19, f"cmd_timeout_0x08 {message}", "e.g. 10m, 90s or 500ms")


def test_timeout_zero() -> None:
    error = error_for(text_with(append=["cmd_timeout_0x08=0s"]))
    assert_error(error, 19, "is zero; a timeout must be positive", "remove the line")


@pytest.mark.parametrize("key", ["cmd_timeout_08", "cmd_timeout_0x", "cmd_timeout_0xG1", "cmd_timeout_"])
def test_timeout_bad_opcode(key: str) -> None:
    error = error_for(text_with(append=[f"{key}=10m"]))
    assert_error(error, 19, f"{key} does not end in an operation code in hex", "cmd_timeout_0x01")


def test_timeout_opcode_larger_than_a_byte() -> None:
    error = error_for(text_with(append=["cmd_timeout_0x108=10m"]))
    assert_error(error, 19, "operation code 0x108 does not fit in one byte")


def test_first_error_wins() -> None:
    error = error_for(text_with({2: 'product_id="' + "x" * 20 + '"', 13: "h_density=zz"}))
    assert error.line == 2


def test_error_parts_are_kept_apart() -> None:
    error = error_for(text_with({13: "h_density=zz"}))
    assert (error.source, error.line) == ("HP_LTO5.tcf", 13)
    assert error.message == 'h_density "zz" is not a hex code.'
    assert re.fullmatch(r"write it as 0x .*\.", error.fix)
    assert isinstance(error, ValueError)


def test_parsed_config_is_a_tape_config(seed_hp_lto5: str) -> None:
    assert isinstance(parse_tape_config(seed_hp_lto5), TapeConfig)


def test_hash_inside_a_value_is_part_of_it() -> None:
    config = parse_tape_config(text_with({2: "product_id=ULT#1", 3: "id_match_size=5"}))
    assert config.product_id == "ULT#1"


def test_unquoted_value_with_spaces_suggests_quotes_without_the_comment() -> None:
    error = error_for(text_with({2: "product_id=Ultrium 5-SCSI   # HP"}))
    assert error.fix == 'put the value in double quotes: product_id="Ultrium 5-SCSI".'
