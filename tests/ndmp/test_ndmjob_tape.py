"""Amanda's ndmjob, written by others, drives our TAPE and SCSI services over a real node:
its tape conformance suite (``-o test-tape``) and its robot operations, each judged by
ndmjob's own verdict and by the node's inventory afterwards.

Three bugs of ndmjob 3.5.1 (Debian 12) are worked around at test time, each by the
smallest change to ndmjob itself, so that its suite can judge our server end to end:

* glib's ``g_malloc(0)`` returns NULL and ndmjob takes that for a failed allocation, so
  test-tape dies at T-BW #6 before sending its zero-length TAPE_WRITE.  An LD_PRELOAD
  shim makes ``g_malloc(0)`` return a real allocation.
* ``ndmca_test_fill_data`` fills records from a struct whose four padding bytes are
  never initialised: the data it writes and the data it later expects differ in those
  bytes (T-READ "Failed compare", mismatches only at offsets 4 and 5 of every 16).  The
  shim's copy of the function zeroes the struct first.
* T-BWR compares the record it read back through a plain ``char *`` with
  ``(i - 4) & 0xff``; on x86-64 ``char`` is signed, so every byte from 0x80 up
  "mismatches" (the log shows ``0xfc => 0xfffffffc``).  A copy of libndmjob with that one
  load changed from ``movsbl`` to ``movzbl`` is preloaded; if the instruction is not
  found (another build), the library is used as it is.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from ndmp_capture import checked_port
from ndmp_node import PASSWORD, running_server

NDMJOB = "/usr/lib/amanda/ndmjob"
LIBNDMJOB = "/usr/lib/x86_64-linux-gnu/amanda/libndmjob-3.5.1.so"
if not os.access(NDMJOB, os.X_OK):
    pytest.skip(f"{NDMJOB} not found (apt-get install amanda-server): services not checked by ndmjob",
                allow_module_level=True)
if shutil.which("gcc") is None:
    pytest.skip("gcc not found: cannot build the shim ndmjob needs", allow_module_level=True)

GUARD = 300          # seconds: only so that a hang ends the run
FIRST_SLOT, SECOND_SLOT, THIRD_SLOT, EMPTY_SLOT, MAILSLOT, DRIVE0 = 4096, 4097, 4098, 4104, 16, 256

SHIM = r"""
#include <stdlib.h>
#include <string.h>

/* glib's g_malloc(0) is NULL, which ndmjob takes for a failed allocation. */
void *g_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        abort();
    return p;
}

