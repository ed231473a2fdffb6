"""The medium changer's mode pages (SMC-3 7.3): what the library looks like.

Hosts read these before anything else: the Linux ``ch`` driver and ``mtx``
take the element address ranges from the Element Address Assignment page
(1Dh), and backup applications check the Device Capabilities page (1Fh)
before they try a move.  All three SMC pages describe the library, not a
setting, so none of their fields is changeable; MODE SELECT accepts them
only unchanged.  The SPC Control (D_SENSE) and Informational Exceptions
pages are the same objects the tape drive has.

Capabilities: every element type but the transport can hold a medium
(STORxx), and a medium can be moved and exchanged between any two of them,
drive to drive included.  The transport is not a storage element: a move
from or to it is refused (IBM libraries answer 21/01 the same way), so its
rows and columns are zero.  The transport cannot rotate media (ROTATE=0):
INVERT is refused.
"""
from __future__ import annotations

from typing import Any

from ..device import ScsiDevice
from ..layout import bits, reserved
from ..spc.control_page import ControlPage
from ..spc.informational_exceptions_page import InformationalExceptionsPage
from ..spc.mode_page import ModePage, page_layout
from .elements import ElementType
from .inventory import STORAGE_CAPABLE

_TYPES = (ElementType.TRANSPORT, ElementType.STORAGE, ElementType.IMPORT_EXPORT,
          ElementType.DATA_TRANSFER)
_SHORT = {ElementType.TRANSPORT: "mt", ElementType.STORAGE: "st", ElementType.IMPORT_EXPORT: "ie",
          ElementType.DATA_TRANSFER: "dt"}


class ElementAddressAssignment(ModePage):
    """1Dh: first address and count of each element type."""

    code = 0x1D
    layout = page_layout(
        "Element Address Assignment mode page",
        bits("first_medium_transport_element_address", 16), bits("number_of_medium_transport_elements", 16),
        bits("first_storage_element_address", 16), bits("number_of_storage_elements", 16),
        bits("first_import_export_element_address", 16), bits("number_of_import_export_elements", 16),
        bits("first_data_transfer_element_address", 16), bits("number_of_data_transfer_elements", 16),
        reserved(16))
    _NAMES = {ElementType.TRANSPORT: "medium_transport", ElementType.STORAGE: "storage",
              ElementType.IMPORT_EXPORT: "import_export", ElementType.DATA_TRANSFER: "data_transfer"}

    def __init__(self, dev: ScsiDevice) -> None:
        super().__init__()
        self.dev = dev

    def current(self) -> dict[str, Any]:
        first: dict[ElementType, int] = {}
        count = dict.fromkeys(_TYPES, 0)
        for e in self.dev.robot.elements():
            first.setdefault(e.type, e.address)
            count[e.type] += 1
        out: dict[str, Any] = {}
        for kind, name in self._NAMES.items():
            out[f"first_{name}_element_address"] = first.get(kind, 0)
            out[f"number_of_{name}_elements"] = count[kind]
        return out

    def image(self, pc: int) -> bytes:
        # The defaults are the library as it is: there is nothing else to default to.
        return super().image(0 if pc == 2 else pc)


class TransportGeometry(ModePage):
    """1Eh: one two-byte descriptor per transport (ROTATE, MEMBER NUMBER)."""

    code = 0x1E

    def __init__(self, dev: ScsiDevice) -> None:
        transports = sum(1 for e in dev.robot.elements() if e.type is ElementType.TRANSPORT)
        self.transports = max(transports, 1)
        fields = []
        for i in range(self.transports):
            fields += [reserved(7), bits(f"rotate_{i}", 1), bits(f"member_number_{i}", 8)]
        self.layout = page_layout("Transport Geometry Parameters mode page", *fields)
        self.defaults = {f"member_number_{i}": i for i in range(self.transports)}
        super().__init__()

    @property
    def can_rotate(self) -> bool:
        return any(self.values.get(f"rotate_{i}") for i in range(self.transports))


def _row(prefix: str) -> list:
    """One byte of a capabilities matrix: reserved, then DT, I/E, ST, MT (bit 3 to bit 0)."""
    return [reserved(4), *(bits(f"{prefix}_{_SHORT[t]}", 1) for t in reversed(_TYPES))]


class DeviceCapabilities(ModePage):
    """1Fh: which element types store media, and the MOVE / EXCHANGE matrices."""

    code = 0x1F

    layout = page_layout(
        "Device Capabilities mode page",
        reserved(4), *(bits(f"stor_{_SHORT[t]}", 1) for t in reversed(_TYPES)),
        reserved(8),
        *(f for t in _TYPES for f in _row(f"{_SHORT[t]}_to")),
        reserved(32),
        *(f for t in _TYPES for f in _row(f"{_SHORT[t]}_exchange")),
        reserved(32))
    defaults = {
        **{f"stor_{_SHORT[t]}": t in STORAGE_CAPABLE for t in _TYPES},
        **{f"{_SHORT[a]}_to_{_SHORT[b]}": a in STORAGE_CAPABLE and b in STORAGE_CAPABLE
           for a in _TYPES for b in _TYPES},
        **{f"{_SHORT[a]}_exchange_{_SHORT[b]}": a in STORAGE_CAPABLE and b in STORAGE_CAPABLE
           for a in _TYPES for b in _TYPES},
    }


def mode_pages(dev: ScsiDevice) -> list[ModePage]:
    dev.transport_geometry = TransportGeometry(dev)
    return [ControlPage(dev), InformationalExceptionsPage(), ElementAddressAssignment(dev),
            dev.transport_geometry, DeviceCapabilities()]


__all__ = ["DeviceCapabilities", "ElementAddressAssignment", "STORAGE_CAPABLE", "TransportGeometry",
           "mode_pages"]
