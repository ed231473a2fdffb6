"""The file-backed cartridge: records with CRC32C, optional compression,
partitions, an O(log n) index, capacity accounting, MAM, WORM and write-protect."""
from .cartridge import Cartridge, default_early_warning
from .compression import Algorithm
from .errors import CartridgeError, EndOfMedium, MediumError, WormOverwrite, WriteFailure, WriteProtected
from .media import DENSITIES, MEDIA, Density, MediaType, media_for_barcode, media_type
from .partition import Partition, ReadResult
from .record import Kind

__all__ = ["Algorithm", "Cartridge", "CartridgeError", "DENSITIES", "Density", "EndOfMedium", "Kind",
           "MEDIA", "MediaType", "MediumError", "Partition", "ReadResult", "WormOverwrite",
           "WriteFailure", "WriteProtected", "default_early_warning", "media_for_barcode", "media_type"]
