"""TapeAlert flags (log page 2Eh): what the drive wants an operator to know.

Flags are set by the events that cause them and cleared when the page is read,
as the TapeAlert specification requires (except the ones tied to the loaded
medium, which clear when it is unloaded).
"""
from __future__ import annotations


class TapeAlerts:
    READ_WARNING = 0x01
    WRITE_WARNING = 0x02
    HARD_ERROR = 0x03
    MEDIA = 0x04
    READ_FAILURE = 0x05
    WRITE_FAILURE = 0x06
    WRITE_PROTECT = 0x09
    NO_REMOVAL = 0x0A
    CLEANING_MEDIA = 0x0B
    UNSUPPORTED_FORMAT = 0x0C
    CLEAN_NOW = 0x14
    EXPIRED_CLEANING_MEDIA = 0x16
    WORM_OVERWRITE_ATTEMPTED = 0x3C

    NAMES = {
        0x01: "Read warning", 0x02: "Write warning", 0x03: "Hard error", 0x04: "Media",
        0x05: "Read failure", 0x06: "Write failure", 0x09: "Write protect", 0x0A: "No removal",
        0x0B: "Cleaning media", 0x0C: "Unsupported format", 0x14: "Clean now",
        0x16: "Expired cleaning media", 0x3C: "WORM medium overwrite attempted",
    }
    _MEDIUM = {MEDIA, WRITE_PROTECT, UNSUPPORTED_FORMAT, CLEANING_MEDIA, WORM_OVERWRITE_ATTEMPTED}

    def __init__(self) -> None:
        self.active: set[int] = set()

    def set(self, flag: int) -> None:
        self.active.add(flag)

    def clear(self, flag: int) -> None:
        self.active.discard(flag)

    def clear_medium(self) -> None:
        self.active -= self._MEDIUM

    def read_and_clear(self) -> set[int]:
        out, self.active = self.active, set()
        return out

    def as_int(self) -> int:
        """The 64-bit TAPEALERT FLAGS MAM attribute: flag 1 is the most significant bit."""
        return sum(1 << (64 - f) for f in self.active)
