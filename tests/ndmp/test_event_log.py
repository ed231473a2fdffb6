"""The backup event log: line format, identifiers, on/off, weekly rotation across
restarts, concurrency, write failures and the reader.  The clock is injected;
nothing sleeps."""
from __future__ import annotations

import calendar
import errno
import logging
import os
import shutil
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ndmp import event_log
from ndmp.event_log import (
    EventLog,
    EventRecord,
    dump_identifier,
    log_files,
    read_events,
)


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> float:
    return float(calendar.timegm((y, mo, d, h, mi, s)))


# 2024-01-01 is a Monday; Sunday 2024-01-07 00:00 GMT ends its week.
WED = at(2024, 1, 3, 12)
SAT = at(2024, 1, 6, 23, 59, 59)
SUN = at(2024, 1, 7)
WEEK = 7 * 24 * 3600


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "ndmp.event_log" and r.levelno == logging.WARNING]


# -- format -------------------------------------------------------------------------------

def test_each_line_type_is_written_as_ontap_prints_it(tmp_path: Path) -> None:
    clock = Clock(at(2012, 4, 5, 23, 0, 51) + 0.9)    # fractions of a second are dropped
    log = EventLog(tmp_path, clock=clock)
    log.record("dmp", dump_identifier("/vserver/vol1/", 1), "Start", "level 0, NDMP")
    clock.now = at(2012, 4, 7, 1, 2, 3)
    log.record("rst", "/vserver/vol2/restored", "Phase_change", "II")
    log.record("dmp", "/vserver/vol1/(1)", "End")
    log.close()
    assert log.path == tmp_path / "backup"
    assert lines(log.path) == [
        "log Thu Apr  5 23:00:51 GMT 2012 Start_Logging",
        "dmp Thu Apr  5 23:00:51 GMT 2012 /vserver/vol1/(1) Start (level 0, NDMP)",
        "rst Sat Apr  7 01:02:03 GMT 2012 /vserver/vol2/restored Phase_change (II)",
        "dmp Sat Apr  7 01:02:03 GMT 2012 /vserver/vol1/(1) End",
    ]
    two_digit_day = EventRecord("log", datetime(2012, 12, 13, 1, 2, 3, tzinfo=UTC), None, "Stop_Logging")
    assert two_digit_day.line() == "log Thu Dec 13 01:02:03 GMT 2012 Stop_Logging"


def test_info_line_breaks_become_spaces_so_one_event_is_one_line(tmp_path: Path) -> None:
    log = EventLog(tmp_path, clock=Clock(WED))
    log.record("dmp", "/v/(2)", "Error", "tape write failed\r\n(No space left)\nretry\u2028x\x00y")
    raw = lines(log.path)
    assert len(raw) == 2
    assert raw[1].endswith("/v/(2) Error (tape write failed (No space left) retry x y)")
    assert read_events(log.path)[1].info == "tape write failed (No space left) retry x y"


def test_bad_arguments_are_the_callers_bug(tmp_path: Path) -> None:
    log = EventLog(tmp_path, clock=Clock(WED))
    with pytest.raises(ValueError, match="type 'bkp'"):
        log.record("bkp", "/v/(1)", "Start")
    with pytest.raises(ValueError, match="one word"):
        log.record("dmp", "/v/(1)", "Phase change")
    with pytest.raises(ValueError, match="no identifier"):
        log.record("log", "/v/(1)", "Start_Logging")
    with pytest.raises(ValueError, match="needs an identifier"):
        log.record("rst", None, "Start")
    with pytest.raises(ValueError, match="Tape_open, Tape_close"):
        log.tape_event(1, "Tape_eject", "nrst0a", writing=True)
    with pytest.raises(ValueError, match="keep"):
        EventLog(tmp_path, keep=-1)
    assert len(lines(log.path)) == 1


# -- identifiers ---------------------------------------------------------------------------

def test_tape_events_name_the_session_and_its_daemon_start(tmp_path: Path) -> None:
    clock = Clock(WED)
    log = EventLog(tmp_path, clock=clock, node="node1")
    clock.now += 5
    log.tape_event(7, "Tape_open", "nrst0a", writing=True)
    log.tape_event(7, "Tape_close", "nrst0a", writing=True)
    log.tape_event(8, "Tape_open", "rst1l", writing=False)
    log.close()
    restarted = EventLog(tmp_path, clock=Clock(WED + 3600), node="node1")     # session ids start again
    restarted.tape_event(7, "Tape_open", "nrst0a", writing=True)
    unnamed = EventLog(tmp_path / "other", clock=Clock(WED))
    unnamed.tape_event(3, "Tape_close", "nrst0a", writing=False)

    ev = read_events(log.path)
    assert [(e.kind, e.identifier, e.event, e.info) for e in ev[1:4]] == [
        ("dmp", "ndmp:node1/session7(20240103T120000Z)", "Tape_open", "nrst0a"),
        ("dmp", "ndmp:node1/session7(20240103T120000Z)", "Tape_close", "nrst0a"),
        ("rst", "ndmp:node1/session8(20240103T120000Z)", "Tape_open", "rst1l"),
    ]
    assert ev[5].identifier == "ndmp:node1/session7(20240103T130000Z)"
    assert read_events(unnamed.path)[1].identifier == "ndmp:session3(20240103T120000Z)"


