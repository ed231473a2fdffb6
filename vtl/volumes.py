"""Volumes: the host directories the NDMP DATA service may back up and restore.

A DMA names data with the seed's paths, ``/vserver_name/volume_name[/path]``; a
volume maps one ``/vserver_name/volume_name`` to a directory of this machine.
Nothing of the host is reachable through NDMP unless it is a volume.  Volumes come
from two places:

* the configuration file, one ``[[volume]]`` table each::

      [[volume]]
      name = "/vs1/vol1"          # /vserver_name/volume_name
      path = "/srv/data"          # relative paths start at the configuration's directory
      read_only = false           # true: backups only, no restore into it
      snapshot = "auto"           # auto | btrfs | reflink | copy (see ndmp.snapshot)

* `vtl volume create /VSERVER/VOLUME --path DIR` on a running daemon, kept in the
  state store's ``settings`` table (scope ``volume``, one row per volume, the value a
  JSON object): a run-time change that outlives the daemon, which is what that table
  is for, so the store needs no schema change.  `vtl volume delete` forgets one; the
  directory itself is never touched.

A name is defined once: a created volume cannot take a configured volume's name,
and a configured volume added to the file later hides a created one of the same
name (the daemon logs it).  Volumes may not nest, because a backup of the outer one
would carry the inner one's ``.snapshot`` directory.

A volume whose directory is missing (a disk not mounted) stays listed, ``offline``,
and the DATA service refuses it with a sentence that says so.
"""
from __future__ import annotations

import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from ndmp.backend import Volume
from ndmp.snapshot import METHODS, SnapshotError, filesystem_type, probe_method

from .config import ConfigError, NodeConfig, SectionReader, short_value
from .store import Store

__all__ = ["SCOPE", "VolumeError", "VolumeSpec", "create_volume", "delete_volume", "describe",
           "name_problem", "ndmp_volume", "node_volumes", "volume_config"]

log = logging.getLogger("vtl.volumes")

#: The scope of created volumes in the state store's settings table.
SCOPE = "volume"

_KEYS = ("name", "path", "read_only", "snapshot")
#: An SVM (vserver) name: letters, digits, ".", "_" and "-", up to 47 characters.
_VSERVER = re.compile(r"[A-Za-z_][A-Za-z0-9._-]{0,46}", re.ASCII)
#: An ONTAP volume name: a letter or "_", then letters, digits and "_", up to 203 characters.
_VOLUME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,202}", re.ASCII)
_EXAMPLES = {
    "name": 'name = "/vs1/vol1"',
    "path": 'path = "/srv/data"',
    "read_only": "read_only = false",
    "snapshot": 'snapshot = "auto"',
}
_LOCK = threading.Lock()           # create and delete: a name check and its insert at once
_shadowed: set[str] = set()        # created volumes hidden by the configuration, logged once


class VolumeError(Exception):
    """A volume request the node refuses; the message is one sentence with the fix."""


@dataclass(frozen=True)
class VolumeSpec:
    """One volume: its NDMP name, its host directory, and where it was defined
    (``config``: the configuration file; ``cli``: `vtl volume create`)."""

    name: str
    path: Path
    read_only: bool = False
    snapshot: str = "auto"
    source: str = "config"
    created: float | None = None


def name_problem(name: Any) -> str | None:
    """None if ``name`` is a valid ``/vserver_name/volume_name``, else what is wrong with it."""
    if not isinstance(name, str) or not name:
        return "a volume name is /vserver_name/volume_name, like /vs1/vol1"
    parts = name.split("/")
    if len(parts) != 3 or parts[0] != "":
        return (f'"{name}" is not /vserver_name/volume_name: a volume name has exactly two parts, '
                "like /vs1/vol1")
    vserver, volume = parts[1], parts[2]
    if not _VSERVER.fullmatch(vserver):
        return (f'"{vserver}" cannot be a vserver name: use 1 to 47 letters, digits, ".", "_" and '
                '"-", starting with a letter or "_"')
    if not _VOLUME.fullmatch(volume):
        return (f'"{volume}" cannot be a volume name: use 1 to 203 letters, digits and "_", '
                'starting with a letter or "_"')
    return None


def _real(path: Path) -> str:
    return os.path.realpath(path)


