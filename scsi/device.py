"""The sans-IO SCSI logical unit: ``execute(nexus, cdb, data_out) -> Result``.

This module is the command pipeline every device shares, in the order SAM-5
and SPC-4 prescribe: decode the opcode, validate the CDB, check reservations,
report a pending unit attention, then hand the command to its handler.  Handlers
are registered in a :class:`CommandSet` by the module that implements them (one
module per command or family, e.g. ``scsi/ssc/space.py``), so the dispatch table
is the only place that knows them all.

Nothing here does I/O.  Data-out arrives as a memoryview supplied by the
transport; data-in goes into a buffer the transport may supply (a slice of the
TCMU data area), so a READ can ``readinto`` straight from the cartridge file.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from enum import Enum
from typing import Callable, Iterable

from construct import Container

from .layout import Layout
from .nexus import Nexus
from .sense import (
    Asc, CheckCondition, FieldPointer, ReservationConflict, Sense, SenseKey, check,
    invalid_field_in_cdb,
)
from .status import Status

log = logging.getLogger(__name__)


class Access(Enum):
    """How a command interacts with reservations (SPC-4 table 'allowed commands')."""

    ALWAYS = "always"     # allowed whatever the reservation (INQUIRY, REPORT LUNS, ...)
    READ = "read"         # allowed under Write Exclusive, conflicts under Exclusive Access
    WRITE = "write"       # conflicts under any reservation held by someone else
    RESERVATION = "reservation"  # RESERVE/RELEASE/PR: judged by the reservation code itself


Handler = Callable[["ScsiDevice", "Request"], "bytes | bytearray | memoryview | None"]


@dataclass(frozen=True)
class Command:
    name: str
    opcode: int
    layout: Layout
    handler: Handler
    service_action: int | None = None
    access: Access | Callable[[Container], Access] = Access.WRITE
    allowed_with_ua: bool = False
    """INQUIRY, REPORT LUNS and REQUEST SENSE run even with a unit attention pending."""
    timeout: int = 60
    """Nominal timeout in seconds (REPORT SUPPORTED OPERATION CODES, RCTD=1)."""

    def access_for(self, fields: Container) -> Access:
        return self.access(fields) if callable(self.access) else self.access


class CommandSet:
    """An opcode (and service action) dispatch table; sets may extend each other."""

    def __init__(self, name: str, parents: Iterable["CommandSet"] = ()):
        self.name = name
        self._parents = list(parents)
        self._own: dict[tuple[int, int | None], Command] = {}
        self._sa_opcodes: set[int] = set()

    def register(self, name: str, opcode: int, layout: Layout, *, service_action: int | None = None,
                 access: Access | Callable[[Container], Access] = Access.WRITE,
                 allowed_with_ua: bool = False, timeout: int = 60) -> Callable[[Handler], Handler]:
        def deco(fn: Handler) -> Handler:
            cmd = Command(name, opcode, layout, fn, service_action, access, allowed_with_ua, timeout)
            self._own[(opcode, service_action)] = cmd
            if service_action is not None:
                self._sa_opcodes.add(opcode)
            return fn
        return deco

    def table(self) -> dict[tuple[int, int | None], Command]:
        out: dict[tuple[int, int | None], Command] = {}
        for p in self._parents:
            out.update(p.table())
        out.update(self._own)
        return out

    def service_action_opcodes(self) -> set[int]:
        s = set(self._sa_opcodes)
        for p in self._parents:
            s |= p.service_action_opcodes()
        return s


class Request:
    """One command as a handler sees it."""

    __slots__ = ("nexus", "cdb", "fields", "command", "data_out", "_data_in")

    def __init__(self, nexus: Nexus, cdb: memoryview, fields: Container, command: Command,
                 data_out: memoryview | None, data_in: memoryview | None):
        self.nexus = nexus
        self.cdb = cdb
        self.fields = fields
        self.command = command
        self.data_out = data_out
        self._data_in = data_in

    @property
    def has_buffer(self) -> bool:
        """Did the transport bring a data-in buffer?  Without one, a handler may answer
        with a read-only view of data that already lies in memory (a block in the page
        cache) instead of copying it anywhere."""
        return self._data_in is not None

    def buffer(self, size: int) -> memoryview:
        """A writable data-in buffer of ``size`` bytes: the transport's own if it is big enough."""
        if self._data_in is not None and len(self._data_in) >= size:
            return self._data_in[:size]
        return memoryview(bytearray(size))

    def parameters(self, length: int) -> memoryview:
        """The first ``length`` bytes of data-out; fewer is a PARAMETER LIST LENGTH ERROR."""
        data = self.data_out if self.data_out is not None else memoryview(b"")
        if len(data) < length:
            raise check(SenseKey.ILLEGAL_REQUEST, Asc.PARAMETER_LIST_LENGTH_ERROR)
        return data[:length]

    def invalid(self, field: str) -> CheckCondition:
        return self.command.layout.invalid(field)