/* ndmjob's own ndmca_test_fill_data, with its struct's padding zeroed. */
void ndmca_test_fill_data(char *buf, int bufsize, int recno, int fileno)
{
    struct { unsigned short fileno; unsigned short sequence; unsigned long recno; } x;
    char *dst = buf, *dstend = buf + bufsize, *src, *srcend = (char *)&x + sizeof x;
    unsigned short sequence = 0;

    memset(&x, 0, sizeof x);
    x.fileno = fileno;
    x.recno = recno;
    while (dst < dstend) {
        x.sequence = sequence++;
        for (src = (char *)&x; src < srcend && dst < dstend;)
            *dst++ = *src++;
    }
}
"""
# In ndmca_tt_basic_write_and_read: lea -0x4(%r15),%r9d; movsbl (%r12,%r15,1),%eax -- the signed load
SIGNED_LOAD = bytes.fromhex("458d4ffc430fbe043c")


@pytest.fixture(scope="module")
def preload(tmp_path_factory) -> str:
    d = tmp_path_factory.mktemp("ndmjob-fixes")
    (d / "shim.c").write_text(SHIM)
    subprocess.run(["gcc", "-shared", "-fPIC", "-O2", "-o", str(d / "shim.so"), str(d / "shim.c")], check=True,
                   capture_output=True, timeout=GUARD)
    libs = [str(d / "shim.so")]
    if os.path.exists(LIBNDMJOB):
        image = bytearray(Path(LIBNDMJOB).read_bytes())
        if image.count(SIGNED_LOAD) == 1:
            at = image.find(SIGNED_LOAD) + 6
            image[at] = 0xB6                        # movsbl -> movzbl
            patched = d / Path(LIBNDMJOB).name
            patched.write_bytes(bytes(image))
            libs.append(str(patched))
    return " ".join(libs)


@pytest.fixture
def server(tmp_path):
    """A server on a real node; its sessions are captured and decoded by tshark when it can."""
    with checked_port(tmp_path / "ndmp.pcap") as port, running_server(tmp_path / "node", port=port) as (srv, node, _):
        yield srv, node


def ndmjob(preload: str, port: int, *args: str) -> tuple[int, str]:
    agent = f"127.0.0.1:{port}/4m,ndmp,{PASSWORD}"
    argv = [NDMJOB, *[a.replace("AGENT", agent) for a in args]]
    env = dict(os.environ, LD_PRELOAD=preload)
    res = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=GUARD,
                         check=False)
    return res.returncode, res.stdout + res.stderr


def inventory(node) -> dict[int, str | None]:
    return {e.address: e.barcode for e in node.library().elements()}


def test_test_tape_passes(preload, server):
    srv, node = server
    srv.context.tape_reservations = "persistent"          # the whole suite under a reservation
    node.library().load(FIRST_SLOT, DRIVE0)
    rc, out = ndmjob(preload, srv.port, "-o", "test-tape", "-T", "AGENT", "-f", "nrst0l")
    final = [line for line in out.splitlines() if "FINAL test-tape" in line]
    assert final and re.search(r"FINAL test-tape Passed -- pass=\d+ warn=0 fail=0", final[0]), out
    for phase in ("T-OC", "T-BGS", "T-BW", "T-BR", "T-BWR", "T-WRITE", "T-READ", "T-MTIO"):
        assert f'Test {phase} Passed' in out, out
    assert rc == 0


def ok(result: tuple[int, str]) -> str:
    _, out = result
    assert "Operation complete" in out and "had problems" not in out, out
    return out


def test_robot_operations(preload, server):
    srv, node = server
    run = lambda *a: ndmjob(preload, srv.port, "-v", *a, "-R", "AGENT", "-r", "mc0")
    start = inventory(node)
    ok(run("-o", "init-elem-status"))
    assert inventory(node) == start
    ok(run("-o", f"load={FIRST_SLOT}"))
    assert (inventory(node)[DRIVE0], inventory(node)[FIRST_SLOT]) == ("TST000L8", None)
    # the drive must eject before the robot can take the cartridge (as a real library's)
    ok(run("-o", "unload", "-o", "use-eject=1", "-T", "AGENT", "-f", "nrst0l"))
    assert (inventory(node)[DRIVE0], inventory(node)[FIRST_SLOT]) == (None, "TST000L8")
    ok(run("-o", "move", "-o", f"from-addr={SECOND_SLOT}", "-o", f"to-addr={EMPTY_SLOT}"))
    assert (inventory(node)[SECOND_SLOT], inventory(node)[EMPTY_SLOT]) == (None, "TST001L8")
    ok(run("-o", f"export={THIRD_SLOT}"))
    assert (inventory(node)[THIRD_SLOT], inventory(node)[MAILSLOT]) == (None, "TST002L8")
    ok(run("-o", f"import={THIRD_SLOT}"))
    assert (inventory(node)[THIRD_SLOT], inventory(node)[MAILSLOT]) == ("TST002L8", None)


def test_labels_written_and_listed(preload, server):
    srv, node = server
    common = ("-o", "use-eject=1", "-R", "AGENT", "-r", "mc0", "-T", "AGENT", "-f", "nrst0l")
    out = ok(ndmjob(preload, srv.port, "-v", "-o", "init-labels", *common,
                    "-m", f"ALPHA@{FIRST_SLOT}", "-m", f"BRAVO@{THIRD_SLOT}"))
    assert "Writing tape label 'ALPHA'" in out and "Writing tape label 'BRAVO'" in out
    _, out = ndmjob(preload, srv.port, "-v", "-l", *common, "-m", f"@{FIRST_SLOT}", "-m", f"@{THIRD_SLOT}")
    # -l always ends "had problems" (the notes): it is judged by its ME lines
    assert re.findall(r'^ME "(.*)"$', out, re.MULTILINE) == [f"ALPHA@{FIRST_SLOT}", f"BRAVO@{THIRD_SLOT}"], out
    inv = inventory(node)
    assert (inv[DRIVE0], inv[FIRST_SLOT], inv[THIRD_SLOT]) == (None, "TST000L8", "TST002L8")


def test_query_robot(preload, server):
    srv, _ = server
    _, out = ndmjob(preload, srv.port, "-q", "-R", "AGENT", "-r", "mc0")
    qr = [line[4:-1] for line in out.splitlines() if line.startswith('QR "')]
    assert "    'IBM     3573-TL         F.11'" in qr, out
    assert "     slots 12@4096  drive 2@256  arm 1@1  i/e 2@16" in qr, out
    assert any(re.fullmatch(r"\s+6  @4096 SLOT Full  PVolTag\(TST000L8,#0\)", line) for line in qr), out
    assert not any("ERROR" in line for line in qr), out