def test_identifiers_with_spaces_stay_one_field(tmp_path: Path) -> None:
    log = EventLog(tmp_path, clock=Clock(WED))
    odd = "/vserver/vol 1/qtree\tä\\x (copy)"
    log.record("rst", odd, "Start", "level 0")
    raw = lines(log.path)[1]
    assert raw.split()[7] == "/vserver/vol\\0401/qtree\\011ä\\134x\\040(copy)"
    assert read_events(log.path)[1].identifier == odd


# -- on and off ----------------------------------------------------------------------------

def test_logging_off_and_on(tmp_path: Path) -> None:
    clock = Clock(WED)
    log = EventLog(tmp_path, clock=clock)
    assert log.enabled
    log.record("dmp", "/v/(1)", "Start", "level 0")
    clock.now += 60
    log.set_enabled(False)
    log.set_enabled(False)
    assert not log.enabled
    log.record("dmp", "/v/(1)", "End", "1 MB")
    clock.now += 60
    log.set_enabled(True)
    log.set_enabled(True)
    log.record("dmp", "/v/(2)", "Start", "level 1")
    assert [(e.kind, e.identifier, e.event) for e in read_events(log.path)] == [
        ("log", None, "Start_Logging"),
        ("dmp", "/v/(1)", "Start"),
        ("log", None, "Stop_Logging"),
        ("log", None, "Start_Logging"),
        ("dmp", "/v/(2)", "Start"),
    ]


def test_a_log_created_off_writes_nothing(tmp_path: Path) -> None:
    log = EventLog(tmp_path, clock=Clock(WED), enabled=False)
    log.record("dmp", "/v/(1)", "Start")
    log.tape_event(1, "Tape_open", "nrst0a", writing=True)
    assert not log.path.exists()


def test_records_after_close_are_dropped(tmp_path: Path) -> None:
    log = EventLog(tmp_path, clock=Clock(WED))
    log.close()
    log.record("dmp", "/v/(1)", "Start")
    assert len(lines(log.path)) == 1


# -- rotation ------------------------------------------------------------------------------

def test_the_week_survives_restarts(tmp_path: Path) -> None:
    first = EventLog(tmp_path, clock=Clock(WED))
    first.record("dmp", "/v/(1)", "Start", "level 0")
    first.close()
    # Restarted on Saturday: the week of the file began on Wednesday, not now.
    second = EventLog(tmp_path, clock=Clock(SAT))
    second.record("dmp", "/v/(1)", "End", "1 MB")
    second.close()
    assert not (tmp_path / "backup.0").exists()
    # Restarted after Sunday 00:00: the start itself rotates.
    third = EventLog(tmp_path, clock=Clock(SUN + 1))
    third.close()
    assert [e.event for e in read_events(tmp_path / "backup.0")] == ["Start_Logging", "Start", "Start_Logging", "End"]
    assert [e.event for e in read_events(tmp_path / "backup")] == ["Start_Logging"]
    assert read_events(tmp_path / "backup")[0].timestamp == datetime(2024, 1, 7, 0, 0, 1, tzinfo=UTC)


def test_rotation_on_the_next_write_and_on_the_timer(tmp_path: Path) -> None:
    clock = Clock(WED)
    log = EventLog(tmp_path, clock=clock)
    clock.now = SUN - 1
    assert not log.rotate_if_due()
    log.record("dmp", "/v/(1)", "Start")
    clock.now = SUN
    log.record("dmp", "/v/(1)", "End")                  # lazily, before this record
    assert [e.event for e in read_events(tmp_path / "backup.0")] == ["Start_Logging", "Start"]
    assert [e.event for e in read_events(log.path)] == ["End"]

    clock.now = SUN + WEEK - 1
    assert not log.rotate_if_due()
    clock.now = SUN + WEEK
    assert log.rotate_if_due()                          # the daemon's timer
    assert not log.path.exists() and not log.rotate_if_due()
    assert [e.event for e in read_events(tmp_path / "backup.0")] == ["End"]
    assert [e.event for e in read_events(tmp_path / "backup.1")] == ["Start_Logging", "Start"]
    clock.now = SUN + WEEK + 3600
    log.record("rst", "/r", "Start")
    assert [e.event for e in read_events(log.path)] == ["Start"]


