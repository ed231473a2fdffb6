"""The `vtl` command."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from images.cartridge.errors import NO_ROOM

from .cartridge import cartridge
from .library import COMMANDS as LIBRARY_COMMANDS
from .ndmp import ndmp
from .paths import library, path_group
from .scsi import scsi
from .serve import serve
from .session import Session
from .tape import tape
from .volume import volume


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="vtl")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), envvar="VTL_CONFIG",
              help="Node configuration (TOML) naming the libraries and the control socket; default: "
                   "$VTL_CONFIG, else the default configuration path.")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None) -> None:
    """vtl: a virtual tape library -- emulated LTO drives and changers, cartridges as files.

    Start the library with `vtl serve`; the other commands talk to it.
    """
    ctx.obj = Session(config_path)


cli.add_command(serve)
for command in LIBRARY_COMMANDS:
    cli.add_command(command)
cli.add_command(cartridge)
cli.add_command(tape)
cli.add_command(scsi)
cli.add_command(library)
cli.add_command(path_group)
cli.add_command(ndmp)
cli.add_command(volume)


def main() -> None:
    try:
        cli(prog_name="vtl")
    except OSError as e:
        # click ends quietly when the reader of a pipe goes away (EPIPE).  Running out of
        # room (for the output, or for a cartridge written offline) is the operator's to
        # fix, so it is one sentence; any other OSError escaping a command is a bug.
        if e.errno not in NO_ROOM:
            raise
        sys.stdout = open(os.devnull, "w")   # nothing more to write at exit
        where = f" ({e.filename})" if e.filename else ""
        click.echo(f"Error: {e.strerror}{where}.", err=True)
        sys.exit(1)
