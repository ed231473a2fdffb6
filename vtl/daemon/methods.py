"""The control API: every request the CLI can make of a running daemon.

One table maps a method name to a handler ``(node, **params) -> JSON value``.
Handlers raise :class:`ApiError` (or the library's own errors, which carry
operator-facing sentences); the control server turns them into error
replies.  They run on worker threads, one request at a time per library
(the library lock), so blocking cartridge I/O never stalls the socket.
"""
from __future__ import annotations

import base64
import functools
import json
import logging
import sqlite3
import types
import typing
from typing import Any, Callable

from images.cartridge import Cartridge, CartridgeError
from images.cartridge.errors import NO_ROOM
from scsi import Nexus
from scsi.sense import SenseKey
from scsi.smc import Element, ElementType, MoveRefused, Refusal
from scsi.ssc import DriveState
from tapeconf import QualificationTable, device_listing
from tapeconf.aliases import AliasScope

from ..library import Library, LibraryError
from ..node import CHANGER, TAPE, Device, Node
from ..units import parse_size

log = logging.getLogger(__name__)

Handler = Callable[..., Any]
METHODS: dict[str, Handler] = {}

OPERATOR = Nexus("vtl-operator")
"""The I_T nexus of commands the operator sends through `vtl tape position`, `vtl scsi`."""


class ApiError(Exception):
    """A request the daemon refuses; the message is for the operator."""


def method(name: str) -> Callable[[Handler], Handler]:
    def deco(fn: Handler) -> Handler:
        METHODS[name] = fn
        return fn
    return deco


def call(node: Node, name: str, params: dict[str, Any]) -> Any:
    fn = METHODS.get(name)
    if fn is None:
        raise ApiError(f"The daemon does not know the request {name!r}; are the CLI and `vtl serve` the "
                       "same version?")
    _check_params(name, fn, params)
    try:
        return fn(node, **params)
    except TypeError as e:
        if "argument" in str(e):
            raise ApiError(f"Bad parameters for {name}: {e}") from None
        raise
    except MoveRefused as e:
        raise ApiError(refusal_message(node, e)) from None
    except (LibraryError, CartridgeError) as e:
        raise ApiError(str(e)) from None
    except OSError as e:
        if e.errno not in NO_ROOM:
            raise
        where = f" ({e.filename})" if e.filename else ""
        raise ApiError(f"{e.strerror}{where}. Fix: make room on that file "
                       "system, then try again.") from None
    except sqlite3.OperationalError as e:
        if getattr(e, "sqlite_errorname", None) not in _STORE_CANNOT_WRITE:
            raise
        raise ApiError(f"The state store {node.store.path} could not record this ({e}); it still holds "
                       "what it held before. Fix: make room on that file system, then try again.") from None


_STORE_CANNOT_WRITE = {"SQLITE_FULL", "SQLITE_IOERR", "SQLITE_READONLY", "SQLITE_CANTOPEN"}
"""The store's file system is full, failing or read-only: the operator's to fix."""


def _check_params(name: str, fn: Handler, params: dict[str, Any]) -> None:
    """Each parameter must be of the JSON type its handler declares, so a client other than
    the CLI gets a plain refusal instead of an internal error from deep inside a handler."""
    hints = _hints(fn)
    for key, value in params.items():
        hint = hints.get(key)
        if hint is not None and not _fits(value, hint):
            raise ApiError(f"Bad parameters for {name}: {key} must be {_describe(hint)}, "
                           f"not {json.dumps(value)[:60]}.")


@functools.cache
def _hints(fn: Handler) -> dict[str, Any]:
    hints = typing.get_type_hints(fn)
    hints.pop("return", None)
    hints.pop("node", None)            # the daemon's own argument, never a parameter
    return hints


def _fits(value: Any, hint: Any) -> bool:
    if hint is Any:
        return True
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return any(_fits(value, h) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool) and -2**63 <= value < 2**63
    return isinstance(value, typing.get_origin(hint) or hint)


def _describe(hint: Any) -> str:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return " or ".join(_describe(h) for h in typing.get_args(hint))
    return {str: "a string", int: "a whole number", bool: "true or false", type(None): "null",
            dict: "an object", list: "a list"}.get(typing.get_origin(hint) or hint, str(hint))


