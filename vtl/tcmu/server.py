"""Serving many TCMU devices at once: one worker thread per device.

Tape drives and changers execute their commands one after another anyway
(SSC and SMC are sequential per logical unit, and the st driver keeps one
command outstanding), so a device needs exactly one thread: it sleeps in
``poll`` on the device's doorbell and a stop pipe, executes what the ring
holds, and answers in order.  A rewind or a slow cartridge file blocks that
device's thread only; the others keep going.  Up to 80 devices per node means
up to 80 mostly idle threads, which is cheap; the GIL is released during the
cartridge I/O that dominates a busy device.

Lifecycle rules, which is what this module is about:

* **Attach**: entries already in the ring (left by a daemon that was killed
  while the initiator waited) are answered CHECK CONDITION, UNIT ATTENTION,
  POWER ON/RESET (29/00) and *not* executed: we cannot know whether the old
  daemon executed them, and the initiator retries on a unit attention, so a
  command is neither executed twice nor lost.
* **Clean detach or stop** with ``drain=True``: every entry queued when the
  worker noticed the request is executed and answered, then the thread ends.
  With ``drain=False`` only the command already executing is finished; the
  rest stay in the ring for the next attach (which answers them 29/00).
* **Device gone** (the backstore was removed: EIO on the uio fd): the thread
  ends quietly with one log line; the handle stays, state ``gone``, until
  ``detach`` removes it.
* **Target raises**: the command is answered HARDWARE ERROR, INTERNAL TARGET
  FAILURE (44/00), logged with its traceback the first time, and the thread
  goes on.
"""
from __future__ import annotations

import logging
import os
import select
import threading
from typing import Callable, Protocol

from scsi.device import Result
from scsi.nexus import Nexus
from scsi.sense import Asc, Sense, SenseKey
from scsi.status import Status

from .counters import DeviceCounters
from .doorbell import DeviceGone, Doorbell
from .ring import HARDWARE_ERROR_SENSE, Command, Ring, RingError

log = logging.getLogger(__name__)

RESET_SENSE = Sense.of(SenseKey.UNIT_ATTENTION, Asc.POWER_ON_RESET_OR_BUS_DEVICE_RESET).encode()
"""Fixed-format 06/29/00, the answer to entries found pending at attach."""

_CHECK_CONDITION = int(Status.CHECK_CONDITION)


class Target(Protocol):
    """What the server calls: a SCSI logical unit (``scsi.device.ScsiDevice`` fits)."""

    def execute(self, nexus: Nexus, cdb: memoryview, data_out: memoryview | None = None,
                data_in: memoryview | None = None) -> Result: ...


