"""The embedding API as the README shows it."""
from __future__ import annotations

from scsi import Nexus, SenseKey, Status
from vtl.api import Drive, create_cartridge


def test_readme_example(tmp_path):
    path = str(tmp_path / "A00001L8")
    create_cartridge(path, capacity="64MiB")
    with Drive("IBM_LTO8") as drive:
        drive.load(path)
        assert drive.execute(bytes([0x0A, 0, 0, 0x10, 0, 0]), b"x" * 4096).good
        assert drive.execute(bytes([0x10, 0, 0, 0, 1, 0])).good
        assert drive.execute(bytes([0x01, 0, 0, 0, 0, 0])).good
        r = drive.execute(bytes([0x08, 0, 0, 0x10, 0, 0]))
        assert r.good and bytes(r.data) == b"x" * 4096
        r = drive.execute(bytes([0x08, 0, 0, 0x10, 0, 0]))
        assert r.status == Status.CHECK_CONDITION and r.decoded_sense().filemark
    with Drive("HP_LTO5", unit_attention_on_power_on=True) as hp:
        r = hp.execute(bytes(6), nexus=Nexus("iqn.x"))
        assert r.decoded_sense().key == SenseKey.UNIT_ATTENTION
        r = hp.execute(bytes([0x12, 0, 0, 0, 36, 0]), nexus=Nexus("iqn.x"))
        assert bytes(r.data[8:16]).rstrip() == b"HP" and bytes(r.data[16:32]).rstrip() == b"Ultrium 5-SCSI"
