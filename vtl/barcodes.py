"""Barcodes: what a valid label is, and ranges of them as configurations write them.

A barcode is what the changer reports as the volume tag and what operators type: 1 to 32
upper-case letters and digits, ending (for LTO) in the media id, such as ``VTL000L8``.
A range ``VTL000L8-VTL019L8`` counts up the number in it and keeps the rest.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from images.cartridge.media import media_for_barcode

__all__ = ["MAX_BARCODE_LENGTH", "BarcodeRange", "barcode_problem", "expand_barcodes", "parse_range"]

#: SMC primary volume tag identifier: 32 bytes.
MAX_BARCODE_LENGTH = 32

_BARCODE = re.compile(r"[A-Z0-9]+", re.ASCII)


def barcode_problem(barcode: str) -> str | None:
    """None if ``barcode`` is a valid label, else the reason it is not."""
    if barcode == "":
        return "a barcode is empty."
    if len(barcode) > MAX_BARCODE_LENGTH:
        return (f'the barcode "{barcode}" has {len(barcode)} characters; a barcode has at most '
                f"{MAX_BARCODE_LENGTH}.")
    if not _BARCODE.fullmatch(barcode):
        if _BARCODE.fullmatch(barcode.upper()):
            return f'the barcode "{barcode}" has lower-case letters; write {barcode.upper()}.'
        bad = next(c for c in barcode if not _BARCODE.fullmatch(c.upper()))
        return (f'the barcode "{barcode}" contains {bad!r}; barcodes are upper-case letters '
                "and digits.")
    return None


@dataclass(frozen=True)
class BarcodeRange:
    """``prefix + number (zero-padded to width) + suffix`` for number in first..last."""

    prefix: str
    first: int
    last: int
    width: int
    suffix: str

    def __len__(self) -> int:
        return self.last - self.first + 1

    def __iter__(self):
        if self.width == 0:                 # one barcode, no number to count
            yield self.prefix + self.suffix
            return
        for n in range(self.first, self.last + 1):
            yield f"{self.prefix}{n:0{self.width}d}{self.suffix}"


def parse_range(text: str) -> BarcodeRange:
    """``VTL000L8-VTL019L8`` (or one barcode); raises ValueError with the reason."""
    ends = [part.strip() for part in text.split("-")]
    if len(ends) > 2:
        raise ValueError(f'"{text}" has more than one "-"; a range is two barcodes joined by '
                         'one "-", like VTL000L8-VTL019L8.')
    for end in ends:
        reason = barcode_problem(end)
        if reason:
            raise ValueError(reason)
    if len(ends) == 1 or ends[0] == ends[1]:
        return BarcodeRange(ends[0], 0, 0, 0, "")
    first, last = ends
    if len(first) != len(last):
        raise ValueError(f'the two ends of the range "{text}" have different lengths; both ends '
                         "have the same number of characters, like VTL000L8-VTL019L8.")
    start = 0
    while first[start] == last[start]:
        start += 1
    end = len(first)
    while first[end - 1] == last[end - 1]:
        end -= 1
    while start > 0 and first[start - 1].isdigit():
        start -= 1
    while end < len(first) and first[end].isdigit():
        end += 1
    a, b = first[start:end], last[start:end]
    if not (a.isdigit() and b.isdigit()):
        raise ValueError(f'the ends of the range "{text}" differ in letters; only the number in '
                         "a barcode can count up along a range, like VTL000L8-VTL019L8.")
    if int(a) > int(b):
        raise ValueError(f'the range "{text}" counts down; write the lower barcode first: '
                         f"{last}-{first}.")
    if media_for_barcode(first) != media_for_barcode(last):
        raise ValueError(f'the ends of the range "{text}" have different media ids; a range keeps '
                         "the media id and counts up the number before it, like "
                         "VTL000L8-VTL019L8.")
    return BarcodeRange(first[:start], int(a), int(b), end - start, first[end:])


def expand_barcodes(text: str) -> list[str]:
    """The barcodes of a range such as ``VTL000L8-VTL019L8`` (or of one barcode).

    The number that differs between the two ends counts up, keeping its width; the rest
    stays.  Raises ``ValueError`` saying what is wrong.
    """
    return list(parse_range(text))
