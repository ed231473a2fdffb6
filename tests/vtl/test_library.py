"""The library model in-process: moves, drives, operator actions, restarts and
configuration changes, with the state store underneath."""
from __future__ import annotations

import os

import pytest

from images.cartridge import Cartridge, CartridgeError, Kind
from scsi import Nexus, Status
from scsi.sense import decode
from scsi.smc import ElementType, MoveRefused, Refusal
from scsi.ssc import DriveState
from support.daemon import small_config
from support.filesystems import fill, small_tmpfs
from support.format1 import make_format1
from vtl.config import loads
from vtl.library import LibraryError
from vtl.node import Node

A, B = Nexus("iqn.host-a"), Nexus("iqn.host-b")


def settle(device, nexus) -> None:
    """Take the pending unit attentions (power on, medium change) off ``nexus``."""
    for _ in range(8):
        r = device.execute(nexus, bytes(6))
        if r.status == Status.GOOD or decode(r.sense).key != 6:
            return


def node_for(tmp_path, **kw) -> Node:
    return Node(loads(small_config(**kw), base=tmp_path, source=tmp_path / "vtl.toml"))


@pytest.fixture
def node(tmp_path):
    n = node_for(tmp_path)
    yield n
    n.close()


def slots(lib):
    return [e for e in lib.elements() if e.type == ElementType.STORAGE]


def drive_addresses(lib):
    return [e.address for e in lib.elements() if e.type == ElementType.DATA_TRANSFER]


def test_configured_cartridges_are_created_and_placed(node, tmp_path):
    lib = node.library()
    full = [e for e in slots(lib) if e.full]
    assert [e.barcode for e in full] == [f"TST{i:03d}L8" for i in range(8)]
    assert len(slots(lib)) == 12
    assert (tmp_path / "cartridges" / "lib0" / "TST000L8" / "cartridge.json").exists()
    assert {a[0] for a in node.aliases()} == {"mc0", "st0", "st1"}


def test_a_move_into_a_drive_loads_it_and_out_requires_unload(node):
    lib = node.library()
    src = slots(lib)[0].address
    drv = drive_addresses(lib)[0]
    lib.move(src, drv)
    bay = lib.bays[drv]
    assert bay.drive.cartridge.barcode == "TST000L8"
    assert bay.drive.state == (DriveState.READY if bay.drive.personality.autoload else DriveState.INSERTED)
    bay.drive.thread() if bay.drive.state == DriveState.INSERTED else None
    with pytest.raises(MoveRefused) as e:
        lib.move(drv, src)
    assert e.value.refusal == Refusal.MEDIUM_LOADED
    assert node.store.location("TST000L8").address == drv
    bay.drive.unthread()
    lib.move(drv, src)
    assert bay.drive.cartridge is None and node.store.location("TST000L8").address == src
    assert lib.element(src).barcode == "TST000L8"


def test_operator_unload_goes_home_to_the_source_slot(node):
    lib = node.library()
    src = slots(lib)[3].address
    drv = drive_addresses(lib)[1]
    lib.load(src, drv)
    assert lib.unload(drv) == src
    assert lib.element(src).barcode == "TST003L8"


def test_removal_prevented_by_a_host_blocks_the_operator(node):
    lib = node.library()
    drv = drive_addresses(lib)[0]
    lib.load(slots(lib)[0].address, drv)
    d = node.find_device("st0")
    settle(d, A)
    assert d.execute(A, bytes([0x1E, 0, 0, 0, 1, 0])).status == Status.GOOD   # PREVENT
    with pytest.raises(LibraryError, match="prevented medium removal"):
        lib.unload(drv)
    assert d.execute(A, bytes([0x1E, 0, 0, 0, 0, 0])).status == Status.GOOD   # ALLOW
    lib.unload(drv)


