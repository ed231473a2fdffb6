"""The changer's view of a library: elements, and the robot that moves media.

SMC speaks of four element types: the medium transport (the robot's hand),
storage slots, import/export slots (the mailslot) and data transfer elements
(the drives).  The changer device model reads them to answer READ ELEMENT
STATUS and asks the :class:`Robot` to move media; it never stores where a
cartridge is.  Whoever owns the library (an in-memory :class:`Inventory` in
tests and embedding, the persistent library of ``vtl`` in the daemon) keeps
the truth, so a move is decided and recorded in one place.

A refused move is a :class:`MoveRefused` carrying a :class:`Refusal`; the
changer turns it into the sense data SMC-3 prescribes.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol, Sequence


class ElementType(enum.IntEnum):
    """SMC-3 element type codes (READ ELEMENT STATUS, table 'element type code')."""

    TRANSPORT = 1
    STORAGE = 2
    IMPORT_EXPORT = 3
    DATA_TRANSFER = 4


@dataclass
class Element:
    """One element as READ ELEMENT STATUS reports it."""

    address: int
    type: ElementType
    barcode: str | None = None
    """Primary volume tag of the medium held; None when the element is empty."""
    source: int | None = None
    """Address of the element the medium was last moved from (SVALID); None if unknown."""
    medium_type: int = 0
    """SMC-3 medium type for the element descriptor: 0 unspecified, 1 data, 2 cleaning."""
    accessible: bool = True
    """ACCESS: the robot can reach it (an open mailslot door or an offline drive is not)."""
    exception: tuple[int, int] | None = None
    """EXCEPT with its ASC/ASCQ (e.g. a drive that failed to load)."""
    imported: bool = False
    """Import/export elements only: IMPEXP, the medium was put there by an operator."""
    identifier: str | None = None
    """Data transfer elements only: the drive's serial number (DVCID descriptor)."""
    vendor: str | None = None
    product: str | None = None
    """Data transfer elements only: T10 vendor and product identification (DVCID)."""
    lun: int | None = None
    """Data transfer elements only: the drive's LUN, when known (LU VALID)."""

    @property
    def full(self) -> bool:
        return self.barcode is not None


class Refusal(enum.Enum):
    """Why the robot will not move a medium; each maps to one sense in the changer."""

    INVALID_ADDRESS = "invalid element address"
    SOURCE_EMPTY = "medium source element empty"
    DESTINATION_FULL = "medium destination element full"
    REMOVAL_PREVENTED = "medium removal prevented"
    MEDIUM_LOADED = "the drive has not unloaded the medium"
    NOT_ACCESSIBLE = "element not accessible"
    INCOMPATIBLE = "medium incompatible with the destination"


class MoveRefused(Exception):
    def __init__(self, refusal: Refusal, address: int | None = None, detail: str = ""):
        self.refusal = refusal
        self.address = address
        self.detail = detail
        where = f" (element {address})" if address is not None else ""
        super().__init__(f"{refusal.value}{where}{': ' + detail if detail else ''}")


class Robot(Protocol):
    """What a medium changer needs from the library behind it."""

    def elements(self) -> Sequence[Element]:
        """Every element, sorted by address; the changer reads, never mutates, them."""

    def element(self, address: int) -> Element:
        """The element at ``address``; MoveRefused(INVALID_ADDRESS) if there is none."""

    def move(self, source: int, destination: int) -> None:
        """Carry the medium in ``source`` to ``destination`` or raise MoveRefused."""

    def exchange(self, source: int, first: int, second: int) -> None:
        """EXCHANGE MEDIUM: source's medium to ``first``, first's medium to ``second``."""

    def lock_door(self, locked: bool) -> None:
        """PREVENT/ALLOW MEDIUM REMOVAL: lock or unlock the import/export door."""


class DriveBay(Protocol):
    """The library's hold on one drive, as the robot needs it.

    The robot checks ``threaded`` and ``removal_prevented`` before taking a
    medium out, and calls ``accept``/``release`` to push it in or pull it out;
    the owner opens and closes the cartridge behind those calls.
    """

    @property
    def threaded(self) -> bool:
        """The tape is loaded (threaded); a real library cannot pull it out."""

    @property
    def removal_prevented(self) -> bool:
        """A host sent PREVENT MEDIUM REMOVAL to the drive."""

    def accept(self, barcode: str) -> None:
        """The robot pushed the cartridge ``barcode`` into the drive."""

    def release(self) -> str:
        """The robot pulls the (unloaded) cartridge out; returns its barcode."""
