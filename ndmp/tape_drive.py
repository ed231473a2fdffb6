"""An open tape device: NDMP's tape operations as a SCSI initiator over a ScsiPath.

TAPE_OPEN gives a session an :class:`OpenTape`; the TAPE service and the mover
both use it.  Everything it knows about the tape comes from the drive: what a
WRITE(6), READ(6) or SPACE(6) did is read from the status and the sense
(residues from INFORMATION, FILEMARK / EOM / ILI bits), the position from READ
POSITION, write protection from the MODE SENSE header, capacity from LOG SENSE.
The same code therefore drives our emulated drives in-process and a real drive
behind SG_IO.

What opening does, as ONTAP's tape driver does it (seed 002, "Tape device
name format", "What tape reservations are"):

* the device name (``nrst0a``) picks the drive by alias and, through the
  drive's tape configuration file, the density code and compression algorithm
  of its compression letter, set with MODE SELECT before use (fields the drive
  reports unchangeable are sent back as they are); the drive is put in
  variable-block mode;
* unit attentions are waited out, an empty drive is NDMP_NO_TAPE_LOADED_ERR;
* the ``tape.reservations`` option takes a SCSI-2 reservation (``scsi``) or a
  persistent one of type Exclusive Access under a key shared by this server's
  sessions (``persistent``); a conflict is NDMP_DEVICE_BUSY_ERR.  A
  reservation lost during use ends the tape's usefulness: the seed's "Tape
  reservation preempted" is logged and every later operation fails with
  NDMP_IO_ERR until TAPE_CLOSE.

Position is reported the way NDMP v4 and the Unix tape drivers it grew from
report it: ``file_num`` counts the filemarks between BOT and the head,
``blockno`` the records since the start of the current file.  The file number
is counted as filemarks are crossed (and read from the drive when the tape is
opened); the block number is READ POSITION's logical object number minus where
the current file began.  Either is reported unsupported when it is not known
(after crossing a filemark backwards the start of that file is not known until
the tape is rewound or a filemark is crossed forwards).

NDMP v4 positioning rules that differ from raw SSC and are applied here (as
NDMJOB's conformance tests check them): a space over records stops *before* a
filemark (SSC moves past it; we move back), and a space backwards over records
stops at the start of the current file.
"""
from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from tapeconf import DeviceName, RewindType, parse_device_name

from . import cdb as C
from .backend import Backend, TapeTarget
from .constants import ErrorCode, TapeMtioOp, TapeOpenMode
from .constants import TapeStateFlags as F
from .context import DeviceClaims
from .scsi_path import CdbResult, NoSuchDevice, PathError, ScsiStatus
from .sense import Asc, Sense, SenseKey, parse_sense

__all__ = ["PREEMPTED_TEXT", "OpenTape", "TapeIo", "TapeOpenError", "TapeState", "open_tape", "reservation_key"]

log = logging.getLogger("ndmp.tape")

E = ErrorCode
PREEMPTED_TEXT = "Tape reservation preempted"      # seed 002, backup and restore error messages

MAX_TRANSFER = 0xFFFFFF          # READ(6) / WRITE(6) transfer length: 24 bits
MAX_SPACE = 0x7FFFFF             # SPACE(6) count: 24 bits, signed
UNIT_ATTENTION_RETRIES = 8
BECOMING_READY_TRIES = 50
BECOMING_READY_PAUSE = 0.1       # seconds between TEST UNIT READYs while a drive loads
DEFAULT_TIMEOUT = 900.0          # seconds; a configuration's cmd_timeout_0x.. overrides per opcode
MODE_ALLOCATION = 0xFF
LOG_ALLOCATION = 0x400
NO_CHANGE_DENSITY = 0x7F         # SSC: density code 7Fh in MODE SELECT changes nothing

# Commands a pass-through CDB may carry that leave the position where it is.
_STILL = frozenset({0x00, 0x03, 0x05, 0x12, 0x15, 0x16, 0x17, 0x1A, 0x1C, 0x34, 0x44, 0x4C, 0x4D, 0x55,
                    0x56, 0x57, 0x5A, 0x5E, 0x5F, 0x8C, 0xA0, 0xA3})
_WRITES = frozenset({0x0A, 0x10, 0x80, 0x8A, 0xAA})


@dataclass(frozen=True, slots=True)
class TapeIo:
    error: ErrorCode          # the NDMP error of this operation (NDMP_NO_ERR when fine)
    count: int                # bytes written / read; for mtio the residual count
    early_warning: bool = False   # write: the record WAS written, but the drive is in its
                                  # early-warning zone (EOM approaching): time to change tapes
    lost: int = 0                 # read: bytes of a record longer than the buffer that were lost


@dataclass(frozen=True, slots=True)
class TapeState:
    """TAPE_GET_STATE in NDMP terms; ``None`` is a value the drive cannot tell."""

    error: ErrorCode
    flags: int = 0
    file_num: int | None = None
    soft_errors: int | None = None
    block_size: int | None = None
    blockno: int | None = None
    total_space: int | None = None
    space_remain: int | None = None


class TapeOpenError(Exception):
    """TAPE_OPEN failed with ``error``; ``str()`` says why (for the log)."""

    def __init__(self, error: ErrorCode, reason: str):
        super().__init__(reason)
        self.error = error


class _Failed(Exception):
    def __init__(self, error: ErrorCode, reason: str):
        super().__init__(reason)
        self.error = error


