"""The node configuration: one TOML file describing the node and its libraries.

A minimal file::

    [[library]]
    name = "lib0"
    slots = 24

    [library.changer]
    serial = "VTL4F2A91C0"

    [[library.drive]]
    personality = "IBM_LTO8"
    serial = "VTL4F2A91D1"

    [[library.cartridge]]
    barcodes = "VTL000L8-VTL019L8"

Everything else has a default: the node's name is the host name, the state store and
the control socket sit next to the file, the cartridges of a library in
``cartridges/<library name>``, the changer is an IBM 3573-TL on LUN 0, drives take the
next free LUNs in order, cartridges the first free storage slots in order, and each
cartridge's media comes from the media id at the end of its barcode (``L8`` is LTO-8).
``vtl/default_config.toml`` is the commented template.

Relative paths are relative to the directory of the configuration file.  Top-level
tables this module does not own (``[ndmp]``, ``[targets]`` ...) are kept verbatim in
:attr:`NodeConfig.extra` for the parts of vtl that own them.

Every problem is a :class:`ConfigError` naming the file, the line when it is known,
the table and key, what is wrong and how to fix it.  The first problem wins.

Limits, from ONTAP's "Supported number of simultaneous tape devices" and "What serial
numbers are": at most 64 tape drives and 16 medium changers (libraries) per node;
serial numbers of up to 32 letters and digits, unique across the node.  From SCSI:
LUNs 0-255 (peripheral device addressing), element addresses 0-65535, INQUIRY vendor,
product and revision of at most 8, 16 and 4 characters, volume tags (barcodes) of at
most 32 characters.  A target port needs a device on LUN 0 ("you must configure a tape
drive or medium changer on LUN 0 of a target port"), so every library has one.
"""
from __future__ import annotations

import difflib
import json
import math
import os
import re
import secrets
import socket as _socket
import tempfile
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, time
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn

from images.cartridge.media import MEDIA, MediaType, media_for_barcode, media_type
from tapeconf import aliases
from tapeconf.bundled import bundled_names, get_bundled
from tapeconf.config import TapeConfig
from tapeconf.errors import TapeConfigError, UnknownDriveError
from tapeconf.parser import load_tape_config

from . import paths, target_ports
from .barcodes import BarcodeRange, parse_range
from .target_ports import LunGroupSpec, TargetSpec
from .units import parse_size

__all__ = [
    "MAX_DRIVES", "MAX_LIBRARIES", "MAX_LUN", "MAX_MAILSLOTS",
    "CartridgeSpec", "ChangerSpec", "ConfigError", "DriveSpec", "ElementAddresses",
    "LibrarySpec", "NodeConfig", "default_path", "default_text", "dumps", "ensure_default",
    "load", "loads", "short_value",
]

#: "ONTAP supports a maximum of 64 simultaneous tape drive connections, 16 medium changers".
MAX_DRIVES = 64
MAX_LIBRARIES = 16
MAX_MAILSLOTS = 256
#: Peripheral device addressing: bus 0, an 8-bit LUN.
MAX_LUN = 255
MAX_ADDRESS = 0xFFFF
DEFAULT_SOCKET_MODE = 0o660
DEFAULT_CHANGER = ("IBM", "3573-TL", "F.11")

# The serials of the embedded default carry this node id; ensure_default replaces it.
_DEFAULT_NODE_ID = "000000"
_DEFAULT_SERIAL = re.compile(rf'(?<=")VTL{_DEFAULT_NODE_ID}(?=[CD][0-9]+")')


# -- what the configuration says ----------------------------------------------------


@dataclass(frozen=True)
class ElementAddresses:
    """First SMC element address of each element type (the IBM 3573 layout by default)."""

    transport: int = 1
    import_export: int = 16
    data_transfer: int = 256
    storage: int = 4096


@dataclass(frozen=True)
class ChangerSpec:
    vendor: str
    product: str
    revision: str
    serial: str
    lun: int


@dataclass(frozen=True)
class DriveSpec:
    """One tape drive.  ``personality`` is a bundled name (``IBM_LTO8``, as the bundle
    spells it) or the absolute path of a ``.tcf`` file; ``address`` is the drive's data
    transfer element address."""

    personality: str
    serial: str
    lun: int
    address: int

    @property
    def personality_is_file(self) -> bool:
        return os.path.isabs(self.personality)

    def tape_config(self) -> TapeConfig:
        """The drive's tape configuration, bundled or read from its file."""
        if self.personality_is_file:
            return load_tape_config(self.personality)
        return get_bundled(self.personality)


@dataclass(frozen=True)
class CartridgeSpec:
    """One cartridge; ``media`` is a name of the MEDIA catalogue, ``capacity`` bytes (None:
    the media's native capacity), ``slot`` the storage element address it starts in."""

    barcode: str
    media: str
    capacity: int | None
    slot: int | None


@dataclass(frozen=True)
class LibrarySpec:
    name: str
    storage: Path
    slots: int
    mailslots: int
    addresses: ElementAddresses
    changer: ChangerSpec
    drives: tuple[DriveSpec, ...]
    cartridges: tuple[CartridgeSpec, ...]
    targets: tuple[TargetSpec, ...] = (TargetSpec(name="loop", fabric="loop", port=1),)
    """Target ports hosts reach the library through (see :mod:`vtl.target_ports`)."""
    lun_groups: tuple[LunGroupSpec, ...] = ()

    def slot_addresses(self) -> range:
        return range(self.addresses.storage, self.addresses.storage + self.slots)

    def mailslot_addresses(self) -> range:
        return range(self.addresses.import_export, self.addresses.import_export + self.mailslots)

    def drive_addresses(self) -> list[int]:
        return [drive.address for drive in self.drives]

    @property
    def transport_address(self) -> int:
        return self.addresses.transport

    def devices(self) -> list[tuple[str, int]]:
        """(serial, configured LUN) of the changer, then the drives."""
        return [(self.changer.serial, self.changer.lun)] + [(d.serial, d.lun) for d in self.drives]

    def target(self, name: str) -> TargetSpec:
        for t in self.targets:
            if t.name.lower() == name.lower():
                return t
        raise KeyError(f'library {self.name} has no target port "{name}"; its target ports are '
                       + ", ".join(t.name for t in self.targets))

    def paths_of(self, serial: str) -> list[tuple[TargetSpec, int]]:
        """(target port, LUN) of every path to a device: the ports of its LUN group."""
        lun = dict((s.upper(), n) for s, n in self.devices())[serial.upper()]
        for group in self.lun_groups:
            if any(s.upper() == serial.upper() for s in group.devices):
                return [(t, t.lun_for(serial, lun)) for t in map(self.target, group.targets)]
        return []

    def group_of(self, serial: str) -> LunGroupSpec | None:
        for group in self.lun_groups:
            if any(s.upper() == serial.upper() for s in group.devices):
                return group
        return None


