"""The file-backed cartridge: a directory holding a label file and, per
partition, a record table, a payload file and an index (partition.py).

    <dir>/cartridge.json          label: media, barcode, partitions, flags, MAM
    <dir>/p0.rec p0.dat p0.idx    partition 0: headers, payloads, index
    <dir>/p1.rec p1.dat p1.idx    ...

A cartridge is opened by one drive at a time (an exclusive lock), as a real
cartridge is in one drive.  It knows tape semantics of records and positions;
it knows nothing of SCSI.
"""
from __future__ import annotations

import errno
import fcntl
import logging
import os
import re
import time
import uuid

from . import mam
from .errors import CartridgeError, InUse, WormOverwrite, WriteProtected
from .files import READ_ONLY_ERRNOS
from .media import MediaType, media_for_barcode, media_type
from .meta import FORMAT_VERSION, META_NAME, Meta, PartitionMeta, write_atomically
from .partition import Partition
from .upgrade import upgrade

MIB = 1024 * 1024
log = logging.getLogger(__name__)


def default_early_warning(capacity: int) -> int:
    """Early-warning zone: about 1% of the partition, at least 1 MiB, at most 4 GiB."""
    return max(MIB, min(capacity // 100, 4 * 1024 * MIB))


class Cartridge:
    def __init__(self, path: str, meta: Meta, lock_fd: int, read_only: bool = False):
        self.path = path
        self.meta = meta
        self._lock_fd = lock_fd
        self.read_only = read_only
        """Its files cannot be written (a read-only file system, or permissions): every
        record reads, nothing on the host changes, and a drive sees it write-protected."""
        self.media: MediaType = media_type(meta.media)
        self.partitions: list[Partition] = []
        try:
            for i, p in enumerate(meta.partitions):
                self.partitions.append(Partition(path, i, p.capacity, meta.early_warning, read_only))
        except OSError as e:
            for part in self.partitions:
                part.close()
            os.close(lock_fd)
            if not read_only and e.errno in READ_ONLY_ERRNOS:
                raise _ReadOnly() from None
            raise CartridgeError(f"{e.filename or path}: cannot open this file of cartridge {meta.barcode}: "
                                 f"{e.strerror}. Fix: make it a regular file that vtl can "
                                 f"{'read' if read_only else 'read and write'}.") from None
        self.active = self.partitions[0]
        self._dirty = False
        self._written = 0  # host bytes not yet folded into the MiB counters
        self._wrote = False  # anything written since the last sync point
        self._read = 0

    # -- making and opening --------------------------------------------------------
    @classmethod
    def create(cls, path: str, media: str | MediaType | None = None, barcode: str | None = None, *,
               capacity: int | None = None, early_warning: int | None = None,
               write_protected: bool = False, durable: bool = True) -> "Cartridge":
        """Make a blank cartridge directory.  ``capacity`` makes a small test cartridge;
        ``durable=False`` skips the fsyncs for a caller that syncs many cartridges at once."""
        if barcode is None:
            barcode = os.path.basename(os.path.normpath(path))
        if media is None:
            media = media_for_barcode(barcode) or media_type("LTO8")
        mt = media if isinstance(media, MediaType) else media_type(media)
        if os.path.exists(os.path.join(path, META_NAME)):
            raise CartridgeError(f"{path}: a cartridge already exists here. "
                                 "Fix: choose another path, or erase the existing cartridge.")
        cap = capacity if capacity is not None else mt.capacity
        if cap <= 0 and not mt.cleaning:
            raise CartridgeError(f"{path}: capacity must be positive, not {cap}")
        meta = Meta(barcode=barcode, media=mt.name, partitions=[PartitionMeta(cap)],
                    early_warning=early_warning if early_warning is not None else default_early_warning(cap),
                    write_protected=write_protected, nominal_capacity=cap,
                    cleaning_uses_left=50 if mt.cleaning else 0)
        _init_mam(meta, mt)
        try:
            os.makedirs(path, exist_ok=True)
            write_atomically(path, META_NAME, meta.to_json(), durable=durable)
        except OSError as e:
            raise CartridgeError(f"{e.filename or path}: cannot make the cartridge there: {e.strerror}. "
                                 "Fix: choose a writable directory with room for it.") from None
        return cls.open(path)

    @classmethod
    def open(cls, path: str, read_only: bool | None = None) -> "Cartridge":
        """Open the cartridge in ``path`` for one drive or tool at a time.

        ``read_only=None`` opens it for writing where its files can be written and
        read-only where they cannot (a read-only mount of archived cartridges must
        still read); True never writes anything; False refuses a read-only one.
        """
        label = os.path.join(path, META_NAME)
        try:
            with open(label, "rb") as f:
                text = f.read()
        except (FileNotFoundError, NotADirectoryError):
            raise CartridgeError(f"{path}: no cartridge here ({META_NAME} is missing). "
                                 "Fix: create it with `vtl cartridge create`.") from None
        except OSError as e:
            raise CartridgeError(f"{label}: cannot read the cartridge label: {e.strerror}. "
                                 "Fix: make it a readable file.") from None
        meta = Meta.from_json(text, label)
        if not read_only:
            try:
                return cls(path, meta, _upgraded(path, meta, _lock(path, meta.barcode, writable=True)))
            except _ReadOnly:
                if read_only is False:
                    raise CartridgeError(f"{path}: the files of cartridge {meta.barcode} cannot be "
                                         "written (a read-only file system, or permissions). Fix: "
                                         "make the directory and its files writable.") from None
            log.info("cartridge %s: its files cannot be written; opened read-only "
                     "(write-protected)", meta.barcode)
        lock_fd = _lock(path, meta.barcode, writable=False)
        if meta.format != FORMAT_VERSION:
            os.close(lock_fd)
            raise CartridgeError(f"{path}: cartridge {meta.barcode} is in format {meta.format}, which vtl "
                                 f"rewrites in format {FORMAT_VERSION} when it opens it for writing, and here "
                                 "it is opened only for reading. Fix: open it once for writing (`vtl "
                                 "cartridge info` does), with its directory and files writable.")
        return cls(path, meta, lock_fd, read_only=True)

    @staticmethod
    def remove(path: str) -> list[str]:
        """Delete the cartridge in ``path`` for good: its own files, then the directory if
        nothing else is in it (other files are the operator's: they stay, and their names
        are returned).  Refused while a drive or tool has it open.  A directory that is
        already gone is nothing to do."""
        if not os.path.isdir(path):
            return []
        barcode = os.path.basename(os.path.normpath(path))
        try:
            fd = _lock(path, barcode, writable=True)
        except _ReadOnly:
            raise CartridgeError(f"{path}: cartridge {barcode} cannot be deleted: its files cannot be "
                                 "written (a read-only file system, or permissions).") from None
        try:
            for name in sorted(os.listdir(path)):
                if _OWN_FILE.fullmatch(name):
                    os.unlink(os.path.join(path, name))
            os.unlink(os.path.join(path, "lock"))
        except OSError as e:
            raise CartridgeError(f"{e.filename or path}: cannot delete this file of cartridge {barcode}: "
                                 f"{e.strerror}.") from None
        finally:
            os.close(fd)
        left = sorted(os.listdir(path))
        if not left:
            os.rmdir(path)
        return left

    # -- identity and flags -----------------------------------------------------------
    @property
    def barcode(self) -> str:
        return self.meta.barcode

    @property
    def worm(self) -> bool:
        return self.media.worm

    @property
    def cleaning(self) -> bool:
        return self.media.cleaning

    @property
    def write_protected(self) -> bool:
        """The tab, or files that cannot be written: either way a drive cannot write."""
        return self.meta.write_protected or self.read_only

    @write_protected.setter
    def write_protected(self, value: bool) -> None:
        if self.read_only:
            raise CartridgeError(f"{self.path}: cartridge {self.barcode} is read-only (its files "
                                 "cannot be written), so its write-protect tab cannot be changed. "
                                 "Fix: make the directory and its files writable.")
        self.meta.write_protected = bool(value)
        self._save()

    @property
    def density(self) -> int | None:
        """Density the cartridge was written at from BOT (None while blank)."""
        return self.meta.density

    @property
    def capacity(self) -> int:
        return sum(p.capacity for p in self.partitions)

    @property
    def blank(self) -> bool:
        return all(p.eod == 0 and not p.damaged for p in self.partitions)

    # -- partitions -----------------------------------------------------------------
    def select(self, number: int) -> Partition:
        if not 0 <= number < len(self.partitions):
            raise ValueError(f"partition {number} does not exist (0..{len(self.partitions) - 1})")
        self.active = self.partitions[number]
        return self.active

    def format(self, sizes: list[int] | None = None, total: int | None = None) -> None:
        """Erase the whole cartridge and lay out partitions of ``sizes`` bytes.

        ``None`` means one partition of the whole capacity.  WORM media that
        hold data cannot be formatted.
        """
        self.check_writable(overwrite=not self.blank)
        total = total or self.capacity
        sizes = sizes or [total]
        if len(sizes) > max(1, self.media.max_partitions):
            raise CartridgeError(f"{self.media.name} media support at most {self.media.max_partitions} partitions")
        if sum(sizes) > total or min(sizes) <= 0:
            raise CartridgeError(f"partition sizes {sizes} do not fit a {total}-byte cartridge")
        for p in self.partitions:
            p.erase_all()
            p.close()
        for i in range(len(sizes), len(self.partitions)):
            for suffix in ("rec", "dat", "idx"):
                try:
                    os.unlink(os.path.join(self.path, f"p{i}.{suffix}"))
                except FileNotFoundError:
                    pass
        self.meta.partitions = [PartitionMeta(s) for s in sizes]
        self.meta.density = None
        self.partitions = [Partition(self.path, i, s, self.meta.early_warning) for i, s in enumerate(sizes)]
        self.active = self.partitions[0]
        self.mam_set_int(0x0007, self.mam_int(0x0007) + 1)
        self._save()

    @property
    def nominal_capacity(self) -> int:
        return self.meta.nominal_capacity or self.capacity

    def set_capacity(self, capacity: int) -> None:
        """SET CAPACITY: erase and shorten the medium to one partition of ``capacity`` bytes."""
        if not 0 < capacity <= self.nominal_capacity:
            raise CartridgeError(f"capacity {capacity} is outside 1..{self.nominal_capacity}")
        self.format([capacity], total=self.nominal_capacity)

    # -- writing rules -----------------------------------------------------------------
    def check_writable(self, overwrite: bool) -> None:
        if self.read_only:
            raise WriteProtected(f"cartridge {self.barcode} is read-only: its files cannot be written")
        if self.write_protected:
            raise WriteProtected(f"cartridge {self.barcode} is write-protected")
        if self.worm and overwrite:
            raise WormOverwrite(f"cartridge {self.barcode} is WORM: data already written cannot be overwritten")

    def note_density(self, code: int) -> None:
        """Record the density when partition 0 is written from BOT."""
        if self.meta.density != code:
            self.meta.density = code
            self.mam_set(0x0006, bytes([code]))
            self._save(required=False)

    # -- counters and MAM ------------------------------------------------------------
    def count_written(self, nbytes: int) -> None:
        self._written += nbytes
        self._wrote = True

    def count_read(self, nbytes: int) -> None:
        self._read += nbytes

    def note_load(self, device_id: str) -> None:
        """A drive threaded the tape: load count, device history, per-load totals reset."""
        self.mam_set_int(0x0003, self.mam_int(0x0003) + 1)
        for newer, older in ((0x020D, 0x020C), (0x020C, 0x020B), (0x020B, 0x020A)):
            if self.mam_get(older) is not None:
                self.mam_set(newer, self.mam_get(older))
        self.mam_set(0x020A, mam.ascii_value(device_id, 40))
        self.mam_set_int(0x0222, 0)
        self.mam_set_int(0x0223, 0)
        self._save(required=False)

    def mam_get(self, attr_id: int) -> bytes | None:
        v = self.meta.mam.get(f"0x{attr_id:04X}")
        return bytes.fromhex(v) if v is not None else None

    def mam_set(self, attr_id: int, value: bytes | None) -> None:
        key = f"0x{attr_id:04X}"
        if value is None:
            self.meta.mam.pop(key, None)
        else:
            self.meta.mam[key] = value.hex()
        self._dirty = True

    def mam_int(self, attr_id: int) -> int:
        v = self.mam_get(attr_id)
        return int.from_bytes(v, "big") if v else 0

    def mam_set_int(self, attr_id: int, value: int) -> None:
        self.mam_set(attr_id, mam.binary_value(value, mam.lookup(attr_id).length))

    def mam_ids(self) -> list[int]:
        return sorted(int(k, 16) for k in self.meta.mam)

    def mam_used(self) -> int:
        return sum(5 + len(v) // 2 for v in self.meta.mam.values())

    def _fold_counters(self) -> None:
        if self._wrote:
            stamp = mam.ascii_value(time.strftime("%Y%m%d%H%M"), 12)
            if self.mam_get(0x0804) != stamp:   # minute resolution: rewrite the label once a minute at most
                self.mam_set(0x0804, stamp)
            self._wrote = False
        if self._written or self._read:
            mib_w, mib_r = self._written // MIB, self._read // MIB
            if mib_w:
                self.mam_set_int(0x0220, self.mam_int(0x0220) + mib_w)
                self.mam_set_int(0x0222, self.mam_int(0x0222) + mib_w)
                self._written -= mib_w * MIB
            if mib_r:
                self.mam_set_int(0x0221, self.mam_int(0x0221) + mib_r)
                self.mam_set_int(0x0223, self.mam_int(0x0223) + mib_r)
                self._read -= mib_r * MIB

    # -- durability --------------------------------------------------------------------
    def _save(self, required: bool = True) -> None:
        """Write the label.  Counters and history are not worth failing a sync point or a
        load for (``required=False``: they stay unsaved and are tried again at the next
        sync point); a change the operator asked for is.  A read-only cartridge keeps
        its changes in memory: they last as long as it is open, like a drive's cache."""
        if self.read_only:
            self._dirty = False
            if required:
                raise CartridgeError(f"{self.path}: cartridge {self.barcode} is read-only (its files "
                                     "cannot be written). Fix: make the directory and its files "
                                     "writable.")
            return
        try:
            write_atomically(self.path, META_NAME, self.meta.to_json())
        except OSError as e:
            self._dirty = True
            if required:
                raise CartridgeError(f"{self.path}: cannot save the cartridge label: {e.strerror}. "
                                     "Fix: make room on its file system.") from None
            log.warning("cartridge %s: label not saved (%s); its counters are saved at the next "
                        "sync point", self.barcode, e.strerror)
            return
        self._dirty = False

    def flush(self) -> None:
        """A sync point: every record written so far survives a crash or power loss."""
        for p in self.partitions:
            p.sync()
        self._fold_counters()
        if self._dirty:
            self._save(required=False)

    def close(self) -> None:
        self.flush()
        for p in self.partitions:
            p.close()
        os.close(self._lock_fd)
        self._lock_fd = -1

    def __enter__(self) -> "Cartridge":
        return self

    def __exit__(self, *exc) -> None:
        if self._lock_fd >= 0:
            self.close()

    def __repr__(self) -> str:
        return f"Cartridge({self.barcode!r}, {self.media.name}, {self.path!r})"


_OWN_FILE = re.compile(rf"{re.escape(META_NAME)}|\.{re.escape(META_NAME)}\.tmp|p\d+\.(rec|dat|idx|log)")
"""The files a cartridge is made of (besides its lock, which goes last)."""


def _upgraded(path: str, meta: Meta, lock_fd: int) -> int:
    """Rewrite a cartridge of an earlier format, holding its lock (upgrade.py)."""
    if meta.format == FORMAT_VERSION:
        return lock_fd
    try:
        upgrade(path, meta)
    except OSError as e:
        os.close(lock_fd)
        if e.errno in READ_ONLY_ERRNOS:
            raise _ReadOnly() from None
        raise CartridgeError(f"{e.filename or path}: cannot rewrite cartridge {meta.barcode} in format "
                             f"{FORMAT_VERSION}: {e.strerror}. Fix: make room on its file system; "
                             "its records are untouched until the rewrite is done.") from None
    except BaseException:
        os.close(lock_fd)
        raise
    return lock_fd


class _ReadOnly(Exception):
    """Opening for writing failed only because the files cannot be written."""


def _lock(path: str, barcode: str, writable: bool) -> int:
    """Take the cartridge's exclusive lock: one drive or tool at a time.

    A writable cartridge locks its ``lock`` file, creating it.  A read-only one locks
    that file if it has one (so a writer elsewhere with other permissions still
    excludes it), else its directory: nobody can create the file there, so nobody
    can be writing.
    """
    name = os.path.join(path, "lock")
    try:
        if writable:
            fd = os.open(name, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        else:
            try:
                fd = os.open(name, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as e:
        if writable and e.errno in READ_ONLY_ERRNOS:
            raise _ReadOnly() from None
        raise CartridgeError(f"{path}: cannot open the cartridge's lock file: {e.strerror}. "
                             "Fix: make \"lock\" in the cartridge directory a plain file.") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno != errno.EBADF:        # NFS emulates flock with write locks
                raise
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise InUse(f"{path}: cartridge {barcode} is in use by another drive or "
                    "process. Fix: unload it there first.") from None
    except OSError as e:
        os.close(fd)
        raise CartridgeError(f"{path}: cannot lock cartridge {barcode}: {e.strerror}.") from None
    return fd


def _init_mam(meta: Meta, mt: MediaType) -> None:
    def put(attr_id: int, value: bytes) -> None:
        meta.mam[f"0x{attr_id:04X}"] = value.hex()

    a = mam.ascii_value
    b = mam.binary_value
    put(0x0400, a("VTL", 8))
    put(0x0401, a(uuid.uuid4().hex[:16].upper(), 32))
    put(0x0402, b(1035 if mt.family == "LTO" else 1107, 4))   # metres of tape
    put(0x0403, b(127, 4))                                    # 12.7 mm, in tenths of mm
    put(0x0404, a("LTO-CVE" if mt.family == "LTO" else "STK", 8))
    put(0x0405, b(mt.density.code if mt.density else 0, 1))
    put(0x0406, a(time.strftime("%Y%m%d"), 8))
    put(0x0407, b(mam.MAM_CAPACITY, 8))
    put(0x0408, b(0x01 if mt.cleaning else (0x80 if mt.worm else 0x00), 1))
    put(0x0409, b(50 if mt.cleaning else 0, 2))
    put(0x0806, a(meta.barcode, 32))
    put(0x0003, b(0, 8))
    put(0x0007, b(0, 2))
    put(0x0220, b(0, 8))
    put(0x0221, b(0, 8))

