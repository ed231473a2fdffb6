"""The dump engine's environment variables (seed 002, "Environment variables
supported for dump"), read once into frozen option objects.

Every refusal is a :class:`~ndmp.engine.Refusal` whose text names the variable,
the value and what is allowed, because the DMA shows it to an administrator who
typed it with ``-E NAME=VALUE``: the operation does not start and nothing is
written.  Y/N variables also take T/F (the seed: "In most cases, variables that
have the value Y also accept T and N also accept F").
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..engine import Refusal
from .exclude import NOTHING_EXCLUDED, ExcludeList, parse_exclude

__all__ = [
    "MAX_LEVEL",
    "BackupOptions",
    "RestoreOptions",
    "backup_options",
    "join_dump_date",
    "restore_options",
    "split_base_date",
]

MAX_LEVEL = 31

_TRUE = {"Y", "T", "YES", "TRUE"}
_FALSE = {"N", "F", "NO", "FALSE"}


class _Env:
    """The DMA's list, looked up case-insensitively; the last occurrence wins."""

    def __init__(self, env: Sequence[tuple[str, str]]):
        self.values: dict[str, str] = {}
        for name, value in env:
            self.values[name.upper()] = value

    def text(self, name: str, default: str | None = None) -> str | None:
        return self.values.get(name, default)

    def flag(self, name: str, default: bool) -> bool:
        raw = self.values.get(name)
        if raw is None or raw.strip() == "":
            return default
        word = raw.strip().upper()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise Refusal(f"{name}={raw!r} is not valid: use Y or N (T and F are accepted too)")

    def integer(self, name: str, default: int) -> int:
        raw = self.values.get(name)
        if raw is None or raw.strip() == "":
            return default
        try:
            return int(raw.strip(), 0)
        except ValueError:
            raise Refusal(f"{name}={raw!r} is not a number") from None


def split_base_date(value: int) -> tuple[int, int]:
    """BASE_DATE / DUMP_DATE: the level in the high 32 bits, the time in the low 32."""
    return (value >> 32) & 0xFFFFFFFF, value & 0xFFFFFFFF


def join_dump_date(level: int, when: int) -> int:
    return (level << 32) | (when & 0xFFFFFFFF)


@dataclass(frozen=True)
class BackupOptions:
    filesystem: str
    level: int = 0
    update: bool = True
    hist: bool = False
    exclude: ExcludeList = NOTHING_EXCLUDED
    base_date: int | None = None        # BASE_DATE when not -1 (the BASE_DATE/DUMP_DATE chain)
    ignore_ctime: bool = False
    no_acls: bool = False
    non_quota_tree: bool = False
    subtrees: tuple[str, ...] = ()      # MULTI_SUBTREE_NAMES, relative to ``filesystem``
    dmp_name: str | None = None
    verbose: bool = False
    debug: bool = False
    unicode_fh: bool = False

    @property
    def excluded(self) -> ExcludeList:
        """The exclude list in force: none with NON_QUOTA_TREE (seed: names to be
        excluded are not excluded if NON_QUOTA_TREE is set as well)."""
        return NOTHING_EXCLUDED if self.non_quota_tree else self.exclude

    @property
    def chained(self) -> bool:
        """Incremental by BASE_DATE/DUMP_DATE rather than LEVEL/UPDATE."""
        return self.base_date is not None

    def described(self) -> str:
        """The Options event's text: every option that is in force."""
        parts = [f"FILESYSTEM={self.filesystem}", f"LEVEL={self.level}",
                 f"UPDATE={'Y' if self.update else 'N'}", f"HIST={'Y' if self.hist else 'N'}"]
        if self.base_date is not None:
            parts.append(f"BASE_DATE={self.base_date}")
        if self.exclude:
            parts.append(f"EXCLUDE={self.exclude.text}")
        for name, on in (("IGNORE_CTIME", self.ignore_ctime), ("NO_ACLS", self.no_acls),
                         ("NON_QUOTA_TREE", self.non_quota_tree), ("VERBOSE", self.verbose),
                         ("DEBUG", self.debug), ("NDMP_UNICODE_FH", self.unicode_fh)):
            if on:
                parts.append(f"{name}=Y")
        if self.subtrees:
            parts.append("MULTI_SUBTREE_NAMES=" + ":".join(self.subtrees))
        if self.dmp_name:
            parts.append(f"DMP_NAME={self.dmp_name}")
        return ", ".join(parts)


def _level(env: _Env) -> int:
    raw = env.text("LEVEL")
    if raw is None or raw.strip() == "":
        return 0
    try:
        level = int(raw.strip())
    except ValueError:
        raise Refusal(f"LEVEL={raw!r} is not valid: the level is a number from 0 to {MAX_LEVEL}") from None
    if not 0 <= level <= MAX_LEVEL:
        raise Refusal(f"LEVEL={level} is not valid: the level is a number from 0 to {MAX_LEVEL}")
    return level


def _subtrees(raw: str) -> tuple[str, tuple[str, ...]]:
    """MULTI_SUBTREE_NAMES: newline-separated, null-terminated, the common root last."""
    names = [n.strip() for n in raw.replace("\0", "\n").split("\n") if n.strip()]
    if len(names) < 2:
        raise Refusal("MULTI_SUBTREE_NAMES needs at least one subtree and, last, their common root")
    *subtrees, root = names
    for name in subtrees:
        parts = name.strip("/").split("/")
        if name.startswith("/") or any(p in ("", ".", "..") for p in parts):
            raise Refusal(f"MULTI_SUBTREE_NAMES: {name!r} must be a path relative to the common root {root!r}")
    return root, tuple(s.strip("/") for s in subtrees)