@dataclass(frozen=True)
class NodeConfig:
    name: str
    state: Path
    socket: Path
    socket_mode: int
    libraries: tuple[LibrarySpec, ...]
    source: Path | None = None
    extra: dict = field(default_factory=dict)
    kernel_target: bool = True
    """Attach the devices to the kernel (LIO/TCMU) when `vtl serve` runs as root where LIO exists."""

    def library(self, name: str) -> LibrarySpec:
        """The library called ``name`` (case-insensitive); ``KeyError`` if there is none."""
        for library in self.libraries:
            if library.name.lower() == name.lower():
                return library
        raise KeyError(f"there is no library named {name!r}; the libraries are "
                       + ", ".join(lib.name for lib in self.libraries))


class ConfigError(ValueError):
    """A configuration file breaks a rule.  ``str()`` is one sentence: where (file, line,
    table, key), what is wrong, and the fix; the parts are kept as attributes."""

    def __init__(self, source: str, message: str, fix: str, *, line: int | None = None,
                 table: str | None = None, key: str | None = None) -> None:
        self.source = source
        self.line = line
        self.table = table
        self.key = key
        self.message = message
        self.fix = fix
        super().__init__(str(self))

    @property
    def where(self) -> str:
        parts = [self.source]
        if self.line:
            parts.append(f"line {self.line}")
        if self.table:
            parts.append(self.table)
        if self.key:
            parts.append(f"key {self.key}")
        return ", ".join(parts)

    def __str__(self) -> str:
        return f"{self.where}: {self.message} Fix: {self.fix}"


# -- loading --------------------------------------------------------------------------


def load(path: str | os.PathLike) -> NodeConfig:
    """Read and check the configuration file at ``path``."""
    source = Path(os.path.abspath(path))
    try:
        data = source.read_bytes()
    except FileNotFoundError:
        raise ConfigError(str(source), "there is no configuration file here.",
                          "check the path, or create the file; vtl/default_config.toml is a "
                          "commented example to start from.") from None
    except OSError as exc:
        raise ConfigError(str(source), f"the file cannot be read ({exc.strerror}).",
                          "check the path and its permissions.") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(str(source), f"byte 0x{data[exc.start]:02X} is not UTF-8 text.",
                          "save the file as UTF-8 text.", line=line) from None
    return loads(text, base=source.parent, source=source)


def loads(text: str, *, base: Path, source: Path | None = None) -> NodeConfig:
    """Parse and check configuration text; relative paths are relative to ``base``."""
    label = str(source) if source is not None else "<configuration>"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        reason = str(exc)
        match = re.search(r"\s*\(at line (\d+), column (\d+)\)$", reason)
        line = None
        if match:
            line = int(match.group(1))
            reason = f"{reason[:match.start()]} (column {match.group(2)})"
        raise ConfigError(label, f"this is not valid TOML: {reason}.",
                          'correct the syntax: key = value, strings in double quotes, tables '
                          'as [node] and [[library]].', line=line) from None
    return _Builder(label, text, Path(os.path.abspath(base)), source).node(data)


def default_path() -> Path:
    """Where the node's configuration lives when nobody says: ``<data dir>/vtl.toml``."""
    return paths.data_dir() / "vtl.toml"


def default_text() -> str:
    """The embedded default configuration (``vtl/default_config.toml``), as shipped."""
    return resources.files("vtl").joinpath("default_config.toml").read_text(encoding="utf-8")


def ensure_default(path: Path | None = None) -> Path:
    """Write the default configuration to ``path`` (default: :func:`default_path`) unless a
    file is already there; never overwrite.  Returns the path.

    The written copy gets serial numbers of its own (a random six-digit hex node id in
    place of ``000000``), as a real library ships with unique serials, so that two nodes
    set up from the default do not collide.  The file appears whole or not at all.
    """
    path = Path(path) if path is not None else default_path()
    if os.path.lexists(path):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    text = _personalise(default_text(), secrets.token_hex(3).upper())
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(tmp, path)            # fails if someone else got there first
        except FileExistsError:
            pass
        except OSError:                   # no hard links here: exclusive create instead
            try:
                with open(path, "x", encoding="utf-8") as file:
                    file.write(text)
                    file.flush()
                    os.fsync(file.fileno())
            except FileExistsError:
                pass
    finally:
        os.unlink(tmp)
    _fsync_dir(path.parent)
    return path


def _personalise(text: str, node_id: str) -> str:
    return _DEFAULT_SERIAL.sub(f"VTL{node_id}", text)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# -- building the configuration from TOML data -----------------------------------------

_Path = tuple  # a place in the document: ("library", 0, "drive", 2, "serial")

_NODE_KEYS = ("name", "state", "socket", "socket_mode", "kernel_target")
_LIBRARY_KEYS = ("name", "storage", "slots", "mailslots", "addresses", "changer", "drive",
                 "cartridge", "target", "lun_group")
_ADDRESS_KEYS = ("transport", "import_export", "data_transfer", "storage")
_CHANGER_KEYS = ("vendor", "product", "revision", "serial", "lun")
_DRIVE_KEYS = ("personality", "serial", "lun")
_CARTRIDGE_KEYS = ("barcode", "barcodes", "media", "capacity", "slot")

