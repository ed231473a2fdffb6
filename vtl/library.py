"""One tape library: a medium changer, its drives, slots and cartridges, kept
in the node's state store.

The rules of moving media (which element may hold what, what a drive must do
before a cartridge can be pulled out) live in :class:`scsi.smc.Inventory`;
this class adds what a product needs around them: cartridge files, the state
store, drive objects, operator actions (import, export, load, unload).

Order of work in a move, so that kill -9 at any instant leaves every cartridge
in exactly one element and the drives as the store says:

* *into a drive*: open the cartridge (its lock proves no one else has it),
  commit the move, push it into the drive.  Killed after the commit, the
  restart pushes it in (finished forward); killed before, it never moved.
* *out of a drive*: the drive gives it back (synced and closed), then the move
  is committed.  Killed in between, the store still says "in the drive" and
  the restart puts it back there (undone); nothing was lost, because the tape
  had been unloaded -- which flushed it -- before a move out was allowed.

At start-up the store is reconciled with the configuration: configured
cartridges not yet cataloged are created, journalled intents are finished,
cartridges in elements that no longer exist (slots or drives removed from the
configuration) are put into free slots, and every drive gets back the
cartridge the store says it holds.
"""
from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
from pathlib import Path
from typing import Iterable

from images.cartridge import Cartridge, CartridgeError
from images.cartridge.errors import BadLabel
from images.cartridge.media import MediaType, media_for_barcode, media_type
from scsi.smc import DriveBay, Element, ElementType, Inventory, MediumChanger, MoveRefused, Refusal
from scsi.spc.reservation_state import Reservations
from scsi.ssc import DrivePersonality, DriveState, TapeDrive

from .barcodes import barcode_problem
from .config import DriveSpec, LibrarySpec
from .store import LibraryLayout, Location, Store

log = logging.getLogger(__name__)

CLEANING, DATA = 2, 1


class LibraryError(Exception):
    """An operator request the library refuses; the message says what to do."""


def personality_for(spec: DriveSpec) -> DrivePersonality:
    """A drive personality from the drive's bundled tape configuration name or .tcf file."""
    return DrivePersonality(spec.tape_config())


class Bay(DriveBay):
    """The library's hold on one drive: the robot's hand meets the drive here."""

    def __init__(self, library: "Library", spec: DriveSpec, drive: TapeDrive):
        self.library = library
        self.spec = spec
        self.drive = drive
        self.lock = threading.RLock()
        """Held around every command the drive executes and every cartridge in or out."""
        self.online = True
        self.trace = False
        """`vtl tape trace`: log every command and its outcome."""

    @property
    def threaded(self) -> bool:
        return self.drive.state == DriveState.READY

    @property
    def removal_prevented(self) -> bool:
        return self.drive.removal_prevented

    def accept(self, barcode: str) -> None:
        cart = self.library.open_cartridge(barcode)
        with self.lock:
            self.drive.insert(cart)

    def insert_open(self, cart: Cartridge) -> None:
        with self.lock:
            self.drive.insert(cart)

    def release(self) -> str:
        with self.lock:
            cart = self.drive.eject()
            barcode = cart.barcode
            cart.close()
        try:
            self.library.save_counters(self)
        except sqlite3.Error as e:
            # The cartridge is out already; the move that follows decides (and undoes this if
            # the store cannot record it).  Counters are kept in memory and saved next time.
            log.warning("drive %s: its counters could not be saved (%s)", self.spec.serial, e)
        return barcode

    def execute(self, nexus, cdb, data_out=None, data_in=None):
        with self.lock:
            result = self.drive.execute(nexus, cdb, data_out, data_in)
        if self.trace:
            trace(self.spec.serial, nexus, cdb, result)
        return result


def trace(serial: str, nexus, cdb, result) -> None:
    sense = result.decoded_sense()
    log.info("trace %s %s: CDB %s -> %s%s", serial, nexus, bytes(cdb).hex(), result.status.name,
             f" {sense}" if sense is not None else "")


