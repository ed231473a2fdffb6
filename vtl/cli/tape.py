"""`vtl tape ...`: ONTAP's `storage tape` commands for the drives and changers of a running node.

The vocabulary is the seed's: show, show-tape-drive, show-media-changer,
show-errors, show-supported-status, online, offline, reset, position, trace,
alias set/clear/show, and `storage stats tape` as `vtl tape stats show|zero`.
ONTAP's single-dash parameter names (``-operation``, ``-count``,
``-clear-scope``) are accepted beside the usual ``--`` ones.
"""
from __future__ import annotations

from typing import Any

import click

from ..units import format_size
from .output import emit_json, json_option, table
from .session import session

POSITION_OPERATIONS = ["rewind", "weof", "fsf", "bsf", "fsr", "bsr", "eom", "erase"]


def _name(d: dict[str, Any]) -> str:
    return f"{d['alias']} ({d['serial']})" if d.get("alias") else d["serial"]


def _position(p: dict[str, Any] | None) -> str:
    if not p:
        return "-"
    return f"partition {p['partition']}, block {p['block']} (EOD {p['eod']})"


def _yes(flag: Any) -> str:
    return "yes" if flag else "no"


def _key_values(title: str, pairs: list[tuple[str, Any]]) -> None:
    click.echo(title)
    width = max(len(k) for k, _ in pairs)
    for k, v in pairs:
        click.echo(f"  {k + ':':<{width + 1}} {'-' if v is None else v}")


@click.group(short_help="Tape drives and media changers (ONTAP's storage tape).")
def tape() -> None:
    """Tape drives and media changers of the running node (ONTAP's `storage tape`)."""


# -- show ---------------------------------------------------------------------------------------
@tape.command("show", short_help="Show all tape drives and media changers.")
@json_option
def show(as_json: bool) -> None:
    """All tape drives and media changers."""
    rows = session().call("tape.show")
    if as_json:
        emit_json(rows)
        return
    table(None, ["device", "type", "serial", "LUN", "library", "vendor", "product", "state", "cartridge", "online"],
          [(r["alias"] or "-", r["type"], r["serial"], r["lun"], r["library"], r["vendor"], r["product"],
            r.get("state", "-"), r.get("barcode") or "-", _yes(r["online"]) if "online" in r else "-")
           for r in rows])


@tape.command("show-tape-drive", short_help="Show the tape drives.")
@click.argument("drive", required=False)
@json_option
def show_tape_drive(drive: str | None, as_json: bool) -> None:
    """The tape drives (or one: DRIVE), with identity, state and position."""
    rows = session().call("tape.show_tape_drive", drive=drive)
    if as_json:
        emit_json(rows)
        return
    if drive is not None:
        for d in rows:
            _key_values(f"Tape drive {_name(d)}", [
                ("Alias", d["alias"]), ("Serial number", d["serial"]), ("Mapping", d["mapping"]),
                ("Physical path", d["physical_path"]), ("Library", d["library"]), ("Element", d["address"]),
                ("LUN", d["lun"]), ("Description", d["description"]), ("Vendor", d["vendor"]),
                ("Product", d["product"]), ("World wide name", d["wwn"]), ("Online", _yes(d["online"])),
                ("State", d["state"]), ("Cartridge", d["barcode"]), ("Position", _position(d["position"])),
                ("Medium removal prevented", _yes(d["removal_prevented"])),
                ("Compression", _yes(d["compression"])),
                ("Encryption", d["encryption"]),
                ("Block size", "variable" if not d["block_size"] else d["block_size"]),
                ("Trace", _yes(d["trace"]))])
        return
    table(None, ["alias", "serial", "mapping", "description", "library", "element", "online", "state",
                 "cartridge", "position"],
          [(d["alias"] or "-", d["serial"], d["mapping"], d["description"], d["library"], d["address"],
            _yes(d["online"]), d["state"], d["barcode"] or "-", _position(d["position"])) for d in rows])


@tape.command("show-media-changer", short_help="Show the media changers.")
@click.argument("changer", required=False)
@json_option
def show_media_changer(changer: str | None, as_json: bool) -> None:
    """The media changers (or one: CHANGER), with their element counts."""
    rows = session().call("tape.show_media_changer", changer=changer)
    if as_json:
        emit_json(rows)
        return
    table(None, ["alias", "serial", "mapping", "physical path", "vendor", "product", "WWN", "library",
                 "slots", "mailslots", "drives", "door"],
          [(c["alias"] or "-", c["serial"], c["mapping"], c["physical_path"], c["vendor"], c["product"], c["wwn"],
            c["library"], c["slots"], c["mailslots"], c["drives"], "locked" if c["door_locked"] else "unlocked")
           for c in rows])


