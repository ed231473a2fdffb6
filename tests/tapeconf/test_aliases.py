"""Tape aliases: st0/mc1 names, SN[...]L<lun> and physical path names."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tapeconf.aliases import (
    MAX_LUN,
    MAX_SERIAL_LENGTH,
    Alias,
    AliasKind,
    AliasScope,
    Mapping,
    MappingKind,
    alias_name,
    check_serial,
    direct_ppn,
    mapping_key,
    parse_alias,
    parse_mapping,
    ppn,
    serial_mapping,
)

# -- alias names ---------------------------------------------------------------------


@pytest.mark.parametrize(("name", "kind"), [
    ("st0", AliasKind.TAPE),
    ("st3", AliasKind.TAPE),
    ("st00", AliasKind.TAPE),
    ("st127", AliasKind.TAPE),
    ("mc0", AliasKind.MEDIA_CHANGER),
    ("mc1", AliasKind.MEDIA_CHANGER),
])
def test_parse_alias(name: str, kind: AliasKind) -> None:
    alias = parse_alias(name)
    assert alias == Alias(kind, name)
    assert alias.kind is kind
    assert str(alias) == name


def test_st0_and_st00_are_different_logical_names() -> None:
    # The seed: "st0 and st00 are different logical names."
    assert parse_alias("st0") != parse_alias("st00")
    assert parse_alias("st0").number == parse_alias("st00").number == 0


@pytest.mark.parametrize(("name", "words"), [
    ("", "empty"),
    ("st", "number is missing"),
    ("mc", "number is missing"),
    ("ST0", "write st0"),
    ("Mc1", "write mc1"),
    ("mcl", "did you mean mc1"),       # the seed's "-name mcl" is an OCR'd mc1
    ("st-1", "not a number"),
    ("st1a", "not a number"),
    ("nrst0a", "not an alias name"),   # a device name, not an alias
    ("tape0", "not an alias name"),
    (" st0", "not an alias name"),
])
def test_parse_alias_refuses(name: str, words: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_alias(name)
    message = str(info.value)
    assert words in message
    assert "st0" in message or "mc1" in message  # a correct example


def test_alias_kind_must_match_name() -> None:
    with pytest.raises(ValueError, match="medium changer alias"):
        Alias(AliasKind.TAPE, "mc0")


def test_alias_name() -> None:
    assert alias_name(AliasKind.TAPE, 3) == "st3"
    assert alias_name(AliasKind.MEDIA_CHANGER, 0) == "mc0"
    with pytest.raises(ValueError, match="st0"):
        alias_name(AliasKind.TAPE, -1)


def test_alias_scope() -> None:
    assert AliasScope.parse("tape") is AliasScope.TAPE
    assert AliasScope.parse("media-changer") is AliasScope.MEDIA_CHANGER
    assert AliasScope.parse("ALL") is AliasScope.ALL
    assert AliasScope.TAPE.covers(AliasKind.TAPE)
    assert not AliasScope.TAPE.covers(AliasKind.MEDIA_CHANGER)
    assert AliasScope.MEDIA_CHANGER.covers(AliasKind.MEDIA_CHANGER)
    assert not AliasScope.MEDIA_CHANGER.covers(AliasKind.TAPE)
    assert all(AliasScope.ALL.covers(kind) for kind in AliasKind)
    with pytest.raises(ValueError, match="-clear-scope tape"):
        AliasScope.parse("drives")


# -- serial numbers ------------------------------------------------------------------


def test_seed_serial_examples() -> None:
    # "storage tape alias set ... -name st3 -mapping SN[123456]L4" and "-mapping SN[65432]".
    assert serial_mapping("123456", 4) == "SN[123456]L4"
    assert serial_mapping("65432") == "SN[65432]"
    tape = parse_mapping("SN[123456]L4")
    assert (tape.kind, tape.serial, tape.lun) == (MappingKind.SN, "123456", 4)
    changer = parse_mapping("SN[65432]")
    assert (changer.kind, changer.serial, changer.lun) == (MappingKind.SN, "65432", 0)


def test_lun_zero_is_left_out() -> None:
    assert serial_mapping("ABC", 0) == "SN[ABC]"
    assert str(parse_mapping("SN[ABC]L0")) == "SN[ABC]"
    assert ppn("lib0", 0, 0, 0) == "lib0:0.0"


def test_serial_numbers_are_not_case_sensitive() -> None:
    assert parse_mapping("sn[abc123]l4") == parse_mapping("SN[ABC123]L4")
    assert mapping_key("sn[abc123]l4") == mapping_key("SN[ABC123]L4") == "SN[ABC123]L4"
    assert hash(parse_mapping("SN[x]")) == hash(parse_mapping("SN[X]"))
    assert parse_mapping("SN[ab]") != parse_mapping("SN[ab]L1")
    # The canonical text keeps the serial as written.
    assert str(parse_mapping("sn[abc123]l4")) == "SN[abc123]L4"


def test_serial_of_32_characters_is_accepted() -> None:
    serial = "A" * MAX_SERIAL_LENGTH
    assert MAX_SERIAL_LENGTH == 32
    assert parse_mapping(f"SN[{serial}]L1").serial == serial


def test_serial_of_33_characters_is_refused() -> None:
    with pytest.raises(ValueError) as info:
        parse_mapping("SN[" + "A" * 33 + "]")
    assert "33 characters" in str(info.value) and "at most 32" in str(info.value)
    assert "SN[123456]L4" in str(info.value)
    with pytest.raises(ValueError, match="at most 32"):
        serial_mapping("A" * 33)


@pytest.mark.parametrize(("text", "words"), [
    ("SN[]", "empty"),
    ("SN[12-34]", "letters and digits only"),
    ("SN[12_34]", "letters and digits only"),
    ("SN[12 34]", "letters and digits only"),
    ("SN[1234", 'no closing "]"'),
    ("SN[1234]4", "not a LUN"),
    ("SN[1234]L", "not a LUN"),
    ("SN[1234]L99999", "0 to 16383"),
    ("SN1234", "square brackets"),
    ("", "empty"),
])
def test_bad_serial_mappings(text: str, words: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_mapping(text)
    assert words in str(info.value)
    assert "SN[123456]L4" in str(info.value)  # a correct example


def test_check_serial() -> None:
    assert check_serial("VTL0D00000") == "VTL0D00000"
    with pytest.raises(ValueError, match="letters and digits"):
        check_serial("VTL-0")


def test_lun_bounds() -> None:
    assert parse_mapping(f"SN[A]L{MAX_LUN}").lun == MAX_LUN
    assert parse_mapping("SN[A]L[4]").lun == 4      # the seed's SN[xxxxxxxxxx]L[X] notation
    assert str(parse_mapping("SN[A]L04")) == "SN[A]L4"
    with pytest.raises(ValueError, match="0 to 16383"):
        serial_mapping("A", MAX_LUN + 1)
    with pytest.raises(ValueError):
        serial_mapping("A", -1)


_SERIALS = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                   min_size=1, max_size=MAX_SERIAL_LENGTH)


@given(serial=_SERIALS, lun=st.integers(0, MAX_LUN))
def test_serial_mapping_round_trips(serial: str, lun: int) -> None:
    text = serial_mapping(serial, lun)
    mapping = parse_mapping(text)
    assert (mapping.kind, mapping.serial, mapping.lun) == (MappingKind.SN, serial, lun)
    assert str(mapping) == text
    assert mapping_key(text.lower()) == mapping_key(text.upper()) == mapping.key
    assert ("L" in text[text.index("]"):]) == (lun != 0)


# -- physical path names ---------------------------------------------------------------


@pytest.mark.parametrize(("text", "switch", "port", "adapter", "device", "lun"), [
    ("8.6", None, None, "8", 6, 0),                   # host adapter 8, device 6, LUN 0
    ("5c.4", None, None, "5c", 4, 0),                 # SAS HBA in slot 5, port C, device 4
    ("8.6L2", None, None, "8", 6, 2),
    ("MY_SWITCH:5.3L2", "MY_SWITCH", 5, None, 3, 2),  # port 5 of MY_SWITCH, device 3, LUN 2
    ("fc202_6:2.126L1", "fc202_6", 2, None, 126, 1),  # the seed's device listing
])
def test_seed_ppn_examples_round_trip(text, switch, port, adapter, device, lun) -> None:
    mapping = parse_mapping(text)
    assert mapping.kind is MappingKind.PPN
    assert (mapping.switch, mapping.port, mapping.adapter, mapping.device_id, mapping.lun) == (
        switch, port, adapter, device, lun)
    assert str(mapping) == text


def test_ppn_functions() -> None:
    assert ppn("MY_SWITCH", 5, 3, 2) == "MY_SWITCH:5.3L2"
    assert ppn("lib0", 0, 4, 4) == "lib0:0.4L4"
    assert direct_ppn("5c", 4) == "5c.4"
    assert Mapping.switch_attached("lib0", 1, 2) == parse_mapping("LIB0:1.2")


def test_ppn_canonical_and_key() -> None:
    assert str(parse_mapping("5C.04l2")) == "5c.4L2"
    assert mapping_key("my_switch:5.3l2") == mapping_key("MY_SWITCH:5.3L2")
    assert mapping_key("5c.4") == mapping_key("5C.4")
    assert mapping_key("8.6L0") == mapping_key("8.6")
    assert parse_mapping("8.6") != parse_mapping("8.6L1")
    assert parse_mapping("8.6") != parse_mapping("SN[86]")


@pytest.mark.parametrize(("text", "words"), [
    ("8", 'no "."'),
    ("x.6", "host adapter"),
    ("5cc.4", "host adapter"),
    ("8.", "not a device id"),
    ("8.6L", "not a device id"),
    ("8.6_2", "not a device id"),
    (":5.3", "no switch name"),
    ("MY SWITCH:5.3", "switch name"),
    ("5SW:5.3", "starting with a letter"),
    ("SW:x.3", "port id"),
    ("SW:5", 'no "."'),
    ("SW:5.3L99999", "0 to 16383"),
    ("SW:70000.3", "0 to 65535"),
    (" 8.6", "blanks"),
])
def test_bad_ppns(text: str, words: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_mapping(text)
    assert words in str(info.value)
    assert "MY_SWITCH:5.3L2" in str(info.value)  # a correct example


def test_mapping_checks_itself() -> None:
    with pytest.raises(ValueError, match="not both"):
        Mapping(MappingKind.PPN, switch="S", port=1, adapter="8", device_id=1)
    with pytest.raises(ValueError, match="only a serial number"):
        Mapping(MappingKind.SN, serial="A", device_id=1)
    with pytest.raises(ValueError, match="device id"):
        Mapping(MappingKind.PPN, adapter="8")
