"""Commands that move cartridges or change drives, each test with a daemon of its own."""
from __future__ import annotations

import os
import subprocess
import sys

from .conftest import refused


def test_load_unload_move_and_their_refusals(daemon):
    r = daemon.vtl_json("load", "TST000L8", "st0")
    assert (r["barcode"], r["drive"], r["alias"], r["source"], r["state"]) == ("TST000L8", "TESTDRV0", "st0",
                                                                                4096, "ready")
    text = daemon.vtl("load", "lib0:4097", "SN[TESTDRV1]L2").stdout
    assert text.strip() == "Loaded TST001L8 from element 4097 into drive st1 (TESTDRV1); the drive is ready."

    # a full drive, a cartridge already in a drive
    refused(daemon.vtl("load", "TST002L8", "st0", check=False),
            "Drive TESTDRV0 (element 256) already holds TST000L8", "choose an empty one")
    refused(daemon.vtl("load", "TST000L8", "st1", check=False), "already in drive")
    # exporting a cartridge that is in a drive
    refused(daemon.vtl("export", "TST000L8", check=False), "is in drive TESTDRV0", "vtl unload")

    status = daemon.vtl_json("status")["libraries"][0]
    assert [d["barcode"] for d in status["drives"]] == ["TST000L8", "TST001L8"]
    assert status["slots"]["used"] == 6

    r = daemon.vtl_json("unload", "st0")
    assert (r["barcode"], r["destination"]) == ("TST000L8", 4096)
    text = daemon.vtl("unload", "TESTDRV1", "--to", "4106").stdout
    assert text.strip() == "Unloaded TST001L8 from drive TESTDRV1 into element 4106."
    refused(daemon.vtl("unload", "st0", check=False), "is empty")

    r = daemon.vtl_json("move", "4106", "4107")
    assert (r["barcode"], r["source"], r["destination"]) == ("TST001L8", 4106, 4107)
    text = daemon.vtl("move", "TST001L8", "4097", "--library", "lib0").stdout
    assert "Moved TST001L8 from element 4107 to element 4097 in library lib0." in text
    refused(daemon.vtl("move", "4106", "4105", check=False), "Nothing to move", "4106", "is empty")
    refused(daemon.vtl("move", "4096", "4097", check=False), "Storage slot 4097 already holds TST001L8")


def test_import_export(daemon):
    r = daemon.vtl_json("import", "NEW000L9", "--capacity", "8MiB")
    assert (r["barcode"], r["type"], r["address"], r["imported"]) == ("NEW000L9", "import_export", 16, True)
    text = daemon.vtl("import", "NEW001L8", "--media", "LTO8", "--capacity", "8MiB", "--library", "lib0").stdout
    assert text.strip() == "Imported NEW001L8 into mailslot 17 of library lib0."
    # both mailslots are full now
    refused(daemon.vtl("import", "NEW002L8", "--capacity", "8MiB", check=False), "import/export slot", "full")
    refused(daemon.vtl("import", "NEW002L8", "--capacity", "lots", check=False), "not a size")

    r = daemon.vtl_json("export", "NEW000L9")
    assert (r["barcode"], r["from"]) == ("NEW000L9", 16)
    assert daemon.vtl("export", "TST003L8").stdout.strip() == "Exported TST003L8 from element 4099 of library lib0."
    info = daemon.vtl_json("cartridge", "info", "TST003L8")
    assert info["element"] == "vault" and info["library"] is None
    assert "outside the libraries" in daemon.vtl("cartridge", "info", "TST003L8").stdout
    refused(daemon.vtl("export", "TST003L8", check=False), "not in any library", "vtl import")
    daemon.vtl("import", "TST003L8")                            # back from the vault, into mailslot 16
    assert daemon.vtl_json("cartridge", "info", "TST003L8")["address"] == 16

    # a vault cartridge whose files are gone (or spoiled) is not put back into a mailslot
    daemon.vtl("export", "NEW001L8")                            # (from mailslot 17: room to export)
    daemon.vtl("export", "TST004L8")
    path = daemon.vtl_json("cartridge", "list")
    path = next(r["path"] for r in path if r["barcode"] == "TST004L8")
    os.rename(os.path.join(path, "cartridge.json"), os.path.join(path, "label.saved"))
    refused(daemon.vtl("import", "TST004L8", check=False), "Cartridge TST004L8 cannot be imported",
            "cartridge.json is missing")
    os.rename(os.path.join(path, "label.saved"), os.path.join(path, "cartridge.json"))
    assert daemon.vtl_json("import", "TST004L8")["barcode"] == "TST004L8"


