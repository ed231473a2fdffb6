"""Format 1 cartridges, rewritten in format 2 when they are first opened.

Format 1 kept one record log per partition (``pN.log``): each object a 32-byte header
(magic, kind, algorithm, flags, length, stored, object number, payload CRC, header CRC
over the 28 bytes before it) followed by its payload.  Format 2 splits that into a
record table and a payload file (partition.py).  The payloads and their CRCs carry
over unchanged; only the headers are made anew.

The rewrite is safe to interrupt at any instant: the new files are made under
temporary names, synced and renamed into place, then the label says format 2, and only
then do the logs go.  Until the label changes, the logs are what the cartridge is, and
the next open starts the rewrite again from the beginning.
"""
from __future__ import annotations

import logging
import os
import struct

from .checksum import crc32c
from .meta import FORMAT_VERSION, META_NAME, Meta, write_atomically
from .record import HEADER_SIZE, Kind, encode

log = logging.getLogger(__name__)

_V1 = struct.Struct(">4sBBHIIQII")
_COPY = 8 << 20


def leftovers(path: str, partitions: int) -> list[str]:
    """The format 1 logs still in ``path``."""
    names = (os.path.join(path, f"p{n}.log") for n in range(partitions))
    return [name for name in names if os.path.exists(name)]


def upgrade(path: str, meta: Meta) -> None:
    """Rewrite every partition of the format 1 cartridge in ``path`` (which the caller
    holds locked) in format 2, then say so in its label."""
    for n in range(len(meta.partitions)):
        _partition(path, n, meta.barcode)
    meta.format = FORMAT_VERSION
    write_atomically(path, META_NAME, meta.to_json())
    for name in leftovers(path, len(meta.partitions)):
        os.unlink(name)
    log.info("cartridge %s: rewritten in format %d", meta.barcode, FORMAT_VERSION)


def _partition(path: str, n: int, barcode: str) -> None:
    logname = os.path.join(path, f"p{n}.log")
    targets = {suffix: os.path.join(path, f"p{n}.{suffix}") for suffix in ("rec", "dat")}
    temps = {suffix: name + ".tmp" for suffix, name in targets.items()}
    try:
        src = os.open(logname, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        src = -1                                   # a partition never written
    rec = os.open(temps["rec"], os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    dat = os.open(temps["dat"], os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        size = os.fstat(src).st_size if src >= 0 else 0
        off = obj = data = 0
        heads = bytearray()
        while off + HEADER_SIZE <= size:
            raw = os.pread(src, HEADER_SIZE, off)
            magic, kind, algorithm, flags, length, stored, number, payload_crc, head_crc = _V1.unpack(raw)
            if (magic != b"VTLR" or crc32c(raw[:28]) != head_crc or number != obj or kind not in Kind.__members__.values()
                    or off + HEADER_SIZE + stored > size):
                break
            done = 0
            while done < stored:
                chunk = os.pread(src, min(_COPY, stored - done), off + HEADER_SIZE + done)
                if not chunk:
                    break
                os.pwrite(dat, chunk, data + done)
                done += len(chunk)
            heads += encode(Kind(kind), algorithm, length, stored, data, payload_crc, obj, flags)
            if len(heads) >= _COPY:
                os.write(rec, heads)
                heads.clear()
            off += HEADER_SIZE + stored
            data += stored
            obj += 1
        os.write(rec, heads)
        if off < size:
            # What a format 1 open would have cut (a torn tail) or kept as damage: kept
            # here too, beside the cartridge, for whoever wants to look at it.
            log.warning("cartridge %s: partition %d: %d bytes after object %d of its format 1 log are "
                        "not records; the log is kept as %s.format1", barcode, n, size - off, obj, logname)
            if not os.path.exists(logname + ".format1"):
                os.link(logname, logname + ".format1")
        os.fsync(dat)
        os.fsync(rec)
    finally:
        for fd in (src, rec, dat):
            if fd >= 0:
                os.close(fd)
    os.replace(temps["dat"], targets["dat"])
    os.replace(temps["rec"], targets["rec"])
    try:
        os.unlink(os.path.join(path, f"p{n}.idx"))   # its offsets were the log's: rebuilt on open
    except FileNotFoundError:
        pass
