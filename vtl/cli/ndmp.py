"""`vtl ndmp ...`: the NDMP server of a running node (ONTAP's `vserver services ndmp`).

The vocabulary is the seed's: on, off, show, modify, version, status, probe,
kill, kill-all, generate-password, extensions show|modify; plus `log` (the backup
event log ONTAP keeps in /etc/log/backup) and `set-login-password` (the login
password NDMP passwords are derived from).  ONTAP's single-dash parameter names
(``-session-id``, ``-client-addr``, ``-user``, ``-authtype``) are accepted
beside the usual ``--`` ones.
"""
from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

import click

from .output import emit_json, fail, json_option, table
from .session import session

AUTHTYPES = ("plaintext", "challenge")
RESERVATIONS = ("off", "scsi", "persistent")

_SETTING_NAMES = {
    "enabled": "Enabled",
    "address": "Address",
    "port": "Port",
    "secure": "Secure control connections",
    "secure_port": "Secure port",
    "authtype": "Authentication types",
    "max_sessions": "Maximum sessions",
    "tape_reservations": "Tape reservations",
    "data_buffers": "Data buffers",
    "event_log": "Backup event log",
}


def _value(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return ("on" if value else "off") if key == "event_log" else str(value).lower()
    if isinstance(value, list):
        return ", ".join(value) or "-"
    return "-" if value is None else str(value)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _key_values(title: str, pairs: list[tuple[str, Any]]) -> None:
    click.echo(title)
    width = max(len(k) for k, _ in pairs)
    for k, v in pairs:
        click.echo(f"  {k + ':':<{width + 1}} {'-' if v is None or v == '' else v}")


@click.group(short_help="The NDMP server: on/off, settings, sessions, passwords, event log.")
def ndmp() -> None:
    """The NDMP server of the running node (ONTAP's `vserver services ndmp`).

    Backup applications (DMAs) connect to it on the address and port `vtl ndmp show`
    prints, as user `ndmp` with the password `vtl ndmp generate-password --user ndmp`
    prints.
    """


# -- on / off / show / modify / version --------------------------------------------------------
def _listening(r: dict[str, Any]) -> str:
    return ", ".join(r["listening"]) if r["listening"] else "not listening"


@ndmp.command("on", short_help="Enable the NDMP service.")
@json_option
def on(as_json: bool) -> None:
    """Start listening for DMAs again (the setting outlives a restart of vtl serve)."""
    r = session().call("ndmp.on")
    if as_json:
        emit_json(r)
        return
    click.echo(f"NDMP {'is on' if r['changed'] else 'was already on'}: {_listening(r)}.")


@ndmp.command("off", short_help="Disable the NDMP service.")
@json_option
def off(as_json: bool) -> None:
    """Stop listening and end every NDMP session (each DMA is told why); the setting outlives
    a restart of vtl serve until `vtl ndmp on`."""
    r = session().call("ndmp.off")
    if as_json:
        emit_json(r)
        return
    if not r["changed"]:
        click.echo("NDMP was already off.")
        return
    ended = r["sessions_ended"]
    click.echo("NDMP is off" + (f"; {_plural(ended, 'session')} ended." if ended else "."))


@ndmp.command("show", short_help="Display the NDMP configuration.")
@json_option
def show(as_json: bool) -> None:
    """The NDMP settings in effect and where each comes from: the default, the configuration
    file, or `vtl ndmp on|off|modify` (saved in the state store, they win over the file)."""
    r = session().call("ndmp.show")
    if as_json:
        emit_json(r)
        return
    state = "running" if r["running"] else f"not running: {r['unavailable']}"
    click.echo(f"Node: {r['node']}")
    click.echo(f"NDMP service: {state}")
    click.echo(f"Listening on: {_listening(r)}")
    rows = []
    for key, name in _SETTING_NAMES.items():
        s = r["settings"][key]
        rows.append((name, _value(key, s["value"]), s["source"]))
    rows += [("TLS certificate", r["certificate"] or "-", "configuration" if r["certificate"] else "-"),
             ("TLS key", r["key"] or "-", "configuration" if r["key"] else "-"),
             ("Users", ", ".join(f"{u['name']} ({u['role']})" for u in r["users"]) or "-", r["users_source"]),
             ("Backup event log file", r["event_log_file"], ""),
             ("Secrets file", r["secrets"], ""),
             ("NDMP version", r["version"], ""),
             ("Active sessions", r["sessions"], "")]
    table(None, ["Setting", "Value", "From"], rows)
    click.echo(f"Configuration: {r['configuration']}")


def _bool(text: str) -> bool:
    return text.lower() in ("true", "on", "yes", "1")


BOOL = click.Choice(["true", "false", "on", "off"], case_sensitive=False)


@ndmp.command("modify", short_help="Modify the NDMP configuration.")
@click.option("--authtype", "-authtype", "authtype", help="Authentication methods a DMA may use: plaintext, "
              "challenge, or both as plaintext,challenge.")
@click.option("--address", help="The address to listen on (0.0.0.0: every address of this machine).")
@click.option("--port", type=click.IntRange(0, 65535), help="The NDMP port (0: any free port).")
@click.option("--secure", "--is-secure-control-connection-enabled", "-is-secure-control-connection-enabled",
              "secure", type=BOOL, help="Also listen with TLS on the secure port (needs certificate and key "
              "in [ndmp] of the configuration).")
@click.option("--secure-port", type=click.IntRange(0, 65535), help="The port of the TLS listener (ndmps: 30000).")
@click.option("--max-sessions", type=int, help="The most NDMP sessions at once (1 to 36).")
@click.option("--tape-reservations", type=click.Choice(RESERVATIONS, case_sensitive=False),
              help="How sessions reserve drives: off, scsi (RESERVE/RELEASE) or persistent.")
@click.option("--data-buffers", type=int, help="Records in flight between a data connection and the tape "
              "(1 to 64).")
@click.option("--event-log", type=BOOL, help="The backup event log: on or off.")
@click.option("--reset", is_flag=True, help="Forget every setting saved by vtl ndmp modify first: back to the "
              "configuration file (on/off stays).")
@json_option
def modify(authtype: str | None, address: str | None, port: int | None, secure: str | None,
           secure_port: int | None, max_sessions: int | None, tape_reservations: str | None,
           data_buffers: int | None, event_log: str | None, reset: bool, as_json: bool) -> None:
    """Change NDMP settings; they are saved and outlive a restart of vtl serve.  A change of
    address, port, TLS or session limit restarts the listeners, which ends the sessions."""
    settings: dict[str, Any] = {}
    if authtype is not None:
        settings["authtype"] = [part.strip() for part in authtype.replace(" ", ",").split(",") if part.strip()]
    for key, value in (("address", address), ("port", port), ("secure_port", secure_port),
                       ("max_sessions", max_sessions), ("data_buffers", data_buffers),
                       ("tape_reservations", tape_reservations)):
        if value is not None:
            settings[key] = value
    if secure is not None:
        settings["secure"] = _bool(secure)
    if event_log is not None:
        settings["event_log"] = _bool(event_log)
    if not settings and not reset:
        fail("Nothing to modify; give at least one option (vtl ndmp modify --help lists them).")
    r = session().call("ndmp.modify", settings=settings, reset=reset)
    if as_json:
        emit_json(r)
        return
    if not r["changed"]:
        click.echo("Nothing changed: " + ("the settings were already the configuration's."
                                           if reset and not settings else "the settings already had these values."))
        return
    parts = [f"{_SETTING_NAMES[k].lower()} is now {_value(k, r['settings'][k]['value'])}" for k in r["changed"]]
    click.echo("NDMP " + "; ".join(parts) + ".")
    if r["restarted"]:
        ended = r["sessions_ended"]
        click.echo(f"The listeners were restarted ({_listening(r)})"
                   + (f"; {_plural(ended, 'session')} ended." if ended else "."))


@ndmp.command("version", short_help="Display the NDMP version.")
@json_option
def version(as_json: bool) -> None:
    """The NDMP version this server speaks (version 4 only, as ONTAP)."""
    r = session().call("ndmp.version")
    if as_json:
        emit_json(r)
        return
    click.echo(f"NDMP Version: {r['version']}")


# -- sessions ----------------------------------------------------------------------------------
def _state(held: dict[str, Any] | None, key: str = "state") -> str:
    if not held:
        return "-"
    return str(held.get(key, "open"))


def _tape(held: dict[str, Any] | None) -> str:
    if not held:
        return "-"
    mode = held.get("mode")
    return f"{held.get('device', '?')}" + (f" ({mode})" if mode else "")


def _time(r: dict[str, Any]) -> str:
    return datetime.fromtimestamp(r["started"]).strftime("%Y-%m-%d %H:%M:%S")


def _detail(r: dict[str, Any]) -> list[tuple[str, Any]]:
    """The seed's probe fields that this server has, in the seed's order."""
    data, mover, tape, robot = r["data"] or {}, r["mover"] or {}, r["tape"] or {}, r["robot"] or {}
    pairs: list[tuple[str, Any]] = [
        ("Node", r["node"]), ("Session identifier", r["session_id"]),
        ("NDMP version", r["ndmp_version"]), ("Session authorized", str(r["authorized"]).lower()),
        ("User", r["user"]), ("Role", r["role"]), ("Authentication type", r["auth_type"]),
        ("Start time", _time(r)), ("Requests", r["requests"]),
        ("Data state", data.get("state", "-" if not r["data"] else None)),
        ("Data operation", data.get("operation")), ("Data server halt reason", data.get("halt_reason")),
        ("Data bytes processed", data.get("bytes_processed")),
        ("Mover state", mover.get("state", "-" if not r["mover"] else None)),
        ("Mover mode", mover.get("mode")), ("Mover pause reason", mover.get("pause_reason")),
        ("Mover halt reason", mover.get("halt_reason")), ("Mover record size", mover.get("record_size")),
        ("Mover record number", mover.get("record_num")), ("Mover bytes moved", mover.get("bytes_moved")),
        ("Mover seek position", mover.get("seek_position")),
        ("Mover bytes left to read", mover.get("bytes_left_to_read")),
        ("Mover window offset", mover.get("window_offset")), ("Mover window length", mover.get("window_length")),
        ("NDMP client address", r["client_addr"]), ("NDMP client port", r["client_port"]),
        ("NDMP server address", r["server_addr"]),
        ("SCSI device", robot.get("device") or robot.get("name")),
        ("Tape device", tape.get("device")), ("Tape mode", tape.get("mode")),
        ("Closing", "yes" if r["closing"] else "no"),
    ]
    return [(k, v) for k, v in pairs if v is not None]


def _probe_out(rows: list[dict[str, Any]]) -> None:
    if not rows:
        click.echo("There are no NDMP sessions.")
        return
    for i, r in enumerate(rows):
        if i:
            click.echo()
        _key_values(f"Session {r['session_id']}", _detail(r))


@ndmp.command("status", short_help="Display all NDMP sessions.")
@click.option("--session-id", "-session-id", "session_id", type=int, help="Show this session in detail.")
@json_option
def status(session_id: int | None, as_json: bool) -> None:
    """The NDMP sessions: who is connected from where, as whom, and what the data, tape and
    mover services are doing."""
    rows = session().call("ndmp.status", session_id=session_id)
    if as_json:
        emit_json(rows)
        return
    if session_id is not None:
        _probe_out(rows)
        return
    if not rows:
        click.echo("There are no NDMP sessions.")
        return
    table(None, ["Node", "Session ID", "Client Address", "Client Port", "User", "Auth Type", "Authorized",
                 "Start Time", "Data State", "Tape Device", "Mover State"],
          [(r["node"], r["session_id"], r["client_addr"], r["client_port"] or "-", r["user"] or "-",
            r["auth_type"] or "-", "yes" if r["authorized"] else "no", _time(r), _state(r["data"]),
            _tape(r["tape"]), _state(r["mover"])) for r in rows])
    click.echo(f"{len(rows)} entries were displayed.")


@ndmp.command("probe", short_help="Display detailed information about NDMP sessions.")
@click.option("--session-id", "-session-id", "session_id", type=int, help="Only this session.")
@click.option("--client-addr", "-client-addr", "client_addr", help="Only sessions from this client address.")
@json_option
def probe(session_id: int | None, client_addr: str | None, as_json: bool) -> None:
    """Diagnostic detail of every NDMP session (or of those the options pick): version,
    authorization, data, mover and tape state, client address and port."""
    rows = session().call("ndmp.status", session_id=session_id, client_addr=client_addr)
    if as_json:
        emit_json(rows)
        return
    _probe_out(rows)


@ndmp.command("kill", short_help="Terminate an NDMP session.")
@click.argument("session_id", type=int)
@json_option
def kill(session_id: int, as_json: bool) -> None:
    """End session SESSION_ID (see `vtl ndmp status`): the DMA is told why, and the session
    gives back its tape drive and robot."""
    r = session().call("ndmp.kill", session_id=session_id)
    if as_json:
        emit_json(r)
        return
    click.echo(f"NDMP session {session_id} " + ("was terminated." if r["ended"]
                                                 else "was told to end and is still closing."))


@ndmp.command("kill-all", short_help="Terminate all NDMP sessions.")
@json_option
def kill_all(as_json: bool) -> None:
    """End every NDMP session."""
    r = session().call("ndmp.kill_all")
    if as_json:
        emit_json(r)
        return
    killed = len(r["killed"])
    if not killed:
        click.echo("There were no NDMP sessions.")
        return
    still = killed - len(r["ended"])
    click.echo(f"{_plural(killed, 'NDMP session')} {'was' if killed == 1 else 'were'} terminated"
               + (f" ({still} still closing)." if still else "."))


# -- passwords ---------------------------------------------------------------------------------
@ndmp.command("generate-password", short_help="Generate the NDMP password of a user.")
@click.option("--user", "-user", "user", required=True, help="The NDMP user ([[ndmp.user]] of the configuration).")
@json_option
def generate_password(user: str, as_json: bool) -> None:
    """Print USER's NDMP-specific password, the one a DMA must use.  It is derived from the
    user's login password and a secret of this node: the same each time, until the login
    password changes (`vtl ndmp set-login-password`)."""
    r = session().call("ndmp.generate_password", user=user)
    if as_json:
        emit_json(r)
        return
    click.echo(f"Node: {r['node']}\nUser: {r['user']}\nPassword: {r['password']}")


@ndmp.command("set-login-password", short_help="Change a user's login password (and NDMP password).")
@click.option("--user", "-user", "user", required=True, help="The NDMP user.")
@click.option("--random", "random_", is_flag=True, help="Pick a new random login password instead of asking.")
@json_option
def set_login_password(user: str, random_: bool, as_json: bool) -> None:
    """Change USER's login password, read from a prompt (twice) or, when standard input is not
    a terminal, from its first line.  The NDMP password changes with it: DMAs need the new
    one, which this command prints."""
    if random_:
        import secrets
        password = secrets.token_urlsafe(18)
    elif sys.stdin.isatty():
        password = click.prompt(f"New login password for {user}", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        fail("The new login password is empty; nothing was changed.")
    r = session().call("ndmp.set_login_password", user=user, password=password)
    if as_json:
        emit_json(r)
        return
    click.echo(f"The login password of {r['user']} was changed. Its new NDMP password:")
    click.echo(f"Node: {r['node']}\nUser: {r['user']}\nPassword: {r['password']}")


# -- extensions --------------------------------------------------------------------------------
@ndmp.group("extensions", short_help="NDMP v4 extension classes.")
def extensions() -> None:
    """The NDMP v4 extension classes this server offers to DMAs (CONFIG_GET_EXT_LIST)."""


@extensions.command("show", short_help="Display NDMP extension status.")
@json_option
def extensions_show(as_json: bool) -> None:
    """Each extension class offered, with its versions and whether it is enabled."""
    rows = session().call("ndmp.extensions")
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("This NDMP server offers no extension classes (CONFIG_GET_EXT_LIST answers an empty "
                   "list); the restartable backup class 0x2050 is not built yet.")
        return
    table(None, ["Extension Class", "Versions", "Enabled"],
          [(r["class"], ", ".join(map(str, r["versions"])), "true" if r["enabled"] else "false") for r in rows])


@extensions.command("modify", short_help="Enable or disable an NDMP extension.")
@click.option("--extension", "ext_class", required=True, help="The extension class, like 0x2050.")
@click.option("--enabled", type=BOOL, required=True, help="true to offer it to DMAs, false not to.")
@json_option
def extensions_modify(ext_class: str, enabled: str, as_json: bool) -> None:
    """Enable or disable extension class EXTENSION (ONTAP's -is-extension-0x2050-enabled)."""
    r = session().call("ndmp.extensions_modify", ext_class=ext_class, enabled=_bool(enabled))
    if as_json:
        emit_json(r)
        return
    click.echo(f"Extension class {r['class']} is {'enabled' if r['enabled'] else 'disabled'}.")


# -- the backup event log ----------------------------------------------------------------------
@ndmp.command("log", short_help="Print the backup event log.")
@click.option("--lines", "-n", type=click.IntRange(0), help="Only the last N events.")
@json_option
def event_log(lines: int | None, as_json: bool) -> None:
    """The backup event log (ONTAP's /etc/log/backup), oldest first, across its weekly
    files: `type timestamp identifier event (info)`, one event a line."""
    r = session().call("ndmp.log", lines=lines)
    if as_json:
        emit_json(r)
        return
    if not r["events"]:
        state = "" if r["enabled"] else " (event logging is off: vtl ndmp modify --event-log on)"
        click.echo(f"The backup event log {r['path']} has no events{state}.", err=True)
        return
    for event in r["events"]:
        click.echo(event["line"])


# -- ndmcopy -----------------------------------------------------------------------------------
def _credentials(flag: str, text: str, prompt: bool) -> tuple[str, str]:
    user, _, password = text.partition(":")
    if not user:
        fail(f"{flag} {text!r}: give username:password, e.g. {flag} ndmp:<NDMP password>.")
    if prompt:
        if not sys.stdin.isatty():
            fail("-p asks for the passwords, which needs an interactive console.")
        password = click.prompt(f"Password of {user} ({'source' if flag == '-sa' else 'destination'})",
                                hide_input=True, default="", show_default=False)
    if not password:
        fail(f"{flag} {text!r} has no password: give username:password, or -p to be asked.")
    return user, password


@ndmp.command("copy", short_help="Copy a path between NDMP servers (ONTAP's ndmcopy).")
@click.option("-sa", "source_auth", required=True, metavar="USER:PASSWORD",
              help="Log in to the source as USER, with USER's NDMP password.")
@click.option("-da", "destination_auth", required=True, metavar="USER:PASSWORD",
              help="Log in to the destination as USER, with USER's NDMP password.")
@click.option("-st", "source_type", type=click.Choice(["md5", "text"]), default="md5", show_default=True,
              help="Authentication type at the source.")
@click.option("-dt", "destination_type", type=click.Choice(["md5", "text"]), default="md5", show_default=True,
              help="Authentication type at the destination.")
@click.option("-l", "level", type=click.IntRange(0, 9), default=0, show_default=True,
              help="Dump level: 0 copies everything, 1-9 what changed since the last copy of a lower level.")
@click.option("-exclude", "--exclude", "exclude", metavar="NAME[,NAME...]",
              help="Leave out files and directories with these names (exact, or with * first or last).")
@click.option("-mcs", "source_family", type=click.Choice(["inet", "inet6"]),
              help="Address family of the control connection to the source (for a host name).")
@click.option("-mcd", "destination_family", type=click.Choice(["inet", "inet6"]),
              help="Address family of the control connection to the destination (for a host name).")
@click.option("-md", "data_family", type=click.Choice(["inet", "inet6"]),
              help="Address family of the data connection (NDMP v4 carries only inet).")
@click.option("-p", "prompt", is_flag=True, help="Ask for the two passwords instead.")
@click.option("-d", "debug", is_flag=True, help="Print what the two servers log, on standard error.")
@click.argument("source")
@click.argument("destination")
@json_option
def copy(source_auth: str, destination_auth: str, source_type: str, destination_type: str, level: int,
         exclude: str | None, source_family: str | None, destination_family: str | None,
         data_family: str | None, prompt: bool, debug: bool, source: str, destination: str,
         as_json: bool) -> None:
    """Copy SOURCE to DESTINATION, each HOST[:PORT]:/vserver/volume[/path] on an NDMP
    server (the port defaults to 10000; an IPv6 address goes in brackets).

    A dump backup of SOURCE on its server goes over a data connection straight into a
    restore at DESTINATION, no tape in between; the same server may be both. This is a
    DMA of its own: it needs no `vtl serve` here, and the servers may be any NDMP v4
    servers with the dump butype. Levels 1-9 copy what changed since the last copy of a
    lower level of the same SOURCE.

    Example: vtl ndmp copy -sa ndmp:PW -da ndmp:PW 127.0.0.1:/vs1/vol1/dir 127.0.0.1:/vs2/vol2/dir
    """
    import socket as _socket

    from ndmp.copy import FAMILIES, CopyError, Endpoint, ndmcopy, parse_location
    from ndmp.dma import DmaError
    from vtl.units import format_size

    ends = []
    for flag, auth, kind, family, where in (("-sa", source_auth, source_type, source_family, source),
                                            ("-da", destination_auth, destination_type, destination_family,
                                             destination)):
        try:
            host, port, path = parse_location(where)
        except ValueError as e:
            fail(str(e))
        user, password = _credentials(flag, auth, prompt)
        ends.append(Endpoint(host, port, path, user, password, kind,
                             FAMILIES.get(family or "", _socket.AF_UNSPEC)))
    try:
        r = ndmcopy(ends[0], ends[1], level=level,
                    exclude=[e for e in (exclude or "").split(",") if e], data_family=data_family)
    except CopyError as e:
        if debug:
            for side, kind, text in e.messages:
                click.echo(f"{side}: {kind}: {text}", err=True)
        why = e.reason()
        fail(f"{str(e).rstrip('.')}{f' ({why})' if why else ''}.")
    except DmaError as e:
        fail(f"{str(e).rstrip('.')}.")
    except KeyboardInterrupt:
        fail("Interrupted: the copy was aborted on both servers.")
    if debug:
        for side, kind, text in r.messages:
            click.echo(f"{side}: {kind}: {text}", err=True)
    if as_json:
        emit_json({"source": ends[0].name, "destination": ends[1].name, "level": r.level, "bytes": r.bytes,
                   "seconds": round(r.seconds, 3),
                   "messages": [{"side": s, "type": k, "text": t} for s, k, t in r.messages]})
        return
    click.echo(f"Copied {ends[0].name} to {ends[1].name} (level {r.level}): {format_size(r.bytes)} "
               f"in {r.seconds:.2f} s.")
    for side, kind, text in r.messages:
        if kind in ("warning", "error") and not debug:
            click.echo(f"{side}: {kind}: {text}", err=True)
