"""Physical media: what a cartridge is (generation, capacity, density, type codes).

These are facts about the medium, not about any drive: the density code is
what the format writes from BOT, the capacity is what fits on it.  Which drive
may read or write which density is a drive fact and lives with the drive.
"""
from __future__ import annotations

from dataclasses import dataclass

GB = 1000**3
MB = 1000**2


@dataclass(frozen=True)
class Density:
    """A recording format, as REPORT DENSITY SUPPORT describes it."""

    code: int
    name: str            # density name, e.g. "U-516"
    description: str     # e.g. "Ultrium 5/16T"
    organization: str    # assigning organization
    bits_per_mm: int
    tracks: int
    capacity: int        # native capacity in bytes
    media_width_mm10: int = 127  # half-inch tape, in tenths of a millimetre


@dataclass(frozen=True)
class MediaType:
    """One kind of cartridge.  ``name`` is what users type: ``LTO5``, ``LTO8-WORM``, ``CLN``."""

    name: str
    generation: str          # family + generation, e.g. "LTO-5"; "CLN" for cleaning
    density: Density | None  # native density (None for cleaning cartridges)
    capacity: int            # native capacity in bytes
    barcode_suffix: str      # LTO labels: L5, L8, LY (WORM), CU (cleaning)
    medium_type: int         # MODE parameter header MEDIUM TYPE
    worm: bool = False
    cleaning: bool = False
    max_partitions: int = 1

    @property
    def family(self) -> str:
        return self.generation.split("-")[0]


def _lto(gen: int, code: int, bpmm: int, tracks: int, native_gb: int) -> Density:
    return Density(code, f"U-{gen}{'16' if gen in (3, 4, 5, 6) else ('8' if gen < 3 else '32')}",
                   f"Ultrium {gen}/{'16' if gen in (3, 4, 5, 6) else ('8' if gen < 3 else '32')}T",
                   "LTO-CVE", bpmm, tracks, native_gb * GB)


DENSITIES: dict[int, Density] = {d.code: d for d in (
    _lto(1, 0x40, 4880, 384, 100),
    _lto(2, 0x42, 7398, 512, 200),
    _lto(3, 0x44, 9638, 704, 400),
    _lto(4, 0x46, 13250, 896, 800),
    _lto(5, 0x58, 15142, 1280, 1500),
    _lto(6, 0x5A, 15142, 2176, 2500),
    _lto(7, 0x5C, 19107, 3584, 6000),
    Density(0x5D, "U-732M8", "Ultrium 7 M8/32T", "LTO-CVE", 20669, 5376, 9000 * GB),
    _lto(8, 0x5E, 20669, 6656, 12000),
    _lto(9, 0x60, 23031, 8960, 18000),
    _lto(10, 0x62, 30450, 11264, 30000),
    Density(0x4A, "T10000A", "T10000 A 500GB", "STK", 11800, 768, 500 * GB),
    Density(0x4B, "T10000B", "T10000 B 1TB", "STK", 14050, 1152, 1000 * GB),
    Density(0x4C, "T10000C", "T10000 C 5TB", "STK", 18900, 3584, 5000 * GB),
    Density(0x4D, "T10000D", "T10000 D 8.5TB", "STK", 19100, 4608, 8500 * GB),
)}


def _media() -> dict[str, MediaType]:
    out: dict[str, MediaType] = {}
    lto = {1: 0x40, 2: 0x42, 3: 0x44, 4: 0x46, 5: 0x58, 6: 0x5A, 7: 0x5C, 8: 0x5E, 9: 0x60, 10: 0x62}
    worm_suffix = {3: "LT", 4: "LU", 5: "LV", 6: "LW", 7: "LX", 8: "LY", 9: "LZ", 10: "LQ"}
    for gen, code in lto.items():
        d = DENSITIES[code]
        suffix = f"L{gen}" if gen < 10 else "LA"
        base = 0x08 + 0x10 * gen
        parts = 4 if gen >= 6 else (2 if gen == 5 else 1)
        out[f"LTO{gen}"] = MediaType(f"LTO{gen}", f"LTO-{gen}", d, d.capacity, suffix, base,
                                     max_partitions=parts)
        if gen >= 3:
            out[f"LTO{gen}-WORM"] = MediaType(f"LTO{gen}-WORM", f"LTO-{gen}", d, d.capacity,
                                              worm_suffix[gen], base + 0x04, worm=True,
                                              max_partitions=parts)
    out["LTO7-M8"] = MediaType("LTO7-M8", "LTO-7", DENSITIES[0x5D], DENSITIES[0x5D].capacity, "M8",
                               0x78, max_partitions=4)
    for letter, code in (("A", 0x4A), ("B", 0x4B), ("C", 0x4C), ("D", 0x4D)):
        d = DENSITIES[code]
        out[f"T10K{letter}"] = MediaType(f"T10K{letter}", f"T10000-{letter}", d, d.capacity, "T" + letter,
                                         0x00, max_partitions=1)
    out["CLN"] = MediaType("CLN", "CLN", None, 0, "CU", 0x01, cleaning=True)
    return out


MEDIA: dict[str, MediaType] = _media()


def media_type(name: str) -> MediaType:
    """Look a media type up by the name users type (case- and dash-insensitive: lto8, LTO-8)."""
    key = name.upper().replace("LTO-", "LTO").replace("_", "-")
    if key in MEDIA:
        return MEDIA[key]
    raise KeyError(f"unknown media type {name!r}; known types: {', '.join(MEDIA)}")


def media_for_barcode(barcode: str) -> MediaType | None:
    """The media type an LTO barcode label names (``000123L8`` → LTO8), if any."""
    suffix = barcode[-2:].upper()
    if barcode[:3].upper() == "CLN" or suffix == "CU":
        return MEDIA["CLN"]
    for m in MEDIA.values():
        if m.barcode_suffix == suffix:
            return m
    return None
