"""Phase I of a dump: which inodes the backup holds (the inode map).

Two maps come out, as BSD dump writes them in Phase II: *used* (TS_CLRI), every
inode of the backed-up tree, so that an incremental restore can delete what
has gone since; and *dumped* (TS_BITS), the inodes whose headers follow.

A whole-volume backup without EXCLUDE takes every inode of the snapshot (our
"inode file" is the snapshot's tree, read without looking at names); a subtree,
MULTI_SUBTREE_NAMES or an EXCLUDE list makes it a traversal that decides entry
by entry (seed 001: "using the exclude NDMP environment variable causes Qtree
and Volume dumps to perform the slower directory traversal").  Either way a
directory is dumped when it changed or anything below it is dumped, and the
root always (a restore starts from it), as BSD dump's ``mapdirs`` does.

Dump inode numbers are the volume's own (``Snapshot.lstat`` gives them even for
a copied snapshot), so that the inodes of a level-1 image match those of its
level 0.  The backup root becomes ROOTINO (2), which every reader of the format
expects; a file whose own number is 2 takes the root's number instead, and the
numbers dump cannot carry (0, 1 and those past 32 bits) are given fresh ones
past the largest.  A directory on another filesystem (a mount point) is kept as
an empty directory: dump does not cross filesystems.
"""
from __future__ import annotations

import os
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from images.dump import ROOTINO, InodeMap

from ..engine import Aborted
from .exclude import NOTHING_EXCLUDED, ExcludeList

__all__ = ["Entry", "Selection", "select"]

_MAX_INO = 0xFFFFFFFF
_DT = {stat.S_IFDIR: 4, stat.S_IFREG: 8, stat.S_IFLNK: 10, stat.S_IFIFO: 1,
       stat.S_IFCHR: 2, stat.S_IFBLK: 6, stat.S_IFSOCK: 12}


def d_type(mode: int) -> int:
    return _DT.get(stat.S_IFMT(mode), 0)


@dataclass(slots=True)
class Entry:
    """One inode of the tree: where to read it and what the volume says of it."""

    ino: int                          # dump inode number
    path: bytes                       # host path in the snapshot (its first name)
    st: os.stat_result                # as the volume had it
    parent: int
    name: bytes
    children: list[tuple[bytes, int, int]] | None = None    # directories: (name, ino, d_type)


@dataclass
class Selection:
    entries: dict[int, Entry] = field(default_factory=dict)
    used: InodeMap | None = None
    dumped: InodeMap | None = None
    method: str = "inode scan"
    maxino: int = ROOTINO + 1
    dumped_bytes: int = 0             # estimated size of the dumped files' data

    def dumped_in_order(self, directories: bool) -> list[Entry]:
        assert self.dumped is not None
        out = []
        for ino in self.dumped:
            e = self.entries[ino]
            if stat.S_ISDIR(e.st.st_mode) == directories:
                out.append(e)
        return out


class _Numbers:
    """The dump inode number of each (st_dev, st_ino)."""

    def __init__(self, root: os.stat_result):
        self.root_key = (root.st_dev, root.st_ino)
        self.fresh: dict[tuple[int, int], int] = {}
        self.pending: list[tuple[int, int]] = []

    def of(self, st: os.stat_result) -> int:
        key = (st.st_dev, st.st_ino)
        if key == self.root_key:
            return ROOTINO
        if st.st_dev != self.root_key[0]:
            return self._fresh(key)             # a mount point: numbered apart
        ino = st.st_ino
        if ino == ROOTINO:
            ino = self.root_key[1]              # swapped with the root
        if ino < ROOTINO or ino > _MAX_INO:
            return self._fresh(key)
        return ino

    def _fresh(self, key: tuple[int, int]) -> int:
        got = self.fresh.get(key)
        if got is None:
            got = -(len(self.fresh) + 1)        # a placeholder, numbered after the scan
            self.fresh[key] = got
        return got