def refusal_message(node: Node, e: MoveRefused) -> str:
    """The operator's sentence for a refused move: which element, which cartridge, what to do."""
    el = _only_element(node, e.address)
    if el is None:
        where = f"element {e.address}" if e.address is not None else "the element"
    elif el.type == ElementType.DATA_TRANSFER:
        where = f"drive {el.identifier} (element {el.address})"
    else:
        where = f"{_KIND[el.type]} {el.address}"
    where_ = where[:1].upper() + where[1:]
    holds = f" holds {el.barcode}" if el is not None and el.barcode else ""
    text = {
        Refusal.INVALID_ADDRESS: f"There is no element {e.address} that can hold a cartridge; `vtl inventory` "
                                 "lists the slots and drives.",
        Refusal.SOURCE_EMPTY: f"Nothing to move: {where} is empty.",
        Refusal.DESTINATION_FULL: f"{where_} already{holds or ' holds a cartridge'}; choose an "
                                  "empty one (`vtl inventory` shows them).",
        Refusal.REMOVAL_PREVENTED: f"A host has prevented medium removal from {where}; let the backup "
                                   "application finish or allow removal, then try again.",
        Refusal.MEDIUM_LOADED: f"{where_} still has {el.barcode if el and el.barcode else 'its tape'} "
                               "loaded; unload it first (vtl unload <drive>).",
        Refusal.NOT_ACCESSIBLE: f"{where_} is not accessible (an offline drive?); bring it online "
                                "first (vtl tape online <drive>).",
        Refusal.INCOMPATIBLE: f"The cartridge cannot be used in {where}",
    }[e.refusal]
    return text + (f" ({e.detail})" if e.detail and e.refusal != Refusal.INVALID_ADDRESS else "")


_KIND = {ElementType.STORAGE: "storage slot", ElementType.IMPORT_EXPORT: "import/export slot",
         ElementType.TRANSPORT: "the robot's transport", ElementType.DATA_TRANSFER: "drive"}


def _only_element(node: Node, address: int | None) -> Element | None:
    if address is None or len(node.libraries) != 1:
        return None
    try:
        return next(iter(node.libraries.values())).element(address)
    except MoveRefused:
        return None


# -- views ---------------------------------------------------------------------------------
def element_view(lib: Library, e: Element) -> dict[str, Any]:
    out: dict[str, Any] = {"library": lib.name, "address": e.address, "type": e.type.name.lower(),
                           "barcode": e.barcode, "source": e.source, "accessible": e.accessible,
                           "exception": None if e.exception is None else "%02X/%02X" % e.exception}
    if e.type == ElementType.IMPORT_EXPORT:
        out["imported"] = e.imported
    if e.type == ElementType.DATA_TRANSFER:
        out["drive"] = e.identifier
    return out


def drive_view(node: Node, d: Device) -> dict[str, Any]:
    bay = d.bay
    assert bay is not None
    drive = bay.drive
    cfg = drive.personality.config
    el = d.library.element(d.address)  # type: ignore[arg-type]
    return {
        "alias": node.alias_of(d), "serial": d.serial, "lun": d.lun, "library": d.library.name,
        "address": d.address, "mapping": d.mapping, "physical_path": d.physical_path,
        "vendor": drive.identity.vendor, "product": drive.identity.product,
        "description": f"{cfg.display_vendor} {cfg.display_product}".strip(),
        "wwn": f"{drive.identity.naa_name:016x}", "online": bay.online,
        "state": drive.state.value, "barcode": el.barcode,
        "loaded": drive.state == DriveState.READY, "removal_prevented": bay.removal_prevented,
        "position": _position(drive), "compression": bool(drive.compression),
        "encryption": drive.encryption.describe(),
        "block_size": drive.block_length, "trace": node.store.device_flags(d.serial)[1],
    }


def changer_view(node: Node, d: Device) -> dict[str, Any]:
    lib = d.library
    c = lib.changer
    return {"alias": node.alias_of(d), "serial": d.serial, "lun": d.lun, "library": lib.name,
            "mapping": d.mapping, "physical_path": d.physical_path, "vendor": c.identity.vendor,
            "product": c.identity.product, "wwn": f"{c.identity.naa_name:016x}",
            "door_locked": lib.door_locked}


def _position(drive) -> dict[str, Any] | None:
    cart = drive.cartridge
    if cart is None or drive.state != DriveState.READY:
        return None
    part = cart.active
    return {"partition": part.number, "block": part.pos, "eod": part.eod}


