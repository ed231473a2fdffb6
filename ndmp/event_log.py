"""The backup event log: one line per significant backup or restore event.

ONTAP keeps such a log in ``/etc/log/backup`` (seed 002, "Monitor tape backup
and restore operations"); we keep it as the file ``backup`` in the directory
the daemon gives us, so operators can ``tail -f`` it, read it with ``vtl`` or
diff it across machines.

Format (one record a line, UTF-8, ``\\n`` terminated)::

    type timestamp identifier event (event_info)

    log Thu Apr  5 23:00:51 GMT 2012 Start_Logging
    dmp Thu Apr  5 23:00:52 GMT 2012 /vserver/vol1/(1) Start (level 0, NDMP)
    rst Thu Apr  5 23:10:00 GMT 2012 /vserver/vol2/restored Tape_open (nrst0a)
    dmp Thu Apr  5 23:12:07 GMT 2012 ndmp:node1/session7(20120405T225900Z) Tape_close (nrst0a)

- ``type`` is ``log`` (logging events), ``dmp`` (dump) or ``rst`` (restore).
- ``timestamp`` is printed the way ONTAP prints it (``ctime`` style with the
  zone before the year), always in GMT from the injected clock, so logs of two
  machines compare line by line.  Names of days and months are English
  whatever the locale.
- ``identifier`` is absent for ``log`` events.  A dump is named by its path and
  its unique id (``/vserver/vol1/(1)``, see :func:`dump_identifier`), a restore
  by its destination path.  A tape opened by a DMA that drives the TAPE and
  MOVER services itself (Amanda's ndmjob, a three-way backup) has neither, so
  :meth:`EventLog.tape_event` names the NDMP session instead, in the same
  "name plus unique id" shape: ``ndmp:<node>/session<N>(<start>)`` (without
  ``<node>/`` when the node has no name).  ``N`` is the session id that
  ``vtl ndmp status`` and the daemon's own log show; session ids start again
  at 1 when the daemon restarts, so ``<start>`` -- when this EventLog (the
  daemon) started, ``YYYYmmddTHHMMSSZ`` -- makes the name unique across
  restarts.  Whitespace, control characters and backslashes in an identifier
  are written as backslash-octal UTF-8 bytes (``\\040`` for a space), as
  ``/proc/mounts`` does for paths, so the identifier is a single field and a
  line parses back without guessing.
- ``event`` is one word (``Start``, ``End``, ``Abort``, ``Options``,
  ``Tape_open``, ``Tape_close``, ``Phase-change``, ``Error``, ``Snapshot``,
  ``Base_dump``, ``Start_Logging``, ``Stop_Logging``, ...).
- ``event_info`` runs from `` (`` after the event to the closing ``)`` at the
  end of the line, so it may itself contain parentheses; line breaks and other
  control characters in it become spaces (one event is one line).  The
  parenthesised part is left out when there is no information.

Logging is on by default.  An enabled EventLog writes ``Start_Logging`` when
the daemon creates it and when logging is turned back on; turning it off
writes ``Stop_Logging`` and then nothing more.

Rotation follows ONTAP's: the log of the current week is ``backup``; every
Sunday at 00:00 (GMT here) ``backup`` becomes ``backup.0``, ``backup.0``
becomes ``backup.1`` and so on, keeping six old files (``backup.0`` ..
``backup.5``; the oldest is dropped), seven files in all.  The week of a file
is taken from the timestamp of its first record, not from how long the daemon
has run, so restarts do not postpone rotation.  Rotation happens on the first
write after the week is over, or when the daemon's timer calls
:meth:`EventLog.rotate_if_due`; a week without events leaves no file.  The
renames go from the oldest to the newest, each atomic and followed by an fsync
of the directory, and an interrupted rotation is finished by the next one
(the lowest missing ``backup.N`` shows where it stopped), so a crash never
loses a week it should have kept.

Every record is appended with one ``os.write`` under a lock (sessions log from
several threads at once) on an unbuffered descriptor, so it reaches the OS at
once.  A record the disk cannot take is cut back off the file; a failure to
write is reported once with ``logging.warning`` and never raised: a backup
must not fail because its log cannot be written.
"""
from __future__ import annotations

import errno
import logging
import math
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["FILE_NAME", "KINDS", "EventLog", "EventRecord", "dump_identifier", "log_files", "read_events"]

log = logging.getLogger(__name__)

