"""TAPE interface: open, position, read and write a tape drive (NDMP v4, 0x300-0x307).

The work is :class:`~ndmp.tape_drive.OpenTape`'s; this module holds the rules
of the interface, as the v4 specification and NDMJOB's conformance test
(``ndmjob -o test-tape``) state them:

* one tape per session: a second TAPE_OPEN is NDMP_DEVICE_OPENED_ERR; a drive
  another session has open is NDMP_DEVICE_BUSY_ERR (``context.claims``, keyed
  by the drive's serial number); anything but OPEN before an open is
  NDMP_DEV_NOT_OPEN_ERR;
* a tape opened for reading refuses writes and filemarks (NDMP_PERMISSION_ERR);
  a zero-length write or read is a no-op that succeeds (v4); a read longer than
  a READ(6) can carry is NDMP_ILLEGAL_ARGS_ERR; end of data is NDMP_EOM_ERR;
* TAPE_READ that meets a filemark answers NDMP_EOF_ERR and leaves the tape on
  the BOT side of it (v4: the DMA skips it with MTIO FSF); the drive went past
  it, so the service steps back;
* a record written in the drive's early-warning zone is answered NDMP_EOM_ERR
  with ``count`` the bytes written: it is on the tape, and the DMA learns that
  the end is near;
* while the mover is using the tape (ACTIVE), TAPE_READ, WRITE, MTIO, CLOSE and
  EXECUTE_CDB are NDMP_ILLEGAL_STATE_ERR; GET_STATE is always answered.

Opening and closing are written to the backup event log (``Tape_open`` /
``Tape_close``), also when a dropped connection closes the tape.
"""
from __future__ import annotations

import itertools
import logging
from typing import Any

from ..constants import ErrorCode, HasAssociatedMessage, LogType, TapeMtioOp
from ..constants import MessageCode as M
from ..constants import TapeStateUnsupported as U
from ..messages import scsi as sc
from ..messages import tape as tp
from ..messages.log import LogMessagePost
from ..state import SessionState
from ..tape_drive import MAX_TRANSFER, OpenTape, TapeOpenError, open_tape
from .scsi import run_cdb

log = logging.getLogger("ndmp.tape")

E = ErrorCode
_ALL_UNSUPPORTED = int(U.NDMP_TAPE_STATE_FILE_NUM_UNS | U.NDMP_TAPE_STATE_SOFT_ERRORS_UNS
                       | U.NDMP_TAPE_STATE_BLOCK_SIZE_UNS | U.NDMP_TAPE_STATE_BLOCKNO_UNS
                       | U.NDMP_TAPE_STATE_TOTAL_SPACE_UNS | U.NDMP_TAPE_STATE_SPACE_REMAIN_UNS)
_MESSAGE_IDS = itertools.count(1)


def _busy_mover(state: SessionState) -> bool:
    mover = state.mover
    return mover is not None and bool(mover.uses_tape)


def _event(state: SessionState, event: str, tape: OpenTape) -> None:
    event_log = state.context.event_log
    if event_log is None:
        return
    try:
        event_log.tape_event(state.session_id, event, tape.device, writing=tape.writable)   # type: ignore[attr-defined]
    except Exception:
        log.exception("session %d: writing %s to the backup event log failed", state.session_id, event)


def _tell_dma(state: SessionState, text: str) -> None:
    state.post(M.NDMP_LOG_MESSAGE, LogMessagePost(
        log_type=LogType.NDMP_LOG_ERROR, message_id=next(_MESSAGE_IDS), entry=text,
        associated_message_valid=HasAssociatedMessage.NDMP_NO_ASSOCIATED_MESSAGE, associated_message_sequence=0))


def open_(state: SessionState, body: Any) -> Any:
    if state.tape is not None:
        return tp.TapeOpenReply(error=E.NDMP_DEVICE_OPENED_ERR)
    ctx = state.context
    opened: list[OpenTape] = []

    def closed() -> None:
        if opened:
            _event(state, "Tape_close", opened[0])

    try:
        tape = open_tape(ctx.backend, body.device, body.mode, initiator=state.initiator,
                         reservations=ctx.tape_reservations, key_prefix=ctx.initiator_prefix, claims=ctx.claims,
                         session_id=state.session_id, notify=lambda text: _tell_dma(state, text), on_close=closed)
    except TapeOpenError as e:
        log.info("session %d: TAPE_OPEN %r mode %s: %s (%s)", state.session_id, body.device, int(body.mode),
                 e.error.name, e)
        return tp.TapeOpenReply(error=e.error)
    opened.append(tape)
    state.tape = tape
    log.info("session %d: %s open (%s)", state.session_id, tape.device, tape.mode.name)
    _event(state, "Tape_open", tape)
    return tp.TapeOpenReply(error=E.NDMP_NO_ERR)