def _element(node: Node, ref: Any, library: str | None) -> tuple[Library, int]:
    return node.element(ref if isinstance(ref, int) else str(ref), library)


# -- status and inventory ----------------------------------------------------------------------
@method("status")
def status(node: Node) -> dict[str, Any]:
    libs = []
    for lib in node.libraries.values():
        els = lib.elements()

        def count(kind: ElementType, full: bool | None = None, els=els) -> int:
            return sum(1 for e in els if e.type == kind and (full is None or e.full == full))
        changer = next(d for d in node.changers() if d.library is lib)
        libs.append({
            "name": lib.name, "changer": changer_view(node, changer),
            "slots": {"total": count(ElementType.STORAGE), "used": count(ElementType.STORAGE, True)},
            "mailslots": {"total": count(ElementType.IMPORT_EXPORT),
                          "used": count(ElementType.IMPORT_EXPORT, True)},
            "drives": [drive_view(node, d) for d in node.drives() if d.library is lib],
            "door_locked": lib.door_locked,
        })
    return {"node": node.name, "state": str(node.store.path), "libraries": libs}


@method("inventory")
def inventory(node: Node, library: str | None = None, type: str | None = None) -> list[dict[str, Any]]:
    libs = [node.library(library)] if library else list(node.libraries.values())
    try:
        kinds = None if type is None else {ElementType[t.strip().upper().replace("-", "_")]
                                           for t in type.split(",")}
    except KeyError:
        raise ApiError(f"Element types are storage, import-export and data-transfer, not {type!r}.") from None
    return [element_view(lib, e) for lib in libs for e in lib.elements()
            if e.type != ElementType.TRANSPORT and (kinds is None or e.type in kinds)]


# -- media movement ---------------------------------------------------------------------------
@method("move")
def move(node: Node, source: Any, destination: Any, library: str | None = None) -> dict[str, Any]:
    lib, src = _element(node, source, library)
    lib2, dst = _element(node, destination, library or lib.name)
    if lib2 is not lib:
        raise ApiError(f"{source} is in library {lib.name} and {destination} in {lib2.name}; a robot "
                       "moves cartridges only inside its own library (export, then import).")
    barcode = lib.element(src).barcode
    lib.move(src, dst)
    return {"library": lib.name, "barcode": barcode, "source": src, "destination": dst}


@method("load")
def load(node: Node, cartridge: Any, drive: str) -> dict[str, Any]:
    d = node.find_device(drive, TAPE)
    lib, src = _element(node, cartridge, d.library.name)
    if lib is not d.library:
        raise ApiError(f"Cartridge {cartridge} is in library {lib.name} but drive {drive} is in "
                       f"{d.library.name}.")
    el = lib.element(src)
    if el.type == ElementType.DATA_TRANSFER:
        raise ApiError(f"Cartridge {el.barcode} is already in drive {el.identifier} (element {src}).")
    barcode = el.barcode
    lib.load(src, d.address)  # type: ignore[arg-type]
    return {"library": lib.name, "barcode": barcode, "drive": d.serial, "alias": node.alias_of(d),
            "source": src, "state": d.bay.drive.state.value}  # type: ignore[union-attr]


@method("unload")
def unload(node: Node, drive: str, to: Any = None) -> dict[str, Any]:
    d = node.find_device(drive, TAPE)
    lib = d.library
    dest = None if to is None else _element(node, to, lib.name)[1]
    barcode = lib.element(d.address).barcode  # type: ignore[arg-type]
    slot = lib.unload(d.address, dest)  # type: ignore[arg-type]
    return {"library": lib.name, "barcode": barcode, "drive": d.serial, "destination": slot}


@method("import")
def import_(node: Node, barcode: str, media: str | None = None, capacity: str | None = None,
            library: str | None = None) -> dict[str, Any]:
    lib = node.library(library)
    try:
        cap = parse_size(capacity) if capacity else None
    except ValueError as e:
        raise ApiError(f"Bad capacity: {e}.") from None
    kept = lib.cartridge_path(lib.importable_label(barcode))
    adopted = node.store.entry(barcode) is None and (kept / "cartridge.json").exists()
    el = lib.import_cartridge(barcode, media, cap)
    return {**element_view(lib, el), "adopted": str(kept) if adopted else None}


@method("export")
def export(node: Node, barcode: str) -> dict[str, Any]:
    lib, _ = node.locate(barcode)
    address = lib.export_cartridge(barcode)
    return {"library": lib.name, "barcode": barcode, "from": address}