def test_import_and_export_raise_a_unit_attention_on_the_changer(node):
    lib = node.library()
    mc = node.find_device("mc0")
    settle(mc, A)
    el = lib.import_cartridge("NEW001L8")
    assert el.type == ElementType.IMPORT_EXPORT and el.imported
    r = mc.execute(A, bytes(6))
    assert r.status == Status.CHECK_CONDITION
    sense = decode(r.sense)
    assert (sense.asc, sense.ascq) == (0x28, 0x01)
    assert node.store.location("NEW001L8").address == el.address
    lib.export_cartridge("NEW001L8")
    assert node.store.location("NEW001L8") is None and node.store.entry("NEW001L8") is not None
    again = lib.import_cartridge("NEW001L8")       # back from the vault
    assert again.barcode == "NEW001L8"


def test_a_locked_door_refuses_import_and_export(node):
    lib = node.library()
    mc = node.find_device("mc0")
    settle(mc, B)
    assert mc.execute(B, bytes([0x1E, 0, 0, 0, 1, 0])).status == Status.GOOD
    with pytest.raises(LibraryError, match="locked by a host"):
        lib.import_cartridge("NEW002L8")
    with pytest.raises(LibraryError, match="locked by a host"):
        lib.export_cartridge("TST000L8")
    assert mc.execute(B, bytes([0x1E, 0, 0, 0, 0, 0])).status == Status.GOOD
    lib.import_cartridge("NEW002L8")


def test_full_mailslots_and_drive_export_are_plain_errors(node):
    lib = node.library()
    lib.import_cartridge("NEW010L8")
    lib.import_cartridge("NEW011L8")
    with pytest.raises(LibraryError, match="import/export slot.*full"):
        lib.import_cartridge("NEW012L8")
    drv = drive_addresses(lib)[0]
    lib.load(slots(lib)[0].address, drv)
    with pytest.raises(LibraryError, match="Unload it first"):
        lib.export_cartridge("TST000L8")


def test_a_restart_puts_every_cartridge_back_where_the_store_says(tmp_path):
    n = node_for(tmp_path)
    lib = n.library()
    drv = drive_addresses(lib)
    lib.load(slots(lib)[0].address, drv[0])
    lib.move(slots(lib)[1].address, slots(lib)[11].address)
    n.close()
    n = node_for(tmp_path)
    lib = n.library()
    assert lib.bays[drv[0]].drive.cartridge.barcode == "TST000L8"
    assert lib.element(slots(lib)[11].address).barcode == "TST001L8"
    assert not lib.element(slots(lib)[1].address).full
    n.close()


def test_adding_slots_and_drives_keeps_cartridges_where_they_are(tmp_path):
    n = node_for(tmp_path)
    lib = n.library()
    lib.move(slots(lib)[0].address, slots(lib)[10].address)
    lib.load(slots(lib)[1].address, drive_addresses(lib)[1])
    before = {e.address: e.barcode for e in lib.elements() if e.full}
    n.close()
    n = node_for(tmp_path, slots=40, drives=4)
    lib = n.library()
    after = {e.address: e.barcode for e in lib.elements() if e.full}
    assert after == before
    assert len(slots(lib)) == 40 and len(drive_addresses(lib)) == 4
    assert {a[0] for a in n.aliases()} == {"mc0", "st0", "st1", "st2", "st3"}
    n.close()


def test_removing_slots_rehomes_their_cartridges(tmp_path):
    n = node_for(tmp_path)
    lib = n.library()
    lib.move(slots(lib)[0].address, slots(lib)[11].address)
    n.close()
    n = node_for(tmp_path, slots=10)
    lib = n.library()
    held = sorted(e.barcode for e in lib.elements() if e.full)
    assert held == [f"TST{i:03d}L8" for i in range(8)]
    n.close()


