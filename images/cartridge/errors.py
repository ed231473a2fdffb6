"""What can go wrong with a cartridge, as exceptions the drive maps to sense data."""
from __future__ import annotations

import errno


class CartridgeError(Exception):
    """A cartridge file is unusable; the message names the file and the fix."""


class BadLabel(CartridgeError):
    """The label (cartridge.json) is not a vtl cartridge label: torn, spoiled or foreign."""


class InUse(CartridgeError):
    """Another drive or tool has the cartridge open (its lock is held)."""


class MediumError(CartridgeError):
    """A record failed its CRC: the tape is damaged at this position (MEDIUM ERROR)."""

    def __init__(self, message: str, position: int):
        super().__init__(message)
        self.position = position


class NoKey(CartridgeError):
    """The block is encrypted and no key was given to read it with."""


class RawReadDisabled(CartridgeError):
    """A raw read of an encrypted block that was written not to allow one."""


class WriteProtected(CartridgeError):
    """The cartridge's write-protect tab is set."""


class WormOverwrite(CartridgeError):
    """WORM media refuse to overwrite data already written."""


class EndOfMedium(CartridgeError):
    """No room left in the partition, or in the file system that holds it: the record
    was not written (VOLUME OVERFLOW, as at the physical end of a tape)."""


class WriteFailure(CartridgeError):
    """The host could not store what was written (an I/O error of the file system):
    the drive answers MEDIUM ERROR, WRITE ERROR."""


NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
"""The file system, a quota or a file-size limit is full."""