def test_drive_commands(daemon):
    off = daemon.vtl_json("tape", "offline", "st1")
    assert off["online"] is False
    refused(daemon.vtl("load", "TST000L8", "st1", check=False), "not accessible", "vtl tape online")
    assert daemon.vtl("tape", "online", "st1").stdout.strip() == "Tape drive st1 (TESTDRV1) is online."
    assert "is offline" in daemon.vtl("tape", "offline", "st1").stdout
    assert daemon.vtl_json("tape", "online", "st1")["online"] is True

    daemon.vtl("load", "TST000L8", "st0")
    r = daemon.vtl_json("tape", "position", "st0", "--operation", "weof", "--count", "3")
    assert r["position"]["block"] == 3
    r = daemon.vtl_json("tape", "position", "st0", "-operation", "rewind")
    assert r["position"]["block"] == 0
    text = daemon.vtl("tape", "position", "st0", "-operation", "fsf", "-count", "2").stdout
    assert text.strip().startswith("Tape drive st0 (TESTDRV0): fsf 2 done; now at partition 0, block 2")
    refused(daemon.vtl("tape", "position", "st0", "--operation", "fsf", "--count", "5", check=False),
            "refused fsf 5")
    refused(daemon.vtl("tape", "position", "st1", "--operation", "rewind", check=False), "NOT_READY")

    stats = daemon.vtl_json("tape", "stats", "show", "st0")[0]
    assert stats["filemarks_written"] == 3
    zero = daemon.vtl_json("tape", "stats", "zero", "st0")
    assert zero["filemarks_written"] == 0
    assert "are zero" in daemon.vtl("tape", "stats", "zero", "TESTDRV0").stdout

    assert daemon.vtl_json("tape", "trace", "st0", "--on") == {"serial": "TESTDRV0", "trace": True}
    assert daemon.vtl_json("tape", "show-tape-drive", "st0")[0]["trace"] is True
    assert daemon.vtl("tape", "trace", "st0", "--off").stdout.strip() == "Tracing of TESTDRV0 is off."

    r = daemon.vtl_json("tape", "reset", "st0")
    assert r["serial"] == "TESTDRV0"
    assert daemon.vtl("tape", "reset", "mc0").stdout.strip() == "Reset mc0 (TESTCHG0): logical unit reset done."

    # raw SCSI with data-out: WRITE(6) of one 512-byte variable block, then READ POSITION reports block 1
    daemon.vtl("tape", "position", "st0", "--operation", "rewind")
    block = daemon.home / "block.bin"
    block.write_bytes(os.urandom(512))
    r = daemon.vtl_json("scsi", "st0", "0a 00 00 02 00 00", "--data-out", str(block))
    assert r["status"] == 0
    assert daemon.vtl_json("tape", "show-tape-drive", "st0")[0]["position"]["block"] == 1


