"""Writing tape configuration files.

The output follows the layout of ONTAP's example file: one ``key=value`` per line in
the fixed key order, strings in double quotes, codes as ``0xNN``, ``autoload`` always
written out.  ``parse_tape_config(render_tape_config(c)) == c`` for every valid config
that is not an emulation: ``TapeConfig.emulates`` is not part of the file format.
"""

from __future__ import annotations

from tapeconf.config import TapeConfig
from tapeconf.rules import COMPRESSION_TYPES

__all__ = ["format_timeout", "render_tape_config"]


def render_tape_config(config: TapeConfig, header: str | None = None) -> str:
    """The text of a tape configuration file for ``config``.

    ``header``, if given, is written first as ``#`` comment lines (one per line of
    ``header``), e.g. the name of the drive the file is for.
    """
    lines: list[str] = []
    if header:
        lines.extend(f"# {line}".rstrip() for line in header.splitlines())
        lines.append("")
    lines.append(f'vendor_id="{config.vendor_id}"')
    lines.append(f'product_id="{config.product_id}"')
    lines.append(f"id_match_size={config.id_match_size}")
    if config.vendor_pretty is not None and config.product_pretty is not None:
        lines.append(f'vendor_pretty="{config.vendor_pretty}"')
        lines.append(f'product_pretty="{config.product_pretty}"')
    for compression in COMPRESSION_TYPES:
        setting = config.settings[compression]
        lines.append(f'{compression}_description="{setting.description}"')
        lines.append(f"{compression}_density=0x{setting.density:02X}")
        lines.append(f"{compression}_algorithm=0x{setting.algorithm:02X}")
    lines.append(f'autoload="{"yes" if config.autoload else "no"}"')
    for opcode, seconds in config.cmd_timeouts.items():
        lines.append(f"cmd_timeout_0x{opcode:02x}={format_timeout(seconds)}")
    return "\n".join(lines) + "\n"


def format_timeout(seconds: float) -> str:
    """A timeout in the largest unit that states it exactly: ``10m``, ``90s``, ``500ms``."""
    milliseconds = round(seconds * 1000)
    if milliseconds % 60_000 == 0:
        return f"{milliseconds // 60_000}m"
    if milliseconds % 1_000 == 0:
        return f"{milliseconds // 1_000}s"
    return f"{milliseconds}ms"