class Library(Inventory):
    def __init__(self, spec: LibrarySpec, store: Store):
        self.spec = spec
        self.store = store
        self.name = spec.name
        self.lock = threading.RLock()
        self.storage = Path(spec.storage)
        self.storage.mkdir(parents=True, exist_ok=True)
        self.bays: dict[int, Bay] = {}
        self._importing: tuple[str, int | None] | None = None
        for d in spec.drives:
            drive = TapeDrive(personality_for(d), d.serial, lun=d.lun)
            drive.reservations = self._reservations(drive, d.serial)
            bay = Bay(self, d, drive)
            bay.online, bay.trace = store.device_flags(d.serial)
            self._restore_counters(bay)
            self.bays[d.address] = bay
        self._finish_intents()
        self._follow_drives()
        self._follow_renumbering()
        self._reconcile()
        super().__init__(self._build_elements(), self.bays)
        c = spec.changer
        self.changer = MediumChanger(
            self, vendor=c.vendor, product=c.product, revision=c.revision, serial=c.serial, lun=c.lun,
            reservation_store=lambda state, s=c.serial: self.store.save_reservations(s, state),
            reservation_state=self.store.reservation_state(c.serial))
        self.changer_lock = threading.RLock()
        self.changer_trace = store.device_flags(c.serial)[1]
        self._refill_drives()
        self._warn_of_missing_files()

    # -- persistence helpers ----------------------------------------------------------------
    def _reservations(self, device, serial: str) -> Reservations:
        return Reservations(device, store=lambda state, s=serial: self.store.save_reservations(s, state),
                            state=self.store.reservation_state(serial))

    def _restore_counters(self, bay: Bay) -> None:
        saved = self.store.counters(bay.spec.serial)
        for name, value in saved.items():
            if hasattr(bay.drive.stats, name):
                setattr(bay.drive.stats, name, value)

    def save_counters(self, bay: Bay) -> None:
        self.store.save_counters(bay.spec.serial, bay.drive.stats.as_dict())

    def cartridge_path(self, barcode: str) -> Path:
        return self.storage / barcode

    def open_cartridge(self, barcode: str) -> Cartridge:
        entry = self.store.entry(barcode)
        path = entry.path if entry is not None else str(self.cartridge_path(barcode))
        if not os.path.exists(os.path.join(path, "cartridge.json")):
            name = entry.barcode if entry is not None else barcode
            raise MoveRefused(Refusal.INCOMPATIBLE, detail=(
                f"{path}: the files of cartridge {name} are gone. Fix: restore that directory, or "
                f"take the cartridge out of the node: vtl export {name}, then vtl cartridge delete "
                f"{name}."))
        try:
            return Cartridge.open(path)
        except CartridgeError as e:
            raise MoveRefused(Refusal.INCOMPATIBLE, detail=str(e)) from None

    # -- start-up: journal, configuration, drives -------------------------------------------
    def _finish_intents(self) -> None:
        """Cartridges whose creation was under way when the daemon died: made and cataloged now."""
        for intent in self.store.pending():
            if intent.op != "create" or intent.detail.get("library") != self.name:
                continue
            if self.store.entry(intent.barcode) is not None:
                self.store.done(intent.id)
                continue
            address = intent.detail.get("address")
            with self.store.transaction() as db:
                if address is not None and db.execute("SELECT 1 FROM locations WHERE library=? AND address=?",
                                                      (self.name, address)).fetchone():
                    address = None
            made = self._make(intent.barcode, intent.detail["media"], intent.detail.get("capacity"),
                              intent.detail["path"])
            os.sync()
            with self.store.transaction() as db:
                self.store.add_cartridge(db, intent.barcode, self.name, made,
                                         intent.detail["path"], address,
                                         imported=bool(intent.detail.get("imported")), intent=intent.id)
            log.info("%s: finished creating cartridge %s after a restart", self.name, intent.barcode)

    def _warn_of_missing_files(self) -> None:
        """Cartridges whose directories are gone keep their places (the store is the truth
        about places); say so once at start-up rather than at each refused load."""
        placed = {loc.barcode for loc in self.store.locations(self.name)}
        missing = [e.barcode for e in self.store.catalog() if e.barcode in placed
                   and not os.path.exists(os.path.join(e.path, "cartridge.json"))]
        if missing:
            shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
            log.warning("%s: %d cartridge(s) have no files (%s): loading them is refused. Restore their "
                        "directories under %s, or take them out of the node (vtl export, then vtl cartridge "
                        "delete).", self.name, len(missing),
                        shown, self.storage)

    @staticmethod
    def _make(barcode: str, media: str, capacity: int | None, path: str, *, durable: bool = False) -> str:
        """The cartridge directory, unless a whole one is already there (one a crash left made
        but not cataloged, or one an operator put there): returns the media type of what is
        there now, to catalog.  A label a crash left half-written (we know it is ours: the
        intent says so) is made again."""
        if os.path.exists(os.path.join(path, "cartridge.json")):
            try:
                with Cartridge.open(path) as cart:
                    if cart.barcode.upper() != barcode.upper():
                        raise LibraryError(f"{path} holds cartridge {cart.barcode}, not {barcode}. Fix: move "
                                           f"that directory to {cart.barcode}, or take it away.")
                    return cart.media.name
            except BadLabel:
                log.warning("cartridge %s at %s was half made when the daemon stopped; making it again",
                            barcode, path)
                os.unlink(os.path.join(path, "cartridge.json"))
        with Cartridge.create(path, media, barcode, capacity=capacity, durable=durable) as cart:
            return cart.media.name

    def _follow_drives(self) -> None:
        """A cartridge stays in its drive whatever a configuration edit did to the drives'
        element addresses (they follow the order of the [[library.drive]] tables): a drive
        now at another address takes its cartridge along, and a drive no longer configured
        gives its cartridge back to its home slot (or a free slot, or, with none, to the
        vault).  Without this a cartridge would silently sit in whichever drive took the
        old address."""
        before = self.store.drive_elements(self.name)
        now = {bay.spec.serial.upper(): address for address, bay in self.bays.items()}
        locations = self.store.locations(self.name)
        moving = []
        for loc in locations:
            serial = before.get(loc.address)
            if serial is not None and now.get(serial.upper()) != loc.address:
                moving.append((loc, serial, now.get(serial.upper())))
        with self.store.transaction() as db:
            if moving:
                staying = {loc.address for loc in locations} - {loc.address for loc, _, _ in moving}
                taken = staying | {new for _, _, new in moving if new is not None}
                moves: list[tuple[Location, int | None]] = []
                for loc, serial, new in moving:
                    if new is None:
                        home = loc.source if loc.source in self._slot_addresses() and loc.source not in taken \
                            else self._free_slot(taken)
                        if home is not None:
                            taken.add(home)
                        moves.append((Location(loc.barcode, loc.library, loc.address, None, loc.imported), home))
                        log.warning("%s: drive %s is no longer configured; its cartridge %s %s", self.name, serial,
                                    loc.barcode, f"went back to slot {home}" if home is not None
                                    else "was taken out of the library (no free slot)")
                    else:
                        moves.append((loc, new))
                        log.warning("%s: drive %s moved from element %d to %d with the configuration; its "
                                    "cartridge %s went along", self.name, serial, loc.address, new, loc.barcode)
                self.store.rehome(db, self.name, moves)
            self.store.set_drive_elements(db, self.name, {a: b.spec.serial for a, b in self.bays.items()})

    def _follow_renumbering(self) -> None:
        """Slots and mailslots renumbered in the file (another ``addresses.storage`` or
        ``addresses.import_export``) keep their cartridges: the n-th slot is the n-th slot
        whatever its address.  A cartridge whose slot is gone (fewer slots) takes the
        first free one, or, with none, leaves the library, as in :meth:`_reconcile`."""
        spec = self.spec
        now = LibraryLayout(spec.changer.serial, spec.addresses.storage, spec.slots,
                            spec.addresses.import_export, spec.mailslots)
        before = self.store.library_layouts().get(self.name)
        with self.store.transaction() as db:
            if before is not None and (before.storage, before.import_export) != (now.storage, now.import_export):
                kinds = ((before.storage, before.slots, now.storage, now.slots),
                         (before.import_export, before.mailslots, now.import_export, now.mailslots))

                def renumbered(address: int | None) -> int | None:
                    """The same slot's new address; -1 for a slot that is gone."""
                    for old_first, old_count, new_first, new_count in kinds:
                        if address is not None and old_first <= address < old_first + old_count:
                            index = address - old_first
                            return new_first + index if index < new_count else -1
                    return address
                locations = self.store.locations(self.name)
                changed = [(loc, renumbered(loc.address)) for loc in locations
                           if renumbered(loc.address) != loc.address or renumbered(loc.source) != loc.source]
                taken = {loc.address for loc in locations} - {loc.address for loc, _ in changed}
                taken |= {new for _, new in changed if new != -1}
                moves: list[tuple[Location, int | None]] = []
                for loc, new in changed:
                    source = renumbered(loc.source)
                    if new == -1:
                        new = self._free_slot(taken)
                        if new is not None:
                            taken.add(new)
                        source = None
                    moves.append((Location(loc.barcode, loc.library, loc.address,
                                           None if source == -1 else source, loc.imported), new))
                self.store.rehome(db, self.name, moves)
                log.warning("%s: slots renumbered with the configuration (storage from %d, was %d; mailslots "
                            "from %d, was %d): %d cartridge(s) kept their places", self.name, now.storage,
                            before.storage, now.import_export, before.import_export, len(moves))
            self.store.set_library_layout(db, self.name, now)

    def _slot_addresses(self) -> set[int]:
        return set(self.spec.slot_addresses()) | set(self.spec.mailslot_addresses())

    def _reconcile(self) -> None:
        """Catalog configured cartridges; rehome cartridges whose element is gone."""
        valid = set(self.spec.slot_addresses()) | set(self.spec.mailslot_addresses()) | set(self.bays)
        taken = {loc.address for loc in self.store.locations(self.name)}
        known = {e.barcode.upper() for e in self.store.catalog()}
        todo = []
        for cs in self.spec.cartridges:
            if cs.barcode.upper() in known:
                continue
            address = cs.slot if cs.slot not in taken else self._free_slot(taken)
            todo.append((cs, address))
            taken.add(address)
        if todo:
            self._create_configured(todo)
        for loc in self.store.locations(self.name):
            if loc.address in valid:
                continue
            dest = self._free_slot(taken)
            with self.store.transaction() as db:
                if dest is None:
                    self.store.take_out(db, loc.barcode)
                else:
                    self.store.move(db, loc.barcode, dest, loc.source)
            taken.discard(loc.address)
            if dest is not None:
                taken.add(dest)
            log.warning("%s: element %d no longer exists; cartridge %s %s", self.name, loc.address,
                        loc.barcode, f"moved to slot {dest}" if dest else "taken out of the library")

    def _create_configured(self, todo: list) -> None:
        """The configured cartridges a first start (or a grown configuration) adds: journalled
        together, made without a sync each, synced once, cataloged in one transaction."""
        ids = self.store.intend_many("create", [
            (cs.barcode, dict(library=self.name, path=str(self.cartridge_path(cs.barcode)), media=cs.media,
                              capacity=cs.capacity, address=address, imported=False))
            for cs, address in todo])
        made = [self._make(cs.barcode, cs.media, cs.capacity, str(self.cartridge_path(cs.barcode)))
                for cs, _ in todo]
        os.sync()
        with self.store.transaction() as db:
            for (cs, address), intent, media in zip(todo, ids, made, strict=True):
                self.store.add_cartridge(db, cs.barcode, self.name, media, str(self.cartridge_path(cs.barcode)),
                                         address, intent=intent)
        log.info("%s: %d cartridges created", self.name, len(todo))

    def _free_slot(self, taken: set[int]) -> int | None:
        for a in self.spec.slot_addresses():
            if a not in taken:
                return a
        return None

    def _create(self, barcode: str, media: str, capacity: int | None, address: int | None, *,
                imported: bool = False) -> None:
        """Make one cartridge and catalog it: journalled, so a crash in between is finished."""
        path = str(self.cartridge_path(barcode))
        intent = self.store.intend("create", barcode, library=self.name, path=path, media=media,
                                   capacity=capacity, address=address, imported=imported)
        try:
            media = self._make(barcode, media, capacity, path, durable=True)
        except (OSError, CartridgeError, LibraryError) as e:
            # Refused now, so it must not appear at the next start either: the intent ends here.
            with contextlib.suppress(sqlite3.Error):
                self.store.done(intent)
            if isinstance(e, LibraryError):
                raise
            if isinstance(e, OSError):
                raise LibraryError(f"Cartridge {barcode} could not be made: {e.strerror} ({e.filename or path}). "
                                   "Fix: make room on that file system, then try again.") from None
            raise LibraryError(f"Cartridge {barcode} could not be made: {e}") from None
        with self.store.transaction() as db:
            self.store.add_cartridge(db, barcode, self.name, media, path, address, imported=imported,
                                     intent=intent)

    def _build_elements(self) -> list[Element]:
        at = {loc.address: loc for loc in self.store.locations(self.name)}
        media = {e.barcode.upper(): e.media for e in self.store.catalog(self.name)}

        def element(address: int, kind: ElementType, **kw) -> Element:
            loc = at.get(address)
            if loc is None:
                return Element(address, kind, **kw)
            m = media.get(loc.barcode.upper())
            mtype = CLEANING if m and media_type(m).cleaning else DATA
            return Element(address, kind, barcode=loc.barcode, source=loc.source, medium_type=mtype,
                           imported=loc.imported, **kw)

        out = [Element(self.spec.addresses.transport, ElementType.TRANSPORT)]
        out += [element(a, ElementType.IMPORT_EXPORT) for a in self.spec.mailslot_addresses()]
        for a, bay in sorted(self.bays.items()):
            d = bay.drive.identity
            out.append(element(a, ElementType.DATA_TRANSFER, identifier=d.serial, vendor=d.vendor,
                               product=d.product, lun=d.lun, accessible=bay.online))
        out += [element(a, ElementType.STORAGE) for a in self.spec.slot_addresses()]
        return sorted(out, key=lambda e: e.address)

    def _refill_drives(self) -> None:
        """Every drive gets back the cartridge the store says it holds."""
        for address, bay in self.bays.items():
            el = self.element(address)
            if el.barcode is None:
                continue
            try:
                bay.accept(el.barcode)
            except MoveRefused as e:
                el.exception = (0x53, 0x00)   # MEDIUM LOAD OR EJECT FAILED
                log.error("%s: drive %s holds cartridge %s, which cannot be opened: %s", self.name,
                          bay.spec.serial, el.barcode, e.detail)

    # -- the robot (Inventory hooks, under the library lock) --------------------------------------
    def move(self, source: int, destination: int) -> None:
        with self.lock, self._holding(source, destination):
            super().move(source, destination)

    def exchange(self, source: int, first: int, second: int) -> None:
        with self.lock, self._holding(source, first, second):
            super().exchange(source, first, second)

    def _holding(self, *addresses: int) -> contextlib.ExitStack:
        """Hold the drives a move touches, so no host command threads a tape between the
        robot's check ("not loaded") and its pulling the cartridge out."""
        stack = contextlib.ExitStack()
        for address in sorted(set(addresses)):
            bay = self.bays.get(address)
            if bay is not None:
                stack.enter_context(bay.lock)
        return stack

    def carry(self, src: Element, dst: Element, barcode: str) -> None:
        into = self.bays.get(dst.address) if dst.type == ElementType.DATA_TRANSFER else None
        out_of = self.bays.get(src.address) if src.type == ElementType.DATA_TRANSFER else None
        if src.address == dst.address:
            return
        if into is not None and not into.online:
            raise MoveRefused(Refusal.NOT_ACCESSIBLE, dst.address, f"drive {into.spec.serial} is offline")
        if out_of is not None and not out_of.online:
            raise MoveRefused(Refusal.NOT_ACCESSIBLE, src.address, f"drive {out_of.spec.serial} is offline")
        cart = self.open_cartridge(barcode) if into is not None and out_of is None else None
        if out_of is not None:
            out_of.release()
            cart = self.open_cartridge(barcode) if into is not None else None
        # SMC's SOURCE STORAGE ELEMENT ADDRESS: the last *storage* element it left (as Inventory keeps it).
        source = src.address if src.type == ElementType.STORAGE else src.source
        try:
            with self.store.transaction() as db:
                self.store.move(db, barcode, dst.address, source, load=into is not None)
        except Exception:
            if cart is not None:
                cart.close()
            if out_of is not None:
                out_of.accept(barcode)
            raise
        if into is not None and cart is not None:
            into.insert_open(cart)

    # -- operator actions -------------------------------------------------------------------
    def element_of(self, barcode: str) -> Element | None:
        """The element holding ``barcode`` (labels are upper case; any case finds them)."""
        return self.where(barcode.upper())

    @staticmethod
    def importable_label(barcode: str) -> str:
        """The label ``barcode`` stands for (labels are upper case, and name the cartridge's
        directory), or LibraryError saying why no cartridge can carry it.  Check it before
        the label is used in a path."""
        label = barcode.upper()
        problem = barcode_problem(label)
        if problem is not None:
            raise LibraryError(f"Cartridge {label!r} cannot be imported: {problem}")
        return label

    def import_cartridge(self, barcode: str, media: str | None = None, capacity: int | None = None) -> Element:
        """An operator puts a cartridge into the mailslot (a new blank one, or one from the vault)."""
        barcode = self.importable_label(barcode)
        with self.lock:
            if self.door_locked:
                # The door is one door: locked, the operator can neither take out nor put in.
                raise LibraryError(f"The import/export door of library {self.name} is locked by a host "
                                   "(PREVENT MEDIUM REMOVAL). Ask the backup application to allow medium "
                                   "removal, then import again.")
            here = self.element_of(barcode)
            if here is not None:
                raise LibraryError(f"Cartridge {here.barcode} is already in library {self.name}, element "
                                   f"{here.address} ({describe(here)}).")
            entry = self.store.entry(barcode)
            if entry is not None:
                where = self.store.location(entry.barcode)
                if where is not None:
                    raise LibraryError(f"Cartridge {entry.barcode} is in library {where.library}, element "
                                       f"{where.address}. Export it from there first.")
                barcode, mt = entry.barcode, media_type(entry.media)
                try:                     # back from the vault: its files must still be a cartridge
                    Cartridge.open(entry.path).close()
                except CartridgeError as e:
                    raise LibraryError(f"Cartridge {barcode} cannot be imported: {e}") from None
            elif os.path.exists(self.cartridge_path(barcode) / "cartridge.json"):
                mt = self._adoptable(barcode, media)     # files already there: that cartridge goes in
            else:
                try:
                    mt = media_type(media) if media else media_for_barcode(barcode)
                except (KeyError, ValueError) as e:
                    raise LibraryError(str(e.args[0]) if e.args else str(e)) from None
                if mt is None:
                    raise LibraryError(f"The media type of {barcode} cannot be told from its barcode. "
                                       "Give it with --media (for example --media LTO8).")
            free = [e for e in self.elements() if e.type == ElementType.IMPORT_EXPORT and not e.full]
            if not free:
                raise LibraryError(f"Every import/export slot of library {self.name} is full. Move "
                                   "cartridges out of the mailslots (or export them), then import again.")
            self._importing = (mt.name, capacity)
            try:
                self.operator_insert(free[0].address, barcode, CLEANING if mt.cleaning else DATA)
            except ValueError as e:
                raise LibraryError(f"Cartridge {barcode} cannot be imported: {e}.") from None
            finally:
                self._importing = None
            self.changer.medium_changed_by_operator()
            return free[0]

    def _adoptable(self, barcode: str, media: str | None) -> MediaType:
        """The media of the cartridge files already in the storage under ``barcode`` (put
        there by hand, or kept by `vtl cartridge delete --keep-files`), which an import
        takes in as they are; refused if they are not that cartridge or not that media.
        Opened as any load opens them, so a torn tail is cut and a cartridge of an earlier
        format rewritten here, before it is catalogued."""
        path = self.cartridge_path(barcode)
        try:
            with Cartridge.open(str(path)) as cart:
                if cart.barcode.upper() != barcode.upper():
                    raise LibraryError(f"Cartridge {barcode} cannot be imported: {path} holds cartridge "
                                       f"{cart.barcode}. Fix: move that directory to {cart.barcode}, or take "
                                       "it away.")
                mt = cart.media
        except CartridgeError as e:
            raise LibraryError(f"Cartridge {barcode} cannot be imported: {e}") from None
        if media and media_type(media).name != mt.name:
            raise LibraryError(f"Cartridge {barcode} cannot be imported as {media_type(media).name}: {path} "
                               f"already holds it as {mt.name} media. Leave out --media to take it in as it "
                               "is, or delete it first (vtl cartridge delete PATH).")
        return mt

    def carry_in(self, element: Element, barcode: str) -> None:
        """Persist an import: catalog a new cartridge (journalled) or place one from the vault."""
        if self.store.entry(barcode) is not None:
            with self.store.transaction() as db:
                self.store.place(db, barcode, self.name, element.address, imported=True)
            return
        media, capacity = self._importing or ("LTO8", None)
        self._create(barcode, media, capacity, element.address, imported=True)

    def export_cartridge(self, barcode: str) -> int:
        """The robot takes the cartridge to a mailslot and the operator takes it out."""
        with self.lock:
            here = self.element_of(barcode)
            if here is None:
                raise LibraryError(f"Cartridge {barcode} is not in library {self.name}.")
            if here.type == ElementType.DATA_TRANSFER:
                serial = self.bays[here.address].spec.serial
                raise LibraryError(f"Cartridge {here.barcode} is in drive {serial} (element {here.address}). "
                                   f"Unload it first: vtl unload {serial}.")
            if self.door_locked:
                raise LibraryError(f"The import/export door of library {self.name} is locked by a host "
                                   "(PREVENT MEDIUM REMOVAL). Ask the backup application to allow medium "
                                   "removal, then export again.")
            origin = here.address
            if here.type != ElementType.IMPORT_EXPORT:
                free = [e for e in self.elements() if e.type == ElementType.IMPORT_EXPORT and not e.full]
                if not free:
                    raise LibraryError(f"Every import/export slot of library {self.name} is full, so the "
                                       f"robot cannot bring {here.barcode} out. Empty a mailslot first.")
                self.move(here.address, free[0].address)
                here = free[0]
            self.operator_remove(here.address)
            self.changer.medium_changed_by_operator()
            return origin

    def carry_out(self, element: Element, barcode: str) -> None:
        """Persist an export: the cartridge leaves the library; the catalog keeps it."""
        with self.store.transaction() as db:
            self.store.take_out(db, barcode)

    def load(self, source: int, drive: int) -> None:
        """Operator load: the robot moves the cartridge in; the drive threads it if it autoloads."""
        with self.lock:
            self.move(source, drive)

    def unload(self, drive: int, to: int | None = None) -> int:
        """Operator unload: the drive unloads (rewinds, syncs) and the robot takes the tape back."""
        with self.lock:
            el = self.element(drive)
            bay = self.bays.get(drive)
            if bay is None:
                raise LibraryError(f"Element {drive} of library {self.name} is not a drive.")
            if el.barcode is None:
                raise LibraryError(f"Drive {bay.spec.serial} (element {drive}) is empty.")
            if bay.removal_prevented:
                raise LibraryError(f"A host has prevented medium removal from drive {bay.spec.serial} "
                                   f"(cartridge {el.barcode}). Let the backup application finish or allow "
                                   "removal, then unload again.")
            with bay.lock:
                if bay.threaded:
                    bay.drive.unthread()
            dest = to if to is not None else self._home_for(el)
            if dest is None:
                raise LibraryError(f"No storage slot is free in library {self.name} for {el.barcode}. "
                                   "Export a cartridge or give --to with an empty slot.")
            self.move(drive, dest)
            return dest

    def _home_for(self, el: Element) -> int | None:
        if el.source is not None:
            src = self.element(el.source)
            if not src.full and src.type != ElementType.DATA_TRANSFER:
                return el.source
        for e in self.elements():
            if e.type == ElementType.STORAGE and not e.full:
                return e.address
        return None

    def set_online(self, drive: int, online: bool) -> None:
        with self.lock:
            bay = self.bays[drive]
            self.store.set_device_flags(bay.spec.serial, online=online)   # first: a refusal changes nothing
            bay.online = online
            self.element(drive).accessible = online

    # -- shutdown -----------------------------------------------------------------------
    def sync(self) -> None:
        """A sync point for every drive: acknowledged records are on disk."""
        for bay in self.bays.values():
            with bay.lock:
                bay.drive.flush()
            self.save_counters(bay)

    def close(self) -> None:
        """Clean shutdown: sync, then close every cartridge; they stay in their drives."""
        with self.lock:
            for bay in self.bays.values():
                with bay.lock:
                    bay.drive.flush()
                    cart = bay.drive.cartridge
                    if cart is not None:
                        cart.close()
                self.save_counters(bay)

    def drives(self) -> Iterable[tuple[int, Bay]]:
        return sorted(self.bays.items())


def describe(e: Element) -> str:
    return {ElementType.STORAGE: "a storage slot", ElementType.IMPORT_EXPORT: "an import/export slot",
            ElementType.DATA_TRANSFER: "a drive", ElementType.TRANSPORT: "the robot"}[e.type]