def backup_options(env: Sequence[tuple[str, str]]) -> BackupOptions:
    e = _Env(env)
    filesystem = e.text("FILESYSTEM")
    if not filesystem:
        raise Refusal("FILESYSTEM is not set: name the path to back up, e.g. /vserver1/vol1/dir1")
    kind = (e.text("TYPE") or "dump").strip().lower()
    if kind != "dump":
        raise Refusal(f"TYPE={kind!r} is not valid for the dump engine")
    level = _level(e)
    base_raw = e.text("BASE_DATE")
    base_date: int | None = None
    if base_raw is not None and base_raw.strip() not in ("", "-1"):
        try:
            base_date = int(base_raw.strip(), 0)
        except ValueError:
            raise Refusal(f"BASE_DATE={base_raw!r} is not valid: use -1, 0 or a DUMP_DATE value") from None
        if base_date < 0 or base_date > 0xFFFFFFFFFFFFFFFF:
            raise Refusal(f"BASE_DATE={base_raw!r} is not valid: use -1, 0 or a DUMP_DATE value")
        if base_date:
            base_level, _ = split_base_date(base_date)
            if base_level + 1 > MAX_LEVEL:
                raise Refusal(f"BASE_DATE={base_raw}: the next level would be {base_level + 1}, "
                              f"past the last level, {MAX_LEVEL}; start again with a level 0 (BASE_DATE=0)")
            level = base_level + 1
        else:
            level = 0
    subtrees: tuple[str, ...] = ()
    dmp_name = e.text("DMP_NAME")
    multi = e.text("MULTI_SUBTREE_NAMES")
    if multi is not None and multi.strip("\0\n "):
        if not dmp_name:
            raise Refusal("MULTI_SUBTREE_NAMES needs DMP_NAME: name this multiple subtree backup")
        root, subtrees = _subtrees(multi)
        if root.rstrip("/") != filesystem.rstrip("/"):
            # The common root is the last element; FILESYSTEM names the same place.
            filesystem = root
    non_quota_tree = e.flag("NON_QUOTA_TREE", False)
    if non_quota_tree and subtrees:
        raise Refusal("NON_QUOTA_TREE does not work with MULTI_SUBTREE_NAMES")
    if non_quota_tree and level:
        raise Refusal("NON_QUOTA_TREE works only on a level 0 backup")
    exclude = parse_exclude(e.text("EXCLUDE") or "")
    return BackupOptions(
        filesystem=filesystem, level=level, update=e.flag("UPDATE", True), hist=e.flag("HIST", False),
        exclude=exclude, base_date=base_date, ignore_ctime=e.flag("IGNORE_CTIME", False),
        no_acls=e.flag("NO_ACLS", False), non_quota_tree=non_quota_tree, subtrees=subtrees,
        dmp_name=dmp_name or None, verbose=e.flag("VERBOSE", False), debug=e.flag("DEBUG", False),
        unicode_fh=e.flag("NDMP_UNICODE_FH", False))


@dataclass(frozen=True)
class RestoreOptions:
    destination: str | None          # where a whole restore goes: PREFIX (NDMJOB's -C) or FILESYSTEM
    extract: str = "N"               # N, Y (named subtrees) or E (rename while restoring)
    direct: bool = False             # DIRECT: DAR with fh_info offsets
    enhanced_dar: bool = False       # ENHANCED_DAR_ENABLED: directory DAR
    recursive: bool = True
    recover_full_paths: bool = False
    list_only: bool = False          # LIST
    nowrite: bool = False
    force: bool = False
    extract_acl: bool = True
    acl_start: int | None = None
    verbose: bool = False
    debug: bool = False

    def described(self) -> str:
        parts = [f"EXTRACT={self.extract}", f"DIRECT={'Y' if self.direct else 'N'}"]
        for name, on in (("ENHANCED_DAR_ENABLED", self.enhanced_dar), ("LIST", self.list_only),
                         ("NOWRITE", self.nowrite), ("FORCE", self.force), ("VERBOSE", self.verbose),
                         ("RECOVER_FULL_PATHS", self.recover_full_paths)):
            if on:
                parts.append(f"{name}=Y")
        if not self.recursive:
            parts.append("RECURSIVE=N")
        if not self.extract_acl:
            parts.append("EXTRACT_ACL=N")
        if self.destination:
            parts.insert(0, f"FILESYSTEM={self.destination}")
        return ", ".join(parts)


def restore_options(env: Sequence[tuple[str, str]]) -> RestoreOptions:
    e = _Env(env)
    extract = (e.text("EXTRACT") or "N").strip().upper() or "N"
    extract = {"T": "Y", "F": "N"}.get(extract, extract)
    if extract not in ("Y", "N", "E"):
        raise Refusal(f"EXTRACT={extract!r} is not valid: use Y, N or E")
    direct = e.flag("DIRECT", False)
    enhanced = e.flag("ENHANCED_DAR_ENABLED", False)
    recursive = e.flag("RECURSIVE", True)
    full_paths = e.flag("RECOVER_FULL_PATHS", False)
    acl_start = e.integer("ACL_START", -1)
    return RestoreOptions(
        destination=e.text("PREFIX") or e.text("FILESYSTEM") or None, extract=extract, direct=direct, enhanced_dar=enhanced,
        recursive=recursive, recover_full_paths=full_paths, list_only=e.flag("LIST", False),
        nowrite=e.flag("NOWRITE", False), force=e.flag("FORCE", False),
        # The default is to restore ACLs, except for DARs (seed: EXTRACT_ACL).
        extract_acl=e.flag("EXTRACT_ACL", not direct),
        acl_start=acl_start if acl_start >= 0 else None,
        verbose=e.flag("VERBOSE", False), debug=e.flag("DEBUG", False))
