"""The backup types this server offers (CONFIG_GET_BUTYPE_INFO): dump and smtape.

Default environments are the seed's "Environment variables supported for dump
and SMTape", "... for dump" and "... for SMTape" tables: every variable with a
default value, with that value.  Variables whose default is "none" or that the
server returns (``return_only``/``return_value``: NDMP_VERSION, DUMP_DATE,
ACL_START, PATHNAME_SEPARATOR) are not defaults and are left out.

Attributes say what each engine does (the engines come in later issues and must
keep these in step): dump restores file lists and single files directly (DAR,
from the offset map), runs incrementals (LEVEL/UPDATE and BASE_DATE), writes
UTF-8 names and directory-based file history (FH_ADD_DIR / FH_ADD_NODE, as a
Unix dump does), and recovers from file history; SMTape images whole volumes,
incrementally from a base Snapshot copy, without file history ("SM Tape does
not support file history").
"""
from __future__ import annotations

from dataclasses import dataclass

from .constants import ButypeAttr as A

__all__ = ["BUTYPES", "Butype"]


@dataclass(frozen=True)
class Butype:
    name: str
    default_env: tuple[tuple[str, str], ...]
    attrs: int


_COMMON = (("DEBUG", "N"), ("VERBOSE", "N"))

DUMP = Butype(
    "dump",
    (("TYPE", "dump"), *_COMMON,
     ("BASE_DATE", "-1"), ("DIRECT", "N"), ("ENHANCED_DAR_ENABLED", "N"), ("EXTRACT", "N"),
     ("EXTRACT_ACL", "Y"), ("FORCE", "N"), ("HIST", "N"), ("IGNORE_CTIME", "N"), ("IGNORE_QTREES", "N"),
     ("LEVEL", "0"), ("LIST", "N"), ("LIST_QTREES", "N"), ("NDMP_UNICODE_FH", "N"), ("NO_ACLS", "N"),
     ("NON_QUOTA_TREE", "N"), ("NOWRITE", "N"), ("RECURSIVE", "Y"), ("RECOVER_FULL_PATHS", "N"),
     ("UPDATE", "Y")),
    int(A.NDMP_BUTYPE_RECOVER_FILELIST | A.NDMP_BUTYPE_BACKUP_DIRECT | A.NDMP_BUTYPE_RECOVER_DIRECT
        | A.NDMP_BUTYPE_BACKUP_INCREMENTAL | A.NDMP_BUTYPE_RECOVER_INCREMENTAL
        | A.NDMP_BUTYPE_BACKUP_UTF8 | A.NDMP_BUTYPE_RECOVER_UTF8
        | A.NDMP_BUTYPE_BACKUP_FH_DIR | A.NDMP_BUTYPE_RECOVER_FILEHIST),
)

SMTAPE = Butype(
    "smtape",
    (("TYPE", "smtape"), *_COMMON,
     ("BASE_DATE", "-1"), ("SMTAPE_DELETE_SNAPSHOT", "N"), ("SMTAPE_BREAK_MIRROR", "N")),
    int(A.NDMP_BUTYPE_BACKUP_INCREMENTAL | A.NDMP_BUTYPE_RECOVER_INCREMENTAL),
)

BUTYPES: tuple[Butype, ...] = (DUMP, SMTAPE)