def test_an_interrupted_import_is_finished_at_start_up(tmp_path):
    n = node_for(tmp_path)
    lib = n.library()
    path = str(lib.cartridge_path("HALF01L8"))
    mail = [e for e in lib.elements() if e.type == ElementType.IMPORT_EXPORT][0].address
    n.store.intend("create", "HALF01L8", library="lib0", path=path, media="LTO8", address=mail, imported=True)
    Cartridge.create(path, "LTO8", "HALF01L8").close()      # ...and then the daemon died
    # killed before its directory was made: finished too, where the intent said (outside the library)
    early = str(lib.cartridge_path("EARLY1L8"))
    n.store.intend("create", "EARLY1L8", library="lib0", path=early, media="LTO8", address=None)
    # killed with the label half written (a power cut after the rename): made again
    torn = str(lib.cartridge_path("TORN01L8"))
    n.store.intend("create", "TORN01L8", library="lib0", path=torn, media="LTO8", address=None)
    os.makedirs(torn)
    open(os.path.join(torn, "cartridge.json"), "w").close()
    n.close()
    n = node_for(tmp_path)
    assert n.store.pending() == []
    assert n.library().element(mail).barcode == "HALF01L8"
    for barcode, path in (("EARLY1L8", early), ("TORN01L8", torn)):
        assert n.store.entry(barcode).path == path and n.store.location(barcode) is None
        Cartridge.open(path).close()
    n.close()


def test_aptpl_reservations_survive_a_restart(tmp_path):
    n = node_for(tmp_path)
    d = n.find_device("st0")
    settle(d, A)
    key = (0x1234).to_bytes(8, "big")
    params = bytes(8) + key + bytes(4) + bytes([0x01]) + bytes(3)   # SPEC_I_PT=0, APTPL=1
    cdb = bytes([0x5F, 0x00, 0, 0, 0, 0, 0, 0, len(params), 0])     # REGISTER
    assert d.execute(A, cdb, params).status == Status.GOOD
    n.close()
    n = node_for(tmp_path)
    regs = n.find_device("st0").device.reservations.registrations
    assert [(r.initiator, r.key) for r in regs] == [("iqn.host-a", 0x1234)]
    n.close()


def test_offline_drive_is_not_accessible(node):
    lib = node.library()
    drv = drive_addresses(lib)[0]
    lib.set_online(drv, False)
    assert not lib.element(drv).accessible
    with pytest.raises(MoveRefused) as e:
        lib.move(slots(lib)[0].address, drv)
    assert e.value.refusal == Refusal.NOT_ACCESSIBLE
    lib.set_online(drv, True)
    lib.move(slots(lib)[0].address, drv)


def test_devices_are_found_by_alias_serial_and_mapping(node):
    assert node.find_device("st1").serial == "TESTDRV1"
    assert node.find_device("testdrv0").serial == "TESTDRV0"
    assert node.find_device("SN[TESTDRV1]L2").serial == "TESTDRV1"
    assert node.find_device("sn[testchg0]").kind == "media-changer"
    with pytest.raises(LibraryError, match="No device is called"):
        node.find_device("st9")


def test_a_new_alias_replaces_the_old_one_in_one_transaction(node):
    """One name per device: st9 for st0's drive takes st0's place, both or neither (a
    store that refuses the new name keeps the old one, rather than leaving no name)."""
    import sqlite3
    mapping = dict((n, m) for n, _, m in node.aliases())["st0"]
    with node.store.transaction() as db:
        db.execute("CREATE TEMP TRIGGER refuse BEFORE INSERT ON aliases WHEN NEW.name = 'st9' "
                   "BEGIN SELECT RAISE(ABORT, 'the disk is full'); END")
    with pytest.raises(sqlite3.DatabaseError, match="the disk is full"):
        node.set_alias("st9", mapping)
    assert {n for n, _, _ in node.aliases()} == {"mc0", "st0", "st1"}
    assert node.find_device("st0").serial == "TESTDRV0"
    with node.store.transaction() as db:
        db.execute("DROP TRIGGER refuse")
    node.set_alias("st9", mapping)
    assert {n for n, _, _ in node.aliases()} == {"mc0", "st9", "st1"}
    assert node.find_device("st9").serial == "TESTDRV0"


