"""Amanda's ndmjob, written by others, runs its DATA conformance suite (``-o test-data``:
DATA_GET_STATE, ABORT and STOP in IDLE, the LISTEN series over TCP and LOCAL addressing,
a bogus address type) against our server in front of a real node; the session is
captured and decoded by tshark when it can be.

ndmjob's test suites exit 0 only when every check passed; the output's FINAL line says
how many passed, warned and failed (../shared/notes/ndmp-peers.md).  ndmjob's own data
agent fails this suite (it has no DATA_LISTEN): ours must not.
"""
from __future__ import annotations

import os
import subprocess

import pytest
from ndmp_capture import checked_port
from ndmp_node import PASSWORD, running_server

NDMJOB = "/usr/lib/amanda/ndmjob"
if not os.access(NDMJOB, os.X_OK):
    pytest.skip(f"{NDMJOB} not found (apt-get install amanda-common amanda-server): the DATA service is not "
                "checked against ndmjob's test-data", allow_module_level=True)

GUARD = 120          # seconds: only so that a hang ends the run


def test_ndmjob_test_data_passes(tmp_path):
    with checked_port(tmp_path / "ndmp.pcap") as port, \
            running_server(tmp_path / "node", port=port) as (server, _, _):
        run = subprocess.run([NDMJOB, "-o", "test-data", "-D", f"127.0.0.1:{server.port}/4m,ndmp,{PASSWORD}"],
                             check=False, capture_output=True, text=True, timeout=GUARD, stdin=subprocess.DEVNULL)
    out = run.stdout + run.stderr
    assert 'TEST "Test D-IDLE Passed -- pass=3 warn=0 fail=0 (total 3)"' in out, out
    assert 'TEST "Test D-LISTEN Passed -- pass=19 warn=0 fail=0 (total 19)"' in out, out
    assert 'TEST "FINAL test-data Passed -- pass=24 warn=0 fail=0 (total 24)"' in out, out
    assert 'TEST "LOCAL and TCP addressing tested."' in out, out
    assert run.returncode == 0, out
