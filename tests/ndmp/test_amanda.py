"""Amanda itself, written by others, as the DMA: its `chg-ndmp` changer drives our changer
through the SCSI service and its `ndmp:` device writes and reads through our TAPE and
MOVER services.  It labels a cartridge, backs up a directory, and restores it.

Amanda uses only TAPE, MOVER and SCSI (never DATA), opens the tape in RAW mode; its
taper writes 32 KiB records through the mover over a TCP data connection and
amfetchdump reads them back with TAPE_READ (../shared/notes/ndmp-peers.md).
Amanda's programs run as the `backup` user and read their configuration from
/etc/amanda/<name> only, so the test (as root) writes one there and removes it.
The session is captured on Wireshark's NDMP port and must decode cleanly.
"""
from __future__ import annotations

import filecmp
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from ndmp_capture import TSHARK, captured, messages, port_free, problems
from ndmp_node import PASSWORD, running_server

from ndmp.constants import NDMPPORT
from ndmp.constants import MessageCode as M

AMANDA_TOOLS = ("amlabel", "amdump", "amfetchdump", "amcheck", "amtape")
if any(shutil.which(t) is None for t in AMANDA_TOOLS) or not Path("/usr/lib/amanda/amandad").exists():
    pytest.skip("Amanda is not installed (apt-get install amanda-server amanda-client): not checked against "
                "Amanda", allow_module_level=True)
if os.geteuid() != 0:
    pytest.skip("Amanda's configuration lives in /etc/amanda and its programs run as user backup: needs root",
                allow_module_level=True)
try:
    BACKUP = pwd.getpwnam("backup")
except KeyError:
    pytest.skip("no `backup` user: Amanda's dump user", allow_module_level=True)

GUARD = 600     # seconds: only so that a hang ends the run


def amanda(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["runuser", "-u", "backup", "--", *argv], capture_output=True, text=True,
                          timeout=GUARD, stdin=subprocess.DEVNULL)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


AMANDA_CONF = """\
org "vtltest"
mailto ""
dumpuser "backup"
dumpcycle 0
runspercycle 1
tapecycle 2 tapes
runtapes 1
netusage 800000 Kbps
inparallel 1
infofile "{work}/curinfo"
logdir "{work}/log"
indexdir "{work}/index"
tapelist "{work}/tapelist"
autolabel "VTL-%%" empty
labelstr "^VTL-[0-9][0-9]*$"

define changer vtl_robot {{
    tpchanger "chg-ndmp:127.0.0.1:{port}@mc0"
    property "tape-device" "0=ndmp:127.0.0.1:{port}@nrst0l"
    property "use-slots" "3-6"
    property "ndmp-username" "ndmp"
    property "ndmp-password" "{password}"
    property "ndmp-auth" "md5"
    changerfile "{work}/changer-state"
}}
tpchanger "vtl_robot"
device-property "NDMP_USERNAME" "ndmp"
device-property "NDMP_PASSWORD" "{password}"
device-property "NDMP_AUTH" "md5"

define tapetype VTL16M {{
    length 14 mbytes
    blocksize 32 kbytes
}}
tapetype "VTL16M"

holdingdisk hd {{
    directory "{work}/holding"
    use 200 mbytes
    chunksize 0
}}

define dumptype vtl_tar {{
    program "GNUTAR"
    auth "local"
    compress none
    index yes
    record no
    estimate server
}}
"""


def make_data(root: Path) -> None:
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "hello.txt").write_text("hello from amanda through vtl\n")
    (root / "sub" / "random.bin").write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    (root / "sub" / "deeper" / "zeros.bin").write_bytes(bytes(1024 * 1024))
    for i in range(50):
        (root / "sub" / f"small{i:02d}.txt").write_text(f"file {i}\n" * (i + 1))


@pytest.fixture
def amanda_setup(tmp_path):
    """A work directory the backup user owns, and a configuration in /etc/amanda."""
    work = Path(tempfile.mkdtemp(prefix="vtl-amanda-", dir="/var/tmp"))
    name = work.name
    confdir = Path("/etc/amanda") / name
    try:
        for d in ("curinfo", "log", "index", "holding", "data", "restore"):
            (work / d).mkdir()
        make_data(work / "data")
        subprocess.run(["chown", "-R", "backup:backup", str(work)], check=True)
        os.chmod(work, 0o755)
        confdir.mkdir(parents=True)
        yield name, work, confdir
    finally:
        shutil.rmtree(confdir, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


def test_amanda_labels_backs_up_and_restores(tmp_path, amanda_setup):
    name, work, confdir = amanda_setup
    capture = TSHARK is not None and port_free(NDMPPORT)
    port = NDMPPORT if capture else 0
    pcap = tmp_path / "amanda.pcap"
    with running_server(tmp_path / "node", port=port) as (server, node, loop):
        (confdir / "amanda.conf").write_text(AMANDA_CONF.format(work=work, port=server.port, password=PASSWORD))
        (confdir / "disklist").write_text(f"localhost {work}/data vtl_tar\n")
        subprocess.run(["chown", "-R", "backup:backup", str(confdir)], check=True)
        run = captured(pcap) if capture else _nothing()
        with run:
            amanda("amlabel", name, "VTL-1", "slot", "3")
            check = amanda("amcheck", "-t", name, check=False)
            assert "VTL-1" in check.stdout + check.stderr, check.stdout + check.stderr
            amanda("amdump", name)
            report = amanda("amreport", name, check=False).stdout
            assert "FAILED" not in report and "STRANGE" not in report, report
            restore = work / "restore"
            out = restore / "image.tar"
            with out.open("wb") as f:
                proc = subprocess.run(["runuser", "-u", "backup", "--", "amfetchdump", "-p", name, "localhost",
                                       f"{work}/data"], stdout=f, stderr=subprocess.PIPE, text=False,
                                      timeout=GUARD, stdin=subprocess.DEVNULL, cwd=restore)
            assert proc.returncode == 0, proc.stderr.decode(errors="replace")
        inventory = {e.address: e.barcode for e in node.library().elements()}
    (restore / "x").mkdir()
    # GNU tar's own reader: Amanda's GNUTAR images carry GNU incremental directory entries.
    subprocess.run(["tar", "-xf", str(out), "-C", str(restore / "x")], check=True, timeout=GUARD)
    cmp = filecmp.dircmp(work / "data", restore / "x")
    assert _same_tree(cmp), (cmp.left_only, cmp.right_only, cmp.diff_files)
    assert "TST000L8" in inventory.values()                # every cartridge is still in exactly one place
    assert len([b for b in inventory.values() if b]) == 8
    if capture:
        assert problems(pcap) == []
        seen = {code for _, code, _, _, _ in messages(pcap)}
        # The taper writes through the mover (a TCP data connection); amfetchdump reads with
        # TAPE_READ itself.
        assert {M.NDMP_SCSI_EXECUTE_CDB, M.NDMP_TAPE_OPEN, M.NDMP_MOVER_LISTEN, M.NDMP_NOTIFY_MOVER_HALTED,
                M.NDMP_TAPE_READ} <= seen, " ".join(sorted(hex(c) for c in seen))


def _same_tree(cmp: filecmp.dircmp) -> bool:
    if cmp.left_only or cmp.right_only or cmp.diff_files or cmp.funny_files:
        return False
    _, mismatch, errors = filecmp.cmpfiles(cmp.left, cmp.right, cmp.common_files, shallow=False)
    return not mismatch and not errors and all(_same_tree(sub) for sub in cmp.subdirs.values())


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False
