from __future__ import annotations

import pytest

from images.cartridge import Cartridge
from scsi.ssc import DrivePersonality, TapeDrive

MIB = 1024 * 1024


@pytest.fixture
def make_drive(tmp_path):
    made = []

    def factory(personality="IBM_LTO8", media=None, capacity=64 * MIB, load=True, barcode="A00001L8", **kw):
        drive = TapeDrive(DrivePersonality.bundled(personality), "SN" + str(len(made)), power_on_ua=False)
        if load:
            cart = Cartridge.create(str(tmp_path / f"{barcode}-{len(made)}"), media, barcode,
                                    capacity=capacity, **kw)
            drive.insert(cart)
            drive.unit_attentions.clear()
        made.append(drive)
        return drive

    yield factory
    for d in made:
        if d.cartridge is not None:
            d.prevented.clear()
            d.eject().close()


@pytest.fixture
def drive(make_drive):
    return make_drive()
