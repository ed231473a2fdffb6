"""The dumpdates store: when each level of each path was last backed up.

UPDATE=Y records a finished backup here, and the base of a level-N backup is
the most recent recorded backup of a lower level of the same path (seed 002,
"What increment chains are": levels 0, 2, 3, 1, 4 give the chains 0-2-3 and
0-1-4).  One entry is kept per (path, level), as BSD dump's ``/etc/dumpdates``
does, so recording a level replaces that level's previous date.

The file is text, one entry a line (``path level seconds``, the path with
whitespace escaped), rewritten whole through a temporary file and ``rename`` so
that a crash leaves either the old or the new store, never half of one.
"""
from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DumpDate", "DumpDates"]


@dataclass(frozen=True)
class DumpDate:
    path: str
    level: int
    when: int           # seconds since the epoch


def _escape(path: str) -> str:
    return re.sub(r"[\s\\]", lambda m: f"\\{ord(m.group()):03o}", path)


def _unescape(field: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


class DumpDates:
    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self._lock = threading.Lock()

    def entries(self) -> list[DumpDate]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        found = []
        for line in text.splitlines():
            parts = line.split()
            if len(parts) != 3:
                continue            # a damaged line loses that entry only (a level 0 fixes it)
            try:
                found.append(DumpDate(_unescape(parts[0]), int(parts[1]), int(parts[2])))
            except ValueError:
                continue
        return found

    def base(self, path: str, level: int) -> DumpDate | None:
        """The most recent backup of ``path`` at a level lower than ``level``."""
        lower = [d for d in self.entries() if d.path == path and d.level < level]
        return max(lower, key=lambda d: (d.when, d.level), default=None)

    def record(self, path: str, level: int, when: int) -> None:
        with self._lock:
            kept = [d for d in self.entries() if not (d.path == path and d.level == level)]
            kept.append(DumpDate(path, level, when))
            kept.sort(key=lambda d: (d.path, d.level))
            body = "".join(f"{_escape(d.path)} {d.level} {d.when}\n" for d in kept)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(self.path.name + ".tmp")
            try:
                with open(tmp, "w", encoding="utf-8") as f:
                    f.write(body)
                    f.flush()
                    os.fsync(f.fileno())
            except OSError:
                tmp.unlink(missing_ok=True)    # the old file stands; no half-written copy is left
                raise
            os.replace(tmp, self.path)
            dir_fd = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