_EXAMPLES = {
    "node.name": 'name = "vtl-node1"',
    "node.state": 'state = "state.sqlite"',
    "node.socket": 'socket = "vtl.sock"',
    "node.socket_mode": 'socket_mode = "0660"',
    "node.kernel_target": "kernel_target = false",
    "library.name": 'name = "lib0"',
    "library.storage": 'storage = "cartridges/lib0"',
    "library.slots": "slots = 24",
    "library.mailslots": "mailslots = 4",
    "library.addresses": ("addresses = { transport = 1, import_export = 16, data_transfer = 256, "
                          "storage = 4096 }"),
    "library.changer": '[library.changer] with serial = "VTL4F2A91C0"',
    "library.drive": '[[library.drive]] with personality = "IBM_LTO8"',
    "library.cartridge": '[[library.cartridge]] with barcodes = "VTL000L8-VTL019L8"',
    "addresses.transport": "transport = 1",
    "addresses.import_export": "import_export = 16",
    "addresses.data_transfer": "data_transfer = 256",
    "addresses.storage": "storage = 4096",
    "changer.vendor": 'vendor = "IBM"',
    "changer.product": 'product = "3573-TL"',
    "changer.revision": 'revision = "F.11"',
    "changer.serial": 'serial = "VTL4F2A91C0"',
    "changer.lun": "lun = 0",
    "drive.personality": 'personality = "IBM_LTO8"',
    "drive.serial": 'serial = "VTL4F2A91D1"',
    "drive.lun": "lun = 1",
    "cartridge.barcode": 'barcode = "CLN000CU"',
    "cartridge.barcodes": 'barcodes = "VTL000L8-VTL019L8"',
    "cartridge.media": 'media = "LTO8"',
    "cartridge.capacity": 'capacity = "64MiB"',
    "cartridge.slot": "slot = 1",
    **target_ports.EXAMPLES,
}

_TYPE_NAMES = {bool: "true or false", int: "a whole number", str: "a string in double quotes",
               dict: "a table", list: "an array"}


