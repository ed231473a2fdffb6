"""Amanda's ndmjob, written by others, runs its mover conformance suite (``-o test-mover``:
100 checks of the mover state machine over LOCAL and TCP addressing, with the tape not
open, open read-only and open read-write) against our server in front of a real node.

ndmjob's test suites exit 0 only when every check passed; the output's FINAL line says
how many passed, warned and failed (../shared/notes/ndmp-peers.md).
"""
from __future__ import annotations

import os
import subprocess

import pytest
from ndmp_capture import checked_port
from ndmp_node import PASSWORD, running_server

NDMJOB = "/usr/lib/amanda/ndmjob"
if not os.access(NDMJOB, os.X_OK):
    pytest.skip(f"{NDMJOB} not found (apt-get install amanda-common amanda-server): the mover is not checked "
                "against ndmjob's test-mover", allow_module_level=True)

GUARD = 120          # seconds: only so that a hang ends the run


def test_ndmjob_test_mover_passes(tmp_path):
    with checked_port(tmp_path / "ndmp.pcap") as port, \
            running_server(tmp_path / "node", port=port) as (server, node, _loop):
        node.library().load(4096, 256)                      # TST000L8 into st0
        run = subprocess.run([NDMJOB, "-o", "test-mover", "-T", f"127.0.0.1:{server.port}/4m,ndmp,{PASSWORD}",
                              "-f", "nrst0l"], check=False, capture_output=True, text=True, timeout=GUARD,
                             stdin=subprocess.DEVNULL)
    out = run.stdout + run.stderr
    assert 'TEST "FINAL test-mover Passed -- pass=100 warn=0 fail=0 (total 100)"' in out, out
    assert 'TEST "LOCAL and TCP addressing tested."' in out, out
    assert run.returncode == 0, out