@dataclass(slots=True)
class Result:
    status: Status
    data: memoryview = field(default_factory=lambda: memoryview(b""))
    sense: bytes = b""

    @property
    def good(self) -> bool:
        return self.status == Status.GOOD

    def decoded_sense(self) -> Sense | None:
        from .sense import decode
        return decode(self.sense) if self.sense else None


_EMPTY = memoryview(b"")

# SPC-4 5.14 (unit attention): commands that do not report a pending unit attention.
_UA_EXEMPT = {0x12, 0xA0, 0x03}


class UnitAttentions:
    """Pending unit attention conditions, per I_T nexus, oldest first."""

    def __init__(self) -> None:
        self._pending: dict[Nexus, list[tuple[int, int]]] = {}
        self._known: set[Nexus] = set()

    def first_contact(self, nexus: Nexus, power_on: bool) -> None:
        if nexus not in self._known:
            self._known.add(nexus)
            if power_on:
                self._pending.setdefault(nexus, []).append(Asc.POWER_ON_RESET_OR_BUS_DEVICE_RESET)

    def establish(self, code: tuple[int, int], *, only: Iterable[Nexus] | None = None,
                  exclude: Nexus | None = None) -> None:
        targets = list(only) if only is not None else list(self._known)
        for n in targets:
            if n == exclude:
                continue
            queue = self._pending.setdefault(n, [])
            # A power-on/reset supersedes everything queued before it (SPC-4 5.14).
            if code[0] == 0x29:
                queue.clear()
            if code not in queue:
                queue.append(code)

    def peek(self, nexus: Nexus) -> tuple[int, int] | None:
        q = self._pending.get(nexus)
        return q[0] if q else None

    def snapshot(self) -> dict[Nexus, list[tuple[int, int]]]:
        """What is pending now, for :meth:`put_back` when a command is undone."""
        return {n: list(q) for n, q in self._pending.items()}

    def put_back(self, snapshot: dict[Nexus, list[tuple[int, int]]]) -> None:
        self._pending = {n: list(q) for n, q in snapshot.items()}

    def pop(self, nexus: Nexus) -> tuple[int, int] | None:
        q = self._pending.get(nexus)
        return q.pop(0) if q else None

    def clear(self, nexus: Nexus | None = None) -> None:
        if nexus is None:
            self._pending.clear()
        else:
            self._pending.pop(nexus, None)

    def forget(self, nexus: Nexus) -> None:
        self._known.discard(nexus)
        self._pending.pop(nexus, None)

    @property
    def nexuses(self) -> set[Nexus]:
        return set(self._known)


