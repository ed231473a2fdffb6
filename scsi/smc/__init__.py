"""SMC-3 medium changer.  Importing the package registers every SMC handler in
:data:`SMC`; :class:`MediumChanger` is the device object, :class:`Inventory`
an in-memory library to put behind it."""
import scsi.spc  # noqa: F401  (SPC handlers first: SMC extends them)

from . import (  # noqa: F401  (each module registers its commands)
    exchange_medium, initialize_element_status, move_medium, position_to_element, read_element_status,
    removal,
)
from .changer import MediumChanger
from .commands import SMC
from .elements import DriveBay, Element, ElementType, MoveRefused, Refusal, Robot
from .inventory import Inventory

__all__ = ["DriveBay", "Element", "ElementType", "Inventory", "MediumChanger", "MoveRefused", "Refusal",
           "Robot", "SMC"]
