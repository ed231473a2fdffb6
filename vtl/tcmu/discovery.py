"""Finding our TCMU UIO devices, and hearing when they come and go (pyudev).

The kernel creates a UIO device when a user backstore is enabled in configfs
and removes it when the backstore is deleted; no netlink conversation is
needed for that.  udev already tracks both, so we ask it: a listing at start
(``list_devices(subsystem="uio")``, attribute ``name``) and a monitor for
``add``/``remove`` events afterwards.  Only names under ``tcm-user/`` are ours.

This can only be exercised against a real kernel; the logic worth testing
without one (recognising a device from its name) is in :func:`to_uio` and
:func:`vtl.tcmu.uio.parse_name`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyudev

from .uio import TcmuName, parse_name


@dataclass(frozen=True)
class UioEntry:
    number: int
    """N of ``/dev/uioN``."""
    node: str
    """The device node, ``/dev/uioN``."""
    name: TcmuName | None
    """None on a remove event: the sysfs attributes are gone by then."""


@dataclass(frozen=True)
class UioEvent:
    action: str
    """``add`` or ``remove`` (udev's other actions are not reported)."""
    entry: UioEntry


def to_uio(device: Any) -> UioEntry | None:
    """A pyudev device -> UioEntry if it is a TCMU ring, else None.

    Duck-typed on ``sys_name``, ``device_node`` and ``attributes.asstring('name')`` so
    that it can be tested without udev.
    """
    sys_name = getattr(device, "sys_name", "") or ""
    if not sys_name.startswith("uio") or not sys_name[3:].isdigit():
        return None
    number = int(sys_name[3:])
    node = getattr(device, "device_node", None) or f"/dev/{sys_name}"
    try:
        raw = device.attributes.asstring("name")
    except (KeyError, OSError, AttributeError):
        return None
    name = parse_name(raw)
    if name is None:
        return None
    return UioEntry(number, node, name)


def list_tcmu(context: pyudev.Context | None = None) -> list[UioEntry]:
    """Every TCMU UIO device present now, by number."""
    ctx = context or pyudev.Context()
    found = [e for e in (to_uio(d) for d in ctx.list_devices(subsystem="uio")) if e is not None]
    return sorted(found, key=lambda e: e.number)


class UioMonitor:
    """udev add/remove events for UIO devices; ``fileno()`` fits a poll loop.

    Remove events cannot be filtered by name (sysfs is gone), so they are reported
    for every UIO device with ``name=None``; match them by number against what you
    attached.
    """

    def __init__(self, context: pyudev.Context | None = None):
        self._monitor = pyudev.Monitor.from_netlink(context or pyudev.Context())
        self._monitor.filter_by("uio")

    def start(self) -> None:
        self._monitor.start()

    def fileno(self) -> int:
        return self._monitor.fileno()

    def poll(self, timeout: float | None = 0) -> UioEvent | None:
        """The next add or remove event within ``timeout`` seconds, else None."""
        device = self._monitor.poll(timeout)
        while device is not None:
            event = self._event(device)
            if event is not None:
                return event
            device = self._monitor.poll(0)
        return None

    @staticmethod
    def _event(device: Any) -> UioEvent | None:
        action = device.action
        if action == "add":
            entry = to_uio(device)
            return UioEvent("add", entry) if entry is not None else None
        if action == "remove":
            sys_name = device.sys_name
            if sys_name.startswith("uio") and sys_name[3:].isdigit():
                return UioEvent("remove", UioEntry(int(sys_name[3:]), f"/dev/{sys_name}", None))
        return None
