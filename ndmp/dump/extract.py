"""Writing restored files under a destination directory, and never outside it.

Every name comes from the image, so none is trusted: a component that is empty,
``.``, ``..``, or holds ``/`` or NUL is refused, and every directory is entered
with ``openat(O_NOFOLLOW | O_DIRECTORY)`` relative to the one above it, starting
from the destination's own descriptor.  A symbolic link already at a place where
we create something (planted there to redirect us, or left by an earlier
restore) is replaced, never followed; a symbolic link the image restores is
created as a link and never opened.  So whatever the image says, writes land
below the destination.

Files are overwritten; directories that exist already are entered and kept as
they are, their attributes untouched (seed 002, "Considerations before restoring
data").  Attributes of the directories we create are set last, children first,
so that a read-only directory does not stop its own restore.
"""
from __future__ import annotations

import errno
import os
import stat
from collections import OrderedDict
from collections.abc import Sequence

from images.dump import InodeInfo

__all__ = ["Destination", "UnsafeName", "safe_parts"]

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
_CACHE = 64
_ACLS = (b"system.posix_acl_access", b"system.posix_acl_default")


class UnsafeName(ValueError):
    """A name from the image that would leave the destination or is not a name."""


def safe_parts(path: bytes) -> tuple[bytes, ...]:
    """The components of a relative path from the image, each a plain name."""
    parts = tuple(p for p in path.split(b"/") if p)
    for p in parts:
        if p in (b".", b"..") or b"\0" in p:
            raise UnsafeName(f"unsafe name {path!r} in the image")
    return parts


