"""An in-memory library that keeps every rule of moving media: the Robot the
changer drives in tests and embedding, and the base class of the persistent
library in ``vtl``.

Every change follows one order, so a subclass can make it durable without
repeating a rule:

1. validate everything (addresses, full/empty, accessibility, the drives'
   hold on their tapes, the door); a refusal raises
   :class:`~scsi.smc.elements.MoveRefused` and nothing has happened;
2. call the hook that does the physical part: :meth:`Inventory.carry` for
   one medium between two elements (which pulls it out of / pushes it into
   drive bays), :meth:`Inventory.carry_in` / :meth:`Inventory.carry_out`
   for the operator at the mailslot.  A subclass wraps persistence around
   these (write intent, ``super().carry(...)``, write done); if a hook
   raises, the in-memory state is untouched;
3. update the :class:`~scsi.smc.elements.Element` objects.

SOURCE STORAGE ELEMENT ADDRESS (SVALID) follows SMC's definition, "the last
storage element this unit of media was moved from": taking a medium out of a
storage slot records that slot; a move out of a drive, a mailslot or the
transport keeps what the medium already had.  A medium an operator put into
the mailslot has come from no storage element (SVALID=0) until it is first
moved out of one.

PREVENT MEDIUM REMOVAL (``lock_door``) locks the operator out of the
mailslot, not the robot: SMC applies the prevention to the operator's means
of removal, so MOVE MEDIUM into an import/export element still works while
locked (IBM and Dell libraries behave so; Quantum's refuse such moves).
Inserting into the mailslot is not removing, and is allowed while locked.
"""
from __future__ import annotations

import logging
from typing import Iterable, Mapping, Sequence

from .elements import DriveBay, Element, ElementType, MoveRefused, Refusal

log = logging.getLogger(__name__)

STORAGE_CAPABLE = frozenset({ElementType.STORAGE, ElementType.IMPORT_EXPORT,
                             ElementType.DATA_TRANSFER})
"""Element types that hold media between moves.  The transport only carries
them: a move from or to it is INVALID_ADDRESS (as IBM libraries answer), and
the Device Capabilities mode page says so (STORMT=0)."""

MAX_ADDRESS = 0xFFFF
MAX_BARCODE = 32
"""The VOLUME IDENTIFIER of a primary volume tag is 32 bytes."""


def check_barcode(barcode: str) -> None:
    """A barcode a volume tag can carry: 1-32 printable ASCII characters, no spaces
    (volume tags are space padded, so a space could not be told from padding)."""
    if not (1 <= len(barcode) <= MAX_BARCODE and barcode.isascii() and barcode.isprintable()
            and " " not in barcode):
        raise ValueError(f"barcode {barcode!r}: use 1 to {MAX_BARCODE} printable ASCII "
                         "characters without spaces")


