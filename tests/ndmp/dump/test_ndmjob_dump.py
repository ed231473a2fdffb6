"""Amanda's ndmjob, written by others, backs up and restores through our DATA service and
dump engine (``-B dump``), two-way (LOCAL), three-way (TCP, ``-T``) and with the
connection swapped (``-o swap-connect``); ``-t`` lists an image; tshark decodes the
sessions.  Linux ``restore`` reads the image ``vtl cartridge read`` takes off the
cartridge.  And a direct access recovery of one file out of a 1 GiB image reads only a
few records from the cartridge (counted at the drive).
"""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from ndmp_capture import NDMPPORT, captured, checked_port, fields, messages, port_free
from ndmp_client import NdmpClient
from ndmp_node import PASSWORD, running_server
from support.daemon import Daemon, small_config
from support.trees import make_tree, tree_differences

from ndmp.constants import AddrType, DataHaltReason, MoverMode, TapeMtioOp, TapeOpenMode
from ndmp.constants import MessageCode as M
from ndmp.dump.dumpdates import DumpDates
from ndmp.dump.engine import DumpEngine
from ndmp.messages import data as da
from ndmp.messages import mover as mv
from ndmp.messages import tape as tp
from ndmp.messages.common import Pval
from vtl.ndmp_backend import InProcessPath

NDMJOB = "/usr/lib/amanda/ndmjob"
if not os.access(NDMJOB, os.X_OK):
    pytest.skip(f"{NDMJOB} not found (apt-get install amanda-common amanda-server): the dump engine is not "
                "checked against ndmjob", allow_module_level=True)
GUARD = 300
INFINITY = (1 << 64) - 1


def volumes(tmp: Path) -> str:
    return (f'\n[[volume]]\nname = "/vs1/vol1"\npath = "{tmp / "vol"}"\n'
            f'\n[[volume]]\nname = "/vs1/dest"\npath = "{tmp / "dest"}"\n')


@contextlib.contextmanager
def lab(tmp: Path, *, port: int = 0, capacity: str = "64MiB") -> Iterator:
    (tmp / "vol").mkdir(exist_ok=True)
    (tmp / "dest").mkdir(exist_ok=True)
    with running_server(tmp / "node", port=port, node_kw={"extra": volumes(tmp), "capacity": capacity}) \
            as (server, node, _loop):
        server.context.engines = {"dump": DumpEngine(DumpDates(tmp / "dumpdates"))}
        node.library().load(4096, 256)                      # TST000L8 into st0
        yield f"127.0.0.1:{server.port}/4m,ndmp,{PASSWORD}", server, node


def ndmjob(*args: str) -> str:
    run = subprocess.run([NDMJOB, *args], capture_output=True, text=True, timeout=GUARD, stdin=subprocess.DEVNULL,
                         check=False)
    return run.stdout + run.stderr


def okay(out: str) -> None:
    assert "Operation ended OKAY" in out and "had problems" not in out, out


def test_two_way_backup_list_and_restore(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "vol" / "src")
    with checked_port(tmp_path / "ndmp.pcap") as port, lab(tmp_path, port=port) as (a, _server, _node):
        okay(ndmjob("-c", "-v", "-D", a, "-B", "dump", "-C", "/vs1/vol1/src", "-f", "nrst0l",
                    "-I", str(tmp_path / "c.idx"), "-E", "HIST=Y"))
        index = (tmp_path / "c.idx").read_text(errors="replace")
        assert "big.bin" in index and "DHr 2" in index
        out = ndmjob("-x", "-v", "-D", a, "-B", "dump", "-C", "/vs1/dest/whole", "-f", "nrst0l",
                     "-J", str(tmp_path / "c.idx"))
        okay(out)
        assert "LOG_FILE messages: 1 OK, 0 ERROR" in out, out
    assert tree_differences(src, tmp_path / "dest" / "whole") == []


def test_list_an_image(tmp_path: Path) -> None:
    """``-t``: START_RECOVER_FILEHIST, the image read back into file history.  tshark finds
    no malformed frame; its warnings are not held against the session, because Wireshark
    4.0's dissector does not know message 0x40b (it says "Unknown Message" and loses track
    of the frame after it), though NDMP v4 defines it."""
    make_tree(tmp_path / "vol" / "src", acl=False)
    pcap = tmp_path / "list.pcap"
    live = shutil.which("tshark") is not None and port_free()
    with captured(pcap) if live else contextlib.nullcontext(), \
            lab(tmp_path, port=NDMPPORT if live else 0) as (a, _server, _node):
        okay(ndmjob("-c", "-v", "-D", a, "-B", "dump", "-C", "/vs1/vol1/src", "-f", "nrst0l",
                    "-I", str(tmp_path / "c.idx"), "-E", "HIST=Y"))
        okay(ndmjob("-t", "-v", "-D", a, "-B", "dump", "-f", "nrst0l", "-I", str(tmp_path / "t.idx")))
    listed = (tmp_path / "t.idx").read_text(errors="replace")
    backed_up = (tmp_path / "c.idx").read_text(errors="replace")
    assert "big.bin" in listed
    names = sorted(line for line in listed.splitlines() if line.startswith("DHd "))
    assert names and names == sorted(line for line in backed_up.splitlines() if line.startswith("DHd "))
    if live:
        assert fields(pcap, "-Y", "_ws.malformed") == []
        assert any(code == 0x40B for _, code, *_ in messages(pcap))


