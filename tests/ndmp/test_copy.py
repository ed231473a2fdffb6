"""ndmcopy (``ndmp.copy``): a dump of one path restored at another over a data connection
between two DATA services, driven as its own DMA against a real server on a socket.

The copied tree is compared with the original in everything a restore keeps (types,
modes, owners, times, links, holes, xattrs, ACLs); levels 1-9 copy what changed; EXCLUDE
leaves names out; refusals name the side and the reason, and leave both data services
idle.  tshark decodes the sessions of the full copy.
"""
from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from ndmp_capture import checked_port
from ndmp_node import PASSWORD, running_server
from support.filesystems import small_tmpfs
from support.trees import make_tree, tree_differences

from ndmp.constants import NDMPPORT
from ndmp.copy import CopyError, Endpoint, ndmcopy, parse_location
from ndmp.dma import DmaError
from ndmp.dump.dumpdates import DumpDates
from ndmp.dump.engine import DumpEngine


def volumes(tmp: Path, dest: Path) -> str:
    return "".join(f'\n[[volume]]\nname = "/vs1/{name}"\npath = "{path}"\n{extra}'
                   for name, path, extra in (("vol1", tmp / "vol1", ""), ("dest", dest, ""),
                                             ("frozen", tmp / "frozen", "read_only = true\n")))


@contextlib.contextmanager
def lab(tmp: Path, port: int = 0, dest: Path | None = None) -> Iterator:
    for name in ("vol1", "dest", "frozen"):
        (tmp / name).mkdir(exist_ok=True)
    extra = volumes(tmp, dest or tmp / "dest")
    with running_server(tmp / "node", port=port, node_kw={"extra": extra}) as (server, node, _loop):
        server.context.engines = {"dump": DumpEngine(DumpDates(tmp / "dumpdates"))}
        yield server


def end(server, path: str, **kw) -> Endpoint:
    return Endpoint("127.0.0.1", server.port, path, kw.pop("user", "ndmp"), kw.pop("password", PASSWORD), **kw)


@pytest.mark.parametrize("text, parsed", [
    ("192.0.2.129:/vs1/vol1", ("192.0.2.129", NDMPPORT, "/vs1/vol1")),
    ("127.0.0.1:10001:/vs1/vol1/dir/f.txt", ("127.0.0.1", 10001, "/vs1/vol1/dir/f.txt")),
    ("[2001:db8:1:1:209:6bff:feae:6d67]:/vs2/vol2", ("2001:db8:1:1:209:6bff:feae:6d67", NDMPPORT, "/vs2/vol2")),
    ("[::1]:30000:/vs1/v", ("::1", 30000, "/vs1/v")),
    ("filer.example.com:/vs1/vol1", ("filer.example.com", NDMPPORT, "/vs1/vol1")),
])
def test_locations(text, parsed):
    assert parse_location(text) == parsed


@pytest.mark.parametrize("text", ["/vs1/vol1", "127.0.0.1", "127.0.0.1:vs1/vol1", "127.0.0.1:0:/vs1",
                                  "127.0.0.1:70000:/vs1", "2001:db8::1:/vs1", "[2001:db8::1:/vs1", "a b:/v"])
def test_bad_locations_name_the_form(text):
    with pytest.raises(ValueError, match=r"is not HOST\[:PORT\]:/vserver/volume\[/path\]"):
        parse_location(text)


def test_a_tree_is_copied_whole_and_tshark_decodes_both_sessions(tmp_path):
    src = make_tree(tmp_path / "vol1" / "src")
    with checked_port(tmp_path / "ndmp.pcap") as port, lab(tmp_path, port) as server:
        r = ndmcopy(end(server, "/vs1/vol1/src"), end(server, "/vs1/dest/copy", auth="text"))
    assert tree_differences(src, tmp_path / "dest" / "copy") == []
    assert r.level == 0 and r.bytes > 0 and r.bytes % 1024 == 0      # whole dump records
    assert any(side == "source" and text.startswith("DUMP: inode scan") for side, _, text in r.messages)


