"""kill -9 of `vtl serve` at random instants in a stream of moves, loads,
unloads, SCSI MOVE MEDIUM commands, imports, exports and tape writes.

After every restart: every cartridge is in exactly one element (or outside
the library, if it was exported), no element holds two, the store passes its
integrity check, and every drive holds what the store says it holds.  At the
end every cartridge opens, every record passes its CRC, and every file whose
filemark was acknowledged (a sync point) is on its tape.
"""
from __future__ import annotations

import base64
import os
import random
import signal
import sqlite3
import threading

from images.cartridge import Cartridge, Kind
from support.cdbs import space6, write6, write_filemarks6
from support.daemon import Daemon, small_config
from vtl.client import ControlError

OPERATIONS = 220
MIN_KILLS = 25
BARCODES = [f"TST{i:03d}L8" for i in range(8)]
RECORD = 2048


def move_medium(src: int, dst: int) -> bytes:
    """MOVE MEDIUM (SMC-3 table 'MOVE MEDIUM command'), transport 0 = default."""
    return bytes([0xA5, 0, 0, 0]) + src.to_bytes(2, "big") + dst.to_bytes(2, "big") + bytes(4)


def exchange_medium(src: int, first: int, second: int) -> bytes:
    """EXCHANGE MEDIUM (SMC-3): source's cartridge to first, first's to second."""
    return (bytes([0xA6, 0, 0, 0]) + src.to_bytes(2, "big") + first.to_bytes(2, "big")
            + second.to_bytes(2, "big") + bytes(2))


def payload(barcode: str, file: int, record: int) -> bytes:
    head = f"{barcode}:{file}:{record}:".encode()
    return head + bytes((file * 31 + record + i) & 0xFF for i in range(RECORD - len(head)))


class Stream:
    def __init__(self, daemon: Daemon, rng: random.Random):
        self.d = daemon
        self.rng = rng
        self.synced: dict[str, list[tuple[int, int]]] = {b: [] for b in BARCODES}  # (file, records)
        self.next_file = 0
        self.done = 0

    def scsi(self, device: str, cdb: bytes, data: bytes | None = None) -> dict:
        """One command, retried after unit attentions as an initiator does."""
        params = {"device": device, "cdb": cdb.hex()}
        if data is not None:
            params["data_out"] = base64.b64encode(data).decode()
        for _ in range(8):
            r = self.d.call("scsi", **params)
            if not (r["status"] == 2 and bytes.fromhex(r["sense"])[2] & 0x0F == 6):
                return r
        raise AssertionError(f"unit attentions without end from {device}")

    def step(self) -> None:
        inv = self.d.call("inventory")
        slots = [e for e in inv if e["type"] == "storage"]
        drives = [e for e in inv if e["type"] == "data_transfer"]
        mails = [e for e in inv if e["type"] == "import_export"]
        full_slots = [e for e in slots if e["barcode"]]
        empty_slots = [e for e in slots if not e["barcode"]]
        full_drives = [e for e in drives if e["barcode"]]
        empty_drives = [e for e in drives if not e["barcode"]]
        ops = []
        if full_slots and empty_drives:
            ops += ["load"] * 3
        if full_drives:
            ops += ["unload"] * 3 + ["write"] * 3
        if full_slots and empty_slots:
            ops += ["move", "scsi_move"]
        if len(full_slots) >= 2:
            ops += ["scsi_exchange"]
        if full_slots and any(not m["barcode"] for m in mails):
            ops += ["export"]
        vault = [c["barcode"] for c in self.d.call("cartridge.list") if c["element"] == "vault"]
        if vault and any(not m["barcode"] for m in mails):
            ops += ["import"]
        if any(m["barcode"] for m in mails) and empty_slots:
            ops += ["scsi_move_in"] * 2
        op = self.rng.choice(ops)
        pick = self.rng.choice
        if op == "load":
            self.d.call("load", cartridge=pick(full_slots)["barcode"], drive=pick(empty_drives)["drive"])
        elif op == "unload":
            self.d.call("unload", drive=pick(full_drives)["drive"])
        elif op == "move":
            self.d.call("move", source=str(pick(full_slots)["address"]), destination=str(pick(empty_slots)["address"]))
        elif op == "scsi_move":
            r = self.scsi("TESTCHG0", move_medium(pick(full_slots)["address"], pick(empty_slots)["address"]))
            assert r["status"] == 0, r
        elif op == "scsi_exchange":
            a, b = self.rng.sample(full_slots, 2)
            second = pick(empty_slots)["address"] if empty_slots and self.rng.random() < 0.5 else a["address"]
            r = self.scsi("TESTCHG0", exchange_medium(a["address"], b["address"], second))
            assert r["status"] == 0, r
        elif op == "scsi_move_in":
            src = pick([m for m in mails if m["barcode"]])
            r = self.scsi("TESTCHG0", move_medium(src["address"], pick(empty_slots)["address"]))
            assert r["status"] == 0, r
        elif op == "export":
            self.d.call("export", barcode=pick(full_slots)["barcode"])
        elif op == "import":
            self.d.call("import", barcode=pick(vault))
        elif op == "write":
            self.write(pick(full_drives))
        self.done += 1

    def write(self, drive: dict) -> None:
        serial, barcode = drive["drive"], drive["barcode"]
        tur = self.scsi(serial, bytes(6))
        if tur["status"] != 0:           # not threaded (e.g. inserted without autoload)
            self.scsi(serial, bytes([0x1B, 0, 0, 0, 1, 0]))  # LOAD
        r = self.scsi(serial, space6(3, 0))   # to end of data: append
        assert r["status"] == 0, r
        file = self.next_file
        self.next_file += 1
        count = self.rng.randint(1, 6)
        for i in range(count):
            r = self.scsi(serial, write6(RECORD), payload(barcode, file, i))
            assert r["status"] == 0, r
        r = self.scsi(serial, write_filemarks6(1))   # IMMED=0: a sync point
        assert r["status"] == 0, r
        self.synced[barcode].append((file, count))


