"""File history for the DMA (HIST=Y): FH_ADD_DIR and FH_ADD_NODE in the node model.

The dump thread only appends entries here; a poster thread of its own encodes
full batches and sends them on the control connection.  So a DMA that reads
its control connection slowly slows the backup down only once ``MAX_QUEUED``
batches are waiting (bounded memory), never entry by entry, and the data
stream keeps flowing while a batch is on its way.

Conventions NDMJOB's index relies on (``ndma_noti_fh``): the first FH_ADD_DIR
entry is ``.`` of the root (node = parent = root), the second ``..`` of the
root; then every entry of every directory, parent = the directory's node.
Nodes are dump inode numbers; ``fh_info`` of a node is the byte offset of its
header in the image (the offset map), which a direct access recovery gives
back to find the file.
"""
from __future__ import annotations

import logging
import queue
import stat
import threading
from collections.abc import Callable
from typing import Any

from ..constants import FileType, FsType
from ..constants import MessageCode as M
from ..messages import fh

__all__ = ["BATCH", "FileHistory", "file_stat"]

log = logging.getLogger("ndmp.dump")

BATCH = 1024                  # entries a message
MAX_QUEUED = 16               # batches waiting before the dump thread waits

_FTYPE = {
    stat.S_IFDIR: FileType.NDMP_FILE_DIR, stat.S_IFREG: FileType.NDMP_FILE_REG,
    stat.S_IFLNK: FileType.NDMP_FILE_SLINK, stat.S_IFIFO: FileType.NDMP_FILE_FIFO,
    stat.S_IFCHR: FileType.NDMP_FILE_CSPEC, stat.S_IFBLK: FileType.NDMP_FILE_BSPEC,
    stat.S_IFSOCK: FileType.NDMP_FILE_SOCK,
}
_U32 = 0xFFFFFFFF


def file_stat(mode: int, uid: int, gid: int, size: int, nlink: int,
              atime: int, mtime: int, ctime: int) -> Any:
    """An ndmp_file_stat of a UNIX file (times in seconds)."""
    return fh.FileStat(
        unsupported=0, fs_type=FsType.NDMP_FS_UNIX,
        ftype=_FTYPE.get(stat.S_IFMT(mode), FileType.NDMP_FILE_OTHER),
        mtime=mtime & _U32, atime=atime & _U32, ctime=ctime & _U32, owner=uid & _U32,
        group=gid & _U32, fattr=stat.S_IMODE(mode), size=size, links=nlink & _U32)


def _unix_name(name: bytes) -> Any:
    return fh.FileName(fs_type=FsType.NDMP_FS_UNIX, unix_name=name)


_STOP = object()


class FileHistory:
    """Batches FH entries for ``post(code, body)``; :meth:`close` sends the rest and
    waits for the poster."""

    def __init__(self, post: Callable[[int, Any], None]):
        self._post = post
        self._dirs: list[Any] = []
        self._nodes: list[Any] = []
        self._queue: queue.Queue[Any] = queue.Queue(MAX_QUEUED)
        self._failed: BaseException | None = None
        self.sent = 0
        self._thread = threading.Thread(target=self._run, name="ndmp file history", daemon=True)
        self._thread.start()

    def add_dir(self, name: bytes, node: int, parent: int) -> None:
        self._dirs.append(fh.Dir(name=[_unix_name(name)], node=node, parent=parent))
        if len(self._dirs) >= BATCH:
            self._flush_dirs()

    def add_node(self, node: int, fh_info: int, fstat: Any) -> None:
        if self._dirs:
            # A node's directory entry goes first (NDMJOB files entries as they come).
            self._flush_dirs()
        self._nodes.append(fh.Node(stats=[fstat], node=node, fh_info=fh_info))
        if len(self._nodes) >= BATCH:
            self._flush_nodes()

    def flush(self) -> None:
        self._flush_dirs()
        self._flush_nodes()

    def close(self, timeout: float | None = None) -> None:
        self.flush()
        self._put(_STOP)
        self._thread.join(timeout)

    def abandon(self) -> None:
        """Stop posting (abort): drop what waits."""
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._put(_STOP)

    def _flush_dirs(self) -> None:
        if self._dirs:
            self._put((M.NDMP_FH_ADD_DIR, fh.FhAddDirPost(dirs=self._dirs)))
            self._dirs = []

    def _flush_nodes(self) -> None:
        if self._nodes:
            self._put((M.NDMP_FH_ADD_NODE, fh.FhAddNodePost(nodes=self._nodes)))
            self._nodes = []

    def _put(self, item: Any) -> None:
        if self._failed is not None and item is not _STOP:
            return
        self._queue.put(item)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            if self._failed is not None:
                continue
            code, body = item
            try:
                self._post(code, body)
                self.sent += len(body.dirs if code == M.NDMP_FH_ADD_DIR else body.nodes)
            except Exception as e:       # noqa: BLE001 - the control connection is gone: the DATA service halts us
                self._failed = e
                log.warning("file history: cannot post to the DMA: %s", e)