def test_library_cartridges(daemon):
    r = daemon.vtl_json("cartridge", "create", "LIB000L8", "--capacity", "8MiB", "--write-protect")
    assert (r["barcode"], r["element"], r["library"], r["write_protected"]) == ("LIB000L8", "import_export",
                                                                                "lib0", True)
    assert not os.path.exists(daemon.home / "cartridges" / "LIB000L8")  # in the library's storage instead
    text = daemon.vtl("cartridge", "create", "LIB001L8", "--capacity", "8MiB").stdout
    assert text.strip() == "Created LTO8 cartridge LIB001L8 (8.4 MB) in mailslot 17 of library lib0."
    refused(daemon.vtl("cartridge", "create", "LIB002L8", "--early-warning", "1MiB", check=False),
            "--early-warning")

    refused(daemon.vtl("cartridge", "erase", "LIB000L8", check=False), "write-protected", "--off")
    assert daemon.vtl_json("cartridge", "write-protect", "LIB000L8", "--off")["write_protected"] is False
    assert daemon.vtl("cartridge", "write-protect", "LIB000L8").stdout.strip() == \
        "Cartridge LIB000L8 is write-protected."
    daemon.vtl("cartridge", "write-protect", "--off", "LIB000L8")

    # write a tape file through a drive, read it back offline once it is unloaded
    daemon.vtl("load", "LIB000L8", "st0")
    daemon.vtl("scsi", "st0", "00 00 00 00 00 00")              # TEST UNIT READY takes the new-medium unit attention
    payload = os.urandom(1024)
    (daemon.home / "rec.bin").write_bytes(payload)
    written = daemon.vtl_json("scsi", "st0", "0a 00 00 04 00 00", "--data-out", str(daemon.home / "rec.bin"))
    assert written["status"] == 0
    daemon.vtl("tape", "position", "st0", "--operation", "weof")
    refused(daemon.vtl("cartridge", "read", "LIB000L8", check=False), "is in drive st0", "vtl unload st0")
    refused(daemon.vtl("cartridge", "erase", "LIB000L8", check=False), "unload it first")
    assert daemon.vtl_json("cartridge", "info", "LIB000L8")["element"] == "data_transfer"
    daemon.vtl("unload", "st0")
    raw = subprocess.run([sys.executable, "-m", "vtl.cli", "cartridge", "read", "LIB000L8"], env=daemon.env,
                         capture_output=True, check=True).stdout
    assert raw == payload

    r = daemon.vtl_json("cartridge", "erase", "LIB000L8")
    assert r["used"] == 0
    assert daemon.vtl("cartridge", "erase", "LIB001L8").stdout.strip() == "Cartridge LIB001L8 is erased."
    listing = daemon.vtl_json("cartridge", "list", "--library", "lib0")
    assert {"LIB000L8", "LIB001L8"} <= {c["barcode"] for c in listing}


def test_offline_paths_need_no_daemon(daemon, tmp_path):
    """A TARGET with a path separator is the cartridge files, daemon or not."""
    path = str(tmp_path / "tapes" / "OFF000L8")
    r = daemon.vtl_json("cartridge", "create", path, "--capacity", "4MiB")
    assert r["path"] == path and r["barcode"] == "OFF000L8"
    assert daemon.vtl_json("cartridge", "write-protect", path)["write_protected"] is True
    refused(daemon.vtl("cartridge", "erase", path, check=False), "write-protected")
    daemon.vtl("cartridge", "write-protect", path, "--off")
    assert daemon.vtl_json("cartridge", "erase", path)["partitions"][0]["used"] == 0
    assert daemon.vtl("cartridge", "info", path).stdout.startswith("Cartridge OFF000L8  LTO8")
    assert [c["barcode"] for c in daemon.vtl_json("cartridge", "list", str(tmp_path / "tapes"))] == ["OFF000L8"]