FILE_NAME = "backup"
KINDS = ("log", "dmp", "rst")
TAPE_EVENTS = ("Tape_open", "Tape_close")

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_WEEK = 7 * 24 * 3600
_DAY = 24 * 3600

_EVENT = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_LINE = re.compile(
    r"(?P<kind>log|dmp|rst) "
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?P<mon>" + "|".join(_MONTHS) + r") (?P<mday> ?\d{1,2}) "
    r"(?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d) GMT (?P<year>\d{4})"
    r"(?: (?P<ident>\S+))? (?P<event>[A-Za-z][A-Za-z0-9_-]*)(?: \((?P<info>.*)\))?")
# Line breaks (as str.splitlines sees them) and other control characters in event_info.
_INFO_BREAKS = re.compile(r"\r\n|[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]")
_ESCAPED = re.compile(r"(?:\\[0-7]{3})+")


def _encode(text: str) -> bytes:
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:          # a lone surrogate that did not come from a file name
        return text.encode("utf-8", "backslashreplace")


def _escape_identifier(identifier: str) -> str:
    out = []
    for ch in identifier:
        if ch == "\\" or ch.isspace() or not ch.isprintable():
            out.extend(f"\\{b:03o}" for b in _encode(ch))
        else:
            out.append(ch)
    return "".join(out)


def _unescape_identifier(field: str) -> str:
    def bytes_of(m: re.Match[str]) -> str:
        raw = bytes(int(m.group(0)[i + 1:i + 4], 8) for i in range(0, len(m.group(0)), 4))
        return raw.decode("utf-8", "surrogateescape")
    return _ESCAPED.sub(bytes_of, field)


def _sanitise_info(info: str) -> str:
    return _INFO_BREAKS.sub(" ", info)


def _format_timestamp(when: datetime) -> str:
    return (f"{_DAYS[when.weekday()]} {_MONTHS[when.month - 1]} {when.day:2d} "
            f"{when.hour:02d}:{when.minute:02d}:{when.second:02d} GMT {when.year}")


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(math.floor(seconds), tz=UTC)


def dump_identifier(path: str, dump_id: int) -> str:
    """A dump's identifier: its path and its unique id, ``/vserver/vol1/`` + 1 -> ``/vserver/vol1/(1)``."""
    return f"{path}({dump_id})"