def select(root: bytes, lstat: Callable[[bytes], os.stat_result], *,
           since: int | None = None, ignore_ctime: bool = False,
           exclude: ExcludeList = NOTHING_EXCLUDED, subtrees: Sequence[str] = (),
           skip_at_root: Sequence[bytes] = (b".snapshot",), qtrees_out: bool = False,
           aborted: Callable[[], bool] = lambda: False) -> Selection:
    """Build the maps for the tree at ``root`` (a host path inside the snapshot).

    ``since``: the base dump's time (seconds) for an incremental, None for a level 0.
    ``subtrees``: MULTI_SUBTREE_NAMES relative to root (only those and the
    directories leading to them).  ``qtrees_out``: NON_QUOTA_TREE (leave out the
    top-level directories that are filesystems of their own)."""
    root_st = lstat(root)
    if not stat.S_ISDIR(root_st.st_mode):
        raise NotADirectoryError(os.fsdecode(root))
    numbers = _Numbers(root_st)
    sel = Selection()
    sel.method = "directory traversal" if (exclude or subtrees) else "inode scan"
    entries = sel.entries
    entries[ROOTINO] = Entry(ROOTINO, root, root_st, ROOTINO, b".", [])
    wanted_paths: set[bytes] | None = None
    lead_dirs: set[bytes] = set()
    if subtrees:
        wanted_paths = {os.path.join(root, s.encode("utf-8", "surrogateescape")) for s in subtrees}
        for p in wanted_paths:
            d = os.path.dirname(p)
            while len(d) > len(root):
                lead_dirs.add(d)
                d = os.path.dirname(d)

    def changed(st: os.stat_result) -> bool:
        if since is None:
            return True
        if st.st_mtime_ns // 1_000_000_000 >= since:
            return True
        return not ignore_ctime and st.st_ctime_ns // 1_000_000_000 >= since

    dumped: set[int] = {ROOTINO}
    dir_order: list[int] = [ROOTINO]
    stack: list[tuple[int, bytes, bool]] = [(ROOTINO, root, wanted_paths is None)]
    root_dev = root_st.st_dev
    n = 0
    while stack:
        dir_ino, dir_path, inside = stack.pop()
        parent = entries[dir_ino]
        children = parent.children
        assert children is not None
        try:
            with os.scandir(dir_path) as it:
                listing = [(d.name, d.path) for d in it]
        except OSError:
            listing = []
        listing.sort()
        at_root = dir_ino == ROOTINO
        for name, path in listing:
            n += 1
            if n & 1023 == 0 and aborted():
                raise Aborted()
            if at_root and name in skip_at_root:
                continue
            if exclude and exclude.matches(name):
                continue
            if not inside and path not in lead_dirs and path not in wanted_paths:  # type: ignore[operator]
                continue
            try:
                st = lstat(path)
            except OSError:
                continue            # gone since the listing (not possible in a snapshot)
            is_dir = stat.S_ISDIR(st.st_mode)
            if qtrees_out and at_root and is_dir and st.st_dev != root_dev:
                continue
            ino = numbers.of(st)
            children.append((name, ino, d_type(st.st_mode)))
            if ino in entries:
                continue            # another name of a file seen already (a hard link)
            entries[ino] = Entry(ino, path, st, dir_ino, name, [] if is_dir else None)
            if is_dir:
                dir_order.append(ino)
                if st.st_dev == root_dev:
                    stack.append((ino, path, inside or path in wanted_paths))  # type: ignore[operator]
                if inside and changed(st):
                    dumped.add(ino)
            elif inside and changed(st):
                dumped.add(ino)
                if stat.S_ISREG(st.st_mode):
                    sel.dumped_bytes += st.st_size

    if numbers.fresh:
        _renumber(sel, numbers)
        dumped = {ino if ino > 0 else numbers.fresh_final[ino] for ino in dumped}   # type: ignore[attr-defined]
        dir_order = [ino if ino > 0 else numbers.fresh_final[ino] for ino in dir_order]  # type: ignore[attr-defined]

    # A directory goes in when it changed or holds something that does (children
    # before parents: the reverse of the order directories were found in).
    for ino in reversed(dir_order):
        e = entries[ino]
        if ino not in dumped and any(c[1] in dumped for c in e.children or ()):
            dumped.add(ino)
        if ino != ROOTINO and ino in dumped:
            dumped.add(e.parent)
    sel.maxino = max(entries) + 1
    sel.used = InodeMap(sel.maxino)
    sel.dumped = InodeMap(sel.maxino)
    for ino in entries:
        sel.used.add(ino)
    for ino in dumped:
        sel.dumped.add(ino)
    return sel


def _renumber(sel: Selection, numbers: _Numbers) -> None:
    top = max((i for i in sel.entries if i > 0), default=ROOTINO)
    final = {}
    for placeholder in sorted(numbers.fresh.values(), reverse=True):
        top += 1
        final[placeholder] = top
    numbers.fresh_final = final                 # type: ignore[attr-defined]
    moved = {}
    for ino, e in sel.entries.items():
        new = final.get(ino, ino)
        e.ino = new
        e.parent = final.get(e.parent, e.parent)
        if e.children:
            e.children = [(nm, final.get(c, c), t) for nm, c, t in e.children]
        moved[new] = e
    sel.entries = moved
