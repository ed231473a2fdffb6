"""The node's state store: one SQLite file in WAL mode.

It holds what must outlive the daemon: where every cartridge is, the
cartridge catalog, aliases, persistent reservations (APTPL), drive settings
and counters, and settings changed at run time (`vtl ndmp on|off|modify`).
The configuration says what a library *is*; the store says what happened to
it.

Two rules make kill -9 harmless:

* **A move is one transaction.**  A cartridge's place is one row of
  ``locations`` (primary key: the barcode; unique: library + element), so the
  schema itself forbids a cartridge in two elements or two cartridges in one.
  A cartridge with no row is outside every library (exported, "in the vault").
* **Work that touches the store and the filesystem is journalled first.**
  Creating a cartridge writes an intent row to ``pending`` before the
  directory is made and deletes it in the transaction that catalogs the
  cartridge.  At start-up :meth:`Store.pending` hands the leftovers to the
  library, which finishes each one forward (the burp "finishing" idea in
  seed 003): the directory is there and opens, so catalog it; or it is not,
  so forget the intent.

``synchronous=FULL``: a move acknowledged to a host or an operator is on disk.
"""
from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

SCHEMA_VERSION = 3

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cartridges (
    barcode  TEXT PRIMARY KEY COLLATE NOCASE,
    library  TEXT NOT NULL,
    media    TEXT NOT NULL,
    path     TEXT NOT NULL,
    created  REAL NOT NULL,
    loads    INTEGER NOT NULL DEFAULT 0,
    moves    INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS locations (
    barcode  TEXT PRIMARY KEY COLLATE NOCASE REFERENCES cartridges(barcode) ON DELETE CASCADE,
    library  TEXT NOT NULL,
    address  INTEGER NOT NULL,
    source   INTEGER,
    imported INTEGER NOT NULL DEFAULT 0,
    UNIQUE (library, address)
);
CREATE TABLE IF NOT EXISTS pending (
    id      INTEGER PRIMARY KEY,
    op      TEXT NOT NULL,
    barcode TEXT NOT NULL,
    detail  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS aliases (
    name    TEXT PRIMARY KEY,
    kind    TEXT NOT NULL,
    mapping TEXT NOT NULL COLLATE NOCASE
);
CREATE TABLE IF NOT EXISTS reservations (
    serial TEXT PRIMARY KEY,
    state  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS devices (
    serial  TEXT PRIMARY KEY,
    online  INTEGER NOT NULL DEFAULT 1,
    trace   INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS counters (
    serial TEXT NOT NULL,
    name   TEXT NOT NULL,
    value  INTEGER NOT NULL,
    PRIMARY KEY (serial, name)
);
CREATE TABLE IF NOT EXISTS kernel_objects (
    path    TEXT PRIMARY KEY,
    kind    TEXT NOT NULL,
    created REAL NOT NULL
);
"""

# Schema changes since version 1, applied in order to an older store when it is opened
# (inside the same transaction that records the new version).  Each is idempotent.
_MIGRATIONS: dict[int, str] = {
    # 2: settings operators change at run time (`vtl ndmp on|off|modify`), which outlive
    # the daemon and override the configuration file.  ``value`` is JSON.
    2: """
CREATE TABLE IF NOT EXISTS settings (
    scope TEXT NOT NULL,
    name  TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (scope, name)
);
""",
    # 3: which drive (serial) sat at each drive element at the last start, so that a
    # cartridge stays in its drive when a configuration edit moves or removes drives; and
    # each library's changer serial and first slot and mailslot addresses, so that a
    # library renamed in the file keeps its cartridges, and renumbered slots keep theirs.
    3: """
CREATE TABLE IF NOT EXISTS drive_elements (
    library TEXT NOT NULL,
    address INTEGER NOT NULL,
    serial  TEXT NOT NULL COLLATE NOCASE,
    PRIMARY KEY (library, address)
);
CREATE TABLE IF NOT EXISTS library_layouts (
    library       TEXT PRIMARY KEY,
    changer       TEXT NOT NULL COLLATE NOCASE,
    storage       INTEGER NOT NULL,
    slots         INTEGER NOT NULL,
    import_export INTEGER NOT NULL,
    mailslots     INTEGER NOT NULL
);
""",
}


@dataclass(frozen=True)
class LibraryLayout:
    changer: str          # the changer's serial: what a library is, whatever its name
    storage: int          # first storage slot address
    slots: int
    import_export: int    # first mailslot address
    mailslots: int


@dataclass(frozen=True)
class Location:
    barcode: str
    library: str
    address: int
    source: int | None
    imported: bool


@dataclass(frozen=True)
class CatalogEntry:
    barcode: str
    library: str
    media: str
    path: str
    created: float
    loads: int
    moves: int


@dataclass(frozen=True)
class Intent:
    id: int
    op: str
    barcode: str
    detail: dict[str, Any]


class StoreError(Exception):
    pass


class Store:
    """One connection, serialised by a lock: the daemon's threads share it."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                       timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as e:
            raise StoreError(f"{self.path}: cannot open the state store ({e}). Fix: restore it from a "
                             "backup, or move it aside to start with an empty library state.") from None
        self._lock = threading.RLock()
        with self.transaction() as db:
            row = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
            version = 0 if row is None else int(row[0])
            if version > SCHEMA_VERSION:
                raise StoreError(f"{self.path}: written by a newer vtl (schema {row[0]}). "
                                 "Fix: run that version, or use another state file.")
            for step in range(max(version, 1) + 1, SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[step].split(";"):
                    if statement.strip():
                        db.execute(statement)
            if version < SCHEMA_VERSION:
                db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- transactions --------------------------------------------------------------
    class _Tx:
        def __init__(self, store: "Store"):
            self.store = store

        def __enter__(self) -> sqlite3.Connection:
            self.store._lock.acquire()
            self.store._db.execute("BEGIN IMMEDIATE")
            return self.store._db

        def __exit__(self, kind, value, tb) -> None:
            try:
                self.store._db.execute("COMMIT" if kind is None else "ROLLBACK")
            finally:
                self.store._lock.release()

    def transaction(self) -> "_Tx":
        """``with store.transaction() as db:`` — all or nothing, durable on exit."""
        return Store._Tx(self)

    def _query(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # -- catalog and locations ---------------------------------------------------------
    def catalog(self, library: str | None = None) -> list[CatalogEntry]:
        sql = "SELECT barcode, library, media, path, created, loads, moves FROM cartridges"
        rows = self._query(sql + (" WHERE library=? ORDER BY barcode" if library else " ORDER BY barcode"),
                           (library,) if library else ())
        return [CatalogEntry(*r) for r in rows]

    def entry(self, barcode: str) -> CatalogEntry | None:
        rows = self._query("SELECT barcode, library, media, path, created, loads, moves FROM cartridges "
                           "WHERE barcode=?", (barcode,))
        return CatalogEntry(*rows[0]) if rows else None

    def locations(self, library: str | None = None) -> list[Location]:
        sql = "SELECT barcode, library, address, source, imported FROM locations"
        rows = self._query(sql + (" WHERE library=?" if library else ""), (library,) if library else ())
        return [Location(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows]

    def location(self, barcode: str) -> Location | None:
        rows = self._query("SELECT barcode, library, address, source, imported FROM locations "
                           "WHERE barcode=?", (barcode,))
        return Location(rows[0][0], rows[0][1], rows[0][2], rows[0][3], bool(rows[0][4])) if rows else None

    def add_cartridge(self, db: sqlite3.Connection, barcode: str, library: str, media: str, path: str,
                      address: int | None, *, imported: bool = False, intent: int | None = None) -> None:
        """Catalog a cartridge and (with an address) place it; inside a transaction."""
        db.execute("INSERT INTO cartridges (barcode, library, media, path, created) VALUES (?,?,?,?,?)",
                   (barcode, library, media, path, time.time()))
        if address is not None:
            db.execute("INSERT INTO locations VALUES (?,?,?,?,?)", (barcode, library, address, None, int(imported)))
        if intent is not None:
            db.execute("DELETE FROM pending WHERE id=?", (intent,))

    def move(self, db: sqlite3.Connection, barcode: str, destination: int, source: int | None, *,
             imported: bool = False, load: bool = False) -> None:
        """Record that ``barcode`` is now at ``destination``; inside a transaction."""
        cur = db.execute("UPDATE locations SET address=?, source=?, imported=? WHERE barcode=?",
                         (destination, source, int(imported), barcode))
        if cur.rowcount != 1:
            raise StoreError(f"cartridge {barcode} is not in a library")
        db.execute("UPDATE cartridges SET moves = moves + 1, loads = loads + ? WHERE barcode=?",
                   (int(load), barcode))

    def place(self, db: sqlite3.Connection, barcode: str, library: str, address: int, *,
              imported: bool = False) -> None:
        """Put a cataloged cartridge that is outside every library into an element."""
        db.execute("INSERT INTO locations VALUES (?,?,?,?,?)", (barcode, library, address, None, int(imported)))
        db.execute("UPDATE cartridges SET library=? WHERE barcode=?", (library, barcode))

    def take_out(self, db: sqlite3.Connection, barcode: str) -> None:
        """The cartridge leaves the library (exported); the catalog keeps it."""
        db.execute("DELETE FROM locations WHERE barcode=?", (barcode,))

    def rehome(self, db: sqlite3.Connection, library: str, moves: list[tuple[Location, int | None]]) -> None:
        """Put cartridges of ``library`` at new addresses all at once (so two may swap);
        None takes one out of the library.  A cartridge put in a slot has no source."""
        for loc, _ in moves:
            db.execute("DELETE FROM locations WHERE barcode=?", (loc.barcode,))
        for loc, address in moves:
            if address is not None:
                db.execute("INSERT INTO locations VALUES (?,?,?,?,?)",
                           (loc.barcode, library, address, loc.source, int(loc.imported)))

    def drive_elements(self, library: str) -> dict[int, str]:
        """Element address -> serial of the drive there, as of the last start."""
        return dict(self._query("SELECT address, serial FROM drive_elements WHERE library=?", (library,)))

    def set_drive_elements(self, db: sqlite3.Connection, library: str, elements: dict[int, str]) -> None:
        db.execute("DELETE FROM drive_elements WHERE library=?", (library,))
        db.executemany("INSERT INTO drive_elements VALUES (?,?,?)",
                       [(library, address, serial) for address, serial in elements.items()])

    def library_layouts(self) -> dict[str, LibraryLayout]:
        """Library name -> its changer serial and first slot and mailslot addresses, as of
        the last start."""
        return {r[0]: LibraryLayout(*r[1:]) for r in self._query(
            "SELECT library, changer, storage, slots, import_export, mailslots FROM library_layouts")}

    def set_library_layout(self, db: sqlite3.Connection, library: str, layout: LibraryLayout) -> None:
        db.execute("INSERT OR REPLACE INTO library_layouts VALUES (?,?,?,?,?,?)",
                   (library, layout.changer, layout.storage, layout.slots, layout.import_export,
                    layout.mailslots))

    def rename_library(self, db: sqlite3.Connection, old: str, new: str) -> None:
        """Everything the store keeps of library ``old`` is library ``new``'s from now on."""
        for table in ("cartridges", "locations", "drive_elements", "library_layouts"):
            db.execute(f"UPDATE {table} SET library=? WHERE library=?", (new, old))

    def placed_libraries(self) -> dict[str, int]:
        """Library name -> how many cartridges the store places in it."""
        return dict(self._query("SELECT library, COUNT(*) FROM locations GROUP BY library"))

    def forget(self, db: sqlite3.Connection, barcode: str) -> None:
        db.execute("DELETE FROM cartridges WHERE barcode=?", (barcode,))

    # -- intents (finishing) ----------------------------------------------------------
    def intend(self, op: str, barcode: str, **detail: Any) -> int:
        with self.transaction() as db:
            cur = db.execute("INSERT INTO pending (op, barcode, detail) VALUES (?,?,?)",
                             (op, barcode, json.dumps(detail)))
            return int(cur.lastrowid)

    def intend_many(self, op: str, items: list[tuple[str, dict[str, Any]]]) -> list[int]:
        """Several intents in one transaction (one fsync), ids in order."""
        with self.transaction() as db:
            return [int(db.execute("INSERT INTO pending (op, barcode, detail) VALUES (?,?,?)",
                                   (op, barcode, json.dumps(detail))).lastrowid)
                    for barcode, detail in items]

    def pending(self) -> list[Intent]:
        return [Intent(r[0], r[1], r[2], json.loads(r[3]))
                for r in self._query("SELECT id, op, barcode, detail FROM pending ORDER BY id")]

    def done(self, intent: int) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM pending WHERE id=?", (intent,))

    # -- aliases -------------------------------------------------------------------------
    def aliases(self) -> list[tuple[str, str, str]]:
        return [tuple(r) for r in self._query("SELECT name, kind, mapping FROM aliases ORDER BY kind, name")]

    def set_alias(self, name: str, kind: str, mapping: str, replacing: tuple[str, ...] = ()) -> None:
        """Set ``name`` and drop the names it ``replaces`` (other names of the same device)
        in one transaction: a crash or a full disk leaves the old name or the new one."""
        with self.transaction() as db:
            for old in replacing:
                db.execute("DELETE FROM aliases WHERE kind=? AND name=?", (kind, old))
            db.execute("INSERT OR REPLACE INTO aliases VALUES (?,?,?)", (name, kind, mapping))

    def clear_aliases(self, kinds: tuple[str, ...], name: str | None = None) -> int:
        with self.transaction() as db:
            marks = ",".join("?" * len(kinds))
            if name is None:
                cur = db.execute(f"DELETE FROM aliases WHERE kind IN ({marks})", kinds)
            else:
                cur = db.execute(f"DELETE FROM aliases WHERE kind IN ({marks}) AND name=?", (*kinds, name))
            return cur.rowcount

    # -- reservations (APTPL) ---------------------------------------------------------
    def reservation_state(self, serial: str) -> dict | None:
        rows = self._query("SELECT state FROM reservations WHERE serial=?", (serial,))
        return json.loads(rows[0][0]) if rows else None

    def save_reservations(self, serial: str, state: dict | None) -> None:
        with self.transaction() as db:
            if state is None:
                db.execute("DELETE FROM reservations WHERE serial=?", (serial,))
            else:
                db.execute("INSERT OR REPLACE INTO reservations VALUES (?,?)", (serial, json.dumps(state)))

    # -- devices: online/offline, trace, counters -------------------------------------
    def device_flags(self, serial: str) -> tuple[bool, bool]:
        rows = self._query("SELECT online, trace FROM devices WHERE serial=?", (serial,))
        return (bool(rows[0][0]), bool(rows[0][1])) if rows else (True, False)

    def set_device_flags(self, serial: str, *, online: bool | None = None, trace: bool | None = None) -> None:
        cur_online, cur_trace = self.device_flags(serial)
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO devices VALUES (?,?,?)",
                       (serial, int(cur_online if online is None else online),
                        int(cur_trace if trace is None else trace)))

    def counters(self, serial: str) -> dict[str, int]:
        return dict(self._query("SELECT name, value FROM counters WHERE serial=?", (serial,)))

    def save_counters(self, serial: str, values: dict[str, int]) -> None:
        with self.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO counters VALUES (?,?,?)",
                           [(serial, k, int(v)) for k, v in values.items()])

    # -- kernel target objects (vtl.lio) ---------------------------------------------
    def kernel_objects(self) -> list[tuple[str, str]]:
        """(configfs path, kind) of every LIO object this node made and has not removed,
        oldest first: after a crash, these are the leftovers that are surely ours."""
        return self._query("SELECT path, kind FROM kernel_objects ORDER BY created, rowid")

    def record_kernel_object(self, path: str, kind: str) -> None:
        """Written *before* the object is made, so a crash in between leaves a record
        of something that may exist rather than an object nobody knows is ours."""
        with self.transaction() as db:
            db.execute("INSERT OR IGNORE INTO kernel_objects VALUES (?,?,?)", (path, kind, time.time()))

    def forget_kernel_object(self, path: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM kernel_objects WHERE path=?", (path,))

    # -- run-time settings (`vtl ndmp on|off|modify`) ------------------------------------
    def settings(self, scope: str) -> dict[str, Any]:
        """The settings saved for ``scope`` (e.g. ``"ndmp"``), name -> value."""
        return {name: json.loads(value)
                for name, value in self._query("SELECT name, value FROM settings WHERE scope=?", (scope,))}

    def save_settings(self, scope: str, values: dict[str, Any]) -> None:
        """Save (or, with the value None, forget) settings of ``scope``, all at once."""
        with self.transaction() as db:
            for name, value in values.items():
                if value is None:
                    db.execute("DELETE FROM settings WHERE scope=? AND name=?", (scope, name))
                else:
                    db.execute("INSERT OR REPLACE INTO settings VALUES (?,?,?)",
                               (scope, name, json.dumps(value)))

    def clear_settings(self, scope: str) -> int:
        """Forget every setting of ``scope``; returns how many there were."""
        with self.transaction() as db:
            return db.execute("DELETE FROM settings WHERE scope=?", (scope,)).rowcount

    def integrity(self) -> Iterator[str]:
        """Problems a crash test or an operator should know about (none on a healthy store)."""
        for (msg,) in self._query("PRAGMA integrity_check"):
            if msg != "ok":
                yield msg
        for (barcode,) in self._query("SELECT l.barcode FROM locations l LEFT JOIN cartridges c "
                                      "ON c.barcode = l.barcode WHERE c.barcode IS NULL"):
            yield f"location without a catalog entry: {barcode}"