class ScsiDevice:
    """Base of every emulated logical unit (tape drive, medium changer)."""

    commands: CommandSet
    peripheral_device_type: int = 0x1F

    def __init__(self, *, power_on_ua: bool = True) -> None:
        self._table = self.commands.table()
        self._sa_opcodes = self.commands.service_action_opcodes()
        self.unit_attentions = UnitAttentions()
        self._power_on_ua = power_on_ua
        # Filled in by the SPC modules this device uses.
        self.reservations = None  # type: ignore[assignment]
        self.descriptor_sense = False
        # Commands that ended in an exception of ours (answered HARDWARE ERROR):
        # always 0 unless we have a bug; the fuzz test holds us to that.
        self.internal_errors = 0

    def supported_commands(self) -> list[Command]:
        """Every command this device accepts, by opcode then service action
        (REPORT SUPPORTED OPERATION CODES lists them in this order)."""
        return sorted(self._table.values(),
                      key=lambda c: (c.opcode, -1 if c.service_action is None else c.service_action))

    # -- the one entry point -------------------------------------------------
    def execute(self, nexus: Nexus, cdb: bytes | bytearray | memoryview,
                data_out: bytes | bytearray | memoryview | None = None,
                data_in: memoryview | None = None) -> Result:
        """Run one command; never raises for anything the initiator sent."""
        cdb = memoryview(cdb).cast("B") if not isinstance(cdb, memoryview) else cdb
        if data_out is not None and not isinstance(data_out, memoryview):
            data_out = memoryview(data_out)
        try:
            return self._execute(nexus, cdb, data_out, data_in)
        except CheckCondition as cc:
            return self._check_condition(cc)
        except ReservationConflict:
            return Result(Status.RESERVATION_CONFLICT)
        except Exception:  # a bug of ours must not take the transport down
            log.exception("internal error executing CDB %s", bytes(cdb).hex())
            self.internal_errors += 1
            return self._check_condition(check(SenseKey.HARDWARE_ERROR, Asc.INTERNAL_TARGET_FAILURE))

    def _check_condition(self, cc: CheckCondition) -> Result:
        data = memoryview(cc.data) if cc.data is not None else _EMPTY
        return Result(Status.CHECK_CONDITION, data, cc.sense.encode(self.descriptor_sense))

    def lookup(self, cdb: memoryview) -> Command:
        if len(cdb) == 0:
            raise check(SenseKey.ILLEGAL_REQUEST, Asc.INVALID_COMMAND_OPERATION_CODE,
                        specific=FieldPointer(0, None))
        opcode = cdb[0]
        if opcode in self._sa_opcodes:
            if len(cdb) < 2:
                raise invalid_field_in_cdb(1, 4)
            sa = cdb[1] & 0x1F
            cmd = self._table.get((opcode, sa))
            if cmd is None:
                raise invalid_field_in_cdb(1, 4)
            return cmd
        cmd = self._table.get((opcode, None))
        if cmd is None:
            raise check(SenseKey.ILLEGAL_REQUEST, Asc.INVALID_COMMAND_OPERATION_CODE,
                        specific=FieldPointer(0, None))
        return cmd

    def _execute(self, nexus: Nexus, cdb: memoryview, data_out: memoryview | None,
                 data_in: memoryview | None) -> Result:
        self.unit_attentions.first_contact(nexus, self._power_on_ua)
        cmd = self.lookup(cdb)
        layout = cmd.layout
        if len(cdb) < layout.size:
            raise check(SenseKey.ILLEGAL_REQUEST, Asc.INVALID_FIELD_IN_CDB,
                        specific=FieldPointer(0, None))
        fields = layout.parse(cdb)
        if fields.link:
            raise layout.invalid("link")
        if fields.naca:
            raise layout.invalid("naca")
        if self.reservations is not None:
            self.reservations.check(nexus, cmd, fields)
        if cmd.opcode not in _UA_EXEMPT:
            ua = self.unit_attentions.pop(nexus)
            if ua is not None:
                raise check(SenseKey.UNIT_ATTENTION, ua)
        req = Request(nexus, cdb, fields, cmd, data_out, data_in)
        out = cmd.handler(self, req)
        if out is None:
            return Result(Status.GOOD)
        data = out if isinstance(out, memoryview) else memoryview(out)
        alloc = fields.get("allocation_length")
        if alloc is not None and len(data) > alloc:
            data = data[:alloc]
        if data_in is not None and not _same_buffer(data, data_in):
            n = min(len(data), len(data_in))
            data_in[:n] = data[:n]
            data = data_in[:n]
        return Result(Status.GOOD, data)

    # -- readiness (TEST UNIT READY, REQUEST SENSE, medium commands) ---------
    def ready_check(self, nexus: Nexus | None = None) -> None:
        """Raise NOT READY when the device cannot do medium work; device types override."""

    def current_sense(self, nexus: Nexus) -> Sense:
        """What REQUEST SENSE reports with no condition pending: the device's readiness."""
        try:
            self.ready_check(nexus)
        except CheckCondition as cc:
            return cc.sense
        return Sense(SenseKey.NO_SENSE)

    # -- task management and nexus events (called by transports) -----------
    def logical_unit_reset(self) -> None:
        """LOGICAL UNIT RESET: SPC-2 reservations go, every nexus sees 29/00."""
        if self.reservations is not None:
            self.reservations.reset()
        self.unit_attentions.establish(Asc.POWER_ON_RESET_OR_BUS_DEVICE_RESET)

    def nexus_loss(self, nexus: Nexus) -> None:
        if self.reservations is not None:
            self.reservations.nexus_loss(nexus)
        self.unit_attentions.establish(Asc.I_T_NEXUS_LOSS_OCCURRED, only=[nexus])


def _same_buffer(a: memoryview, b: memoryview) -> bool:
    try:
        return a.obj is b.obj
    except AttributeError:
        return False
