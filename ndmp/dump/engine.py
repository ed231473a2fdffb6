"""The dump engine as the DATA service sees it (``ndmp.engine.Engine``).

It checks a request before the DATA service replies -- the environment
(``options``), the paths (``ndmp.volume_path``: only configured volumes are
reachable, a read-only one cannot be restored into) and the names of the nlist
-- and hands back a job that runs on the DATA service's thread.  Whatever is
wrong with a request is a :class:`~ndmp.engine.Refusal` naming it, so a DMA
learns in the reply, not from a halted operation.

nlist semantics (NDMP v4 ``ndmp_name``): ``original_path`` is a path in the
backup, absolute (starting with the backup's FILESYSTEM, which the DMA passes
back in the environment) or relative to its root; ``destination_path`` is the
NDMP path the restored file or directory gets.  With EXTRACT=Y a destination
whose last name differs from the original's is the directory the original goes
into; EXTRACT=E and a DAR (DIRECT=Y) rename it to the destination itself.  No
nlist restores the whole image into FILESYSTEM.
"""
from __future__ import annotations

import itertools
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from ..constants import ErrorCode
from ..engine import EngineError, Operation, Refusal
from ..snapshot import (
    BACKUP_NAMES,
    SnapshotError,
    SnapshotNames,
    create_snapshot,
    open_snapshot,
)
from ..volume_path import NoSuchPath, resolve
from .backup import DumpBackup
from .dumpdates import DumpDates
from .options import backup_options, restore_options
from .restore import INVALID_FH_INFO, DumpRestore, Target

__all__ = ["DumpEngine"]

log = logging.getLogger("ndmp.dump")

_ids = itertools.count(1)
_id_lock = threading.Lock()


def _next_id() -> int:
    with _id_lock:
        return next(_ids)


def _parts(path: str) -> tuple[bytes, ...]:
    out = []
    for p in path.split("/"):
        if p in ("", "."):
            continue
        if p == ".." or "\0" in p:
            raise Refusal(f"{path!r}: a path may not contain '..'")
        out.append(p.encode("utf-8", "surrogateescape"))
    return tuple(out)


