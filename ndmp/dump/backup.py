"""A dump backup, phase by phase (seed 001), onto the data connection.

    I     the inode map (``selection.select``)
    II    the maps on tape: TS_TAPE, TS_CLRI (inodes in use), TS_BITS (inodes dumped)
    III   the directories, in inode order (FH_ADD_DIR for every entry, FH_ADD_NODE
          for the directory, when HIST=Y)
    IIIa  the ACLs.  Linux dump carries ACLs and other extended attributes in an
          EA record right after each inode, and Linux restore reads them only
          there, so our image does too: this phase writes nothing of its own.
    IIIb  the offset map (HIST=Y): the byte offset of each file's header,
          which the DMA receives as the ``fh_info`` of FH_ADD_NODE and gives back
          for a direct access recovery.  The offsets are known exactly only as
          Phase IV writes each header, so they are sent from there.
    IV    the files, in inode order (FH_ADD_NODE with fh_info for each)
    V     the trailer (TS_END).  ACL_START, returned in the environment, is
          its offset: where ONTAP's Pass V begins.

Each phase change is a Phase-change event in the backup event log, between
Start, Options, Snapshot, Base_dump and End (or Abort, with the amount done).
"""
from __future__ import annotations

import logging
import os
import stat
import time
from collections.abc import Callable
from typing import Any

from images.dump import DumpLabel, DumpWriter, InodeInfo

from ..constants import DataHaltReason
from ..engine import Aborted, EngineError, Operation
from ..event_log import dump_identifier
from .dumpdates import DumpDates
from .filehist import FileHistory, file_stat
from .options import BackupOptions, join_dump_date, split_base_date
from .selection import Entry, Selection, select

__all__ = ["DumpBackup"]

log = logging.getLogger("ndmp.dump")

_ACL_NAMES = (b"system.posix_acl_access", b"system.posix_acl_default")
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
_NOATIME = getattr(os, "O_NOATIME", 0)
_DEVNULL = os.devnull
_READAHEAD_FROM = 1 << 20


def _mb(n: int) -> str:
    return f"{n / 1048576:.0f} MB" if n >= 1048576 else f"{n / 1024:.0f} KB"


