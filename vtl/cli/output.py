"""Shared output helpers: rich tables for people, --json for programs."""
from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any

import click
from rich.console import Console
from rich.table import Table

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")


def emit_json(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2, sort_keys=True))


def table(title: str | None, columns: Iterable[str], rows: Iterable[Iterable[Any]]) -> None:
    t = Table(title=title)
    for c in columns:
        t.add_column(c)
    for r in rows:
        t.add_row(*("" if v is None else str(v) for v in r))
    Console(file=sys.stdout, width=200 if not sys.stdout.isatty() else None).print(t)


def fail(message: str) -> None:
    """A plain-sentence error on stderr and exit status 1 (never a traceback)."""
    raise click.ClickException(message)
