"""What the kernel target should hold for a configuration (vtl/lio/plan.py, vtl/lio/names.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from vtl.config import loads
from vtl.lio import names
from vtl.lio.plan import plan

TEXT = '''
[node]
name = "node1"

[[library]]
name = "lib0"
slots = 4

[library.changer]
serial = "CH0"

[[library.drive]]
personality = "IBM_LTO8"
serial = "DR1"

[[library.drive]]
personality = "IBM_LTO8"
serial = "DR2"

[[library.target]]
name = "loop"
fabric = "loop"

[[library.target]]
name = "iscsi"
fabric = "iscsi"
luns = { DR2 = 0 }

[[library.lun_group]]
targets = ["loop"]
devices = ["CH0", "DR1"]

[[library.lun_group]]
targets = ["iscsi"]
devices = ["DR2"]
'''


def test_one_backstore_per_exported_device_and_one_port_per_target():
    p = plan(loads(TEXT, base=Path("/srv")))
    assert [(b.serial, b.kind, b.name, b.config) for b in p.backstores] == [
        ("CH0", "media-changer", "vtl-ch0", "vtl/node1/CH0"),
        ("DR1", "tape", "vtl-dr1", "vtl/node1/DR1"),
        ("DR2", "tape", "vtl-dr2", "vtl/node1/DR2")]
    loop, iscsi = p.ports
    assert loop.key == "lib0:loop" and loop.wwn == names.loop_wwn("node1", "lib0", "loop")
    assert loop.nexus == names.loop_nexus_wwn("node1", "lib0", "loop") != loop.wwn
    assert [(e.serial, e.lun) for e in loop.exports] == [("CH0", 0), ("DR1", 1)]
    assert iscsi.wwn == "iqn.2026-11.org.vtl:node1.lib0.iscsi" and iscsi.nexus is None
    assert [(e.serial, e.lun) for e in iscsi.exports] == [("DR2", 0)]
    assert p.port("iscsi") is iscsi and p.port("LIB0:LOOP") is loop
    with pytest.raises(KeyError, match='there is no target port "fc"'):
        p.port("fc")


def test_names_are_stable_and_distinct():
    a = names.loop_wwn("node1", "lib0", "loop")
    assert a == names.loop_wwn("node1", "lib0", "loop")
    assert a != names.loop_wwn("node2", "lib0", "loop") != names.loop_wwn("node1", "lib1", "loop")
    assert a.startswith("naa.5001405") and len(a) == 4 + 16
    assert names.parse_tcmu_config("vtl/node1/DR1") == ("node1", "DR1")
    assert names.parse_tcmu_config("file/whatever") is None
    assert names.parse_tcmu_config("vtl/node1") is None