@tape.command("show-errors", short_help="Show drive errors and TapeAlerts.")
@click.argument("drive", required=False)
@json_option
def show_errors(drive: str | None, as_json: bool) -> None:
    """Error counters and active TapeAlert flags of the drives (or of DRIVE)."""
    rows = session().call("tape.show_errors", drive=drive)
    if as_json:
        emit_json(rows)
        return
    table(None, ["drive", "serial", "read errors", "write errors", "cleaning required", "TapeAlerts"],
          [(r["alias"] or "-", r["serial"], r["read_errors"], r["write_errors"], _yes(r["cleaning_required"]),
            ", ".join(r["alerts"]) or "-") for r in rows])


@tape.command("show-supported-status", short_help="Show whether the drives are qualified.")
@json_option
def show_supported_status(as_json: bool) -> None:
    """Whether each attached drive is qualified, dynamically qualified or nonqualified."""
    s = session()
    rows = s.call("tape.show_supported_status")
    if as_json:
        emit_json(rows)
        return
    node = s.call("ping")["node"]
    click.echo(f"Node: {node}")
    table(None, ["Tape Drive", "Is Supported", "Support Status"],
          [(r["tape_drive"], str(r["is_supported"]).lower(), r["support_status"]) for r in rows])


# -- state changes --------------------------------------------------------------------------------
@tape.command("online", short_help="Bring a tape drive online.")
@click.argument("drive")
@json_option
def online(drive: str, as_json: bool) -> None:
    """Bring DRIVE online: hosts and the robot can use it again."""
    d = session().call("tape.online", drive=drive)
    if as_json:
        emit_json(d)
        return
    click.echo(f"Tape drive {_name(d)} is online.")


@tape.command("offline", short_help="Take a tape drive offline.")
@click.argument("drive")
@json_option
def offline(drive: str, as_json: bool) -> None:
    """Take DRIVE offline: the robot can no longer reach it."""
    d = session().call("tape.offline", drive=drive)
    if as_json:
        emit_json(d)
        return
    click.echo(f"Tape drive {_name(d)} is offline.")


@tape.command("reset", short_help="Reset a tape drive or media changer.")
@click.argument("device")
@json_option
def reset(device: str, as_json: bool) -> None:
    """Send a LOGICAL UNIT RESET to DEVICE (a tape drive or media changer)."""
    d = session().call("tape.reset", device=device)
    if as_json:
        emit_json(d)
        return
    click.echo(f"Reset {_name(d)}: logical unit reset done.")


@tape.command("position", short_help="Rewind, space, write filemarks or erase.")
@click.argument("drive")
@click.option("--operation", "-operation", required=True, type=click.Choice(POSITION_OPERATIONS),
              help="What to do: rewind, weof (write filemarks), fsf/bsf (space filemarks), fsr/bsr (space "
                   "records), eom (to end of data), erase.")
@click.option("--count", "-count", type=click.IntRange(0), default=1, show_default=True,
              help="How many filemarks or records (fsf, bsf, fsr, bsr, weof).")
@json_option
def position(drive: str, operation: str, count: int, as_json: bool) -> None:
    """Change the tape position of DRIVE (ONTAP's `storage tape position`)."""
    d = session().call("tape.position", drive=drive, operation=operation, count=count)
    if as_json:
        emit_json(d)
        return
    what = operation if operation in ("rewind", "eom", "erase") else f"{operation} {count}"
    click.echo(f"Tape drive {_name(d)}: {what} done; now at {_position(d['position'])}.")


@tape.command("trace", short_help="Turn command tracing on or off.")
@click.argument("device")
@click.option("--on/--off", "enabled", required=True, help="Log every command the device runs, or stop.")
@json_option
def trace(device: str, enabled: bool, as_json: bool) -> None:
    """Log each command DEVICE runs (CDB, status, sense) in the daemon's log, or stop."""
    r = session().call("tape.trace", drive=device, enabled=enabled)
    if as_json:
        emit_json(r)
        return
    click.echo(f"Tracing of {r['serial']} is {'on' if r['trace'] else 'off'}.")


