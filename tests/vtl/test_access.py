"""Who may operate the library is who may open the control socket: its file mode
(``socket_mode``) is the access control, checked here with a second, unprivileged user."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from support.daemon import Daemon, small_config

NOBODY = 65534

PROBE = """
import os, sys
from vtl.client import ControlClient, ControlError   # imported first: nobody cannot read root's Python
os.setgid({uid}); os.setuid({uid})
try:
    print(ControlClient(sys.argv[1]).call("ping")["node"])
except ControlError as e:
    print("refused:", e)
"""


def as_nobody(socket_path: Path) -> str:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    out = subprocess.run([sys.executable, "-c", PROBE.format(uid=NOBODY), str(socket_path)],
                         capture_output=True, text=True, env=env, timeout=60, check=True)
    return out.stdout.strip()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a client as another user")
@pytest.mark.parametrize("mode,allowed", [("0600", False), ("0660", False), ("0666", True)])
def test_the_socket_mode_decides_who_may_operate(mode, allowed):
    home = Path(tempfile.mkdtemp(prefix="vtl-access-"))
    try:
        home.chmod(0o755)                       # the directory is open; only the socket's mode decides
        config = small_config().replace('socket = "vtl.sock"', f'socket = "vtl.sock"\nsocket_mode = "{mode}"')
        with Daemon(home, config) as d:
            assert d.socket.stat().st_mode & 0o777 == int(mode, 8)
            answer = as_nobody(d.socket)
            if allowed:
                assert answer == "testnode"
            else:
                assert answer.startswith("refused: You may not use the control socket"), answer
    finally:
        shutil.rmtree(home, ignore_errors=True)
