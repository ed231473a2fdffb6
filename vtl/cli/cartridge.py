"""`vtl cartridge ...`: make, inspect and read file-backed cartridges."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from images.cartridge import Cartridge, CartridgeError, Kind, MediumError, media_type
from images.cartridge import mam as mamdef
from images.cartridge.media import DENSITIES, MEDIA

from ..paths import cartridge_dir
from ..units import format_size, parse_size
from .output import emit_json, fail, json_option, table


def _resolve(target: str) -> Path:
    """A cartridge path, or a barcode in the default cartridge directory."""
    p = Path(target)
    if p.exists() or os.sep in target:
        return p
    return cartridge_dir() / target


def _open(target: str) -> Cartridge:
    path = _resolve(target)
    try:
        return Cartridge.open(str(path))
    except CartridgeError as exc:
        fail(str(exc))
        raise  # unreachable


@click.group()
def cartridge() -> None:
    """Create, inspect and read cartridges (each is a directory of files)."""


@cartridge.command("create")
@click.argument("target")
@click.option("--media", "media_name", help=f"Media type ({', '.join(MEDIA)}); default from the barcode's suffix, else LTO8.")
@click.option("--barcode", help="Barcode label; default: the directory name.")
@click.option("--capacity", help="Make a smaller cartridge than the media's native capacity, e.g. 64MiB.")
@click.option("--early-warning", help="Size of the early-warning zone, e.g. 1MiB.")
@click.option("--write-protect", is_flag=True, help="Set the write-protect tab.")
@json_option
def create(target: str, media_name: str | None, barcode: str | None, capacity: str | None,
           early_warning: str | None, write_protect: bool, as_json: bool) -> None:
    """Create a blank cartridge at TARGET (a path, or a barcode in the default directory)."""
    path = _resolve(target)
    try:
        media = media_type(media_name) if media_name else None
        cap = parse_size(capacity) if capacity else None
        ew = parse_size(early_warning) if early_warning else None
    except (KeyError, ValueError) as exc:
        fail(str(exc.args[0]) if exc.args else str(exc))
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with Cartridge.create(str(path), media, barcode, capacity=cap, early_warning=ew,
                              write_protected=write_protect) as cart:
            info = _info(cart)
    except CartridgeError as exc:
        fail(str(exc))
    if as_json:
        emit_json(info)
    else:
        click.echo(f"Created {info['media']} cartridge {info['barcode']} at {path} "
                   f"({format_size(info['capacity'])}).")


def _info(cart: Cartridge) -> dict:
    return {
        "path": cart.path,
        "barcode": cart.barcode,
        "media": cart.media.name,
        "worm": cart.worm,
        "cleaning": cart.cleaning,
        "write_protected": cart.write_protected,
        "density": None if cart.density is None else f"0x{cart.density:02X}",
        "density_name": DENSITIES[cart.density].description if cart.density in DENSITIES else None,
        "capacity": cart.capacity,
        "partitions": [
            {"number": p.number, "capacity": p.capacity, "used": p.end, "remaining": p.remaining,
             "objects": p.eod, "filemarks": p.filemark_count, "files": p.filemark_count + (
                 1 if p.eod and (p.filemark_count == 0 or p.filemark(p.filemark_count - 1) != p.eod - 1) else 0)}
            for p in cart.partitions],
        "mam": {mamdef.lookup(i).name if _known(i) else f"0x{i:04X}": _show_mam(i, cart.mam_get(i))
                for i in cart.mam_ids()},
    }


def _known(i: int) -> bool:
    try:
        mamdef.lookup(i)
        return True
    except KeyError:
        return False


def _show_mam(attr_id: int, value: bytes | None) -> str | int | None:
    if value is None:
        return None
    try:
        fmt = mamdef.lookup(attr_id).format
    except KeyError:
        return value.hex()
    if fmt == mamdef.Format.BINARY:
        return int.from_bytes(value, "big")
    return value.decode("utf-8", "replace").rstrip(" \0")


@cartridge.command("info")
@click.argument("target")
@json_option
def info(target: str, as_json: bool) -> None:
    """Show a cartridge: media, density, partitions, usage and MAM attributes."""
    with _open(target) as cart:
        data = _info(cart)
    if as_json:
        emit_json(data)
        return
    flags = [n for n, v in (("WORM", data["worm"]), ("cleaning", data["cleaning"]),
                            ("write-protected", data["write_protected"])) if v]
    click.echo(f"Cartridge {data['barcode']}  {data['media']}  {' '.join(flags)}".rstrip())
    click.echo(f"  path:    {data['path']}")
    click.echo(f"  density: {data['density'] or 'blank'} {data['density_name'] or ''}".rstrip())
    table("Partitions", ["partition", "capacity", "used", "objects", "filemarks"],
          [(p["number"], format_size(p["capacity"]), format_size(p["used"]), p["objects"], p["filemarks"])
           for p in data["partitions"]])
    table("Medium auxiliary memory", ["attribute", "value"], sorted(data["mam"].items()))


@cartridge.command("list")
@click.argument("directory", required=False)
@json_option
def list_(directory: str | None, as_json: bool) -> None:
    """List the cartridges in DIRECTORY (default: the vtl cartridge directory)."""
    root = Path(directory) if directory else cartridge_dir()
    rows = []
    if root.is_dir():
        for child in sorted(root.iterdir()):
            if (child / "cartridge.json").exists():
                try:
                    with Cartridge.open(str(child)) as cart:
                        rows.append(_info(cart))
                except CartridgeError as exc:
                    rows.append({"path": str(child), "barcode": child.name, "error": str(exc)})
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo(f"No cartridges in {root}.")
        return
    table(None, ["barcode", "media", "used", "capacity", "files", "flags", "path"],
          [(r["barcode"], r.get("media", "?"), format_size(sum(p["used"] for p in r.get("partitions", []))),
            format_size(r.get("capacity", 0)), sum(p["files"] for p in r.get("partitions", [])),
            r.get("error") or " ".join(n for n in ("worm", "write_protected", "cleaning") if r.get(n)),
            r["path"]) for r in rows])


@cartridge.command("read")
@click.argument("target")
@click.option("--file", "file_number", type=int, default=0, show_default=True,
              help="Which tape file to read (0 is the first, counted in filemarks from BOP).")
@click.option("--partition", type=int, default=0, show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="Write to this file instead of standard output.")
def read(target: str, file_number: int, partition: int, output: str | None) -> None:
    """Write one tape file (the records between two filemarks) to standard output."""
    with _open(target) as cart:
        if not 0 <= partition < len(cart.partitions):
            fail(f"cartridge {cart.barcode} has no partition {partition} "
                 f"(it has {len(cart.partitions)}).")
        part = cart.select(partition)
        if file_number < 0:
            fail("--file must be 0 or more.")
        if file_number:
            fm = part.filemark(file_number - 1)
            if fm is None:
                fail(f"cartridge {cart.barcode} partition {partition} has no file {file_number} "
                     f"(it holds {part.filemark_count} filemarks).")
            part.locate(fm + 1)
        out = open(output, "wb") if output else sys.stdout.buffer
        buf = memoryview(bytearray(8 * 1024 * 1024))
        total = 0
        try:
            while True:
                r = part.read(buf)
                if r.kind != Kind.DATA:
                    break
                out.write(buf[: r.copied])
                total += r.copied
        except MediumError as exc:
            fail(f"{exc} after {total} bytes; the rest of file {file_number} is unreadable.")
        finally:
            if output:
                out.close()
            else:
                out.flush()
