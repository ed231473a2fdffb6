"""Backup snapshots: a frozen view of a volume for the dump engine to read from.

A dump reads a volume for minutes or hours while people go on changing it; reading
the live tree would put a directory in the image that names files written after it,
or half of a file being rewritten.  So, as ONTAP does, a backup first takes a
snapshot called ``snapshot_for_backup.N`` (:class:`SnapshotNames`), reads from it,
and deletes it at the end -- unless the DMA named an existing snapshot
(``/vs1/vol1/.snapshot/nightly``), which is only opened (:func:`open_snapshot`).

Snapshots live in ``<volume>/.snapshot/<name>``: on the volume's own filesystem, so
that a btrfs snapshot or a reflink clone is possible at all and a copy needs no
other disk.  The ``.snapshot`` directory at a volume's root is therefore never part
of the volume's data: a backup does not carry it and a restore never writes into it.

How a snapshot is made (:func:`create_snapshot`), best first for ``auto``:

``btrfs``
    The volume's root is a btrfs subvolume: a read-only subvolume snapshot, atomic
    and instant, made with the ``BTRFS_IOC_SNAP_CREATE_V2`` ioctl.  Inode numbers and
    ctimes are the volume's own.
``reflink``
    The filesystem shares extents between files (btrfs below a subvolume's root, XFS
    with reflink, ...): every file is cloned with ``FICLONE``, which is atomic per
    file and copies no data.
``copy``
    Any filesystem: the tree is copied (only ``subtree`` of it when the backup is of
    a subtree) keeping modes, owners, times, extended attributes, hard links,
    symlinks, devices and fifos, and holes (``SEEK_DATA``/``SEEK_HOLE`` with
    ``copy_file_range``, falling back to ``sendfile``; the kernel moves the data).

A clone or a copy is consistent per file, not across files: each file is re-stat'ed
after it was copied and copied again if its size, mtime or ctime moved meanwhile
(a few tries, then the last copy stands and a warning says so).  ``created`` is the
instant *before* the copy began, so that anything changed while copying is in this
backup or in the next incremental one, never in neither.  A clone or copy has new
inode numbers and ctimes, and the dump format needs the volume's (an incremental
dump compares ctimes; ``restore -r`` matches inode numbers across levels), so the
original ``lstat`` of every copied inode is recorded and :meth:`Snapshot.lstat`
answers with it.

Failures carry the seed's messages ("Failed to create snapshot", "Unable to lock a
snapshot needed by dump", "Failed to delete snapshot") with the operating system's
reason beside them (:class:`SnapshotError`).
"""
from __future__ import annotations

import errno
import fcntl
import logging
import os
import shutil
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Self

from construct import GreedyBytes, Int64sl, Int64ul, Padded, Padding, Struct

from .volume_path import SNAPSHOT_DIR

__all__ = [
    "BACKUP_NAMES", "CREATE_FAILED", "DELETE_FAILED", "LOCK_FAILED", "METHODS", "SNAPSHOT_DIR",
    "Snapshot", "SnapshotError", "SnapshotNames", "create_snapshot", "filesystem_type",
    "open_snapshot", "probe_method",
]

log = logging.getLogger("ndmp.snapshot")

#: The seed's messages (002, "Dump error messages").
CREATE_FAILED = "Failed to create snapshot"
LOCK_FAILED = "Unable to lock a snapshot needed by dump"
DELETE_FAILED = "Failed to delete snapshot"

#: Snapshot methods a volume may ask for; ``auto`` takes the first that works.
METHODS = ("auto", "btrfs", "reflink", "copy")

#: How often a changing file is copied before the last copy is kept with a warning.
COPY_TRIES = 3
#: Room a copy leaves free on the filesystem beyond what it needs.
COPY_MARGIN = 16 << 20
#: Bytes per copy_file_range / sendfile call, so that an abort is seen between calls.
_CHUNK = 64 << 20
#: Entries copied between two looks at ``check``.
_CHECK_EVERY = 256

_NOATIME = getattr(os, "O_NOATIME", 0)
_UNSUPPORTED = {errno.ENOTTY, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EINVAL, errno.ENOSYS}
_NO_XATTRS = {errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS}


