"""`vtl volume create|list|delete` against a real `vtl serve`: configured and created
volumes, what outlives a restart, every refusal as one sentence, a bad [[volume]] table
stopping `vtl serve`, and a DMA seeing the volumes in CONFIG_GET_FS_INFO."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from support.daemon import Daemon, small_config

from ndmp.constants import ErrorCode
from ndmp.constants import MessageCode as M

from .conftest import refused
from .test_ndmp_cli import Client, free_port, password


@pytest.fixture
def host(tmp_path) -> dict[str, Path]:
    out = {}
    for name in ("conf", "data", "more"):
        out[name] = tmp_path / "host" / name
        out[name].mkdir(parents=True)
    (out["data"] / "file").write_text("x")
    return out


@pytest.fixture
def node(tmp_path, host):
    port = free_port()
    text = small_config(ndmp=f"port = {port}") + f'\n[[volume]]\nname = "/vs1/conf"\npath = "{host["conf"]}"\n' \
                                                  'read_only = true\n'
    with Daemon(tmp_path / "node", text) as d:
        d.port = port
        yield d


def names(d: Daemon) -> list[tuple[str, str]]:
    return [(r["name"], r["source"]) for r in d.vtl_json("volume", "list")]


def test_create_list_delete_and_a_restart(node, host):
    assert names(node) == [("/vs1/conf", "config")]
    row = node.vtl_json("volume", "create", "/vs2/data", "--path", str(host["data"]), "--snapshot", "copy")
    assert (row["name"], row["path"], row["source"], row["snapshot"], row["snapshot_usable"]) == (
        "/vs2/data", str(host["data"]), "cli", "copy", "copy")
    out = node.vtl("volume", "create", "/vs2/more", "--path", str(host["more"]), "--read-only").stdout
    assert out.startswith(f"Volume /vs2/more created: {host['more']}") and "snapshots: auto: copy" in out
    assert "read-only" in out
    assert names(node) == [("/vs1/conf", "config"), ("/vs2/data", "cli"), ("/vs2/more", "cli")]

    table = node.vtl("volume", "list").stdout
    for phrase in ("Volume", "Path", "Source", "Filesystem", "Snapshot", "Size", "Used", "Available",
                   "Inodes used / total", "Read-only", "/vs1/conf", "/vs2/data", "/vs2/more", "config", "cli",
                   "auto: copy", "online", str(host["data"])):
        assert phrase in table, phrase
    rows = {r["name"]: r for r in node.vtl_json("volume", "list")}
    assert rows["/vs1/conf"]["read_only"] and rows["/vs2/more"]["read_only"] and not rows["/vs2/data"]["read_only"]
    for r in rows.values():
        assert r["total_size"] > 0 and 0 < r["used_inodes"] <= r["total_inodes"] and r["filesystem"]

    node.stop()
    node.start()                                             # created volumes outlive the daemon
    assert names(node) == [("/vs1/conf", "config"), ("/vs2/data", "cli"), ("/vs2/more", "cli")]
    out = node.vtl("volume", "delete", "/vs2/data").stdout
    assert out.strip() == f"Volume /vs2/data deleted; its directory {host['data']} is untouched."
    assert (host["data"] / "file").read_text() == "x"
    assert names(node) == [("/vs1/conf", "config"), ("/vs2/more", "cli")]


def test_refusals_are_one_sentence(node, host, tmp_path):
    node.vtl("volume", "create", "/vs2/data", "--path", str(host["data"]))
    (tmp_path / "afile").write_text("")
    cases = [
        (("create", "vol9", "--path", str(host["more"])), ("exactly two parts", "/vs1/vol1")),
        (("create", "/vs2/bad-name", "--path", str(host["more"])), ("cannot be a volume name",)),
        (("create", "/vs2/data", "--path", str(host["more"])), ("already exists", "vtl volume create")),
        (("create", "/vs1/conf", "--path", str(host["more"])), ("already exists", "configuration")),
        (("create", "/vs2/x", "--path", str(tmp_path / "missing")), ("does not exist",)),
        (("create", "/vs2/x", "--path", str(tmp_path / "afile")), ("is not a directory",)),
        (("create", "/vs2/x", "--path", str(host["data"])), ("may not nest",)),
        (("create", "/vs2/x", "--path", str(host["more"]), "--snapshot", "zfs"), ("not a snapshot method",)),
        (("create", "/vs2/x", "--path", str(host["more"]), "--snapshot", "btrfs"),
         ("--snapshot btrfs cannot be used", "not the root of a btrfs subvolume")),
        (("delete", "/vs2/nope"), ("There is no volume /vs2/nope", "/vs1/conf, /vs2/data")),
        (("delete", "/vs1/conf"), ("defined in the configuration", "restart vtl serve")),
    ]
    for args, phrases in cases:
        refused(node.vtl("volume", *args, check=False), *phrases)
    assert names(node) == [("/vs1/conf", "config"), ("/vs2/data", "cli")]


def test_a_relative_path_is_the_callers(node, host):
    """--path is relative to where `vtl` runs, not to the daemon's directory."""
    cp = subprocess.run([sys.executable, "-m", "vtl.cli", "volume", "create", "/vs2/data", "--path", "data",
                         "--json"], env=node.env, cwd=host["data"].parent, capture_output=True, text=True,
                        timeout=60, check=False)
    assert cp.returncode == 0, cp.stderr
    assert names(node)[-1] == ("/vs2/data", "cli")
    assert node.vtl_json("volume", "list")[-1]["path"] == str(host["data"])


def test_no_volumes(tmp_path):
    with Daemon(tmp_path / "bare", small_config()) as d:
        assert d.vtl_json("volume", "list") == []
        assert "No volumes: nothing is exposed to NDMP" in d.vtl("volume", "list").stdout


def test_a_bad_volume_table_stops_serve(tmp_path):
    d = Daemon(tmp_path / "bad", small_config() + '\n[[volume]]\nname = "vol1"\npath = "/srv"\n')
    cp = d.vtl("serve", check=False, timeout=60)
    message = refused(cp, "vtl.toml", "[[volume]] number 1", "key name", "exactly two parts", "Fix:")
    assert "line" in message


def test_a_dma_sees_the_volumes(node, host):
    node.vtl("volume", "create", "/vs2/data", "--path", str(host["data"]))
    client = Client(node.port)
    try:
        client.login(password(node))
        reply = client.call(M.NDMP_CONFIG_GET_FS_INFO).body
    finally:
        client.close()
    assert reply.error == ErrorCode.NDMP_NO_ERR
    infos = {i.fs_logical_device: i for i in reply.fs_info}
    assert list(infos) == ["/vs1/conf", "/vs2/data"]
    data = infos["/vs2/data"]
    assert data.fs_physical_device == str(host["data"]) and data.fs_status == "online" and data.fs_type
    assert data.total_size > 0 and data.avail_size > 0 and data.total_inodes > 0
