"""SSC-4 sequential-access (tape) device.  Importing the package registers every
SSC handler in :data:`SSC`; :class:`TapeDrive` is the device object."""
import scsi.spc  # noqa: F401  (SPC handlers first: SSC extends them)

from . import (  # noqa: F401  (each module registers its commands)
    allow_overwrite, attributes, block_limits, density_support, encryption, erase, filemarks, format, locate,
    motion, position, read, removal, space, verify, write,
)
from .commands import SSC
from .drive import DriveState, TapeDrive
from .personality import DrivePersonality

__all__ = ["SSC", "DrivePersonality", "DriveState", "TapeDrive"]
