"""Read-only commands against one shared daemon: status, inventory, `vtl tape show*`, device
names, aliases, statistics, raw SCSI, the catalog; and errors that change nothing."""
from __future__ import annotations

import base64
import json

from tapeconf import get_bundled
from tapeconf.devicenames import format_listing

from .conftest import refused


def test_status(ro):
    data = ro.vtl_json("status")
    assert data["node"] == "testnode"
    [lib] = data["libraries"]
    assert lib["name"] == "lib0" and lib["changer"]["serial"] == "TESTCHG0"
    assert lib["changer"]["alias"] == "mc0" and lib["changer"]["product"].strip() == "3573-TL"
    assert lib["slots"] == {"total": 12, "used": 8} and lib["mailslots"] == {"total": 2, "used": 0}
    assert lib["door_locked"] is False
    assert [(d["alias"], d["serial"], d["lun"], d["state"], d["barcode"], d["online"]) for d in lib["drives"]] == [
        ("st0", "TESTDRV0", 1, "empty", None, True), ("st1", "TESTDRV1", 2, "empty", None, True)]

    text = ro.vtl("status").stdout
    assert "Library lib0: media changer mc0 (serial TESTCHG0" in text
    assert "storage slots 8/12 used, mailslots 0/2 used, door unlocked" in text
    for column in ("alias", "serial", "LUN", "element", "state", "cartridge", "online"):
        assert column in text
    assert "TESTDRV1" in text and "empty" in text


def test_inventory(ro):
    rows = ro.vtl_json("inventory")
    kinds = [r["type"] for r in rows]
    assert kinds.count("storage") == 12 and kinds.count("import_export") == 2 and kinds.count("data_transfer") == 2
    barcodes = sorted(r["barcode"] for r in rows if r["barcode"])
    assert barcodes == [f"TST{i:03d}L8" for i in range(8)]

    drives = ro.vtl_json("inventory", "--type", "data-transfer")
    assert [r["drive"] for r in drives] == ["TESTDRV0", "TESTDRV1"]
    both = ro.vtl_json("inventory", "--library", "lib0", "--type", "storage,import-export")
    assert {r["type"] for r in both} == {"storage", "import_export"} and len(both) == 14

    text = ro.vtl("inventory", "--type", "storage").stdout
    for column in ("address", "type", "barcode", "source", "flags"):
        assert column in text
    assert "TST000L8" in text and "4096" in text

    usage = ro.vtl("inventory", "--type", "tray", check=False)     # a malformed command line: click's usage error
    assert usage.returncode == 2 and "'tray' is not an element type" in usage.stderr
    assert "Traceback" not in usage.stderr


def test_tape_show(ro):
    rows = ro.vtl_json("tape", "show")
    assert [(r["alias"], r["type"]) for r in rows] == [("mc0", "media-changer"), ("st0", "tape"), ("st1", "tape")]
    text = ro.vtl("tape", "show").stdout
    assert "mc0" in text and "media-changer" in text and "TESTDRV0" in text


def test_show_tape_drive(ro):
    rows = ro.vtl_json("tape", "show-tape-drive")
    assert [r["serial"] for r in rows] == ["TESTDRV0", "TESTDRV1"]
    [one] = ro.vtl_json("tape", "show-tape-drive", "SN[TESTDRV1]L2")
    assert one["alias"] == "st1" and one["mapping"] == "SN[TESTDRV1]L2" and one["vendor"].strip() == "IBM"
    text = ro.vtl("tape", "show-tape-drive").stdout
    assert "SN[TESTDRV0]L1" in text and "description" in text
    text = ro.vtl("tape", "show-tape-drive", "st0").stdout
    assert "Tape drive st0 (TESTDRV0)" in text and "Serial number:" in text and "World wide name:" in text


def test_show_media_changer(ro):
    [c] = ro.vtl_json("tape", "show-media-changer")
    assert (c["alias"], c["serial"], c["slots"], c["mailslots"], c["drives"]) == ("mc0", "TESTCHG0", 12, 2, 2)
    assert ro.vtl_json("tape", "show-media-changer", "TESTCHG0")[0]["alias"] == "mc0"
    text = ro.vtl("tape", "show-media-changer", "mc0").stdout
    assert "TESTCHG0" in text and "unlocked" in text


def test_show_errors(ro):
    rows = ro.vtl_json("tape", "show-errors")
    assert [(r["alias"], r["read_errors"], r["write_errors"], r["alerts"]) for r in rows] == [
        ("st0", 0, 0, []), ("st1", 0, 0, [])]
    text = ro.vtl("tape", "show-errors", "st1").stdout
    assert "read errors" in text and "TESTDRV1" in text and "TESTDRV0" not in text


def test_show_supported_status(ro):
    rows = ro.vtl_json("tape", "show-supported-status")
    assert rows and all(r["is_supported"] is True and r["support_status"] == "Qualified" for r in rows)
    text = ro.vtl("tape", "show-supported-status").stdout
    assert text.startswith("Node: testnode")
    for column in ("Tape Drive", "Is Supported", "Support Status"):
        assert column in text
    assert "true" in text and "Qualified" in text