def test_six_old_weeks_are_kept_and_no_more(tmp_path: Path) -> None:
    clock = Clock(WED)
    (tmp_path / "backup.6").write_text("left over from keep=7\n")   # beyond .5: dropped
    log = EventLog(tmp_path, clock=clock)
    for week in range(9):
        clock.now = WED + week * WEEK
        log.record("dmp", f"/v/({week})", "Start")
    log.close()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["backup", "backup.0", "backup.1", "backup.2", "backup.3", "backup.4", "backup.5"]
    assert read_events(tmp_path / "backup")[0].identifier == "/v/(8)"
    for n in range(6):
        assert read_events(tmp_path / f"backup.{n}")[0].identifier == f"/v/({7 - n})"
    assert [p.name for p in log_files(tmp_path)] == ["backup.5", "backup.4", "backup.3", "backup.2",
                                                   "backup.1", "backup.0", "backup"]


def test_an_interrupted_rotation_is_finished_without_losing_a_week(tmp_path: Path) -> None:
    def week_file(name: str, week: int) -> None:
        rec = EventRecord("dmp", datetime.fromtimestamp(WED - week * WEEK, UTC), f"/v/({week})", "Start")
        (tmp_path / name).write_text(rec.line() + "\n")

    # backup=week 0 (this week), .0..5 = weeks 1..6; the crash came after .4->.5, .3->.4, .2->.3.
    week_file("backup", 0)
    week_file("backup.0", 1)
    week_file("backup.1", 2)
    week_file("backup.3", 3)
    week_file("backup.4", 4)
    week_file("backup.5", 5)
    EventLog(tmp_path, clock=Clock(SUN)).close()
    for n in range(6):
        assert read_events(tmp_path / f"backup.{n}")[0].identifier == f"/v/({n})"
    assert [e.event for e in read_events(tmp_path / "backup")] == ["Start_Logging"]


def test_a_record_torn_by_a_crash_does_not_swallow_the_next(tmp_path: Path) -> None:
    (tmp_path / "backup").write_text("dmp Wed Jan  3 12:00:00 GMT 2024 /v/(1) Start (level 0)\ndmp Wed Ja")
    log = EventLog(tmp_path, clock=Clock(WED + 60))
    log.record("dmp", "/v/(1)", "End", "1 MB")
    assert lines(log.path)[1:] == ["dmp Wed Ja", "log Wed Jan  3 12:01:00 GMT 2024 Start_Logging",
                                   "dmp Wed Jan  3 12:01:00 GMT 2024 /v/(1) End (1 MB)"]
    assert [e.event for e in read_events(log.path)] == ["Start", "Start_Logging", "End"]


# -- concurrency ---------------------------------------------------------------------------

def test_many_threads_write_whole_lines(tmp_path: Path) -> None:
    log = EventLog(tmp_path, clock=Clock(WED))
    threads, per_thread = 16, 150
    start = threading.Barrier(threads)

    def work(t: int) -> None:
        start.wait()
        for i in range(per_thread):
            log.record("dmp", f"/vol/t{t}/({i})", "Options", f"{t}:{i} " + "x" * 700)

    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    raw = log.path.read_bytes()
    assert raw.endswith(b"\n") and raw.count(b"\n") == threads * per_thread + 1
    events = read_events(log.path)[1:]
    assert len(events) == threads * per_thread
    seen: dict[int, list[int]] = {}
    for e in events:
        t, i = map(int, e.info.split(" ")[0].split(":"))
        assert e.identifier == f"/vol/t{t}/({i})" and e.info.endswith(" " + "x" * 700)
        seen.setdefault(t, []).append(i)
    assert seen == {t: list(range(per_thread)) for t in range(threads)}


# -- failures ------------------------------------------------------------------------------

def test_an_impossible_directory_warns_once_and_never_raises(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "file").write_text("")
    log = EventLog(tmp_path / "file" / "log", clock=Clock(WED))
    for i in range(5):
        log.record("dmp", f"/v/({i})", "Start")
        log.tape_event(i, "Tape_open", "nrst0a", writing=True)
    assert not log.rotate_if_due()
    log.set_enabled(False)
    assert len(warnings_of(caplog)) == 1
    assert "backup event log" in warnings_of(caplog)[0].getMessage()


def test_a_removed_directory_warns_once_then_logging_resumes(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="ndmp.event_log")
    d = tmp_path / "log"
    log = EventLog(d, clock=Clock(WED))
    shutil.rmtree(d)
    log.record("dmp", "/v/(1)", "Start")
    log.record("dmp", "/v/(1)", "End")
    assert len(warnings_of(caplog)) == 1
    d.mkdir()
    log.record("dmp", "/v/(2)", "Start")
    assert [e.identifier for e in read_events(log.path)] == ["/v/(2)"]
    assert any("writing again" in r.getMessage() for r in caplog.records)


