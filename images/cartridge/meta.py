"""The cartridge label file (``cartridge.json``): everything about a cartridge
that is not records.  It changes rarely (load, unload, format, write-protect)
and is always replaced atomically, so a kill leaves either the old or the new.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field

FORMAT_VERSION = 1
META_NAME = "cartridge.json"


@dataclass
class PartitionMeta:
    capacity: int


@dataclass
class Meta:
    barcode: str
    media: str
    partitions: list[PartitionMeta]
    early_warning: int
    write_protected: bool = False
    density: int | None = None           # density written from BOT, None while blank
    cleaning_uses_left: int = 0
    mam: dict[str, str] = field(default_factory=dict)   # "0x0400" -> hex of raw value
    nominal_capacity: int = 0            # capacity as made; SET CAPACITY scales from it
    format: int = FORMAT_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, source: str) -> "Meta":
        try:
            raw = json.loads(text)
            if raw.get("format") != FORMAT_VERSION:
                raise ValueError(f"format {raw.get('format')!r} is not {FORMAT_VERSION}")
            raw["partitions"] = [PartitionMeta(**p) for p in raw["partitions"]]
            return cls(**raw)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            from .errors import CartridgeError
            raise CartridgeError(f"{source}: not a vtl cartridge label ({exc}). "
                                 "Fix: restore it from a backup, or recreate the cartridge "
                                 "with `vtl cartridge create`.") from None


def write_atomically(directory: str, name: str, text: str, *, durable: bool = True) -> None:
    """Replace ``name`` whole or not at all.  ``durable=False`` leaves the fsyncs to a
    caller that makes many files and syncs the filesystem once (a library's first start)."""
    tmp = os.path.join(directory, f".{name}.tmp")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        if durable:
            os.fsync(f.fileno())
    os.replace(tmp, os.path.join(directory, name))
    if not durable:
        return
    dfd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
