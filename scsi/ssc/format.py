"""FORMAT MEDIUM and SET CAPACITY: the commands that lay out (and erase) a
whole cartridge.  Partition sizes come from the medium partition page (11h)."""
from __future__ import annotations

from images.cartridge import CartridgeError, WormOverwrite, WriteProtected

from ..device import Access, Request
from ..layout import Layout, bits, control, reserved
from ..sense import Asc, SenseKey, check
from .commands import SSC

FORMAT_MEDIUM = Layout("FORMAT MEDIUM", bits("opcode", 8), reserved(6), bits("verify", 1), bits("immed", 1),
                       reserved(4), bits("format", 4), bits("transfer_length", 16), *control())
SET_CAPACITY = Layout("SET CAPACITY", bits("opcode", 8), reserved(7), bits("immed", 1), reserved(8),
                      bits("capacity_proportion_value", 16), *control())

DEFAULT, PARTITION, DEFAULT_THEN_PARTITION = 0, 1, 2


def _at_bop0(dev) -> None:
    part = dev.medium()
    if part.number != 0 or part.pos != 0:
        raise check(SenseKey.ILLEGAL_REQUEST, Asc.COMMAND_SEQUENCE_ERROR)


def _do(dev, action) -> None:
    try:
        action()
    except WriteProtected:
        raise check(SenseKey.DATA_PROTECT, Asc.WRITE_PROTECTED) from None
    except WormOverwrite:
        raise check(SenseKey.DATA_PROTECT, Asc.WORM_MEDIUM_OVERWRITE_ATTEMPTED) from None
    except CartridgeError:
        raise check(SenseKey.ILLEGAL_REQUEST, Asc.PARAMETER_VALUE_INVALID) from None
    dev.cartridge.select(0)
    dev.cartridge.active.rewind()


@SSC.register("FORMAT MEDIUM", 0x04, FORMAT_MEDIUM, access=Access.WRITE)
def format_medium(dev, req: Request):
    f = req.fields
    if f.transfer_length:
        raise req.invalid("transfer_length")   # no format parameters are defined for LTO
    if f.format not in (DEFAULT, PARTITION, DEFAULT_THEN_PARTITION):
        raise req.invalid("format")
    _at_bop0(dev)
    if dev.software_write_protect:
        raise check(SenseKey.DATA_PROTECT, Asc.WRITE_PROTECTED)
    cart = dev.cartridge
    sizes = None if f.format == DEFAULT else dev.partition_page.pending_sizes(cart)
    _do(dev, lambda: cart.format(sizes))
    return None


@SSC.register("SET CAPACITY", 0x0B, SET_CAPACITY, access=Access.WRITE)
def set_capacity(dev, req: Request):
    f = req.fields
    if f.capacity_proportion_value == 0:
        raise req.invalid("capacity_proportion_value")
    _at_bop0(dev)
    cart = dev.cartridge
    capacity = cart.nominal_capacity * f.capacity_proportion_value // 0xFFFF
    _do(dev, lambda: cart.set_capacity(capacity))
    dev.unit_attentions.establish(Asc.CAPACITY_DATA_HAS_CHANGED, exclude=req.nexus)
    return None
