"""The uio doorbell, over a socketpair standing in for /dev/uioN (4-byte reads and writes)."""
from __future__ import annotations

import errno
import os
import socket
import sys

import pytest

from vtl.tcmu import doorbell as doorbell_module
from vtl.tcmu.doorbell import DeviceGone, UioDoorbell


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


def test_wait_reports_a_notification_once(pair):
    ours, kernel = pair
    bell = UioDoorbell(ours.fileno())
    assert bell.fileno() == ours.fileno()
    assert bell.wait(0) is False
    kernel.send((1).to_bytes(4, sys.byteorder))
    assert bell.wait(None) is True
    assert bell.wait(0) is False


def test_wait_with_a_timeout_returns_false_when_nothing_comes(pair):
    bell = UioDoorbell(pair[0].fileno())
    assert bell.wait(0.01) is False


def test_kick_writes_a_u32_one(pair):
    ours, kernel = pair
    UioDoorbell(ours.fileno()).kick()
    assert kernel.recv(16) == b"\x01\x00\x00\x00"


@pytest.mark.parametrize("code", [errno.EIO, errno.ENODEV])
def test_eio_means_the_device_is_gone(pair, monkeypatch, code):
    bell = UioDoorbell(pair[0].fileno())

    def gone(*a):
        raise OSError(code, os.strerror(code))
    monkeypatch.setattr(doorbell_module.os, "read", gone)
    monkeypatch.setattr(doorbell_module.os, "write", gone)
    with pytest.raises(DeviceGone):
        bell.wait(0)
    with pytest.raises(DeviceGone):
        bell.kick()


def test_other_errors_are_not_mistaken_for_removal(pair, monkeypatch):
    bell = UioDoorbell(pair[0].fileno())

    def bad(*a):
        raise OSError(errno.EINVAL, "bad")
    monkeypatch.setattr(doorbell_module.os, "read", bad)
    with pytest.raises(OSError) as e:
        bell.wait(0)
    assert not isinstance(e.value, DeviceGone)
