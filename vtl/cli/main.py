"""The `vtl` command."""
from __future__ import annotations

import click

from .cartridge import cartridge


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="vtl")
def cli() -> None:
    """vtl: a virtual tape library -- emulated LTO drives and changers, cartridges as files."""


cli.add_command(cartridge)


def main() -> None:
    cli(prog_name="vtl")
