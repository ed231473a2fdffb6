"""A dump restore (seed 002, "How a dump restore works"), and the file history
of an image (START_RECOVER_FILEHIST).

1. catalog: read the maps and the directories (Phase III of the image) and
   decide, name by name, which inodes go where;
2. create the directories;
3. read the files (Phase IV, in inode order), write each under every name it
   has, with its owner, mode, times, extended attributes and ACLs;
4. set the attributes of the directories created, deepest first.

Selections: no names restores the whole image; EXTRACT=Y restores the named
subtrees (a directory recursively), EXTRACT=E also renames them to their
destination path.  DIRECT=Y with the ``fh_info`` of each name is a direct access
recovery: the mover is asked only for the records of each file
(:class:`~ndmp.dump.sources.InodeRange`).  A directory cannot be found that
way without ENHANCED_DAR_ENABLED ("No files were created"); with it, the
directory's subtree is restored by reading the catalog and then Phase IV up to
the last inode wanted.

Everything written goes through :class:`~ndmp.dump.extract.Destination`, which
refuses names that would leave the destination.
"""
from __future__ import annotations

import errno
import logging
import os
import stat
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from images.dump import (
    ROOTINO,
    DumpFormatError,
    DumpReader,
    End,
    Inode,
    InodeInfo,
    Maps,
)

from ..constants import MessageCode as M
from ..constants import RecoveryStatus
from ..engine import Aborted, EngineError, Operation
from ..messages import log as logmsg
from .extract import Destination
from .filehist import FileHistory, file_stat
from .options import RestoreOptions
from .sources import InodeRange, WholeImage

__all__ = ["INVALID_FH_INFO", "DumpRestore", "Target"]

log = logging.getLogger("ndmp.dump")

INVALID_FH_INFO = 0xFFFFFFFFFFFFFFFF      # NDMP_INVALID_U_QUAD
SPACE_MARGIN = 100 * 1024 * 1024          # "about 100 MB more space" (seed)
_CHECK_EVERY = 64 * 1024 * 1024


@dataclass
class Target:
    """One name of the nlist (or the whole image): what to take and where it goes."""

    original: tuple[bytes, ...]       # path in the image, relative to its root
    volume_root: str                  # host directory of the destination volume
    dest: tuple[bytes, ...]           # destination, relative to volume_root
    shown: str                        # the name LOG_FILE reports (the DMA's original_path)
    fh_info: int = INVALID_FH_INFO
    node: int = 0
    found: bool = False
    failed: str | None = None


@dataclass
class _Catalog:
    dirs: dict[int, list[tuple[bytes, int, int]]] = field(default_factory=dict)
    dir_info: dict[int, InodeInfo] = field(default_factory=dict)
    dumped: Any = None            # the TS_BITS map: which inodes the image holds


def _plain(name: bytes) -> bool:
    """A name a directory record may hold: one component, not "." or ".."."""
    return bool(name) and name not in (b".", b"..") and b"/" not in name and b"\0" not in name


