"""The file-backed cartridge: records with CRC32C, optional compression and encryption,
partitions, an O(log n) index, capacity accounting, MAM, WORM and write-protect."""
from .cartridge import Cartridge, default_early_warning
from .compression import Algorithm
from .encryption import DataKey, WrongKey
from .errors import (
    CartridgeError, EndOfMedium, MediumError, NoKey, WormOverwrite, WriteFailure, WriteProtected,
)
from .media import DENSITIES, MEDIA, Density, MediaType, media_for_barcode, media_type
from .partition import BlockCrypto, Partition, ReadResult
from .record import Kind

__all__ = ["Algorithm", "BlockCrypto", "Cartridge", "CartridgeError", "DENSITIES", "DataKey", "Density",
           "EndOfMedium", "Kind", "MEDIA", "MediaType", "MediumError", "NoKey", "Partition", "ReadResult",
           "WormOverwrite", "WriteFailure", "WriteProtected", "WrongKey", "default_early_warning",
           "media_for_barcode", "media_type"]