# -- cartridges ------------------------------------------------------------------------------
def _cartridge_where(node: Node, barcode: str) -> tuple[Library | None, Element | None]:
    for lib in node.libraries.values():
        el = lib.element_of(barcode)
        if el is not None:
            return lib, el
    return None, None


def _cartridge_view(node: Node, cart: Cartridge, lib: Library | None, el: Element | None) -> dict[str, Any]:
    library, address, element = (lib.name, el.address, el.type.name.lower()) if lib and el else (None, None, "vault")
    if el is None:
        loc = node.store.location(cart.barcode)
        if loc is not None:                  # placed in a library the configuration no longer has
            library, address, element = loc.library, loc.address, "unconfigured library"
    return {"barcode": cart.barcode, "media": cart.media.name, "path": cart.path,
            "library": library, "address": address, "element": element,
            "capacity": cart.capacity, "used": sum(p.end for p in cart.partitions),
            "write_protected": cart.write_protected, "read_only": cart.read_only, "worm": cart.worm,
            "cleaning": cart.cleaning, "partitions": len(cart.partitions), "loads": cart.mam_int(0x0003),
            "damaged": sum(p.damaged for p in cart.partitions)}


def _with_cartridge(node: Node, barcode: str, fn: Callable[[Cartridge, Library | None, Element | None], Any],
                    *, writing: bool = False) -> Any:
    entry = node.store.entry(barcode)
    if entry is None:
        raise ApiError(f"No cartridge has barcode {barcode!r} on node {node.name}.")
    lib, el = _cartridge_where(node, entry.barcode)
    if el is not None and el.type == ElementType.DATA_TRANSFER:
        bay = lib.bays[el.address]  # type: ignore[union-attr]
        with bay.lock:
            cart = bay.drive.cartridge
            if cart is not None:
                if writing:
                    raise ApiError(f"Cartridge {entry.barcode} is in drive {bay.spec.serial}; unload it "
                                   f"first (vtl unload {bay.spec.serial}).")
                return fn(cart, lib, el)
    with Cartridge.open(entry.path) as cart:
        return fn(cart, lib, el)


@method("cartridge.list")
def cartridge_list(node: Node, library: str | None = None) -> list[dict[str, Any]]:
    out = []
    where = {loc.barcode.upper(): loc for loc in node.store.locations()}
    for entry in node.store.catalog(library):
        loc = where.get(entry.barcode.upper())
        kind = None
        if loc is not None:
            lib = node.libraries.get(loc.library)
            kind = lib.element(loc.address).type.name.lower() if lib is not None else "unconfigured library"
        out.append({"barcode": entry.barcode, "media": entry.media, "library": loc.library if loc else None,
                    "address": loc.address if loc else None, "element": kind or "vault",
                    "loads": entry.loads, "moves": entry.moves, "path": entry.path})
    return out


@method("cartridge.info")
def cartridge_info(node: Node, barcode: str) -> dict[str, Any]:
    return _with_cartridge(node, barcode, lambda c, lib, el: _cartridge_view(node, c, lib, el))


@method("cartridge.create")
def cartridge_create(node: Node, barcode: str, media: str | None = None, capacity: str | None = None,
                     library: str | None = None) -> dict[str, Any]:
    """A new cartridge straight into the library's mailslot, as an operator would hand it in."""
    lib = node.library(library)
    kept = lib.cartridge_path(lib.importable_label(barcode))
    if node.store.entry(barcode) is None and (kept / "cartridge.json").exists():
        raise ApiError(f"A cartridge {barcode.upper()} already exists at {kept}, outside the catalog. "
                       f"`vtl import {barcode.upper()}` takes it in as it is; `vtl cartridge delete {kept}` "
                       "deletes it.")
    return import_(node, barcode, media, capacity, library)


@method("cartridge.write_protect")
def cartridge_write_protect(node: Node, barcode: str, on: bool = True) -> dict[str, Any]:
    def apply(cart: Cartridge, lib, el) -> dict[str, Any]:
        cart.write_protected = on
        cart.flush()
        return _cartridge_view(node, cart, lib, el)
    return _with_cartridge(node, barcode, apply, writing=True)