def wrong_type(value: Any, kind: type | tuple[type, ...]) -> str | None:
    """What a TOML value should have been ("a whole number or a string in double quotes"),
    or None when it is of ``kind``: the one type check of every configuration reader, where
    true/false never passes for a number."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
        return " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in kinds)
    return None


def unknown_key_fix(key: str, known: tuple[str, ...], kind: str) -> str:
    """The fix to offer for a key that ``kind`` does not have: its lower-case spelling, the
    nearest known key, or the list of them."""
    if key.lower() in known:
        return f"keys are lower case: write {key.lower()}."
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        return f"write {close[0]} if that is what you meant, or remove {key}."
    return f"remove {key}; the keys of {kind} are {', '.join(known)}."


class SectionReader:
    """Base of the readers of the sections the node reader passes on untouched
    (``[ndmp]``, ``[[volume]]``): their errors name the same file and line as the node's
    own, and the file is read for line numbers only when an error needs one."""

    def __init__(self, node: NodeConfig) -> None:
        self.node = node
        self.label = str(node.source) if node.source is not None else "<configuration>"
        self.base = node.source.parent if node.source is not None else node.state.parent
        self._lines: _Lines | None = None

    def line_of(self, where: tuple) -> int | None:
        if self._lines is None:
            try:
                self._lines = _Lines(Path(self.label).read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError):
                return None
        return self._lines.line_of(where)


class _Builder:
    def __init__(self, label: str, text: str, base: Path, source: Path | None) -> None:
        self.label = label
        self.base = base
        self.source = source
        self.lines = _Lines(text)
        self.library_names: dict[int, str] = {}
        self.personalities: dict[str, str] = {}

    # -- reporting ------------------------------------------------------------------

    def fail(self, where: _Path, message: str, fix: str) -> NoReturn:
        table, key = _split(where)
        raise ConfigError(self.label, message, fix, line=self.lines.line_of(where),
                          table=self.describe(table), key=key)

    def describe(self, where: _Path) -> str | None:
        if not where:
            return None
        if where[0] == "node":
            return "[node]"
        if where[0] != "library":
            return f"[{where[0]}]"
        if len(where) == 1:
            return "[[library]]"
        index = where[1]
        name = self.library_names.get(index)
        library = f'library "{name}"' if name else f"library number {index + 1}"
        if len(where) == 2:
            return f'[[library]] "{name}"' if name else f"[[library]] number {index + 1}"
        table = where[2]
        if table in ("drive", "cartridge", "target", "lun_group") and len(where) >= 4:
            return f"[[library.{table}]] number {where[3] + 1} of {library}"
        return f"[library.{table}] of {library}"

    def example(self, table: str, key: str) -> str:
        return _EXAMPLES.get(f"{table}.{key}", f"{key} = ...")

    # -- typed access -----------------------------------------------------------------

    def check_keys(self, table: dict, known: tuple[str, ...], where: _Path, kind: str) -> None:
        for key in table:
            if key in known:
                continue
            self.fail((*where, key), f"{key} is not a key of {kind}.", unknown_key_fix(key, known, kind))

    def get(self, table: dict, key: str, kind: type | tuple[type, ...], where: _Path,
            example_table: str, *, required: bool = False, default: Any = None) -> Any:
        if key not in table:
            if required:
                self.fail((*where, key), f"{key} is missing; it is required.",
                          f"add {self.example(example_table, key)}.")
            return default
        value = table[key]
        wanted = wrong_type(value, kind)
        if wanted is not None:
            self.fail((*where, key), f"{key} must be {wanted}, not {_describe_value(value)}.",
                      f"write it like {self.example(example_table, key)}.")
        return value

    def path_value(self, table: dict, key: str, where: _Path, example_table: str,
                   default: str) -> Path:
        text = self.get(table, key, str, where, example_table, default=default)
        if text.strip() == "":
            self.fail((*where, key), f"{key} is empty.",
                      f"write a path, like {self.example(example_table, key)}.")
        path = Path(text).expanduser()
        return path if path.is_absolute() else self.base / path

    # -- the node -------------------------------------------------------------------------

    def node(self, data: dict) -> NodeConfig:
        extra: dict[str, Any] = {}
        for key, value in data.items():
            if key in ("node", "library"):
                continue
            self.top_level(key, value)
            extra[key] = value
        node = self.get(data, "node", dict, (), "", default={})
        self.check_keys(node, _NODE_KEYS, ("node",), "[node]")
        name = self.get(node, "name", str, ("node",), "node", default=None)
        if name is None:
            name = _socket.gethostname() or "vtl"
        elif not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}", name, re.ASCII):
            self.fail(("node", "name"), f'"{name}" cannot be a node name.',
                      "use 1 to 63 letters, digits, '.', '_' and '-', starting with a letter "
                      'or digit, like name = "vtl-node1".')
        state = self.path_value(node, "state", ("node",), "node", "state.sqlite")
        sock = self.path_value(node, "socket", ("node",), "node", "vtl.sock")
        mode = self.socket_mode(node)
        kernel_target = self.get(node, "kernel_target", bool, ("node",), "node", default=True)

        libraries_data = data.get("library")
        if libraries_data is None:
            self.fail(("library",), "the configuration has no library.",
                      'add a [[library]] table with at least name = "lib0", slots = 24 and a '
                      "[library.changer] with a serial number.")
        if isinstance(libraries_data, dict):
            self.fail(("library",), "[library] is a single table, but libraries are an array "
                      "of tables.", "write [[library]] (with two brackets) for each library.")
        if not isinstance(libraries_data, list) or not all(isinstance(x, dict)
                                                           for x in libraries_data):
            self.fail(("library",), "library must be an array of tables.",
                      "write each library as a [[library]] table.")
        if len(libraries_data) > MAX_LIBRARIES:
            self.fail(("library", MAX_LIBRARIES),
                      f"the node has {len(libraries_data)} libraries, and a node has at most "
                      f"{MAX_LIBRARIES} medium changers.",
                      f"remove libraries until there are {MAX_LIBRARIES}, or run another node.")
        state_of_node = _NodeState()
        state_of_node.node_name = name
        libraries = tuple(self.library(i, lib, state_of_node) for i, lib in enumerate(libraries_data))
        return NodeConfig(name=name, state=state, socket=sock, socket_mode=mode,
                          libraries=libraries, source=self.source, extra=extra,
                          kernel_target=kernel_target)

    def top_level(self, key: str, value: Any) -> None:
        """A top-level item that is not ours: fine if it is a table, kept for others."""
        is_table = isinstance(value, dict) or (
            isinstance(value, list) and value and all(isinstance(v, dict) for v in value))
        if not is_table:
            if key in _NODE_KEYS:
                fix = f"move {key} under [node]."
            elif key in _LIBRARY_KEYS:
                fix = f"move {key} into a [[library]] table."
            else:
                fix = f"remove {key}, or put it in the table it belongs to."
            self.fail((key,), f"{key} is a key outside any table.", fix)
        lowered = key.lower()
        close = difflib.get_close_matches(lowered, ["node", "library"], n=1, cutoff=0.7)
        if lowered in ("libraries", "libs", "nodes") or close:
            meant = "library" if lowered.startswith("lib") else (close[0] if close else "node")
            header = "[[library]]" if meant == "library" else "[node]"
            self.fail((key,), f"[{key}] is not a table of the configuration.",
                      f"write {header} if that is what you meant.")

    def socket_mode(self, node: dict) -> int:
        value = self.get(node, "socket_mode", (str, int), ("node",), "node",
                         default=DEFAULT_SOCKET_MODE)
        if isinstance(value, str):
            match = re.fullmatch(r"(?:0o|0)?([0-7]{1,3})", value.strip(), re.ASCII)
            mode = int(match.group(1), 8) if match else -1
        else:
            mode = value
        if not 0 <= mode <= 0o777:
            self.fail(("node", "socket_mode"), f"socket_mode {value!r} is not a file mode.",
                      'write the octal mode as a string, socket_mode = "0660", or as an octal '
                      "number, socket_mode = 0o660.")
        return mode

    # -- a library ------------------------------------------------------------------------

    def library(self, index: int, data: dict, node: _NodeState) -> LibrarySpec:
        where = ("library", index)
        name = self.get(data, "name", str, where, "library", required=True)
        try:
            aliases.check_switch_name(name)
        except ValueError:
            self.fail((*where, "name"), f'"{name}" cannot be a library name.',
                      "use 1 to 32 letters, digits, _ and -, starting with a letter, like "
                      'name = "lib0"; the name is a directory name and the switch part of the '
                      "library's physical path names.")
        self.library_names[index] = name
        self.check_keys(data, _LIBRARY_KEYS, where, "[[library]]")
        if name.lower() in node.library_names:
            self.fail((*where, "name"), f'library name "{name}" is also the name of library '
                      f"number {node.library_names[name.lower()] + 1} (names are compared "
                      "without regard to case).", "give each library its own name.")
        node.library_names[name.lower()] = index

        storage = self.path_value(data, "storage", where, "library", f"cartridges/{name}")
        if storage in node.storage:
            self.fail((*where, "storage"), f"{storage} is also the storage directory of library "
                      f'"{node.storage[storage]}".', f'give each library its own directory, like '
                      f'storage = "cartridges/{name}".')
        node.storage[storage] = name

        slots = self.get(data, "slots", int, where, "library", required=True)
        mailslots = self.get(data, "mailslots", int, where, "library", default=0)
        addresses = self.addresses(data, where)
        if slots < 1:
            self.fail((*where, "slots"), f"slots is {slots}; a library has at least one "
                      "storage slot.", "write slots = 24, or any number from 1 up.")
        room = MAX_ADDRESS + 1 - addresses.storage
        if slots > room:
            self.fail((*where, "slots"), f"{slots} storage slots from element address "
                      f"{addresses.storage} go past the last element address, {MAX_ADDRESS}.",
                      f"use at most slots = {room}, or lower addresses.storage.")
        if not 0 <= mailslots <= MAX_MAILSLOTS:
            self.fail((*where, "mailslots"), f"mailslots is {mailslots}; a library has 0 to "
                      f"{MAX_MAILSLOTS} import/export slots.",
                      f"write a number from 0 to {MAX_MAILSLOTS}, like mailslots = 4.")

        changer_data = self.get(data, "changer", dict, where, "library", required=True)
        drives_data = self.get(data, "drive", list, where, "library", default=[])
        cartridges_data = self.get(data, "cartridge", list, where, "library", default=[])
        for key, items in (("drive", drives_data), ("cartridge", cartridges_data)):
            if not all(isinstance(item, dict) for item in items):
                self.fail((*where, key), f"{key} must be an array of tables.",
                          f"write each one as a [[library.{key}]] table.")

        luns = self.assign_luns(where, changer_data, drives_data)
        changer = self.changer(where, changer_data, luns[0], node)
        drives = []
        for j, drive in enumerate(drives_data):
            node.drive_count += 1
            if node.drive_count > MAX_DRIVES:
                self.fail((*where, "drive", j), f"this is tape drive number {node.drive_count} "
                          f"of the node, and a node has at most {MAX_DRIVES} tape drives.",
                          f"remove tape drives until the node has {MAX_DRIVES}, or run "
                          "another node.")
            drives.append(self.drive(where, j, drive, luns[j + 1],
                                     addresses.data_transfer + j, node))
        self.check_element_ranges(where, addresses, mailslots, len(drives), slots)
        cartridges = self.cartridges(where, name, cartridges_data, slots, addresses, node)
        devices = [(changer.serial, changer.lun)] + [(d.serial, d.lun) for d in drives]
        targets, lun_groups = target_ports.build(self, where, data, node=node.node_name,
                                                 library=name, devices=devices)
        for t in targets:
            if t.iqn is not None:
                if t.iqn in node.iqns:
                    self.fail((*where, "target", t.port - 1, "iqn"), f"IQN {t.iqn} is also the "
                              f"IQN of {node.iqns[t.iqn]}.", "give each iSCSI target its own iqn.")
                node.iqns[t.iqn] = f'target port "{t.name}" of library "{name}"'
        return LibrarySpec(name=name, storage=storage, slots=slots, mailslots=mailslots,
                           addresses=addresses, changer=changer, drives=tuple(drives),
                           cartridges=cartridges, targets=targets, lun_groups=lun_groups)

    def addresses(self, data: dict, where: _Path) -> ElementAddresses:
        table = self.get(data, "addresses", dict, where, "library", default={})
        at = (*where, "addresses")
        self.check_keys(table, _ADDRESS_KEYS, at, "addresses")
        values = {}
        for key in _ADDRESS_KEYS:
            value = self.get(table, key, int, at, "addresses",
                             default=getattr(ElementAddresses, key))
            if not 0 <= value <= MAX_ADDRESS:
                self.fail((*at, key), f"{key} is {value}; element addresses are 0 to "
                          f"{MAX_ADDRESS}.", f"write an address in that range, like "
                          f"{self.example('addresses', key)}.")
            values[key] = value
        return ElementAddresses(**values)

    def check_element_ranges(self, where: _Path, a: ElementAddresses, mailslots: int,
                             drives: int, slots: int) -> None:
        ranges = [("transport", "robot (transport)", a.transport, 1),
                  ("import_export", "import/export slots", a.import_export, mailslots),
                  ("data_transfer", "drives (data transfer elements)", a.data_transfer, drives),
                  ("storage", "storage slots", a.storage, slots)]
        for key, what, first, count in ranges:
            if count and first + count - 1 > MAX_ADDRESS:
                self.fail((*where, "addresses"), f"the {count} {what} from element address "
                          f"{first} go past the last element address, {MAX_ADDRESS}.",
                          f"lower addresses.{key}, or configure fewer.")
        live = [r for r in ranges if r[3]]
        for i, (key1, what1, first1, count1) in enumerate(live):
            for key2, what2, first2, count2 in live[i + 1:]:
                if first1 < first2 + count2 and first2 < first1 + count1:
                    self.fail((*where, "addresses"),
                              f"the element addresses of the {what1} ({_span(first1, count1)}) "
                              f"overlap those of the {what2} ({_span(first2, count2)}).",
                              f"move one range: set addresses.{key1} or addresses.{key2} so the "
                              "ranges are apart, or configure fewer elements.")

    def assign_luns(self, where: _Path, changer: dict, drives: list[dict]) -> list[int]:
        """LUNs of the changer and the drives, in that order: explicit ones as written,
        the rest the lowest free ones in order."""
        devices = [((*where, "changer"), "changer", "the changer", changer)]
        devices += [((*where, "drive", j), "drive", f"drive number {j + 1}", d)
                    for j, d in enumerate(drives)]
        taken: dict[int, str] = {}
        luns: list[int | None] = []
        for at, table, who, data in devices:
            lun = self.get(data, "lun", int, at, table, default=None)
            if lun is not None:
                if not 0 <= lun <= MAX_LUN:
                    self.fail((*at, "lun"), f"lun is {lun}; a LUN is 0 to {MAX_LUN}.",
                              f"write a LUN from 0 to {MAX_LUN}, like {self.example(table, 'lun')}.")
                if lun in taken:
                    self.fail((*at, "lun"), f"LUN {lun} is also the LUN of {taken[lun]}.",
                              "give each device of the library its own LUN, or leave lun out "
                              "to take the next free one.")
                taken[lun] = who
            luns.append(lun)
        free = (n for n in range(MAX_LUN + 1) if n not in taken)
        result = []
        for (at, _table, who, _data), lun in zip(devices, luns):
            if lun is None:
                lun = next(free, None)
                if lun is None:
                    self.fail(at, f"there is no free LUN left for {who}.",
                              f"a library has at most {MAX_LUN + 1} devices; remove some.")
                taken[lun] = who
            result.append(lun)
        if 0 not in result:
            self.fail((*where, "changer", "lun"), "no device of the library is on LUN 0, and "
                      "hosts find the devices of a target port through LUN 0.",
                      "put the changer or one drive on LUN 0 (lun = 0).")
        return result

    def serial(self, at: _Path, table: str, data: dict, who: str, node: _NodeState) -> str:
        serial = self.get(data, "serial", str, at, table, required=True)
        try:
            aliases.check_serial(serial)
        except ValueError as exc:
            self.fail((*at, "serial"), _clause(exc),
                      f"use 1 to {aliases.MAX_SERIAL_LENGTH} letters and digits, like "
                      f"{self.example(table, 'serial')}.")
        if serial.upper() in node.serials:
            self.fail((*at, "serial"), f'serial "{serial}" is also the serial number of '
                      f"{node.serials[serial.upper()]} (serial numbers are compared without "
                      "regard to case).", "give every changer and drive of the node its own "
                      "serial number.")
        node.serials[serial.upper()] = who
        return serial

    def changer(self, where: _Path, data: dict, lun: int, node: _NodeState) -> ChangerSpec:
        at = (*where, "changer")
        self.check_keys(data, _CHANGER_KEYS, at, "[library.changer]")
        fields = {}
        for key, default, width in zip(("vendor", "product", "revision"), DEFAULT_CHANGER,
                                       (8, 16, 4)):
            value = self.get(data, key, str, at, "changer", default=default)
            if not 0 < len(value) <= width or not all(" " <= c <= "~" for c in value):
                self.fail((*at, key), f'{key} "{value}" does not fit the INQUIRY {key} field.',
                          f"use 1 to {width} printable ASCII characters, like "
                          f"{self.example('changer', key)}.")
            fields[key] = value
        name = self.library_names[where[1]]
        serial = self.serial(at, "changer", data, f'the changer of library "{name}"', node)
        return ChangerSpec(serial=serial, lun=lun, **fields)

    def drive(self, where: _Path, j: int, data: dict, lun: int, address: int,
              node: _NodeState) -> DriveSpec:
        at = (*where, "drive", j)
        self.check_keys(data, _DRIVE_KEYS, at, "[[library.drive]]")
        personality = self.get(data, "personality", str, at, "drive", required=True)
        resolved = self.personality((*at, "personality"), personality)
        name = self.library_names[where[1]]
        serial = self.serial(at, "drive", data, f'drive number {j + 1} of library "{name}"', node)
        return DriveSpec(personality=resolved, serial=serial, lun=lun, address=address)

    def personality(self, at: _Path, value: str) -> str:
        if value in self.personalities:
            return self.personalities[value]
        text = value.strip()
        candidate = Path(text).expanduser()
        if not candidate.is_absolute():
            candidate = self.base / candidate
        is_path = ("/" in text or os.sep in text or text.startswith("~")
                   or (text.lower().endswith(".tcf") and candidate.is_file()))
        names = ", ".join(bundled_names())
        if is_path:
            try:
                load_tape_config(candidate)
            except FileNotFoundError:
                self.fail(at, f"there is no tape configuration file {candidate}.",
                          "check the path (relative paths are relative to the directory of this "
                          f"file), or use a bundled personality: {names}.")
            except TapeConfigError as exc:
                self.fail(at, f"the tape configuration file is not valid: {exc.where}: "
                          f"{exc.message}", exc.fix)
            except OSError as exc:
                self.fail(at, f"the tape configuration file {candidate} cannot be read "
                          f"({exc.strerror}).", "check the path and its permissions.")
            resolved = str(candidate)
        else:
            try:
                resolved = get_bundled(text).name
            except UnknownDriveError:
                self.fail(at, f'there is no bundled tape drive personality named "{value}".',
                          f"use one of {names}, or the path of a .tcf file.")
        self.personalities[value] = resolved
        return resolved

    # -- cartridges -----------------------------------------------------------------------

    def cartridges(self, where: _Path, library: str, groups: list[dict], slots: int,
                   addresses: ElementAddresses, node: _NodeState) -> tuple[CartridgeSpec, ...]:
        parsed = []
        total = 0
        for j, data in enumerate(groups):
            at = (*where, "cartridge", j)
            self.check_keys(data, _CARTRIDGE_KEYS, at, "[[library.cartridge]]")
            key, ranges = self.barcode_ranges(at, data)
            media = self.get(data, "media", str, at, "cartridge", default=None)
            mt = None
            if media is not None:
                try:
                    mt = media_type(media)
                except KeyError:
                    self.fail((*at, "media"), f'"{media}" is not a media type.',
                              f"use one of {', '.join(MEDIA)}.")
            capacity = self.capacity(at, data, mt)
            slot = self.get(data, "slot", int, at, "cartridge", default=None)
            count = sum(len(r) for r in ranges)
            total += count
            parsed.append((at, key, ranges, mt, capacity, slot, count))
        if total > slots:
            self.fail((*where, "slots"), f'library "{library}" has {slots} storage slots but '
                      f"{total} cartridges are configured.",
                      f"add slots = {total} or remove cartridges.")

        occupied = bytearray(slots)   # by 0-based slot ordinal
        for at, _key, _ranges, _mt, _capacity, slot, count in parsed:
            if slot is None:
                continue
            if not 1 <= slot <= slots:
                self.fail((*at, "slot"), f'slot is {slot}, but library "{library}" has storage '
                          f"slots 1 to {slots}.", f"write a slot from 1 to {slots}, or leave "
                          "slot out to take the next free slots.")
            if slot + count - 1 > slots:
                self.fail((*at, "slot"), f"the {count} cartridges from slot {slot} need slots "
                          f'{slot} to {slot + count - 1}, but library "{library}" has {slots}.',
                          f"start them at slot {slots - count + 1} or lower, or add slots.")
            for ordinal in range(slot - 1, slot - 1 + count):
                if occupied[ordinal]:
                    self.fail((*at, "slot"), f"slot {ordinal + 1} is also given to cartridges "
                              "of another [[library.cartridge]] table.",
                              "give each table its own slots, or leave slot out.")
                occupied[ordinal] = 1
        result: list[CartridgeSpec] = []
        free = 0
        for at, key, ranges, mt, capacity, slot, count in parsed:
            if slot is None:
                ordinals = []
                while len(ordinals) < count:
                    while occupied[free]:
                        free += 1
                    occupied[free] = 1
                    ordinals.append(free)
            else:
                ordinals = list(range(slot - 1, slot - 1 + count))
            position = iter(ordinals)
            for rng in ranges:
                media = mt or self.media_of(at, rng)
                self.check_cleaning(at, key, rng, media, mt is not None)
                self.check_capacity(at, capacity, media)
                for barcode in rng:
                    if barcode in node.barcodes:
                        self.fail((*at, key), f'barcode "{barcode}" is also the barcode of a '
                                  f"cartridge in {node.barcodes[barcode]}.",
                                  "give every cartridge of the node its own barcode.")
                    node.barcodes[barcode] = f'library "{library}"'
                    result.append(CartridgeSpec(barcode, media.name, capacity,
                                                addresses.storage + next(position)))
        return tuple(result)

    def barcode_ranges(self, at: _Path, data: dict) -> tuple[str, list[BarcodeRange]]:
        if ("barcode" in data) == ("barcodes" in data):
            self.fail(at, "a [[library.cartridge]] table needs barcode (one cartridge) or "
                      "barcodes (a range or a list), and not both.",
                      'write barcode = "CLN000CU" or barcodes = "VTL000L8-VTL019L8".')
        key = "barcode" if "barcode" in data else "barcodes"
        if key == "barcode":
            items = [self.get(data, key, str, at, "cartridge")]
        else:
            value = self.get(data, key, (str, list), at, "cartridge")
            items = [value] if isinstance(value, str) else value
            if not items or not all(isinstance(item, str) for item in items):
                self.fail((*at, key), "barcodes must be a string or an array of strings.",
                          'write barcodes = "VTL000L8-VTL019L8" or barcodes = ["VTL000L8", '
                          '"VTL005L8-VTL009L8"].')
        ranges = []
        for item in items:
            try:
                rng = parse_range(item)
            except ValueError as exc:
                self.fail((*at, key), _clause(exc), "write a barcode of up to 32 upper-case "
                          'letters and digits, like "VTL000L8", or a range like '
                          '"VTL000L8-VTL019L8".')
            if key == "barcode" and len(rng) > 1:
                self.fail((*at, key), f'"{item}" is a range, and barcode takes one barcode.',
                          f'write barcodes = "{item}".')
            ranges.append(rng)
        return key, ranges

    def media_of(self, at: _Path, rng: BarcodeRange) -> MediaType:
        first = next(iter(rng))
        media = media_for_barcode(first)
        if media is None:
            self.fail((*at, "media"), f'the media of barcode "{first}" cannot be told from '
                      "its label (LTO labels end in a media id such as L8, LY or CU).",
                      'add media = "LTO8" (or another media type) to the table.')
        return media

    def check_cleaning(self, at: _Path, key: str, rng: BarcodeRange, media: MediaType,
                       explicit: bool) -> None:
        first = next(iter(rng))
        label = media_for_barcode(first)
        labelled_cleaning = label is not None and label.cleaning
        if labelled_cleaning and not media.cleaning:
            self.fail((*at, "media"), f'barcode "{first}" is a cleaning cartridge label, but '
                      f"media is {media.name}.", 'write media = "CLN", or use a data label '
                      "such as VTL000L8.")
        if media.cleaning and not labelled_cleaning:
            self.fail((*at, "media" if explicit else key),
                      f'barcode "{first}" is not a cleaning cartridge label, but media is CLN.',
                      'label cleaning cartridges CLNnnnCU, like barcode = "CLN000CU".')

    def capacity(self, at: _Path, data: dict, mt: MediaType | None) -> int | None:
        value = self.get(data, "capacity", (str, int), at, "cartridge", default=None)
        if value is None:
            return None
        if isinstance(value, str):
            try:
                value = parse_size(value)
            except ValueError as exc:
                self.fail((*at, "capacity"), _clause(exc), 'write it like capacity = "64MiB".')
        if value <= 0:
            self.fail((*at, "capacity"), f"capacity is {value} bytes; a cartridge holds "
                      "something.", 'write a size like capacity = "64MiB", or leave capacity '
                      "out for the media's native capacity.")
        return value

    def check_capacity(self, at: _Path, capacity: int | None, media: MediaType) -> None:
        if capacity is None:
            return
        if media.cleaning:
            self.fail((*at, "capacity"), "cleaning cartridges hold no data, so capacity does "
                      "not apply.", "remove capacity from the cleaning cartridge's table.")
        if capacity > media.capacity:
            self.fail((*at, "capacity"), f"capacity {capacity} bytes is more than the native "
                      f"capacity of {media.name}, {media.capacity} bytes.",
                      'make it smaller, like capacity = "64MiB", or leave it out for the native '
                      "capacity.")


class _NodeState:
    """What must be unique across the node, and counts of what is limited."""

    def __init__(self) -> None:
        self.library_names: dict[str, int] = {}
        self.storage: dict[Path, str] = {}
        self.serials: dict[str, str] = {}
        self.barcodes: dict[str, str] = {}
        self.iqns: dict[str, str] = {}
        self.drive_count = 0
        self.node_name = ""


def _split(where: _Path) -> tuple[_Path, str | None]:
    """A place in the document as (the table, the key in it or None)."""
    if not where:
        return (), None
    if where[0] == "library" and len(where) >= 2 and isinstance(where[1], int):
        table, rest = where[:2], where[2:]
        if rest and rest[0] in ("drive", "cartridge") and len(rest) >= 2:
            table, rest = (*table, *rest[:2]), rest[2:]
        elif rest and rest[0] in ("changer", "addresses") and len(rest) >= 2:
            table, rest = (*table, rest[0]), rest[1:]
        return table, (rest[0] if rest else None)
    if where[0] == "node":
        return ("node",), (where[1] if len(where) > 1 else None)
    if where[0] == "library":
        return ("library",), None
    return (), where[0]


def _span(first: int, count: int) -> str:
    return f"{first}" if count == 1 else f"{first}-{first + count - 1}"


def _clause(exc: Exception) -> str:
    """A message from elsewhere as part of ours: lower-case start, without its example
    (our fix gives one)."""
    text = re.sub(r",? (?:for example|like) \S+\.$", ".", str(exc))
    return text[:1].lower() + text[1:]


def short_value(value: Any) -> str:
    """A value from a TOML file as an error message shows it (``true``, ``"x"``, ``a table``)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return repr(value)


