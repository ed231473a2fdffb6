"""REQUEST SENSE and TEST UNIT READY: what the device reports about itself right now."""
from __future__ import annotations

import pytest
from pyscsi.pyscsi.scsi import SCSI

from scsi import Asc, SenseKey, Status
from scsi.sense import decode
from tests.pyscsi_adapter import PyscsiAdapter


def request_sense(desc: bool = False, allocation: int = 252) -> bytes:
    return bytes([0x03, int(desc), 0, 0, allocation, 0])


def test_no_sense_fixed_format(run):
    res = run(request_sense())
    assert res.status == Status.GOOD
    data = bytes(res.data)
    assert len(data) == 18
    assert data[0] == 0x70 and data[2] & 0x0F == SenseKey.NO_SENSE and data[7] == 10
    assert data[12:14] == bytes(2)


def test_no_sense_descriptor_format(run):
    data = bytes(run(request_sense(desc=True)).data)
    assert data == bytes([0x72, 0, 0, 0, 0, 0, 0, 0])


def test_not_ready_is_reported_with_good_status(run, device):
    device.ready = False
    res = run(request_sense())
    assert res.status == Status.GOOD
    sense = decode(bytes(res.data))
    assert (sense.key, sense.code) == (SenseKey.NOT_READY, Asc.MEDIUM_NOT_PRESENT)


def test_device_without_current_sense_hook(run, device):
    device.current_sense = None
    assert decode(bytes(run(request_sense()).data)).key == SenseKey.NO_SENSE


def test_unit_attention_is_reported_once(run, device, nexus_b):
    device.unit_attentions.establish(Asc.POWER_ON_RESET_OR_BUS_DEVICE_RESET)
    sense = decode(bytes(run(request_sense()).data))
    assert (sense.key, sense.code) == (SenseKey.UNIT_ATTENTION, Asc.POWER_ON_RESET_OR_BUS_DEVICE_RESET)
    assert decode(bytes(run(request_sense()).data)).key == SenseKey.NO_SENSE
    assert run(bytes(6)).good                                   # cleared for A ...
    assert run(bytes(6), nexus=nexus_b).status == Status.CHECK_CONDITION   # ... not for B


def test_unit_attention_in_descriptor_format(run, device):
    device.unit_attentions.establish(Asc.MODE_PARAMETERS_CHANGED)
    data = bytes(run(request_sense(desc=True)).data)
    assert data[:4] == bytes([0x72, SenseKey.UNIT_ATTENTION, 0x2A, 0x01])


@pytest.mark.parametrize("allocation, size", [(0, 0), (8, 8), (18, 18), (255, 18)])
def test_allocation_length(run, allocation, size):
    res = run(request_sense(allocation=allocation))
    assert res.good and len(res.data) == size


def test_reserved_bits(run, invalid_cdb):
    invalid_cdb(run(bytes([0x03, 0, 0, 0, 18, 0x04])), 5, 2)   # NACA


# -- TEST UNIT READY ------------------------------------------------------------------
def test_ready(pyscsi):
    pyscsi.testunitready()


def test_not_ready_through_pyscsi(pyscsi, device):
    device.ready = False
    with pytest.raises(pyscsi.device.CheckCondition) as err:
        pyscsi.testunitready()
    assert (err.value.data["sense_key"], err.value.asc, err.value.ascq) == (0x02, 0x3A, 0x00)


def test_power_on_unit_attention_comes_first(powered_on, nexus_a):
    scsi = SCSI(PyscsiAdapter(powered_on, nexus_a))       # its INQUIRY does not consume it
    with pytest.raises(scsi.device.CheckCondition) as err:
        scsi.testunitready()
    assert (err.value.asc, err.value.ascq) == Asc.POWER_ON_RESET_OR_BUS_DEVICE_RESET
    scsi.testunitready()


def test_device_without_ready_check(run, device):
    device.ready_check = None
    assert run(bytes(6)).good