@method("cartridge.erase")
def cartridge_erase(node: Node, barcode: str) -> dict[str, Any]:
    def apply(cart: Cartridge, lib, el) -> dict[str, Any]:
        if cart.read_only:
            raise ApiError(f"Cartridge {cart.barcode} is read-only: its files at {cart.path} cannot be "
                           "written (a read-only file system, or permissions). Make them writable first.")
        if cart.write_protected:
            raise ApiError(f"Cartridge {cart.barcode} is write-protected; clear the tab first "
                           f"(vtl cartridge write-protect --off {cart.barcode}).")
        if cart.worm:
            raise ApiError(f"Cartridge {cart.barcode} is WORM media; it cannot be erased.")
        cart.format(total=cart.nominal_capacity)   # one partition, the whole tape
        cart.flush()
        return _cartridge_view(node, cart, lib, el)
    return _with_cartridge(node, barcode, apply, writing=True)


@method("cartridge.delete")
def cartridge_delete(node: Node, barcode: str, keep_files: bool = False) -> dict[str, Any]:
    return node.delete_cartridge(barcode, keep_files)


# -- storage tape ... (ONTAP vocabulary) ---------------------------------------------------------
@method("tape.show")
def tape_show(node: Node) -> list[dict[str, Any]]:
    out = []
    for d in node.devices():
        view = drive_view(node, d) if d.kind == TAPE else changer_view(node, d)
        view["type"] = d.kind
        out.append(view)
    return out


@method("tape.show_tape_drive")
def show_tape_drive(node: Node, drive: str | None = None) -> list[dict[str, Any]]:
    devices = [node.find_device(drive, TAPE)] if drive else node.drives()
    return [drive_view(node, d) for d in devices]


@method("tape.show_media_changer")
def show_media_changer(node: Node, changer: str | None = None) -> list[dict[str, Any]]:
    devices = [node.find_device(changer, CHANGER)] if changer else node.changers()
    out = []
    for d in devices:
        v = changer_view(node, d)
        els = d.library.elements()
        v.update(slots=sum(e.type == ElementType.STORAGE for e in els),
                 mailslots=sum(e.type == ElementType.IMPORT_EXPORT for e in els),
                 drives=sum(e.type == ElementType.DATA_TRANSFER for e in els))
        out.append(v)
    return out


@method("tape.show_errors")
def show_errors(node: Node, drive: str | None = None) -> list[dict[str, Any]]:
    from scsi.ssc.tapealert import TapeAlerts
    out = []
    for d in ([node.find_device(drive, TAPE)] if drive else node.drives()):
        drv = d.bay.drive  # type: ignore[union-attr]
        s = drv.stats
        out.append({"alias": node.alias_of(d), "serial": d.serial, "read_errors": s.read_errors,
                    "write_errors": s.write_errors,
                    "alerts": sorted(TapeAlerts.NAMES.get(f, f"flag {f:#x}") for f in drv.alerts.active),
                    "cleaning_required": drv.cleaning_required})
    return out


@method("tape.show_supported_status")
def show_supported_status(node: Node) -> list[dict[str, Any]]:
    """One row per attached drive, with its qualification as the host's table sees it."""
    table = QualificationTable()
    rows = table.rows((d.bay.drive.identity.vendor, d.bay.drive.identity.product)  # type: ignore[union-attr]
                      for d in node.drives())
    unique = dict.fromkeys(rows)   # one row per drive model, as the seed lists them
    return [{"tape_drive": r.tape_drive, "is_supported": r.is_supported, "support_status": r.support_status}
            for r in unique]


@method("tape.online")
def tape_online(node: Node, drive: str) -> dict[str, Any]:
    d = node.find_device(drive, TAPE)
    d.library.set_online(d.address, True)  # type: ignore[arg-type]
    return drive_view(node, d)


@method("tape.offline")
def tape_offline(node: Node, drive: str) -> dict[str, Any]:
    d = node.find_device(drive, TAPE)
    d.library.set_online(d.address, False)  # type: ignore[arg-type]
    return drive_view(node, d)


@method("tape.reset")
def tape_reset(node: Node, device: str) -> dict[str, Any]:
    """LOGICAL UNIT RESET, as `storage tape reset` sends one."""
    d = node.find_device(device)
    if d.bay is not None:
        with d.bay.lock:
            d.device.logical_unit_reset()
        return drive_view(node, d)
    with d.library.changer_lock:
        d.device.logical_unit_reset()
    return changer_view(node, d)