class SnapshotError(Exception):
    """A snapshot could not be made, opened or deleted.  ``str()`` is the seed's message
    (what the DMA and the event log show); ``reason`` says why, for the log."""

    def __init__(self, message: str, reason: str = ""):
        super().__init__(message)
        self.message = message
        self.reason = reason

    def __str__(self) -> str:
        return self.message

    @property
    def detail(self) -> str:
        """The message with its reason, for an operator's log."""
        return f"{self.message}: {self.reason}" if self.reason else self.message


# -- btrfs and FICLONE: the kernel's structures, declared once ---------------------------------

_BTRFS_IOCTL_MAGIC = 0x94
_BTRFS_SUBVOL_RDONLY = 1 << 1
#: struct btrfs_ioctl_vol_args (linux/btrfs.h): a name relative to the directory the ioctl
#: is called on; BTRFS_PATH_NAME_MAX is 4087.
_VOL_ARGS = Struct("fd" / Int64sl, "name" / Padded(4088, GreedyBytes))
#: struct btrfs_ioctl_vol_args_v2: the source subvolume's fd, flags, and the new name
#: (BTRFS_SUBVOL_NAME_MAX is 4039); the qgroup union is left zero.
_VOL_ARGS_V2 = Struct("fd" / Int64sl, "transid" / Int64ul, "flags" / Int64ul, "unused" / Padding(32),
                      "name" / Padded(4040, GreedyBytes))


def _iow(kind: int, number: int, size: int) -> int:
    """_IOW() of asm-generic/ioctl.h."""
    return (1 << 30) | (size << 16) | (kind << 8) | number


BTRFS_IOC_SNAP_DESTROY = _iow(_BTRFS_IOCTL_MAGIC, 15, _VOL_ARGS.sizeof())
BTRFS_IOC_SNAP_CREATE_V2 = _iow(_BTRFS_IOCTL_MAGIC, 23, _VOL_ARGS_V2.sizeof())
FICLONE = _iow(_BTRFS_IOCTL_MAGIC, 9, 4)            # linux/fs.h: _IOW(0x94, 9, int)
#: A btrfs subvolume's root directory is always this inode (BTRFS_FIRST_FREE_OBJECTID).
_BTRFS_SUBVOLUME_ROOT_INO = 256


