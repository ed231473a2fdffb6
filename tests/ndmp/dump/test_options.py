"""The dump environment: what each variable allows and how a bad one is refused."""
from __future__ import annotations

import pytest

from ndmp.dump.options import (
    backup_options,
    join_dump_date,
    restore_options,
    split_base_date,
)
from ndmp.engine import Refusal


def test_defaults_and_flags_accept_t_and_f() -> None:
    o = backup_options([("FILESYSTEM", "/vs1/vol1"), ("HIST", "t"), ("UPDATE", "F")])
    assert (o.level, o.hist, o.update, o.base_date, o.chained) == (0, True, False, None, False)


@pytest.mark.parametrize("level", ["-1", "32", "40", "x"])
def test_level_outside_0_31_is_refused(level: str) -> None:
    with pytest.raises(Refusal, match="LEVEL"):
        backup_options([("FILESYSTEM", "/vs1/vol1"), ("LEVEL", level)])


def test_level_31_is_the_last() -> None:
    assert backup_options([("FILESYSTEM", "/a/b"), ("LEVEL", "31")]).level == 31


def test_base_date_chain_gives_the_next_level_and_time() -> None:
    assert backup_options([("FILESYSTEM", "/a/b"), ("BASE_DATE", "0")]).level == 0
    value = join_dump_date(3, 1_700_000_000)
    assert split_base_date(value) == (3, 1_700_000_000)
    o = backup_options([("FILESYSTEM", "/a/b"), ("BASE_DATE", str(value)), ("LEVEL", "9")])
    assert o.level == 4 and o.chained
    assert not backup_options([("FILESYSTEM", "/a/b"), ("BASE_DATE", "-1")]).chained
    with pytest.raises(Refusal, match="past the last level"):
        backup_options([("FILESYSTEM", "/a/b"), ("BASE_DATE", str(join_dump_date(31, 5)))])


def test_multi_subtree_names_need_dmp_name() -> None:
    env = [("FILESYSTEM", "/vs1/vol1"), ("MULTI_SUBTREE_NAMES", "a\nb/c\n/vs1/vol1\0")]
    with pytest.raises(Refusal, match="DMP_NAME"):
        backup_options(env)
    o = backup_options(env + [("DMP_NAME", "nightly")])
    assert o.subtrees == ("a", "b/c") and o.filesystem == "/vs1/vol1" and o.dmp_name == "nightly"
    with pytest.raises(Refusal, match="relative"):
        backup_options([("FILESYSTEM", "/v/w"), ("MULTI_SUBTREE_NAMES", "../x\n/v/w"), ("DMP_NAME", "n")])


def test_non_quota_tree_rules() -> None:
    o = backup_options([("FILESYSTEM", "/v/w"), ("NON_QUOTA_TREE", "Y"), ("EXCLUDE", "tmp")])
    assert o.exclude and not o.excluded          # the seed: excluded names are not excluded then
    with pytest.raises(Refusal, match="level 0"):
        backup_options([("FILESYSTEM", "/v/w"), ("NON_QUOTA_TREE", "Y"), ("LEVEL", "1")])


def test_missing_filesystem_and_bad_flag() -> None:
    with pytest.raises(Refusal, match="FILESYSTEM"):
        backup_options([])
    with pytest.raises(Refusal, match="HIST"):
        backup_options([("FILESYSTEM", "/v/w"), ("HIST", "maybe")])


def test_restore_options() -> None:
    o = restore_options([("EXTRACT", "E"), ("DIRECT", "Y")])
    assert o.extract == "E" and o.direct and not o.extract_acl      # no ACLs on a DAR by default
    assert restore_options([]).extract_acl
    assert restore_options([("ACL_START", "4096")]).acl_start == 4096
    with pytest.raises(Refusal, match="EXTRACT"):
        restore_options([("EXTRACT", "Q")])
