"""The volume information of a dump: what its TS_TAPE header says."""
from __future__ import annotations

from dataclasses import dataclass

from .constants import DR_NEWHEADER, DR_NEWINODEFMT, NTREC


@dataclass(frozen=True)
class DumpLabel:
    date: int                  # c_date: time of this dump (seconds since the epoch)
    ddate: int                 # c_ddate: time of the base dump (0 for a level 0)
    level: int                 # 0..31 (c_level)
    label: str = "none"        # c_label (15 bytes at most)
    filesys: str = ""          # c_filesys (63 bytes at most)
    device: str = ""           # c_dev
    host: str = ""             # c_host
    volume: int = 1
    ntrec: int = NTREC         # blocks per tape record, as Linux dump records it in every header
    flags: int = DR_NEWHEADER | DR_NEWINODEFMT   # what Linux dump puts on its TS_TAPE header

    def __post_init__(self) -> None:
        if not 0 <= self.level <= 31:
            raise ValueError(f"dump level {self.level} is not 0..31")
        for name in ("date", "ddate"):
            if not 0 <= getattr(self, name) <= 0xFFFFFFFF:
                raise ValueError(f"{name} {getattr(self, name)} does not fit the dump header's 32 bits")
        if not 1 <= self.ntrec <= 0x7FFFFFFF:
            raise ValueError(f"ntrec {self.ntrec} must be a positive block count")
        if not 1 <= self.volume <= 0x7FFFFFFF:
            raise ValueError(f"volume {self.volume} must be positive")


def text_field(value: str, size: int) -> bytes:
    """``value`` as a NUL-terminated header string of ``size`` bytes (cut if longer)."""
    raw = value.encode("utf-8", "surrogateescape")[:size - 1]
    return raw + bytes(size - len(raw))


def field_text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
