"""`vtl library config show`, `vtl library path show[-by-initiator]`, `vtl path offline|online`
against a real daemon (no kernel target here: the paths are what the configuration says, and
REPORT TARGET PORT GROUPS follows `vtl path`)."""
from __future__ import annotations

import base64

import pytest
from support.daemon import Daemon, small_config

from .conftest import refused

TWO_PATHS = small_config() + '''
[[library.target]]
name = "loop"
fabric = "loop"

[[library.target]]
name = "iscsi"
fabric = "iscsi"
portals = ["127.0.0.1:3260"]
'''


@pytest.fixture
def two_paths(tmp_path) -> Daemon:
    with Daemon(tmp_path / "node", TWO_PATHS) as d:
        yield d


def rtpg(daemon: Daemon, device: str) -> list[tuple[int, int, list[int]]]:
    """(group, state, ports) of every target port group, as the changer reports them."""
    r = daemon.vtl_json("scsi", device, "a30a00000000000010000000", "--allocation", "4096")
    if r["status"] == 2:        # the first command of a nexus sees the power-on unit attention
        r = daemon.vtl_json("scsi", device, "a30a00000000000010000000", "--allocation", "4096")
    assert r["status"] == 0, r
    data = base64.b64decode(r["data"])
    out, at = [], 4
    while at < len(data):
        count = data[at + 7]
        ports = [int.from_bytes(data[at + 10 + 4 * i:at + 12 + 4 * i], "big") for i in range(count)]
        out.append((int.from_bytes(data[at + 2:at + 4], "big"), data[at] & 0x0F, ports))
        at += 8 + 4 * count
    return out


def test_config_show_lists_the_group_and_both_paths(two_paths):
    groups = two_paths.vtl_json("library", "config", "show")
    assert len(groups) == 1
    g = groups[0]
    assert (g["library"], g["lun_group"], g["lun_count"]) == ("lib0", 0, 3)
    assert [p["target_port"] for p in g["paths"]] == ["lib0:loop", "lib0:iscsi"]
    assert g["paths"][1]["wwn"] == "iqn.2026-11.org.vtl:" + g["node"].lower() + ".lib0.iscsi"
    text = two_paths.vtl("library", "config", "show").stdout
    for column in ("Node", "LUN Group", "LUN Count", "Library Name", "Library Target Port", "Initiator"):
        assert column in text
    assert "lib0:loop" in text and "lib0:iscsi" in text and "1 entries were displayed." in text


def test_path_show_and_by_initiator(two_paths):
    rows = two_paths.vtl_json("library", "path", "show")
    assert [(r["target_port"], r["fabric"], r["relative_port"], r["multipath"], r["state"])
            for r in rows] == [("lib0:loop", "loop", 1, True, "online"),
                               ("lib0:iscsi", "iscsi", 2, True, "online")]
    assert all(r["lun_count"] == 3 and r["path_errors"] == 0 for r in rows)
    text = two_paths.vtl("library", "path", "show").stdout
    assert "Path Errors" in text and "2 entries were displayed." in text
    by = two_paths.vtl_json("library", "path", "show-by-initiator")
    assert [r["target_port"] for r in by] == ["lib0:iscsi", "lib0:loop"]
    assert "Initiator" in two_paths.vtl("library", "path", "show-by-initiator").stdout


def test_path_offline_and_online_change_what_alua_reports(two_paths):
    assert rtpg(two_paths, "mc0") == [(1, 0x0, [1]), (2, 0x0, [2])]
    out = two_paths.vtl("path", "offline", "iscsi").stdout
    assert "Path lib0:iscsi is offline" in out
    assert rtpg(two_paths, "st0") == [(1, 0x0, [1]), (2, 0xE, [2])]
    assert [r["state"] for r in two_paths.vtl_json("library", "path", "show")] == ["online", "offline"]
    assert "already offline" in two_paths.vtl("path", "offline", "lib0:iscsi").stdout
    two_paths.vtl("path", "online", "lib0:ISCSI")
    assert rtpg(two_paths, "mc0") == [(1, 0x0, [1]), (2, 0x0, [2])]


def test_unknown_port_is_one_sentence(two_paths):
    refused(two_paths.vtl("path", "offline", "fc0", check=False),
            'there is no target port "fc0"', "lib0:loop, lib0:iscsi")