def test_damaged_cartridge_files_are_reported_not_raised(ro, tmp_path):
    """A path that is a file, a label a tool spoiled, a log damaged mid-tape: plain errors,
    and `cartridge list` still lists the rest (the damaged ones flagged)."""
    plain = tmp_path / "tapes" / "notes.txt"
    plain.parent.mkdir()
    plain.write_text("x")
    refused(ro.vtl("cartridge", "info", str(plain), check=False), "no cartridge here")
    refused(ro.vtl("cartridge", "create", str(plain / "X00000L8"), check=False),
            "cannot make the cartridge there: Not a directory")

    good, spoiled, hurt = (str(tmp_path / "tapes" / b) for b in ("GOOD00L8", "SPOIL0L8", "HURT00L8"))
    for path in (good, spoiled, hurt):
        ro.vtl("cartridge", "create", path, "--capacity", "4MiB")
    with open(os.path.join(spoiled, "cartridge.json"), "w") as f:
        f.write('{"format": 1, "barcode": "SPOIL0L8", "media": "LTO99", "partitions": [], "early_warning": 0}')
    refused(ro.vtl("cartridge", "info", spoiled, check=False), "cartridge.json: not a vtl cartridge label",
            "media 'LTO99' is not a known media type")

    from images.cartridge import Cartridge
    with Cartridge.open(hurt) as cart:
        for i in range(4):
            cart.active.write(memoryview(bytes([i]) * 100))
    with open(os.path.join(hurt, "p0.rec"), "r+b") as f:
        f.seek(4)
        f.write(b"\xde\xad\xbe\xef")                     # the first record's header

    def stored() -> int:
        return sum(os.path.getsize(os.path.join(hurt, name)) for name in ("p0.rec", "p0.dat"))
    size = stored()
    out = ro.vtl("cartridge", "info", hurt).stdout
    assert f"{size:,} bytes after object 0 are damaged and were kept" in out
    assert stored() == size
    refused(ro.vtl("cartridge", "read", hurt, check=False), "damaged and cannot be read")

    rows = {r["barcode"]: r for r in ro.vtl_json("cartridge", "list", str(tmp_path / "tapes"))}
    assert set(rows) == {"GOOD00L8", "SPOIL0L8", "HURT00L8"}
    assert "LTO99" in rows["SPOIL0L8"]["error"]
    assert rows["HURT00L8"]["partitions"][0]["damaged"] == size
    listing = ro.vtl("cartridge", "list", str(tmp_path / "tapes")).stdout
    assert "damaged" in listing and "Traceback" not in listing


