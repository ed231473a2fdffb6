"""Reservation state of one logical unit: SPC-2 reservations and SPC-4
persistent reservations, with the rules that decide who may do what.

This is the object a device holds as ``device.reservations``.  The command
pipeline asks it, before every command, whether the command conflicts
(:meth:`Reservations.check`); the RESERVE/RELEASE and PERSISTENT RESERVE
handlers (``reservations.py``, ``persistent.py``) decode the CDBs and call the
operations here.  Keeping every rule in one place, away from wire formats, is
what lets the conflict table, the service actions and the unit attentions be
read against SPC-4 5.13 side by side.

Nothing here does I/O.  With APTPL active, every change hands a snapshot to
the ``store`` callback; the owner writes it wherever it keeps state.

Two choices the standard leaves open, made here:

* A registration made with ALL_TG_PT=1 is *one* registration that covers the
  initiator port through every target port, including ports first seen later.
  Changing or removing it through any of those I_T nexuses changes it for all
  of them (LIO behaves the same way).
* CRH is zero: RESERVE/RELEASE(6/10) conflict as soon as any persistent
  registration exists, and PERSISTENT RESERVE IN/OUT conflict whenever an
  SPC-2 reservation exists, whoever sends them (SPC-2 5.5.1).
"""
from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Callable, Iterable

from construct import Container

from ..device import Access, Command, ScsiDevice
from ..nexus import Nexus
from ..sense import Asc, FieldPointer, ReservationConflict, SenseKey, check

LU_SCOPE = 0
"""The only SCOPE SPC-4 still defines (element and extent scopes are obsolete)."""

GENERATION_MODULUS = 1 << 32

RESERVE_OPCODES = frozenset({0x16, 0x56})
RELEASE_OPCODES = frozenset({0x17, 0x57})

# Commands another I_T nexus may still send while an SPC-2 reservation is held
# (INQUIRY, REQUEST SENSE, REPORT LUNS, REPORT SUPPORTED OPERATION CODES);
# RELEASE is also let through and then does nothing.
_SPC2_EXEMPT = frozenset({(0x12, None), (0x03, None), (0xA0, None), (0xA3, 0x0C)})


def state_of(device: ScsiDevice) -> Reservations:
    """The device's reservation state; a device that keeps none does not support
    reservation commands, which the initiator hears as an unknown opcode."""
    state = device.reservations
    if state is None:
        raise check(SenseKey.ILLEGAL_REQUEST, Asc.INVALID_COMMAND_OPERATION_CODE,
                    specific=FieldPointer(0, None))
    return state


class PrType(IntEnum):
    """Persistent reservation TYPE codes (SPC-4 table 'Persistent reservation type codes')."""

    WRITE_EXCLUSIVE = 1
    EXCLUSIVE_ACCESS = 3
    WRITE_EXCLUSIVE_REGISTRANTS_ONLY = 5
    EXCLUSIVE_ACCESS_REGISTRANTS_ONLY = 6
    WRITE_EXCLUSIVE_ALL_REGISTRANTS = 7
    EXCLUSIVE_ACCESS_ALL_REGISTRANTS = 8

    @property
    def registrants_only(self) -> bool:
        return self in (PrType.WRITE_EXCLUSIVE_REGISTRANTS_ONLY, PrType.EXCLUSIVE_ACCESS_REGISTRANTS_ONLY)

    @property
    def all_registrants(self) -> bool:
        return self in (PrType.WRITE_EXCLUSIVE_ALL_REGISTRANTS, PrType.EXCLUSIVE_ACCESS_ALL_REGISTRANTS)

    @property
    def registrants_have_access(self) -> bool:
        """Registrants only and all registrants types let every registered I_T nexus in."""
        return self.registrants_only or self.all_registrants

    @property
    def exclusive_access(self) -> bool:
        """The Exclusive Access family also keeps non-holders from reading."""
        return self in (PrType.EXCLUSIVE_ACCESS, PrType.EXCLUSIVE_ACCESS_REGISTRANTS_ONLY,
                        PrType.EXCLUSIVE_ACCESS_ALL_REGISTRANTS)


@dataclass(eq=False)
class Registration:
    """A reservation key registered for an initiator port through one target port,
    or through every target port when ``target_port`` is None (ALL_TG_PT)."""

    initiator: str
    target_port: int | None
    key: int

    @property
    def all_target_ports(self) -> bool:
        return self.target_port is None

    def covers(self, nexus: Nexus) -> bool:
        return nexus.initiator == self.initiator and self.target_port in (None, nexus.target_port)


@dataclass(frozen=True)
class PersistentReservation:
    """The persistent reservation: the I_T nexus that established it, and its type.

    For the all registrants types every registrant is a holder; ``holder`` then
    only records who established it.
    """

    holder: Nexus
    type: PrType


