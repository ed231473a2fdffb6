"""The I_T nexus: who is talking to the device, through which target port.

SPC tracks reservations, registrations and unit attentions per I_T nexus, so
every command carries one.  The transport builds it (TCMU knows the initiator
port name and the target port group); the device model only compares them.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Nexus:
    initiator: str
    """Initiator port name, e.g. ``iqn.1994-05.com.redhat:host,i,0x23d000000`` or ``naa.5001405...``."""
    target_port: int = 1
    """Relative target port identifier (VPD 0x83), 1-based."""
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Every command looks its nexus up in the unit-attention and reservation
        # tables; a dataclass would hash a fresh tuple of the fields each time.
        object.__setattr__(self, "_hash", hash((self.initiator, self.target_port)))

    def __hash__(self) -> int:
        return self._hash

    def __str__(self) -> str:
        return f"{self.initiator} -> port {self.target_port}"


LOCAL = Nexus("local")
"""The nexus used by the embedding API and the CLI when nothing else is given."""
