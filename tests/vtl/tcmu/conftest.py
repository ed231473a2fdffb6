"""Fixtures for the TCMU transport tests: fake kernels in other processes, a server,
real tape drives with cartridges."""
from __future__ import annotations

import pytest

from images.cartridge import Cartridge
from scsi.ssc import DrivePersonality, TapeDrive
from support.tcmu_kernel import KernelProcess
from vtl.tcmu.server import TcmuServer

MIB = 1024 * 1024


@pytest.fixture
def kernels():
    """Start fake kernels (``kernels(**kw)``); all are closed at the end."""
    made: list[KernelProcess] = []

    def factory(**kw) -> KernelProcess:
        k = KernelProcess(**kw)
        made.append(k)
        return k

    yield factory
    for k in made:
        k.close()


@pytest.fixture
def kernel(kernels) -> KernelProcess:
    return kernels()


@pytest.fixture
def server():
    s = TcmuServer()
    yield s
    s.stop(drain=False, timeout=60.0)


@pytest.fixture
def make_drive(tmp_path):
    made: list[TapeDrive] = []

    def factory(capacity: int = 256 * MIB) -> TapeDrive:
        drive = TapeDrive(DrivePersonality.bundled("IBM_LTO8"), f"TCMU{len(made)}", power_on_ua=False)
        drive.insert(Cartridge.create(str(tmp_path / f"cart{len(made)}"), None, f"T{len(made):05d}L8",
                                      capacity=capacity))
        drive.unit_attentions.clear()
        made.append(drive)
        return drive

    yield factory
    for d in made:
        if d.cartridge is not None:
            d.prevented.clear()
            d.eject().close()


@pytest.fixture
def drive(make_drive) -> TapeDrive:
    return make_drive()
