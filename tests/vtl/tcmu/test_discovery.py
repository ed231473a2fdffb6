"""Recognising our UIO devices from what udev reports (no udev needed: duck-typed devices)."""
from __future__ import annotations

from vtl.tcmu.discovery import UioEntry, UioEvent, UioMonitor, list_tcmu, to_uio
from vtl.tcmu.uio import TcmuName


class Attributes:
    def __init__(self, name):
        self.name = name

    def asstring(self, key):
        if self.name is None:
            raise KeyError(key)
        return self.name


class FakeDevice:
    def __init__(self, sys_name, name=None, action=None, node=None):
        self.sys_name = sys_name
        self.attributes = Attributes(name)
        self.action = action
        self.device_node = node


class FakeContext:
    def __init__(self, devices):
        self.devices = devices
        self.asked = None

    def list_devices(self, **kw):
        self.asked = kw
        return iter(self.devices)


def test_to_uio_keeps_only_tcmu_rings():
    d = to_uio(FakeDevice("uio4", "tcm-user/1/drive0/vtl/lib0/drive0", node="/dev/uio4"))
    assert d == UioEntry(4, "/dev/uio4", TcmuName("1", "drive0", "vtl/lib0/drive0"))
    assert to_uio(FakeDevice("uio5", "uio_pci_generic")) is None
    assert to_uio(FakeDevice("uio6", None)) is None           # attribute gone
    assert to_uio(FakeDevice("card0", "tcm-user/1/x/y")) is None


def test_list_tcmu_asks_for_the_uio_subsystem():
    ctx = FakeContext([FakeDevice("uio9", "tcm-user/1/b/c"), FakeDevice("uio0", "other"),
                       FakeDevice("uio2", "tcm-user/1/a/c")])
    assert [e.number for e in list_tcmu(ctx)] == [2, 9]
    assert ctx.asked == {"subsystem": "uio"}


def test_monitor_events():
    ev = UioMonitor._event
    assert ev(FakeDevice("uio3", "tcm-user/1/a/b", action="add")) == \
        UioEvent("add", UioEntry(3, "/dev/uio3", TcmuName("1", "a", "b")))
    assert ev(FakeDevice("uio3", "other", action="add")) is None
    assert ev(FakeDevice("uio3", None, action="remove")) == UioEvent("remove", UioEntry(3, "/dev/uio3", None))
    assert ev(FakeDevice("uio3", "tcm-user/1/a/b", action="change")) is None


def test_listing_through_real_udev_does_not_fail():
    assert isinstance(list_tcmu(), list)
