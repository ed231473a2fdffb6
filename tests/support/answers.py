"""Decoded command outcomes for assertions."""
from __future__ import annotations

from scsi import LOCAL, Result, Status
from scsi.sense import FieldPointer, Sense, SenseKey, decode


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


def assert_check(result: Result, key: SenseKey, code: tuple[int, int],
                 pointer: FieldPointer | None = None) -> Sense:
    """CHECK CONDITION with this sense key and ASC/ASCQ (and field pointer, if given)."""
    assert result.status == Status.CHECK_CONDITION, result
    sense = decode(result.sense)
    assert (sense.key, sense.code) == (key, code), str(sense)
    if pointer is not None:
        assert sense.specific == pointer, sense.specific
    return sense
