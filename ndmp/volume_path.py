"""NDMP paths: which volume, where in it, and from which snapshot.

A DMA names what to back up or where to restore with the seed's path format
``/vserver_name/volume_name[/path]`` (FILESYSTEM= of a backup, the destination of a
restore).  :func:`resolve` turns it into the volume and a path *relative to the
volume's root*, so that nothing downstream joins a DMA's text to a host directory:
the relative part has no ``..``, no absolute part and no empty component, and the
volume must be one the node exposes (a :class:`~ndmp.backend.Volume` with a
``host_path``).

ONTAP lets a DMA back up from a named Snapshot copy through the volume's
``.snapshot`` directory (``FILESYSTEM=/vs1/vol1/.snapshot/nightly/dir``); such a path
resolves to the volume, the snapshot's name and the path inside the snapshot.
Whether the snapshot exists is for :func:`ndmp.snapshot.open_snapshot` to say, with
the seed's message.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .backend import Volume

__all__ = ["SNAPSHOT_DIR", "NoSuchPath", "ResolvedPath", "resolve"]

#: The directory at a volume's root that holds its snapshots (ONTAP's name).
SNAPSHOT_DIR = ".snapshot"


class NoSuchPath(Exception):
    """The path names no exposed volume, or cannot be a path inside one; ``str()`` names
    the path and says what to do."""


@dataclass(frozen=True)
class ResolvedPath:
    """An NDMP path taken apart.  ``relative`` is ``""`` (the volume's root, or the
    snapshot's) or ``"a/b"``; ``snapshot`` is the name of an existing snapshot the path
    went through (``.snapshot/NAME/...``), else None (the live volume)."""

    volume: Volume
    relative: str
    snapshot: str | None = None

    @property
    def components(self) -> tuple[str, ...]:
        return tuple(self.relative.split("/")) if self.relative else ()


def _components(path: str) -> list[str]:
    return [c for c in path.split("/") if c not in ("", ".")]


def resolve(volumes: Sequence[Volume], path: str) -> ResolvedPath:
    """The volume ``path`` is in (the longest volume name that is a prefix of it, component
    by component) and the rest of it; NoSuchPath when there is none or the path is not
    a plain path inside it."""
    if not isinstance(path, str) or not path.strip():
        raise NoSuchPath("The NDMP path is empty; name a volume as /vserver_name/volume_name[/path].")
    text = path.strip()
    if "\0" in text:
        raise NoSuchPath(f"The NDMP path {text!r} contains a NUL character; a path cannot.")
    if not text.startswith("/"):
        raise NoSuchPath(f"The NDMP path {text} is not absolute; write it as "
                         "/vserver_name/volume_name[/path].")
    parts = _components(text)
    if ".." in parts:
        raise NoSuchPath(f"The NDMP path {text} contains '..'; a path names a place inside a volume "
                         "without going up (write it as /vserver_name/volume_name[/path]).")
    best: Volume | None = None
    best_length = 0
    for volume in volumes:
        name = _components(volume.name)
        if name and len(name) > best_length and parts[:len(name)] == name:
            best, best_length = volume, len(name)
    if best is None:
        named = "/" + "/".join(parts[:2]) if parts else "/"
        known = sorted(v.name for v in volumes if v.host_path)
        listed = f" (the volumes are {', '.join(known[:8])}{', ...' if len(known) > 8 else ''})" \
            if known else " (none is)"
        raise NoSuchPath(f"No volume {named} is configured for the NDMP path {text}{listed}; "
                         "`vtl volume list` shows the volumes.")
    if not best.host_path:
        raise NoSuchPath(f"The volume {best.name} of the NDMP path {text} is not exposed to the DATA "
                         "service (it has no host directory).")
    if best.status != "online":
        raise NoSuchPath(f"The volume {best.name} of the NDMP path {text} is {best.status}: its host "
                         f"directory {best.host_path} cannot be used now.")
    rest = parts[best_length:]
    snapshot = None
    if rest and rest[0] == SNAPSHOT_DIR:
        if len(rest) < 2:
            raise NoSuchPath(f"The NDMP path {text} names the snapshot directory of {best.name} but no "
                             f"snapshot; write {best.name}/{SNAPSHOT_DIR}/NAME[/path].")
        snapshot, rest = rest[1], rest[2:]
    return ResolvedPath(best, "/".join(rest), snapshot)
