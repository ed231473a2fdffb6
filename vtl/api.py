"""The embedding API: an emulated tape drive in your own Python process.

For integration tests and tools that want a real SSC device without a kernel
target::

    from vtl.api import Drive, create_cartridge

    create_cartridge("/tmp/tapes/A00001L8", capacity="64MiB")
    with Drive("IBM_LTO8") as drive:
        drive.load("/tmp/tapes/A00001L8")
        result = drive.execute(bytes([0x0A, 0, 0, 0x10, 0, 0]), b"x" * 4096)   # WRITE(6) 4 KiB
        assert result.good

``Drive.execute`` takes raw CDBs and returns :class:`scsi.Result` (status,
sense bytes, data-in).  The drive is the same object the daemon serves over
TCMU, so what works here works there.
"""
from __future__ import annotations

import uuid

from images.cartridge import Cartridge
from scsi import LOCAL, Nexus, Result
from scsi.ssc import DrivePersonality, TapeDrive

from .units import parse_size

__all__ = ["Drive", "create_cartridge", "open_cartridge"]


def create_cartridge(path: str, media: str | None = None, barcode: str | None = None, *,
                     capacity: str | int | None = None, write_protected: bool = False) -> Cartridge:
    """Create a blank cartridge directory and close it again; returns nothing open."""
    cap = parse_size(capacity) if isinstance(capacity, str) else capacity
    cart = Cartridge.create(path, media, barcode, capacity=cap, write_protected=write_protected)
    cart.close()
    return cart


def open_cartridge(path: str) -> Cartridge:
    return Cartridge.open(path)


class Drive:
    """A tape drive with a personality from a bundled or given tape configuration file."""

    def __init__(self, personality: str | DrivePersonality = "IBM_LTO8", serial: str | None = None, *,
                 lun: int = 0, unit_attention_on_power_on: bool = False):
        if isinstance(personality, str):
            personality = DrivePersonality.bundled(personality)
        self.device = TapeDrive(personality, serial or uuid.uuid4().hex[:10].upper(), lun=lun,
                                power_on_ua=unit_attention_on_power_on)

    def load(self, cartridge: str | Cartridge) -> Cartridge:
        """Insert a cartridge (a path or an open Cartridge); with autoload it is threaded at once."""
        cart = Cartridge.open(cartridge) if isinstance(cartridge, str) else cartridge
        self.device.insert(cart)
        return cart

    def eject(self) -> Cartridge:
        """Unload and take the cartridge out; it is flushed and closed."""
        cart = self.device.eject()
        cart.close()
        return cart

    def execute(self, cdb: bytes, data_out: bytes | bytearray | memoryview | None = None, *,
                nexus: Nexus = LOCAL, data_in: memoryview | None = None) -> Result:
        """Run one command.  Data-in lands in ``data_in`` when one is given (as a
        transport's buffer); without one, a READ answers with a read-only view of the
        block where it lies in the cartridge's page cache, no copy made.  Such a view
        stays readable as long as it is held, even after the tape is rewritten there
        (it then shows the new bytes), but a disk error under it is SIGBUS, not MEDIUM
        ERROR: against a failing disk, bring a buffer."""
        return self.device.execute(nexus, cdb, data_out, data_in)

    def close(self) -> None:
        if self.device.cartridge is not None:
            self.device.prevented.clear()
            self.eject()

    def __enter__(self) -> "Drive":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
