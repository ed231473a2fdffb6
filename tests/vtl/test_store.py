"""The SQLite state store: the schema forbids a cartridge in two places."""
from __future__ import annotations

import sqlite3

import pytest

from vtl.store import Store, StoreError


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "state.sqlite")
    yield s
    s.close()


def add(store: Store, barcode: str, address: int | None) -> None:
    with store.transaction() as db:
        store.add_cartridge(db, barcode, "lib0", "LTO8", f"/x/{barcode}", address)


def test_wal_mode_and_full_sync(store):
    assert store._query("PRAGMA journal_mode")[0][0] == "wal"
    assert store._query("PRAGMA synchronous")[0][0] == 2   # FULL


def test_one_cartridge_per_element_and_one_element_per_cartridge(store):
    add(store, "A00001L8", 4096)
    with pytest.raises(sqlite3.IntegrityError):
        add(store, "A00002L8", 4096)
    assert store.entry("A00002L8") is None, "the failed transaction left nothing behind"
    with pytest.raises(sqlite3.IntegrityError):
        with store.transaction() as db:
            db.execute("INSERT INTO locations VALUES ('a00001l8', 'lib0', 4097, NULL, 0)")  # case-insensitive


def test_a_move_is_one_transaction(store):
    add(store, "A00001L8", 4096)
    add(store, "A00002L8", 4097)
    with pytest.raises(sqlite3.IntegrityError):
        with store.transaction() as db:
            store.move(db, "A00001L8", 4097, 4096)
    assert store.location("A00001L8").address == 4096
    with store.transaction() as db:
        store.move(db, "A00001L8", 256, 4096, load=True)
    loc = store.location("A00001L8")
    assert (loc.address, loc.source) == (256, 4096)
    entry = store.entry("A00001L8")
    assert (entry.loads, entry.moves) == (1, 1)


def test_export_keeps_the_catalog_entry(store):
    add(store, "A00001L8", 4096)
    with store.transaction() as db:
        store.take_out(db, "A00001L8")
    assert store.location("A00001L8") is None
    assert store.entry("A00001L8") is not None
    with store.transaction() as db:
        store.place(db, "A00001L8", "lib1", 16, imported=True)
    loc = store.location("A00001L8")
    assert (loc.library, loc.address, loc.imported) == ("lib1", 16, True)


def test_intents_are_kept_until_done(tmp_path):
    s = Store(tmp_path / "s.sqlite")
    i = s.intend("create", "A00009L8", path="/x", media="LTO8")
    s.close()
    s = Store(tmp_path / "s.sqlite")
    [intent] = s.pending()
    assert (intent.id, intent.op, intent.barcode, intent.detail["media"]) == (i, "create", "A00009L8", "LTO8")
    with s.transaction() as db:
        s.add_cartridge(db, "A00009L8", "lib0", "LTO8", "/x", 4096, intent=i)
    assert s.pending() == []
    s.close()


def test_aliases_reservations_flags_counters_survive_reopen(tmp_path):
    s = Store(tmp_path / "s.sqlite")
    s.set_alias("st0", "tape", "SN[ABC]L1")
    s.set_alias("mc0", "media-changer", "SN[XYZ]")
    s.save_reservations("ABC", {"aptpl": True, "registrations": []})
    s.set_device_flags("ABC", online=False)
    s.set_device_flags("ABC", trace=True)
    s.save_counters("ABC", {"loads": 3, "blocks_written": 10})
    s.close()
    s = Store(tmp_path / "s.sqlite")
    assert s.aliases() == [("mc0", "media-changer", "SN[XYZ]"), ("st0", "tape", "SN[ABC]L1")]
    assert s.reservation_state("ABC") == {"aptpl": True, "registrations": []}
    assert s.device_flags("ABC") == (False, True)
    assert s.device_flags("other") == (True, False)
    assert s.counters("ABC") == {"loads": 3, "blocks_written": 10}
    assert s.clear_aliases(("tape",)) == 1
    assert s.aliases() == [("mc0", "media-changer", "SN[XYZ]")]
    assert list(s.integrity()) == []
    s.close()


def test_a_damaged_store_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="cannot open the state store.*Fix"):
        Store(path)


def test_settings_outlive_the_store_and_none_forgets(tmp_path):
    path = tmp_path / "state.sqlite"
    s = Store(path)
    s.save_settings("ndmp", {"port": 10500, "authtype": ["challenge"], "enabled": False})
    s.close()
    s = Store(path)
    assert s.settings("ndmp") == {"port": 10500, "authtype": ["challenge"], "enabled": False}
    assert s.settings("other") == {}
    s.save_settings("ndmp", {"port": None, "event_log": True})
    assert s.settings("ndmp") == {"authtype": ["challenge"], "enabled": False, "event_log": True}
    assert s.clear_settings("ndmp") == 3 and s.settings("ndmp") == {}
    s.close()


def test_a_schema_1_store_is_migrated_and_keeps_its_contents(tmp_path):
    path = tmp_path / "state.sqlite"
    old = sqlite3.connect(path)                      # what vtl wrote before the settings table
    from vtl.store import _SCHEMA
    old.executescript(_SCHEMA)
    old.execute("INSERT INTO meta VALUES ('schema', '1')")
    old.execute("INSERT INTO aliases VALUES ('st0', 'tape', 'SN[D1]L1')")
    old.commit()
    old.close()
    s = Store(path)
    assert s.aliases() == [("st0", "tape", "SN[D1]L1")]
    assert s._query("SELECT value FROM meta WHERE key='schema'") == [("3",)]
    s.save_settings("ndmp", {"enabled": False})
    assert s.settings("ndmp") == {"enabled": False}
    assert s.drive_elements("lib0") == {} and s.library_layouts() == {}     # 3: no history yet
    with s.transaction() as db:
        s.set_drive_elements(db, "lib0", {256: "D1"})
    assert s.drive_elements("lib0") == {256: "D1"}
    s.close()