def _describe_value(value: Any) -> str:
    if isinstance(value, bool):
        return f"{str(value).lower()} (true/false)"
    if isinstance(value, str):
        return f'the string "{value}"'
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, float):
        return f"the number {value}"
    return f"{value!r}"


# -- where things are in the text -----------------------------------------------------

_HEADER = re.compile(r'\s*(\[\[?)\s*([A-Za-z0-9_\-."\' ]+?)\s*\]\]?\s*(?:#.*)?$')


class _Lines:
    """Line numbers of tables and keys, found by reading the text the way TOML does for
    the simple cases (headers on their own lines, ``key = value`` lines).  Anything it
    cannot place gets no line number rather than a wrong one."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.sections: list[tuple[tuple, int]] = [((), 0)]   # (place, 0-based header line)
        current: dict[str, tuple] = {}
        counts: dict[tuple, int] = {}
        for number, line in enumerate(self.lines):
            match = _HEADER.match(line)
            if not match or not line.lstrip().startswith("["):
                continue
            name = re.sub(r"\s*\.\s*", ".", match.group(2)).replace('"', "").replace("'", "")
            parent_name, _, leaf = name.rpartition(".")
            parent = current.get(parent_name, ()) if parent_name else ()
            if parent_name and parent_name not in current:
                continue
            place = (*parent, leaf)
            if match.group(1) == "[[":
                counts[place] = counts.get(place, -1) + 1
                place = (*place, counts[place])
            current = {k: v for k, v in current.items()
                       if not (k == name or k.startswith(name + "."))}
            current[name] = place
            self.sections.append((place, number))

    def line_of(self, where: tuple) -> int | None:
        """1-based line of ``where`` (a table place, optionally ending in a key), or of the
        nearest enclosing thing that can be found."""
        place = tuple(where)
        for cut in range(len(place), 0, -1):
            head = place[:cut]
            line = self._header(head)
            if line is None and isinstance(head[-1], str):
                line = self._key(head[:-1], head[-1])
            if line is not None:
                return line
        return None

    def _header(self, place: tuple) -> int | None:
        for section, start in self.sections:
            if section == place:
                return start + 1
        for section, start in self.sections:   # an array of tables, by its name
            if len(section) == len(place) + 1 and section[:len(place)] == place \
                    and isinstance(section[-1], int):
                return start + 1
        return None

    def _key(self, table: tuple, key: str) -> int | None:
        pattern = re.compile(rf"\s*[\"']?{re.escape(key)}[\"']?\s*=")
        for index, (section, start) in enumerate(self.sections):
            if section != table:
                continue
            end = (self.sections[index + 1][1] if index + 1 < len(self.sections)
                   else len(self.lines))
            for number in range(start + (1 if section else 0), end):
                if pattern.match(self.lines[number]):
                    return number + 1
        return None


# -- writing --------------------------------------------------------------------------


def dumps(config: NodeConfig, *, base: Path | None = None) -> str:
    """The configuration as TOML that :func:`loads` reads back to an equal configuration.

    Paths under ``base`` (default: the directory of ``config.source``) are written
    relative to it, others absolute.  Runs of cartridges whose barcodes count up in
    consecutive slots are written as ranges.
    """
    if base is None and config.source is not None:
        base = config.source.parent

    def path(p: Path) -> str:
        if base is not None:
            try:
                return p.relative_to(base).as_posix()
            except ValueError:
                pass
        return str(p)

    out = ["[node]",
           f"name = {_toml_value(config.name)}",
           f"state = {_toml_value(path(config.state))}",
           f"socket = {_toml_value(path(config.socket))}",
           f'socket_mode = "{config.socket_mode:04o}"',
           f"kernel_target = {_toml_value(config.kernel_target)}", ""]
    for library in config.libraries:
        a = library.addresses
        out += ["[[library]]",
                f"name = {_toml_value(library.name)}",
                f"storage = {_toml_value(path(library.storage))}",
                f"slots = {library.slots}",
                f"mailslots = {library.mailslots}",
                (f"addresses = {{ transport = {a.transport}, import_export = {a.import_export}, "
                 f"data_transfer = {a.data_transfer}, storage = {a.storage} }}"), "",
                "[library.changer]"]
        c = library.changer
        out += [f"{k} = {_toml_value(getattr(c, k))}" for k in _CHANGER_KEYS] + [""]
        for drive in library.drives:
            out += ["[[library.drive]]",
                    f"personality = {_toml_value(drive.personality)}",
                    f"serial = {_toml_value(drive.serial)}",
                    f"lun = {drive.lun}", ""]
        for barcodes, first in _runs(library.cartridges):
            out += ["[[library.cartridge]]",
                    f"{'barcodes' if '-' in barcodes else 'barcode'} = {_toml_value(barcodes)}",
                    f"media = {_toml_value(first.media)}"]
            if first.capacity is not None:
                out.append(f"capacity = {first.capacity}")
            out += [f"slot = {first.slot - a.storage + 1}", ""]
        out += target_ports.dump(library.targets, library.lun_groups, _toml_value)
    for key, value in config.extra.items():
        if isinstance(value, list):
            for item in value:
                out += [f"[[{_toml_key(key)}]]", *_toml_table_body(item), ""]
        else:
            out += [f"[{_toml_key(key)}]", *_toml_table_body(value), ""]
    return "\n".join(out).rstrip("\n") + "\n"


def _runs(cartridges: tuple[CartridgeSpec, ...]):
    """(``"A-B"`` or ``"A"``, first cartridge) for each run written as one table: barcodes
    counting up by one in consecutive slots, with the same media and capacity."""
    i, n = 0, len(cartridges)
    while i < n:
        first = cartridges[i]
        shape = None
        j = i + 1
        while j < n:
            prev, cur = cartridges[j - 1], cartridges[j]
            if (cur.media, cur.capacity, cur.slot) != (first.media, first.capacity, prev.slot + 1):
                break
            try:
                pair = parse_range(f"{prev.barcode}-{cur.barcode}")
            except ValueError:
                break
            if len(pair) != 2 or shape not in (None, (pair.prefix, pair.width, pair.suffix)):
                break
            shape = (pair.prefix, pair.width, pair.suffix)
            j += 1
        if j - i > 1:
            text = f"{first.barcode}-{cartridges[j - 1].barcode}"
            if list(parse_range(text)) == [c.barcode for c in cartridges[i:j]]:
                yield text, first
                i = j
                continue
        yield first.barcode, first
        i += 1


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml_value(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007F")
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}"
                                for k, v in value.items()) + " }" if value else "{}"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _toml_table_body(table: dict) -> list[str]:
    return [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in table.items()]
