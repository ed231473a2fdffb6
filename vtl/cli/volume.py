"""`vtl volume create|list|delete`: the host directories NDMP may back up and restore.

A volume maps an NDMP path ``/vserver_name/volume_name`` (the seed's format) to a
directory of the machine running `vtl serve`.  Created volumes are kept by the
daemon and outlive it; volumes of the configuration file (``[[volume]]``) are
listed beside them.
"""
from __future__ import annotations

import os
from typing import Any

import click

from .output import emit_json, json_option, table
from .session import session


def _size(value: int | None) -> str:
    from vtl.units import format_size
    return "-" if value is None else format_size(value)


def _inodes(row: dict[str, Any]) -> str:
    if row["total_inodes"] is None:
        return "-"
    return f"{row['used_inodes']:,} / {row['total_inodes']:,}"


def _snapshot(row: dict[str, Any]) -> str:
    usable, wanted = row["snapshot_usable"], row["snapshot"]
    if row["status"] != "online":
        return wanted
    if usable is None:
        return f"{wanted}: none usable ({row['snapshot_problem']})"
    return f"auto: {usable}" if wanted == "auto" else usable


@click.group(short_help="Host directories NDMP backs up and restores: create, list, delete.")
def volume() -> None:
    """The volumes of the node: the host directories a DMA reaches through NDMP, named
    /vserver_name/volume_name.  Nothing of the host is reachable through NDMP unless it
    is a volume.  Backups read from a snapshot in the volume's .snapshot directory."""


@volume.command("create", short_help="Expose a host directory as an NDMP volume.")
@click.argument("name", metavar="/VSERVER/VOLUME")
@click.option("--path", "directory", required=True, metavar="DIR",
              help="The host directory (of the machine running vtl serve).")
@click.option("--read-only", is_flag=True, help="Back up only: refuse restores into the volume.")
@click.option("--snapshot", "method", default="auto", show_default=True, metavar="METHOD",
              help="How backups snapshot the volume: auto, btrfs, reflink or copy.")
@json_option
def create(name: str, directory: str, read_only: bool, method: str, as_json: bool) -> None:
    """Map the NDMP volume /VSERVER/VOLUME to the directory DIR, at once and for good (the
    daemon keeps it in its state store).  The directory is not changed; backups put their
    snapshots in DIR/.snapshot."""
    row = session().call("volume.create", name=name, path=os.path.abspath(os.path.expanduser(directory)),
                         read_only=read_only, snapshot=method)
    if as_json:
        emit_json(row)
        return
    extra = ", read-only" if row["read_only"] else ""
    click.echo(f"Volume {row['name']} created: {row['path']} ({row['filesystem'] or 'unknown filesystem'}, "
               f"snapshots: {_snapshot(row)}{extra}).")


@volume.command("list", short_help="The volumes, their filesystems and snapshot methods.")
@json_option
def list_(as_json: bool) -> None:
    """Every volume, from the configuration file and from `vtl volume create`, with its
    filesystem's size and inodes and the snapshot method a backup would use now."""
    rows = session().call("volume.list")
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("No volumes: nothing is exposed to NDMP. Add one with `vtl volume create "
                   "/VSERVER/VOLUME --path DIR` or a [[volume]] table in the configuration.")
        return
    table("Volumes", ["Volume", "Path", "Source", "Filesystem", "Snapshot", "Size", "Used", "Available",
                      "Inodes used / total", "Read-only", "Status"],
          [(r["name"], r["path"], r["source"], r["filesystem"] or "-", _snapshot(r), _size(r["total_size"]),
            _size(r["used_size"]), _size(r["avail_size"]), _inodes(r), "yes" if r["read_only"] else "no",
            r["status"]) for r in rows])


@volume.command("delete", short_help="Stop exposing a volume (its directory stays).")
@click.argument("name", metavar="/VSERVER/VOLUME")
@json_option
def delete(name: str, as_json: bool) -> None:
    """Forget a volume made with `vtl volume create`; nothing in its directory is touched.
    A volume of the configuration file is removed there instead."""
    row = session().call("volume.delete", name=name)
    if as_json:
        emit_json(row)
        return
    click.echo(f"Volume {row['name']} deleted; its directory {row['path']} is untouched.")
