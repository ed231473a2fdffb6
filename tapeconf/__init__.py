"""ONTAP tape configuration files: drive personalities, qualification, device names.

* :mod:`tapeconf.config` - :class:`TapeConfig` and :class:`DensitySetting`, the
  contents of one file;
* :mod:`tapeconf.parser` / :mod:`tapeconf.render` - reading and writing the files;
* :mod:`tapeconf.bundled` - the personalities shipped in ``tapeconf/drives``;
* :mod:`tapeconf.qualification` - the tape qualification table and emulation;
* :mod:`tapeconf.devicenames` - ``nrst0a`` and device listings;
* :mod:`tapeconf.rules` - the limits of the format; :mod:`tapeconf.errors`.

This package uses only the standard library and imports nothing else of ours.
"""

from tapeconf.bundled import bundled, bundled_names, get_bundled
from tapeconf.config import COMPRESSION_TYPES, CompressionType, DensitySetting, TapeConfig
from tapeconf.devicenames import (
    DeviceName,
    RewindType,
    device_listing,
    format_listing,
    parse_device_name,
)
from tapeconf.errors import TapeConfigError, UnknownDriveError
from tapeconf.parser import load_tape_config, parse_tape_config
from tapeconf.qualification import QualificationTable, SupportRow, SupportStatus
from tapeconf.render import format_timeout, render_tape_config

__all__ = [
    "COMPRESSION_TYPES",
    "CompressionType",
    "DensitySetting",
    "DeviceName",
    "QualificationTable",
    "RewindType",
    "SupportRow",
    "SupportStatus",
    "TapeConfig",
    "TapeConfigError",
    "UnknownDriveError",
    "bundled",
    "bundled_names",
    "device_listing",
    "format_listing",
    "format_timeout",
    "get_bundled",
    "load_tape_config",
    "parse_tape_config",
    "parse_device_name",
    "render_tape_config",
]
