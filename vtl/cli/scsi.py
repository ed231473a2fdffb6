"""`vtl scsi DEVICE CDB`: send one raw CDB to an emulated device (diagnosis, tests)."""
from __future__ import annotations

import base64
import re
from typing import IO

import click

from .output import emit_json, fail, json_option
from .session import session


def parse_cdb(text: str) -> str:
    """Hex, with optional spaces, colons or a 0x prefix: ``12 00 00 00 60 00``."""
    cleaned = re.sub(r"[\s:,_-]", "", text)
    if cleaned.lower().startswith("0x"):
        cleaned = cleaned[2:]
    try:
        cdb = bytes.fromhex(cleaned)
    except ValueError:
        fail(f"{text!r} is not a CDB in hex; write it like \"12 00 00 00 60 00\" (INQUIRY).")
    if not 6 <= len(cdb) <= 260:
        fail(f"A CDB is 6 to 260 bytes long; {text!r} is {len(cdb)}.")
    return cdb.hex()


def hexdump(data: bytes) -> str:
    lines = []
    for off in range(0, len(data), 16):
        chunk = data[off:off + 16]
        hexes = " ".join(f"{b:02x}" for b in chunk)
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{off:08x}  {hexes:<47}  |{text}|")
    return "\n".join(lines)


def asc_name(asc: int, ascq: int) -> str | None:
    from scsi.sense import Asc
    for name, value in vars(Asc).items():
        if not name.startswith("_") and value == (asc, ascq):
            return name.replace("_", " ")
    return None


def describe_sense(raw: bytes) -> str:
    from construct import ConstructError

    from scsi.sense import FieldPointer, Progress, decode
    try:
        s = decode(raw)
    except (ValueError, ConstructError) as e:  # sense we cannot parse: show it raw
        return f"undecodable sense ({e}): {raw.hex()}"
    name = asc_name(s.asc, s.ascq)
    parts = [f"{s.key.name.replace('_', ' ')}, ASC/ASCQ {s.asc:02X}/{s.ascq:02X}" + (f" ({name})" if name else "")]
    for flag, on in (("FILEMARK", s.filemark), ("EOM", s.eom), ("ILI", s.ili), ("deferred", s.deferred)):
        if on:
            parts.append(flag)
    if s.information is not None:
        parts.append(f"information {s.information}")
    if isinstance(s.specific, FieldPointer):
        where = "CDB" if s.specific.in_cdb else "parameter list"
        bit = f" bit {s.specific.bit}" if s.specific.bit is not None else ""
        parts.append(f"field pointer: {where} byte {s.specific.byte}{bit}")
    elif isinstance(s.specific, Progress):
        parts.append(f"progress {s.specific.fraction * 100 // 65536}%")
    return ", ".join(parts)


@click.command("scsi", short_help="Send one raw CDB to a drive or changer.")
@click.argument("device")
@click.argument("cdb", metavar="CDB_HEX")
@click.option("--data-out", type=click.File("rb"), help="Send this file as the data-out buffer ('-' for stdin).")
@click.option("--allocation", type=click.IntRange(0, 16 * 1024 * 1024), default=0, show_default=True,
              help="Size of the data-in buffer (what the CDB's allocation or transfer length asks for).")
@click.option("--initiator", help="Initiator name of the I_T nexus (default: the operator's).")
@json_option
def scsi(device: str, cdb: str, data_out: IO[bytes] | None, allocation: int, initiator: str | None,
         as_json: bool) -> None:
    """Run one CDB on DEVICE (a drive or changer name) and show status, sense and data-in.

    Example: `vtl scsi st0 "12 00 00 00 60 00" --allocation 96` (INQUIRY).
    """
    params = {"device": device, "cdb": parse_cdb(cdb), "allocation": allocation, "initiator": initiator}
    if data_out is not None:
        params["data_out"] = base64.b64encode(data_out.read()).decode()
    r = session().call("scsi", **params)
    if as_json:
        emit_json(r)
        return
    from scsi.status import Status
    try:
        status = Status(r["status"]).name.replace("_", " ")
    except ValueError:
        status = f"0x{r['status']:02X}"
    click.echo(f"Status: {status}")
    sense = bytes.fromhex(r["sense"])
    if sense:
        click.echo(f"Sense: {describe_sense(sense)}")
        click.echo(f"Sense bytes: {sense.hex(' ')}")
    data = base64.b64decode(r["data"])
    if data:
        click.echo(f"Data-in ({len(data)} bytes):")
        click.echo(hexdump(data))