def test_three_way_backup_and_restore_of_named_files(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "vol" / "src")
    with checked_port(tmp_path / "ndmp.pcap") as port, lab(tmp_path, port=port) as (a, _server, _node):
        okay(ndmjob("-c", "-v", "-D", a, "-T", a, "-B", "dump", "-C", "/vs1/vol1/src", "-f", "nrst0l",
                    "-I", str(tmp_path / "c.idx"), "-E", "HIST=Y"))
        out = ndmjob("-x", "-v", "-D", a, "-T", a, "-B", "dump", "-C", "/vs1/dest/some", "-f", "nrst0l",
                     "-J", str(tmp_path / "c.idx"), "-E", "EXTRACT=Y", "dir", "small.txt")
        okay(out)
        assert "LOG_FILE messages: 2 OK, 0 ERROR" in out, out
        okay(ndmjob("-x", "-v", "-D", a, "-T", a, "-B", "dump", "-C", "/vs1/dest/all", "-f", "nrst0l",
                    "-J", str(tmp_path / "c.idx")))
    assert tree_differences(src / "dir", tmp_path / "dest" / "some" / "dir") == []
    assert (tmp_path / "dest" / "some" / "small.txt").read_bytes() == b"hello dump\n"
    assert tree_differences(src, tmp_path / "dest" / "all") == []


def test_swapped_connection_backup(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "vol" / "src", acl=False)
    with lab(tmp_path) as (a, _server, _node):
        okay(ndmjob("-c", "-v", "-D", a, "-T", a, "-o", "swap-connect", "-B", "dump", "-C", "/vs1/vol1/src",
                    "-f", "nrst0l", "-I", str(tmp_path / "c.idx")))
        okay(ndmjob("-x", "-v", "-D", a, "-T", a, "-o", "swap-connect", "-B", "dump", "-C", "/vs1/dest/r",
                    "-f", "nrst0l", "-J", str(tmp_path / "c.idx")))
    assert tree_differences(src, tmp_path / "dest" / "r") == []


def test_linux_restore_reads_the_cartridge(tmp_path: Path) -> None:
    if not shutil.which("restore"):
        pytest.skip("restore not found (apt-get install dump): the image is not checked with Linux restore")
    src = make_tree(tmp_path / "vol" / "src")
    with lab(tmp_path) as (a, _server, node):
        okay(ndmjob("-c", "-v", "-D", a, "-B", "dump", "-C", "/vs1/vol1/src", "-f", "nrst0l",
                    "-I", str(tmp_path / "c.idx")))
        node.library().unload(256, 4096)
    image = tmp_path / "image.dump"
    cart = next((tmp_path / "node" / "cartridges" / "lib0").glob("TST000L8*"))
    subprocess.run([sys.executable, "-m", "vtl.cli", "cartridge", "read", str(cart), "-o", str(image)],
                   check=True, timeout=60, env={**os.environ, "VTL_HOME": str(tmp_path / "home")})
    listing = subprocess.run(["restore", "-t", "-f", str(image)], capture_output=True, text=True, check=True,
                             errors="surrogateescape", stdin=subprocess.DEVNULL, timeout=60).stdout
    assert "./dir/sub/big.bin" in listing and "./name with spaces" in listing, listing
    out = tmp_path / "linux"
    out.mkdir()
    subprocess.run(["restore", "-r", "-y", "-f", str(image)], cwd=out, check=True, capture_output=True,
                   stdin=subprocess.DEVNULL, timeout=60)
    assert tree_differences(src, out) == []


# ---------------------------------------------------------------------- DAR, records counted

def _ok(reply):
    assert reply.header.error_code == 0 and reply.body.error == 0, (reply.name, reply.header, reply.body)
    return reply