def test_a_drive_given_another_lun_keeps_its_alias(tmp_path, caplog):
    """Aliases name SN[serial]L<lun>: a LUN changed in the file moves the alias with the
    drive, instead of leaving it dangling and giving the drive a new name."""
    import logging
    text = small_config()
    Node(loads(text, base=tmp_path, source=tmp_path / "vtl.toml")).close()
    moved = text.replace('serial = "TESTDRV0"\nlun = 1', 'serial = "TESTDRV0"\nlun = 5')
    assert moved != text
    with caplog.at_level(logging.WARNING, logger="vtl.node"):
        n = Node(loads(moved, base=tmp_path, source=tmp_path / "vtl.toml"))
    assert sorted(n.aliases()) == [("mc0", "media-changer", "SN[TESTCHG0]"), ("st0", "tape", "SN[TESTDRV0]L5"),
                                   ("st1", "tape", "SN[TESTDRV1]L2")]
    assert (n.find_device("st0").serial, n.find_device("st0").lun) == ("TESTDRV0", 5)
    assert [r.getMessage() for r in caplog.records] == [
        "node testnode: drive TESTDRV0 is now at LUN 5; alias st0 follows it (was SN[TESTDRV0]L1)"]
    n.close()


def test_only_a_bad_label_is_made_again_at_start(tmp_path, caplog):
    """A configured cartridge's directory with a torn label (a crash while making it) is
    made again; one that another tool has open is left alone, and the start says why."""
    import logging
    storage = tmp_path / "cartridges" / "lib0"
    (storage / "TST000L8").mkdir(parents=True)
    (storage / "TST000L8" / "cartridge.json").write_text('{"format": 1, "barc')
    with Cartridge.create(str(storage / "TST001L8"), "LTO8", capacity=1 << 20) as held:
        held.active.write(memoryview(b"keep me"))
        label = (storage / "TST001L8" / "cartridge.json").read_text()
        with pytest.raises(CartridgeError, match="TST001L8 is in use"):
            node_for(tmp_path)
        assert (storage / "TST001L8" / "cartridge.json").read_text() == label     # not made again
    with caplog.at_level(logging.WARNING, logger="vtl.library"):
        n = node_for(tmp_path)
    assert any("TST000L8" in r.getMessage() and "half made" in r.getMessage() for r in caplog.records)
    with Cartridge.open(str(storage / "TST001L8")) as cart:
        assert cart.active.eod == 1                            # its record is still there
    n.close()


def test_a_drive_without_autoload_waits_for_load(tmp_path):
    """A personality with autoload="no": the robot's move inserts, a host's LOAD threads."""
    n = node_for(tmp_path, personality="STK_T10000D")
    lib = n.library()
    drv = drive_addresses(lib)[0]
    lib.move(slots(lib)[0].address, drv)
    drive = lib.bays[drv].drive
    assert drive.state == DriveState.INSERTED
    d = n.find_device("st0")
    settle(d, A)
    r = d.execute(A, bytes(6))
    assert r.status == Status.CHECK_CONDITION
    sense = decode(r.sense)
    assert (sense.key, sense.asc, sense.ascq) == (2, 0x04, 0x02)     # initializing command required
    assert d.execute(A, bytes([0x1B, 0, 0, 0, 1, 0])).status == Status.GOOD   # LOAD
    assert drive.state == DriveState.READY
    n.close()


@pytest.mark.parametrize("barcode", ["../ESCAPE", "A/B", "", "X" * 33, "BAD BARCODE"])
def test_import_refuses_labels_that_are_not_barcodes(node, barcode, tmp_path):
    with pytest.raises(LibraryError, match="cannot be imported"):
        node.library().import_cartridge(barcode, "LTO8")
    assert not (tmp_path / "cartridges" / "ESCAPE").exists()
    assert all(not e.full for e in node.library().elements() if e.type == ElementType.IMPORT_EXPORT)


