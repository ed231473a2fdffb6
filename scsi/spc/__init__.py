"""SPC-4 primary commands.  Importing this package registers every SPC handler in :data:`SPC`."""
from . import (  # noqa: F401  (each module registers its commands)
    inquiry, log, mode, persistent, report_luns, report_opcodes, request_sense, reservations,
    target_port_groups, test_unit_ready,
)
from .commands import SPC

__all__ = ["SPC"]
