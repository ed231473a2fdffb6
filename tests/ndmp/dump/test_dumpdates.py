"""The dumpdates store and the seed's increment chain 0, 2, 3, 1, 4."""
from __future__ import annotations

from pathlib import Path

import pytest

from ndmp.dump.dumpdates import DumpDates


def test_bases_follow_the_seeds_table(tmp_path: Path) -> None:
    d = DumpDates(tmp_path / "dumpdates")
    path = "/vs1/vol1"
    assert d.base(path, 0) is None
    d.record(path, 0, 100)
    assert d.base(path, 2).level == 0           # level 2: base is the level 0
    d.record(path, 2, 200)
    assert d.base(path, 3).level == 2           # level 3: base is the level 2
    d.record(path, 3, 300)
    assert d.base(path, 1).level == 0           # level 1: the most recent lower level is 0
    d.record(path, 1, 400)
    base = d.base(path, 4)
    assert (base.level, base.when) == (1, 400)  # level 4: the level 1, more recent than 2 and 3


def test_one_entry_per_path_and_level_and_odd_paths(tmp_path: Path) -> None:
    d = DumpDates(tmp_path / "dumpdates")
    d.record("/vs1/my vol", 0, 1)
    d.record("/vs1/my vol", 0, 5)
    d.record("/vs2/other", 0, 3)
    assert [(e.path, e.when) for e in d.entries()] == [("/vs1/my vol", 5), ("/vs2/other", 3)]
    assert DumpDates(tmp_path / "dumpdates").base("/vs1/my vol", 1).when == 5


def test_damaged_lines_lose_only_themselves(tmp_path: Path) -> None:
    f = tmp_path / "dumpdates"
    f.write_text("/a 0 10\ngarbage\n/a 1 x\n/b 0 20\n")
    assert [(e.path, e.level) for e in DumpDates(f).entries()] == [("/a", 0), ("/b", 0)]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_copy(tmp_path, monkeypatch):
    import errno
    import ndmp.dump.dumpdates as module
    d = DumpDates(tmp_path / "dumpdates")
    d.record("/a", 0, 10)
    before = (tmp_path / "dumpdates").read_bytes()

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(module.os, "fsync", full)
    with pytest.raises(OSError):
        d.record("/a", 1, 20)
    assert (tmp_path / "dumpdates").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dumpdates"]
