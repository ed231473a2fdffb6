"""Drive counters, kept true so the log pages can report them."""
from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass
class DriveStats:
    host_bytes_written: int = 0     # data bytes received with WRITE
    medium_bytes_written: int = 0   # bytes they took on the medium (after compression)
    host_bytes_read: int = 0        # data bytes returned with READ
    medium_bytes_read: int = 0
    blocks_written: int = 0
    blocks_read: int = 0
    filemarks_written: int = 0
    read_errors: int = 0            # unrecovered (CRC) errors
    write_errors: int = 0
    loads: int = 0
    cleanings: int = 0

    def reset(self) -> None:
        for f in fields(self):
            setattr(self, f.name, 0)

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class LoadStats(DriveStats):
    """The same counters for the current (or last) load only (volume statistics)."""
