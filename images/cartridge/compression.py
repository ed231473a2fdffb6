"""Per-record compression.  The algorithm is recorded in each record header, so a
drive reads back whatever another drive wrote, whatever its own setting."""
from __future__ import annotations

from enum import IntEnum

import lz4.block
import zstandard


class Algorithm(IntEnum):
    NONE = 0
    ZSTD = 1
    LZ4 = 2


_zc = zstandard.ZstdCompressor(level=1)
_zd = zstandard.ZstdDecompressor()


def compress(algorithm: Algorithm, data: memoryview) -> bytes:
    if algorithm == Algorithm.LZ4:
        return lz4.block.compress(data, store_size=False)
    if algorithm == Algorithm.ZSTD:
        return _zc.compress(data)
    raise ValueError(f"not a compression algorithm: {algorithm!r}")


def decompress(algorithm: Algorithm, data: memoryview | bytes, length: int) -> bytes:
    if algorithm == Algorithm.LZ4:
        return lz4.block.decompress(data, uncompressed_size=length)
    if algorithm == Algorithm.ZSTD:
        return _zd.decompress(data, max_output_size=length)
    raise ValueError(f"not a compression algorithm: {algorithm!r}")


def parse_algorithm(name: str) -> Algorithm:
    try:
        return Algorithm[name.upper()]
    except KeyError:
        raise ValueError(f"unknown compression {name!r}: use none, lz4 or zstd") from None