def test_devices_listing_is_the_seed_layout(ro):
    entries = ro.vtl_json("tape", "devices")
    assert [e["alias"] for e in entries] == ["st0", "st1"]
    assert [d["name"] for d in entries[0]["devices"]][:3] == ["rst0l", "nrst0l", "urst0l"]
    text = ro.vtl("tape", "devices", "st1").stdout
    expected = format_listing(entries[1]["physical_path"], 1, get_bundled("IBM_LTO8"))
    assert text == expected
    assert "nrst1a -  no rewind device," in text


def test_alias_show(ro):
    rows = ro.vtl_json("tape", "alias", "show")
    assert {(r["alias"], r["type"], r["mapping"], r["serial"]) for r in rows} == {
        ("mc0", "media-changer", "SN[TESTCHG0]", "TESTCHG0"),
        ("st0", "tape", "SN[TESTDRV0]L1", "TESTDRV0"), ("st1", "tape", "SN[TESTDRV1]L2", "TESTDRV1")}
    text = ro.vtl("tape", "alias", "show").stdout
    assert "Alias" in text and "Mapping" in text and "SN[TESTDRV1]L2" in text


def test_stats_show(ro):
    rows = ro.vtl_json("tape", "stats", "show")
    assert [r["serial"] for r in rows] == ["TESTDRV0", "TESTDRV1"]
    assert rows[0]["blocks_written"] == 0 and "host_bytes_read" in rows[0]
    text = ro.vtl("tape", "stats", "show", "st0").stdout
    assert "counter" in text and "blocks written" in text and "st0" in text


def test_scsi_inquiry(ro):
    r = ro.vtl_json("scsi", "st0", "12 00 00 00 60 00", "--allocation", "96")
    assert r["status"] == 0 and r["sense"] == ""
    data = base64.b64decode(r["data"])
    assert data[0] == 0x01 and data[8:16].decode().strip() == "IBM"
    text = ro.vtl("scsi", "st0", "120000006000", "--allocation", "96").stdout
    assert "Status: GOOD" in text and "Data-in (96 bytes)" in text and "|" in text and "IBM" in text


def test_scsi_check_condition_is_decoded(ro):
    """TEST UNIT READY on an empty drive: NOT READY, MEDIUM NOT PRESENT."""
    ro.vtl("scsi", "st1", "00 00 00 00 00 00")      # a pending power-on unit attention, if any, goes here
    text = ro.vtl("scsi", "st1", "00 00 00 00 00 00").stdout
    assert "Status: CHECK CONDITION" in text
    assert "NOT READY, ASC/ASCQ 3A/00 (MEDIUM NOT PRESENT)" in text
    raw = ro.vtl_json("scsi", "st1", "000000000000")
    assert raw["status"] == 2 and raw["sense"][:2] in ("70", "72")
    refused(ro.vtl("scsi", "st1", "zz", check=False), "is not a CDB in hex")


def test_catalog_through_the_daemon(ro):
    rows = ro.vtl_json("cartridge", "list")
    assert [r["barcode"] for r in rows] == [f"TST{i:03d}L8" for i in range(8)]
    assert {r["element"] for r in rows} == {"storage"} and rows[0]["library"] == "lib0"
    text = ro.vtl("cartridge", "list").stdout
    assert "TST003L8" in text and "storage" in text
    info = ro.vtl_json("cartridge", "info", "TST002L8")
    assert (info["media"], info["library"], info["element"], info["capacity"]) == ("LTO8", "lib0", "storage",
                                                                                    16 * 1024 * 1024)
    text = ro.vtl("cartridge", "info", "TST002L8").stdout
    assert "Cartridge TST002L8  LTO8" in text and "lib0 slot" in text


def test_unknown_names_are_sentences(ro):
    refused(ro.vtl("tape", "show-tape-drive", "st9", check=False), "No tape drive is called 'st9'")
    refused(ro.vtl("load", "TST000L8", "nosuchdrive", check=False), "nosuchdrive")
    refused(ro.vtl("tape", "stats", "zero", "mc0", check=False), "No tape drive is called 'mc0'")
    refused(ro.vtl("cartridge", "info", "NOPE00L8", check=False), "No cartridge has barcode")
    refused(ro.vtl("move", "4096", "9999", check=False), "no element 9999")


def test_daemon_not_running(tmp_path):
    from support.daemon import Daemon, small_config
    idle = Daemon(tmp_path / "idle", small_config())           # configured, never started
    for args in (["status"], ["tape", "show"], ["load", "TST000L8", "st0"], ["inventory", "--json"]):
        refused(idle.vtl(*args, check=False), "vtl serve is not running", "vtl serve")
    missing = Daemon(tmp_path / "nothing")                      # no configuration at all
    refused(missing.vtl("status", check=False), "vtl serve is not running", "no configuration at")
    assert not missing.config.exists()                          # client commands never create it
    out = json.loads(missing.vtl("cartridge", "list", "--json").stdout)
    assert out == []                                            # offline: the default cartridge directory
