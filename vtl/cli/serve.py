"""`vtl serve`: run the node in the foreground until SIGTERM or Ctrl-C."""
from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from .output import fail
from .session import session

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@click.command(short_help="Run the library daemon (foreground).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Node configuration (TOML); default: vtl --config, $VTL_CONFIG, else the default "
                   "path, where the embedded default configuration is written if the file is missing.")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning"], case_sensitive=False),
              default="info", show_default=True, help="How much the daemon logs on standard error.")
def serve(config_path: Path | None, log_level: str) -> None:
    """Run the library daemon: the libraries of the configuration, the control socket and
    the NDMP server.

    Logs go to standard error.  SIGTERM or Ctrl-C stops it cleanly: every cartridge is
    synced and stays where it is.
    """
    from images.cartridge import CartridgeError
    from tapeconf.errors import TapeConfigError, UnknownDriveError
    from vtl.config import ConfigError, ensure_default, load
    from vtl.daemon.control import SocketInUse
    from vtl.daemon.serve import AlreadyRunning
    from vtl.daemon.serve import serve as run_node
    from vtl.library import LibraryError
    from vtl.ndmp_config import ndmp_config
    from vtl.store import StoreError
    from vtl.volumes import volume_config

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(getattr(logging, log_level.upper()))

    path = config_path if config_path is not None else session().config_path
    try:
        if not path.exists():
            ensure_default(path)
            logging.getLogger("vtl").info("wrote the default configuration to %s", path)
        config = load(path)
        ndmp_config(config)             # the [ndmp] table is checked before anything starts
        volume_config(config)           # and so are the [[volume]] tables
    except ConfigError as e:
        fail(str(e))
    except OSError as e:
        fail(f"Cannot read or create the configuration {path}: {e.strerror or e}.")

    click.echo(f"vtl serve: starting node {config.name} from {path}; control socket {config.socket}")
    try:
        run_node(config)
    except (AlreadyRunning, SocketInUse, StoreError, LibraryError, CartridgeError, TapeConfigError,
            ConfigError) as e:
        fail(str(e))
    except UnknownDriveError as e:
        fail(str(e.args[0]) if e.args else str(e))
    except OSError as e:
        where = f" ({e.filename})" if e.filename else ""
        fail(f"vtl serve could not start: {e.strerror or e}{where}.")