_POSITION_CDBS: dict[str, Callable[[int], bytes]] = {
    "rewind": lambda n: bytes([0x01, 0, 0, 0, 0, 0]),
    "weof": lambda n: bytes([0x10, 0]) + n.to_bytes(3, "big") + b"\0",
    "fsf": lambda n: bytes([0x11, 1]) + n.to_bytes(3, "big", signed=True) + b"\0",
    "bsf": lambda n: bytes([0x11, 1]) + (-n).to_bytes(3, "big", signed=True) + b"\0",
    "fsr": lambda n: bytes([0x11, 0]) + n.to_bytes(3, "big", signed=True) + b"\0",
    "bsr": lambda n: bytes([0x11, 0]) + (-n).to_bytes(3, "big", signed=True) + b"\0",
    "eom": lambda n: bytes([0x11, 3, 0, 0, 0, 0]),
    "erase": lambda n: bytes([0x19, 1, 0, 0, 0, 0]),
}


@method("tape.position")
def tape_position(node: Node, drive: str, operation: str, count: int = 1) -> dict[str, Any]:
    """`storage tape position -operation ... -count ...`, carried out with the drive's own commands."""
    d = node.find_device(drive, TAPE)
    build = _POSITION_CDBS.get(operation)
    if build is None:
        raise ApiError(f"Unknown position operation {operation!r}; use one of {', '.join(_POSITION_CDBS)}.")
    if not 0 <= count < (1 << 23):
        raise ApiError(f"The count must be between 0 and {(1 << 23) - 1}, not {count}.")
    for _ in range(4):  # as a host's tape driver does: a unit attention (power on, new medium) is news, retry
        result = d.execute(OPERATOR, build(count))
        sense = result.decoded_sense()
        if sense is None or sense.key != SenseKey.UNIT_ATTENTION:
            break
    if not result.good:
        text = str(sense) if sense is not None else result.status.name
        raise ApiError(f"Drive {d.serial} refused {operation} {count}: {text}.")
    return drive_view(node, d)


@method("tape.trace")
def tape_trace(node: Node, drive: str, enabled: bool) -> dict[str, Any]:
    d = node.find_device(drive)
    node.set_trace(d, enabled)
    return {"serial": d.serial, "trace": enabled}


@method("tape.devices")
def tape_devices(node: Node, drive: str | None = None) -> list[dict[str, Any]]:
    out = []
    for d in ([node.find_device(drive, TAPE)] if drive else node.drives()):
        alias = node.alias_of(d)
        number = int(alias[2:]) if alias and alias[2:].isdigit() else None
        cfg = d.bay.drive.personality.config  # type: ignore[union-attr]
        rows = device_listing(number, cfg) if number is not None else []
        out.append({"alias": alias, "serial": d.serial, "physical_path": d.physical_path,
                    "vendor": cfg.display_vendor, "product": cfg.display_product,
                    "devices": [{"name": n, "rewind": r, "format": f} for n, r, f in rows]})
    return out


# -- aliases ------------------------------------------------------------------------------
@method("alias.show")
def alias_show(node: Node) -> list[dict[str, Any]]:
    by_mapping = {}
    for d in node.devices():
        by_mapping[d.mapping.upper()] = d
        by_mapping[d.physical_path.upper()] = d
    out = []
    for name, kind, mapping in node.aliases():
        d = by_mapping.get(mapping.upper())
        out.append({"alias": name, "type": kind, "mapping": mapping,
                    "serial": d.serial if d else None, "library": d.library.name if d else None})
    return out


@method("alias.set")
def alias_set(node: Node, name: str, mapping: str) -> dict[str, Any]:
    try:
        node.set_alias(name, mapping)
    except ValueError as e:
        raise ApiError(str(e)) from None
    return {"alias": name, "mapping": mapping}


@method("alias.clear")
def alias_clear(node: Node, scope: str = "all", name: str | None = None) -> dict[str, Any]:
    try:
        sc = AliasScope(scope)
    except ValueError:
        raise ApiError(f"The clear scope must be tape, media-changer or all, not {scope!r}.") from None
    return {"cleared": node.clear_aliases(sc, name)}


# -- statistics --------------------------------------------------------------------------
@method("stats.show")
def stats_show(node: Node, drive: str | None = None) -> list[dict[str, Any]]:
    out = []
    for d in ([node.find_device(drive, TAPE)] if drive else node.drives()):
        out.append({"alias": node.alias_of(d), "serial": d.serial, **d.bay.drive.stats.as_dict()})  # type: ignore[union-attr]
    return out


