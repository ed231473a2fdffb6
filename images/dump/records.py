"""What a dump image is made of, as the reader hands it out (in stream order)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from .inode import InodeInfo
from .inomap import InodeMap

if TYPE_CHECKING:
    from .reader import DumpReader


@dataclass(slots=True)
class Maps:
    """An inode map: "clri" (inodes in use when dumped), "bits" (inodes on this tape)."""
    kind: Literal["clri", "bits"]
    inomap: InodeMap
    offset: int = 0


@dataclass(slots=True, eq=False)
class Inode:
    """One inode; its data is read from the stream on demand, before the next record."""
    offset: int                # stream offset of its TS_INODE header (NDMP fh_info)
    inode: InodeInfo
    _reader: DumpReader = field(repr=False)

    def read(self, sink: Callable[[int, memoryview], None]) -> None:
        """sink(file_offset, chunk) for every stored run of data (holes are not
        passed; the last chunk stops at inode.size).  Chunks are views of a
        reused buffer, valid during the call."""
        self._reader._read(self, sink)

    def entries(self) -> list[tuple[bytes, int, int]]:
        """A directory's records (name, ino, d_type), "." and ".." included."""
        return self._reader._entries(self)

    def target(self) -> bytes:
        """A symbolic link's target."""
        return self._reader._target(self)


@dataclass(slots=True)
class End:
    """The TS_END trailer: nothing of the dump follows."""
    offset: int


Record = Maps | Inode | End