def test_a_restart_with_cartridge_files_gone_warns_once_and_keeps_their_places(tmp_path, caplog):
    import logging
    import shutil
    n = node_for(tmp_path)
    lib = n.library()
    drv = drive_addresses(lib)
    lib.load(slots(lib)[0].address, drv[0])                  # TST000L8 in a drive
    n.close()
    for barcode in ("TST000L8", "TST003L8"):
        shutil.rmtree(tmp_path / "cartridges" / "lib0" / barcode)
    with caplog.at_level(logging.WARNING, logger="vtl.library"):
        n = node_for(tmp_path)
    lib = n.library()
    warnings = [r.getMessage() for r in caplog.records if "have no files" in r.getMessage()]
    assert warnings == ["lib0: 2 cartridge(s) have no files (TST000L8, TST003L8): loading them is refused. "
                        f"Restore their directories under {tmp_path / 'cartridges' / 'lib0'}, or take "
                        "them out of the node (vtl export, then vtl cartridge delete)."]
    assert lib.element(slots(lib)[3].address).barcode == "TST003L8"
    assert lib.element(drv[0]).exception == (0x53, 0x00)     # MEDIUM LOAD OR EJECT FAILED, as before
    with pytest.raises(MoveRefused):
        lib.load(slots(lib)[3].address, drv[1])
    n.close()


def test_deleting_a_cartridge_takes_it_out_of_the_node_for_good(tmp_path):
    import shutil
    n = node_for(tmp_path)
    lib = n.library()
    storage = tmp_path / "cartridges" / "lib0"
    with pytest.raises(LibraryError, match="is in library lib0, element 4099. Export it first: vtl export TST003L8"):
        n.delete_cartridge("TST003L8")
    with pytest.raises(LibraryError, match="No cartridge has barcode 'NOPE00L8'"):
        n.delete_cartridge("NOPE00L8")

    lib.export_cartridge("TST003L8")
    (storage / "TST003L8" / "notes.txt").write_text("the operator's")
    r = n.delete_cartridge("tst003l8")
    assert (r["barcode"], r["files_deleted"], r["left"], r["configured"]) == ("TST003L8", True, ["notes.txt"],
                                                                            ["lib0"])
    assert sorted(os.listdir(storage / "TST003L8")) == ["notes.txt"]
    assert n.store.entry("TST003L8") is None

    lib.export_cartridge("TST004L8")
    with Cartridge.open(str(storage / "TST004L8")):        # a tool has it open: nothing happens
        with pytest.raises(CartridgeError, match="in use"):
            n.delete_cartridge("TST004L8")
    assert n.store.entry("TST004L8") is not None
    r = n.delete_cartridge("TST004L8", keep_files=True)
    assert (r["files_deleted"], r["left"]) == (False, [])
    assert (storage / "TST004L8" / "cartridge.json").exists() and n.store.entry("TST004L8") is None

    # files gone from under a cartridge in a slot: the load says how to be rid of it
    shutil.rmtree(storage / "TST005L8")
    with pytest.raises(MoveRefused) as refused:
        lib.load(lib.element_of("TST005L8").address, drive_addresses(lib)[0])
    assert "the files of cartridge TST005L8 are gone" in refused.value.detail
    assert "vtl export TST005L8, then vtl cartridge delete TST005L8" in refused.value.detail
    lib.export_cartridge("TST005L8")
    assert n.delete_cartridge("TST005L8")["left"] == []
    assert n.store.entry("TST005L8") is None
    n.close()

    n = node_for(tmp_path)                                    # configured: made again, blank
    assert {e.barcode for e in n.store.catalog()} >= {"TST003L8", "TST005L8"}
    with Cartridge.open(str(storage / "TST005L8")) as cart:
        assert cart.blank
    n.close()


