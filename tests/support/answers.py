"""Decoded command outcomes for assertions."""
from __future__ import annotations

from scsi import LOCAL, Status
from scsi.sense import decode


class Answer:
    """One command's outcome, decoded for assertions."""

    def __init__(self, result):
        self.status = result.status
        self.data = bytes(result.data)
        self.sense = decode(result.sense) if result.sense else None

    @property
    def good(self) -> bool:
        return self.status == Status.GOOD

    def __repr__(self) -> str:
        return f"Answer({self.status.name}, {self.sense}, {len(self.data)} bytes)"


def run(drive, cdb, data=None, nexus=LOCAL) -> Answer:
    return Answer(drive.execute(nexus, cdb, data))