def _nested(a: str, b: str) -> bool:
    """Whether real paths ``a`` and ``b`` are the same directory or one is inside the other."""
    return a == b or a.startswith(b.rstrip("/") + "/") or b.startswith(a.rstrip("/") + "/")


def own_files_problem(node: NodeConfig, directory: Path, read_only: bool) -> str | None:
    """Why a writable volume at ``directory`` would let a restore overwrite this node's own
    files (its state store, its control socket, a library's cartridges), or None.  Such a
    volume may still be read-only: backing the node's files up harms nothing."""
    if read_only:
        return None
    here = _real(directory)
    own = [("its state store", node.state), ("its control socket", node.socket)]
    own += [(f"the cartridges of library {lib.name}", lib.storage) for lib in node.libraries]
    for what, path in own:
        there = _real(Path(path))
        if there == here or there.startswith(here.rstrip("/") + "/") or (
                what.startswith("the cartridges") and here.startswith(there.rstrip("/") + "/")):
            return f"{directory} holds this node's own files ({what}, {path}), which a restore would overwrite"
    return None


# -- the [[volume]] tables ----------------------------------------------------------------------


class _Reader(SectionReader):
    def fail(self, where: tuple, message: str, fix: str) -> NoReturn:
        table = f"[[volume]] number {where[0] + 1}" if where and isinstance(where[0], int) else "[[volume]]"
        key = where[1] if len(where) > 1 else None
        raise ConfigError(self.label, message, fix, line=self.line_of(("volume", *where)), table=table,
                          key=key)

    def get(self, table: dict, index: int, key: str, kind: type, default: Any = None) -> Any:
        if key not in table:
            return default
        value = table[key]
        if isinstance(value, bool) != (kind is bool) or not isinstance(value, kind):
            wanted = {bool: "true or false", str: "a string in double quotes"}[kind]
            self.fail((index, key), f"{key} must be {wanted}, not {short_value(value)}.",
                      f"write it like {_EXAMPLES[key]}.")
        return value

    def read(self, data: Any) -> tuple[VolumeSpec, ...]:
        if data is None:
            return ()
        if isinstance(data, dict):
            self.fail((), "[volume] is a single table, but volumes are an array of tables.",
                      "write [[volume]] (with two brackets) for each volume.")
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            self.fail((), "volume must be an array of tables.",
                      f'write each volume as a [[volume]] table with {_EXAMPLES["name"]} and '
                      f'{_EXAMPLES["path"]}.')
        specs: list[VolumeSpec] = []
        names: dict[str, int] = {}
        for index, item in enumerate(data):
            spec = self.volume(index, item)
            if spec.name in names:
                self.fail((index, "name"), f"the volume {spec.name} is defined twice (also in [[volume]] "
                          f"number {names[spec.name] + 1}).", "give every volume one table.")
            names[spec.name] = index
            problem = own_files_problem(self.node, spec.path, spec.read_only)
            if problem:
                self.fail((index, "path"), f"{problem}.", "add read_only = true (backups only), or choose a "
                          "directory that does not hold them.")
            for other_index, other in enumerate(specs):
                if _nested(_real(spec.path), _real(other.path)):
                    self.fail((index, "path"), f"the directory {spec.path} of {spec.name} and the directory "
                              f"{other.path} of {other.name} ([[volume]] number {other_index + 1}) are the "
                              "same or one is inside the other.",
                              "give each volume a directory of its own, neither inside the other (a "
                              "backup of the outer one would carry the inner one's snapshots).")
            specs.append(spec)
        return tuple(specs)

    def volume(self, index: int, item: dict) -> VolumeSpec:
        for key in item:
            if key not in _KEYS:
                fix = (f"keys are lower case: write {key.lower()}." if key.lower() in _KEYS else
                       f"remove {key}; the keys of [[volume]] are {', '.join(_KEYS)}.")
                self.fail((index, key), f"{key} is not a key of [[volume]].", fix)
        for key in ("name", "path"):
            if key not in item:
                self.fail((index, key), f"{key} is missing; every volume has one.", f"add {_EXAMPLES[key]}.")
        name = self.get(item, index, "name", str)
        problem = name_problem(name)
        if problem:
            self.fail((index, "name"), f"{problem}.", f"write it like {_EXAMPLES['name']}.")
        text = self.get(item, index, "path", str)
        if not text.strip():
            self.fail((index, "path"), "path is empty.", f"write the host directory, like {_EXAMPLES['path']}.")
        path = Path(text).expanduser()
        path = Path(os.path.abspath(path if path.is_absolute() else self.base / path))
        read_only = self.get(item, index, "read_only", bool, False)
        method = self.get(item, index, "snapshot", str, "auto").strip().lower()
        if method not in METHODS:
            self.fail((index, "snapshot"), f'"{item["snapshot"]}" is not a snapshot method.',
                      "write auto (the best the filesystem offers), btrfs, reflink or copy.")
        return VolumeSpec(name, path, read_only, method, "config")


