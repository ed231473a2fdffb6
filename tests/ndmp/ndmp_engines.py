"""A small backup engine for the DATA service's tests: it moves real bytes over the data
connection, so the DATA service, the mover and the tape are tested end to end without
the dump format.

``PatternEngine`` (butype ``pattern``), steered by the DMA's environment:

* backup: writes SIZE bytes of :func:`pattern` (in CHUNK-byte sends), returns the
  environment it was given plus ``DONE=Y``;
* recover: with READ=offset:length asks for those bytes (NOTIFY_DATA_READ, as a direct
  access recovery does) and reads them; without, reads until the end of the stream.
  What came must be the pattern from that offset (OFFSET when no READ); it is kept in
  ``engine.received``;
* REFUSE=text: ``backup``/``recover`` raise Refusal(text) (error from REFUSE_ERROR);
  PREPARE=crash: they raise a RuntimeError;
* FAIL=engine: the job raises EngineError(FAIL_TEXT); FAIL=crash: a RuntimeError;
  FAIL=abort: Aborted;
* WAIT=Y: after writing, the job waits until cancelled (then raises Aborted), or
  until ``engine.release`` is set when CANCEL=ignore.
"""
from __future__ import annotations

import threading

from ndmp.constants import DataHaltReason, ErrorCode
from ndmp.engine import Aborted, EngineError, Operation, Refusal

CHUNK = 65536


def pattern(offset: int, length: int) -> bytes:
    """Bytes ``offset`` .. ``offset + length`` of the test image: a 251-cycle."""
    cycle = bytes(range(251))
    start = offset % 251
    reps = (start + length) // 251 + 1
    return (cycle * reps)[start:start + length]


class PatternJob:
    def __init__(self, engine: PatternEngine, op: Operation):
        self.engine = engine
        self.op = op
        self.cancelled = threading.Event()

    def cancel(self) -> None:
        self.engine.cancels += 1
        if self.op.value("CANCEL") != "ignore":
            self.cancelled.set()

    def run(self):
        self.engine.started.set()
        op = self.op
        fail = op.value("FAIL")
        if fail == "engine":
            raise EngineError(op.value("FAIL_TEXT", "the engine failed"),
                              DataHaltReason[op.value("FAIL_REASON", "NDMP_DATA_HALT_INTERNAL_ERROR")])
        if fail == "crash":
            raise RuntimeError("a bug in the engine")
        if fail == "abort":
            raise Aborted()
        if op.kind == "backup":
            self._backup()
        else:
            self._recover()
        if op.value("WAIT") == "Y":
            if op.value("CANCEL") == "ignore":
                self.engine.release.wait(60)
            elif self.cancelled.wait(60):
                raise Aborted()
        return [*op.env, ("DONE", "Y")] if op.kind == "backup" else []

    def _backup(self) -> None:
        op = self.op
        size = int(op.value("SIZE", "0"))
        chunk = int(op.value("CHUNK", str(CHUNK)))
        op.est_bytes_remain = size
        at = 0
        while at < size:
            op.check_aborted()
            n = min(chunk, size - at)
            op.stream.sendall(pattern(at, n))
            at += n
            op.processed(n)
            op.est_bytes_remain = size - at

    def _recover(self) -> None:
        op = self.op
        offset = int(op.value("OFFSET", "0"))
        length = None
        read = op.value("READ")
        if read:
            offset, length = (int(x) for x in read.split(":"))
            op.read(offset, length)
        got = bytearray()
        while length is None or len(got) < length:
            op.check_aborted()
            data = op.stream.recv(CHUNK if length is None else min(CHUNK, length - len(got)))
            if not data:
                break
            got += data
            op.processed(len(data))
        self.engine.received.append(bytes(got))
        if bytes(got) != pattern(offset, len(got)):
            raise EngineError("the image is damaged")
        op.log("normal", f"recovered {len(got)} bytes")


class PatternEngine:
    def __init__(self) -> None:
        self.ops: list[Operation] = []
        self.received: list[bytes] = []
        self.started = threading.Event()
        self.release = threading.Event()
        self.cancels = 0

    def _job(self, op: Operation) -> PatternJob:
        self.ops.append(op)
        if op.value("PREPARE") == "crash":
            raise RuntimeError("a bug in the engine's preparation")
        refuse = op.value("REFUSE")
        if refuse:
            raise Refusal(refuse, ErrorCode[op.value("REFUSE_ERROR", "NDMP_ILLEGAL_ARGS_ERR")])
        op.log("debug", f"{op.kind} prepared")
        return PatternJob(self, op)

    def backup(self, op: Operation) -> PatternJob:
        return self._job(op)

    def recover(self, op: Operation) -> PatternJob:
        return self._job(op)
