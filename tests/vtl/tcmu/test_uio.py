"""Opening a UIO device, against a fake sysfs tree and a plain file as /dev/uioN."""
from __future__ import annotations

import os

import pytest

from vtl.tcmu.doorbell import UioDoorbell
from vtl.tcmu.uio import TcmuName, UioDevice, find, list_uio, parse_name, read_map_size

SIZE = 8 * 1024 * 1024 + 64 * 1024


@pytest.fixture
def tree(tmp_path):
    sysfs, dev = tmp_path / "sys", tmp_path / "dev"
    dev.mkdir()

    def add(n: int, name: str, size: int = SIZE):
        d = sysfs / f"uio{n}"
        (d / "maps" / "map0").mkdir(parents=True)
        (d / "name").write_text(name + "\n")
        (d / "maps" / "map0" / "size").write_text(f"0x{size:08x}\n")
        with open(dev / f"uio{n}", "wb") as f:
            f.truncate(size)

    add(0, "uio_pci_generic")
    add(3, "tcm-user/1/drive0/vtl/lib0/drive0")
    add(12, "tcm-user/2/changer/vtl/lib0/changer")
    (sysfs / "not-a-uio").mkdir()
    return str(sysfs), str(dev)


@pytest.mark.parametrize("name,parsed", [
    ("tcm-user/1/drive0/vtl/lib0/drive0", TcmuName("1", "drive0", "vtl/lib0/drive0")),
    ("tcm-user/7/dev/", TcmuName("7", "dev", "")),
    ("tcm-user/7/dev", TcmuName("7", "dev", "")),
    ("tcm-user/0/d/cfg with spaces/and/slashes\n", TcmuName("0", "d", "cfg with spaces/and/slashes")),
    ("uio_pci_generic", None),
    ("tcm-user/", None),
    ("tcm-user//x/y", None),
])
def test_parse_name(name, parsed):
    assert parse_name(name) == parsed
    if parsed is not None and parsed.config:
        assert parse_name(str(parsed)) == parsed


def test_listing_and_finding(tree):
    sysfs, _ = tree
    assert list_uio(sysfs) == [(0, "uio_pci_generic"), (3, "tcm-user/1/drive0/vtl/lib0/drive0"),
                               (12, "tcm-user/2/changer/vtl/lib0/changer")]
    assert find("tcm-user/2/changer/vtl/lib0/changer", sysfs) == 12
    with pytest.raises(FileNotFoundError):
        find("tcm-user/9/none/x", sysfs)
    assert read_map_size(3, sysfs) == SIZE
    assert list_uio(sysfs + "/missing") == []


@pytest.mark.parametrize("which", [3, "uio3", "3", "tcm-user/1/drive0/vtl/lib0/drive0"])
def test_open_maps_map0_shared_and_writable(tree, which):
    sysfs, dev = tree
    with UioDevice.open(which, sysfs=sysfs, dev=dev) as u:
        assert u.number == 3 and u.map_size == SIZE
        assert u.tcmu == TcmuName("1", "drive0", "vtl/lib0/drive0")
        u.map[100:105] = b"hello"
        u.map.flush()
        with open(os.path.join(dev, "uio3"), "rb") as f:
            f.seek(100)
            assert f.read(5) == b"hello"           # MAP_SHARED: the "kernel" sees our writes
        bell = u.doorbell()
        assert isinstance(bell, UioDoorbell) and bell.fileno() == u.fd
    assert u.fd == -1 and u.map is None


def test_close_with_a_view_still_alive_does_not_fail(tree):
    sysfs, dev = tree
    u = UioDevice.open(3, sysfs=sysfs, dev=dev)
    view = memoryview(u.map)[0:10]
    u.close()
    assert u.fd == -1
    view.release()
