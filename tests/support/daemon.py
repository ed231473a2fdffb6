"""A real `vtl serve` in a temporary directory, for CLI and crash tests.

The daemon runs as a separate process (``python -m vtl.cli serve``), exactly
as an operator starts it; tests talk to it with the real `vtl` command
(:meth:`Daemon.vtl`) or the control client.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from vtl.client import ControlClient, ControlError

SMALL_LIBRARY = """\
[node]
name = "testnode"
kernel_target = false
state = "state.sqlite"
socket = "vtl.sock"
{ndmp}
[[library]]
name = "lib0"
storage = "cartridges/lib0"
slots = {slots}
mailslots = {mailslots}

[library.changer]
vendor = "IBM"
product = "3573-TL"
revision = "F.11"
serial = "TESTCHG0"
lun = 0
{drives}
[[library.cartridge]]
barcodes = "{first}-{last}"
capacity = "{capacity}"
"""

DRIVE = """
[[library.drive]]
personality = "{personality}"
serial = "TESTDRV{n}"
lun = {lun}
"""


def small_config(*, slots: int = 12, mailslots: int = 2, drives: int = 2, cartridges: int = 8,
                 personality: str = "IBM_LTO8", ndmp: str | None = "port = 0", extra: str = "",
                 capacity: str = "16MiB") -> str:
    """``ndmp`` is the body of the ``[ndmp]`` table (None: no table, NDMP's defaults).  By
    default the NDMP server takes any free port: tests never take the NDMP port 10000.
    ``extra`` is appended as it is (``[[volume]]`` tables, say)."""
    text = "".join(DRIVE.format(personality=personality, n=i, lun=i + 1) for i in range(drives))
    table = "" if ndmp is None else f"\n[ndmp]\n{ndmp.strip()}\n"
    return SMALL_LIBRARY.format(slots=slots, mailslots=mailslots, drives=text, ndmp=table,
                                first="TST000L8", last=f"TST{cartridges - 1:03d}L8",
                                capacity=capacity) + extra


class Daemon:
    def __init__(self, home: Path, config_text: str | None = None):
        self.home = Path(home)
        self.home.mkdir(parents=True, exist_ok=True)
        self.config = self.home / "vtl.toml"
        if config_text is not None:
            self.config.write_text(config_text)
        self.socket = self.home / "vtl.sock"
        self.log = self.home / "serve.log"
        self.proc: subprocess.Popen | None = None

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["VTL_HOME"] = str(self.home)
        env["VTL_CONFIG"] = str(self.config)
        env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[2]),
                                             env.get("PYTHONPATH", "")])
        return env

    def start(self, timeout: float = 30.0) -> "Daemon":
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "vtl.cli", "serve", "--config", str(self.config)],
                                     env=self.env, stdout=logf, stderr=subprocess.STDOUT)
        logf.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"vtl serve exited with {self.proc.returncode}:\n{self.log.read_text()}")
            try:
                with ControlClient(self.socket, timeout=5) as c:
                    if c.call("ping").get("ready"):
                        return self        # NDMP listening and the kernel target up, not just control
            except ControlError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"vtl serve did not come up in {timeout}s:\n{self.log.read_text()}")

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, as systemd stops it; returns the exit status."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout)
        self.proc = None
        return rc

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()
        self.proc = None

    def client(self) -> ControlClient:
        return ControlClient(self.socket)

    def call(self, method: str, **params):
        with self.client() as c:
            return c.call(method, **params)

    def vtl(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        """Run the real `vtl` command against this daemon."""
        cp = subprocess.run([sys.executable, "-m", "vtl.cli", *args], env=self.env, capture_output=True,
                            text=True, timeout=timeout)
        if check and cp.returncode != 0:
            raise AssertionError(f"vtl {' '.join(args)} failed ({cp.returncode}):\n{cp.stdout}\n{cp.stderr}")
        return cp

    def vtl_json(self, *args: str):
        return json.loads(self.vtl(*args, "--json").stdout)

    def __enter__(self) -> "Daemon":
        return self.start()

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            try:
                self.stop()
            except subprocess.TimeoutExpired:
                self.kill()