@method("stats.zero")
def stats_zero(node: Node, drive: str) -> dict[str, Any]:
    d = node.find_device(drive, TAPE)
    with d.bay.lock:  # type: ignore[union-attr]
        d.bay.drive.stats.reset()  # type: ignore[union-attr]
    d.library.save_counters(d.bay)  # type: ignore[arg-type]
    return {"alias": node.alias_of(d), "serial": d.serial, **d.bay.drive.stats.as_dict()}  # type: ignore[union-attr]


# -- raw SCSI (tests, benchmarks, diagnosis) --------------------------------------------------
@method("scsi")
def scsi_execute(node: Node, device: str, cdb: str, data_out: str | None = None,
                 allocation: int = 0, initiator: str = OPERATOR.initiator) -> dict[str, Any]:
    """Run one CDB (hex) on a device; data-out and data-in travel base64-encoded."""
    d = node.find_device(device)
    try:
        raw = bytes.fromhex(cdb)
        out = base64.b64decode(data_out, validate=True) if data_out else None
    except ValueError as e:
        raise ApiError(f"The CDB must be hexadecimal and data-out base64 ({e}).") from None
    if not 0 <= allocation <= 64 * 1024 * 1024:
        raise ApiError(f"The allocation length must be 0 to 64 MiB, not {allocation}.")
    buf = memoryview(bytearray(allocation)) if allocation else None
    result = d.execute(Nexus(initiator), raw, out, buf)
    return {"status": int(result.status), "sense": bytes(result.sense).hex(),
            "data": base64.b64encode(bytes(result.data)).decode()}


@method("ping")
def ping(node: Node) -> dict[str, Any]:
    """``ready`` once every service has started (the control socket is the first)."""
    return {"node": node.name, "ready": node.ready}


# -- target ports and paths (ONTAP's storage tape library config / path) -------------------
def _port_rows(node: Node) -> list[dict[str, Any]]:
    """One row per target port of every library, with its LUN groups and who is connected."""
    kernel = node.kernel
    rows = []
    for lib in node.config.libraries:
        for target in lib.targets:
            key = f"{lib.name}:{target.name}"
            groups = [g for g in lib.lun_groups if target.name in g.targets]
            initiators = kernel.initiators(key) if kernel is not None else []
            rows.append({
                "node": node.name, "library": lib.name, "target_port": key,
                "fabric": target.fabric, "relative_port": target.port,
                "wwn": kernel.port_wwn(key) if kernel is not None else target.iqn,
                "lun_groups": [g.id for g in groups],
                "lun_count": sum(len(g.devices) for g in groups),
                "multipath": any(len(g.targets) > 1 for g in groups),
                "state": "online" if node.ports.online(key) else "offline",
                "exported": kernel is not None,
                "initiators": initiators,
                "path_errors": kernel.path_errors(key) if kernel is not None else 0,
            })
    return rows


@method("library.config")
def library_config(node: Node) -> list[dict[str, Any]]:
    """Per LUN group: its LUN count and every path (target port, initiators)."""
    ports = {r["target_port"]: r for r in _port_rows(node)}
    out = []
    for lib in node.config.libraries:
        for group in lib.lun_groups:
            paths = [ports[f"{lib.name}:{name}"] for name in group.targets]
            out.append({"node": node.name, "library": lib.name, "lun_group": group.id,
                        "lun_count": len(group.devices), "devices": list(group.devices),
                        "paths": [{"target_port": p["target_port"], "wwn": p["wwn"],
                                   "fabric": p["fabric"], "state": p["state"],
                                   "initiators": p["initiators"]} for p in paths]})
    return out


@method("library.paths")
def library_paths(node: Node) -> list[dict[str, Any]]:
    return _port_rows(node)


@method("path.set")
def path_set(node: Node, port: str, online: bool) -> dict[str, Any]:
    try:
        key = node.ports.resolve(port)
    except KeyError as e:
        raise ApiError(str(e.args[0]) + ".") from None
    kernel = node.kernel
    if kernel is not None:
        kernel.set_port_online(key, online)
    changed = node.ports.set_online(key, online)
    log.info("path %s %s%s", key, "online" if online else "offline", "" if changed else " (already)")
    row = next(r for r in _port_rows(node) if r["target_port"] == key)
    row["changed"] = changed
    return row