class DeviceHandle:
    """One attached device: its ring, doorbell, target, counters and worker thread.

    ``state`` is ``running``, then one of ``stopped`` (detached or server stopped),
    ``gone`` (the kernel removed the backstore) or ``failed`` (the ring could not be
    walked, or a bug of ours; logged).
    """

    def __init__(self, name: str, ring: Ring, doorbell: Doorbell, target: Target, nexus: Nexus,
                 on_exit: Callable[["DeviceHandle"], None] | None = None):
        self.name = name
        self.ring = ring
        self.doorbell = doorbell
        self.target = target
        self.nexus = nexus
        self.counters: DeviceCounters = ring.counters
        self.state = "running"
        self._stale_until = ring.head         # what was queued before we attached (may raise RingError)
        self._on_exit = on_exit
        self._stop: bool | None = None        # None: serve; True: drain then stop; False: stop now
        self._pipe_lock = threading.Lock()
        self._stop_r, self._stop_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        self._target_error_logged = False
        self._thread = threading.Thread(target=self._run, name=f"tcmu:{name}", daemon=True)

    # -- control (any thread) ---------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def request_stop(self, drain: bool = True) -> None:
        """Ask the worker to end (see the module's lifecycle rules); does not wait."""
        self._stop = drain if self._stop is None else (self._stop and drain)
        with self._pipe_lock:
            if self._stop_w >= 0:
                try:
                    os.write(self._stop_w, b"s")
                except BlockingIOError:
                    pass                      # already full of wake-ups

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the worker to end; True if it has."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def __repr__(self) -> str:
        return f"DeviceHandle({self.name!r}, {self.state}, {self.counters.commands} commands)"

    # -- the worker ----------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._answer_stale()
            self._loop()
            self.state = "stopped"
        except DeviceGone as e:
            self.state = "gone"
            log.info("TCMU device %s is gone (%s): stopped serving it", self.name, e)
        except RingError as e:
            self.state = "failed"
            log.error("TCMU device %s: %s: stopped serving it", self.name, e)
        except Exception:
            self.state = "failed"
            log.exception("TCMU device %s: internal error: stopped serving it", self.name)
        finally:
            with self._pipe_lock:
                os.close(self._stop_r)
                os.close(self._stop_w)
                self._stop_r = self._stop_w = -1
            self.ring.release()
            if self._on_exit is not None:
                try:
                    self._on_exit(self)
                except Exception:
                    log.exception("TCMU device %s: on_exit callback failed", self.name)

    def _answer_stale(self) -> None:
        ring, until, n = self.ring, self._stale_until, 0
        while True:
            cmd = ring.next(until)
            if cmd is None:
                break
            self.counters.reset_answered += 1        # counted before the kernel can see it
            ring.complete(cmd, _CHECK_CONDITION, RESET_SENSE)
            n += 1
        if ring.dirty:
            ring.dirty = False
            self.doorbell.kick()
        if n:
            log.info("TCMU device %s: %d command(s) left pending by a previous run answered "
                     "UNIT ATTENTION 29/00, not executed", self.name, n)

    def _loop(self) -> None:
        bell = self.doorbell
        bell_fd = bell.fileno()
        poller = select.poll()
        poller.register(bell_fd, select.POLLIN)
        poller.register(self._stop_r, select.POLLIN)
        while True:
            self._serve_pending()
            if self._stop is not None:
                return
            for fd, _ in poller.poll():
                if fd == bell_fd:
                    bell.wait(0)             # consume the notification before looking again

    def _serve_pending(self) -> None:
        """Execute what the ring holds, in order.  Once a draining stop is noticed, only
        what was queued at that moment; a non-draining stop ends after the current one."""
        ring = self.ring
        until = None
        while True:
            stop = self._stop
            if stop is False:
                break
            if stop is True and until is None:
                until = ring.head
            cmd = ring.next(until)
            if cmd is None:
                break
            self._serve(cmd)
        if ring.dirty:                       # PAD, TMR or refused entries consumed
            ring.dirty = False
            self.doorbell.kick()

    def _serve(self, cmd: Command) -> None:
        data = cmd.data
        c = self.counters
        try:
            r = self.target.execute(self.nexus, cmd.cdb, data, data)
            status, out, sense = r.status, r.data, r.sense
        except Exception:
            c.target_errors += 1
            if not self._target_error_logged:
                self._target_error_logged = True
                log.exception("TCMU device %s: the target raised on CDB %s (answered HARDWARE "
                              "ERROR; further failures are only counted)", self.name, bytes(cmd.cdb).hex())
            status, out, sense = _CHECK_CONDITION, None, HARDWARE_ERROR_SENSE
        n = 0
        if data is not None:
            if out is not None and len(out):
                n = len(out)
                if n > len(data):
                    n = len(data)
                if getattr(out, "obj", None) is not data.obj:
                    data[:n] = out[:n]       # the device made its own buffer: one copy
                c.bytes_in += n
            else:
                c.bytes_out += len(data)
        c.commands += 1
        if status:
            c.check_conditions += 1
        self.ring.complete(cmd, status, sense, n)
        self.ring.dirty = False
        self.doorbell.kick()


class TcmuServer:
    """The devices this process serves over TCMU, one worker thread each.

    The server owns the threads and the :class:`Ring` objects; the caller owns the
    buffers and doorbells it passes in (for a real device, a
    :class:`vtl.tcmu.uio.UioDevice`) and closes them after :meth:`detach`, or from
    ``on_exit`` when the worker ends on its own (device gone).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._devices: dict[str, DeviceHandle] = {}

    def attach(self, name: str, ring_buffer, doorbell: Doorbell, target: Target, nexus: Nexus, *,
               on_exit: Callable[[DeviceHandle], None] | None = None) -> DeviceHandle:
        """Start serving the ring in ``ring_buffer`` (the whole uio map) for ``target``.

        Raises :class:`RingError` if the mailbox is not a TCMU v2 mailbox, and
        ValueError if ``name`` is already being served.
        """
        with self._lock:
            old = self._devices.get(name)
            if old is not None and old.alive:
                raise ValueError(f"TCMU device {name} is already attached")
            handle = DeviceHandle(name, Ring(ring_buffer, DeviceCounters()), doorbell, target, nexus,
                                  on_exit)
            self._devices[name] = handle
        handle.start()
        return handle

    def detach(self, name: str, *, drain: bool = True, timeout: float | None = None) -> DeviceHandle:
        """Stop serving ``name`` and wait for its worker (at most ``timeout`` seconds);
        the handle is forgotten once its worker has ended."""
        with self._lock:
            handle = self._devices[name]
        handle.request_stop(drain)
        if handle.join(timeout):
            with self._lock:
                if self._devices.get(name) is handle:
                    del self._devices[name]
        return handle

    def stop(self, *, drain: bool = True, timeout: float | None = None) -> None:
        """Detach every device: ask them all first, then wait, so they wind down together."""
        with self._lock:
            handles = list(self._devices.values())
        for h in handles:
            h.request_stop(drain)
        for h in handles:
            self.detach(h.name, drain=drain, timeout=timeout)

    @property
    def devices(self) -> dict[str, DeviceHandle]:
        with self._lock:
            return dict(self._devices)

    def __enter__(self) -> "TcmuServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