def check_invariants(d: Daemon) -> None:
    inv = d.call("inventory")
    held = [e["barcode"].upper() for e in inv if e["barcode"]]
    assert len(held) == len(set(held)), f"a cartridge is in two elements: {sorted(held)}"
    catalog = d.call("cartridge.list")
    vault = {c["barcode"].upper() for c in catalog if c["element"] == "vault"}
    assert not vault & set(held)
    assert set(held) | vault == set(BARCODES), (held, vault)
    status = d.call("status")["libraries"][0]
    for e in (e for e in inv if e["type"] == "data_transfer"):
        drive = next(x for x in status["drives"] if x["serial"] == e["drive"])
        assert drive["barcode"] == e["barcode"]
        assert (drive["state"] != "empty") == (e["barcode"] is not None), (drive, e)
    db = sqlite3.connect(f"file:{d.home / 'state.sqlite'}?mode=ro", uri=True)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = db.execute("SELECT barcode, address FROM locations").fetchall()
        assert sorted(b.upper() for b, _ in rows) == sorted(held)
        assert db.execute("SELECT count(*) FROM pending").fetchone()[0] == 0
    finally:
        db.close()


def kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def died(proc, wait: float = 3.0) -> bool:
    """The request failed because the daemon was killed (not because it refused)."""
    try:
        proc.wait(wait)
        return True
    except Exception:
        return False


def read_tape(path) -> list:
    """Every object of partition 0: payload prefixes for records, 'FM' for filemarks."""
    items = []
    with Cartridge.open(str(path)) as cart:
        part = cart.active
        part.rewind()
        buf = memoryview(bytearray(RECORD * 2))
        while True:
            r = part.read(buf)   # raises on a CRC mismatch
            if r.kind is None:
                break
            if r.kind == Kind.FILEMARK:
                items.append("FM")
            else:
                assert r.length == RECORD
                items.append(bytes(buf[:r.copied]))
    return items


def test_kill_9_during_a_stream_of_moves(tmp_path):
    rng = random.Random(int(os.environ.get("VTL_CRASH_SEED", "20261123")))
    d = Daemon(tmp_path, small_config(slots=12, mailslots=2, drives=2, cartridges=8))
    d.start()
    stream = Stream(d, rng)
    kills = 0
    try:
        while stream.done < OPERATIONS or kills < MIN_KILLS:
            pid = d.proc.pid
            timer = threading.Timer(rng.uniform(0.01, 0.3), kill, (pid,))
            timer.start()
            try:
                while True:
                    stream.step()
            except ControlError as e:
                timer.cancel()
                if not died(d.proc):
                    raise AssertionError(f"the daemon refused a valid request: {e}") from None
            d.proc = None
            kills += 1
            d.start()
            check_invariants(d)
        assert d.stop() == 0
    finally:
        if d.proc is not None:
            d.kill()
    assert stream.done >= OPERATIONS and kills >= MIN_KILLS
    assert sum(len(f) for f in stream.synced.values()) > 10, "the stream wrote too little to prove anything"
    print(f"{stream.done} operations, {kills} kills, "
          f"{sum(len(f) for f in stream.synced.values())} acknowledged tape files")

    for barcode, files in stream.synced.items():
        items = read_tape(tmp_path / "cartridges" / "lib0" / barcode)
        for file, count in files:
            first = next((i for i, it in enumerate(items)
                          if it != "FM" and it.startswith(f"{barcode}:{file}:0:".encode())), None)
            assert first is not None, f"{barcode} lost acknowledged file {file}"
            got = items[first:first + count + 1]
            assert got == [payload(barcode, file, i) for i in range(count)] + ["FM"], (barcode, file)