class DumpRestore:
    """One recovery job (``ndmp.engine.Job``)."""

    def __init__(self, op: Operation, options: RestoreOptions, targets: Sequence[Target], *,
                 identifier: str, event_log: Any = None, clock: Callable[[], float] = time.time):
        self.op = op
        self.options = options
        self.targets = list(targets)
        self.identifier = identifier
        self.event_log = event_log
        self.clock = clock
        self.files = 0
        self.bytes = 0
        self.destinations: dict[str, Destination] = {}
        self.plan: dict[int, list[tuple[Destination, tuple[bytes, ...], Target]]] = {}
        self.written: dict[int, tuple[Destination, tuple[bytes, ...]]] = {}
        self.last_ino = 0
        self.catalog: _Catalog | None = None     # the image's directories, once read
        self.fh: FileHistory | None = None
        self._since_check = 0
        self._warned: set[str] = set()

    # ------------------------------------------------------------------ events

    def _event(self, event: str, info: str = "") -> None:
        if self.event_log is not None:
            self.event_log.record("rst", self.identifier, event, info)

    def _amount(self) -> str:
        return f"{self.files} files, {self.bytes / 1048576:.0f} MB"

    def cancel(self) -> None:
        if self.fh is not None:
            self.fh.abandon()

    def run(self) -> list[tuple[str, str]]:
        kind = {"recover_filehist": "file history", "recover": "restore"}.get(self.op.kind, self.op.kind)
        self._event("Start", f"{kind}, {'DAR' if self._dar() else 'full' if self._whole() else 'selective'}")
        self._event("Options", self.options.described())
        try:
            if self.op.kind == "recover_filehist":
                self._filehist()
            elif self._dar():
                self._direct()
            else:
                self._sequential()
        except Aborted:
            self._event("Abort", self._amount())
            raise
        except EngineError as e:
            self._event("Error", str(e))
            self._event("Abort", self._amount())
            raise
        except Exception as e:
            self._event("Error", str(e) or type(e).__name__)
            self._event("Abort", self._amount())
            raise
        finally:
            for d in self.destinations.values():
                d.close()
            if self.fh is not None:
                self.fh.abandon()
        self._report()
        self._event("End", self._amount())
        return []

    def _whole(self) -> bool:
        return len(self.targets) == 1 and not self.targets[0].original

    def _dar(self) -> bool:
        return self.options.direct and bool(self.targets) and all(
            t.fh_info != INVALID_FH_INFO for t in self.targets)

    def _phase(self, name: str) -> None:
        self._event("Phase-change", name)

    def _warn(self, text: str) -> None:
        if text not in self._warned:
            self._warned.add(text)
            self.op.log("warning", f"RESTORE: {text}")
            log.warning("%s: %s", self.identifier, text)

    # ------------------------------------------------------------------ LOG_FILE

    def _report(self) -> None:
        for t in self.targets:
            if t.failed is not None:
                status = RecoveryStatus.NDMP_RECOVERY_FAILED_UNDEFINED_ERROR
            elif not t.found:
                status = RecoveryStatus.NDMP_RECOVERY_FAILED_NOT_FOUND
            else:
                status = RecoveryStatus.NDMP_RECOVERY_SUCCESSFUL
            if t.failed:
                self.op.log("error", f"RESTORE: {t.shown}: {t.failed}")
            self.op.post(M.NDMP_LOG_FILE, logmsg.LogFilePost(name=t.shown, recovery_status=status))

    # ------------------------------------------------------------------ destinations

    def _destination(self, root: str) -> Destination:
        d = self.destinations.get(root)
        if d is None:
            d = Destination(root, nowrite=self.options.nowrite or self.options.list_only,
                            extract_acl=self.options.extract_acl)
            self.destinations[root] = d
        return d

    # ------------------------------------------------------------------ whole and selective restores

    def _reader(self, source: Any) -> DumpReader:
        def skipped(offset: int, blocks: int) -> None:
            self._warn(f"resync restore, skipped {blocks} blocks at offset {offset}")
        return DumpReader(source.readinto, on_skip=skipped)

    def _sequential(self, wanted: set[int] | None = None) -> None:
        reader = self._reader(WholeImage(self.op))
        catalog = _Catalog()
        self._phase("I (catalog)")
        planned = False
        last_wanted = None
        try:
            for rec in reader:
                self.op.check_aborted()
                if isinstance(rec, Maps):
                    if rec.kind == "bits":
                        catalog.dumped = rec.inomap
                    continue
                if isinstance(rec, End):
                    break
                assert isinstance(rec, Inode)
                is_dir = stat.S_ISDIR(rec.inode.mode)
                if is_dir and not planned:
                    catalog.dirs[rec.inode.ino] = rec.entries()
                    catalog.dir_info[rec.inode.ino] = rec.inode
                    continue
                if not planned:
                    self.catalog = catalog
                    self._make_plan(catalog)
                    planned = True
                    last_wanted = max(self.plan, default=0)
                    self._phase("III (files)")
                if rec.inode.ino in self.plan:
                    self._restore(rec)
                    if self.options.direct and rec.inode.ino >= (last_wanted or 0):
                        break           # a directory DAR: nothing wanted lies further on
        except DumpFormatError as e:
            raise EngineError(f"Tape read error: {e}") from None
        if not planned:
            self.catalog = catalog
            self._make_plan(catalog)
        self._phase("IV (attributes)")
        for d in self.destinations.values():
            d.finish()

    def _make_plan(self, catalog: _Catalog) -> None:
        """Stage 1 and 2: which inode goes where, and the directories made."""
        self._phase("II (directories)")
        if ROOTINO not in catalog.dirs:
            raise EngineError("Could not initialize media: the image has no root directory")
        listing = self.options.list_only
        for t in self.targets:
            ino = self._lookup(catalog, t.original)
            if ino is None:
                continue
            t.found = True
            dest = self._destination(t.volume_root)
            self._space_check(t.volume_root, catalog)
            if ino in catalog.dirs:
                self._plan_dir(catalog, dest, ino, t.dest, t, set(), listing)
            else:
                self._plan_leaf(ino, dest, t.dest, t, listing)

    def _lookup(self, catalog: _Catalog, path: tuple[bytes, ...]) -> int | None:
        ino = ROOTINO
        for part in path:
            entries = catalog.dirs.get(ino)
            if entries is None:
                return None
            for name, child, _ in entries:
                if name == part:
                    ino = child
                    break
            else:
                return None
        return ino

    def _plan_dir(self, catalog: _Catalog, dest: Destination, ino: int, parts: tuple[bytes, ...], t: Target,
                  seen: set[int], listing: bool) -> None:
        if ino in seen:
            self._warn(f"directory inode {ino} appears twice in the tree; the second is skipped")
            return
        seen.add(ino)
        if listing:
            self.op.log("normal", f"{ino}\t/{b'/'.join(parts).decode('utf-8', 'replace')}")
        else:
            info = catalog.dir_info.get(ino)
            try:
                if parts:
                    dest.directory(parts, info)
                elif info is not None and not os.listdir(dest.root) and not self.options.nowrite:
                    dest.root_attributes(info)
            except OSError as e:
                t.failed = f"cannot create directory /{os.fsdecode(b'/'.join(parts))}: {e.strerror}"
                return
        if not self.options.recursive and self.options.direct:
            return
        for name, child, _ in catalog.dirs.get(ino, ()):
            if name in (b".", b".."):
                continue
            if not _plain(name):
                self._warn(f"unsafe name {name!r} in directory inode {ino} skipped")
                continue
            part = name
            if not parts and name == b".snapshot":
                continue            # never restore into a volume's snapshot directory
            if child in catalog.dirs:
                self._plan_dir(catalog, dest, child, parts + (part,), t, seen, listing)
            elif catalog.dumped is None or child in catalog.dumped:
                self._plan_leaf(child, dest, parts + (part,), t, listing)

    def _plan_leaf(self, ino: int, dest: Destination, parts: tuple[bytes, ...], t: Target, listing: bool) -> None:
        if listing:
            self.op.log("normal", f"{ino}\t/{b'/'.join(parts).decode('utf-8', 'replace')}")
            return
        if not parts:
            t.failed = "a file cannot be restored as the destination's root"
            return
        self.plan.setdefault(ino, []).append((dest, parts, t))

    def _space_check(self, root: str, catalog: _Catalog) -> None:
        if self.options.force or self.options.nowrite or self.options.list_only:
            return
        try:
            vfs = os.statvfs(root)
        except OSError:
            return
        inodes = sum(1 for _ in catalog.dumped) if catalog.dumped is not None else 0
        if vfs.f_favail and vfs.f_favail < inodes:
            raise EngineError(f"Not enough inodes on the destination: {inodes} needed, {vfs.f_favail} free "
                              f"(FORCE=Y restores what fits)")
        if vfs.f_bavail * vfs.f_frsize < SPACE_MARGIN:
            raise EngineError("Not enough space on the destination: a restore needs about 100 MB more than "
                              "the data it restores (FORCE=Y restores what fits)")

    # ------------------------------------------------------------------ stage 3: one inode

    def _restore(self, rec: Inode) -> None:
        info = rec.inode
        places = self.plan.pop(info.ino)
        kind = stat.S_IFMT(info.mode)
        first_dest, first_parts, _ = places[0]
        try:
            if self.options.nowrite:
                if kind == stat.S_IFREG:
                    rec.read(lambda off, chunk: None)
                self.files += 1
                self.bytes += info.size
                return
            if kind == stat.S_IFREG:
                self._regular(rec, first_dest, first_parts)
            elif kind == stat.S_IFLNK:
                first_dest.symlink(first_parts, rec.target(), info)
            elif kind in (stat.S_IFIFO, stat.S_IFCHR, stat.S_IFBLK):
                first_dest.special(first_parts, info)
            else:
                self._warn(f"inode {info.ino}: a {oct(kind)} is not restored")
                return
            for dest, parts, t in places[1:]:
                if dest is first_dest:
                    dest.link(first_parts, parts)
                else:
                    # Another volume: a copy, since a link cannot cross filesystems.
                    self._warn(f"inode {info.ino} is restored to two volumes; the second is skipped")
            self.files += 1
        except OSError as e:
            if e.errno in (errno.ENOSPC, errno.EDQUOT):
                raise EngineError("The restore stopped: no space left on the destination") from None
            for _, parts, t in places:
                t.failed = f"/{os.fsdecode(b'/'.join(parts))}: {e.strerror or e}"
            self._warn(f"inode {info.ino}: {e.strerror or e}")

    def _regular(self, rec: Inode, dest: Destination, parts: tuple[bytes, ...]) -> None:
        info = rec.inode
        self._room(dest, info.size)
        fd = dest.open_file(parts)
        try:
            def put(offset: int, chunk: memoryview) -> None:
                view = chunk
                while view:
                    n = os.pwrite(fd, view, offset)
                    offset += n
                    view = view[n:]
            rec.read(put)
            os.ftruncate(fd, info.size)     # a trailing hole stays a hole
            dest.set_attributes(fd, rec.inode)
        finally:
            os.close(fd)
        self.bytes += info.size

    def _room(self, dest: Destination, size: int) -> None:
        """The 100 MB margin, checked every 64 MB written (FORCE=Y goes on until full)."""
        if self.options.force:
            return
        self._since_check += size
        if self._since_check < _CHECK_EVERY and size < _CHECK_EVERY:
            return
        self._since_check = 0
        vfs = os.statvfs(dest.root)
        if vfs.f_bavail * vfs.f_frsize < size + SPACE_MARGIN:
            raise EngineError("Not enough space on the destination: a restore needs about 100 MB more than "
                              "the data it restores (FORCE=Y restores what fits)")

    # ------------------------------------------------------------------ direct access recovery

    def _direct(self) -> None:
        directories = []
        self._phase("III (files, direct access)")
        for t in sorted(self.targets, key=lambda t: t.fh_info):
            self.op.check_aborted()
            source = InodeRange(self.op, t.fh_info)
            reader = DumpReader(source.readinto, start_offset=t.fh_info)
            try:
                self._direct_one(t, source, reader, directories)
            finally:
                source.drain()
        dirs = [t for t in directories if t.failed is None]
        self.plan = {}
        if dirs:
            # Enhanced DAR of directories: the catalog, then Phase IV up to the last inode wanted.
            keep = self.targets
            self.targets = dirs
            self.plan = {}
            self._sequential()
            self.targets = keep
        if self.options.recover_full_paths or not self.options.recursive:
            self._full_paths()
        for d in self.destinations.values():
            d.finish()

    def _full_paths(self) -> None:
        """RECOVER_FULL_PATHS=Y or RECURSIVE=N: after the DAR, every directory of each
        original path that the restore had to create gets its permissions, owner, times
        and ACLs from the image (seed); existing ones keep theirs.  The directories are
        found in the image's catalog, read now unless a directory DAR already did."""
        done = [t for t in self.targets if t.found and t.failed is None and len(t.original) > 1]
        if not done or self.options.nowrite or self.options.list_only:
            return
        catalog = self.catalog if self.catalog is not None else self._directories()
        for t in done:
            dest = self._destination(t.volume_root)
            above = len(t.dest) - len(t.original)      # the destination ends with the original path
            for k in range(1, len(t.original)):
                ino = self._lookup(catalog, t.original[:k])
                info = catalog.dir_info.get(ino) if ino is not None else None
                if info is not None:
                    dest.path_attributes(t.dest[:above + k], info)

    def _directories(self) -> _Catalog:
        """Only the catalog: the image's directories, which lie before its first file."""
        self._phase("III (directories of the recovery paths)")
        reader = self._reader(WholeImage(self.op))
        catalog = _Catalog()
        try:
            for rec in reader:
                self.op.check_aborted()
                if isinstance(rec, Maps):
                    continue
                if isinstance(rec, End) or not stat.S_ISDIR(rec.inode.mode):
                    break
                catalog.dirs[rec.inode.ino] = rec.entries()
                catalog.dir_info[rec.inode.ino] = rec.inode
        except DumpFormatError as e:
            raise EngineError(f"Tape read error: {e}") from None
        self.catalog = catalog
        return catalog

    def _direct_one(self, t: Target, source: InodeRange, reader: DumpReader, directories: list[Target]) -> None:
        try:
            rec = next(iter(reader))
        except (DumpFormatError, StopIteration) as e:
            t.failed = f"no file header at offset {t.fh_info}: {e}"
            return
        if not isinstance(rec, Inode):
            t.failed = f"no file header at offset {t.fh_info}"
            return
        t.found = True
        if stat.S_ISDIR(rec.inode.mode):
            if not self.options.enhanced_dar:
                t.failed = "No files were created"
                self.op.log("error", "RESTORE: No files were created (a directory DAR needs "
                                     "ENHANCED_DAR_ENABLED=Y)")
                return
            directories.append(t)
            return
        dest = self._destination(t.volume_root)
        self.plan = {rec.inode.ino: [(dest, t.dest, t)]}
        try:
            self._restore(rec)
        except DumpFormatError as e:
            t.failed = f"the image is damaged: {e}"

    # ------------------------------------------------------------------ file history of an image

    def _filehist(self) -> None:
        reader = self._reader(WholeImage(self.op))
        fh = self.fh = FileHistory(self.op.post)
        first = True
        try:
            for rec in reader:
                self.op.check_aborted()
                if isinstance(rec, End):
                    break
                if not isinstance(rec, Inode):
                    continue
                info = rec.inode
                if stat.S_ISDIR(info.mode):
                    entries = rec.entries()
                    if first and info.ino == ROOTINO:
                        fh.add_dir(b".", ROOTINO, ROOTINO)
                        fh.add_dir(b"..", ROOTINO, ROOTINO)
                        first = False
                    for name, child, _ in entries:
                        if name not in (b".", b".."):
                            fh.add_dir(name, child, info.ino)
                fh.add_node(info.ino, rec.offset, file_stat(
                    info.mode, info.uid, info.gid, info.size, info.nlink, info.atime_ns // 1_000_000_000,
                    info.mtime_ns // 1_000_000_000, info.ctime_ns // 1_000_000_000))
                self.files += 1
        except DumpFormatError as e:
            raise EngineError(f"Tape read error: {e}") from None
        fh.close()
        self.fh = None
        for t in self.targets:
            t.found = True
