"""Cartridges as vtl wrote them before format 2: one record log per partition."""
from __future__ import annotations

import json
import os
import struct

from images.cartridge import Kind
from images.cartridge.checksum import crc32c

_V1 = struct.Struct(">4sBBHIIQII")


def v1_record(kind: int, obj: int, payload: bytes = b"") -> bytes:
    """A format 1 record: header (its CRC over the 28 bytes before it), then payload."""
    body = _V1.pack(b"VTLR", kind, 0, 0, len(payload), len(payload), obj, crc32c(payload) if payload else 0, 0)[:-4]
    return body + crc32c(body).to_bytes(4, "big") + payload


def make_format1(path: str, objects: list, tail: bytes = b"") -> None:
    """Turn the blank cartridge in ``path`` into what format 1 left on disk holding
    ``objects`` (data blocks as bytes, marks as Kind), then ``tail``."""
    log = b"".join(v1_record(1, i) if o is Kind.FILEMARK else v1_record(0, i, o) for i, o in enumerate(objects))
    for name in ("p0.rec", "p0.dat", "p0.idx"):
        os.unlink(os.path.join(path, name))
    with open(os.path.join(path, "p0.log"), "wb") as f:
        f.write(log + tail)
    label = os.path.join(path, "cartridge.json")
    with open(label) as f:
        meta = json.load(f)
    meta["format"] = 1
    with open(label, "w") as f:
        json.dump(meta, f)