def _week_end(start: float) -> float:
    """The first Sunday 00:00 GMT after ``start``: when the file begun at ``start`` is rotated."""
    day = math.floor(start / _DAY) * _DAY
    days_to_sunday = (6 - time.gmtime(day).tm_wday) % 7
    end = day + days_to_sunday * _DAY
    return end if end > start else end + _WEEK


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One line of the log.  ``identifier`` is None for ``log`` events; ``info`` is ""
    when the line has no ``(event_info)``."""

    kind: str
    timestamp: datetime
    identifier: str | None
    event: str
    info: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"backup event log: type {self.kind!r} is not one of {', '.join(KINDS)}")
        if not _EVENT.fullmatch(self.event):
            raise ValueError(f"backup event log: event {self.event!r} must be one word "
                             "(letters, digits, '_' or '-', starting with a letter)")
        if self.kind == "log" and self.identifier is not None:
            raise ValueError("backup event log: logging events have no identifier")
        if self.kind != "log" and not self.identifier:
            raise ValueError(f"backup event log: a {self.kind} event needs an identifier "
                             "(the dump path and id, or the restore destination)")

    def line(self) -> str:
        """The record as written, without the line end."""
        parts = [self.kind, _format_timestamp(self.timestamp.astimezone(UTC))]
        if self.identifier is not None:
            parts.append(_escape_identifier(self.identifier))
        parts.append(self.event)
        info = _sanitise_info(self.info)
        if info:
            parts.append(f"({info})")
        return " ".join(parts)

    @classmethod
    def parse(cls, line: str) -> EventRecord | None:
        """The record on ``line`` (without its line end), or None when it is not one
        (a line cut short by a crash, or text that is not ours)."""
        m = _LINE.fullmatch(line)
        if m is None:
            return None
        try:
            when = datetime(int(m["year"]), _MONTHS.index(m["mon"]) + 1, int(m["mday"]),
                            int(m["h"]), int(m["m"]), int(m["s"]), tzinfo=UTC)
            ident = m["ident"]
            return cls(m["kind"], when, None if ident is None else _unescape_identifier(ident),
                       m["event"], m["info"] or "")
        except ValueError:
            return None


def read_events(path: str | os.PathLike[str]) -> list[EventRecord]:
    """The records of one log file, oldest first.  Lines that are not records (a tail
    cut short by a crash) are skipped; a missing file raises FileNotFoundError."""
    data = Path(path).read_bytes()
    lines = data.split(b"\n")
    lines.pop()                          # after the last "\n": empty, or a torn tail
    events = []
    for raw in lines:
        rec = EventRecord.parse(raw.decode("utf-8", "surrogateescape"))
        if rec is not None:
            events.append(rec)
    return events


def log_files(directory: str | os.PathLike[str], keep: int = 6) -> list[Path]:
    """The log files that exist in ``directory``, oldest first (``backup.5`` .. ``backup``)."""
    d = Path(directory)
    names = [d / f"{FILE_NAME}.{i}" for i in reversed(range(keep))] + [d / FILE_NAME]
    return [p for p in names if p.is_file()]


class EventLog:
    """The log a daemon writes (see the module docstring for the format and rotation)."""

    def __init__(self, directory: Path, *, enabled: bool = True,
                 clock: Callable[[], float] = time.time, keep: int = 6, node: str = "") -> None:
        if keep < 0:
            raise ValueError(f"backup event log: keep must be 0 or more old files, not {keep}")
        self._directory = Path(directory)
        self._path = self._directory / FILE_NAME
        self._clock = clock
        self._keep = keep
        self._node = node
        self._lock = threading.Lock()
        self._enabled = enabled
        self._closed = False
        self._fd: int | None = None
        self._file_id: tuple[int, int] | None = None
        self._start: float | None = None        # first record of the current file
        self._torn = False                       # the current file does not end with "\n"
        self._write_warned = False
        self._rotate_warned = False
        self._boot = _utc(clock()).strftime("%Y%m%dT%H%M%SZ")
        try:
            self._directory.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            self._write_failed(e)
        if enabled:
            self._write(EventRecord("log", _utc(self._clock()), None, "Start_Logging"))

    @property
    def path(self) -> Path:
        return self._path

    @property
    def enabled(self) -> bool:
        return self._enabled

    def set_enabled(self, on: bool) -> None:
        """The ``backup.log.enable`` option: Stop_Logging is the last record before
        logging goes off, Start_Logging the first once it is back on."""
        with self._lock:
            if on == self._enabled:
                return
            if not on:
                self._write_locked(EventRecord("log", _utc(self._clock()), None, "Stop_Logging"))
            self._enabled = on
            if on:
                self._write_locked(EventRecord("log", _utc(self._clock()), None, "Start_Logging"))

    def record(self, kind: str, identifier: str | None, event: str, info: str = "") -> None:
        """Append one event (a no-op while logging is off).  Bad arguments are the
        caller's bug and raise ValueError; failing to write never raises."""
        rec = EventRecord(kind, _utc(0), identifier, event, info)   # validates before any I/O
        with self._lock:
            if self._enabled:
                self._write_locked(replace(rec, timestamp=_utc(self._clock())))

    def tape_event(self, session_id: int, event: str, device: str, *, writing: bool) -> None:
        """Tape_open / Tape_close of a session whose DMA drives the tape itself: a
        dump (``dmp``) when the tape is open for writing, else a restore (``rst``)."""
        if event not in TAPE_EVENTS:
            raise ValueError(f"backup event log: tape event {event!r} is not one of {', '.join(TAPE_EVENTS)}")
        name = f"{self._node}/session{session_id}" if self._node else f"session{session_id}"
        self.record("dmp" if writing else "rst", f"ndmp:{name}({self._boot})", event, device)

    def rotate_if_due(self) -> bool:
        """Rotate now when the current file's week is over (for the daemon's timer);
        True when it rotated.  Rotation goes on while logging is off: retention is
        about weeks, not about what was written."""
        with self._lock:
            if self._closed:
                return False
            try:
                if not self._path.exists():
                    return False
                self._open_locked()
            except OSError as e:
                self._write_failed(e)
                return False
            return self._rotate_if_due_locked(self._clock())

    def close(self) -> None:
        """Stop writing (records after close are dropped) and close the file."""
        with self._lock:
            self._closed = True
            self._close_fd_locked()

    # -- internals, called with the lock held ------------------------------------------

    def _write(self, rec: EventRecord) -> None:
        with self._lock:
            self._write_locked(rec)

    def _write_locked(self, rec: EventRecord) -> None:
        if self._closed:
            return
        now = rec.timestamp.timestamp()
        data = _encode(rec.line() + "\n")
        try:
            self._open_locked()
            self._rotate_if_due_locked(now)
            self._open_locked()             # the new file after a rotation, or the old one again
            if self._torn:
                data = b"\n" + data
            self._append_locked(data)
        except OSError as e:
            self._close_fd_locked()
            self._write_failed(e)
            return
        self._torn = False
        if self._start is None:
            self._start = now
        if self._write_warned:
            self._write_warned = False
            log.info("backup event log %s: writing again", self._path)

    def _append_locked(self, data: bytes) -> None:
        assert self._fd is not None
        view = memoryview(data)
        done = 0
        try:
            while done < len(view):
                n = os.write(self._fd, view[done:])
                if n <= 0:
                    raise OSError(errno.EIO, "write wrote nothing")
                done += n
        except OSError:
            if done:
                # Whole lines or nothing: cut the partial record back off (we are the
                # file's only writer and hold the lock); if even that fails, the next
                # record starts on a fresh line.
                try:
                    os.ftruncate(self._fd, os.fstat(self._fd).st_size - done)
                except OSError:
                    self._torn = True
            raise

    def _open_locked(self) -> None:
        """Make the descriptor name the file now at ``path`` (it may have been rotated,
        removed, or its directory removed since we opened it)."""
        try:
            st = os.stat(self._path)
            current = (st.st_dev, st.st_ino)
        except FileNotFoundError:
            current = None
        if self._fd is not None and current == self._file_id:
            return
        self._close_fd_locked()
        fd = os.open(self._path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            st = os.fstat(fd)
            self._start = self._first_timestamp(fd, st)
            self._torn = st.st_size > 0 and os.pread(fd, 1, st.st_size - 1) != b"\n"
        except OSError:
            os.close(fd)
            raise
        self._fd, self._file_id = fd, (st.st_dev, st.st_ino)

    @staticmethod
    def _first_timestamp(fd: int, st: os.stat_result) -> float | None:
        """When the file was begun: its first record's time (or, for a file whose first
        line is not a record, its modification time)."""
        if st.st_size == 0:
            return None
        head = os.pread(fd, 65536, 0)
        end = head.find(b"\n")
        if end >= 0:
            rec = EventRecord.parse(head[:end].decode("utf-8", "surrogateescape"))
            if rec is not None:
                return rec.timestamp.timestamp()
        return st.st_mtime

    def _close_fd_locked(self) -> None:
        if self._fd is not None:
            fd, self._fd, self._file_id = self._fd, None, None
            try:
                os.close(fd)
            except OSError:
                pass

    def _rotate_if_due_locked(self, now: float) -> bool:
        if self._start is None or now < _week_end(self._start):
            return False
        self._close_fd_locked()
        try:
            self._rotate_locked()
        except OSError as e:
            if not self._rotate_warned:
                self._rotate_warned = True
                log.warning("backup event log %s: cannot rotate (%s); writing on in the current file",
                            self._path, e)
            return False
        self._rotate_warned = False
        self._start, self._torn = None, False
        return True

    def _rotate_locked(self) -> None:
        names = [self._path] + [self._directory / f"{FILE_NAME}.{i}" for i in range(self._keep)]
        # Left over from a larger ``keep``: the oldest go first.
        extra = sorted((int(m[1]) for p in self._directory.iterdir()
                        if (m := re.fullmatch(re.escape(FILE_NAME) + r"\.(\d+)", p.name))
                        and int(m[1]) >= self._keep), reverse=True)
        for i in extra:
            os.unlink(self._directory / f"{FILE_NAME}.{i}")
        if extra:
            self._fsync_directory()
        if self._keep == 0:
            os.unlink(self._path)
            self._fsync_directory()
            return
        # The lowest missing backup.N is where an interrupted rotation stopped (or the
        # end of the files so far); with none missing, backup.4 replaces the oldest.
        target = next((i for i in range(1, len(names)) if not names[i].exists()), len(names) - 1)
        for i in range(target, 0, -1):
            if names[i - 1].exists():
                os.replace(names[i - 1], names[i])
                self._fsync_directory()

    def _fsync_directory(self) -> None:
        fd = os.open(self._directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _write_failed(self, error: OSError) -> None:
        if self._write_warned:
            log.debug("backup event log %s: still cannot write: %s", self._path, error)
            return
        self._write_warned = True
        log.warning("backup event log %s cannot be written (%s); backup and restore events are "
                    "not logged until it can be", self._path, error)