def volume_config(node: NodeConfig) -> tuple[VolumeSpec, ...]:
    """The configured volumes (``node.extra["volume"]``); ConfigError names the file, the
    table, the key and the fix.  No table, no volume: nothing is exposed by default."""
    return _Reader(node).read(node.extra.get("volume"))


# -- configured and created volumes ---------------------------------------------------------------


def _created(store: Store) -> list[VolumeSpec]:
    out = []
    for name, value in sorted(store.settings(SCOPE).items()):
        try:
            if name_problem(name) or not isinstance(value, dict) or not isinstance(value.get("path"), str):
                raise ValueError("not a volume")
            method = value.get("snapshot", "auto")
            if method not in METHODS:
                raise ValueError(f"unknown snapshot method {method!r}")
            out.append(VolumeSpec(name, Path(value["path"]), bool(value.get("read_only", False)), method, "cli",
                                  value.get("created")))
        except ValueError as e:
            log.warning("volume %s in the state store is damaged (%s); ignored (vtl volume delete %s "
                        "forgets it)", name, e, name)
    return out


def node_volumes(config: NodeConfig, store: Store) -> list[VolumeSpec]:
    """Every volume in effect: the configured ones, then the created ones (a created volume
    whose name the configuration has since taken is hidden, and logged)."""
    configured = list(volume_config(config))
    names = {v.name for v in configured}
    out = list(configured)
    for spec in _created(store):
        if spec.name in names:
            if spec.name not in _shadowed:
                _shadowed.add(spec.name)
                log.warning("volume %s is defined in %s and was also created with vtl volume create; "
                            "the configuration's wins", spec.name, config.source or "the configuration")
            continue
        out.append(spec)
    return out


def create_volume(config: NodeConfig, store: Store, name: str, path: str, *, read_only: bool = False,
                  snapshot: str = "auto") -> VolumeSpec:
    """Add a volume (kept in the state store); VolumeError says why not."""
    problem = name_problem(name)
    if problem:
        raise VolumeError(f"{problem[:1].upper()}{problem[1:]}.")
    method = (snapshot or "auto").strip().lower()
    if method not in METHODS:
        raise VolumeError(f'"{snapshot}" is not a snapshot method; use auto (the best the filesystem '
                          "offers), btrfs, reflink or copy.")
    if not isinstance(path, str) or not os.path.isabs(path):
        raise VolumeError(f"The volume's directory must be an absolute path, not {path!r}.")
    directory = Path(os.path.abspath(path))
    if not directory.exists():
        raise VolumeError(f"{directory} does not exist; create the directory first, or give the one to "
                          "expose as the volume.")
    if not directory.is_dir():
        raise VolumeError(f"{directory} is not a directory; a volume is a directory of this machine.")
    if method != "auto":
        try:
            probe_method(str(directory), method)
        except SnapshotError as e:
            raise VolumeError(f"--snapshot {method} cannot be used on {directory}: {e.reason}; use "
                              "--snapshot auto to take the best method there.") from None
    problem = own_files_problem(config, directory, read_only)
    if problem:
        raise VolumeError(f"{problem[:1].upper()}{problem[1:]}. Make it --read-only (backups only), or "
                          "choose a directory that does not hold them.")
    with _LOCK:
        existing = node_volumes(config, store)
        for spec in existing:
            if spec.name == name:
                where = "the configuration" if spec.source == "config" else "vtl volume create"
                raise VolumeError(f"The volume {name} already exists (from {where}, directory {spec.path}); "
                                  "choose another name, or `vtl volume delete` it first.")
        for spec in existing:
            if _nested(_real(directory), _real(spec.path)):
                raise VolumeError(f"{directory} and the directory {spec.path} of volume {spec.name} are the "
                                  "same or one is inside the other; volumes may not nest (a backup of the "
                                  "outer one would carry the inner one's snapshots).")
        created = time.time()
        store.save_settings(SCOPE, {name: {"path": str(directory), "read_only": bool(read_only),
                                           "snapshot": method, "created": created}})
    log.info("volume %s created: %s%s, snapshot %s", name, directory, " (read-only)" if read_only else "", method)
    return VolumeSpec(name, directory, bool(read_only), method, "cli", created)


