"""RPC record marking (RFC 5531 section 11): how NDMP messages are cut out of a TCP stream.

A record is one or more fragments; each fragment is a 4-byte big-endian word
(bit 31: last fragment of the record, bits 0-30: fragment length) followed by
that many bytes.  :class:`RecordReader` is sans-IO: the session feeds it
whatever ``recv`` returned and gets back the complete records.

A peer chooses the lengths, so the reader checks each fragment header against
``max_record_size`` before it keeps any of the fragment's bytes, and only ever
holds bytes that actually arrived.  Past the limit it raises
:class:`RecordTooLarge` and stays failed: the stream cannot be resynchronised,
the session must drop the connection.
"""
from __future__ import annotations

__all__ = [
    "DEFAULT_MAX_RECORD_SIZE",
    "LAST_FRAGMENT",
    "MAX_FRAGMENT",
    "RecordError",
    "RecordReader",
    "RecordTooLarge",
    "frame",
]

LAST_FRAGMENT = 0x8000_0000
MAX_FRAGMENT = 0x7FFF_FFFF
# Large enough for tape records of several MiB (NDMJOB itself keeps 24 bits of
# a fragment length, 16 MiB); a session may lower it until the peer has
# authenticated.
DEFAULT_MAX_RECORD_SIZE = 16 * 1024 * 1024


class RecordError(Exception):
    """The byte stream cannot be cut into records; the connection must be dropped."""


class RecordTooLarge(RecordError):
    """A record (all its fragments together) would exceed the reader's maximum."""

    def __init__(self, size: int, maximum: int):
        super().__init__(f"an RPC record of at least {size} bytes exceeds the maximum of {maximum} bytes")
        self.size = size
        self.maximum = maximum


class RecordReader:
    """Cuts complete records out of a byte stream fed in arbitrary pieces."""

    def __init__(self, max_record_size: int = DEFAULT_MAX_RECORD_SIZE):
        self.max_record_size = max_record_size
        self._header = bytearray()        # a fragment header split across feeds
        self._remaining = 0               # bytes of the current fragment still to come
        self._in_fragment = False
        self._last = False
        self._record = bytearray()        # fragments of the current record so far
        self._failed: RecordTooLarge | None = None

    @property
    def at_boundary(self) -> bool:
        """True when no partial record is held: an EOF here is a clean close."""
        return not (self._header or self._in_fragment or self._record)

    @property
    def buffered(self) -> int:
        """Bytes of an incomplete record held (fragment headers included)."""
        return len(self._header) + len(self._record)

    def feed(self, data: bytes | bytearray | memoryview) -> list[bytes]:
        """Add received bytes; return every record they complete, in order."""
        if self._failed is not None:
            raise self._failed
        mv = memoryview(data)
        if mv.format != "B" or mv.ndim != 1:
            mv = mv.cast("B")
        records: list[bytes] = []
        pos, end = 0, len(mv)
        while pos < end:
            if not self._in_fragment:
                take = min(4 - len(self._header), end - pos)
                self._header += mv[pos:pos + take]
                pos += take
                if len(self._header) < 4:
                    break
                word = int.from_bytes(self._header, "big")
                self._header.clear()
                length = word & MAX_FRAGMENT
                if len(self._record) + length > self.max_record_size:
                    self._failed = RecordTooLarge(len(self._record) + length, self.max_record_size)
                    raise self._failed
                self._last = bool(word & LAST_FRAGMENT)
                self._remaining = length
                self._in_fragment = True
            take = min(self._remaining, end - pos)
            if take:
                if self._last and not self._record and take == self._remaining:
                    records.append(bytes(mv[pos:pos + take]))   # a whole one-fragment record: one copy
                    pos += take
                    self._remaining = 0
                    self._in_fragment = False
                    continue
                self._record += mv[pos:pos + take]
                pos += take
                self._remaining -= take
            if self._remaining == 0:
                self._in_fragment = False
                if self._last:
                    records.append(bytes(self._record))
                    self._record = bytearray()
        return records


def frame(record: bytes | bytearray | memoryview, *, fragment_size: int | None = None) -> bytes:
    """Record-mark ``record``: one fragment, or fragments of at most ``fragment_size`` bytes."""
    n = len(record) if not isinstance(record, memoryview) else record.nbytes
    size = MAX_FRAGMENT if fragment_size is None else fragment_size
    if not 0 < size <= MAX_FRAGMENT:
        raise ValueError(f"fragment_size must be 1..{MAX_FRAGMENT}, not {fragment_size}")
    if n <= size:
        return (LAST_FRAGMENT | n).to_bytes(4, "big") + bytes(record)
    mv = memoryview(record).cast("B") if isinstance(record, memoryview) else memoryview(record)
    out = bytearray()
    for start in range(0, n, size):
        chunk = mv[start:start + size]
        last = LAST_FRAGMENT if start + size >= n else 0
        out += (last | len(chunk)).to_bytes(4, "big")
        out += chunk
    return bytes(out)
