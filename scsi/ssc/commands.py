"""The SSC command set: SPC plus the stream commands."""
from ..device import CommandSet
from ..spc.commands import SPC

SSC = CommandSet("SSC", [SPC])