# -- NDMP (ONTAP's vserver services ndmp ...) -------------------------------------------------
def _ndmp(node: Node):
    """The node's NDMP service (vtl.ndmp_service.NdmpService)."""
    service = node.ndmp
    if service is None:
        raise ApiError(f"This daemon runs no NDMP service (node {node.name}); is `vtl serve` older "
                       "than the CLI?")
    return service


def _ndmp_call(fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    """Call the service; its refusals (NdmpError) are the operator's sentence."""
    from ..ndmp_service import NdmpError
    try:
        return fn(*args, **kw)
    except NdmpError as e:
        raise ApiError(str(e)) from None


@method("ndmp.show")
def ndmp_show(node: Node) -> dict[str, Any]:
    return _ndmp_call(_ndmp(node).show)


@method("ndmp.on")
def ndmp_on(node: Node) -> dict[str, Any]:
    return _ndmp_call(_ndmp(node).on)


@method("ndmp.off")
def ndmp_off(node: Node) -> dict[str, Any]:
    return _ndmp_call(_ndmp(node).off)


@method("ndmp.modify")
def ndmp_modify(node: Node, settings: dict[str, Any] | None = None, reset: bool = False) -> dict[str, Any]:
    if not isinstance(settings or {}, dict):
        raise ApiError("ndmp.modify takes settings as an object of setting -> value.")
    return _ndmp_call(_ndmp(node).modify, dict(settings or {}), reset)


@method("ndmp.version")
def ndmp_version(node: Node) -> dict[str, Any]:
    from ndmp.constants import NDMPVER
    return {"node": node.name, "version": NDMPVER}


@method("ndmp.status")
def ndmp_status(node: Node, session_id: int | None = None, client_addr: str | None = None) -> list[dict[str, Any]]:
    return _ndmp_call(_ndmp(node).sessions, session_id, client_addr)


@method("ndmp.kill")
def ndmp_kill(node: Node, session_id: int) -> dict[str, Any]:
    if isinstance(session_id, bool) or not isinstance(session_id, int):
        raise ApiError(f"A session id is a number (vtl ndmp status lists them), not {session_id!r}.")
    return _ndmp_call(_ndmp(node).kill, session_id)


@method("ndmp.kill_all")
def ndmp_kill_all(node: Node) -> dict[str, Any]:
    return _ndmp_call(_ndmp(node).kill_all)


@method("ndmp.generate_password")
def ndmp_generate_password(node: Node, user: str) -> dict[str, Any]:
    return _ndmp_call(_ndmp(node).generate_password, user)


@method("ndmp.set_login_password")
def ndmp_set_login_password(node: Node, user: str, password: str) -> dict[str, Any]:
    return _ndmp_call(_ndmp(node).set_login_password, user, password)


@method("ndmp.extensions")
def ndmp_extensions(node: Node) -> list[dict[str, Any]]:
    return _ndmp(node).extensions()


@method("ndmp.extensions_modify")
def ndmp_extensions_modify(node: Node, ext_class: str, enabled: bool) -> dict[str, Any]:
    return _ndmp_call(_ndmp(node).modify_extension, ext_class, enabled)


@method("ndmp.log")
def ndmp_log(node: Node, lines: int | None = None) -> dict[str, Any]:
    return _ndmp_call(_ndmp(node).events, lines)


# -- volumes: host directories the NDMP DATA service may use ------------------------------------
def _volume_call(fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    from ..volumes import VolumeError
    try:
        return fn(*args, **kw)
    except VolumeError as e:
        raise ApiError(str(e)) from None


@method("volume.list")
def volume_list(node: Node) -> list[dict[str, Any]]:
    from ..volumes import describe, node_volumes
    return [describe(spec) for spec in node_volumes(node.config, node.store)]


@method("volume.create")
def volume_create(node: Node, name: str, path: str, read_only: bool = False,
                  snapshot: str = "auto") -> dict[str, Any]:
    from ..volumes import create_volume, describe
    spec = _volume_call(create_volume, node.config, node.store, name, path, read_only=bool(read_only),
                        snapshot=snapshot)
    return describe(spec)


@method("volume.delete")
def volume_delete(node: Node, name: str) -> dict[str, Any]:
    from ..volumes import delete_volume
    spec = _volume_call(delete_volume, node.config, node.store, name)
    return {"name": spec.name, "path": str(spec.path)}