class Destination:
    """The directory a restore writes into.  Paths are tuples of name components
    relative to it (checked by :func:`safe_parts`)."""

    def __init__(self, root: str, *, nowrite: bool = False, extract_acl: bool = True):
        self.root = root
        self.nowrite = nowrite
        self.extract_acl = extract_acl
        self._fds: OrderedDict[tuple[bytes, ...], int] = OrderedDict()
        self._created_dirs: list[tuple[tuple[bytes, ...], InodeInfo]] = []
        self._made: set[tuple[bytes, ...]] = set()     # directories this restore created
        self._root_fd = -1
        if not nowrite:
            os.makedirs(root, exist_ok=True)
            self._root_fd = os.open(root, _DIR_FLAGS)

    # ------------------------------------------------------------------ directories

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
        if self._root_fd >= 0:
            os.close(self._root_fd)
            self._root_fd = -1

    def _dir_fd(self, parts: Sequence[bytes]) -> int:
        """The directory ``parts`` (made when missing), entered without following links."""
        key = tuple(parts)
        if not key:
            return self._root_fd
        fd = self._fds.get(key)
        if fd is not None:
            self._fds.move_to_end(key)
            return fd
        parent = self._dir_fd(key[:-1])
        name = key[-1]
        try:
            fd = os.open(name, _DIR_FLAGS, dir_fd=parent)
        except FileNotFoundError:
            os.mkdir(name, 0o700, dir_fd=parent)
            fd = os.open(name, _DIR_FLAGS, dir_fd=parent)
            self._made.add(key)
        except (NotADirectoryError, OSError) as e:
            if not isinstance(e, NotADirectoryError) and e.errno != errno.ELOOP:
                raise
            # A file or a link where the image has a directory: the image wins.
            os.unlink(name, dir_fd=parent)
            os.mkdir(name, 0o700, dir_fd=parent)
            fd = os.open(name, _DIR_FLAGS, dir_fd=parent)
            self._made.add(key)
        self._fds[key] = fd
        if len(self._fds) > _CACHE:
            _, old = self._fds.popitem(last=False)
            os.close(old)
        return fd

    def directory(self, parts: Sequence[bytes], inode: InodeInfo | None) -> None:
        """Make sure the directory exists; a directory we create gets ``inode``'s
        attributes at :meth:`finish`, an existing one keeps its own."""
        if self.nowrite:
            return
        if not parts:
            return
        parent = self._dir_fd(parts[:-1])
        try:
            st = os.stat(parts[-1], dir_fd=parent, follow_symlinks=False)
            existed = stat.S_ISDIR(st.st_mode)
        except FileNotFoundError:
            existed = False
        self._dir_fd(parts)
        if not existed and inode is not None:
            self._created_dirs.append((tuple(parts), inode))

    def path_attributes(self, parts: Sequence[bytes], inode: InodeInfo) -> bool:
        """A directory on the way to a restored file (RECOVER_FULL_PATHS, RECURSIVE=N) gets
        ``inode``'s attributes at :meth:`finish` if this restore created it; one that
        already existed keeps its own (seed).  True if it will."""
        key = tuple(parts)
        if self.nowrite or key not in self._made or any(p == key for p, _ in self._created_dirs):
            return False
        self._created_dirs.append((key, inode))
        return True

    def root_attributes(self, inode: InodeInfo) -> None:
        """A restore into a directory it created gives it the image root's attributes."""
        self._created_dirs.append(((), inode))

    # ------------------------------------------------------------------ leaves

    def _replace(self, parent: int, name: bytes) -> None:
        try:
            st = os.stat(name, dir_fd=parent, follow_symlinks=False)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, "a directory is in the way", os.fsdecode(name))
        os.unlink(name, dir_fd=parent)

    def open_file(self, parts: Sequence[bytes]) -> int:
        """A new empty regular file to write (an existing file is overwritten)."""
        parent = self._dir_fd(parts[:-1])
        name = parts[-1]
        try:
            return os.open(name, _FILE_FLAGS, 0o600, dir_fd=parent)
        except OSError as e:
            if e.errno not in (errno.ELOOP, errno.ETXTBSY, errno.EACCES, errno.EPERM):
                raise
        self._replace(parent, name)
        return os.open(name, _FILE_FLAGS, 0o600, dir_fd=parent)

    def link(self, existing: Sequence[bytes], parts: Sequence[bytes]) -> None:
        """Another name of a file restored already (a hard link)."""
        src = self._dir_fd(existing[:-1])
        dst = self._dir_fd(parts[:-1])
        self._replace(dst, parts[-1])
        os.link(existing[-1], parts[-1], src_dir_fd=src, dst_dir_fd=dst, follow_symlinks=False)

    def symlink(self, parts: Sequence[bytes], target: bytes, inode: InodeInfo) -> None:
        parent = self._dir_fd(parts[:-1])
        self._replace(parent, parts[-1])
        os.symlink(target, parts[-1], dir_fd=parent)
        self._set_path_attributes(parent, parts[-1], inode, follow=False)

    def special(self, parts: Sequence[bytes], inode: InodeInfo) -> None:
        """Device nodes and fifos (sockets are not restored: nothing listens on them)."""
        parent = self._dir_fd(parts[:-1])
        self._replace(parent, parts[-1])
        kind = stat.S_IFMT(inode.mode)
        if kind == stat.S_IFIFO:
            os.mkfifo(parts[-1], 0o600, dir_fd=parent)
        else:
            os.mknod(parts[-1], kind | 0o600, inode.rdev, dir_fd=parent)
        self._set_path_attributes(parent, parts[-1], inode, follow=False)

    # ------------------------------------------------------------------ attributes

    def set_attributes(self, fd: int, inode: InodeInfo) -> None:
        """Owner, mode, extended attributes and ACLs, then times (last: the others change ctime only)."""
        try:
            os.fchown(fd, inode.uid, inode.gid)
        except PermissionError:
            pass                        # not root: the files stay ours
        os.fchmod(fd, stat.S_IMODE(inode.mode))
        self._xattrs(fd, inode)
        os.utime(fd, ns=(inode.atime_ns, inode.mtime_ns))

    def _xattrs(self, target: int | bytes, inode: InodeInfo, parent: int | None = None) -> None:
        for name, value in inode.xattrs:
            if name in _ACLS and not self.extract_acl:
                continue
            try:
                if parent is None:
                    os.setxattr(target, name, value)
                else:
                    os.setxattr(f"/proc/self/fd/{parent}/".encode() + target, name, value, follow_symlinks=False)
            except OSError:
                continue                # a filesystem without that namespace: the data stands

    def _set_path_attributes(self, parent: int, name: bytes, inode: InodeInfo, follow: bool) -> None:
        try:
            os.chown(name, inode.uid, inode.gid, dir_fd=parent, follow_symlinks=False)
        except PermissionError:
            pass
        if follow:
            os.chmod(name, stat.S_IMODE(inode.mode), dir_fd=parent, follow_symlinks=False)
        elif not stat.S_ISLNK(inode.mode):
            # A fifo or device: chmod through the path is safe, it is not a link.
            os.chmod(name, stat.S_IMODE(inode.mode), dir_fd=parent)
        if not stat.S_ISLNK(inode.mode):
            self._xattrs(name, inode, parent)
        os.utime(name, ns=(inode.atime_ns, inode.mtime_ns), dir_fd=parent, follow_symlinks=False)

    def finish(self) -> None:
        """The attributes of the directories we created, deepest first."""
        if self.nowrite:
            return
        for parts, inode in sorted(self._created_dirs, key=lambda d: -len(d[0])):
            fd = self._dir_fd(parts) if parts else self._root_fd
            try:
                self.set_attributes(fd, inode)
            except OSError:
                continue
        self._created_dirs.clear()