class FullDisk:
    """The event log's view of ``os`` when the disk fills: the first write takes part of
    the record, every later write fails with ENOSPC."""

    def __init__(self) -> None:
        self.calls = 0

    def __getattr__(self, name: str):
        return getattr(os, name)

    def write(self, fd: int, data) -> int:
        self.calls += 1
        if self.calls == 1:
            return os.write(fd, bytes(data[:10]))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_full_disk_leaves_whole_lines_and_never_raises(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    log = EventLog(tmp_path, clock=Clock(WED))
    before = log.path.read_bytes()
    monkeypatch.setattr(event_log, "os", FullDisk())
    for i in range(3):
        log.record("dmp", f"/v/({i})", "Start", "level 0")
    assert log.path.read_bytes() == before           # the torn record was cut back off
    assert len(warnings_of(caplog)) == 1
    assert "No space left on device" in warnings_of(caplog)[0].getMessage()
    monkeypatch.setattr(event_log, "os", os)
    log.record("dmp", "/v/(3)", "Start", "level 0")
    assert [e.identifier for e in read_events(log.path)] == [None, "/v/(3)"]


class NoRenames:
    def __getattr__(self, name: str):
        return getattr(os, name)

    def replace(self, src, dst) -> None:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(src))


def test_a_rotation_that_fails_keeps_writing_the_current_file(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock(WED)
    log = EventLog(tmp_path, clock=clock)
    monkeypatch.setattr(event_log, "os", NoRenames())
    clock.now = SUN
    log.record("dmp", "/v/(1)", "Start")
    log.record("dmp", "/v/(1)", "End")
    assert [e.event for e in read_events(log.path)] == ["Start_Logging", "Start", "End"]
    assert len(warnings_of(caplog)) == 1 and "cannot rotate" in warnings_of(caplog)[0].getMessage()
    monkeypatch.setattr(event_log, "os", os)
    assert log.rotate_if_due()
    assert [e.event for e in read_events(tmp_path / "backup.0")] == ["Start_Logging", "Start", "End"]


# -- reader --------------------------------------------------------------------------------

def test_reader_takes_ontap_lines(tmp_path: Path) -> None:
    f = tmp_path / "backup"
    f.write_text("log Thu Apr 5 18:50:00 GMT 2001 Start_Logging\n"
                 "dmp Thu Apr 5 18:54:56 GMT 2001 /vol/vol0/home(5) Start (level 0, NDMP)\n"
                 "dmp Thu Apr 5 18:54:57 GMT 2001 /vol/vol0/home(5) Snapshot (snapshot_for_backup.6, Apr 5 18:54:56 GMT)\n"
                 "not a record\n"
                 "rst Thu Apr 5 19:00:00 GMT 2001 Start (no identifier)\n"
                 "log Thu Apr 5 19:10:00 GMT 2001 Stop_Logging\n")
    ev = read_events(f)
    assert [(e.kind, e.identifier, e.event, e.info) for e in ev] == [
        ("log", None, "Start_Logging", ""),
        ("dmp", "/vol/vol0/home(5)", "Start", "level 0, NDMP"),
        ("dmp", "/vol/vol0/home(5)", "Snapshot", "snapshot_for_backup.6, Apr 5 18:54:56 GMT"),
        ("log", None, "Stop_Logging", ""),
    ]
    assert ev[1].timestamp == datetime(2001, 4, 5, 18, 54, 56, tzinfo=UTC)
    with pytest.raises(FileNotFoundError):
        read_events(tmp_path / "backup.0")


def test_read_events_round_trip(tmp_path: Path) -> None:
    clock = Clock(at(2024, 12, 31, 23, 59, 59))
    log = EventLog(tmp_path, clock=clock, node="n")
    written = [
        ("dmp", "/vserver/vol1/(12)", "Start", "level 0, NDMP"),
        ("dmp", "/vserver/vol1/(12)", "Options", "b=63, B=1000000, u (ignored)"),
        ("rst", "/vserver/restore dir/ü", "Phase_change", "III"),
        ("rst", "/vserver/restore dir/ü", "End", ""),
        ("dmp", "/vserver/vol1/(12)", "Abort", "1.5 MB"),
    ]
    for kind, ident, event, info in written:
        log.record(kind, ident, event, info)
    log.close()
    ev = read_events(log.path)
    assert [(e.kind, e.identifier, e.event, e.info) for e in ev[1:]] == written
    assert all(e.timestamp == datetime(2024, 12, 31, 23, 59, 59, tzinfo=UTC) for e in ev)
    assert [e.line() for e in ev] == lines(log.path)
    assert all(EventRecord.parse(e.line()) == e for e in ev)
