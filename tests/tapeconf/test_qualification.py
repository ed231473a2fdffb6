"""The qualification table: Qualified, Dynamically Qualified, Nonqualified, emulation."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tapeconf import (
    QualificationTable,
    SupportRow,
    SupportStatus,
    TapeConfig,
    TapeConfigError,
    UnknownDriveError,
    get_bundled,
    parse_tape_config,
    render_tape_config,
)


def test_support_status_values() -> None:
    assert [s.value for s in SupportStatus] == [
        "Qualified", "Dynamically Qualified", "Nonqualified",
    ]
    assert SupportStatus.QUALIFIED.is_supported
    assert SupportStatus.DYNAMICALLY_QUALIFIED.is_supported
    assert not SupportStatus.NONQUALIFIED.is_supported
    assert SupportStatus.NONQUALIFIED.listing_text == "Nonqualified tape drive"
    assert SupportStatus.QUALIFIED.listing_text == "Qualified"


def test_builtin_drives_are_qualified() -> None:
    table = QualificationTable()
    assert table.status("IBM     ", "ULT3580-TD8     ") is SupportStatus.QUALIFIED
    assert table.lookup("IBM", "ULT3580-TD8") is get_bundled("IBM_LTO8")
    assert table.status("HP", "Ultrium 5-SCSI") is SupportStatus.QUALIFIED


def test_unknown_drives_are_nonqualified() -> None:
    table = QualificationTable()
    assert table.status("ACME", "Tape 3000") is SupportStatus.NONQUALIFIED
    assert table.lookup("ACME", "Tape 3000") is None
    assert table.status("IBM", "ULT3580-TD4") is SupportStatus.NONQUALIFIED


def test_user_files_are_dynamically_qualified(tmp_path: Path, seed_hp_lto5: str) -> None:
    table = QualificationTable(builtin=[get_bundled("IBM_LTO5")])
    assert table.status("HP", "Ultrium 5-SCSI") is SupportStatus.NONQUALIFIED
    path = tmp_path / "HP_LTO5.tcf"
    path.write_text(seed_hp_lto5)
    config = table.add_config_file(path)
    assert table.status("HP", "Ultrium 5-SCSI") is SupportStatus.DYNAMICALLY_QUALIFIED
    assert table.lookup("HP", "Ultrium 5-SCSI") is config
    assert len(table) == 2


def test_bad_user_file_leaves_the_table_unchanged(tmp_path: Path) -> None:
    table = QualificationTable()
    path = tmp_path / "bad.tcf"
    path.write_text('vendor_id="ACME"\n')
    with pytest.raises(TapeConfigError, match="bad.tcf, end of file: the required key product_id"):
        table.add_config_file(path)
    assert len(table) == len(QualificationTable())


def test_dynamic_entry_overrides_builtin_for_the_same_drive() -> None:
    builtin = get_bundled("HP_LTO5")
    newer = dataclasses.replace(builtin, source="HP_LTO5_v2.tcf", autoload=False)
    table = QualificationTable(dynamic=[newer])
    assert table.lookup("HP", "Ultrium 5-SCSI") is newer
    assert table.status("HP", "Ultrium 5-SCSI") is SupportStatus.DYNAMICALLY_QUALIFIED
    # Other drives are unaffected.
    assert table.status("HP", "Ultrium 6-SCSI") is SupportStatus.QUALIFIED


def test_later_dynamic_entry_wins_a_tie() -> None:
    first = dataclasses.replace(get_bundled("HP_LTO5"), source="one.tcf")
    second = dataclasses.replace(first, source="two.tcf", autoload=False)
    table = QualificationTable(builtin=[], dynamic=[first])
    table.add(second)
    assert table.lookup("HP", "Ultrium 5-SCSI") is second


def test_longest_id_match_size_wins() -> None:
    family = dataclasses.replace(get_bundled("IBM_LTO5"), id_match_size=7, source="family.tcf")
    exact = get_bundled("IBM_LTO5")
    table = QualificationTable(builtin=[family, exact])
    assert table.lookup("IBM", "ULT3580-TD5") is exact
    assert table.lookup("IBM", "ULT3580-HH5") is family
    table = QualificationTable(builtin=[exact, family])
    assert table.lookup("IBM", "ULT3580-TD5") is exact


def test_rows_for_attached_drives_like_show_supported_status() -> None:
    table = QualificationTable(dynamic=[parse_tape_config(
        render_tape_config(dataclasses.replace(
            get_bundled("TANDBERG_LTO8"), product_id="LTO-2 HH", id_match_size=8,
        )), "TANDBERG_LTO2.tcf",
    )])
    rows = table.rows([
        ("ACME    ", "Tape 3000       "),
        ("HP      ", "Ultrium 5-SCSI  "),
        ("TANDBERG", "LTO-2 HH        "),
    ])
    assert rows == [
        SupportRow("ACME Tape 3000", False, "Nonqualified tape drive"),
        SupportRow("Hewlett-Packard LTO-5", True, "Qualified"),
        SupportRow("Tandberg LTO-8 HH", True, "Dynamically Qualified"),
    ]


def test_rows_without_attached_drives_list_the_entries_in_effect() -> None:
    newer = dataclasses.replace(get_bundled("HP_LTO5"), source="mine.tcf")
    table = QualificationTable(builtin=[get_bundled("HP_LTO5"), get_bundled("IBM_LTO5")],
                               dynamic=[newer])
    assert table.rows() == [
        SupportRow("Hewlett-Packard LTO-5", True, "Dynamically Qualified"),
        SupportRow("IBM LTO-5", True, "Qualified"),
    ]


def test_emulate_a_nonqualified_drive() -> None:
    table = QualificationTable()
    assert table.status("ACME", "LTO5 CLONE") is SupportStatus.NONQUALIFIED
    emulation = table.emulate("ACME    ", "LTO5 CLONE      ", "ibm_lto5")
    target = get_bundled("IBM_LTO5")

    assert isinstance(emulation, TapeConfig)
    assert (emulation.vendor_id, emulation.product_id) == ("ACME", "LTO5 CLONE")
    assert emulation.id_match_size == len("LTO5 CLONE")
    assert emulation.emulates == "IBM_LTO5"
    assert emulation.settings == target.settings
    assert emulation.cmd_timeouts == target.cmd_timeouts
    assert emulation.autoload == target.autoload
    assert emulation.display_name == "ACME LTO5 CLONE"  # shows which drive it really is

    assert table.status("ACME", "LTO5 CLONE") is SupportStatus.DYNAMICALLY_QUALIFIED
    assert table.status("ACME", "LTO5 CLONE").is_supported
    assert table.lookup("ACME    ", "LTO5 CLONE      ") is emulation
    # The personality it borrowed from is untouched, and still found by name.
    assert table.find("IBM_LTO5") is target
    assert table.lookup("IBM", "ULT3580-TD5") is target
    assert "ACME" not in " ".join(table.names())


def test_emulate_unknown_personality() -> None:
    table = QualificationTable()
    with pytest.raises(KeyError) as info:
        table.emulate("ACME", "LTO5 CLONE", "IBM_LTO3")
    assert isinstance(info.value, UnknownDriveError)
    assert 'no tape drive personality named "IBM_LTO3"' in str(info.value)
    assert "IBM_LTO5" in str(info.value)
    assert table.status("ACME", "LTO5 CLONE") is SupportStatus.NONQUALIFIED


def test_emulate_as_a_dynamic_personality() -> None:
    mine = dataclasses.replace(get_bundled("HP_LTO6"), vendor_id="MINE", source="MY_DRIVE.tcf")
    table = QualificationTable(builtin=[], dynamic=[mine])
    emulation = table.emulate("ACME", "X1", "my_drive")
    assert emulation.emulates == "MY_DRIVE"
    assert emulation.settings == mine.settings


@pytest.mark.parametrize(
    ("vendor", "product", "message"),
    [("TOOLONGVENDOR", "X", "vendor_id \"TOOLONGVENDOR\" is 13 bytes"),
     ("ACME", "", "product_id is empty"),
     ("ACME", "Tape\x00", "not printable ASCII")],
)
def test_emulate_refuses_impossible_inquiry_ids(vendor: str, product: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        QualificationTable().emulate(vendor, product, "IBM_LTO5")


def test_add_refuses_other_objects() -> None:
    with pytest.raises(TypeError):
        QualificationTable().add("HP_LTO5.tcf")  # type: ignore[arg-type]


def test_iteration_order_is_search_order() -> None:
    mine = dataclasses.replace(get_bundled("HP_LTO6"), source="mine.tcf")
    table = QualificationTable(builtin=[get_bundled("IBM_LTO5")], dynamic=[mine])
    assert list(table) == [mine, get_bundled("IBM_LTO5")]
