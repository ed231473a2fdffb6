"""The CLI's side of the control socket (see vtl.daemon.control for the wire)."""
from __future__ import annotations

import itertools
import json
import socket
from pathlib import Path
from typing import Any


class ControlError(Exception):
    """The daemon refused a request, or is not there; the message is for the operator."""


class ControlClient:
    def __init__(self, path: str | Path, timeout: float = 600.0):
        self.path = Path(path)
        self.timeout = timeout
        self._ids = itertools.count(1)
        self._sock: socket.socket | None = None
        self._file = None

    def _connect(self) -> None:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        try:
            s.connect(str(self.path))
        except FileNotFoundError:
            s.close()
            raise ControlError(f"vtl serve is not running (there is no control socket at {self.path}). "
                               "Start it with `vtl serve`.") from None
        except ConnectionRefusedError:
            s.close()
            raise ControlError(f"vtl serve is not running (nothing answers on {self.path}). "
                               "Start it with `vtl serve`.") from None
        except PermissionError:
            s.close()
            raise ControlError(f"You may not use the control socket {self.path}; ask for its group, or run "
                               "as the user who runs vtl serve.") from None
        self._sock = s
        self._file = s.makefile("rwb")

    def call(self, method: str, **params: Any) -> Any:
        if self._sock is None:
            self._connect()
        rid = next(self._ids)
        line = json.dumps({"id": rid, "method": method, "params": params}).encode() + b"\n"
        try:
            self._file.write(line)
            self._file.flush()
            reply = self._file.readline()
        except OSError as e:
            self.close()
            raise ControlError(f"Lost the connection to vtl serve ({e}).") from None
        if not reply:
            self.close()
            raise ControlError("vtl serve closed the connection (did it stop?).")
        msg = json.loads(reply)
        if "error" in msg:
            raise ControlError(msg["error"]["message"])
        return msg.get("result")

    def close(self) -> None:
        for thing in (self._file, self._sock):
            if thing is not None:
                try:
                    thing.close()
                except OSError:   # a dead daemon: the unsent buffer goes with it
                    pass
        self._sock = self._file = None

    def __enter__(self) -> "ControlClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
