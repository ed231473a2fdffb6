"""The node: every library of one configuration, the state store, and the
names operators and hosts use for devices (aliases, serial numbers, physical
path names).

Aliases follow the seed: each drive gets ``st0``, ``st1``, ... and each media
changer ``mc0``, ``mc1``, ..., bound persistently to the device's serial
number mapping ``SN[serial]L<lun>`` (or to a physical path name an operator
sets).  A device already named in the alias table keeps its name across
restarts and re-cabling; a new device gets the lowest free number.
"""
from __future__ import annotations

import contextlib
import functools
import logging
import re
from dataclasses import dataclass
from typing import Iterator

from images.cartridge import Cartridge
from scsi import ScsiDevice
from tapeconf.aliases import AliasKind, AliasScope, mapping_key, parse_alias, parse_mapping, ppn, serial_mapping

from .config import NodeConfig
from .library import Bay, Library, LibraryError, trace
from .ports import PortStates
from .store import Store

log = logging.getLogger(__name__)

TAPE, CHANGER = "tape", "media-changer"


@dataclass(frozen=True)
class Device:
    """One logical unit as the operator sees it."""

    kind: str                    # "tape" or "media-changer"
    library: Library
    serial: str
    lun: int
    device: ScsiDevice
    bay: Bay | None = None       # drives only
    address: int | None = None   # drives only: data transfer element address

    @property
    def mapping(self) -> str:
        return serial_mapping(self.serial, self.lun)

    @property
    def physical_path(self) -> str:
        return ppn(self.library.name, 1, 0, self.lun)

    def execute(self, nexus, cdb, data_out=None, data_in=None):
        if self.bay is not None:
            return self.bay.execute(nexus, cdb, data_out, data_in)
        with self.library.changer_lock:
            result = self.device.execute(nexus, cdb, data_out, data_in)
        if self.library.changer_trace:
            trace(self.serial, nexus, cdb, result)
        return result


