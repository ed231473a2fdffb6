"""The SMC command set: SPC plus the medium changer commands (SMC-3 6)."""
from ..device import CommandSet
from ..spc.commands import SPC

SMC = CommandSet("SMC", [SPC])
