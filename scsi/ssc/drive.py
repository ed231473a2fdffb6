"""The emulated tape drive (SSC-4 sequential-access device).

The drive is state plus rules: which cartridge is threaded, the head position
(kept by the cartridge's active partition), the block size and density chosen
with MODE SELECT, data compression, medium-removal prevention, counters.  Each
command lives in its own module (``read.py``, ``space.py``, ...) and reaches
the state through the small helpers here, so the rules every command shares
(not ready, write protect, WORM, density) are written once.
"""
from __future__ import annotations

import enum
import logging

from images.cartridge import Algorithm, Cartridge, Partition, WriteFailure
from images.cartridge.media import DENSITIES

from ..device import ScsiDevice
from ..identity import Identity
from ..nexus import Nexus
from ..sense import Asc, SenseKey, check
from ..spc.reservations import Reservations
from .commands import SSC
from .log_pages import log_pages
from .mode_pages import mode_pages
from .vpd import vpd_b0
from .mode_pages import BLOCK_DESCRIPTOR, MODE_HEADER_DSP
from .encryption import EncryptionParameters
from .personality import DrivePersonality
from .stats import DriveStats, LoadStats
from .tapealert import TapeAlerts

log = logging.getLogger(__name__)


class DriveState(enum.Enum):
    EMPTY = "empty"            # no cartridge in the drive
    INSERTED = "inserted"      # cartridge in the slot, not threaded (needs LOAD)
    READY = "ready"            # threaded, medium accessible
    UNLOADED = "unloaded"      # unthreaded after UNLOAD, waiting to be taken out