def test_a_cartridge_stays_with_its_drive_when_the_configuration_moves_or_removes_drives(tmp_path, caplog):
    """Drive element addresses follow the order of the [[library.drive]] tables, so an edit
    can move a drive to another address or remove it: its cartridge goes along with it, or
    back to a slot; it never appears in another drive."""
    import logging
    from support.daemon import DRIVE
    blocks = [DRIVE.format(personality="IBM_LTO8", n=i, lun=i + 1) for i in range(3)]
    text = small_config(drives=3)
    assert "".join(blocks) in text
    n = Node(loads(text, base=tmp_path, source=tmp_path / "vtl.toml"))
    lib = n.library()
    for slot, drive in ((4096, 256), (4097, 257), (4098, 258)):
        lib.load(slot, drive)
    lib.move(4100, 4097)                                      # TST001L8's home slot is taken meanwhile
    n.close()

    edited = text.replace("".join(blocks), blocks[2] + blocks[0])     # TESTDRV1 removed, 2 and 0 swapped about
    with caplog.at_level(logging.WARNING, logger="vtl.library"):
        n = Node(loads(edited, base=tmp_path, source=tmp_path / "vtl.toml"))
    lib = n.library()
    held = {bay.spec.serial: (address, bay.drive.cartridge.barcode if bay.drive.cartridge else None)
            for address, bay in lib.bays.items()}
    assert held == {"TESTDRV2": (256, "TST002L8"), "TESTDRV0": (257, "TST000L8")}
    assert lib.element(256).barcode == "TST002L8" and lib.element(257).barcode == "TST000L8"
    home = lib.element_of("TST001L8")
    assert home.type == ElementType.STORAGE and home.address not in (4097, 4098)
    assert lib.element(4097).barcode == "TST004L8"
    warnings = sorted(r.getMessage() for r in caplog.records if "drive TESTDRV" in r.getMessage())
    assert warnings == [
        "lib0: drive TESTDRV0 moved from element 256 to 257 with the configuration; its cartridge TST000L8 "
        "went along",
        f"lib0: drive TESTDRV1 is no longer configured; its cartridge TST001L8 went back to slot {home.address}",
        "lib0: drive TESTDRV2 moved from element 258 to 256 with the configuration; its cartridge TST002L8 "
        "went along"]
    n.close()

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="vtl.library"):
        n = Node(loads(edited, base=tmp_path, source=tmp_path / "vtl.toml"))   # the same again: nothing moves
    assert [r for r in caplog.records if "drive TESTDRV" in r.getMessage()] == []
    assert n.library().bays[257].drive.cartridge.barcode == "TST000L8"
    n.close()


def test_a_library_renamed_in_the_file_keeps_its_cartridges(tmp_path, caplog):
    """A library is its changer: renamed with the same changer serial, its slots and drives
    keep their cartridges.  A library the file no longer has (another name and another
    changer) keeps them in the store, out of reach and reported, until it is back."""
    import logging
    from vtl.daemon.methods import call
    text = small_config()
    n = Node(loads(text, base=tmp_path, source=tmp_path / "vtl.toml"))
    n.library().load(4096, 256)
    n.close()

    def start(config: str) -> Node:
        return Node(loads(config, base=tmp_path, source=tmp_path / "vtl.toml"))

    renamed = text.replace('name = "lib0"', 'name = "tapes"')
    with caplog.at_level(logging.WARNING, logger="vtl.node"):
        n = start(renamed)
    assert [r.getMessage() for r in caplog.records] == [
        "library lib0 is now called tapes (same changer, serial TESTCHG0): its cartridges went with it"]
    lib = n.library("tapes")
    assert lib.bays[256].drive.cartridge.barcode == "TST000L8"
    assert [e.barcode for e in slots(lib) if e.full] == [f"TST{i:03d}L8" for i in range(1, 8)]
    assert {e.library for e in n.store.catalog()} == {"tapes"}
    n.close()

    caplog.clear()
    gone = renamed.replace('name = "tapes"', 'name = "other"').replace('serial = "TESTCHG0"', 'serial = "OTHERCHG"')
    with caplog.at_level(logging.WARNING, logger="vtl.node"):
        n = start(gone)
    assert [r.getMessage() for r in caplog.records] == [
        "the state store places 8 cartridge(s) in library tapes, which the configuration no longer has: they "
        "stay there, out of reach, until a library with that name or its changer's serial is configured again"]
    assert all(not e.full for e in n.library("other").elements())
    listed = call(n, "cartridge.list", {})
    assert {(c["library"], c["element"]) for c in listed} == {("tapes", "unconfigured library")}
    info = call(n, "cartridge.info", {"barcode": "TST003L8"})
    assert (info["library"], info["element"], info["address"]) == ("tapes", "unconfigured library", 4099)
    n.close()

    n = start(renamed)                                         # and back: everything where it was
    assert n.library("tapes").bays[256].drive.cartridge.barcode == "TST000L8"
    n.close()


