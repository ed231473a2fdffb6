"""`vtl cartridge ...`: make, inspect and read file-backed cartridges.

TARGET is a path when it looks like one (it contains a path separator or
exists on disk): the command then works on the cartridge files directly, with
no daemon.  Otherwise it is a barcode: with `vtl serve` running, the daemon
handles it (a new cartridge goes into a mailslot of the library; the others
are found in the catalog); with no daemon running, the barcode names a
cartridge in the default cartridge directory (``$VTL_HOME/cartridges``).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from images.cartridge import Cartridge, CartridgeError, Kind, MediumError, NoKey, media_type
from images.cartridge import mam as mamdef
from images.cartridge.errors import InUse
from images.cartridge.media import DENSITIES, MEDIA

from ..paths import cartridge_dir
from ..units import format_size, parse_size
from .output import emit_json, fail, json_option, table
from .session import session


def _is_path(target: str) -> bool:
    return os.sep in target or (os.altsep is not None and os.altsep in target) or Path(target).exists()


def _resolve(target: str) -> Path:
    """A cartridge path, or a barcode in the default cartridge directory."""
    p = Path(target)
    if _is_path(target):
        return p
    return cartridge_dir() / target


def _daemon(target: str | None) -> bool:
    """Whether TARGET (a barcode, or nothing) is for the running daemon rather than the files."""
    return (target is None or not _is_path(target)) and session().running()


def _where(c: dict) -> str:
    if c.get("library") is None:
        return "outside the libraries (exported)"
    if c["element"] == "unconfigured library":
        return f"library {c['library']}, element {c['address']}, which the configuration no longer has"
    kind = {"storage": "slot", "import_export": "mailslot", "data_transfer": "drive"}.get(c["element"], c["element"])
    return f"{c['library']} {kind} {c['address']}"


def _open(target: str) -> Cartridge:
    path = _resolve(target)
    try:
        return Cartridge.open(str(path))
    except CartridgeError as exc:
        fail(str(exc))
        raise  # unreachable


@click.group(short_help="Create, inspect and read cartridges.")
def cartridge() -> None:
    """Create, inspect and read cartridges (each is a directory of files)."""


@cartridge.command("create", short_help="Create a cartridge (at a path or in a mailslot).")
@click.argument("target")
@click.option("--media", "media_name", help=f"Media type ({', '.join(MEDIA)}); default from the barcode's suffix, else LTO8.")
@click.option("--barcode", help="Barcode label; default: the directory name.")
@click.option("--capacity", help="Make a smaller cartridge than the media's native capacity, e.g. 64MiB.")
@click.option("--early-warning", help="Size of the early-warning zone, e.g. 1MiB.")
@click.option("--write-protect", is_flag=True, help="Set the write-protect tab.")
@click.option("--library", help="With vtl serve running: the library whose mailslot receives it.")
@json_option
def create(target: str, media_name: str | None, barcode: str | None, capacity: str | None,
           early_warning: str | None, write_protect: bool, library: str | None, as_json: bool) -> None:
    """Create a blank cartridge at TARGET (a path), or put a new one with barcode TARGET into a mailslot.

    With `vtl serve` running, a barcode makes the cartridge in the library's storage and hands
    it in through the first free import/export slot (then: vtl move, vtl load).
    """
    if _daemon(target):
        if barcode is not None or early_warning is not None:
            fail("--barcode and --early-warning are for cartridges made at a path; a library cartridge "
                 "is named by its barcode (TARGET) and has the media's early-warning zone.")
        _create_in_library(target, media_name, capacity, library, write_protect, as_json)
        return
    if library is not None:
        fail("--library needs a running vtl serve; at a path the cartridge belongs to no library.")
    path = _resolve(target)
    try:
        media = media_type(media_name) if media_name else None
        cap = parse_size(capacity) if capacity else None
        ew = parse_size(early_warning) if early_warning else None
    except (KeyError, ValueError) as exc:
        fail(str(exc.args[0]) if exc.args else str(exc))
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


def _create_in_library(barcode: str, media_name: str | None, capacity: str | None, library: str | None,
                       write_protect: bool, as_json: bool) -> None:
    try:
        if media_name:
            media_type(media_name)
        if capacity:
            parse_size(capacity)
    except (KeyError, ValueError) as exc:
        fail(str(exc.args[0]) if exc.args else str(exc))
    s = session()
    el = s.call("cartridge.create", barcode=barcode, media=media_name, capacity=capacity, library=library)
    if write_protect:
        s.call("cartridge.write_protect", barcode=barcode, on=True)
    info = s.call("cartridge.info", barcode=barcode)
    if as_json:
        emit_json(info)
        return
    click.echo(f"Created {info['media']} cartridge {info['barcode']} ({format_size(info['capacity'])}) in "
               f"mailslot {el['address']} of library {el['library']}.")


def _info(cart: Cartridge) -> dict:
    return {
        "path": cart.path,
        "barcode": cart.barcode,
        "media": cart.media.name,
        "worm": cart.worm,
        "cleaning": cart.cleaning,
        "write_protected": cart.write_protected,
        "read_only": cart.read_only,
        "density": None if cart.density is None else f"0x{cart.density:02X}",
        "density_name": DENSITIES[cart.density].description if cart.density in DENSITIES else None,
        "capacity": cart.capacity,
        "partitions": [
            {"number": p.number, "capacity": p.capacity, "used": p.end, "remaining": p.remaining,
             "objects": p.eod, "filemarks": p.filemark_count, "damaged": p.damaged, "files": p.filemark_count + (
                 1 if p.eod and (p.filemark_count == 0 or p.filemark(p.filemark_count - 1) != p.eod - 1) else 0)}
            for p in cart.partitions],
        "mam": {mamdef.lookup(i).name if _known(i) else f"0x{i:04X}": _show_mam(i, cart.mam_get(i))
                for i in cart.mam_ids()},
    }


def _flags(c: dict) -> list[str]:
    """WORM, cleaning, and why it cannot be written: its tab, or files that are read-only."""
    return [n for n, v in (("WORM", c.get("worm")), ("cleaning", c.get("cleaning")),
                           ("read-only", c.get("read_only")),
                           ("write-protected", c.get("write_protected") and not c.get("read_only"))) if v]


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


@cartridge.command("info", short_help="Show a cartridge.")
@click.argument("target")
@json_option
def info(target: str, as_json: bool) -> None:
    """Show a cartridge: media, density, partitions, usage and MAM attributes.

    For a barcode with `vtl serve` running: where it is in the library, media, usage and flags.
    """
    if _daemon(target):
        c = session().call("cartridge.info", barcode=target)
        if as_json:
            emit_json(c)
            return
        flags = _flags(c)
        click.echo(f"Cartridge {c['barcode']}  {c['media']}  {' '.join(flags)}".rstrip())
        click.echo(f"  where:      {_where(c)}")
        click.echo(f"  path:       {c['path']}")
        click.echo(f"  used:       {format_size(c['used'])} of {format_size(c['capacity'])} "
                   f"({c['partitions']} partition{'s' if c['partitions'] != 1 else ''})")
        click.echo(f"  loads:      {c['loads']}")
        if c["damaged"]:
            click.echo(f"  damaged:    {c['damaged']:,} bytes after the last readable record were kept: "
                       "reading there is MEDIUM ERROR, writing there overwrites them.")
        return
    with _open(target) as cart:
        data = _info(cart)
    if as_json:
        emit_json(data)
        return
    flags = _flags(data)
    click.echo(f"Cartridge {data['barcode']}  {data['media']}  {' '.join(flags)}".rstrip())
    click.echo(f"  path:    {data['path']}")
    click.echo(f"  density: {data['density'] or 'blank'} {data['density_name'] or ''}".rstrip())
    table("Partitions", ["partition", "capacity", "used", "objects", "filemarks"],
          [(p["number"], format_size(p["capacity"]), format_size(p["used"]), p["objects"], p["filemarks"])
           for p in data["partitions"]])
    for p in data["partitions"]:
        if p["damaged"]:
            click.echo(f"Partition {p['number']}: {p['damaged']:,} bytes after object {p['objects']} are damaged "
                       "and were kept: reading there is MEDIUM ERROR, writing there overwrites them.")
    table("Medium auxiliary memory", ["attribute", "value"], sorted(data["mam"].items()))


@cartridge.command("list", short_help="List the catalog or a directory of cartridges.")
@click.argument("directory", required=False)
@click.option("--library", help="With vtl serve running: only the cartridges of this library.")
@json_option
def list_(directory: str | None, library: str | None, as_json: bool) -> None:
    """List the cartridges of the running node's catalog, or those in DIRECTORY.

    With no DIRECTORY and no `vtl serve` running: the default cartridge directory.
    """
    if directory is None and session().running():
        rows = session().call("cartridge.list", library=library)
        if as_json:
            emit_json(rows)
            return
        if not rows:
            click.echo("No cartridges in the catalog.")
            return
        table(None, ["barcode", "media", "library", "element", "address", "loads", "moves", "path"],
              [(r["barcode"], r["media"], r["library"] or "-", r["element"].replace("_", "-"),
                r["address"], r["loads"], r["moves"], r["path"]) for r in rows])
        return
    if library is not None:
        fail("--library needs a running vtl serve (a directory of cartridges belongs to no library).")
    root = Path(directory) if directory else cartridge_dir()
    if directory and not root.is_dir():
        fail(f"{root} is not a directory{'' if root.exists() else ' (it does not exist)'}; give the "
             "directory that holds the cartridges.")
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
            r.get("error") or " ".join(_flags(r) + ["damaged"] * any(p["damaged"] for p in r.get("partitions", []))),
            r["path"]) for r in rows])


def _open_library_cartridge(barcode: str) -> Cartridge:
    """A cartridge of the running node, opened here; refused while a drive holds it."""
    s = session()

    def refuse_if_in_drive(c: dict) -> None:
        if c["element"] != "data_transfer":
            return
        drives = s.call("tape.show_tape_drive")
        name = next((d["alias"] or d["serial"] for d in drives
                     if d["library"] == c["library"] and d["address"] == c["address"]), None)
        fail(f"Cartridge {c['barcode']} is in drive {name or c['address']}; unload it first "
             f"(vtl unload {name or '<drive>'}).")

    c = s.call("cartridge.info", barcode=barcode)
    refuse_if_in_drive(c)
    try:
        return Cartridge.open(c["path"])
    except CartridgeError as exc:
        if isinstance(exc, InUse):          # loaded meanwhile: the drive holds its lock
            refuse_if_in_drive(s.call("cartridge.info", barcode=barcode))
        fail(str(exc))
        raise  # unreachable


@cartridge.command("read", short_help="Write a tape file to standard output.")
@click.argument("target")
@click.option("--file", "file_number", type=int, default=0, show_default=True,
              help="Which tape file to read (0 is the first, counted in filemarks from BOP).")
@click.option("--partition", type=int, default=0, show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="Write to this file instead of standard output.")
def read(target: str, file_number: int, partition: int, output: str | None) -> None:
    """Write one tape file (the records between two filemarks) to standard output.

    A cartridge in a drive is held by the drive; unload it first (vtl unload).
    """
    if _daemon(target):
        cart = _open_library_cartridge(target)
    else:
        cart = _open(target)
    with cart:
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
        _copy_file(part, file_number, output)


def _copy_file(part, file_number: int, output: str | None) -> None:
    """Stream one tape file out; a full disk is one sentence (with how much was written),
    not a traceback."""
    where = output or "standard output"
    total = 0
    try:
        out = open(output, "wb") if output else sys.stdout.buffer
        buf = memoryview(bytearray(8 * 1024 * 1024))
        try:
            while True:
                r = part.read(buf)
                if r.kind != Kind.DATA:
                    break
                out.write(buf[: r.copied])
                total += r.copied
        finally:
            if output:
                out.close()
            else:
                out.flush()
    except MediumError as exc:
        fail(f"{exc} after {total} bytes; the rest of file {file_number} is unreadable.")
    except NoKey:
        fail(f"File {file_number} is encrypted (after {total} bytes): its key lives only in the drive that "
             "wrote it. Read it through a drive given the key (SECURITY PROTOCOL OUT, e.g. stenc).")
    except BrokenPipeError:
        raise                          # the reader went away (`| head`): click ends quietly
    except OSError as exc:
        fail(f"cannot write {where} after {total} bytes: {exc.strerror}.")


@cartridge.command("write", short_help="Append a tape file from standard input.")
@click.argument("target")
@click.option("--block-size", type=click.IntRange(1, 8 * 1024 * 1024 - 1), default=10240, show_default=True,
              help="Bytes per record (the last one may be shorter); tar's default is 10240.")
@click.option("--partition", type=int, default=0, show_default=True)
@click.option("--compress", "compression", type=click.Choice(["none", "lz4", "zstd"]), default="none",
              show_default=True, help="Compress each record (kept uncompressed where it does not shrink).")
@click.option("-i", "--input", "input_path", type=click.Path(dir_okay=False, exists=True),
              help="Read this file instead of standard input.")
@json_option
def write(target: str, block_size: int, partition: int, compression: str, input_path: str | None,
          as_json: bool) -> None:
    """Append one tape file (records, then a filemark) at the end of data, from standard
    input: the counterpart of `read`, e.g. `tar cf - DIR | vtl cartridge write A00001L8`.

    If the input fails, the cartridge fills up or the command is interrupted, what was
    appended is taken back out. A cartridge in a drive is held by the drive; unload it first.
    """
    from images.cartridge import EndOfMedium, WormOverwrite, WriteProtected
    from images.cartridge.compression import parse_algorithm

    cart = _open_library_cartridge(target) if _daemon(target) else _open(target)
    with cart:
        if not 0 <= partition < len(cart.partitions):
            fail(f"cartridge {cart.barcode} has no partition {partition} (it has {len(cart.partitions)}).")
        if cart.cleaning:
            fail(f"Cartridge {cart.barcode} is a cleaning cartridge; it holds no data.")
        part = cart.select(partition)
        if part.damaged:
            fail(f"Cartridge {cart.barcode} partition {partition} has {part.damaged:,} damaged bytes after its "
                 "last readable record; appending there would overwrite them. Read what it holds first "
                 "(vtl cartridge read), then erase it.")
        try:
            cart.check_writable(overwrite=False)
        except (WriteProtected, WormOverwrite) as exc:
            fail(f"{exc}.")
        part.locate(part.eod)
        start = part.eod
        algorithm = parse_algorithm(compression)
        where = input_path or "standard input"
        total = records = stored = 0
        try:
            if part.eod and part.filemark(part.filemark_count - 1) != part.eod - 1:
                part.write_mark(Kind.FILEMARK)     # close the last file, so this one is a file of its own
            file_number = part.filemark_count
            source = open(input_path, "rb") if input_path else sys.stdin.buffer
            try:
                buf = memoryview(bytearray(block_size))
                while True:
                    n = _fill(source, buf)
                    if n == 0:
                        break
                    if start == 0 and partition == 0 and records == 0 and cart.media.density is not None:
                        cart.note_density(cart.media.density.code)
                    stored += part.write(buf[:n], algorithm)
                    cart.count_written(n)
                    total, records = total + n, records + 1
                    if n < block_size:
                        break
            finally:
                if input_path:
                    source.close()
            part.write_mark(Kind.FILEMARK)
            cart.flush()
        except KeyboardInterrupt:
            _take_back(cart, part, start)
            fail("Interrupted; nothing was appended.")
        except (EndOfMedium, OSError, CartridgeError) as exc:
            _take_back(cart, part, start)
            if isinstance(exc, EndOfMedium):
                fail(f"Cartridge {cart.barcode} partition {partition} is full after {total:,} bytes of "
                     f"{where}; nothing was appended.")
            if isinstance(exc, OSError) and not isinstance(exc, CartridgeError):
                fail(f"cannot read {where} after {total:,} bytes: {exc.strerror}; nothing was appended.")
            fail(f"{exc}; nothing was appended.")
        data = {"barcode": cart.barcode, "path": cart.path, "partition": partition, "file": file_number,
                "bytes": total, "records": records, "block_size": block_size, "stored": stored}
    if as_json:
        emit_json(data)
        return
    click.echo(f"Wrote file {file_number} of cartridge {data['barcode']} (partition {partition}): "
               f"{total:,} bytes in {records:,} record{'s' if records != 1 else ''} of {block_size} bytes"
               f"{f', {format_size(stored)} stored' if compression != 'none' else ''}.")


def _fill(source, buf: memoryview) -> int:
    """Read until ``buf`` is full or the input ends (a pipe hands over less at a time)."""
    n = 0
    while n < len(buf):
        got = source.readinto(buf[n:])
        if not got:
            break
        n += got
    return n


def _take_back(cart: Cartridge, part, start: int) -> None:
    """Cut the partition back to where the new file began (as if it was never written)."""
    try:
        part.locate(start)
        part.truncate_here()
        cart.flush()
    except (CartridgeError, OSError, ValueError):
        pass                 # the next open cuts a torn tail; a whole record stays, readable


def _show_change(c: dict, what: str, as_json: bool) -> None:
    if as_json:
        emit_json(c)
    else:
        click.echo(f"Cartridge {c['barcode']} {what}.")


@cartridge.command("delete", short_help="Delete a cartridge for good.")
@click.argument("target")
@click.option("--keep-files", is_flag=True,
              help="Only take it out of the catalog; its directory stays as it is.")
@json_option
def delete(target: str, keep_files: bool, as_json: bool) -> None:
    """Delete a cartridge for good: out of the node's catalog and its files deleted.

    For a barcode with `vtl serve` running: the cartridge must be outside the libraries
    (vtl export it first). For a path: the cartridge's own files and then its directory,
    if nothing else is in it (not while a drive or tool has it open).
    """
    if _daemon(target):
        r = session().call("cartridge.delete", barcode=target, keep_files=keep_files)
        if as_json:
            emit_json(r)
            return
        what = "its files were deleted" if r["files_deleted"] else f"its files stay in {r['path']}"
        click.echo(f"Cartridge {r['barcode']} is deleted from the catalog; {what}.")
        _say_what_is_left(r["path"], r["left"])
        for library in r["configured"]:
            again = "a blank one again" if r["files_deleted"] else "it again, from the files kept"
            click.echo(f"It is one of library {library}'s configured cartridges, so the next start puts "
                       f"{again} into the library; remove it from [[library.cartridge]] to be rid of it.")
        return
    if keep_files:
        fail("--keep-files is for a cartridge of the running daemon's catalog (give its barcode); "
             "for a path there is nothing else to delete.")
    path = _resolve(target)
    if not (path / "cartridge.json").exists():
        fail(f"{path}: no cartridge here (cartridge.json is missing).")
    if session().running():
        mine = {os.path.realpath(c["path"]): c["barcode"] for c in session().call("cartridge.list")}
        barcode = mine.get(os.path.realpath(path))
        if barcode is not None:
            fail(f"{path} is cartridge {barcode} of the running node's catalog; delete it by barcode "
                 f"(vtl cartridge delete {barcode}), so that the catalog forgets it too.")
    try:
        left = Cartridge.remove(str(path))
    except CartridgeError as exc:
        fail(str(exc))
    if as_json:
        emit_json({"path": str(path), "files_deleted": True, "left": left})
        return
    click.echo(f"Cartridge {path} is deleted.")
    _say_what_is_left(str(path), left)


def _say_what_is_left(path: str, left: list[str]) -> None:
    if left:
        click.echo(f"{path} holds other files ({', '.join(left)}); it was left in place.")


@cartridge.command("erase", short_help="Erase a cartridge.")
@click.argument("target")
@json_option
def erase(target: str, as_json: bool) -> None:
    """Erase a cartridge: every record and filemark is gone, the capacity stays (one partition)."""
    if _daemon(target):
        c = session().call("cartridge.erase", barcode=target)
        _show_change(c, "is erased", as_json)
        return
    with _open(target) as cart:
        if cart.read_only:
            fail(f"Cartridge {cart.barcode} is read-only: its files at {cart.path} cannot be written "
                 "(a read-only file system, or permissions). Make them writable first.")
        if cart.write_protected:
            fail(f"Cartridge {cart.barcode} is write-protected; clear the tab first "
                 f"(vtl cartridge write-protect --off {target}).")
        if cart.worm:
            fail(f"Cartridge {cart.barcode} is WORM media; it cannot be erased.")
        try:
            cart.format()
            cart.flush()
        except CartridgeError as exc:
            fail(str(exc))
        data = _info(cart)
    _show_change(data, "is erased", as_json)


@cartridge.command("write-protect", short_help="Set or clear the write-protect tab.")
@click.argument("target")
@click.option("--on/--off", "on", default=True, help="Set (default) or clear the write-protect tab.")
@json_option
def write_protect(target: str, on: bool, as_json: bool) -> None:
    """Set or clear the write-protect tab of a cartridge (not while it is in a drive)."""
    what = "is write-protected" if on else "is writable"
    if _daemon(target):
        c = session().call("cartridge.write_protect", barcode=target, on=on)
        _show_change(c, what, as_json)
        return
    with _open(target) as cart:
        try:
            cart.write_protected = on
            cart.flush()
        except CartridgeError as exc:
            fail(str(exc))
        data = _info(cart)
    _show_change(data, what, as_json)
