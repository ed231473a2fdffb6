"""Hostile connections against a server in front of a real node: the server keeps serving
and nothing leaks (sessions, device claims, mover threads, file descriptors).

VTL_SERVER_FUZZ_MESSAGES sets the count (default 3,000: a few seconds);
benches/ndmp_server_fuzz.py runs a million."""
from __future__ import annotations

import os

from ndmp_server_fuzz import _fds, _threads, fuzz_server, healthy, load_drives, running_server, settle

MESSAGES = int(os.environ.get("VTL_SERVER_FUZZ_MESSAGES", "3000"))


def test_hostile_connections_leave_nothing_behind(tmp_path):
    with running_server(tmp_path) as (server, node, loop):
        load_drives(node)
        baseline_fds, baseline_threads = _fds(), _threads()
        tally = fuzz_server(server, MESSAGES, per_connection=100)
        assert tally["undefined errors"] == 0, tally
        assert tally["connections"] > 10 and tally["logged in"] > 0 and tally["reset"] > 0, tally
        assert settle(server, baseline_fds, baseline_threads) == {}, tally
        assert healthy(server.port)