def close(state: SessionState, body: Any) -> Any:
    tape = state.tape
    if tape is None:
        return tp.TapeCloseReply(error=E.NDMP_DEV_NOT_OPEN_ERR)
    if _busy_mover(state):
        return tp.TapeCloseReply(error=E.NDMP_ILLEGAL_STATE_ERR)
    state.tape = None
    error = tape.close()
    return tp.TapeCloseReply(error=error)


def get_state(state: SessionState, body: Any) -> Any:
    tape = state.tape
    if tape is None:
        return tp.TapeGetStateReply(unsupported=_ALL_UNSUPPORTED, error=E.NDMP_DEV_NOT_OPEN_ERR, flags=0, file_num=0,
                                    soft_errors=0, block_size=0, blockno=0, total_space=0, space_remain=0)
    s = tape.get_state()
    unsupported = 0
    values = {}
    for name, flag, width in (("file_num", U.NDMP_TAPE_STATE_FILE_NUM_UNS, 32),
                              ("soft_errors", U.NDMP_TAPE_STATE_SOFT_ERRORS_UNS, 32),
                              ("block_size", U.NDMP_TAPE_STATE_BLOCK_SIZE_UNS, 32),
                              ("blockno", U.NDMP_TAPE_STATE_BLOCKNO_UNS, 32),
                              ("total_space", U.NDMP_TAPE_STATE_TOTAL_SPACE_UNS, 64),
                              ("space_remain", U.NDMP_TAPE_STATE_SPACE_REMAIN_UNS, 64)):
        value = getattr(s, name)
        if value is None or value >= 1 << width:
            unsupported |= int(flag)
            value = (1 << width) - 1           # what the v4 XDR calls an invalid value: all ones
        values[name] = value
    return tp.TapeGetStateReply(unsupported=unsupported, error=s.error, flags=s.flags, **values)


def mtio(state: SessionState, body: Any) -> Any:
    tape = state.tape
    if tape is None:
        return tp.TapeMtioReply(error=E.NDMP_DEV_NOT_OPEN_ERR, resid_count=body.count)
    if _busy_mover(state):
        return tp.TapeMtioReply(error=E.NDMP_ILLEGAL_STATE_ERR, resid_count=body.count)
    io = tape.mtio(body.tape_op, body.count)
    return tp.TapeMtioReply(error=io.error, resid_count=io.count)


def write(state: SessionState, body: Any) -> Any:
    tape = state.tape
    if tape is None:
        return tp.TapeWriteReply(error=E.NDMP_DEV_NOT_OPEN_ERR, count=0)
    if _busy_mover(state):
        return tp.TapeWriteReply(error=E.NDMP_ILLEGAL_STATE_ERR, count=0)
    io = tape.write(body.data_out)
    error = E.NDMP_EOM_ERR if io.early_warning else io.error
    return tp.TapeWriteReply(error=error, count=io.count)


def read(state: SessionState, body: Any) -> Any:
    tape = state.tape
    if tape is None:
        return tp.TapeReadReply(error=E.NDMP_DEV_NOT_OPEN_ERR, data_in=b"")
    if _busy_mover(state):
        return tp.TapeReadReply(error=E.NDMP_ILLEGAL_STATE_ERR, data_in=b"")
    if body.count > MAX_TRANSFER:
        return tp.TapeReadReply(error=E.NDMP_ILLEGAL_ARGS_ERR, data_in=b"")
    buffer = memoryview(bytearray(body.count))
    with tape.lock:
        io = tape.read_into(buffer)
        if io.error == E.NDMP_EOF_ERR:
            back = tape.mtio(TapeMtioOp.NDMP_MTIO_BSF, 1)
            if back.error != E.NDMP_NO_ERR or back.count:
                log.warning("session %d: %s: stepping back over the filemark just read failed: %s",
                            state.session_id, tape.device, back)
    return tp.TapeReadReply(error=io.error, data_in=buffer[:io.count])


def execute_cdb(state: SessionState, body: Any) -> Any:
    tape = state.tape
    if tape is None:
        return sc.ExecuteCdbReply(error=E.NDMP_DEV_NOT_OPEN_ERR, status=0, dataout_len=0, datain=b"", ext_sense=b"")
    if _busy_mover(state):
        return sc.ExecuteCdbReply(error=E.NDMP_ILLEGAL_STATE_ERR, status=0, dataout_len=0, datain=b"", ext_sense=b"")
    opcode = bytes(body.cdb[:1])[0] if len(body.cdb) else -1
    return tape.execute_cdb(lambda path: run_cdb(path, body), opcode)
