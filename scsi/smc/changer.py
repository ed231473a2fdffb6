"""The emulated medium changer (SMC-3): the SCSI face of a library.

The changer holds no inventory.  It answers from the :class:`Robot` behind it
(an in-memory :class:`~scsi.smc.inventory.Inventory`, or the persistent
library of ``vtl``), turns refused moves into sense data, and keeps the
per-I_T-nexus state SCSI asks of it: unit attentions, reservations, and the
PREVENT MEDIUM REMOVAL holders that lock the mailslot door.  Each command
lives in its own module (``move_medium.py``, ``read_element_status.py``, ...).

Identity follows IBM's TS3100/TS3200 (machine type 3573, product ``3573-TL``)
by default: peripheral device type 08h, RMB=1 (medium changers report their
media removable: HP, Quantum, Dell ML6000 and the 3573's Dell twin TL2000
all set it), version descriptors SAM-5, SPC-4, SMC-3.

Reservations are SPC's (``Reservations``, with APTPL state handed to
``reservation_store`` and restored from ``reservation_state``).  The access
class of each SMC command follows SMC-3's table of commands allowed in the
presence of reservations, which IBM's TS4500 table repeats: READ ELEMENT
STATUS reads (allowed under Write Exclusive held by another nexus); MOVE
MEDIUM, EXCHANGE MEDIUM, POSITION TO ELEMENT and both INITIALIZE ELEMENT
STATUS commands write; PREVENT ALLOW MEDIUM REMOVAL conflicts only when it
prevents (SPC-4).
"""
from __future__ import annotations

from typing import Callable

from ..device import ScsiDevice
from ..identity import Identity
from ..nexus import Nexus
from ..sense import Asc, SenseKey, check
from ..spc.inquiry import SAM5, SPC4
from ..spc.reservations import Reservations
from .commands import SMC
from .elements import Robot
from .mode_pages import mode_pages

SMC3 = 0x0480
"""T10 version descriptor: SMC-3 (no version claimed)."""


class MediumChanger(ScsiDevice):
    commands = SMC
    peripheral_device_type = 0x08
    removable = True
    version_descriptors = (SAM5, SPC4, SMC3)

    def __init__(self, robot: Robot, *, vendor: str = "IBM", product: str = "3573-TL",
                 revision: str = "F.11", serial: str, lun: int = 0, power_on_ua: bool = True,
                 reservation_store: Callable[[dict], None] | None = None,
                 reservation_state: dict | None = None) -> None:
        super().__init__(power_on_ua=power_on_ua)
        self.robot = robot
        self.identity = Identity(vendor, product, revision, serial, lun)
        self.prevented: set[Nexus] = set()
        self.mode_pages = mode_pages(self)
        self.reservations = Reservations(self, store=reservation_store, state=reservation_state)

    # -- what the library tells the changer ------------------------------------------
    def medium_changed_by_operator(self) -> None:
        """An operator used the mailslot: every nexus hears IMPORT OR EXPORT ELEMENT
        ACCESSED (28/01) and knows to read element status again."""
        self.unit_attentions.establish(Asc.IMPORT_OR_EXPORT_ELEMENT_ACCESSED)

    def inventory_changed(self) -> None:
        """The library was restarted or reconfigured: NOT READY TO READY CHANGE (28/00),
        which hosts answer by reading the whole inventory again."""
        self.unit_attentions.establish(Asc.NOT_READY_TO_READY_CHANGE)

    # -- readiness -------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        return bool(getattr(self.robot, "ready", True))

    def ready_check(self, nexus: Nexus | None = None) -> None:
        """Always ready, unless the robot says it is not (``robot.ready`` False)."""
        if not self.ready:
            raise check(SenseKey.NOT_READY, Asc.NOT_READY_CAUSE_NOT_REPORTABLE)

    @property
    def can_rotate(self) -> bool:
        """Whether INVERT may be honoured (Transport Geometry page, ROTATE)."""
        return self.transport_geometry.can_rotate

    # -- PREVENT ALLOW MEDIUM REMOVAL ------------------------------------------------------
    @property
    def removal_prevented(self) -> bool:
        return bool(self.prevented)

    def set_prevent(self, nexus: Nexus, prevent: bool) -> None:
        before = self.removal_prevented
        if prevent:
            self.prevented.add(nexus)
        else:
            self.prevented.discard(nexus)
        self._door_follows(before)

    def _door_follows(self, before: bool) -> None:
        if self.removal_prevented != before:
            self.robot.lock_door(self.removal_prevented)

    # -- task management ------------------------------------------------------------------
    def logical_unit_reset(self) -> None:
        super().logical_unit_reset()
        before = self.removal_prevented
        self.prevented.clear()
        self._door_follows(before)

    def nexus_loss(self, nexus: Nexus) -> None:
        super().nexus_loss(nexus)
        before = self.removal_prevented
        self.prevented.discard(nexus)
        self._door_follows(before)

    def __repr__(self) -> str:
        return f"MediumChanger({self.identity.product!r}, serial={self.identity.serial!r})"