class DumpEngine:
    """Backups and restores in the BSD dump format.  ``dumpdates`` is the store of
    LEVEL/UPDATE backups (None: UPDATE=Y has nowhere to record and says so)."""

    def __init__(self, dumpdates: DumpDates | None = None, snapshot_names: SnapshotNames | None = None,
                 clock: Callable[[], float] = time.time):
        self.dumpdates = dumpdates
        self.clock = clock
        self.snapshot_names = snapshot_names or BACKUP_NAMES

    # ------------------------------------------------------------------ backup

    def backup(self, op: Operation) -> DumpBackup:
        options = backup_options(op.env)
        context = op.context
        volumes = context.backend.volumes() if context is not None else ()
        try:
            where = resolve(volumes, options.filesystem)
        except NoSuchPath as e:
            raise Refusal(str(e)) from None
        root = os.path.join(where.volume.host_path, where.relative) if where.relative else where.volume.host_path
        if where.snapshot is None and not os.path.isdir(root):
            raise Refusal(f"{options.filesystem} is not a directory of volume {where.volume.name}")
        for sub in options.subtrees:
            if where.snapshot is None and not os.path.lexists(os.path.join(root, sub)):
                raise Refusal(f"MULTI_SUBTREE_NAMES: {sub} does not exist in {options.filesystem}")
        if options.update and self.dumpdates is None and not options.chained and options.level >= 0:
            op.log("warning", "DUMP: UPDATE=Y but this server keeps no dumpdates: the backup is not recorded")
        volume = where.volume
        names = self.snapshot_names

        def snapshot() -> Any:
            try:
                if where.snapshot is not None:
                    return open_snapshot(volume.host_path, where.snapshot)
                snap = create_snapshot(volume.host_path, names.next(volume.host_path),
                                       method=volume.snapshot or "auto", subtree=where.relative,
                                       check=op.check_aborted)
            except SnapshotError as e:
                op.log("error", f"DUMP: {e.detail}")
                raise EngineError(str(e)) from None
            for warning in snap.warnings:
                op.log("warning", f"DUMP: {warning}")
            return snap

        return DumpBackup(op, options, source=where, snapshot_factory=snapshot, dumpdates=self.dumpdates,
                          dump_id=_next_id(), hostname=socket.gethostname(),
                          event_log=getattr(context, "event_log", None), clock=self.clock)

    # ------------------------------------------------------------------ recover

    def recover(self, op: Operation) -> DumpRestore:
        options = restore_options(op.env)
        context = op.context
        volumes = context.backend.volumes() if context is not None else ()
        backed_up = options.destination or ""
        targets = []
        if op.kind == "recover_filehist":
            targets = [Target((), "", (), "/")]
            return DumpRestore(op, options, targets, identifier=backed_up or "filehist",
                               event_log=getattr(context, "event_log", None))
        if (options.recover_full_paths or (not options.recursive and options.direct)) \
                and not (options.direct and options.enhanced_dar):
            raise Refusal("RECURSIVE=N and RECOVER_FULL_PATHS=Y need DIRECT=Y and ENHANCED_DAR_ENABLED=Y")
        nlist = list(op.nlist)
        if not nlist:
            if not backed_up:
                raise Refusal("Nothing to restore to: set FILESYSTEM to the destination or name files")
            nlist_pairs = [("/", backed_up, INVALID_FH_INFO, 0)]
        else:
            nlist_pairs = [(n.original_path, n.destination_dir, n.fh_info, n.node) for n in nlist]
        if not options.recursive and len(nlist_pairs) > 1:
            longest = max((p[0] for p in nlist_pairs), key=len)
            for orig, *_ in nlist_pairs:
                if not longest.startswith(orig.rstrip("/")):
                    raise Refusal(f"RECURSIVE=N: every recovery path must lie within the longest one, "
                                  f"{longest}; {orig} does not")
        for orig, dest, fh_info, node in nlist_pairs:
            original = self._original(orig, backed_up)
            destination = dest or (backed_up.rstrip("/") + "/" + "/".join(p.decode() for p in original)
                                   if backed_up else "")
            if not destination:
                raise Refusal(f"{orig}: no destination_path and no FILESYSTEM to restore to")
            if (options.recover_full_paths or not options.recursive) and not destination.rstrip("/").endswith(
                    orig.rstrip("/")):
                raise Refusal(f"{destination}: with RECURSIVE=N or RECOVER_FULL_PATHS=Y the recovery path "
                              f"must end with the original path {orig}")
            try:
                where = resolve(volumes, destination)
            except NoSuchPath as e:
                raise Refusal(str(e)) from None
            if where.snapshot is not None or where.relative.split("/")[0] == ".snapshot":
                raise Refusal(f"{destination}: a snapshot cannot be restored into")
            if where.volume.read_only:
                raise Refusal("Destination volume is read-only", ErrorCode.NDMP_PERMISSION_ERR)
            dest_parts = _parts(where.relative)
            if (options.extract == "Y" and not options.direct and original and dest_parts
                    and dest_parts[-1] != original[-1]):
                dest_parts = dest_parts + (original[-1],)
            targets.append(Target(original, where.volume.host_path, dest_parts, orig or "/",
                                  fh_info=fh_info, node=node))
        identifier = nlist_pairs[0][1] or backed_up
        return DumpRestore(op, options, targets, identifier=identifier,
                           event_log=getattr(context, "event_log", None))

    @staticmethod
    def _original(path: str, filesystem: str) -> tuple[bytes, ...]:
        fs = filesystem.rstrip("/")
        if fs and (path == fs or path.startswith(fs + "/")):
            path = path[len(fs):]
        return _parts(path)