# -- device names --------------------------------------------------------------------------------
def device_listing_text(entry: dict[str, Any]) -> str:
    """The seed's "listing of tape devices" layout, from the daemon's `tape.devices` rows.

    Same layout as :func:`tapeconf.devicenames.format_listing`: names padded to the
    longest plus one, the rewind description to the longest plus nine, the vendor to ten.
    """
    rows = entry["devices"]
    name_width = max(len(r["name"]) for r in rows) + 1
    rewind_width = max(len(r["rewind"]) for r in rows) + 9
    indent = " " * (name_width + 3)
    lines = [f"{indent}Tape drive ({entry['physical_path']})  {entry['vendor']:<10}  {entry['product']}".rstrip()]
    for r in rows:
        lines.append(f"{r['name']:<{name_width}}-  {r['rewind']:<{rewind_width}}{r['format']}".rstrip())
    return "\n".join(lines) + "\n"


@tape.command("devices", short_help="Show the tape device names of the drives.")
@click.argument("drive", required=False)
@json_option
def devices(drive: str | None, as_json: bool) -> None:
    """The tape device names (rst0l ... urst0a) of each drive and the format each one sets."""
    entries = session().call("tape.devices", drive=drive)
    if as_json:
        emit_json(entries)
        return
    for i, e in enumerate(entries):
        if i:
            click.echo("")
        if not e["devices"]:
            click.echo(f"Tape drive {e['serial']} ({e['physical_path']}) has no st alias, so no device names; "
                       f"give it one: vtl tape alias set st<N> SN[{e['serial']}]...")
            continue
        click.echo(device_listing_text(e), nl=False)


# -- aliases ----------------------------------------------------------------------------------------
@tape.group("alias", short_help="Set, clear and show tape aliases.")
def alias() -> None:
    """Persistent names (st0, mc0) bound to serial numbers or physical path names."""


@alias.command("show", short_help="Show the aliases.")
@json_option
def alias_show(as_json: bool) -> None:
    """Every alias, what it is mapped to, and the device that has that name now."""
    rows = session().call("alias.show")
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("No aliases are set.")
        return
    table(None, ["Alias", "Type", "Mapping", "Serial", "Library"],
          [(r["alias"], r["type"], r["mapping"], r["serial"] or "(no such device now)", r["library"] or "-")
           for r in rows])


@alias.command("set", short_help="Set an alias: NAME MAPPING.")
@click.argument("name")
@click.argument("mapping")
@json_option
def alias_set(name: str, mapping: str, as_json: bool) -> None:
    """Name a device: `vtl tape alias set st3 SN[123456]L4` (or a physical path name)."""
    r = session().call("alias.set", name=name, mapping=mapping)
    if as_json:
        emit_json(r)
        return
    click.echo(f"Alias {r['alias']} now maps to {r['mapping']}.")


@alias.command("clear", short_help="Remove aliases.")
@click.argument("name", required=False)
@click.option("--scope", "--clear-scope", "-clear-scope", "scope", default="all", show_default=True,
              type=click.Choice(["tape", "media-changer", "all"]),
              help="Clear the aliases of tape drives, of media changers, or of both.")
@json_option
def alias_clear(name: str | None, scope: str, as_json: bool) -> None:
    """Remove aliases: all of SCOPE, or only NAME."""
    r = session().call("alias.clear", scope=scope, name=name)
    if as_json:
        emit_json(r)
        return
    n = r["cleared"]
    click.echo(f"Cleared {n} alias{'es' if n != 1 else ''}.")


# -- statistics -------------------------------------------------------------------------------------
@tape.group("stats", short_help="Show or zero drive statistics.")
def stats() -> None:
    """Drive statistics (ONTAP's `storage stats tape`)."""


_BYTES = {"host_bytes_written", "medium_bytes_written", "host_bytes_read", "medium_bytes_read"}


@stats.command("show", short_help="Show drive statistics.")
@click.argument("drive", required=False)
@json_option
def stats_show(drive: str | None, as_json: bool) -> None:
    """The counters of every drive (or of DRIVE): bytes and blocks moved, filemarks, errors, loads."""
    rows = session().call("stats.show", drive=drive)
    if as_json:
        emit_json(rows)
        return
    counters = [k for k in rows[0] if k not in ("alias", "serial")] if rows else []
    table(None, ["counter"] + [r["alias"] or r["serial"] for r in rows],
          [[name.replace("_", " ")] + [f"{r[name]} ({format_size(r[name])})" if name in _BYTES and r[name]
                                       else r[name] for r in rows] for name in counters])


@stats.command("zero", short_help="Zero the statistics of a drive.")
@click.argument("drive")
@json_option
def stats_zero(drive: str, as_json: bool) -> None:
    """Reset the counters of DRIVE to zero."""
    r = session().call("stats.zero", drive=drive)
    if as_json:
        emit_json(r)
        return
    click.echo(f"Statistics of tape drive {_name(r)} are zero.")
