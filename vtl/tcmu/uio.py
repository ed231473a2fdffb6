"""Opening a TCMU backstore's UIO device: ``/dev/uioN`` and its sysfs attributes.

Each userspace backstore is a UIO device named
``tcm-user/<hba>/<device>/<config string>``; its map0 (size in
``maps/map0/size``) holds the mailbox, the command ring and the data area.
This module turns a number or a name into an open fd and a shared, writable
mapping of map0, and nothing more: the ring reads the mapping, the doorbell
uses the fd.  The sysfs and /dev roots are parameters so tests can point
them at a fake tree.
"""
from __future__ import annotations

import mmap
import os
from dataclasses import dataclass
from pathlib import Path

from .doorbell import UioDoorbell

SYSFS_UIO = "/sys/class/uio"
DEV = "/dev"
NAME_PREFIX = "tcm-user/"


@dataclass(frozen=True)
class TcmuName:
    """The parts of a TCMU UIO name: which LIO backstore this ring belongs to."""

    hba: str
    """The user HBA's number: ``1`` for configfs ``target/core/user_1``."""
    device: str
    """The backstore's name in configfs."""
    config: str
    """The ``dev_config`` string, handler prefix included (e.g. ``vtl/lib0/drive0``); may contain '/'."""

    def __str__(self) -> str:
        return f"{NAME_PREFIX}{self.hba}/{self.device}/{self.config}"


def parse_name(name: str) -> TcmuName | None:
    """``tcm-user/<hba>/<device>/<config>`` -> TcmuName; None for any other UIO device."""
    name = name.strip()
    if not name.startswith(NAME_PREFIX):
        return None
    parts = name[len(NAME_PREFIX):].split("/", 2)
    if len(parts) < 2 or not parts[0] or not parts[1]:
        return None
    return TcmuName(parts[0], parts[1], parts[2] if len(parts) == 3 else "")


def _number(which: int | str) -> int | None:
    if isinstance(which, int):
        return which
    if which.startswith("uio") and which[3:].isdigit():
        return int(which[3:])
    if which.isdigit():
        return int(which)
    return None


def read_name(number: int, sysfs: str = SYSFS_UIO) -> str:
    return Path(sysfs, f"uio{number}", "name").read_text().strip()


def read_map_size(number: int, sysfs: str = SYSFS_UIO, map_index: int = 0) -> int:
    """The size of ``mapN`` as sysfs states it (hexadecimal, ``0x40800000``)."""
    return int(Path(sysfs, f"uio{number}", "maps", f"map{map_index}", "size").read_text().strip(), 0)


def list_uio(sysfs: str = SYSFS_UIO) -> list[tuple[int, str]]:
    """(number, name) of every UIO device in sysfs, by number."""
    out = []
    try:
        entries = os.listdir(sysfs)
    except FileNotFoundError:
        return []
    for e in entries:
        n = _number(e)
        if n is None:
            continue
        try:
            out.append((n, read_name(n, sysfs)))
        except OSError:
            continue          # removed while we looked
    return sorted(out)


def find(name: str, sysfs: str = SYSFS_UIO) -> int:
    """The number of the UIO device called ``name``; FileNotFoundError if there is none."""
    for n, nm in list_uio(sysfs):
        if nm == name:
            return n
    raise FileNotFoundError(f"no UIO device named {name!r} in {sysfs}")


class UioDevice:
    """An open UIO device: the fd (for the doorbell) and map0 mapped shared and writable."""

    def __init__(self, number: int, name: str, fd: int, map: mmap.mmap):
        self.number = number
        self.name = name
        self.tcmu = parse_name(name)
        self.fd = fd
        self.map = map

    @classmethod
    def open(cls, which: int | str, *, sysfs: str = SYSFS_UIO, dev: str = DEV) -> "UioDevice":
        """Open ``which``: a number, ``"uioN"``, or a full UIO name (``tcm-user/...``)."""
        number = _number(which)
        if number is None:
            number = find(str(which), sysfs)
        name = read_name(number, sysfs)
        size = read_map_size(number, sysfs)
        fd = os.open(os.path.join(dev, f"uio{number}"), os.O_RDWR | os.O_CLOEXEC)
        try:
            m = mmap.mmap(fd, size, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ | mmap.PROT_WRITE,
                          offset=0)   # map N is at offset N * page size; map0 at 0
        except BaseException:
            os.close(fd)
            raise
        return cls(number, name, fd, m)

    @property
    def map_size(self) -> int:
        return len(self.map)

    def doorbell(self) -> UioDoorbell:
        return UioDoorbell(self.fd)

    def close(self) -> None:
        """Unmap and close.  If views of the map are still alive (a command in flight
        elsewhere), the mapping is left to the garbage collector rather than failing."""
        if self.map is not None:
            try:
                self.map.close()
            except BufferError:
                pass
            self.map = None  # type: ignore[assignment]
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> "UioDevice":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"UioDevice(uio{self.number}, {self.name!r}, {len(self.map) if self.map else 0} bytes)"
