"""Transport-free SCSI target emulation (SPC, SSC, SMC)."""
from .device import Access, CommandSet, Request, Result, ScsiDevice
from .nexus import LOCAL, Nexus
from .sense import Asc, CheckCondition, FieldPointer, Sense, SenseKey
from .status import Status

__all__ = ["Access", "Asc", "CheckCondition", "CommandSet", "FieldPointer", "LOCAL", "Nexus",
           "Request", "Result", "ScsiDevice", "Sense", "SenseKey", "Status"]