def test_cartridge_read_to_a_full_disk_or_a_closed_pipe(ro, tmp_path):
    path = str(tmp_path / "FULL00L8")
    ro.vtl("cartridge", "create", path, "--capacity", "64MiB")
    from images.cartridge import Cartridge
    with Cartridge.open(path) as cart:
        for _ in range(40):
            cart.active.write(memoryview(os.urandom(256 * 1024)))
    command = [sys.executable, "-m", "vtl.cli", "cartridge", "read", path]
    with open("/dev/full", "wb") as full:
        cp = subprocess.run(command, env=ro.env, stdout=full, stderr=subprocess.PIPE, text=True, timeout=60)
    assert cp.returncode == 1 and "Traceback" not in cp.stderr
    assert cp.stderr.strip() == "Error: cannot write standard output after 0 bytes: No space left on device."
    for other in (["inventory", "--json"], ["status"], ["cartridge", "info", path]):
        with open("/dev/full", "wb") as full:
            cp = subprocess.run([sys.executable, "-m", "vtl.cli", *other], env=ro.env, stdout=full,
                                stderr=subprocess.PIPE, text=True, timeout=60)
        assert (cp.returncode, cp.stderr) == (1, "Error: No space left on device.\n"), other
    reader = subprocess.Popen(command, env=ro.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert len(reader.stdout.read(10)) == 10
    reader.stdout.close()                                # the reader goes away, as `| head -c 10` does
    assert reader.wait(60) == 1
    assert reader.stderr.read() == b""


def test_a_damaged_library_cartridge_says_so(daemon):
    info = daemon.vtl_json("cartridge", "info", "TST001L8")
    from images.cartridge import Cartridge
    with Cartridge.open(info["path"]) as cart:              # in its slot: nobody holds it
        for i in range(3):
            cart.active.write(memoryview(bytes([i]) * 100))
    with open(os.path.join(info["path"], "p0.rec"), "r+b") as f:
        f.seek(4)
        f.write(b"\xde\xad\xbe\xef")
    assert daemon.vtl_json("cartridge", "info", "TST001L8")["damaged"] == 3 * (100 + 32)
    assert "damaged:    396 bytes after the last readable record were kept" in \
        daemon.vtl("cartridge", "info", "TST001L8").stdout


def test_library_cartridges_on_a_read_only_mount(daemon):
    """The library's cartridge storage mounted read-only (archived tapes): the daemon
    starts, the cartridges load write-protected and read; changing one is refused in a
    sentence; the offline tools read them too, and nothing in the storage changes."""
    import base64

    from support.filesystems import read_only
    storage = daemon.home / "cartridges" / "lib0"
    daemon.vtl("load", "TST000L8", "st0")
    daemon.vtl("scsi", "st0", "00 00 00 00 00 00")              # the new-medium unit attention
    payload = os.urandom(1024)
    (daemon.home / "rec.bin").write_bytes(payload)
    assert daemon.vtl_json("scsi", "st0", "0a 00 00 04 00 00", "--data-out", str(daemon.home / "rec.bin"))["status"] == 0
    daemon.vtl("tape", "position", "st0", "--operation", "weof")
    daemon.vtl("unload", "st0")
    daemon.stop()
    with read_only(storage):
        daemon.start()
        info = daemon.vtl_json("cartridge", "info", "TST000L8")
        assert (info["read_only"], info["write_protected"]) == (True, True)
        assert "read-only" in daemon.vtl("cartridge", "info", "TST000L8").stdout.splitlines()[0]

        daemon.vtl("load", "TST000L8", "st0")
        daemon.vtl("scsi", "st0", "00 00 00 00 00 00")
        sense = daemon.vtl_json("scsi", "st0", "1a 00 10 00 ff 00", "--allocation", "255")
        assert base64.b64decode(sense["data"])[2] & 0x80        # WP in the mode parameter header
        r = daemon.vtl_json("scsi", "st0", "0a 00 00 04 00 00", "--data-out", str(daemon.home / "rec.bin"))
        assert bytes.fromhex(r["sense"])[2] & 0x0F == 0x07 and bytes.fromhex(r["sense"])[12] == 0x27
        daemon.vtl("tape", "position", "st0", "--operation", "rewind")
        r = daemon.vtl_json("scsi", "st0", "08 00 00 04 00 00", "--allocation", "1024")
        assert (r["status"], base64.b64decode(r["data"])) == (0, payload)
        daemon.vtl("unload", "st0")

        refused(daemon.vtl("cartridge", "erase", "TST000L8", check=False), "is read-only", "Make them writable")
        refused(daemon.vtl("cartridge", "write-protect", "--off", "TST001L8", check=False),
                "read-only", "write-protect tab cannot be changed")
        daemon.stop()
        raw = subprocess.run([sys.executable, "-m", "vtl.cli", "cartridge", "read", str(storage / "TST000L8")],
                             env=daemon.env, capture_output=True, check=True).stdout
        assert raw == payload
        assert "read-only" in daemon.vtl("cartridge", "list", str(storage)).stdout
        refused(daemon.vtl("cartridge", "erase", str(storage / "TST000L8"), check=False), "is read-only")
    daemon.start()
    info = daemon.vtl_json("cartridge", "info", "TST000L8")
    assert (info["read_only"], info["write_protected"], info["loads"]) == (False, False, 1)


def test_cartridge_delete(daemon, tmp_path):
    refused(daemon.vtl("cartridge", "delete", "TST002L8", check=False),
            "is in library lib0", "Export it first: vtl export TST002L8")
    daemon.vtl("export", "TST002L8")
    path = daemon.vtl_json("cartridge", "info", "TST002L8")["path"]
    refused(daemon.vtl("cartridge", "delete", path, check=False),
            "is cartridge TST002L8 of the running node's catalog", "vtl cartridge delete TST002L8")
    out = daemon.vtl("cartridge", "delete", "TST002L8").stdout.splitlines()
    assert out[0] == "Cartridge TST002L8 is deleted from the catalog; its files were deleted."
    assert out[1].startswith("It is one of library lib0's configured cartridges, so the next start puts a "
                             "blank one again into the library")
    assert not os.path.exists(path)
    assert "TST002L8" not in [c["barcode"] for c in daemon.vtl_json("cartridge", "list")]
    refused(daemon.vtl("cartridge", "delete", "TST002L8", check=False), "No cartridge has barcode 'TST002L8'")

    daemon.vtl("export", "TST003L8")
    r = daemon.vtl_json("cartridge", "delete", "TST003L8", "--keep-files")
    assert (r["files_deleted"], os.path.exists(os.path.join(r["path"], "cartridge.json"))) == (False, True)
    # its files are still in the storage: create refuses, import takes them in as they are
    refused(daemon.vtl("cartridge", "create", "TST003L8", check=False),
            "already exists at", "outside the catalog", "vtl import TST003L8")
    refused(daemon.vtl("import", "TST003L8", "--media", "LTO9", check=False),
            "cannot be imported as LTO9", "already holds it as LTO8 media", "Leave out --media")
    text = daemon.vtl("import", "TST003L8").stdout.strip()
    assert text == f"Imported TST003L8 into mailslot 16 of library lib0, with the cartridge files already at {r['path']}."
    assert daemon.vtl_json("cartridge", "info", "TST003L8")["media"] == "LTO8"

    # a cartridge that is no one's: by path, while the daemon runs
    loose = str(tmp_path / "loose" / "LOOSE0L8")
    daemon.vtl("cartridge", "create", loose, "--capacity", "4MiB")
    refused(daemon.vtl("cartridge", "delete", loose, "--keep-files", check=False), "--keep-files is for")
    assert daemon.vtl("cartridge", "delete", loose).stdout.strip() == f"Cartridge {loose} is deleted."
    assert not os.path.exists(loose)
    refused(daemon.vtl("cartridge", "delete", str(tmp_path / "loose"), check=False), "no cartridge here")


def test_cartridge_write_into_a_library_cartridge(daemon):
    """By barcode with the daemon running: the catalog's cartridge, unless a drive holds it;
    a drive then reads what was written."""
    payload = os.urandom(3000)
    cp = subprocess.run([sys.executable, "-m", "vtl.cli", "cartridge", "write", "TST001L8", "--block-size", "1000"],
                        input=payload, env=daemon.env, capture_output=True, check=True)
    assert cp.stdout.decode().strip() == "Wrote file 0 of cartridge TST001L8 (partition 0): 3,000 bytes in 3 records of 1000 bytes."
    daemon.vtl("load", "TST001L8", "st0")
    refused(daemon.vtl("cartridge", "write", "TST001L8", check=False), "is in drive st0", "vtl unload st0")
    daemon.vtl("scsi", "st0", "00 00 00 00 00 00")                          # the new-medium unit attention
    r = daemon.vtl_json("scsi", "st0", "08 00 00 03 e8 00", "--allocation", "1000")
    import base64
    assert (r["status"], base64.b64decode(r["data"])) == (0, payload[:1000])


def test_show_tape_drive_tells_the_encryption_a_host_set(daemon):
    """A host sets a key (SECURITY PROTOCOL OUT, with CKOD); the operator sees it, and sees
    it gone once the cartridge is unloaded."""
    assert daemon.vtl_json("tape", "show-tape-drive", "st0")[0]["encryption"] == "off"
    daemon.vtl("load", "TST000L8", "st0")
    daemon.vtl("scsi", "st0", "00 00 00 00 00 00")
    page = bytes.fromhex("0010") + (48).to_bytes(2, "big") + bytes([0x40, 0x44, 2, 2, 1, 0, 0]) + bytes(7) \
        + (32).to_bytes(2, "big") + bytes(range(32))
    (daemon.home / "sde.bin").write_bytes(page)
    r = daemon.vtl_json("scsi", "st0", "b5 20 00 10 00 00 00 00 00 34 00 00", "--data-out", str(daemon.home / "sde.bin"))
    assert r["status"] == 0
    assert daemon.vtl_json("tape", "show-tape-drive", "st0")[0]["encryption"] == "on (key cleared at unload)"
    assert "Encryption:" in daemon.vtl("tape", "show-tape-drive", "st0").stdout
    daemon.vtl("unload", "st0")
    assert daemon.vtl_json("tape", "show-tape-drive", "st0")[0]["encryption"] == "off"