def _btrfs_snapshot(source: str, directory: str, name: str) -> None:
    """A read-only snapshot of the subvolume at ``source`` as ``directory/name``."""
    src = os.open(source, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        dst = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            args = bytearray(_VOL_ARGS_V2.build({"fd": src, "transid": 0, "flags": _BTRFS_SUBVOL_RDONLY,
                                                  "name": os.fsencode(name)}))
            fcntl.ioctl(dst, BTRFS_IOC_SNAP_CREATE_V2, args)
        finally:
            os.close(dst)
    finally:
        os.close(src)


def _btrfs_destroy(directory: str, name: str) -> None:
    dst = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.ioctl(dst, BTRFS_IOC_SNAP_DESTROY, bytearray(_VOL_ARGS.build({"fd": 0, "name": os.fsencode(name)})))
    finally:
        os.close(dst)


# -- what a filesystem can do -----------------------------------------------------------------


def _unescape(field_text: str) -> str:
    """Mount points in /proc/self/mountinfo escape space, tab, newline and backslash as \\ooo."""
    out, i = [], 0
    while i < len(field_text):
        if field_text[i] == "\\" and field_text[i + 1:i + 4].isdigit():
            out.append(chr(int(field_text[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(field_text[i])
            i += 1
    return "".join(out)


def filesystem_type(path: str) -> str:
    """The type of the filesystem ``path`` is on (``ext4``, ``btrfs``, ...; "" if unknown):
    the mount with the longest mount point above it, the last one when mounts stack."""
    try:
        target = os.path.realpath(path)
        with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as f:
            lines = f.read().splitlines()
    except OSError:
        return ""
    best, best_length = "", -1
    for line in lines:
        left, sep, right = line.partition(" - ")
        fields = left.split()
        if not sep or len(fields) < 5 or not right:
            continue
        mount_point = _unescape(fields[4])
        inside = target == mount_point or target.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) >= best_length:
            best, best_length = right.split()[0], len(mount_point)
    return best


def _is_btrfs_subvolume(root: str, st: os.stat_result) -> bool:
    return st.st_ino == _BTRFS_SUBVOLUME_ROOT_INO and filesystem_type(root) == "btrfs"


def _can_clone(directory: str) -> tuple[bool, str]:
    """Whether FICLONE works on the filesystem of ``directory``: one byte cloned between two
    unnamed files (O_TMPFILE), so that trying leaves no trace and changes no directory."""
    fds: list[int] = []
    try:
        for _ in range(2):
            fds.append(os.open(directory, os.O_TMPFILE | os.O_RDWR | os.O_CLOEXEC, 0o600))
        os.write(fds[0], b"\0")
        fcntl.ioctl(fds[1], FICLONE, fds[0])
        return True, ""
    except OSError as e:
        if e.errno == errno.EROFS:
            return False, "the filesystem is read-only"
        if e.errno in _UNSUPPORTED or e.errno == errno.EISDIR:
            return False, "the filesystem cannot share extents (no reflink)"
        return False, e.strerror or str(e)
    finally:
        for fd in fds:
            os.close(fd)


def _writable(root: str) -> str:
    """Why nothing can be written on the volume's filesystem ("" when it can)."""
    try:
        flags = os.statvfs(root).f_flag
    except OSError as e:
        return e.strerror or str(e)
    if flags & os.ST_RDONLY:
        return "the filesystem is read-only"
    if not os.access(root, os.W_OK):
        return "the volume's directory is not writable"
    return ""


def probe_method(volume_root: str, method: str = "auto") -> str:
    """The method :func:`create_snapshot` would use on ``volume_root`` for ``method``
    (``btrfs``, ``reflink`` or ``copy``), found without making a snapshot; SnapshotError
    ("Failed to create snapshot" with the reason) when it cannot make one."""
    if method not in METHODS:
        raise SnapshotError(CREATE_FAILED, f"{method!r} is not a snapshot method; the methods are "
                            f"{', '.join(METHODS)}")
    try:
        root = os.path.realpath(volume_root)
        st = os.stat(root)
    except OSError as e:
        raise SnapshotError(CREATE_FAILED, f"{volume_root}: {e.strerror or e}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise SnapshotError(CREATE_FAILED, f"{volume_root} is not a directory")
    problem = _writable(root)
    if problem:
        raise SnapshotError(CREATE_FAILED, f"{volume_root}: {problem}")
    if method in ("auto", "btrfs"):
        if _is_btrfs_subvolume(root, st):
            return "btrfs"
        if method == "btrfs":
            raise SnapshotError(CREATE_FAILED, f"{volume_root} is not the root of a btrfs subvolume")
    if method in ("auto", "reflink"):
        works, why = _can_clone(root)
        if works:
            return "reflink"
        if method == "reflink":
            raise SnapshotError(CREATE_FAILED, f"{volume_root}: {why}")
    return "copy"


# -- names ----------------------------------------------------------------------------------


class SnapshotNames:
    """``snapshot_for_backup.N``: N from 0, one more for every backup, per process -- so,
    as the seed says of a storage system's reboot, back to 0 when the daemon restarts.
    Concurrent backups get distinct names; a name whose snapshot is still on disk (left by
    a daemon that was killed) is skipped."""

    PREFIX = "snapshot_for_backup"

    def __init__(self, prefix: str = PREFIX):
        self.prefix = prefix
        self._next = 0
        self._lock = threading.Lock()

    def next(self, volume_root: str = "") -> str:
        """The next name; with ``volume_root``, one that is free in its ``.snapshot``."""
        with self._lock:
            while True:
                name = f"{self.prefix}.{self._next}"
                self._next += 1
                if not volume_root or not os.path.lexists(os.path.join(volume_root, SNAPSHOT_DIR, name)):
                    return name


#: The daemon's counter (one per process).
BACKUP_NAMES = SnapshotNames()


# -- the snapshot ------------------------------------------------------------------------------


@dataclass(eq=False)
class Snapshot:
    """A snapshot being read.  ``root`` is the host directory of the volume's root inside
    it; ``warnings`` are things the DMA should be told (files that kept changing while
    copied, attributes that could not be copied).  Use it as a context manager, or call
    :meth:`release` when done."""

    name: str
    method: str                     # "btrfs" | "reflink" | "copy" | "existing"
    created: float
    root: str
    volume_root: str = ""
    warnings: list[str] = field(default_factory=list)
    _stats: dict[tuple[int, int], os.stat_result] | None = field(default=None, repr=False)
    _owned: bool = field(default=False, repr=False)
    _released: bool = field(default=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def lstat(self, path: str | bytes) -> os.stat_result:
        """The stat ``path`` (a host path inside the snapshot) had in the volume when the
        snapshot was taken: for a clone or a copy the recorded original, so that st_ino and
        st_ctime are the volume's own.  (A btrfs snapshot keeps inode numbers and ctimes
        itself; only its st_dev is its own, as every subvolume's is.)"""
        st = os.lstat(path)
        if self._stats is not None:
            return self._stats.get((st.st_dev, st.st_ino), st)
        return st

    @property
    def released(self) -> bool:
        return self._released

    def release(self) -> None:
        """Delete the snapshot if this process made it (an existing one is left alone).
        Idempotent; SnapshotError("Failed to delete snapshot") when it cannot be deleted
        (it stays, and a later call tries again)."""
        with self._lock:
            if self._released:
                return
            if self._owned:
                directory, name = os.path.split(self.root)
                try:
                    if self.method == "btrfs":
                        _btrfs_destroy(directory, name)
                    else:
                        _remove_tree(self.root)
                except OSError as e:
                    raise SnapshotError(DELETE_FAILED, f"{self.root}: {e.strerror or e}") from None
                log.info("snapshot %s of %s deleted", self.name, self.volume_root)
            self._released = True
            self._stats = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _remove_tree(path: str) -> None:
    """Remove a clone or copy.  Its directories carry the volume's modes; without root's
    privileges a read-only one cannot be emptied, so on EACCES every directory is opened
    up first (they are ours: the copy's, never the volume's)."""
    if not os.path.lexists(path):
        return
    try:
        shutil.rmtree(path)
    except PermissionError:
        os.chmod(path, 0o700)
        for directory, subdirectories, _ in os.walk(path):
            for name in subdirectories:
                os.chmod(os.path.join(directory, name), 0o700, follow_symlinks=False)
        shutil.rmtree(path)


def _check_name(name: str, message: str) -> None:
    if not name or "/" in name or "\0" in name or name in (".", ".."):
        raise SnapshotError(message, f"{name!r} cannot be a snapshot name")


def _clean_subtree(subtree: str, message: str) -> str:
    parts = [p for p in subtree.split("/") if p not in ("", ".")]
    if ".." in parts or "\0" in subtree:
        raise SnapshotError(message, f"the subtree {subtree!r} is not a path inside the volume")
    if parts and parts[0] == SNAPSHOT_DIR:
        raise SnapshotError(message, f"{SNAPSHOT_DIR} holds snapshots, not the volume's data")
    return "/".join(parts)


def _snapshot_directory(root: str, root_st: os.stat_result, message: str) -> str:
    """``root/.snapshot``, made if missing; refused when it is not a directory of the volume
    itself (a symlink or a mount point there would send a copy, or a deletion, elsewhere)."""
    directory = os.path.join(root, SNAPSHOT_DIR)
    try:
        os.mkdir(directory, 0o700)
    except FileExistsError:
        pass
    except OSError as e:
        raise SnapshotError(message, f"{directory}: {e.strerror or e}") from None
    st = os.lstat(directory)
    if not stat.S_ISDIR(st.st_mode) or st.st_dev != root_st.st_dev:
        raise SnapshotError(message, f"{directory} is not a directory of the volume (a symlink or "
                            "another filesystem); move it away")
    return directory


def open_snapshot(volume_root: str, name: str) -> Snapshot:
    """The existing snapshot ``name`` of the volume (one the DMA named through
    ``.snapshot/NAME``), read as it is and never deleted by :meth:`Snapshot.release`.

    ``created`` is the earlier of its root's mtime and ctime: the snapshot is at least
    that old, and a dump date that is too early only makes the next incremental larger,
    never incomplete."""
    _check_name(name, LOCK_FAILED)
    root = os.path.realpath(volume_root)
    path = os.path.join(root, SNAPSHOT_DIR, name)
    try:
        st = os.lstat(path)
    except OSError as e:
        reason = f"there is no snapshot {name} in {os.path.join(root, SNAPSHOT_DIR)}" \
            if e.errno == errno.ENOENT else f"{path}: {e.strerror or e}"
        raise SnapshotError(LOCK_FAILED, reason) from None
    if not stat.S_ISDIR(st.st_mode):
        raise SnapshotError(LOCK_FAILED, f"{path} is not a snapshot (not a directory)")
    return Snapshot(name, "existing", min(st.st_mtime, st.st_ctime), path, volume_root=root)


def create_snapshot(volume_root: str, name: str, *, method: str = "auto", subtree: str = "",
                    check: Callable[[], None] | None = None) -> Snapshot:
    """Snapshot the volume at ``volume_root`` as ``.snapshot/name`` with ``method`` (see the
    module docstring); ``subtree`` limits a clone or copy to that part of the volume (a
    btrfs snapshot is always whole).  ``check`` is called now and then while a clone or copy
    runs; whatever it raises (an abort) stops it, the partial snapshot is removed, and the
    exception goes on.  SnapshotError("Failed to create snapshot", reason) otherwise."""
    if method not in METHODS:
        raise SnapshotError(CREATE_FAILED, f"{method!r} is not a snapshot method; the methods are "
                            f"{', '.join(METHODS)}")
    _check_name(name, CREATE_FAILED)
    subtree = _clean_subtree(subtree, CREATE_FAILED)
    try:
        root = os.path.realpath(volume_root)
        root_st = os.stat(root)
    except OSError as e:
        raise SnapshotError(CREATE_FAILED, f"{volume_root}: {e.strerror or e}") from None
    if not stat.S_ISDIR(root_st.st_mode):
        raise SnapshotError(CREATE_FAILED, f"{volume_root} is not a directory")
    directory = _snapshot_directory(root, root_st, CREATE_FAILED)
    target = os.path.join(directory, name)
    if os.path.lexists(target):
        raise SnapshotError(CREATE_FAILED, f"a snapshot named {name} already exists in {directory}")

    created = time.time()
    begun = time.monotonic()
    if method in ("auto", "btrfs"):
        if _is_btrfs_subvolume(root, root_st):
            try:
                _btrfs_snapshot(root, directory, name)
            except OSError as e:
                if method == "btrfs" or e.errno not in _UNSUPPORTED | {errno.EPERM, errno.EACCES}:
                    raise SnapshotError(CREATE_FAILED, f"btrfs snapshot of {root}: {e.strerror or e}") from None
            else:
                log.info("snapshot %s of %s: btrfs subvolume snapshot", name, root)
                return Snapshot(name, "btrfs", created, target, volume_root=root, _owned=True)
        elif method == "btrfs":
            raise SnapshotError(CREATE_FAILED, f"{root} is not the root of a btrfs subvolume")
    clone = False
    if method in ("auto", "reflink"):
        clone, why = _can_clone(directory)
        if not clone and method == "reflink":
            raise SnapshotError(CREATE_FAILED, f"{root}: {why}")
    copier = _TreeCopy(root, root_st, target, subtree, clone=clone, check=check)
    try:
        copier.run()
    except BaseException:
        try:
            _remove_tree(target)
        except OSError as e:
            log.error("the partial snapshot %s could not be removed: %s", target, e.strerror or e)
        raise
    used = "reflink" if clone else "copy"
    log.info("snapshot %s of %s%s: %s of %d inodes in %.1f s", name, root, f" ({subtree})" if subtree else "",
             used, len(copier.stats), time.monotonic() - begun)
    return Snapshot(name, used, created, target, volume_root=root, warnings=copier.warnings,
                    _stats=copier.stats, _owned=True)


# -- the clone / copy --------------------------------------------------------------------------


class _TreeCopy:
    """One clone or copy of a volume's tree (or of one subtree of it) into ``target``.

    Two passes: the first lists the tree (and so fixes which names the snapshot has)
    and adds up what the copy will need, so that a copy that cannot fit is refused
    before anything is written; the second copies.  The volume's filesystem is never
    left: a directory with another filesystem mounted on it is copied empty, as dump
    and a btrfs snapshot treat it."""

    def __init__(self, root: str, root_st: os.stat_result, target: str, subtree: str, *, clone: bool,
                 check: Callable[[], None] | None):
        self.root = root
        self.root_st = root_st
        self.target = target
        self.subtree = subtree
        self.clone = clone
        self.check = check
        self.stats: dict[tuple[int, int], os.stat_result] = {}
        self.warnings: list[str] = []
        self._links: dict[tuple[int, int], str] = {}       # original inode -> its first copy
        self._warned: set[str] = set()
        self._sendfile = False

    # -- pass 1: the listing ------------------------------------------------------------
    def _list(self) -> list[tuple[str, os.stat_result]]:
        """(relative path, lstat) of everything to copy, each directory before its contents."""
        entries: list[tuple[str, os.stat_result]] = [("", self.root_st)]
        if self.subtree:
            rel = ""
            for part in self.subtree.split("/"):
                rel = f"{rel}/{part}" if rel else part
                try:
                    st = os.lstat(os.path.join(self.root, rel))
                except OSError as e:
                    raise SnapshotError(CREATE_FAILED, f"{self.subtree}: {e.strerror or e}") from None
                if st.st_dev != self.root_st.st_dev:
                    raise SnapshotError(CREATE_FAILED, f"{rel} is another filesystem mounted in the volume")
                entries.append((rel, st))
                if not stat.S_ISDIR(st.st_mode) and rel != self.subtree:
                    raise SnapshotError(CREATE_FAILED, f"{rel} (in {self.subtree}) is not a directory")
            if not stat.S_ISDIR(entries[-1][1].st_mode):
                return entries
        stack = [self.subtree]
        count = 0
        while stack:
            rel = stack.pop()
            directory = os.path.join(self.root, rel) if rel else self.root
            try:
                with os.scandir(directory) as it:
                    children = [(e.name, e.stat(follow_symlinks=False)) for e in it]
            except FileNotFoundError:
                continue                                  # removed since it was listed
            except OSError as e:
                raise SnapshotError(CREATE_FAILED, f"{directory}: {e.strerror or e}") from None
            for child, st in children:
                if not rel and child == SNAPSHOT_DIR:
                    continue
                path = f"{rel}/{child}" if rel else child
                entries.append((path, st))
                if stat.S_ISDIR(st.st_mode) and st.st_dev == self.root_st.st_dev:
                    stack.append(path)
            count += len(children)
            if self.check is not None and count >= _CHECK_EVERY:
                self.check()
                count = 0
        return entries

    def _check_room(self, entries: list[tuple[str, os.stat_result]]) -> None:
        seen: set[tuple[int, int]] = set()
        need_bytes = need_inodes = 0
        for _, st in entries:
            key = (st.st_dev, st.st_ino)
            if key in seen:
                continue
            seen.add(key)
            need_inodes += 1
            if not self.clone and (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
                need_bytes += st.st_blocks * 512
        try:
            fs = os.statvfs(os.path.dirname(self.target))
        except OSError as e:
            raise SnapshotError(CREATE_FAILED, f"{self.target}: {e.strerror or e}") from None
        free = fs.f_bavail * fs.f_frsize
        if need_bytes + COPY_MARGIN > free:
            raise SnapshotError(CREATE_FAILED, f"the copy of {self.root} needs about {_size(need_bytes)} and "
                                f"its filesystem has {_size(free)} free (less {_size(COPY_MARGIN)} kept "
                                "free); free some space, or put the volume on btrfs or XFS for "
                                "snapshots that need none")
        if fs.f_files and need_inodes > fs.f_favail:
            raise SnapshotError(CREATE_FAILED, f"the copy of {self.root} needs {need_inodes} inodes and its "
                                f"filesystem has {fs.f_favail} free")

    # -- pass 2: the copy ------------------------------------------------------------------
    def run(self) -> None:
        entries = self._list()
        self._check_room(entries)
        directories: list[tuple[str, os.stat_result]] = []
        for number, (rel, st) in enumerate(entries):
            if self.check is not None and number % _CHECK_EVERY == 0:
                self.check()
            src = os.path.join(self.root, rel) if rel else self.root
            dst = os.path.join(self.target, rel) if rel else self.target
            try:
                if stat.S_ISDIR(st.st_mode):
                    os.mkdir(dst, 0o700)
                    directories.append((rel, st))
                else:
                    self._entry(rel, src, dst, st)
            except FileNotFoundError as e:
                if not os.path.lexists(src):
                    log.debug("%s went away while the snapshot was made", src)
                    continue
                raise SnapshotError(CREATE_FAILED, f"copying {src}: {e.strerror or e}") from None
            except OSError as e:
                raise SnapshotError(CREATE_FAILED, f"copying {src}: {e.strerror or e}") from None
        for rel, st in reversed(directories):             # contents first, so mtimes stay
            src = os.path.join(self.root, rel) if rel else self.root
            dst = os.path.join(self.target, rel) if rel else self.target
            try:
                self._metadata(src, dst, st)
                self.stats[_key(os.lstat(dst))] = st
            except OSError as e:
                raise SnapshotError(CREATE_FAILED, f"copying {src}: {e.strerror or e}") from None

    def _entry(self, rel: str, src: str, dst: str, st: os.stat_result) -> None:
        if st.st_nlink > 1:
            first = self._links.get(_key(st))
            if first is not None:
                os.link(first, dst, follow_symlinks=False)
                return
        if stat.S_ISREG(st.st_mode):
            final = self._file(rel, src, dst)
            if final is None:
                return
            st = final
        elif stat.S_ISLNK(st.st_mode):
            st = self._symlink(rel, src, dst, st)
        elif stat.S_ISDIR(st.st_mode):                     # was something else when listed:
            os.mkdir(dst, 0o700)                           # its contents came later
            self._metadata(src, dst, st)
        else:                                              # devices, fifos, sockets
            os.mknod(dst, stat.S_IFMT(st.st_mode) | 0o600, st.st_rdev)
            self._metadata(src, dst, st)
        self.stats[_key(os.lstat(dst))] = st
        if st.st_nlink > 1:
            self._links[_key(st)] = dst

    def _file(self, rel: str, src: str, dst: str) -> os.stat_result | None:
        """Copy one regular file until it holds still; returns the stat it was copied at
        (None: it is no longer a regular file and was copied as what it is now)."""
        try:
            fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | _NOATIME)
        except PermissionError:
            fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as e:
            if e.errno != errno.ELOOP:
                raise
            now = os.lstat(src)                            # became a symlink since the listing
            self._entry(rel, src, dst, now)
            return None
        try:
            before = os.fstat(fd)
            if not stat.S_ISREG(before.st_mode):
                now = os.lstat(src)
                if stat.S_ISREG(now.st_mode):
                    raise SnapshotError(CREATE_FAILED, f"{src} keeps changing type")
                self._entry(rel, src, dst, now)
                return None
            out = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            try:
                for attempt in range(1, COPY_TRIES + 1):
                    if attempt > 1:
                        os.ftruncate(out, 0)
                    self._data(fd, out, before)
                    after = os.fstat(fd)
                    if _same_content(before, after):
                        break
                    if attempt == COPY_TRIES:
                        text = (f"{rel} kept changing while the snapshot was made ({COPY_TRIES} copies); "
                                "the last copy is backed up")
                        log.warning("%s", text)
                        self.warnings.append(text)
                    before = after
                self._metadata(fd, out, after)
            finally:
                os.close(out)
            return after
        finally:
            os.close(fd)

    def _data(self, src: int, dst: int, st: os.stat_result) -> None:
        size = st.st_size
        if self.clone:
            try:
                fcntl.ioctl(dst, FICLONE, src)
                return
            except OSError as e:                           # e.g. btrfs: a nodatacow file
                if e.errno not in _UNSUPPORTED:
                    raise
                os.ftruncate(dst, 0)
        if size == 0:
            return
        if st.st_blocks * 512 >= size and size <= _CHUNK:
            self._range(src, dst, 0, size)                 # no hole can hide in it
        else:
            position = 0
            while position < size:
                try:
                    data = os.lseek(src, position, os.SEEK_DATA)
                except OSError as e:
                    if e.errno == errno.ENXIO:             # only a hole from here on
                        break
                    if e.errno not in _UNSUPPORTED:
                        raise
                    data = position                        # no SEEK_DATA: all of it is data
                    hole = size
                else:
                    try:
                        hole = os.lseek(src, data, os.SEEK_HOLE)
                    except OSError:
                        hole = size
                if data >= size:
                    break
                end = min(hole, size)
                if not self._range(src, dst, data, end - data):
                    break                                  # shorter than it was: the retry sees it
                position = end
        os.ftruncate(dst, size)                            # a trailing hole stays a hole

    def _range(self, src: int, dst: int, offset: int, length: int) -> bool:
        """Copy ``length`` bytes at ``offset`` (False: the file ended before)."""
        end = offset + length
        while offset < end:
            if self.check is not None and length > _CHUNK:
                self.check()
            count = min(end - offset, _CHUNK)
            if not self._sendfile:
                try:
                    done = os.copy_file_range(src, dst, count, offset, offset)
                except OSError as e:
                    if e.errno not in _UNSUPPORTED:
                        raise
                    self._sendfile = True
                    continue
            else:
                os.lseek(dst, offset, os.SEEK_SET)
                done = os.sendfile(dst, src, offset, count)
            if done == 0:
                return False
            offset += done
        return True

    def _symlink(self, rel: str, src: str, dst: str, st: os.stat_result) -> os.stat_result:
        for _ in range(COPY_TRIES):
            target = os.readlink(src)
            now = os.lstat(src)
            if _same_content(st, now) or not stat.S_ISLNK(now.st_mode):
                break
            st = now
        os.symlink(target, dst)
        self._metadata(src, dst, st)
        return st

    def _metadata(self, src: str | int, dst: str | int, st: os.stat_result) -> None:
        """Owner, mode, extended attributes, then times (last: setting the others moves
        ctime, and an xattr set on a file would not move its mtime, but a chmod after a
        setxattr of an ACL would change the ACL's mask)."""
        by_fd = isinstance(dst, int)
        try:
            if by_fd:
                os.chown(dst, st.st_uid, st.st_gid)
            else:
                os.chown(dst, st.st_uid, st.st_gid, follow_symlinks=False)
        except PermissionError as e:
            self._warn_once("owner", f"owners cannot be copied into the snapshot ({e.strerror})")
        if not stat.S_ISLNK(st.st_mode):
            os.chmod(dst, stat.S_IMODE(st.st_mode))
        self._xattrs(src, dst)
        times = (st.st_atime_ns, st.st_mtime_ns)
        if by_fd:
            os.utime(dst, ns=times)
        else:
            os.utime(dst, ns=times, follow_symlinks=False)

    def _xattrs(self, src: str | int, dst: str | int) -> None:
        by_path = not isinstance(src, int)
        try:
            names = os.listxattr(src, follow_symlinks=False) if by_path else os.listxattr(src)
        except OSError as e:
            if e.errno in _NO_XATTRS:
                return
            raise
        for name in names:
            try:
                value = os.getxattr(src, name, follow_symlinks=False) if by_path else os.getxattr(src, name)
            except OSError as e:
                if e.errno == errno.ENODATA:
                    continue                               # removed since it was listed
                raise
            try:
                if isinstance(dst, int):
                    os.setxattr(dst, name, value)
                else:
                    os.setxattr(dst, name, value, follow_symlinks=False)
            except OSError as e:
                self._warn_once(name, f"the extended attribute {name} cannot be copied into the snapshot "
                                      f"({e.strerror or e}); the backup does not carry it")

    def _warn_once(self, key: str, text: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning("%s", text)
            self.warnings.append(text)


def _key(st: os.stat_result) -> tuple[int, int]:
    return (st.st_dev, st.st_ino)


def _same_content(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_ino, a.st_size, a.st_mtime_ns, a.st_ctime_ns) == (b.st_ino, b.st_size, b.st_mtime_ns, b.st_ctime_ns)


def _size(n: int) -> str:
    for unit, size in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"