def test_levels_copy_what_changed_and_exclude_leaves_names_out(tmp_path):
    src = tmp_path / "vol1" / "data"
    (src / "keep").mkdir(parents=True)
    (src / "keep" / "a.txt").write_text("one\n")
    (src / "big.bin").write_bytes(os.urandom(1 << 20))
    (src / "scratch.tmp").write_text("never copied\n")
    dest = tmp_path / "dest" / "data"
    time.sleep(1.1)           # dump dates have whole seconds: the tree is older than the level 0
    with lab(tmp_path) as server:
        full = ndmcopy(end(server, "/vs1/vol1/data"), end(server, "/vs1/dest/data"), exclude=["*.tmp"])
        assert sorted(p.name for p in dest.iterdir()) == ["big.bin", "keep"]
        (src / "keep" / "a.txt").write_text("two\n")
        (src / "keep" / "b.txt").write_text("new\n")
        incremental = ndmcopy(end(server, "/vs1/vol1/data"), end(server, "/vs1/dest/data"), level=1,
                              exclude=["*.tmp"])
    assert incremental.level == 1 and incremental.bytes < 1 << 20 < full.bytes     # big.bin not sent again
    assert (dest / "keep" / "a.txt").read_text() == "two\n"
    assert (dest / "keep" / "b.txt").read_text() == "new\n"
    assert (dest / "big.bin").read_bytes() == (src / "big.bin").read_bytes()
    assert not (dest / "scratch.tmp").exists()
    lines = (tmp_path / "dumpdates").read_text().splitlines()
    assert [line.split()[1] for line in lines] == ["0", "1"]  # both levels recorded for the next


def test_refusals_name_the_side_and_leave_both_servers_usable(tmp_path):
    make_tree(tmp_path / "vol1" / "src", acl=False)
    with lab(tmp_path) as server:
        with pytest.raises(DmaError, match=r"cannot log in to 127\.0\.0\.1:\d+ as ndmp \(md5\)"):
            ndmcopy(end(server, "/vs1/vol1/src", password="wrong"), end(server, "/vs1/dest/x"))
        with pytest.raises(CopyError, match=r"^the destination: 127\.0\.0\.1:\d+ refused NDMP_DATA_START_RECOVER: NDMP_PERMISSION_ERR$"):
            ndmcopy(end(server, "/vs1/vol1/src"), end(server, "/vs1/frozen/x"))
        with pytest.raises(CopyError, match="^the source: .* refused NDMP_DATA_START_BACKUP") as e:
            ndmcopy(end(server, "/vs1/vol1/nowhere"), end(server, "/vs1/dest/y"))
        assert e.value.side == "source" and e.value.reason()
        with pytest.raises(CopyError, match="NDMP v4 carries data-connection addresses as IPv4"):
            ndmcopy(end(server, "/vs1/vol1/src"), end(server, "/vs1/dest/z"), data_family="inet6")
        with pytest.raises(CopyError, match="level 10 is not 0"):
            ndmcopy(end(server, "/vs1/vol1/src"), end(server, "/vs1/dest/z"), level=10)
        with pytest.raises(DmaError, match="cannot reach the NDMP server"):
            free = socket.socket()
            free.bind(("127.0.0.1", 0))
            port = free.getsockname()[1]
            free.close()
            ndmcopy(Endpoint("127.0.0.1", port, "/vs1/vol1/src", "ndmp", PASSWORD), end(server, "/vs1/dest/z"))
        ndmcopy(end(server, "/vs1/vol1/src"), end(server, "/vs1/dest/after"))   # nothing was left held
    assert tree_differences(tmp_path / "vol1" / "src", tmp_path / "dest" / "after") == []
    assert not (tmp_path / "dest" / "x").exists() and not (tmp_path / "frozen" / "x").exists()


def test_a_restore_that_fails_midway_fails_the_copy_and_says_why(tmp_path):
    src = tmp_path / "vol1" / "data"
    src.mkdir(parents=True)
    (src / "big.bin").write_bytes(os.urandom(4 << 20))
    with small_tmpfs(tmp_path / "small", 1 << 20) as mnt, lab(tmp_path, dest=mnt) as server:
        with pytest.raises(CopyError, match=r"^127\.0\.0\.1:\d+:/vs1/vol1/data was not copied to "
                                            r"127\.0\.0\.1:\d+:/vs1/dest/data: .*the destination's restore "
                                            r"ended with an error \(Not enough space on the destination") as e:
            ndmcopy(end(server, "/vs1/vol1/data"), end(server, "/vs1/dest/data"))
        assert any(side == "destination" and kind == "error" for side, kind, _ in e.value.messages), \
            e.value.messages