class DumpBackup:
    """One backup job (``ndmp.engine.Job``)."""

    def __init__(self, op: Operation, options: BackupOptions, *, source: Any, snapshot_factory: Callable[[], Any],
                 dumpdates: DumpDates | None, dump_id: int, hostname: str, event_log: Any = None,
                 clock: Callable[[], float] = time.time):
        """``source`` is the resolved path (``ndmp.volume_path.ResolvedPath``);
        ``snapshot_factory()`` creates or opens the snapshot to read from."""
        self.op = op
        self.options = options
        self.source = source
        self.snapshot_factory = snapshot_factory
        self.dumpdates = dumpdates
        self.identifier = dump_identifier(options.filesystem if options.filesystem.endswith("/")
                                          else options.filesystem + "/", dump_id)
        self.hostname = hostname
        self.event_log = event_log
        self.clock = clock
        self.fh: FileHistory | None = None
        self.sent = 0

    # ------------------------------------------------------------------ events

    def _event(self, event: str, info: str = "") -> None:
        if self.event_log is not None:
            self.event_log.record("dmp", self.identifier, event, info)

    def _phase(self, name: str) -> None:
        self._event("Phase-change", name)
        if self.options.verbose:
            self.op.log("normal", f"DUMP: Phase {name}")
        log.info("%s: phase %s", self.identifier, name)

    # ------------------------------------------------------------------ the job

    def cancel(self) -> None:
        if self.fh is not None:
            self.fh.abandon()

    def run(self) -> list[tuple[str, str]]:
        opts = self.options
        now = int(self.clock())
        scope = "subtree" if self.source.relative else "volume"
        self._event("Start", f"level {opts.level}, NDMP {scope}")
        self._event("Options", opts.described())
        snap = None
        try:
            snap = self.snapshot_factory()
            self._event("Snapshot", f"{snap.name}, {time.strftime('%b %d %H:%M:%S GMT %Y', time.gmtime(snap.created))}, "
                                    f"{snap.method}")
            self.op.log("normal", f"DUMP: using snapshot {snap.name} ({snap.method})")
            since = self._base(now)
            env = self._dump(snap, since, now)
        except Aborted:
            self._event("Abort", _mb(self.sent))
            raise
        except EngineError as e:
            self._event("Error", str(e))
            self._event("Abort", _mb(self.sent))
            raise
        except Exception as e:
            self._event("Error", str(e) or type(e).__name__)
            self._event("Abort", _mb(self.sent))
            raise
        finally:
            if self.fh is not None:
                self.fh.abandon()
            if snap is not None:
                try:
                    snap.release()
                except Exception as e:                  # noqa: BLE001 - reported, the backup stands
                    self._event("Error", str(e))
                    self.op.log("warning", f"DUMP: {e}")
        self._event("End", _mb(self.sent))
        return env

    def _base(self, now: int) -> int | None:
        """The base dump's time for an incremental (None: everything)."""
        opts = self.options
        if opts.chained:
            assert opts.base_date is not None
            if opts.base_date == 0:
                return None
            level, when = split_base_date(opts.base_date)
            self._event("Base_dump", f"level {level}, {time.strftime('%c', time.gmtime(when))} GMT")
            return when
        if opts.level == 0:
            return None
        base = self.dumpdates.base(opts.filesystem, opts.level) if self.dumpdates else None
        if base is None:
            self.op.log("warning", f"DUMP: no backup of {opts.filesystem} at a level lower than {opts.level} "
                                   f"is recorded: every file is backed up")
            return 0
        self._event("Base_dump", f"level {base.level}, {time.strftime('%c', time.gmtime(base.when))} GMT")
        return base.when

    def _dump(self, snap: Any, since: int | None, now: int) -> list[tuple[str, str]]:
        opts, op = self.options, self.op
        root = os.path.join(os.fsencode(snap.root), os.fsencode(self.source.relative)) \
            if self.source.relative else os.fsencode(snap.root)

        self._phase("I")
        try:
            sel = select(root, lambda p: snap.lstat(p), since=since, ignore_ctime=opts.ignore_ctime,
                         exclude=opts.excluded, subtrees=opts.subtrees,
                         skip_at_root=(b".snapshot",) if not self.source.relative else (),
                         qtrees_out=opts.non_quota_tree, aborted=op.aborted.is_set)
        except NotADirectoryError:
            raise EngineError(f"{opts.filesystem} is not a directory") from None
        except FileNotFoundError:
            raise EngineError(f"{opts.filesystem} does not exist") from None
        op.est_bytes_remain = sel.dumped_bytes
        op.log("normal", f"DUMP: {sel.method}: {len(sel.entries)} inodes, "
                         f"{sum(1 for _ in sel.dumped)} to dump")   # type: ignore[union-attr]

        label = DumpLabel(date=now, ddate=since or 0, level=opts.level, label="none",
                          filesys=opts.filesystem, device=self.source.volume.name, host=self.hostname)
        writer = DumpWriter(self._send, label, sel.maxino, on_xattr_dropped=self._xattr_dropped)
        if opts.hist:
            self.fh = FileHistory(op.post)

        self._phase("II")
        writer.write_label()
        assert sel.used is not None and sel.dumped is not None
        writer.write_maps(sel.used, sel.dumped)

        self._phase("III")
        self._directories(sel, writer)
        self._phase("IIIa")
        if opts.hist:
            self._phase("IIIb")
        self._phase("IV")
        self._files(sel, writer)
        self._phase("V")
        acl_start = writer.offset
        writer.write_end()
        if self.fh is not None:
            self.fh.close()
            self.fh = None

        if opts.update and not opts.chained and self.dumpdates is not None:
            self._record_dump_date(opts.filesystem, opts.level, now)
        env = [("FILESYSTEM", opts.filesystem), ("TYPE", "dump"), ("LEVEL", str(opts.level)),
               ("HIST", "Y" if opts.hist else "N"), ("UPDATE", "Y" if opts.update else "N"),
               ("NDMP_VERSION", "4"), ("PATHNAME_SEPARATOR", "/")]
        if opts.hist:
            env.append(("ACL_START", str(acl_start)))
        if opts.chained:
            env.append(("DUMP_DATE", str(join_dump_date(opts.level, now))))
        if opts.dmp_name:
            env.append(("DMP_NAME", opts.dmp_name))
        return env

    def _record_dump_date(self, filesystem: str, level: int, now: int) -> None:
        """UPDATE=Y: the image is whole by now, so a dumpdates file that cannot be written
        (a full disk) costs the next incremental its base, not this backup."""
        assert self.dumpdates is not None
        try:
            self.dumpdates.record(filesystem, level, now)
        except OSError as e:
            text = (f"the dump date of {filesystem} level {level} could not be recorded in "
                    f"{self.dumpdates.path} ({e.strerror}); a later incremental will take its base from "
                    "the entries before it")
            self._event("Error", text)
            self.op.log("warning", f"DUMP: {text}")

    # ------------------------------------------------------------------ phases III and IV

    def _inode(self, e: Entry) -> InodeInfo:
        st = e.st
        return InodeInfo(ino=e.ino, mode=st.st_mode, nlink=st.st_nlink, uid=st.st_uid, gid=st.st_gid,
                         size=st.st_size, atime_ns=st.st_atime_ns, mtime_ns=st.st_mtime_ns,
                         ctime_ns=st.st_ctime_ns, rdev=st.st_rdev, xattrs=self._xattrs(e.path))

    def _xattrs(self, path: bytes) -> tuple[tuple[bytes, bytes], ...]:
        try:
            names = os.listxattr(path, follow_symlinks=False)
        except OSError:
            return ()
        if not names:
            return ()
        out = []
        for name in sorted(names):
            raw = name.encode("utf-8", "surrogateescape")
            if self.options.no_acls and raw in _ACL_NAMES:
                continue
            try:
                out.append((raw, os.getxattr(path, name, follow_symlinks=False)))
            except OSError:
                continue
        return tuple(out)

    def _fstat(self, e: Entry, size: int | None = None) -> Any:
        st = e.st
        return file_stat(st.st_mode, st.st_uid, st.st_gid, st.st_size if size is None else size, st.st_nlink,
                         int(st.st_atime), int(st.st_mtime), int(st.st_ctime))

    def _directories(self, sel: Selection, writer: DumpWriter) -> None:
        fh = self.fh
        first = True
        for e in sel.dumped_in_order(directories=True):
            self.op.check_aborted()
            records = [(b".", e.ino, 4), (b"..", e.parent, 4), *(e.children or ())]
            offset = writer.write_directory(self._inode(e), records)
            if fh is not None:
                if first:
                    fh.add_dir(b".", e.ino, e.ino)
                    fh.add_dir(b"..", e.ino, e.ino)
                    first = False
                for name, ino, _ in e.children or ():
                    fh.add_dir(name, ino, e.ino)
                fh.add_node(e.ino, offset, self._fstat(e))

    def _files(self, sel: Selection, writer: DumpWriter) -> None:
        fh = self.fh
        for e in sel.dumped_in_order(directories=False):
            self.op.check_aborted()
            mode = e.st.st_mode
            info = self._inode(e)
            if stat.S_ISREG(mode):
                offset = self._regular(writer, e, info)
            elif stat.S_ISLNK(mode):
                try:
                    target = os.readlink(e.path)
                except OSError as err:
                    self._unreadable(e, err)
                    target = b""
                offset = writer.write_symlink(info, target)
            else:
                offset = writer.write_special(info)
            if fh is not None:
                fh.add_node(e.ino, offset, self._fstat(e))
            self.op.est_bytes_remain = max(0, (self.op.est_bytes_remain or 0) - e.st.st_size)

    def _regular(self, writer: DumpWriter, e: Entry, info: InodeInfo) -> int:
        """The file's data; one that cannot be opened or read keeps its place in the image
        (its header, then zeros: the inode is in the maps already) and the event log says
        which file it was."""
        try:
            fd = os.open(e.path, _OPEN_FLAGS | _NOATIME)
        except PermissionError:
            fd = -1
        except OSError as err:
            self._unreadable(e, err)
            fd = os.open(_DEVNULL, os.O_RDONLY | os.O_CLOEXEC)
        if fd == -1:
            try:
                fd = os.open(e.path, _OPEN_FLAGS)       # O_NOATIME is for the file's owner only
            except OSError as err:
                self._unreadable(e, err)
                fd = os.open(_DEVNULL, os.O_RDONLY | os.O_CLOEXEC)
        if info.size > _READAHEAD_FROM:
            # Read-ahead twice as far: the file is read once, front to back, while the mover
            # writes the stream to tape.
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
        offset = writer.offset
        try:
            writer.write_file(info, fd)
        except OSError as err:
            if isinstance(err, (BrokenPipeError, ConnectionError)):
                raise
            self._unreadable(e, err)                 # the writer finished the inode with zeros
        finally:
            os.close(fd)
        return offset

    def _xattr_dropped(self, ino: int, name: bytes, reason: str) -> None:
        text = f"inode {ino}: extended attribute {name.decode('utf-8', 'replace')} not backed up: {reason}"
        self._event("Error", text)
        self.op.log("warning", f"DUMP: {text}")

    def _unreadable(self, e: Entry, err: OSError) -> None:
        text = f"cannot read {os.fsdecode(e.path)}: {err.strerror or err}"
        self._event("Error", text)
        self.op.log("warning", f"DUMP: {text}")

    # ------------------------------------------------------------------ the data connection

    def _send(self, data: Any) -> None:
        stream = self.op.stream
        assert stream is not None
        try:
            stream.sendall(data)
        except (TimeoutError, BrokenPipeError, ConnectionError, OSError) as e:
            if self.op.aborted.is_set():
                raise Aborted() from None
            raise EngineError(f"Message from Write Dirnet: {e.strerror or e}",
                              DataHaltReason.NDMP_DATA_HALT_CONNECT_ERROR) from None
        n = len(data) if not isinstance(data, memoryview) else data.nbytes
        self.sent += n
        self.op.bytes_processed += n