def delete_volume(config: NodeConfig, store: Store, name: str) -> VolumeSpec:
    """Forget a created volume (its directory is left as it is); VolumeError says why not."""
    with _LOCK:
        saved = store.settings(SCOPE)
        if name in saved:                                # (a damaged entry is forgotten all the same)
            found = next((s for s in _created(store) if s.name == name), None)
            store.save_settings(SCOPE, {name: None})
            value = saved[name]
            path = value.get("path") if isinstance(value, dict) else None
            spec = found or VolumeSpec(name, Path(path if isinstance(path, str) else ""), source="cli")
            log.info("volume %s deleted (directory %s untouched)", name, spec.path)
            return spec
        for index, spec in enumerate(volume_config(config)):
            if spec.name == name:
                raise VolumeError(f"The volume {name} is defined in the configuration "
                                  f"({config.source or 'the configuration'}, [[volume]] number {index + 1}); "
                                  "remove that table and restart vtl serve.")
    problem = name_problem(name)
    known = ", ".join(v.name for v in node_volumes(config, store)) or "none"
    if problem:
        raise VolumeError(f"There is no volume {name!r}: {problem} (the volumes are: {known}).")
    raise VolumeError(f"There is no volume {name}; the volumes are: {known} (`vtl volume list`).")


# -- what NDMP and the operator see ---------------------------------------------------------------


def _statvfs(path: Path) -> os.statvfs_result | None:
    try:
        if not path.is_dir():
            return None
        return os.statvfs(path)
    except OSError:
        return None


def ndmp_volume(spec: VolumeSpec) -> Volume:
    """The volume as CONFIG_GET_FS_INFO reports it and the DATA service uses it: sizes and
    inode counts of its filesystem (statvfs), ``offline`` when its directory is missing."""
    fs = _statvfs(spec.path)
    if fs is None:
        return Volume(spec.name, fs_type="", physical_device=str(spec.path), status="offline",
                      host_path=str(spec.path), read_only=spec.read_only, snapshot=spec.snapshot)
    inodes = fs.f_files or None                       # btrfs: no fixed inode table
    return Volume(spec.name, fs_type=filesystem_type(str(spec.path)) or "unknown",
                  physical_device=str(spec.path),
                  total_size=fs.f_blocks * fs.f_frsize,
                  used_size=(fs.f_blocks - fs.f_bfree) * fs.f_frsize,
                  avail_size=fs.f_bavail * fs.f_frsize,
                  total_inodes=inodes,
                  used_inodes=None if inodes is None else fs.f_files - fs.f_ffree,
                  host_path=str(spec.path), read_only=spec.read_only, snapshot=spec.snapshot)


def describe(spec: VolumeSpec) -> dict[str, Any]:
    """One row of `vtl volume list`: the volume, its filesystem, and the snapshot method a
    backup would use there now (probed, leaving no trace)."""
    volume = ndmp_volume(spec)
    usable: str | None
    problem = None
    if volume.status != "online":
        usable, problem = None, f"{spec.path} is not a directory here"
    else:
        try:
            usable = probe_method(str(spec.path), spec.snapshot)
        except SnapshotError as e:
            usable, problem = None, e.reason
    return {
        "name": spec.name, "path": str(spec.path), "source": spec.source, "read_only": spec.read_only,
        "snapshot": spec.snapshot, "snapshot_usable": usable, "snapshot_problem": problem,
        "filesystem": volume.fs_type or None, "status": volume.status,
        "total_size": volume.total_size, "used_size": volume.used_size, "avail_size": volume.avail_size,
        "total_inodes": volume.total_inodes, "used_inodes": volume.used_inodes, "created": spec.created,
    }
