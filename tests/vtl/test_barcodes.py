"""Barcodes and barcode ranges (vtl/barcodes.py)."""
from __future__ import annotations

import pytest

from vtl.barcodes import MAX_BARCODE_LENGTH, barcode_problem, expand_barcodes


@pytest.mark.parametrize(("barcode", "words"), [
    ("", "empty"),
    ("A" * (MAX_BARCODE_LENGTH + 1), f"at most {MAX_BARCODE_LENGTH}"),
    ("vtl000l8", "lower-case letters; write VTL000L8"),
    ("VTL-00L8", "contains '-'"),
])
def test_barcode_problem_says_what_is_wrong(barcode: str, words: str) -> None:
    problem = barcode_problem(barcode)
    assert problem is not None and words in problem, problem


def test_a_valid_barcode_has_no_problem() -> None:
    assert barcode_problem("VTL000L8") is None
    assert barcode_problem("A" * MAX_BARCODE_LENGTH) is None


@pytest.mark.parametrize(("text", "expected"), [
    ("VTL000L8-VTL003L8", ["VTL000L8", "VTL001L8", "VTL002L8", "VTL003L8"]),
    ("VTL009L8-VTL011L8", ["VTL009L8", "VTL010L8", "VTL011L8"]),
    ("A00998L8-A01000L8", ["A00998L8", "A00999L8", "A01000L8"]),
    ("ABC98-ABC100", None),                       # different lengths
    ("CLN000CU-CLN002CU", ["CLN000CU", "CLN001CU", "CLN002CU"]),
    ("X1-X1", ["X1"]),
    ("VTL000L8 - VTL001L8", ["VTL000L8", "VTL001L8"]),
    ("VTL005L8", ["VTL005L8"]),
    ("000001-000003", ["000001", "000002", "000003"]),
])
def test_expand_barcodes(text: str, expected: list[str] | None) -> None:
    if expected is None:
        with pytest.raises(ValueError, match="different lengths"):
            expand_barcodes(text)
    else:
        assert expand_barcodes(text) == expected


@pytest.mark.parametrize(("text", "words"), [
    ("VTL009L8-VTL000L8", "counts down"),
    ("VTA000L8-VTB000L8", "differ in letters"),
    ("VTL000L7-VTL000L8", "different media ids"),
    ("A-B-C", 'more than one "-"'),
    ("VTL000L8-", "empty"),
])
def test_bad_barcode_ranges(text: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        expand_barcodes(text)
