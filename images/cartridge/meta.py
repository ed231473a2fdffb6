"""The cartridge label file (``cartridge.json``): everything about a cartridge
that is not records.  It changes rarely (load, unload, format, write-protect)
and is always replaced atomically, so a kill leaves either the old or the new.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields

FORMAT_VERSION = 2
"""2: a record table and a payload file per partition.  1: one record log per
partition, headers between the payloads (upgraded on open: upgrade.py)."""
READABLE_FORMATS = (1, FORMAT_VERSION)
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
    def from_json(cls, text: str | bytes, source: str) -> "Meta":
        """Read a label, checking every field: a label damaged by hand or by a tool must
        be refused here with a plain reason, not fail later inside a SCSI command."""
        try:
            raw = json.loads(text)
            if not isinstance(raw, dict):
                raise ValueError(f"the file holds a JSON {type(raw).__name__}, not an object")
            if raw.get("format") not in READABLE_FORMATS:
                raise ValueError(f"format {raw.get('format')!r} is not one of {READABLE_FORMATS}")
            unknown = sorted(set(raw) - _FIELDS)
            if unknown:
                raise ValueError(f"unknown field {unknown[0]!r}")
            for name in ("barcode", "media", "partitions", "early_warning"):
                if name not in raw:
                    raise ValueError(f"{name} is missing")
            _check_fields(raw)
            raw["partitions"] = [PartitionMeta(p["capacity"]) for p in raw["partitions"]]
            return cls(**raw)
        except ValueError as exc:
            from .errors import BadLabel
            raise BadLabel(f"{source}: not a vtl cartridge label ({exc}). "
                                 "Fix: restore it from a backup, or recreate the cartridge "
                                 "with `vtl cartridge create`.") from None


_FIELDS = {f.name for f in fields(Meta)}


def _count(raw: dict, name: str, upper: int | None = None) -> None:
    value = raw.get(name, 0)
    if type(value) is not int or value < 0 or (upper is not None and value > upper):
        limit = f" up to {upper}" if upper is not None else ""
        raise ValueError(f"{name} is {value!r}, not a whole number from 0{limit}")


def _check_fields(raw: dict) -> None:
    from .media import MEDIA
    barcode = raw["barcode"]
    if not isinstance(barcode, str) or not barcode:
        raise ValueError(f"barcode is {barcode!r}, not a name")
    if not isinstance(raw["media"], str) or raw["media"] not in MEDIA:
        raise ValueError(f"media {raw['media']!r} is not a known media type")
    parts, most = raw["partitions"], max(1, MEDIA[raw["media"]].max_partitions)
    if not isinstance(parts, list) or not 1 <= len(parts) <= most:
        raise ValueError(f"partitions is not a list of 1 to {most} partitions ({raw['media']} media)")
    for p in parts:
        if not isinstance(p, dict) or set(p) != {"capacity"}:
            raise ValueError(f"partition {p!r} is not {{\"capacity\": bytes}}")
        _count(p, "capacity")
    for name in ("early_warning", "cleaning_uses_left", "nominal_capacity"):
        _count(raw, name)
    if type(raw.get("write_protected", False)) is not bool:
        raise ValueError(f"write_protected is {raw['write_protected']!r}, not true or false")
    if raw.get("density") is not None:
        _count(raw, "density", 0xFF)
    mam = raw.get("mam", {})
    if not isinstance(mam, dict):
        raise ValueError("mam is not an object of attributes")
    for key, value in mam.items():
        if not (len(key) == 6 and key.startswith("0x") and _is_hex(key[2:])):
            raise ValueError(f"MAM attribute {key!r} is not an identifier like \"0x0400\"")
        if not isinstance(value, str) or len(value) % 2 or not _is_hex(value):
            raise ValueError(f"MAM attribute {key} is {value!r}, not hex bytes")


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdefABCDEF" for c in text)

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