log = logging.getLogger(__name__)


class _NotPersisted(Exception):
    """The store could not save the outcome of a service action (APTPL)."""


def _persisted(action: Callable[..., None]) -> Callable[..., None]:
    """A PERSISTENT RESERVE OUT service action is all or nothing: when its outcome cannot be
    persisted (APTPL, and the store fails: a full disk), the state goes back to what it was
    and the command ends ILLEGAL REQUEST, INSUFFICIENT REGISTRATION RESOURCES, so the
    initiator is never told "failed" about a change that took effect.  The unit attentions
    it queued for other I_T nexuses are taken back too."""
    @functools.wraps(action)
    def run(self: "Reservations", *args: Any, **kwargs: Any) -> None:
        before = self._snapshot()
        attentions = self.device.unit_attentions.snapshot()
        try:
            action(self, *args, **kwargs)
        except _NotPersisted:
            self._put_back(before)
            self.device.unit_attentions.put_back(attentions)
            raise check(SenseKey.ILLEGAL_REQUEST, Asc.INSUFFICIENT_REGISTRATION_RESOURCES) from None
    return run


class Reservations:
    """SPC-2 and persistent reservation state of one logical unit."""

    def __init__(self, device: ScsiDevice, *, store: Callable[[dict], None] | None = None,
                 state: dict | None = None) -> None:
        self.device = device
        self._store = store
        self.spc2_holder: Nexus | None = None
        self.registrations: list[Registration] = []
        self.reservation: PersistentReservation | None = None
        self.generation = 0
        self.aptpl = False
        if state is not None and state.get("aptpl"):
            self._restore(state)

    # -- questions -------------------------------------------------------------------
    def registration(self, nexus: Nexus) -> Registration | None:
        """The registration that applies to ``nexus``, if it is registered."""
        for reg in self.registrations:
            if reg.covers(nexus):
                return reg
        return None

    def is_holder(self, nexus: Nexus) -> bool:
        """Whether ``nexus`` is a persistent reservation holder (SPC-4 5.13.10)."""
        res = self.reservation
        if res is None:
            return False
        if res.type.all_registrants:
            return self.registration(nexus) is not None
        return nexus == res.holder

    def holder_key(self) -> int:
        """RESERVATION KEY to report for the reservation: zero for the all registrants types."""
        res = self.reservation
        if res is None or res.type.all_registrants:
            return 0
        reg = self.registration(res.holder)
        return reg.key if reg is not None else 0

    def all_registrants_reservation(self) -> bool:
        return self.reservation is not None and self.reservation.type.all_registrants

    # -- the pipeline's hooks ------------------------------------------------------
    def check(self, nexus: Nexus, cmd: Command, fields: Container) -> None:
        """Raise :class:`ReservationConflict` if ``cmd`` may not run for ``nexus`` now."""
        access = cmd.access_for(fields)
        if access is Access.RESERVATION:
            self._check_reservation_command(nexus, cmd.opcode)
            return
        if (self.spc2_holder not in (None, nexus)
                and (cmd.opcode, cmd.service_action) not in _SPC2_EXEMPT):
            raise ReservationConflict()
        if self._persistent_conflict(nexus, access):
            raise ReservationConflict()

    def _check_reservation_command(self, nexus: Nexus, opcode: int) -> None:
        """The two reservation mechanisms exclude each other (SPC-2 5.5.1, CRH=0); within
        each, the handlers judge.  RELEASE by a non-holder passes and does nothing."""
        if opcode in RESERVE_OPCODES or opcode in RELEASE_OPCODES:
            if self.registrations:
                raise ReservationConflict()
            if opcode in RESERVE_OPCODES and self.spc2_holder not in (None, nexus):
                raise ReservationConflict()
        elif self.spc2_holder is not None:
            raise ReservationConflict()

    def _persistent_conflict(self, nexus: Nexus, access: Access) -> bool:
        """SPC-4 table 'SPC commands that are allowed in the presence of various reservations'."""
        res = self.reservation
        if res is None or access is Access.ALWAYS:
            return False
        if res.type.registrants_have_access:
            if self.registration(nexus) is not None:
                return False
        elif nexus == res.holder:
            return False
        return access is Access.WRITE or res.type.exclusive_access

    def reset(self) -> None:
        """Logical unit reset: SPC-2 reservations go, persistent ones stay."""
        self.spc2_holder = None

    def nexus_loss(self, nexus: Nexus) -> None:
        """I_T nexus loss releases an SPC-2 reservation held through that nexus."""
        if self.spc2_holder == nexus:
            self.spc2_holder = None

    # -- SPC-2 RESERVE / RELEASE -----------------------------------------------------
    def reserve_spc2(self, nexus: Nexus) -> None:
        """RESERVE(6/10): the holder reserving again is harmless."""
        if self.spc2_holder not in (None, nexus):
            raise ReservationConflict()
        self.spc2_holder = nexus

    def release_spc2(self, nexus: Nexus) -> None:
        """RELEASE(6/10): only the holder's release does anything; others get GOOD."""
        if self.spc2_holder == nexus:
            self.spc2_holder = None

    # -- PERSISTENT RESERVE OUT service actions ----------------------------------------
    def authenticate(self, nexus: Nexus, key: int) -> Registration:
        """The caller's registration, if ``key`` is its reservation key; else a conflict."""
        reg = self.registration(nexus)
        if reg is None or reg.key != key:
            raise ReservationConflict()
        return reg

    @_persisted
    def register(self, nexus: Nexus, key: int, new_key: int, *, ignore_existing: bool = False,
                 all_target_ports: bool = False, aptpl: bool = False) -> None:
        """REGISTER and REGISTER AND IGNORE EXISTING KEY (SPC-4 5.13.7).

        ``new_key`` zero unregisters.  ALL_TG_PT makes the command act on every
        registration of the initiator port, as if sent through each target port.
        """
        own = self.registration(nexus)
        if all_target_ports or (own is not None and own.all_target_ports):
            scope = [r for r in self.registrations if r.initiator == nexus.initiator]
        else:
            scope = [own] if own is not None else []
        if not ignore_existing:
            expected = own.key if own is not None else 0
            if key != expected or any(r.key != key for r in scope):
                raise ReservationConflict()
        was_aptpl = self.aptpl
        if new_key == 0:
            self._unregister(scope, nexus)
        else:
            if all_target_ports:
                for reg in scope:
                    self.registrations.remove(reg)
                self.registrations.append(Registration(nexus.initiator, None, new_key))
            elif own is not None:
                own.key = new_key
            else:
                self.registrations.append(Registration(nexus.initiator, nexus.target_port, new_key))
            self.aptpl = aptpl
        self._changed(was_aptpl, registrations=True)

    def _unregister(self, regs: list[Registration], nexus: Nexus) -> None:
        """Remove registrations; a holder losing its registration loses the reservation."""
        for reg in regs:
            self.registrations.remove(reg)
        res = self.reservation
        if res is None:
            return
        if res.type.all_registrants:
            if not self.registrations:
                self.reservation = None
        elif self.registration(res.holder) is None:
            self.reservation = None
            if res.type.registrants_only:
                self._notify(Asc.RESERVATIONS_RELEASED, self._nexuses_of(self.registrations), nexus)

    @_persisted
    def reserve(self, nexus: Nexus, key: int, type_: PrType) -> None:
        """RESERVE (SPC-4 5.13.9): only a registered nexus; the holder may repeat itself exactly."""
        self.authenticate(nexus, key)
        res = self.reservation
        if res is not None:
            if self.is_holder(nexus) and res.type == type_:
                return
            raise ReservationConflict()
        self.reservation = PersistentReservation(nexus, type_)
        self._changed(self.aptpl)

    @_persisted
    def release(self, nexus: Nexus, key: int, type_: PrType) -> None:
        """RELEASE (SPC-4 5.13.11.2): a release by a non-holder, or of nothing, is GOOD."""
        self.authenticate(nexus, key)
        res = self.reservation
        if res is None or not self.is_holder(nexus):
            return
        if res.type != type_:
            raise check(SenseKey.ILLEGAL_REQUEST, Asc.INVALID_RELEASE_OF_PERSISTENT_RESERVATION)
        self.reservation = None
        if res.type.registrants_have_access:
            self._notify(Asc.RESERVATIONS_RELEASED, self._nexuses_of(self.registrations), nexus)
        self._changed(self.aptpl)

    @_persisted
    def clear(self, nexus: Nexus, key: int) -> None:
        """CLEAR (SPC-4 5.13.11.2.6): everything goes; the others hear RESERVATIONS PREEMPTED."""
        self.authenticate(nexus, key)
        others = self._nexuses_of(self.registrations)
        self.registrations.clear()
        self.reservation = None
        self._notify(Asc.RESERVATIONS_PREEMPTED, others, nexus)
        self._changed(self.aptpl, registrations=True)

    @_persisted
    def preempt(self, nexus: Nexus, key: int, victim_key: int, type_: PrType, *,
                abort: bool = False) -> None:
        """PREEMPT and PREEMPT AND ABORT (SPC-4 5.13.11.4).

        If ``victim_key`` names the reservation holder (or is zero under an all
        registrants reservation) the reservation itself is taken over; otherwise
        only the registrations with that key are removed, and naming no
        registered key at all is a conflict.  The caller checks first that a
        zero ``victim_key`` is legal (it is an INVALID FIELD IN PARAMETER LIST
        otherwise, which needs the parameter list's field position).
        """
        own = self.authenticate(nexus, key)
        res = self.reservation
        takeover = res is not None and (
            victim_key == 0 if res.type.all_registrants else victim_key == self.holder_key())
        if takeover:
            lost = [r for r in self.registrations
                    if r is not own and (victim_key == 0 or r.key == victim_key)]
        else:
            lost = [r for r in self.registrations if r.key == victim_key]
            if not lost:
                raise ReservationConflict()
        victims = self._nexuses_of(lost) - {nexus}
        for reg in lost:
            self.registrations.remove(reg)
        if takeover:
            assert res is not None
            self.reservation = PersistentReservation(nexus, type_)
            if res.type != type_:
                self._notify(Asc.RESERVATIONS_RELEASED, self._nexuses_of(self.registrations), nexus)
        elif res is not None and res.type.all_registrants and not self.registrations:
            self.reservation = None
        self._notify(Asc.REGISTRATIONS_PREEMPTED, victims, nexus)
        self._changed(self.aptpl, registrations=True)   # first: if it cannot be saved, nothing is aborted
        abort_tasks = getattr(self.device, "abort_tasks", None)
        if abort and victims and abort_tasks is not None:
            abort_tasks(victims)

    # -- unit attentions ---------------------------------------------------------------
    def _nexuses_of(self, regs: Iterable[Registration]) -> set[Nexus]:
        """The known I_T nexuses the registrations apply to (an ALL_TG_PT one spans ports)."""
        regs = list(regs)
        return {n for n in self.device.unit_attentions.nexuses if any(r.covers(n) for r in regs)}

    def _notify(self, code: tuple[int, int], nexuses: set[Nexus], caller: Nexus) -> None:
        targets = nexuses - {caller}
        if targets:
            self.device.unit_attentions.establish(code, only=targets)

    # -- persistence (APTPL) ---------------------------------------------------------
    def _changed(self, was_aptpl: bool, *, registrations: bool = False) -> None:
        """Account for a completed PERSISTENT RESERVE OUT.

        PRgeneration counts the service actions that may change registrations
        (REGISTER, REGISTER AND IGNORE EXISTING KEY, CLEAR, PREEMPT, PREEMPT AND
        ABORT), not RESERVE or RELEASE.  The snapshot also goes out when APTPL
        has just been turned off, so the stored copy says not to restore it.
        """
        if registrations:
            self.generation = (self.generation + 1) % GENERATION_MODULUS
        if self._store is not None and (self.aptpl or was_aptpl):
            try:
                self._store(self.to_dict())
            except Exception as e:   # the store is the embedder's I/O: whatever it raises, nothing was saved
                log.warning("persistent reservations of %s could not be saved (%s); the command is "
                            "refused and nothing changed", getattr(self.device, "name", "the device"), e)
                raise _NotPersisted() from e

    def _snapshot(self) -> tuple:
        return ([(r.initiator, r.target_port, r.key) for r in self.registrations], self.reservation,
                self.generation, self.aptpl)

    def _put_back(self, snapshot: tuple) -> None:
        regs, self.reservation, self.generation, self.aptpl = snapshot
        self.registrations = [Registration(*r) for r in regs]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable snapshot of the persistent reservation state.

        Keys are 16-digit hex strings: JSON readers other than Python's lose
        precision above 2**53.  ``target_port`` None means all target ports.
        """
        res = self.reservation
        return {
            "aptpl": self.aptpl,
            "generation": self.generation,
            "registrations": [
                {"initiator": r.initiator, "target_port": r.target_port, "key": f"{r.key:016x}"}
                for r in self.registrations
            ],
            "reservation": None if res is None else {
                "initiator": res.holder.initiator, "target_port": res.holder.target_port,
                "scope": LU_SCOPE, "type": int(res.type),
            },
        }

    def _restore(self, state: dict) -> None:
        """Power on with APTPL: registrations and reservation come back, PRgeneration
        starts again at zero (SPC-4: 'set to zero by a power on' whatever APTPL says)."""
        try:
            self.registrations = [
                Registration(str(r["initiator"]),
                             None if r["target_port"] is None else int(r["target_port"]),
                             int(r["key"], 16))
                for r in state.get("registrations", [])
            ]
            res = state.get("reservation")
            if res is not None:
                holder = Nexus(str(res["initiator"]), int(res["target_port"]))
                self.reservation = PersistentReservation(holder, PrType(int(res["type"])))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"persistent reservation state {state!r} cannot be restored: {exc!r}") from exc
        self.aptpl = True
        self.generation = 0
