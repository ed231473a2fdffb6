"""A drive personality: what an emulated drive says it is and what it can do.

The identity, the density/compression settings and the timeouts come from an
ONTAP tape configuration file (``tapeconf``), the same file a host uses to
drive it.  What the file does not say -- which densities the drive reads and
writes -- follows from its native density by the generation rules real drives
obey (LTO reads two generations back up to LTO-7, one back from LTO-8, none at
LTO-10; writes one back).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from images.cartridge import DENSITIES, Algorithm
from tapeconf import TapeConfig, get_bundled

# native density -> (read densities, write densities), newest last
_COMPAT: dict[int, tuple[tuple[int, ...], tuple[int, ...]]] = {
    0x40: ((0x40,), (0x40,)),
    0x42: ((0x40, 0x42), (0x40, 0x42)),
    0x44: ((0x40, 0x42, 0x44), (0x42, 0x44)),
    0x46: ((0x42, 0x44, 0x46), (0x44, 0x46)),
    0x58: ((0x44, 0x46, 0x58), (0x46, 0x58)),
    0x5A: ((0x46, 0x58, 0x5A), (0x58, 0x5A)),
    0x5C: ((0x58, 0x5A, 0x5C), (0x5A, 0x5C)),
    0x5E: ((0x5C, 0x5D, 0x5E), (0x5C, 0x5D, 0x5E)),
    0x60: ((0x5E, 0x60), (0x5E, 0x60)),
    0x62: ((0x62,), (0x62,)),
    0x4D: ((0x4A, 0x4B, 0x4C, 0x4D), (0x4D,)),
    0x4C: ((0x4A, 0x4B, 0x4C), (0x4C,)),
}

MAX_BLOCK_LENGTH = 0x7FFFFF   # 8 MiB - 1, as LTO drives report in READ BLOCK LIMITS


@dataclass(frozen=True)
class DrivePersonality:
    config: TapeConfig
    revision: str = "V100"
    max_block_length: int = MAX_BLOCK_LENGTH
    min_block_length: int = 1
    compression: Algorithm = Algorithm.LZ4
    """How compressed records are stored when DCE is on (any drive reads any)."""

    @classmethod
    def bundled(cls, name: str, **kw) -> "DrivePersonality":
        return cls(get_bundled(name), **kw)

    @property
    def vendor(self) -> str:
        return self.config.vendor_id

    @property
    def product(self) -> str:
        return self.config.product_id

    @cached_property
    def native_density(self) -> int:
        for key in ("h", "a", "m", "l"):
            code = self.config.settings[key].density
            if code:
                return code
        return 0

    @cached_property
    def read_densities(self) -> tuple[int, ...]:
        return _COMPAT.get(self.native_density, ((self.native_density,), ()))[0]

    @cached_property
    def write_densities(self) -> tuple[int, ...]:
        return _COMPAT.get(self.native_density, ((), (self.native_density,)))[1]

    @cached_property
    def is_lto(self) -> bool:
        d = DENSITIES.get(self.native_density)
        return d is not None and d.organization == "LTO-CVE"

    @cached_property
    def supports_compression(self) -> bool:
        return any(s.algorithm for s in self.config.settings.values())

    @cached_property
    def compression_algorithm_code(self) -> int:
        """The SCSI algorithm code the drive reports in mode page 0x0F."""
        codes = [s.algorithm for s in self.config.settings.values() if s.algorithm]
        return codes[0] if codes else 0

    @property
    def autoload(self) -> bool:
        return self.config.autoload

    def timeout(self, opcode: int, default: int = 60) -> int:
        t = self.config.cmd_timeouts.get(opcode)
        return int(t) if t else default
