"""The SPC command set shared by every device type; SSC and SMC extend it."""
from ..device import CommandSet

SPC = CommandSet("SPC")