def reservation_key(prefix: str) -> int:
    """The persistent reservation key of every session of a server whose initiator names
    start with ``prefix``: the server is one "storage system" to the drive."""
    key = int.from_bytes(hashlib.sha256(f"vtl-ndmp:{prefix}".encode()).digest()[:8], "big")
    return key or 1


def _error_of(s: Sense | None, default: ErrorCode = E.NDMP_IO_ERR) -> ErrorCode:
    """The NDMP error of a failed command's sense, where the key says it all."""
    if s is None:
        return default
    if s.key == SenseKey.NOT_READY:
        return E.NDMP_NO_TAPE_LOADED_ERR if s.asc == Asc.MEDIUM_NOT_PRESENT else E.NDMP_IO_ERR
    if s.key == SenseKey.DATA_PROTECT:
        return E.NDMP_WRITE_PROTECT_ERR
    if s.key == SenseKey.ILLEGAL_REQUEST:
        return E.NDMP_ILLEGAL_ARGS_ERR
    return default


def open_tape(backend: Backend, device: str, mode: int, *, initiator: str, reservations: str = "off",
              key_prefix: str = "ndmp", claims: DeviceClaims | None = None, session_id: int = 0,
              notify: Callable[[str], None] | None = None,
              on_close: Callable[[], None] | None = None) -> OpenTape:
    """Open ``device`` (a tape device name such as ``nrst0a``) in ``mode`` for one session.

    ``claims``/``session_id``: the drive is this session's alone on this server while
    open (another session's TAPE_OPEN of it is NDMP_DEVICE_BUSY_ERR); the claim is
    given back when the tape is closed.  ``notify`` receives texts worth telling the
    DMA (the preemption message); ``on_close`` is called once the tape of a successful
    open is closed, whoever closes it.  Raises :class:`TapeOpenError`."""
    if mode not in tuple(TapeOpenMode):
        raise TapeOpenError(E.NDMP_ILLEGAL_ARGS_ERR, f"tape open mode {mode} is not READ (0), RDWR (1) or RAW (2)")
    try:
        name = parse_device_name(device)
    except (ValueError, TypeError) as e:
        raise TapeOpenError(E.NDMP_NO_DEVICE_ERR, str(e)) from None
    try:
        target = backend.open_tape(name.alias, initiator)
    except NoSuchDevice as e:
        raise TapeOpenError(E.NDMP_NO_DEVICE_ERR, f"{device}: {e}") from None
    except PathError as e:
        raise TapeOpenError(E.NDMP_IO_ERR, f"{device}: {e}") from None
    if claims is not None:
        owner = claims.claim(target.serial, session_id)
        if owner is not None:
            _close_path(target)
            raise TapeOpenError(E.NDMP_DEVICE_BUSY_ERR,
                                f"{device}: drive {target.serial} is open in NDMP session {owner}")

    def unclaim() -> None:
        if claims is not None:
            claims.release(target.serial, session_id)

    tape = OpenTape(device, TapeOpenMode(mode), name, target, reservations=reservations,
                    key=reservation_key(key_prefix), on_close=unclaim, notify=notify)
    try:
        tape._start()
    except _Failed as e:
        tape._abandon()
        raise TapeOpenError(e.error, f"{device}: {e}") from None
    except BaseException:
        tape._abandon()
        raise

    def closed() -> None:
        unclaim()
        if on_close is not None:
            on_close()

    tape.on_close = closed
    return tape


def _close_path(target: TapeTarget) -> None:
    try:
        target.path.close()
    except Exception:
        log.exception("closing the path to drive %s failed", target.serial)


