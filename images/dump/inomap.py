"""Dump inode bitmaps: which inodes are in use (TS_CLRI) and which are on tape (TS_BITS).

Inode ``i`` is bit ``(i - 1) % 8`` of byte ``(i - 1) // 8``, as BSD dump's
SETINO/TSTINO macros have it; the map on tape is a whole number of 1 KiB
blocks, so Linux restore computes the highest inode as ``blocks * 8192 + 1``.
"""
from __future__ import annotations

import re
from collections.abc import Iterator

from .constants import TP_BSIZE

_NONZERO = re.compile(rb"[^\x00]")


def map_bytes(maxino: int) -> int:
    """Size of the map on tape for inodes below ``maxino`` (Linux dump's mapsize)."""
    need = (maxino + 7) // 8
    return max(TP_BSIZE, -(-need // TP_BSIZE) * TP_BSIZE)


class InodeMap:
    """A set of inode numbers 1 <= ino < maxino, stored as dump stores it."""

    __slots__ = ("_bits", "maxino")

    def __init__(self, maxino: int):
        if maxino < 2:
            raise ValueError(f"maxino {maxino} leaves no inode numbers (they start at 1)")
        self.maxino = maxino
        self._bits = bytearray(map_bytes(maxino))

    @classmethod
    def from_bytes(cls, raw: bytes | bytearray | memoryview) -> InodeMap:
        """The map whose on-tape bytes are ``raw`` (a whole number of blocks)."""
        inomap = cls(len(raw) * 8 + 1)
        inomap._bits[:len(raw)] = raw
        return inomap

    def add(self, ino: int) -> None:
        if not 1 <= ino < self.maxino:
            raise ValueError(f"inode {ino} is outside this map (1..{self.maxino - 1})")
        i = ino - 1
        self._bits[i >> 3] |= 1 << (i & 7)

    def __contains__(self, ino: object) -> bool:
        if not isinstance(ino, int) or not 1 <= ino < self.maxino:
            return False
        i = ino - 1
        return bool(self._bits[i >> 3] >> (i & 7) & 1)

    def __iter__(self) -> Iterator[int]:
        maxino = self.maxino
        for match in _NONZERO.finditer(self._bits):   # empty bytes are skipped at C speed
            byte = self._bits[match.start()]
            base = match.start() * 8 + 1
            for bit in range(8):
                if byte >> bit & 1 and base + bit < maxino:
                    yield base + bit

    def __len__(self) -> int:
        return int.from_bytes(self._bits, "little").bit_count()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, InodeMap) and self.maxino == other.maxino and self._bits == other._bits

    def __repr__(self) -> str:
        return f"InodeMap(maxino={self.maxino}, inodes={len(self)})"

    @property
    def raw(self) -> bytes:
        """The map as it goes on tape (a whole number of 1 KiB blocks)."""
        return bytes(self._bits)
