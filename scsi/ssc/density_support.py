"""REPORT DENSITY SUPPORT: the densities (or medium types) the drive or the
loaded medium supports, from the personality and the media catalogue."""
from __future__ import annotations

from construct import BitStruct, Bytes, Flag, Int8ub, Int16ub, Int24ub, Int32ub, Padding, PaddedString, Struct

from images.cartridge.media import DENSITIES, MEDIA

from ..device import Access, Request
from ..layout import Layout, bits, control, reserved
from .commands import SSC

REPORT_DENSITY_SUPPORT = Layout("REPORT DENSITY SUPPORT", bits("opcode", 8), reserved(6),
                                bits("medium_type", 1), bits("media", 1), reserved(40),
                                bits("allocation_length", 16), *control())

DensityDescriptor = Struct(
    "primary_density_code" / Int8ub,
    "secondary_density_code" / Int8ub,
    "flags" / BitStruct("wrtok" / Flag, "dup" / Flag, "deflt" / Flag, Padding(4), "dlv" / Flag),
    Padding(2),
    "bits_per_mm" / Int24ub,
    "media_width" / Int16ub,
    "tracks" / Int16ub,
    "capacity" / Int32ub,
    "assigning_organization" / PaddedString(8, "ascii"),
    "density_name" / PaddedString(8, "ascii"),
    "description" / PaddedString(20, "ascii"),
)
MediumTypeDescriptor = Struct(
    "medium_type" / Int8ub,
    Padding(1),
    "descriptor_length" / Int16ub,
    "number_of_density_codes" / Int8ub,
    "primary_density_codes" / Bytes(9),
    "media_width" / Int16ub,
    "medium_length" / Int16ub,
    Padding(2),
    "assigning_organization" / PaddedString(8, "ascii"),
    "medium_type_name" / PaddedString(8, "ascii"),
    "description" / PaddedString(20, "ascii"),
)
Header = Struct("available_length" / Int16ub, Padding(2))


def _ascii(s: str, n: int) -> str:
    return s[:n].ljust(n)


def density_descriptor(code: int, wrtok: bool, deflt: bool) -> bytes:
    d = DENSITIES[code]
    return DensityDescriptor.build(dict(
        primary_density_code=code, secondary_density_code=code,
        flags=dict(wrtok=wrtok, dup=False, deflt=deflt, dlv=False),
        bits_per_mm=d.bits_per_mm, media_width=d.media_width_mm10, tracks=d.tracks,
        capacity=d.capacity // 1_000_000,
        assigning_organization=_ascii(d.organization, 8), density_name=_ascii(d.name, 8),
        description=_ascii(d.description, 20)))


@SSC.register("REPORT DENSITY SUPPORT", 0x44, REPORT_DENSITY_SUPPORT, access=Access.READ)
def report_density_support(dev, req: Request):
    f = req.fields
    p = dev.personality
    if f.media:
        dev.ready_check(req.nexus)
        cart = dev.cartridge
        codes = [dev.medium_density(cart)] if cart.media.density else []
    else:
        codes = list(p.read_densities)
    if f.medium_type:
        body = b"".join(_medium_descriptor(m) for m in MEDIA.values()
                        if m.density is not None and m.density.code in codes)
    else:
        native = p.native_density
        body = b"".join(density_descriptor(c, c in p.write_densities, c == native)
                        for c in sorted(codes, reverse=True) if c in DENSITIES)
    return Header.build(dict(available_length=len(body) + 2)) + body


def _medium_descriptor(m) -> bytes:
    codes = bytes([m.density.code]).ljust(9, b"\0")
    return MediumTypeDescriptor.build(dict(
        medium_type=m.medium_type, descriptor_length=52, number_of_density_codes=1,
        primary_density_codes=codes, media_width=127, medium_length=1035 if m.family == "LTO" else 1107,
        assigning_organization=_ascii(m.density.organization, 8),
        medium_type_name=_ascii(m.name, 8)[:8], description=_ascii(f"{m.generation} {'WORM' if m.worm else 'Data'}", 20)))
