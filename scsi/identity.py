"""Who a logical unit says it is: INQUIRY strings, serial number, NAA name."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

# An IEEE OUI for locally made-up names would be wrong to claim; NAA 6 with the
# "locally administered" convention of LIO (OUI 00:14:05, used by LIO/targetcli
# for its own backstores) is what hosts already see from Linux targets.
LIO_OUI = 0x001405


@dataclass(frozen=True)
class Identity:
    vendor: str            # T10 vendor id, <= 8 ASCII
    product: str           # <= 16 ASCII
    revision: str          # <= 4 ASCII
    serial: str            # unit serial number (VPD 0x80), <= 32 ASCII here
    lun: int = 0
    naa: int | None = None  # 64-bit NAA-5 name; derived from the serial when None

    @property
    def naa_name(self) -> int:
        """NAA IEEE Registered (5h) name: 4-bit NAA, 24-bit OUI, 36-bit vendor specific."""
        if self.naa is not None:
            return self.naa
        vs = int.from_bytes(hashlib.sha1(f"{self.vendor}:{self.product}:{self.serial}".encode()).digest()[:5],
                            "big") & ((1 << 36) - 1)
        return (0x5 << 60) | (LIO_OUI << 36) | vs

    def padded(self) -> tuple[bytes, bytes, bytes]:
        return (self.vendor.encode("ascii")[:8].ljust(8),
                self.product.encode("ascii")[:16].ljust(16),
                self.revision.encode("ascii")[:4].ljust(4))
