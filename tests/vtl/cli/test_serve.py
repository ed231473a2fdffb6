"""`vtl serve` itself: the embedded default configuration, SIGTERM, one daemon per state store,
and what outlives a restart (aliases)."""
from __future__ import annotations

import fcntl
import os
import re
import signal
import subprocess
import sys

from support.daemon import Daemon, small_config

from vtl.config import default_text, ensure_default

from .conftest import refused


def test_serve_writes_the_default_configuration(tmp_path):
    d = Daemon(tmp_path / "home")                       # VTL_CONFIG points at a file that is not there
    assert not d.config.exists()
    # Hold the state store's lock, so that this serve writes the file and stops there (served, the
    # default would take the NDMP port 10000, which tests leave to the Wireshark capture).
    lock = os.open(d.home / "state.sqlite.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        cp = d.vtl("serve", check=False, timeout=30)
    finally:
        os.close(lock)
    assert cp.returncode == 1 and "wrote the default configuration" in cp.stderr
    assert cp.stderr.strip().splitlines()[-1].startswith("Error: Another vtl serve is already running")
    written = d.config.read_text()
    assert re.sub(r"VTL[0-9A-F]{6}([CD])", r"VTL000000\1", written) == default_text()
    assert "[[library]]" in written and "[ndmp]" in written


def test_serve_serves_the_default_configuration(tmp_path):
    d = Daemon(tmp_path / "home")
    ensure_default(d.config)                            # what vtl serve writes (see above)
    text = d.config.read_text()
    assert "\nport = 10000 " in text
    d.config.write_text(text.replace("\nport = 10000 ", "\nport = 0     "))   # NDMP on any free port
    with d:
        data = d.vtl_json("status")
        ndmp = d.vtl_json("ndmp", "show")
        assert ndmp["running"] and ndmp["users"] == [{"name": "ndmp", "role": "backup"}]
        [lib] = data["libraries"]
        assert len(lib["drives"]) == 4
        assert lib["slots"]["total"] == 24 and lib["mailslots"]["total"] == 4
        assert len(d.vtl_json("cartridge", "list")) == 20
        assert lib["slots"]["used"] == 20
        assert [dr["alias"] for dr in lib["drives"]] == ["st0", "st1", "st2", "st3"]
        # the configuration's state store and socket sit beside it, in VTL_HOME
        assert data["state"] == str(d.home / "state.sqlite") and d.socket.exists()
    assert "starting node" in d.log.read_text()


def test_sigterm_stops_cleanly_and_a_second_serve_is_refused(tmp_path):
    d = Daemon(tmp_path / "node", small_config()).start()
    try:
        second = d.vtl("serve", check=False, timeout=30)
        refused(second, "already running")
        assert d.proc.poll() is None                    # the first one is untouched
        d.vtl("status")
    finally:
        rc = d.stop()
    assert rc == 0 and not d.socket.exists()
    refused(d.vtl("status", check=False), "vtl serve is not running")


def test_serve_with_a_bad_configuration_says_where(tmp_path):
    d = Daemon(tmp_path / "bad", "[node]\nname = 'x'\n[[library]]\nname = 'lib0'\nslots = -1\n")
    cp = d.vtl("serve", check=False, timeout=30)
    message = refused(cp, str(d.config))
    assert "Fix:" in message


def test_sigint_also_stops_with_status_zero(tmp_path):
    d = Daemon(tmp_path / "node", small_config()).start()
    d.proc.send_signal(signal.SIGINT)
    assert d.proc.wait(30) == 0
    d.proc = None
    assert not d.socket.exists()


def test_aliases_persist_across_restarts(tmp_path):
    d = Daemon(tmp_path / "node", small_config())
    with d:
        # rename drive st1 to st7, and the changer mc0 to mc3 (one alias per device)
        assert d.vtl("tape", "alias", "clear", "--scope", "tape", "st1").stdout.strip() == "Cleared 1 alias."
        r = d.vtl_json("tape", "alias", "set", "st7", "SN[TESTDRV1]L2")
        assert r == {"alias": "st7", "mapping": "SN[TESTDRV1]L2"}
        assert d.vtl("tape", "alias", "set", "mc3", "SN[TESTCHG0]").stdout.strip() == \
            "Alias mc3 now maps to SN[TESTCHG0]."
        refused(d.vtl("tape", "alias", "set", "xx1", "SN[TESTDRV1]L2", check=False), "xx1")
        refused(d.vtl("tape", "alias", "set", "st8", "not a mapping", check=False), "SN[123456]L4")
    with d:                                             # stop, start again
        shown = {r["alias"]: r for r in d.vtl_json("tape", "alias", "show")}
        assert "st1" not in shown and "mc0" not in shown
        assert shown["st7"]["serial"] == "TESTDRV1" and shown["mc3"]["serial"] == "TESTCHG0"
        # the drive answers to its changed alias everywhere, and its device names follow it
        assert d.vtl_json("tape", "show-tape-drive", "st7")[0]["serial"] == "TESTDRV1"
        assert d.vtl_json("load", "TST000L8", "st7")["alias"] == "st7"
        assert d.vtl("tape", "devices", "st7").stdout.splitlines()[1].startswith("rst7l  -  rewind device,")

        cleared = d.vtl_json("tape", "alias", "clear", "-clear-scope", "media-changer")
        assert cleared["cleared"] == 1
        assert {r["alias"] for r in d.vtl_json("tape", "alias", "show")} == {"st0", "st7"}
        d.vtl("tape", "alias", "set", "mc0", "SN[TESTCHG0]")
    with d:
        shown = {r["alias"]: r["mapping"] for r in d.vtl_json("tape", "alias", "show")}
        assert shown == {"st0": "SN[TESTDRV0]L1", "st7": "SN[TESTDRV1]L2", "mc0": "SN[TESTCHG0]"}
        assert d.vtl("tape", "alias", "clear").stdout.strip() == "Cleared 3 aliases."
        assert d.vtl_json("tape", "alias", "show") == []
        assert d.vtl("tape", "alias", "show").stdout.strip() == "No aliases are set."
        refused(d.vtl("tape", "show-tape-drive", "st7", check=False), "No tape drive is called 'st7'")


def test_serve_log_level_and_global_config_option(tmp_path):
    """`vtl --config PATH` works for every command, without VTL_CONFIG."""
    d = Daemon(tmp_path / "node", small_config())
    with d:
        env = {k: v for k, v in d.env.items() if k != "VTL_CONFIG"}
        env["VTL_HOME"] = str(tmp_path / "elsewhere")
        cp = subprocess.run([sys.executable, "-m", "vtl.cli", "--config", str(d.config), "status", "--json"],
                            env=env, capture_output=True, text=True, timeout=60, check=False)
        assert cp.returncode == 0 and '"testnode"' in cp.stdout
        cp = subprocess.run([sys.executable, "-m", "vtl.cli", "status"], env=env, capture_output=True,
                            text=True, timeout=60, check=False)
        refused(cp, "vtl serve is not running")
    log = d.log.read_text()
    assert " INFO vtl" in log and "stopping" in log