def _backup_with_history(dma, filesystem: str, record_size: int) -> tuple[dict[str, int], dict[int, int]]:
    """A dump backup with HIST=Y to the open tape: (node of each name, fh_info of each node)."""
    _ok(dma.call(M.NDMP_MOVER_SET_RECORD_SIZE, mv.MoverSetRecordSizeRequest(len=record_size)))
    _ok(dma.call(M.NDMP_MOVER_SET_WINDOW, mv.MoverSetWindowRequest(offset=0, length=INFINITY)))
    addr = _ok(dma.call(M.NDMP_MOVER_LISTEN, mv.MoverListenRequest(
        mode=MoverMode.NDMP_MOVER_MODE_READ, addr_type=AddrType.NDMP_ADDR_LOCAL))).body.connect_addr
    _ok(dma.call(M.NDMP_DATA_CONNECT, da.DataConnectRequest(addr=addr)))
    env = [Pval(name="FILESYSTEM", value=filesystem), Pval(name="HIST", value="Y")]
    _ok(dma.call(M.NDMP_DATA_START_BACKUP, da.DataStartBackupRequest(butype_name="dump", env=env)))
    assert dma.wait_post(M.NDMP_NOTIFY_DATA_HALTED).body.reason == DataHaltReason.NDMP_DATA_HALT_SUCCESSFUL
    dma.wait_post(M.NDMP_NOTIFY_MOVER_HALTED)
    node_of, offset_of = {}, {}
    for post in list(dma.posts):
        if post.header.message_code == M.NDMP_FH_ADD_DIR:
            for d in post.body.dirs:
                node_of[d.name[0].unix_name] = d.node
        elif post.header.message_code == M.NDMP_FH_ADD_NODE:
            for n in post.body.nodes:
                offset_of[n.node] = n.fh_info
    _ok(dma.call(M.NDMP_DATA_STOP))
    _ok(dma.call(M.NDMP_MOVER_STOP))
    return node_of, offset_of


def _direct_recover(dma, env: list[tuple[str, str]], nlist: list) -> list[tuple[int, int]]:
    """Rewind, then a restore served as a DMA serves DAR: each NOTIFY_DATA_READ becomes a
    MOVER_READ.  Returns the reads asked for."""
    _ok(dma.call(M.NDMP_TAPE_MTIO, tp.TapeMtioRequest(tape_op=TapeMtioOp.NDMP_MTIO_REW, count=1)))
    _ok(dma.call(M.NDMP_MOVER_SET_WINDOW, mv.MoverSetWindowRequest(offset=0, length=INFINITY)))
    addr = _ok(dma.call(M.NDMP_MOVER_LISTEN, mv.MoverListenRequest(
        mode=MoverMode.NDMP_MOVER_MODE_WRITE, addr_type=AddrType.NDMP_ADDR_LOCAL))).body.connect_addr
    _ok(dma.call(M.NDMP_DATA_CONNECT, da.DataConnectRequest(addr=addr)))
    _ok(dma.call(M.NDMP_DATA_START_RECOVER, da.DataStartRecoverRequest(
        env=[Pval(name=k, value=v) for k, v in env], nlist=nlist, butype_name="dump")))
    asked = []
    while True:
        post = dma.wait_post(lambda m: m.header.message_code in (M.NDMP_NOTIFY_DATA_READ,
                                                                  M.NDMP_NOTIFY_DATA_HALTED))
        if post.header.message_code == M.NDMP_NOTIFY_DATA_HALTED:
            assert post.body.reason == DataHaltReason.NDMP_DATA_HALT_SUCCESSFUL
            return asked
        asked.append((post.body.offset, post.body.length))
        _ok(dma.call(M.NDMP_MOVER_READ, mv.MoverReadRequest(offset=post.body.offset, length=post.body.length)))


def _name(original: str, destination: str, node: int, fh_info: int) -> da.Name:
    return da.Name(original_path=original, destination_dir=destination, name="", other_name="",
                   node=node, fh_info=fh_info)


def test_direct_access_recovery_reads_a_few_records_of_a_1gib_image(tmp_path: Path, monkeypatch) -> None:
    """One 200 KB file out of a 1 GiB image: the drive is asked for a handful of 64 KiB
    records, not 16,000."""
    root = tmp_path / "vol" / "big"
    root.mkdir(parents=True)
    block = os.urandom(1 << 20)
    for i in range(16):
        with open(root / f"part{i:02d}", "wb") as f:
            f.writelines(block for _ in range(64))
    wanted = os.urandom(200_000)
    (root / "zz-wanted").write_bytes(wanted)
    reads = []
    real = InProcessPath.execute

    def counting(self, cdb, *args, **kw):
        if bytes(cdb[:1]) == b"\x08":
            reads.append(bytes(cdb))
        return real(self, cdb, *args, **kw)
    monkeypatch.setattr(InProcessPath, "execute", counting)
    rs = 64 * 1024
    with lab(tmp_path, capacity="2GiB") as (_a, server, _node), \
            NdmpClient("127.0.0.1", server.port).connect("ndmp", PASSWORD) as dma:
        _ok(dma.call(M.NDMP_TAPE_OPEN, tp.TapeOpenRequest(device="nrst0l", mode=TapeOpenMode.NDMP_TAPE_RDWR_MODE)))
        node_of, offset_of = _backup_with_history(dma, "/vs1/vol1/big", rs)
        node = node_of["zz-wanted"]
        written = len(reads)
        _direct_recover(dma, [("DIRECT", "Y")], [_name("/zz-wanted", "/vs1/dest/got", node, offset_of[node])])
    assert written == 0                                   # the backup only wrote
    assert (tmp_path / "dest" / "got").read_bytes() == wanted
    image_records = (16 << 20 << 6) // rs
    assert 0 < len(reads) <= 8, (len(reads), image_records)


