"""Per-device statistics of the TCMU path, for ``vtl status`` and path-error displays.

One object per attached device, written only by that device's worker thread
(and by its :class:`~vtl.tcmu.ring.Ring`), read by anyone: plain ints, so a
reader sees each counter consistent on its own without a lock.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class DeviceCounters:
    commands: int = 0
    """CMD entries answered by the target (GOOD or not)."""
    check_conditions: int = 0
    """Of those, the ones that ended in a status other than GOOD."""
    bytes_in: int = 0
    """Data-in returned to the initiator (the read_len of every command)."""
    bytes_out: int = 0
    """Data buffers of commands that returned no data-in.  The ring does not say which
    way data flows, so this counts WRITE and MODE SELECT traffic, and also the buffer of
    a READ that ended with nothing read (at a filemark, say)."""
    gathered: int = 0
    """Commands whose data the kernel split over several iovecs: gathered into the
    device's scratch buffer (one copy) and scattered back for data-in."""
    reset_answered: int = 0
    """Entries found pending at attach (left by a daemon that stopped) and answered
    UNIT ATTENTION 29/00 without being executed."""
    target_errors: int = 0
    """Exceptions raised by ``target.execute``: answered HARDWARE ERROR 44/00."""
    malformed: int = 0
    """Entries the kernel wrote that we could not trust: answered HARDWARE ERROR 44/00."""
    tmrs: int = 0
    """Task management entries consumed (we do not ask for TMR notifications)."""
    unknown_ops: int = 0
    """Entries with an opcode we do not know, returned with TCMU_UFLAG_UNKNOWN_OP."""
    pads: int = 0
    """PAD entries skipped at the end of the ring."""

    @property
    def errors(self) -> int:
        """Path errors: what went wrong in the transport or the target, not SCSI conditions."""
        return self.target_errors + self.malformed + self.unknown_ops

    def snapshot(self) -> dict[str, int]:
        d = asdict(self)
        d["errors"] = self.errors
        return d
