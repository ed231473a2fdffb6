"""WRITE(6): the data path from initiator to tape.

Every block goes to the cartridge before GOOD is returned.  A block that lands
in the early-warning zone is written and reported with EOM (NO SENSE, 00/02);
one that does not fit is not written and reported as VOLUME OVERFLOW with the
unwritten amount in INFORMATION.  A file system that fills up before the cartridge
does is the physical end of the tape: VOLUME OVERFLOW too, so the backup application
goes on with another cartridge; any other host I/O error is MEDIUM ERROR, WRITE ERROR.
"""
from __future__ import annotations

from images.cartridge import EndOfMedium, WriteFailure

from ..device import Access, Request
from ..layout import Layout, bits, control, reserved
from ..sense import Asc, CheckCondition, Sense, SenseKey
from .commands import SSC
from .tapealert import TapeAlerts

WRITE_6 = Layout("WRITE(6)", bits("opcode", 8), reserved(7), bits("fixed", 1),
                 bits("transfer_length", 24), *control())


def early_warning() -> CheckCondition:
    return CheckCondition(Sense.of(SenseKey.NO_SENSE, Asc.END_OF_PARTITION_MEDIUM_DETECTED,
                                   eom=True, information=0))


def volume_overflow(residue: int) -> CheckCondition:
    return CheckCondition(Sense.of(SenseKey.VOLUME_OVERFLOW, Asc.END_OF_PARTITION_MEDIUM_DETECTED,
                                   eom=True, information=residue))


def write_error(residue: int | None = None) -> CheckCondition:
    return CheckCondition(Sense.of(SenseKey.MEDIUM_ERROR, Asc.WRITE_ERROR, information=residue))


@SSC.register("WRITE(6)", 0x0A, WRITE_6, access=Access.WRITE)
def write6(dev, req: Request):
    f = req.fields
    n = f.transfer_length
    if f.fixed and dev.block_length == 0:
        raise req.invalid("fixed")
    if not f.fixed and n > dev.personality.max_block_length:
        raise req.invalid("transfer_length")
    part = dev.medium_for_write()
    if n == 0:
        return None
    algorithm = dev.storage_algorithm
    key = dev.encryption.write_key
    if not f.fixed:                            # one block: the data path
        _write_block(dev, part, req.parameters(n), algorithm, key, n)
    else:
        bs = dev.block_length
        data = req.parameters(n * bs)
        for i in range(n):
            _write_block(dev, part, data[i * bs:(i + 1) * bs], algorithm, key, n - i)
    if part.in_early_warning:
        raise early_warning()
    return None


def _write_block(dev, part, block, algorithm, key, residue: int) -> None:
    """One block onto the tape, counted; ``residue`` is what INFORMATION reports if it
    does not get there (the blocks not written, or the bytes of a variable block)."""
    try:
        stored = part.write(block, algorithm, key)
    except EndOfMedium:
        raise volume_overflow(residue) from None
    except WriteFailure:
        dev.alerts.set(TapeAlerts.WRITE_FAILURE)
        raise write_error(residue) from None
    n = len(block)
    for s in (dev.stats, dev.load_stats):
        s.host_bytes_written += n
        s.medium_bytes_written += stored
        s.blocks_written += 1
    dev.cartridge.count_written(n)