def test_recover_full_paths_through_the_mover(tmp_path: Path) -> None:
    """RECOVER_FULL_PATHS=Y: the file by its fh_info, then the image's directories from
    its start (the mover goes back on the tape), and the path made gets their attributes."""
    root = tmp_path / "vol" / "tree"
    (root / "a" / "b").mkdir(parents=True)
    for i in range(8):
        (root / f"filler{i}").write_bytes(os.urandom(300_000))
    (root / "a" / "b" / "wanted").write_bytes(b"wanted file")
    os.chmod(root / "a", 0o751)
    os.chmod(root / "a" / "b", 0o705)
    with lab(tmp_path) as (_a, server, _node), \
            NdmpClient("127.0.0.1", server.port).connect("ndmp", PASSWORD) as dma:
        _ok(dma.call(M.NDMP_TAPE_OPEN, tp.TapeOpenRequest(device="nrst0l", mode=TapeOpenMode.NDMP_TAPE_RDWR_MODE)))
        node_of, offset_of = _backup_with_history(dma, "/vs1/vol1/tree", 64 * 1024)
        node = node_of["wanted"]
        env = [("DIRECT", "Y"), ("ENHANCED_DAR_ENABLED", "Y"), ("RECOVER_FULL_PATHS", "Y")]
        asked = _direct_recover(dma, env, [_name("/a/b/wanted", "/vs1/dest/a/b/wanted", node, offset_of[node])])
    assert asked[0][0] == offset_of[node] > 2_000_000 and asked[-1][0] == 0, asked
    dest = tmp_path / "dest"
    assert (dest / "a" / "b" / "wanted").read_bytes() == b"wanted file"
    for rel in ("a", "a/b"):
        got, want = os.stat(dest / rel), os.stat(root / rel)
        assert (got.st_mode, got.st_mtime_ns // 1000) == (want.st_mode, want.st_mtime_ns // 1000), rel  # dump keeps µs


# ---------------------------------------------------------------------- the product: vtl serve

def test_vtl_serve_backs_up_a_created_volume_with_levels_and_logs_it(tmp_path: Path) -> None:
    """`vtl serve` with a volume made by `vtl volume create`: a level 0 and a level 1 through
    ndmjob, recorded in the node's dumpdates and in the backup event log."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = tmp_path / "data"
    data.mkdir()
    (data / "a").write_bytes(b"first")
    with Daemon(tmp_path / "node", small_config(ndmp=f"port = {port}", capacity="64MiB")) as d:
        d.vtl("volume", "create", "/vs1/data", "--path", str(data))
        d.vtl("load", "TST000L8", "st0")
        pw = d.call("ndmp.generate_password", user="ndmp")["password"]
        a = f"127.0.0.1:{port}/4m,ndmp,{pw}"
        okay(ndmjob("-c", "-v", "-D", a, "-B", "dump", "-C", "/vs1/data", "-f", "nrst0l", "-I",
                    str(tmp_path / "0.idx"), "-E", "LEVEL=0", "-E", "HIST=Y"))
        time.sleep(1.1)                                     # dump dates are whole seconds
        (data / "b").write_bytes(b"second")
        okay(ndmjob("-c", "-v", "-D", a, "-B", "dump", "-C", "/vs1/data", "-f", "nrst0l", "-I",
                    str(tmp_path / "1.idx"), "-E", "LEVEL=1", "-E", "HIST=Y"))
        level1 = (tmp_path / "1.idx").read_text(errors="replace")
        assert " b" in level1 or "/b" in level1
    dumpdates = (tmp_path / "node" / "dumpdates").read_text().split()
    assert dumpdates[:2] == ["/vs1/data", "0"] and dumpdates[3:5] == ["/vs1/data", "1"]
    log = (tmp_path / "node" / "log" / "backup").read_text()
    assert log.count(" Start (level 0, NDMP volume)") == 1 and log.count(" Start (level 1, NDMP volume)") == 1
    assert log.count(" End (") == 2 and " Base_dump (level 0" in log