def test_renumbered_slots_keep_their_cartridges(tmp_path, caplog):
    """New first addresses for slots and mailslots: the n-th slot keeps its cartridge and
    a drive's cartridge its home slot.  Fewer slots at the same time: the cartridges of
    the slots that are gone take free ones; none is lost."""
    import logging
    text = small_config()
    n = Node(loads(text, base=tmp_path, source=tmp_path / "vtl.toml"))
    lib = n.library()
    lib.move(4096, 4105)                                      # TST000L8 to the 10th slot
    lib.load(4098, 256)                                       # TST002L8 into a drive, home 4098
    lib.move(4101, 17)                                        # TST005L8 into the second mailslot
    before = {e.barcode: (e.type, e.address) for e in lib.elements() if e.full}
    n.close()

    moved = text.replace("mailslots = 2\n", "mailslots = 2\naddresses = { storage = 1000, import_export = 30 }\n")
    assert moved != text
    with caplog.at_level(logging.WARNING, logger="vtl.library"):
        n = Node(loads(moved, base=tmp_path, source=tmp_path / "vtl.toml"))
    lib = n.library()
    after = {e.barcode: (e.type, e.address) for e in lib.elements() if e.full}

    def shifted(kind, address):
        return kind, {ElementType.STORAGE: address - 4096 + 1000,
                      ElementType.IMPORT_EXPORT: address - 16 + 30}.get(kind, address)
    assert after == {b: shifted(*where) for b, where in before.items()}
    assert lib.element(256).source == 1002 and lib.bays[256].drive.cartridge.barcode == "TST002L8"
    assert any("slots renumbered" in r.getMessage() for r in caplog.records)
    n.close()

    fewer = moved.replace("slots = 12", "slots = 9").replace("storage = 1000", "storage = 2000")
    assert fewer.count("slots = 9") == 1
    n = Node(loads(fewer, base=tmp_path, source=tmp_path / "vtl.toml"))
    lib = n.library()
    full = {e.barcode: e for e in lib.elements() if e.full}
    assert set(full) == set(before)                           # every cartridge is still in the library
    assert full["TST001L8"].address == 2001 and full["TST005L8"].address == 31
    assert full["TST000L8"].type == ElementType.STORAGE and 2000 <= full["TST000L8"].address < 2009
    n.close()


def test_import_takes_in_files_already_in_the_storage_as_they_are(node, tmp_path):
    """Cartridge files put into the library's storage by hand are imported with their own
    media type (the catalog agreed with the request, not the label, before); a directory
    holding another barcode's cartridge is refused."""
    import shutil
    storage = tmp_path / "cartridges" / "lib0"
    with Cartridge.create(str(storage / "HAND00L9"), "LTO9", capacity=4 << 20) as cart:
        cart.active.write(memoryview(b"by hand"))
    lib = node.library()
    with pytest.raises(LibraryError, match="cannot be imported as LTO8: .* already holds it as LTO9"):
        lib.import_cartridge("HAND00L9", "LTO8")
    el = lib.import_cartridge("hand00l9")
    assert el.barcode == "HAND00L9" and node.store.entry("HAND00L9").media == "LTO9"
    shutil.copytree(storage / "HAND00L9", storage / "OTHR00L9")
    with pytest.raises(LibraryError, match=r"OTHR00L9 holds cartridge HAND00L9\. Fix: move that directory"):
        lib.import_cartridge("OTHR00L9")
    assert node.store.entry("OTHR00L9") is None


