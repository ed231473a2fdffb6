"""How a `vtl` command finds its node: the configuration file, then the daemon's socket.

The configuration is ``--config PATH``, else ``$VTL_CONFIG``, else the default
path of :mod:`vtl.config`.  Client commands never create it (only `vtl serve`
does); a missing file means nobody has started the library here yet.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .output import fail


class Session:
    """The configuration path of one `vtl` invocation and, on demand, a daemon connection."""

    def __init__(self, config_path: Path | None):
        self._config_path = config_path
        self._config = None

    @property
    def config_path(self) -> Path:
        if self._config_path is None:
            from vtl.config import default_path
            self._config_path = Path(default_path())
        return self._config_path

    def config(self):
        """The node configuration (loaded once); a bad file is one sentence and exit 1."""
        if self._config is None:
            from vtl.config import ConfigError, load
            try:
                self._config = load(self.config_path)
            except ConfigError as e:
                fail(str(e))
            except OSError as e:
                fail(f"Cannot read the configuration {self.config_path}: {e.strerror or e}.")
        return self._config

    def _not_running(self) -> str:
        return (f"vtl serve is not running (there is no configuration at {self.config_path}). "
                "Start it with `vtl serve`, which creates the default configuration there, or point "
                "at yours with --config or VTL_CONFIG.")

    def call(self, method: str, **params: Any) -> Any:
        """One request to the daemon; its refusal (or absence) is the command's error sentence."""
        from vtl.client import ControlClient, ControlError
        if not self.config_path.exists():
            fail(self._not_running())
        config = self.config()
        try:
            with ControlClient(config.socket) as client:
                return client.call(method, **{k: v for k, v in params.items() if v is not None})
        except ControlError as e:
            fail(str(e))

    def running(self) -> bool:
        """Whether a daemon answers for this configuration (for commands that also work offline)."""
        from vtl.client import ControlClient, ControlError
        if not self.config_path.exists():
            return False
        config = self.config()
        try:
            with ControlClient(config.socket, timeout=10) as client:
                client.call("ping")
            return True
        except ControlError:
            return False


def session() -> Session:
    """The current invocation's session (set up by the `vtl` group from --config / $VTL_CONFIG)."""
    ctx = click.get_current_context()
    found = ctx.find_object(Session)
    if found is None:
        found = Session(None)
        ctx.find_root().obj = found
    return found
