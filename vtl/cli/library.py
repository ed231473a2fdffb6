"""Operator commands on a running library: status, inventory, and moving cartridges.

Every command here asks the daemon (`vtl serve`) through its control socket.
Drives are named by alias (``st0``), serial number or ``SN[serial]L<lun>``;
elements by address (``4096``, ``lib0:4096``), barcode or drive name.  The
daemon resolves the names, so the CLI passes them on as typed.
"""
from __future__ import annotations

from typing import Any

import click

from .output import emit_json, fail, json_option, table
from .session import session

ELEMENT_TYPES = {"storage": "storage", "slot": "storage",
                 "import-export": "import-export", "mailslot": "import-export", "ie": "import-export",
                 "data-transfer": "data-transfer", "drive": "data-transfer"}
TYPE_LABELS = {"storage": "storage", "import_export": "import-export", "data_transfer": "drive",
               "transport": "robot"}


def yes_no(flag: Any) -> str:
    return "yes" if flag else "no"


# -- status ---------------------------------------------------------------------------------
@click.command(short_help="Show the libraries, their slots and drives.")
@json_option
def status(as_json: bool) -> None:
    """Each library: its changer, slot and mailslot use, the door, and its drives."""
    data = session().call("status")
    if as_json:
        emit_json(data)
        return
    click.echo(f"Node {data['node']} (state store {data['state']})")
    for lib in data["libraries"]:
        c = lib["changer"]
        click.echo("")
        click.echo(f"Library {lib['name']}: media changer {c['alias'] or '-'} (serial {c['serial']}, "
                   f"{c['vendor']} {c['product']}, LUN {c['lun']})")
        click.echo(f"  storage slots {lib['slots']['used']}/{lib['slots']['total']} used, "
                   f"mailslots {lib['mailslots']['used']}/{lib['mailslots']['total']} used, "
                   f"door {'locked' if lib['door_locked'] else 'unlocked'}")
        table(f"Drives of {lib['name']}", ["alias", "serial", "LUN", "element", "state", "cartridge", "online"],
              [(d["alias"] or "-", d["serial"], d["lun"], d["address"], d["state"], d["barcode"] or "-",
                yes_no(d["online"])) for d in lib["drives"]])


# -- inventory --------------------------------------------------------------------------------
def _types(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    out = []
    for word in value.split(","):
        key = word.strip().lower().replace("_", "-")
        if key not in ELEMENT_TYPES:
            raise click.BadParameter(f"{word.strip()!r} is not an element type; use storage, "
                                     "import-export or data-transfer (comma-separated).")
        if ELEMENT_TYPES[key] not in out:
            out.append(ELEMENT_TYPES[key])
    return ",".join(out)


def element_flags(e: dict[str, Any]) -> str:
    flags = []
    if e.get("drive"):
        flags.append(f"drive {e['drive']}")
    if e.get("imported"):
        flags.append("imported")
    if not e.get("accessible", True):
        flags.append("inaccessible")
    if e.get("exception"):
        flags.append(f"exception {e['exception']}")
    return ", ".join(flags)


@click.command(short_help="List the elements and the cartridges in them.")
@click.option("--library", help="Only this library (default: all).")
@click.option("--type", "kinds", callback=_types, metavar="TYPES",
              help="Only these element types: storage, import-export, data-transfer (comma-separated).")
@json_option
def inventory(library: str | None, kinds: str | None, as_json: bool) -> None:
    """Every element (storage slots, mailslots, drives) and the cartridge it holds."""
    rows = session().call("inventory", library=library, type=kinds)
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("No elements match.")
        return
    several = len({r["library"] for r in rows}) > 1
    table(None, (["library"] if several else []) + ["address", "type", "barcode", "source", "flags"],
          [([r["library"]] if several else []) + [r["address"], TYPE_LABELS.get(r["type"], r["type"]),
                                                  r["barcode"] or "-", r["source"], element_flags(r)]
           for r in rows])


# -- moving cartridges -------------------------------------------------------------------------
def _drive_name(result: dict[str, Any]) -> str:
    return f"{result['alias']} ({result['drive']})" if result.get("alias") else result["drive"]


@click.command(short_help="Load a cartridge into a drive.")
@click.argument("cartridge", metavar="BARCODE|ELEMENT")
@click.argument("drive")
@json_option
def load(cartridge: str, drive: str, as_json: bool) -> None:
    """Move a cartridge (by barcode or element address) into DRIVE; an autoloading drive threads it."""
    r = session().call("load", cartridge=cartridge, drive=drive)
    if as_json:
        emit_json(r)
        return
    click.echo(f"Loaded {r['barcode']} from element {r['source']} into drive {_drive_name(r)}; "
               f"the drive is {r['state']}.")


@click.command(short_help="Unload a drive and put its cartridge away.")
@click.argument("drive")
@click.option("--to", "to", metavar="SLOT", help="Put the cartridge here (default: where it came from, "
                                                 "else the first free storage slot).")
@json_option
def unload(drive: str, to: str | None, as_json: bool) -> None:
    """Unload DRIVE (rewind, sync) and put its cartridge back into a slot."""
    r = session().call("unload", drive=drive, to=to)
    if as_json:
        emit_json(r)
        return
    click.echo(f"Unloaded {r['barcode']} from drive {r['drive']} into element {r['destination']}.")


@click.command(short_help="Move a cartridge between two elements.")
@click.argument("source")
@click.argument("destination")
@click.option("--library", help="The library, when the node has several and addresses are bare.")
@json_option
def move(source: str, destination: str, library: str | None, as_json: bool) -> None:
    """Move a cartridge from SOURCE to DESTINATION (element addresses, barcodes or drive names)."""
    r = session().call("move", source=source, destination=destination, library=library)
    if as_json:
        emit_json(r)
        return
    click.echo(f"Moved {r['barcode']} from element {r['source']} to element {r['destination']} "
               f"in library {r['library']}.")


@click.command("import", short_help="Put a cartridge into a mailslot.")
@click.argument("barcode")
@click.option("--media", help="Media type of a new cartridge (e.g. LTO8); default from the barcode's suffix.")
@click.option("--capacity", help="Capacity of a new cartridge, e.g. 64MiB; default: the media's native size.")
@click.option("--library", help="The library, when the node has several.")
@json_option
def import_(barcode: str, media: str | None, capacity: str | None, library: str | None, as_json: bool) -> None:
    """Put a cartridge into a mailslot: one exported earlier, or a new blank one."""
    if capacity is not None:
        from ..units import parse_size
        try:
            parse_size(capacity)
        except ValueError as e:
            fail(str(e))
    r = session().call("import", barcode=barcode, media=media, capacity=capacity, library=library)
    if as_json:
        emit_json(r)
        return
    click.echo(f"Imported {r['barcode']} into mailslot {r['address']} of library {r['library']}"
               f"{', with the cartridge files already at ' + r['adopted'] if r.get('adopted') else ''}.")


@click.command(short_help="Take a cartridge out of its library.")
@click.argument("barcode")
@json_option
def export(barcode: str, as_json: bool) -> None:
    """Take a cartridge out of its library (it stays in the catalog; `vtl import` brings it back)."""
    r = session().call("export", barcode=barcode)
    if as_json:
        emit_json(r)
        return
    click.echo(f"Exported {r['barcode']} from element {r['from']} of library {r['library']}.")


COMMANDS = [status, inventory, load, unload, move, import_, export]
