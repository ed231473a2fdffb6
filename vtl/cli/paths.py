"""How hosts reach the libraries: `vtl library config show`, `vtl library path show`,
`vtl library path show-by-initiator` (ONTAP's `storage tape library config show` and
`storage tape library path show[-by-initiator]`) and `vtl path offline|online`.

The columns are the seed's: node, LUN group, LUN count, library name, target
port, initiator, path errors.  A target port is named ``library:port`` (the
port's name from the configuration); the WWN is the tcm_loop NAA name or the
iSCSI IQN hosts see.
"""
from __future__ import annotations

from typing import Any

import click

from .output import emit_json, json_option, table
from .session import session


def _initiators(names: list[str]) -> str:
    return "\n".join(names) if names else "-"


@click.group(short_help="Libraries as hosts reach them: LUN groups and paths.")
def library() -> None:
    """Libraries as hosts reach them: LUN groups, target ports and initiators."""


@library.group("config", short_help="Connectivity of the libraries.")
def config() -> None:
    """Connectivity between the libraries and the hosts."""


@config.command("show", short_help="LUN groups and the paths that reach them.")
@json_option
def config_show(as_json: bool) -> None:
    """Each LUN group of each library: how many LUNs, through which target ports, and
    which initiators are connected on each (two rows for a group with two paths)."""
    groups = session().call("library.config")
    if as_json:
        emit_json(groups)
        return
    rows = []
    for g in groups:
        for i, p in enumerate(g["paths"]):
            first = i == 0
            rows.append((g["node"] if first else "", g["lun_group"] if first else "",
                         g["lun_count"] if first else "", g["library"] if first else "",
                         f"{p['target_port']}\n{p['wwn'] or ''}".strip(),
                         _initiators(p["initiators"]), p["state"]))
    table(None, ["Node", "LUN Group", "LUN Count", "Library Name", "Library Target Port",
                 "Initiator", "State"], rows)
    click.echo(f"{len(groups)} entries were displayed.")


@library.group("path", short_help="Paths between the libraries and the hosts.")
def path() -> None:
    """Paths between the libraries and the hosts."""


def _paths() -> list[dict[str, Any]]:
    return session().call("library.paths")


@path.command("show", short_help="Every target port of every library.")
@json_option
def path_show(as_json: bool) -> None:
    """Each target port: its library, LUN groups and LUN count, whether it is one of two
    paths, its state, the initiators connected and the errors counted on it."""
    rows = _paths()
    if as_json:
        emit_json(rows)
        return
    table(None, ["Node", "Library Name", "Target Port", "WWN", "LUN Groups", "LUN Count",
                 "Multipath", "State", "Initiator", "Path Errors"],
          [(r["node"], r["library"], r["target_port"], r["wwn"] or "-",
            ", ".join(map(str, r["lun_groups"])) or "-", r["lun_count"],
            "yes" if r["multipath"] else "no", r["state"], _initiators(r["initiators"]),
            r["path_errors"]) for r in rows])
    click.echo(f"{len(rows)} entries were displayed.")


@path.command("show-by-initiator", short_help="The paths, one row per initiator port.")
@json_option
def path_show_by_initiator(as_json: bool) -> None:
    """One row for every initiator connected to a target port (and one for each port
    nobody is connected to), so a host's view of the libraries reads top to bottom."""
    rows = []
    for r in _paths():
        for initiator in r["initiators"] or [None]:
            rows.append({**r, "initiator": initiator})
    rows.sort(key=lambda r: (r["initiator"] is None, r["initiator"] or "", r["target_port"]))
    if as_json:
        emit_json(rows)
        return
    table(None, ["Initiator", "Node", "Library Name", "Target Port", "LUN Count", "State",
                 "Path Errors"],
          [(r["initiator"] or "-", r["node"], r["library"], r["target_port"], r["lun_count"],
            r["state"], r["path_errors"]) for r in rows])
    click.echo(f"{len(rows)} entries were displayed.")


@click.group("path", short_help="Take a path offline or bring it back (failover tests).")
def path_group() -> None:
    """Make a target port fail and come back, to test a host's path failover.

    PORT is ``library:port`` or just the port's name when only one library has it
    (see `vtl library path show`).
    """


def _set(port: str, online: bool, as_json: bool) -> None:
    r = session().call("path.set", port=port, online=online)
    if as_json:
        emit_json(r)
        return
    state = "online" if online else "offline"
    if not r["changed"]:
        click.echo(f"Path {r['target_port']} was already {state}.")
    else:
        click.echo(f"Path {r['target_port']} is {state}"
                   + ("." if r["exported"] else " (no kernel target runs: only REPORT TARGET "
                      "PORT GROUPS shows it)."))


@path_group.command("offline", short_help="Fail a path.")
@click.argument("port")
@json_option
def offline(port: str, as_json: bool) -> None:
    """Fail a path: the port stops carrying commands and ALUA reports it OFFLINE."""
    _set(port, False, as_json)


@path_group.command("online", short_help="Bring a failed path back.")
@click.argument("port")
@json_option
def online(port: str, as_json: bool) -> None:
    """Bring a path back: the port carries commands again and ALUA reports it active."""
    _set(port, True, as_json)
