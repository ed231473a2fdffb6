"""INITIALIZE ELEMENT STATUS and ... WITH RANGE: the robot is asked to rescan."""
from __future__ import annotations

import pytest

from scsi.sense import Asc, SenseKey
from scsi.smc import MediumChanger

from .conftest import A, SLOTS, cdb_pointer, expect, initialize_element_status, initialize_element_status_with_range


@pytest.fixture
def scans(library):
    calls = []
    library.scan = lambda first=0, count=None: calls.append((first, count))
    return calls


def test_initialize_element_status(pyscsi, scans):
    pyscsi.initializeelementstatus()
    assert scans == [(0, None)]


def test_with_range_zero_means_everything(pyscsi, scans):
    pyscsi.initializeelementstatuswithrange(SLOTS[3], 5)          # RANGE=0: fields ignored
    pyscsi.initializeelementstatuswithrange(0, 0, fast=1)
    assert scans == [(0, None), (0, None)]


def test_with_range(pyscsi, scans):
    pyscsi.initializeelementstatuswithrange(SLOTS[3], 5, rng=1)
    assert scans == [(SLOTS[3], 5)]


def test_with_range_bad_start(run, scans):
    expect(run(initialize_element_status_with_range(3, 5, use_range=True)), SenseKey.ILLEGAL_REQUEST,
           Asc.INVALID_ELEMENT_ADDRESS, cdb_pointer(2))
    assert scans == []


class MinimalRobot:
    """Only the Robot protocol: no ``scan``."""

    def __init__(self, inventory):
        self.elements, self.element = inventory.elements, inventory.element
        self.move, self.exchange, self.lock_door = inventory.move, inventory.exchange, inventory.lock_door


def test_robot_without_scan(library):
    changer = MediumChanger(MinimalRobot(library), serial="X", power_on_ua=False)
    assert changer.execute(A, initialize_element_status()).good
    assert changer.execute(A, initialize_element_status_with_range(SLOTS[0], 2, use_range=True)).good


def test_not_ready(run, library, scans):
    library.ready = False
    expect(run(initialize_element_status()), SenseKey.NOT_READY, Asc.NOT_READY_CAUSE_NOT_REPORTABLE)
    assert scans == []