class Inventory:
    """Elements by address, the drive bays, the mailslot door, and the moves."""

    ready: bool = True
    """False while the library cannot serve (the changer then answers NOT READY)."""

    def __init__(self, elements: Iterable[Element], bays: Mapping[int, DriveBay] | None = None):
        self._elements = sorted(elements, key=lambda e: e.address)
        self._by_address: dict[int, Element] = {}
        self._where: dict[str, int] = {}
        for e in self._elements:
            if not 0 <= e.address <= MAX_ADDRESS:
                raise ValueError(f"element address {e.address} is outside 0-{MAX_ADDRESS}")
            if e.address in self._by_address:
                raise ValueError(f"two elements have address {e.address}")
            self._by_address[e.address] = e
            if e.barcode is not None:
                check_barcode(e.barcode)
                if e.barcode in self._where:
                    raise ValueError(f"barcode {e.barcode} is in elements {self._where[e.barcode]} "
                                     f"and {e.address}")
                self._where[e.barcode] = e.address
        self.bays: dict[int, DriveBay] = dict(bays or {})
        for address in self.bays:
            el = self._by_address.get(address)
            if el is None or el.type is not ElementType.DATA_TRANSFER:
                raise ValueError(f"drive bay {address} is not a data transfer element")
        self._door_locked = False

    # -- reading -------------------------------------------------------------------------
    def elements(self) -> Sequence[Element]:
        """Every element, sorted by address (the changer reads, never mutates, them)."""
        return self._elements

    def element(self, address: int) -> Element:
        el = self._by_address.get(address)
        if el is None:
            raise MoveRefused(Refusal.INVALID_ADDRESS, address)
        return el

    def where(self, barcode: str) -> Element | None:
        """The element holding ``barcode``, if the library has it."""
        address = self._where.get(barcode)
        return None if address is None else self._by_address[address]

    def scan(self, first: int = 0, count: int | None = None) -> None:
        """INITIALIZE ELEMENT STATUS: memory is always current; the persistent
        library re-reads its store here."""

    # -- the door ------------------------------------------------------------------------
    @property
    def door_locked(self) -> bool:
        return self._door_locked

    def lock_door(self, locked: bool) -> None:
        self._door_locked = bool(locked)

    # -- moves ---------------------------------------------------------------------------
    def move(self, source: int, destination: int) -> None:
        """MOVE MEDIUM: validate, carry, record (see the module docstring)."""
        src, dst = self._holder(source), self._holder(destination)
        if src.barcode is None:
            raise MoveRefused(Refusal.SOURCE_EMPTY, source)
        if source == destination:
            return
        if dst.barcode is not None:
            raise MoveRefused(Refusal.DESTINATION_FULL, destination)
        self._check_take(src)
        self._check_put(dst)
        self._carry_and_record(src, dst)

    def exchange(self, source: int, first: int, second: int) -> None:
        """EXCHANGE MEDIUM: source's medium to ``first``, first's medium to ``second``.

        ``second`` may be ``source`` (a swap); the swap parks the source's medium
        on a transport element in between, which is what a single-gripper robot
        does and keeps "every cartridge in exactly one element" true at each step.
        """
        src, one, two = self._holder(source), self._holder(first), self._holder(second)
        if first == source:
            raise MoveRefused(Refusal.INVALID_ADDRESS, first, "the first destination is the source")
        if src.barcode is None:
            raise MoveRefused(Refusal.SOURCE_EMPTY, source)
        if one.barcode is None:
            raise MoveRefused(Refusal.SOURCE_EMPTY, first)
        if second != source and two.barcode is not None:
            raise MoveRefused(Refusal.DESTINATION_FULL, second)
        self._check_take(src)
        self._check_take(one)
        self._check_put(one)
        self._check_put(two)
        if second != source:
            steps = [(one, two), (src, one)]
        else:
            hand = next((e for e in self._elements
                         if e.type is ElementType.TRANSPORT and e.barcode is None), None)
            if hand is None:
                raise MoveRefused(Refusal.NOT_ACCESSIBLE, None, "no empty transport for the swap")
            steps = [(src, hand), (one, src), (hand, one)]
        self._carry_steps(steps)

    # -- the operator at the mailslot ------------------------------------------------------
    def operator_insert(self, address: int, barcode: str, medium_type: int = 1) -> None:
        """An operator puts the cartridge ``barcode`` into import/export element ``address``."""
        el = self._mailslot(address)
        check_barcode(barcode)
        if el.barcode is not None:
            raise MoveRefused(Refusal.DESTINATION_FULL, address)
        holder = self._where.get(barcode)
        if holder is not None:
            raise ValueError(f"barcode {barcode} is already in element {holder}")
        self.carry_in(el, barcode)
        el.barcode, el.source, el.imported, el.medium_type = barcode, None, True, medium_type
        self._where[barcode] = address

    def operator_remove(self, address: int) -> str:
        """An operator takes the cartridge out of import/export element ``address``."""
        el = self._mailslot(address)
        if self._door_locked:
            raise MoveRefused(Refusal.REMOVAL_PREVENTED, address, "the mailslot door is locked")
        if el.barcode is None:
            raise MoveRefused(Refusal.SOURCE_EMPTY, address)
        barcode = el.barcode
        self.carry_out(el, barcode)
        el.barcode, el.source, el.imported, el.medium_type = None, None, False, 0
        del self._where[barcode]
        return barcode

    # -- hooks for subclasses ----------------------------------------------------------
    def carry(self, src: Element, dst: Element, barcode: str) -> None:
        """The physical part of one move, after validation and before the records
        change: pull the medium out of a source drive bay, push it into a
        destination drive bay.  If the destination refuses, it goes back."""
        out = self.bays.get(src.address) if src.type is ElementType.DATA_TRANSFER else None
        into = self.bays.get(dst.address) if dst.type is ElementType.DATA_TRANSFER else None
        if out is not None:
            out.release()
        if into is not None:
            try:
                into.accept(barcode)
            except BaseException:
                if out is not None:
                    _put_back(out, barcode, src.address)
                raise

    def carry_in(self, element: Element, barcode: str) -> None:
        """The operator's insertion, after validation (a persistence hook)."""

    def carry_out(self, element: Element, barcode: str) -> None:
        """The operator's removal, after validation (a persistence hook)."""

    # -- internals -----------------------------------------------------------------------
    def _holder(self, address: int) -> Element:
        """An element a medium can be moved from or to (not the transport)."""
        el = self.element(address)
        if el.type not in STORAGE_CAPABLE:
            raise MoveRefused(Refusal.INVALID_ADDRESS, address, f"{el.type.name} cannot hold media")
        return el

    def _mailslot(self, address: int) -> Element:
        el = self.element(address)
        if el.type is not ElementType.IMPORT_EXPORT:
            raise MoveRefused(Refusal.INVALID_ADDRESS, address, "not an import/export element")
        return el

    def _check_take(self, el: Element) -> None:
        if not el.accessible:
            raise MoveRefused(Refusal.NOT_ACCESSIBLE, el.address)
        bay = self.bays.get(el.address) if el.type is ElementType.DATA_TRANSFER else None
        if bay is not None:
            if bay.removal_prevented:
                raise MoveRefused(Refusal.REMOVAL_PREVENTED, el.address)
            if bay.threaded:
                raise MoveRefused(Refusal.MEDIUM_LOADED, el.address)

    def _check_put(self, el: Element) -> None:
        if not el.accessible:
            raise MoveRefused(Refusal.NOT_ACCESSIBLE, el.address)

    def _carry_and_record(self, src: Element, dst: Element) -> None:
        barcode = src.barcode
        assert barcode is not None
        self.carry(src, dst, barcode)
        dst.barcode, dst.medium_type, dst.imported = barcode, src.medium_type, False
        dst.source = src.address if src.type is ElementType.STORAGE else src.source
        src.barcode, src.source, src.imported, src.medium_type = None, None, False, 0
        self._where[barcode] = dst.address

    def _carry_steps(self, steps: list[tuple[Element, Element]]) -> None:
        """Several carries as one: if one fails, the ones done are carried back
        and the records restored, so a refused exchange changes nothing."""
        involved = {id(e): e for pair in steps for e in pair}.values()
        saved = [(e, e.barcode, e.source, e.imported, e.medium_type) for e in involved]
        done: list[tuple[Element, Element, str]] = []
        try:
            for src, dst in steps:
                barcode = src.barcode
                assert barcode is not None
                self._carry_and_record(src, dst)
                done.append((src, dst, barcode))
        except BaseException:
            for src, dst, barcode in reversed(done):
                try:
                    self.carry(dst, src, barcode)
                except Exception:
                    log.exception("could not carry %s back from %d to %d", barcode, dst.address,
                                  src.address)
                    raise
            for e, barcode, source, imported, medium_type in saved:
                e.barcode, e.source, e.imported, e.medium_type = barcode, source, imported, medium_type
                if barcode is not None:
                    self._where[barcode] = e.address
            raise


def _put_back(bay: DriveBay, barcode: str, address: int) -> None:
    try:
        bay.accept(barcode)
    except Exception:
        log.exception("could not put %s back into drive %d", barcode, address)


__all__ = ["Inventory", "STORAGE_CAPABLE", "check_barcode"]