class OpenTape:
    """A tape device open in one session.  Every command is sent under :attr:`lock`
    (the mover's thread takes it too), one at a time."""

    def __init__(self, device: str, mode: TapeOpenMode, name: DeviceName, target: TapeTarget, *,
                 reservations: str = "off", key: int = 1, on_close: Callable[[], None] | None = None,
                 notify: Callable[[str], None] | None = None):
        self.device = device
        self.mode = mode
        self.name = name
        self.target = target
        self.path = target.path
        self.lock = threading.RLock()
        self.on_close = on_close
        """Called once when the tape is closed (or abandoned): frees the claim, logs."""
        self.notify = notify
        self.reservations = reservations
        self.key = key
        self.max_block = MAX_TRANSFER
        self.write_protected = False
        self.closed = False
        self._reserved = False          # we hold the reservation the option asks for
        self._registered = False        # persistent: our key is registered through this nexus
        self._preempted = False
        self._written = False           # records written since the last sync point
        self._file_num: int | None = None
        self._file_start: int | None = None    # logical object number where the current file begins
        self._log_pages: frozenset[int] = frozenset()
        self._opening = False

    # ------------------------------------------------------------------ the interface

    @property
    def writable(self) -> bool:
        return self.mode in (TapeOpenMode.NDMP_TAPE_RDWR_MODE, TapeOpenMode.NDMP_TAPE_RAW_MODE)

    @property
    def preempted(self) -> bool:
        return self._preempted

    def write(self, data: bytes | bytearray | memoryview) -> TapeIo:
        """One record (WRITE(6), variable block)."""
        n = len(data)
        with self.lock:
            if self.closed:
                return TapeIo(E.NDMP_DEV_NOT_OPEN_ERR, 0)
            if not self.writable:
                return TapeIo(E.NDMP_PERMISSION_ERR, 0)
            if n == 0:
                return TapeIo(E.NDMP_NO_ERR, 0)          # v4: a zero-length write is a no-op
            if n > min(MAX_TRANSFER, self.max_block):
                return TapeIo(E.NDMP_ILLEGAL_ARGS_ERR, 0)
            if self._preempted:
                return TapeIo(E.NDMP_IO_ERR, 0)
            try:
                r = self._command(C.write6_variable(n), data_out=data)
            except _Failed as f:
                return TapeIo(f.error, 0)
            if r.status == ScsiStatus.GOOD:
                self._written = True
                return TapeIo(E.NDMP_NO_ERR, n)
            s = self._sense(r)
            if s.key in (SenseKey.NO_SENSE, SenseKey.RECOVERED_ERROR):
                self._written = True                     # written; EOM set: early warning
                return TapeIo(E.NDMP_NO_ERR, n, early_warning=s.eom)
            if s.key == SenseKey.VOLUME_OVERFLOW:
                residue = s.information if s.information is not None else n
                done = max(0, min(n, n - residue))
                self._written = self._written or done > 0
                return TapeIo(E.NDMP_EOM_ERR, done)
            log.warning("%s: WRITE failed: %s", self.device, s)
            return TapeIo(_error_of(s), 0)

    def read_into(self, buffer: memoryview) -> TapeIo:
        """One record (READ(6), variable block, SILI=0) into ``buffer``."""
        length = len(buffer)
        with self.lock:
            if self.closed:
                return TapeIo(E.NDMP_DEV_NOT_OPEN_ERR, 0)
            if length == 0:
                return TapeIo(E.NDMP_NO_ERR, 0)          # v4: a zero-length read is a no-op
            if length > MAX_TRANSFER:
                return TapeIo(E.NDMP_ILLEGAL_ARGS_ERR, 0)
            if self._preempted:
                return TapeIo(E.NDMP_IO_ERR, 0)
            # No record is longer than the drive's maximum block length, so asking for at
            # most that much reads every record whole.
            n = min(length, self.max_block)
            try:
                r = self._command(C.read6_variable(n), data_in=buffer[:n])
                if r.status == ScsiStatus.GOOD:
                    return TapeIo(E.NDMP_NO_ERR, len(r.data_in))
                s = self._sense(r)
                if s.filemark:
                    self._crossed_forward(1)
                    return TapeIo(E.NDMP_EOF_ERR, 0)
                if s.ili:
                    residue = s.information or 0
                    if residue > 0:                      # a shorter record: all of it arrived
                        return TapeIo(E.NDMP_NO_ERR, max(0, n - residue))
                    # A longer record: the buffer is full, the rest lost (INFORMATION is minus it).
                    return TapeIo(E.NDMP_NO_ERR, n, lost=-residue)
                if s.key == SenseKey.BLANK_CHECK or (s.key == SenseKey.NO_SENSE and s.eom):
                    return TapeIo(E.NDMP_EOM_ERR, 0)
                if s.key in (SenseKey.NO_SENSE, SenseKey.RECOVERED_ERROR):
                    return TapeIo(E.NDMP_NO_ERR, len(r.data_in))
                log.warning("%s: READ failed: %s", self.device, s)
                return TapeIo(_error_of(s), 0)
            except _Failed as f:
                return TapeIo(f.error, 0)

    def mtio(self, op: TapeMtioOp, count: int) -> TapeIo:
        """One MTIO operation; ``count`` of the result is the residual (what was not done)."""
        with self.lock:
            if self.closed:
                return TapeIo(E.NDMP_DEV_NOT_OPEN_ERR, count)
            if op not in tuple(TapeMtioOp):
                return TapeIo(E.NDMP_ILLEGAL_ARGS_ERR, count)
            op = TapeMtioOp(op)
            if op == TapeMtioOp.NDMP_MTIO_EOF and not self.writable:
                return TapeIo(E.NDMP_PERMISSION_ERR, count)
            if self._preempted:
                return TapeIo(E.NDMP_IO_ERR, count)
            try:
                return self._MTIO[op](self, count)
            except _Failed as f:
                return TapeIo(f.error, count)

    def flush(self) -> TapeIo:
        """WRITE FILEMARKS(0), IMMED=0: everything written so far is on the medium."""
        with self.lock:
            if self.closed:
                return TapeIo(E.NDMP_DEV_NOT_OPEN_ERR, 0)
            if not self.writable:
                return TapeIo(E.NDMP_NO_ERR, 0)          # nothing of ours can be buffered
            if self._preempted:
                return TapeIo(E.NDMP_IO_ERR, 0)
            try:
                self._flush()
            except _Failed as f:
                return TapeIo(f.error, 0)
            return TapeIo(E.NDMP_NO_ERR, 0)

    def get_state(self) -> TapeState:
        """Position, block size, capacity and flags, as the drive reports them."""
        with self.lock:
            if self.closed:
                return TapeState(E.NDMP_DEV_NOT_OPEN_ERR)
            if self._preempted:
                return TapeState(E.NDMP_IO_ERR)
            try:
                return self._state()
            except _Failed as f:
                return TapeState(f.error)

    def execute_cdb(self, run: Callable[[object], object], opcode: int) -> object:
        """A DMA's raw CDB (TAPE_EXECUTE_CDB): ``run(path)`` sends it.  What we knew about
        the position is forgotten unless the command cannot move the tape."""
        with self.lock:
            result = run(self.path)
            if opcode == 0x01:                           # REWIND
                self._at_bot()
            elif opcode not in _STILL:
                self._file_num = self._file_start = None
            if opcode in _WRITES:
                self._written = True
            return result

    def close(self) -> ErrorCode:
        """TAPE_CLOSE: sync what was written, rewind (``r``) or unload and load the next
        cartridge (``ur``), give back the reservation, the path and the claim."""
        with self.lock:
            if self.closed:
                return E.NDMP_DEV_NOT_OPEN_ERR
            self.closed = True
            error = E.NDMP_NO_ERR
            unloaded = False
            try:
                if not self._preempted:
                    if self._written:
                        self._flush()
                    if self.name.rewind in (RewindType.REWIND, RewindType.UNLOAD_RELOAD):
                        self._rewind()
                    if self.name.rewind == RewindType.UNLOAD_RELOAD:
                        self._check(self._command(C.build(C.LOAD_UNLOAD, flags=dict(immed=False),
                                                          action=dict(hold=False, eot=False, reten=False,
                                                                      load=False))), "UNLOAD")
                        unloaded = True
            except _Failed as f:
                log.warning("%s: closing: %s", self.device, f)
                error = f.error
            finally:
                self._abandon()
            if unloaded and self.target.load_next is not None:
                try:
                    self.target.load_next()
                except Exception as e:      # noqa: BLE001 -- the library's business; the close itself worked
                    log.warning("%s: loading the next cartridge after the unload failed: %s", self.device, e)
            return error

    def release(self) -> None:
        """The session ended without TAPE_CLOSE: close as TAPE_CLOSE would."""
        try:
            error = self.close()
        except Exception:
            log.exception("%s: closing the tape of an ended session failed", self.device)
            return
        if error not in (E.NDMP_NO_ERR, E.NDMP_DEV_NOT_OPEN_ERR):
            log.warning("%s: closed for an ended session with %s", self.device, error.name)

    # ------------------------------------------------------------------ commands

    def _timeout(self, opcode: int) -> float:
        cfg = self.target.config
        if cfg is not None and opcode in cfg.cmd_timeouts:
            return float(cfg.cmd_timeouts[opcode])
        return DEFAULT_TIMEOUT

    def _execute(self, cdb: bytes, data_out=None, data_in=None) -> CdbResult:
        try:
            return self.path.execute(cdb, data_out, data_in, timeout=self._timeout(cdb[0]))
        except PathError as e:
            raise _Failed(E.NDMP_IO_ERR, f"drive {self.target.serial}: {e}") from None

    def _command(self, cdb: bytes, data_out=None, data_in=None) -> CdbResult:
        """Send one command, handling what is not about this command: unit attentions
        (the command was not run: note what they say and send it again) and a
        reservation lost to another initiator."""
        for _ in range(UNIT_ATTENTION_RETRIES):
            r = self._execute(cdb, data_out, data_in)
            if r.status == ScsiStatus.RESERVATION_CONFLICT:
                if self._reserved:
                    self._lose_reservation("RESERVATION CONFLICT")
                # Another initiator holds the drive: at open that is a busy device.
                raise _Failed(E.NDMP_DEVICE_BUSY_ERR if self._opening else E.NDMP_IO_ERR,
                              f"drive {self.target.serial} is reserved by another initiator")
            if r.status == ScsiStatus.CHECK_CONDITION:
                s = parse_sense(r.sense)
                if s is not None and s.key == SenseKey.UNIT_ATTENTION:
                    self._unit_attention(s)
                    continue
            if r.status not in (ScsiStatus.GOOD, ScsiStatus.CHECK_CONDITION):
                raise _Failed(E.NDMP_IO_ERR, f"drive {self.target.serial}: SCSI status 0x{r.status:02X}")
            return r
        raise _Failed(E.NDMP_IO_ERR, f"drive {self.target.serial} keeps reporting unit attentions")

    def _sense(self, r: CdbResult) -> Sense:
        s = parse_sense(r.sense)
        if s is None:
            raise _Failed(E.NDMP_IO_ERR, f"drive {self.target.serial}: CHECK CONDITION without sense data")
        return s

    def _check(self, r: CdbResult, what: str) -> CdbResult:
        if r.status != ScsiStatus.GOOD:
            s = parse_sense(r.sense)
            raise _Failed(_error_of(s), f"{what} failed: {s}")
        return r

    def _unit_attention(self, s: Sense) -> None:
        if s.code in (Asc.RESERVATIONS_PREEMPTED, Asc.RESERVATIONS_RELEASED, Asc.REGISTRATIONS_PREEMPTED):
            if self._reserved:
                self._lose_reservation(str(s))
            return
        if s.asc in (Asc.POWER_ON_RESET, Asc.NOT_READY_TO_READY_CHANGE[0]):
            # A reset or a medium change: the head may be anywhere, and a SCSI-2
            # reservation does not survive a reset (seed 002).
            self._file_num = self._file_start = None
            if s.asc == Asc.POWER_ON_RESET and self._reserved and self.reservations == "scsi":
                r = self._execute(C.build(C.RESERVE_6))
                if r.status == ScsiStatus.RESERVATION_CONFLICT:
                    self._lose_reservation(f"{s}, then RESERVATION CONFLICT")
        log.info("%s: unit attention %s", self.device, s)

    def _lose_reservation(self, detail: str) -> None:
        self._reserved = False
        if not self._preempted:
            self._preempted = True
            log.error("%s (drive %s): %s (%s)", self.device, self.target.serial, PREEMPTED_TEXT, detail)
            if self.notify is not None:
                try:
                    self.notify(f"{PREEMPTED_TEXT}: {self.device}")
                except Exception:
                    log.exception("telling the DMA about the preemption failed")
        raise _Failed(E.NDMP_IO_ERR, PREEMPTED_TEXT)

    # ------------------------------------------------------------------ opening

    def _start(self) -> None:
        self._opening = True
        try:
            self._wait_ready()
            self._reserve()
            self._block_limits()
            self._set_modes()
            self._log_pages = self._supported_log_pages()
            self._learn_position()
        finally:
            self._opening = False

    def _wait_ready(self) -> None:
        loads = becoming = 0
        for _ in range(UNIT_ATTENTION_RETRIES + BECOMING_READY_TRIES + 2):
            r = self._execute(C.build(C.TEST_UNIT_READY))
            if r.status == ScsiStatus.GOOD:
                return
            if r.status == ScsiStatus.RESERVATION_CONFLICT:
                raise _Failed(E.NDMP_DEVICE_BUSY_ERR, f"drive {self.target.serial} is reserved by another initiator")
            if r.status == ScsiStatus.BUSY:
                raise _Failed(E.NDMP_DEVICE_BUSY_ERR, f"drive {self.target.serial} is busy")
            s = self._sense(r)
            if s.key == SenseKey.UNIT_ATTENTION:
                continue
            if s.is_(SenseKey.NOT_READY, Asc.MEDIUM_NOT_PRESENT):
                raise _Failed(E.NDMP_NO_TAPE_LOADED_ERR, f"no cartridge in drive {self.target.serial}")
            if s.is_(SenseKey.NOT_READY, Asc.INITIALIZING_COMMAND_REQUIRED) and loads < 2:
                loads += 1          # inserted, not threaded: the drive does not autoload
                self._execute(C.build(C.LOAD_UNLOAD, flags=dict(immed=False),
                                      action=dict(hold=False, eot=False, reten=False, load=True)))
                continue
            if s.is_(SenseKey.NOT_READY, Asc.BECOMING_READY) and becoming < BECOMING_READY_TRIES:
                becoming += 1
                time.sleep(BECOMING_READY_PAUSE)
                continue
            raise _Failed(_error_of(s), f"drive {self.target.serial} is not ready: {s}")
        raise _Failed(E.NDMP_IO_ERR, f"drive {self.target.serial} did not become ready")

    def _reserve(self) -> None:
        if self.reservations == "scsi":
            r = self._command(C.build(C.RESERVE_6))
            self._check(r, "RESERVE(6)")
            self._reserved = True
        elif self.reservations == "persistent":
            self._check(self._command(*self._pr_out(C.PR_REGISTER_AND_IGNORE, 0, self.key)),
                        "PERSISTENT RESERVE OUT (REGISTER AND IGNORE EXISTING KEY)")
            self._registered = True
            self._check(self._command(*self._pr_out(C.PR_RESERVE, self.key, 0, C.PR_EXCLUSIVE_ACCESS)),
                        "PERSISTENT RESERVE OUT (RESERVE, Exclusive Access)")
            self._reserved = True
        elif self.reservations != "off":
            raise _Failed(E.NDMP_ILLEGAL_ARGS_ERR, f"tape.reservations is {self.reservations!r}: "
                                                   "use off, scsi or persistent")

    def _pr_out(self, action: int, key: int, sa_key: int, type_: int = 0) -> tuple[bytes, bytes]:
        params = C.PR_OUT_PARAMETERS.build(dict(reservation_key=key, service_action_reservation_key=sa_key,
                                                flags=dict(spec_i_pt=False, all_tg_pt=False, aptpl=False)))
        return (C.build(C.PR_OUT, service_action=dict(value=action), scope_type=dict(scope=0, type=type_),
                        parameter_list_length=len(params)), params)

    def _block_limits(self) -> None:
        r = self._command(C.build(C.READ_BLOCK_LIMITS), data_in=6)
        if r.status == ScsiStatus.GOOD and len(r.data_in) >= 6:
            maximum = C.READ_BLOCK_LIMITS_DATA.parse(bytes(r.data_in[:6])).maximum
            if maximum:
                self.max_block = min(maximum, MAX_TRANSFER)

    def _mode_sense(self, pc: int = C.MODE_CURRENT, page: int = C.DATA_COMPRESSION_PAGE_CODE):
        """(header, block descriptor or None, data compression page or None)."""
        r = self._command(C.build(C.MODE_SENSE_6, flags=dict(dbd=False), page=dict(pc=pc, code=page), subpage=0,
                                  allocation_length=MODE_ALLOCATION), data_in=MODE_ALLOCATION)
        if r.status != ScsiStatus.GOOD:
            return None
        data = bytes(r.data_in)
        if len(data) < C.MODE_HEADER_6.sizeof():
            raise _Failed(E.NDMP_IO_ERR, f"drive {self.target.serial}: MODE SENSE returned {len(data)} bytes")
        header = C.MODE_HEADER_6.parse(data)
        off = C.MODE_HEADER_6.sizeof()
        bd = None
        if header.block_descriptor_length >= C.BLOCK_DESCRIPTOR.sizeof():
            bd = C.BLOCK_DESCRIPTOR.parse(data[off:off + C.BLOCK_DESCRIPTOR.sizeof()])
        off += header.block_descriptor_length
        cp = None
        size = C.DATA_COMPRESSION_PAGE.sizeof()
        if len(data) >= off + size and data[off] & 0x3F == C.DATA_COMPRESSION_PAGE_CODE:
            cp = C.DATA_COMPRESSION_PAGE.parse(data[off:off + size])
        return header, bd, cp

    def _set_modes(self) -> None:
        """Variable-block mode, and the density and compression of the device name's
        letter; write protection read from the header."""
        current = self._mode_sense()
        if current is None:
            current = self._mode_sense(page=0x3F)
            if current is None:
                raise _Failed(E.NDMP_IO_ERR, f"drive {self.target.serial} answers no MODE SENSE")
        header, bd, page = current
        self.write_protected = bool(header.device_specific.wp)
        if self.write_protected and self.writable:
            raise _Failed(E.NDMP_WRITE_PROTECT_ERR, "the cartridge is write-protected")
        changeable = self._mode_sense(C.MODE_CHANGEABLE)
        ch_bd = changeable[1] if changeable else None
        ch_page = changeable[2] if changeable else None
        cfg = self.target.config
        setting = self.name.setting(cfg) if cfg is not None else None

        def choose(want: int, now: int, mask: int | None) -> int:
            """What to send for a field: ours where the drive lets it change, else its own."""
            if mask is None or mask == 0:
                return now
            return (want & mask) | (now & ~mask)

        out = bytearray()
        out += C.MODE_HEADER_6.build(dict(mode_data_length=0, medium_type=0, block_descriptor_length=0,
                                          device_specific=dict(wp=False, buffered_mode=header.device_specific
                                                               .buffered_mode, speed=header.device_specific.speed)))
        if bd is not None:
            density = setting.density if setting is not None else NO_CHANGE_DENSITY
            if ch_bd is not None and ch_bd.density_code == 0:
                density = NO_CHANGE_DENSITY
            block_length = choose(0, bd.block_length, ch_bd.block_length if ch_bd else None)
            out += C.BLOCK_DESCRIPTOR.build(dict(density_code=density, number_of_blocks=0, block_length=block_length))
            out[3] = C.BLOCK_DESCRIPTOR.sizeof()
        if page is not None and setting is not None:
            dce = choose(int(setting.compression), int(page.byte2.dce), ch_page.byte2.dce if ch_page else None)
            algorithm = choose(setting.algorithm, page.compression_algorithm,
                               ch_page.compression_algorithm if ch_page else None)
            out += C.DATA_COMPRESSION_PAGE.build(dict(
                head=dict(ps=False, spf=False, page_code=C.DATA_COMPRESSION_PAGE_CODE),
                page_length=page.page_length,
                byte2=dict(dce=bool(dce), dcc=page.byte2.dcc), byte3=dict(dde=page.byte3.dde, red=page.byte3.red),
                compression_algorithm=algorithm, decompression_algorithm=page.decompression_algorithm,
                reserved=bytes(4)))
        if len(out) == C.MODE_HEADER_6.sizeof():
            return
        r = self._command(C.build(C.MODE_SELECT_6, flags=dict(pf=True, sp=False), parameter_list_length=len(out)),
                          data_out=bytes(out))
        if r.status != ScsiStatus.GOOD:
            s = parse_sense(r.sense)
            what = f"{setting.description!r} (density 0x{setting.density:02X}, algorithm 0x{setting.algorithm:02X})" \
                if setting is not None else "variable-block mode"
            raise _Failed(E.NDMP_IO_ERR if s is None or s.key != SenseKey.DATA_PROTECT else E.NDMP_WRITE_PROTECT_ERR,
                          f"drive {self.target.serial} refused {what}: {s}")

    def _supported_log_pages(self) -> frozenset[int]:
        r = self._command(C.build(C.LOG_SENSE, flags=dict(ppc=False, sp=False),
                                  page=dict(pc=1, code=C.SUPPORTED_LOG_PAGES), subpage=0, parameter_pointer=0,
                                  allocation_length=LOG_ALLOCATION), data_in=LOG_ALLOCATION)
        if r.status != ScsiStatus.GOOD or len(r.data_in) < 4:
            return frozenset()
        data = bytes(r.data_in)
        n = min(int.from_bytes(data[2:4], "big"), len(data) - 4)
        return frozenset(b & 0x3F for b in data[4:4 + n])

    def _learn_position(self) -> None:
        """Where a tape left by an earlier session (an ``nr`` device) is: the file number
        from READ POSITION's long form when the drive has it; the start of the current
        file only when that is BOT."""
        pos = self._position()
        if pos is not None and pos[0] == 0:
            self._at_bot()
            return
        r = self._command(C.build(C.READ_POSITION, service_action=dict(value=C.READ_POSITION_LONG_FORM),
                                  allocation_length=C.READ_POSITION_LONG.sizeof()),
                          data_in=C.READ_POSITION_LONG.sizeof())
        if r.status == ScsiStatus.GOOD and len(r.data_in) >= C.READ_POSITION_LONG.sizeof():
            p = C.READ_POSITION_LONG.parse(bytes(r.data_in))
            if not p.flags.mpu and not p.flags.lonu:
                self._file_num = p.logical_file_identifier
                self._file_start = 0 if p.logical_file_identifier == 0 else None

    # ------------------------------------------------------------------ position

    def _position(self) -> tuple[int, int] | None:
        """(logical object number, partition) from READ POSITION, or None if unknown."""
        r = self._command(C.build(C.READ_POSITION, service_action=dict(value=C.READ_POSITION_SHORT_FORM),
                                  allocation_length=0), data_in=C.READ_POSITION_SHORT.sizeof())
        if r.status != ScsiStatus.GOOD or len(r.data_in) < C.READ_POSITION_SHORT.sizeof():
            return None
        p = C.READ_POSITION_SHORT.parse(bytes(r.data_in))
        if p.flags.perr or p.flags.lolu:
            return None
        return p.first_location, p.partition

    def _at_bot(self) -> None:
        self._file_num, self._file_start = 0, 0

    def _crossed_forward(self, n: int) -> None:
        """The head went forward over ``n`` filemarks and is right after the last."""
        if self._file_num is not None:
            self._file_num += n
        pos = self._position()
        self._file_start = pos[0] if pos is not None else None

    def _crossed_backward(self, n: int) -> None:
        """The head went back over ``n`` filemarks and is right before the last: the end of
        an earlier file, whose start is not known."""
        if self._file_num is not None:
            self._file_num = self._file_num - n if self._file_num >= n else None
        self._file_start = None

    def _rewind(self) -> None:
        self._check(self._command(C.build(C.REWIND, flags=dict(immed=False))), "REWIND")
        self._written = False
        self._at_bot()

    def _flush(self) -> None:
        self._check(self._command(C.build(C.WRITE_FILEMARKS_6, flags=dict(wsmk=False, immed=False), count=0)),
                    "WRITE FILEMARKS(0)")
        self._written = False

    def _space(self, code: int, count: int) -> tuple[int, Sense | None]:
        """SPACE(6); (residual, the sense of an early stop)."""
        r = self._command(C.build(C.SPACE_6, code=dict(value=code), count=count))
        if r.status == ScsiStatus.GOOD:
            return 0, None
        s = self._sense(r)
        if s.key in (SenseKey.NO_SENSE, SenseKey.BLANK_CHECK, SenseKey.RECOVERED_ERROR):
            residue = abs(s.information) if s.information is not None else abs(count)
            return min(residue, abs(count)), s
        raise _Failed(_error_of(s), f"SPACE failed: {s}")

    def _mtio_fsf(self, count: int) -> TapeIo:
        remaining = count
        crossed = 0
        while remaining:
            step = min(remaining, MAX_SPACE)
            resid, _ = self._space(C.SPACE_FILEMARKS, step)
            crossed += step - resid
            remaining -= step - resid
            if resid:
                break
        if crossed:
            if self._file_num is not None:
                self._file_num += crossed
            if remaining:
                self._file_start = None          # at end of data, somewhere after the last filemark
            else:
                pos = self._position()
                self._file_start = pos[0] if pos is not None else None
        return TapeIo(E.NDMP_NO_ERR, remaining)

    def _mtio_bsf(self, count: int) -> TapeIo:
        remaining = count
        crossed = 0
        at_bop = False
        while remaining:
            step = min(remaining, MAX_SPACE)
            resid, _ = self._space(C.SPACE_FILEMARKS, -step)
            crossed += step - resid
            remaining -= step - resid
            if resid:
                at_bop = True
                break
        if at_bop:
            self._at_bot()
        elif crossed:
            self._crossed_backward(crossed)
        return TapeIo(E.NDMP_NO_ERR, remaining)

    def _mtio_fsr(self, count: int) -> TapeIo:
        remaining = count
        while remaining:
            step = min(remaining, MAX_SPACE)
            resid, s = self._space(C.SPACE_BLOCKS, step)
            remaining -= step - resid
            if resid:
                if s is not None and s.filemark:
                    # SSC went past the filemark; NDMP stops before it.
                    back, _ = self._space(C.SPACE_FILEMARKS, -1)
                    if back:
                        self._crossed_forward(1)
                break
        return TapeIo(E.NDMP_NO_ERR, remaining)

    def _mtio_bsr(self, count: int) -> TapeIo:
        remaining = count
        while remaining:
            step = min(remaining, MAX_SPACE)
            resid, s = self._space(C.SPACE_BLOCKS, -step)
            remaining -= step - resid
            if resid:
                if s is not None and s.filemark:
                    # SSC went back over the filemark; NDMP stops at the start of this file.
                    forward, _ = self._space(C.SPACE_FILEMARKS, 1)
                    if forward:
                        self._crossed_backward(1)
                    else:
                        pos = self._position()
                        self._file_start = pos[0] if pos is not None else None
                elif s is not None and s.eom:
                    self._at_bot()
                break
        return TapeIo(E.NDMP_NO_ERR, remaining)

    def _mtio_rew(self, count: int) -> TapeIo:
        self._rewind()
        return TapeIo(E.NDMP_NO_ERR, 0)

    def _mtio_eof(self, count: int) -> TapeIo:
        remaining = count
        while True:
            step = min(remaining, MAX_TRANSFER)
            r = self._command(C.build(C.WRITE_FILEMARKS_6, flags=dict(wsmk=False, immed=False), count=step))
            written = step
            error = E.NDMP_NO_ERR
            if r.status != ScsiStatus.GOOD:
                s = self._sense(r)
                if s.key == SenseKey.VOLUME_OVERFLOW:
                    written = step - min(step, s.information if s.information is not None else step)
                    error = E.NDMP_EOM_ERR
                elif s.key not in (SenseKey.NO_SENSE, SenseKey.RECOVERED_ERROR):   # EOM: written
                    raise _Failed(_error_of(s), f"WRITE FILEMARKS failed: {s}")
            remaining -= written
            if written:
                self._crossed_forward(written)
            self._written = False
            if error != E.NDMP_NO_ERR or not remaining:
                return TapeIo(error, remaining)

    def _mtio_off(self, count: int) -> TapeIo:
        self._check(self._command(C.build(C.LOAD_UNLOAD, flags=dict(immed=False),
                                          action=dict(hold=False, eot=False, reten=False, load=False))), "UNLOAD")
        self._written = False
        self._file_num = self._file_start = None
        return TapeIo(E.NDMP_NO_ERR, 0)

    def _mtio_tur(self, count: int) -> TapeIo:
        r = self._command(C.build(C.TEST_UNIT_READY))
        if r.status != ScsiStatus.GOOD:
            return TapeIo(_error_of(self._sense(r)), count)
        return TapeIo(E.NDMP_NO_ERR, 0)

    _MTIO: ClassVar[dict[TapeMtioOp, Callable[[OpenTape, int], TapeIo]]] = {
        TapeMtioOp.NDMP_MTIO_FSF: _mtio_fsf,
        TapeMtioOp.NDMP_MTIO_BSF: _mtio_bsf,
        TapeMtioOp.NDMP_MTIO_FSR: _mtio_fsr,
        TapeMtioOp.NDMP_MTIO_BSR: _mtio_bsr,
        TapeMtioOp.NDMP_MTIO_REW: _mtio_rew,
        TapeMtioOp.NDMP_MTIO_EOF: _mtio_eof,
        TapeMtioOp.NDMP_MTIO_OFF: _mtio_off,
        TapeMtioOp.NDMP_MTIO_TUR: _mtio_tur,
    }

    # ------------------------------------------------------------------ state

    def _state(self) -> TapeState:
        flags = 0
        if self.name.rewind == RewindType.NO_REWIND:
            flags |= F.NDMP_TAPE_STATE_NOREWIND
        elif self.name.rewind == RewindType.UNLOAD_RELOAD:
            flags |= F.NDMP_TAPE_STATE_UNLOAD
        modes = self._mode_sense() or self._mode_sense(page=0x3F)
        block_size = None
        if modes is not None:
            header, bd, _ = modes
            if header.device_specific.wp:
                flags |= F.NDMP_TAPE_STATE_WR_PROT
            if bd is not None:
                block_size = bd.block_length
        pos = self._position()
        blockno = None
        partition = 0
        if pos is not None:
            partition = pos[1]
            if self._file_start is not None and pos[0] >= self._file_start:
                blockno = pos[0] - self._file_start
        total = remain = None
        if pos is not None and C.TAPE_CAPACITY_LOG_PAGE in self._log_pages:
            params = self._log_page(C.TAPE_CAPACITY_LOG_PAGE)
            # IBM/HP page 31h: remaining (1, 2) and maximum (3, 4) capacity of partitions 0 and 1, MiB.
            rem, mx = (1, 3) if partition == 0 else (2, 4)
            if rem in params and mx in params:
                remain = int.from_bytes(params[rem], "big") << 20
                total = int.from_bytes(params[mx], "big") << 20
        soft = None
        if {C.WRITE_ERROR_COUNTERS, C.READ_ERROR_COUNTERS} <= self._log_pages:
            counts = [self._log_page(p).get(C.TOTAL_ERRORS_CORRECTED) for p in (C.WRITE_ERROR_COUNTERS,
                                                                                 C.READ_ERROR_COUNTERS)]
            if all(c is not None for c in counts):
                soft = sum(int.from_bytes(c, "big") for c in counts)
        return TapeState(E.NDMP_NO_ERR, int(flags), self._file_num, soft, block_size, blockno, total, remain)

    def _log_page(self, page: int) -> dict[int, bytes]:
        r = self._command(C.build(C.LOG_SENSE, flags=dict(ppc=False, sp=False), page=dict(pc=1, code=page),
                                  subpage=0, parameter_pointer=0, allocation_length=LOG_ALLOCATION),
                          data_in=LOG_ALLOCATION)
        if r.status != ScsiStatus.GOOD:
            return {}
        return C.log_parameters(r.data_in)

    # ------------------------------------------------------------------ closing

    def _release_reservation(self) -> None:
        """Best effort: a reservation we no longer hold is not ours to release."""
        try:
            if self._reserved and self.reservations == "scsi":
                self._execute(C.build(C.RELEASE_6))
            elif self.reservations == "persistent":
                if self._reserved:
                    self._execute(*self._pr_out(C.PR_RELEASE, self.key, 0, C.PR_EXCLUSIVE_ACCESS))
                if self._registered:
                    self._execute(*self._pr_out(C.PR_REGISTER_AND_IGNORE, 0, 0))
        except _Failed as e:
            log.warning("%s: releasing the reservation: %s", self.device, e)
        self._reserved = self._registered = False

    def _abandon(self) -> None:
        """Give everything back (after close, or an open that failed half way)."""
        self.closed = True
        self._release_reservation()
        _close_path(self.target)
        callback, self.on_close = self.on_close, None
        if callback is not None:
            try:
                callback()
            except Exception:
                log.exception("%s: after-close callback failed", self.device)