def test_import_takes_in_a_format_1_cartridge_and_rewrites_it(node, tmp_path):
    storage = tmp_path / "cartridges" / "lib0"
    path = str(storage / "OLD000L9")
    Cartridge.create(path, "LTO9", capacity=4 << 20).close()
    make_format1(path, [b"written by an earlier vtl", Kind.FILEMARK])
    el = node.library().import_cartridge("OLD000L9")
    assert el.barcode == "OLD000L9" and node.store.entry("OLD000L9").media == "LTO9"
    assert not os.path.exists(os.path.join(path, "p0.log"))
    with Cartridge.open(path) as cart:
        buf = memoryview(bytearray(100))
        assert bytes(buf[:cart.active.read(buf).copied]) == b"written by an earlier vtl"
        assert cart.active.read(buf).kind == Kind.FILEMARK


def test_an_unload_or_offline_the_store_cannot_record_changes_nothing(tmp_path):
    """The drive lets go before the move is committed; when the commit fails (the store's
    file system is full) the cartridge goes back into the drive, so the drive, the
    element and the store still agree, and the unload works once there is room."""
    import sqlite3
    with small_tmpfs(tmp_path / "small", 4 * 1024 * 1024) as mnt:
        config = small_config().replace('state = "state.sqlite"', f'state = "{mnt}/state.sqlite"')
        n = Node(loads(config, base=tmp_path, source=tmp_path / "vtl.toml"))
        lib = n.library()
        drv = drive_addresses(lib)[0]
        lib.load(slots(lib)[0].address, drv)
        filler = fill(mnt)
        with pytest.raises(sqlite3.OperationalError, match="full"):
            lib.unload(drv)
        with pytest.raises(sqlite3.OperationalError, match="full"):
            lib.set_online(drv, False)
        assert lib.bays[drv].online and lib.element(drv).accessible   # refused: nothing changed
        assert lib.bays[drv].drive.cartridge.barcode == "TST000L8"
        assert lib.element(drv).barcode == "TST000L8"
        os.unlink(filler)
        assert lib.unload(drv) == slots(lib)[0].address
        assert lib.bays[drv].drive.cartridge is None
        n.close()


def test_a_cartridge_that_cannot_be_made_is_refused_and_not_made_later(tmp_path):
    """Its file system full, an import of a new cartridge is refused with the reason, and
    its creation intent ends there: it does not appear at the next start."""
    with small_tmpfs(tmp_path / "small", 4 * 1024 * 1024) as mnt:
        config = small_config(cartridges=2).replace('storage = "cartridges/lib0"', f'storage = "{mnt}/lib0"')
        n = Node(loads(config, base=tmp_path, source=tmp_path / "vtl.toml"))
        lib = n.library()
        filler = fill(mnt)
        with pytest.raises(LibraryError, match=r"Cartridge NEW000L8 could not be made: .*/NEW000L8: cannot make "
                                               r"the cartridge there: No space left on device\. Fix: choose a "
                                               r"writable directory with room for it\.$"):
            lib.import_cartridge("NEW000L8")
        assert lib.element_of("NEW000L8") is None and n.store.pending() == []
        os.unlink(filler)
        n.close()
        n = Node(loads(config, base=tmp_path, source=tmp_path / "vtl.toml"))
        assert n.library().element_of("NEW000L8") is None and n.store.entry("NEW000L8") is None
        n.close()