class Node:
    def __init__(self, config: NodeConfig):
        self.config = config
        self.name = config.name
        self.store = Store(config.state)
        self.libraries: dict[str, Library] = {}
        try:
            self._follow_renamed_libraries()
            for spec in config.libraries:
                self.libraries[spec.name] = Library(spec, self.store)
        except Exception:
            self.close()
            raise
        self._assign_aliases()
        self.ports = PortStates(config)
        for d in self.devices():
            d.device.port_groups = functools.partial(self.ports.groups, d.library.spec, d.serial)
        self.kernel = None
        """The kernel target service when `vtl serve` runs one (sessions, path switching)."""
        self.ndmp = None
        """The NDMP service (vtl.ndmp_service) when `vtl serve` runs one."""
        self.ready = False
        """`vtl serve` has started every service (NDMP listening, kernel target attached).
        The control socket answers before that, so a script that needs the rest waits
        for ``ping`` to say ``ready``."""

    def _follow_renamed_libraries(self) -> None:
        """A library is its changer: renamed in the file (same changer serial), it keeps
        its cartridges, drives' contents and home cartridges.  Cartridges placed in a
        library the file no longer has at all stay where the store says (reachable again
        once it is configured again) and are reported, never dropped."""
        known = self.store.library_layouts()
        configured = {spec.name: spec.changer.serial for spec in self.config.libraries}
        by_serial = {lay.changer.upper(): name for name, lay in known.items() if name not in configured}
        with self.store.transaction() as db:
            for name, serial in configured.items():
                old = by_serial.pop(serial.upper(), None)
                if name not in known and old is not None:
                    self.store.rename_library(db, old, name)
                    log.warning("library %s is now called %s (same changer, serial %s): its cartridges "
                                "went with it", old, name, serial)
        for name, count in self.store.placed_libraries().items():
            if name not in configured:
                log.warning("the state store places %d cartridge(s) in library %s, which the configuration "
                            "no longer has: they stay there, out of reach, until a library with that name or "
                            "its changer's serial is configured again", count, name)

    # -- devices ------------------------------------------------------------------------
    def devices(self) -> list[Device]:
        out: list[Device] = []
        for lib in self.libraries.values():
            c = lib.spec.changer
            out.append(Device(CHANGER, lib, c.serial, c.lun, lib.changer))
            for address, bay in lib.drives():
                out.append(Device(TAPE, lib, bay.spec.serial, bay.spec.lun, bay.drive, bay, address))
        return out

    def drives(self) -> list[Device]:
        return [d for d in self.devices() if d.kind == TAPE]

    def changers(self) -> list[Device]:
        return [d for d in self.devices() if d.kind == CHANGER]

    def alias_of(self, device: Device) -> str | None:
        keys = {mapping_key(device.mapping), mapping_key(device.physical_path)}
        for name, kind, mapping in self.store.aliases():
            if kind == device.kind and mapping_key(mapping) in keys:
                return name
        return None

    def find_device(self, ref: str, kind: str | None = None) -> Device:
        """A device by alias (st0, mc0), serial number, SN[..]L.. mapping or physical path name."""
        devices = [d for d in self.devices() if kind is None or d.kind == kind]
        text = ref.strip()
        for name, k, mapping in self.store.aliases():
            if name == text and (kind is None or k == kind):
                key = mapping_key(mapping)
                for d in devices:
                    if key in (mapping_key(d.mapping), mapping_key(d.physical_path)):
                        return d
                raise LibraryError(f"Alias {name} points to {mapping}, which no device of node {self.name} "
                                   f"has now. Fix: vtl tape alias set {name} <mapping>.")
        for d in devices:
            if d.serial.upper() == text.upper():
                return d
        try:
            key = mapping_key(text)
        except ValueError:
            key = None
        if key is not None:
            for d in devices:
                if key in (mapping_key(d.mapping), mapping_key(d.physical_path)):
                    return d
        what = {TAPE: "tape drive", CHANGER: "media changer", None: "device"}[kind]
        raise LibraryError(f"No {what} is called {ref!r} on node {self.name}. Use an alias such as st0 or "
                           "mc0, a serial number, or SN[serial]L<lun>; `vtl tape alias show` lists them.")

    def library(self, name: str | None = None) -> Library:
        if name is None:
            if len(self.libraries) == 1:
                return next(iter(self.libraries.values()))
            raise LibraryError(f"Node {self.name} has {len(self.libraries)} libraries "
                               f"({', '.join(self.libraries)}); say which one with --library.")
        try:
            return self.libraries[name]
        except KeyError:
            raise LibraryError(f"No library is called {name!r} on node {self.name}; it has "
                               f"{', '.join(self.libraries) or 'none'}.") from None

    def locate(self, barcode: str) -> tuple[Library, int]:
        for lib in self.libraries.values():
            el = lib.element_of(barcode)
            if el is not None:
                return lib, el.address
        entry = self.store.entry(barcode)
        if entry is not None:
            raise LibraryError(f"Cartridge {entry.barcode} is not in any library (it was exported). "
                               f"Import it first: vtl import {entry.barcode}.")
        raise LibraryError(f"No cartridge has barcode {barcode!r} on node {self.name}. `vtl inventory` "
                           "lists them.")

    def delete_cartridge(self, barcode: str, keep_files: bool = False) -> dict:
        """An exported cartridge leaves the node for good: out of the catalog, and its files
        deleted unless ``keep_files``.  The files go first, so that an interrupted delete
        is finished by deleting again, and a barcode never names files left behind.

        A cartridge of a library's configuration is made again, blank, at the next start;
        the answer says so (``configured``).
        """
        with contextlib.ExitStack() as held:          # no import or export meanwhile
            for name in sorted(self.libraries):
                held.enter_context(self.libraries[name].lock)
            entry = self.store.entry(barcode)
            if entry is None:
                raise LibraryError(f"No cartridge has barcode {barcode!r} on node {self.name}. "
                                   "`vtl cartridge list` lists the catalog.")
            where = self.store.location(entry.barcode)
            if where is not None:
                raise LibraryError(f"Cartridge {entry.barcode} is in library {where.library}, element "
                                   f"{where.address}. Export it first: vtl export {entry.barcode}.")
            left = [] if keep_files else Cartridge.remove(entry.path)
            with self.store.transaction() as db:
                self.store.forget(db, entry.barcode)
        log.info("cartridge %s deleted from the catalog%s", entry.barcode,
                 " (its files were kept)" if keep_files else " with its files")
        configured = [lib.name for lib in self.libraries.values()
                      if any(cs.barcode.upper() == entry.barcode.upper() for cs in lib.spec.cartridges)]
        return {"barcode": entry.barcode, "path": entry.path, "files_deleted": not keep_files,
                "left": left, "configured": configured}

    def element(self, ref: str | int, library: str | None = None) -> tuple[Library, int]:
        """An element by barcode, drive name, or element address (``lib0:4096`` or ``4096``)."""
        if isinstance(ref, int):
            return self.library(library), ref
        text = str(ref).strip()
        m = re.fullmatch(r"(?:(?P<lib>[^:\s]+):)?(?P<addr>\d+)", text)
        if m:
            lib = self.library(m.group("lib") or library)
            lib.element(int(m.group("addr")))   # MoveRefused(INVALID_ADDRESS) if absent
            return lib, int(m.group("addr"))
        try:
            d = self.find_device(text, TAPE)
            return d.library, d.address  # type: ignore[return-value]
        except LibraryError:
            pass
        return self.locate(text)

    # -- aliases ------------------------------------------------------------------------
    def _assign_aliases(self) -> None:
        known = self.store.aliases()
        for d in self.devices():
            if self.alias_of(d) is not None or self._follow_moved_lun(d):
                continue
            prefix = "st" if d.kind == TAPE else "mc"
            used = {name for name, _, _ in self.store.aliases()}
            n = 0
            while f"{prefix}{n}" in used:
                n += 1
            self.store.set_alias(f"{prefix}{n}", d.kind, d.mapping)
        if not known:
            log.info("node %s: aliases assigned to %d devices", self.name, len(self.devices()))

    def _follow_moved_lun(self, device: Device) -> bool:
        """A device given another LUN in the file keeps its alias: an alias whose serial
        number mapping names this device's serial at a LUN no device has now is moved to
        the new LUN (aliases name ``SN[serial]L<lun>``, so it would dangle otherwise)."""
        taken = {mapping_key(d.mapping) for d in self.devices()} | {mapping_key(d.physical_path)
                                                                   for d in self.devices()}
        for name, kind, mapping in self.store.aliases():
            if kind != device.kind or mapping_key(mapping) in taken:
                continue
            try:
                old = parse_mapping(mapping)
            except ValueError:
                continue
            if old.serial is not None and old.serial.upper() == device.serial.upper():
                self.store.set_alias(name, kind, device.mapping)
                log.warning("node %s: %s %s is now at LUN %d; alias %s follows it (was %s)", self.name,
                            "drive" if kind == TAPE else "media changer", device.serial, device.lun, name, mapping)
                return True
        return False

    def set_alias(self, name: str, mapping: str) -> None:
        alias = parse_alias(name)
        parsed = parse_mapping(mapping)
        kind = TAPE if alias.kind == AliasKind.TAPE else CHANGER
        # One alias per device: the new name replaces any other name of the same mapping.
        replaced = tuple(other for other, k, old in self.store.aliases()
                         if k == kind and other != alias.name and mapping_key(old) == parsed.key)
        self.store.set_alias(alias.name, kind, str(parsed), replacing=replaced)

    def clear_aliases(self, scope: AliasScope, name: str | None = None) -> int:
        kinds = {AliasScope.TAPE: (TAPE,), AliasScope.MEDIA_CHANGER: (CHANGER,),
                 AliasScope.ALL: (TAPE, CHANGER)}[scope]
        return self.store.clear_aliases(kinds, name)

    def aliases(self) -> Iterator[tuple[str, str, str]]:
        yield from self.store.aliases()

    # -- life cycle ------------------------------------------------------------------------
    def sync(self) -> None:
        for lib in self.libraries.values():
            lib.sync()

    def close(self) -> None:
        for lib in self.libraries.values():
            lib.close()
        self.store.close()

    def set_trace(self, device: Device, enabled: bool) -> None:
        self.store.set_device_flags(device.serial, trace=enabled)
        if device.bay is not None:
            device.bay.trace = enabled
        else:
            device.library.changer_trace = enabled
