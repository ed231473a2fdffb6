"""Target ports and LUN groups in the configuration (vtl/target_ports.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from vtl.config import ConfigError, NodeConfig, dumps, loads
from vtl.target_ports import default_iqn, parse_portal

BASE = Path("/srv/vtl")

LIBRARY = '''\
[node]
name = "node1"

[[library]]
name = "lib0"
slots = 8

[library.changer]
serial = "CH0"

[[library.drive]]
personality = "IBM_LTO8"
serial = "DR1"

[[library.drive]]
personality = "IBM_LTO8"
serial = "DR2"
'''

TWO_PATHS = LIBRARY + '''
[[library.target]]
name = "loop"
fabric = "loop"

[[library.target]]
name = "iscsi"
fabric = "iscsi"
portals = ["127.0.0.1:3260"]
chap = { userid = "lab", password = "tape-secret-1" }
'''


def parse(text: str) -> NodeConfig:
    return loads(text, base=BASE, source=BASE / "vtl.toml")


def refused(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse(text)
    return info.value


def test_default_is_one_loop_port_carrying_every_device():
    lib = parse(LIBRARY).libraries[0]
    assert [(t.name, t.fabric, t.port) for t in lib.targets] == [("loop", "loop", 1)]
    assert len(lib.lun_groups) == 1
    group = lib.lun_groups[0]
    assert group.id == 0 and group.targets == ("loop",) and group.devices == ("CH0", "DR1", "DR2")
    assert [(t.name, lun) for t, lun in lib.paths_of("DR2")] == [("loop", 2)]


def test_two_ports_make_two_paths_with_the_same_luns():
    lib = parse(TWO_PATHS).libraries[0]
    loop, iscsi = lib.targets
    assert (loop.port, iscsi.port) == (1, 2)
    assert iscsi.iqn == default_iqn("node1", "lib0", "iscsi") == "iqn.2026-11.org.vtl:node1.lib0.iscsi"
    assert iscsi.portals == ("127.0.0.1:3260",)
    assert iscsi.chap.userid == "lab" and iscsi.chap.mutual_userid is None
    assert [(t.name, lun) for t, lun in lib.paths_of("dr1")] == [("loop", 1), ("iscsi", 1)]


def test_a_port_may_renumber_a_single_path_group():
    text = TWO_PATHS + '''
[[library.lun_group]]
targets = ["loop"]
devices = ["CH0", "DR1"]

[[library.lun_group]]
targets = ["iscsi"]
devices = ["DR2"]
'''
    text = text.replace('portals = ["127.0.0.1:3260"]', 'portals = ["127.0.0.1:3260"]\nluns = { DR2 = 0 }')
    lib = parse(text).libraries[0]
    assert [(g.id, g.targets, g.devices) for g in lib.lun_groups] == [
        (0, ("loop",), ("CH0", "DR1")), (1, ("iscsi",), ("DR2",))]
    assert [(t.name, lun) for t, lun in lib.paths_of("DR2")] == [("iscsi", 0)]


def test_asymmetric_mapping_is_refused():
    text = TWO_PATHS.replace('portals = ["127.0.0.1:3260"]',
                             'portals = ["127.0.0.1:3260"]\nluns = { DR1 = 7 }')
    err = refused(text)
    assert "LUN mapping must be symmetrical on each path" in err.message
    assert 'DR1 is LUN 1 through "loop" but LUN 7 through "iscsi"' in err.message


def test_a_group_has_at_most_two_paths():
    text = TWO_PATHS + '''
[[library.target]]
name = "iscsi2"
fabric = "iscsi"
'''
    err = refused(text)
    assert "at most 2" in err.message
    err = refused(text + '''
[[library.lun_group]]
targets = ["loop", "iscsi", "iscsi2"]
''')
    assert "at most 2 paths" in err.message and err.line is not None


def test_every_port_needs_lun_0():
    text = TWO_PATHS + '''
[[library.lun_group]]
targets = ["loop"]
devices = ["CH0"]

[[library.lun_group]]
targets = ["iscsi"]
devices = ["DR1", "DR2"]
'''
    err = refused(text)
    assert 'no device is on LUN 0 of target port "iscsi"' in err.message


@pytest.mark.parametrize("group, words", [
    ('targets = ["nowhere"]', 'there is no target port "nowhere"'),
    ('targets = ["loop", "loop"]', "is named twice"),
    ('targets = []', "targets is empty"),
    ('targets = ["loop"]\ndevices = ["XX9"]', '"XX9" is not the serial number'),
])
def test_bad_lun_groups_are_refused(group, words):
    err = refused(TWO_PATHS + "\n[[library.lun_group]]\n" + group + "\n")
    assert words in err.message


def test_a_device_belongs_to_one_group_and_every_port_to_some_group():
    err = refused(TWO_PATHS + '''
[[library.lun_group]]
targets = ["loop"]

[[library.lun_group]]
targets = ["iscsi"]
devices = ["CH0"]
''')
    assert "a device belongs to one LUN group" in err.message
    err = refused(TWO_PATHS + '''
[[library.lun_group]]
targets = ["loop"]
''')
    assert 'target port "iscsi" is in no LUN group' in err.message


@pytest.mark.parametrize("setting, words", [
    ('fabric = "fc"', 'fabric "fc" is not a fabric'),
    ('fabric = "loop"\niqn = "iqn.2026-11.org.x:y"', "iqn is an iSCSI setting"),
    ('fabric = "iscsi"\niqn = "IQN.bad"', "is not an iSCSI qualified name"),
    ('fabric = "iscsi"\nportals = ["localhost:3260"]', "is not an IP address and TCP port"),
    ('fabric = "iscsi"\nportals = []', "portals is empty"),
    ('fabric = "iscsi"\ninitiators = ["bob"]', "is not an iSCSI initiator name"),
    ('fabric = "iscsi"\nchap = { userid = "lab" }', "password is missing"),
    ('fabric = "iscsi"\nchap = { userid = "a", password = "b", mutual_userid = "c" }',
     "mutual CHAP needs both"),
])
def test_bad_target_settings_are_refused(setting, words):
    err = refused(LIBRARY + '\n[[library.target]]\nname = "p"\n' + setting + "\n")
    assert words in err.message
    assert err.fix


def test_duplicate_names_and_iqns_are_refused():
    err = refused(TWO_PATHS.replace('name = "iscsi"', 'name = "LOOP"'))
    assert 'target name "LOOP" is also the name' in err.message
    two_libraries = TWO_PATHS.replace('portals', 'iqn = "iqn.2026-11.org.x:same"\nportals') + \
        TWO_PATHS.split("[[library]]", 1)[1].join(["[[library]]", ""]).replace(
            '"lib0"', '"lib1"').replace('"CH0"', '"CH1"').replace('"DR1"', '"DR3"').replace(
            '"DR2"', '"DR4"').replace('portals', 'iqn = "iqn.2026-11.org.x:same"\nportals')
    err = refused(two_libraries)
    assert "IQN iqn.2026-11.org.x:same is also the IQN" in err.message


def test_dumps_reads_back_equal():
    text = TWO_PATHS.replace('portals = ["127.0.0.1:3260"]',
                             'portals = ["127.0.0.1:3260", "[::1]:3261"]\n'
                             'initiators = ["iqn.1993-08.org.debian:01:abc"]')
    cfg = parse(text)
    assert parse(dumps(cfg)) == cfg
    assert cfg.libraries[0].targets[1].portals == ("127.0.0.1:3260", "[::1]:3261")


def test_parse_portal():
    assert parse_portal("10.0.0.5") == ("10.0.0.5", 3260)
    assert parse_portal("[::]:3261") == ("::", 3261)
    with pytest.raises(ValueError):
        parse_portal("10.0.0.5:0")