class TapeDrive(ScsiDevice):
    commands = SSC
    peripheral_device_type = 0x01
    removable = True
    version_descriptors = (0x00A0, 0x0460, 0x0520)  # SAM-5, SPC-4, SSC-4

    def __init__(self, personality: DrivePersonality, serial: str, *, lun: int = 0,
                 power_on_ua: bool = True):
        super().__init__(power_on_ua=power_on_ua)
        self.personality = personality
        self.identity = Identity(personality.vendor, personality.product, personality.revision,
                                 serial, lun)
        self.cartridge: Cartridge | None = None
        self.state = DriveState.EMPTY
        self.block_length = 0                 # 0: variable-block mode
        self.density_code = 0                 # as last set by MODE SELECT (0: default)
        self.compression = personality.supports_compression   # DCE
        self.buffered_mode = 1
        self.software_write_protect = False
        self.prevented: set[Nexus] = set()
        self.stats = DriveStats()
        self.load_stats = LoadStats()
        self.alerts = TapeAlerts()
        self.cleaning_required = False
        self.mode_pages = mode_pages(self)
        self.log_pages = log_pages(self)
        self.vpd_pages = {0xB0: vpd_b0(self)}
        self.reservations = Reservations(self)
        self.encryption = EncryptionParameters()
        """Tape data encryption (SECURITY PROTOCOL OUT); gone at power off, as in a drive."""

    # -- cartridge in and out (library and embedding API) -----------------------------
    def insert(self, cartridge: Cartridge) -> None:
        """A cartridge is pushed into the drive (by a robot or by hand)."""
        if self.state != DriveState.EMPTY:
            raise RuntimeError(f"drive {self.identity.serial} already holds {self.cartridge.barcode}")
        self.cartridge = cartridge
        self.state = DriveState.INSERTED
        if self.personality.autoload:
            self.thread()

    def thread(self) -> None:
        """Thread the tape (LOAD, or autoload): the medium becomes accessible at BOP."""
        cart = self.cartridge
        assert cart is not None
        if cart.cleaning:
            self._clean(cart)
            return
        cart.select(0)
        cart.active.rewind()
        cart.note_load(f"{self.identity.vendor:8}{self.identity.serial}")
        self.state = DriveState.READY
        self.stats.loads += 1
        self.load_stats.reset()
        self.alerts.clear_medium()
        if not self.readable(cart):
            self.alerts.set(TapeAlerts.UNSUPPORTED_FORMAT)
        self.unit_attentions.establish(Asc.NOT_READY_TO_READY_CHANGE)

    def _clean(self, cart: Cartridge) -> None:
        """A cleaning cartridge cleans the heads on load and is then unthreaded."""
        if cart.meta.cleaning_uses_left > 0:
            cart.meta.cleaning_uses_left -= 1
            cart.mam_set_int(0x0003, cart.mam_int(0x0003) + 1)
            cart.flush()
            self.cleaning_required = False
            self.stats.cleanings += 1
            self.alerts.clear(TapeAlerts.CLEAN_NOW)
        else:
            self.alerts.set(TapeAlerts.EXPIRED_CLEANING_MEDIA)
        self.state = DriveState.UNLOADED

    def unthread(self) -> None:
        """UNLOAD: sync, rewind, unthread; the cartridge waits to be taken out.  A key set
        with CKOD (clear key on demount) is forgotten."""
        if self.cartridge is not None and self.state == DriveState.READY:
            self.cartridge.select(0)
            self.cartridge.active.rewind()
            self.cartridge.flush()
            if self.encryption.ckod:
                self.encryption = self.encryption.cleared()
        self.state = DriveState.UNLOADED if self.cartridge is not None else DriveState.EMPTY

    @property
    def removal_prevented(self) -> bool:
        return bool(self.prevented)

    def eject(self) -> Cartridge:
        """Take the cartridge out; the caller owns (and closes) it."""
        if self.cartridge is None:
            raise RuntimeError(f"drive {self.identity.serial} is empty")
        if self.removal_prevented:
            raise RuntimeError(f"drive {self.identity.serial}: medium removal is prevented")
        self.unthread()
        cart, self.cartridge = self.cartridge, None
        self.state = DriveState.EMPTY
        return cart

    def flush(self) -> None:
        """A sync point (filemarks with IMMED=0, REWIND, UNLOAD, explicit flush).  If the
        host cannot make the records durable, the command says so: MEDIUM ERROR, WRITE
        ERROR."""
        if self.cartridge is not None and self.state == DriveState.READY:
            try:
                self.cartridge.flush()
            except WriteFailure:
                self.alerts.set(TapeAlerts.WRITE_FAILURE)
                raise check(SenseKey.MEDIUM_ERROR, Asc.WRITE_ERROR) from None

    # -- task management ------------------------------------------------------------------
    def logical_unit_reset(self) -> None:
        super().logical_unit_reset()
        self.prevented.clear()
        self.encryption = self.encryption.cleared()

    def nexus_loss(self, nexus: Nexus) -> None:
        super().nexus_loss(nexus)
        self.prevented.discard(nexus)

    # -- density rules ----------------------------------------------------------------
    def medium_density(self, cart: Cartridge) -> int:
        """Density the medium holds (as written from BOT) or would be written at."""
        if cart.density is not None:
            return cart.density
        return cart.media.density.code if cart.media.density else 0

    def readable(self, cart: Cartridge) -> bool:
        return self.medium_density(cart) in self.personality.read_densities

    def writable(self, cart: Cartridge) -> bool:
        native = cart.media.density.code if cart.media.density else 0
        return native in self.personality.write_densities

    # -- checks shared by the commands ------------------------------------------------
    def ready_check(self, nexus: Nexus | None = None) -> None:
        if self.state in (DriveState.EMPTY, DriveState.UNLOADED):
            raise check(SenseKey.NOT_READY, Asc.MEDIUM_NOT_PRESENT)
        if self.state == DriveState.INSERTED:
            raise check(SenseKey.NOT_READY, Asc.INITIALIZING_COMMAND_REQUIRED)

    def medium(self) -> Partition:
        """The active partition of a threaded, compatible cartridge."""
        self.ready_check()
        cart = self.cartridge
        assert cart is not None
        if not self.readable(cart):
            raise check(SenseKey.MEDIUM_ERROR, Asc.INCOMPATIBLE_MEDIUM_INSTALLED)
        return cart.active

    def medium_for_write(self) -> Partition:
        part = self.medium()
        cart = self.cartridge
        assert cart is not None
        if cart.write_protected or self.software_write_protect:
            self.alerts.set(TapeAlerts.WRITE_PROTECT)
            raise check(SenseKey.DATA_PROTECT, Asc.WRITE_PROTECTED)
        if not self.writable(cart):
            raise check(SenseKey.DATA_PROTECT, Asc.CANNOT_WRITE_MEDIUM_INCOMPATIBLE_FORMAT)
        if cart.worm and (part.pos < part.eod or part.damaged):   # damaged bytes are data too
            raise check(SenseKey.DATA_PROTECT, Asc.WORM_MEDIUM_OVERWRITE_ATTEMPTED)
        if part.number == 0 and part.pos == 0 and cart.media.density is not None:
            cart.note_density(cart.media.density.code)
        return part

    @property
    def storage_algorithm(self) -> Algorithm:
        return self.personality.compression if self.compression else Algorithm.NONE

    # -- mode parameter hooks (scsi/spc/mode.py) ----------------------------------------
    def block_descriptor(self) -> tuple[int, int, int]:
        density = self.density_code
        if self.cartridge is not None and self.state == DriveState.READY:
            density = self.medium_density(self.cartridge)
        return density, 0, self.block_length

    def select_block_descriptor(self, density: int, blocks: int, block_length: int, base: int) -> None:
        if density not in (0, 0x7F) and density not in self.personality.read_densities:
            raise BLOCK_DESCRIPTOR.invalid("density_code", base)
        if blocks:
            raise BLOCK_DESCRIPTOR.invalid("number_of_blocks", base)
        if block_length and not (self.personality.min_block_length <= block_length
                                 <= self.personality.max_block_length):
            raise BLOCK_DESCRIPTOR.invalid("block_length", base)
        if density != 0x7F:  # 7Fh: "no change" (SSC)
            self.density_code = density
        self.block_length = block_length

    def medium_type(self) -> int:
        if self.cartridge is None:
            return 0
        return self.cartridge.media.medium_type

    def device_specific_parameter(self) -> int:
        wp = self.cartridge is not None and (self.cartridge.write_protected or self.software_write_protect)
        return (0x80 if wp else 0) | (self.buffered_mode << 4)

    def select_device_specific(self, value: int, base: int) -> None:
        mode = (value >> 4) & 0x7
        if mode not in (0, 1):
            raise MODE_HEADER_DSP.invalid("buffered_mode", base)
        self.buffered_mode = mode

    # -- identity helpers --------------------------------------------------------------
    def density_name(self, code: int) -> str:
        d = DENSITIES.get(code)
        return d.description if d else f"0x{code:02X}"

    def __repr__(self) -> str:
        c = self.cartridge.barcode if self.cartridge else "-"
        return f"TapeDrive({self.personality.product!r}, serial={self.identity.serial!r}, {self.state.value}, {c})"
