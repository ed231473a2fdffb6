"""READ ATTRIBUTE and WRITE ATTRIBUTE: the cartridge's medium auxiliary memory.

The catalogue of attributes is the cartridge's (``images.cartridge.mam``);
this module is the SPC-4 wire encoding of attribute lists and the rules about
who may write what.  Device attributes (remaining capacity, TapeAlert flags)
are computed live, so they are always true.
"""
from __future__ import annotations

from construct import BitStruct, BitsInteger, Flag, GreedyBytes, Int16ub, Padding, Prefixed, Struct

from images.cartridge import mam

from ..device import Access, Request
from ..layout import Layout, bits, control, reserved
from ..sense import Asc, SenseKey, check, invalid_field_in_parameter_list
from .commands import SSC
from .drive import DriveState

MIB = 1024 * 1024

READ_ATTRIBUTE = Layout("READ ATTRIBUTE", bits("opcode", 8), reserved(3), bits("service_action", 5),
                        reserved(24), bits("logical_volume_number", 8), reserved(8),
                        bits("partition_number", 8), bits("first_attribute_identifier", 16),
                        bits("allocation_length", 32), reserved(7), bits("cache", 1), *control())
WRITE_ATTRIBUTE = Layout("WRITE ATTRIBUTE", bits("opcode", 8), reserved(7), bits("wtc", 1), reserved(24),
                         bits("logical_volume_number", 8), reserved(8), bits("partition_number", 8),
                         reserved(16), bits("parameter_list_length", 32), reserved(8), *control())

AttributeEntry = Struct(
    "id" / Int16ub,
    "flags" / BitStruct("read_only" / Flag, Padding(5), "format" / BitsInteger(2)),
    "value" / Prefixed(Int16ub, GreedyBytes),
)
ATTRIBUTE_VALUES, ATTRIBUTE_LIST, LOGICAL_VOLUME_LIST, PARTITION_LIST, SUPPORTED_ATTRIBUTES = 0, 1, 2, 3, 5
PER_PARTITION = {0x0000, 0x0001}


def _cartridge(dev):
    if dev.cartridge is None or dev.state in (DriveState.EMPTY, DriveState.UNLOADED):
        raise check(SenseKey.NOT_READY, Asc.MEDIUM_NOT_PRESENT)
    return dev.cartridge


def attribute_values(dev, cart, partition: int) -> dict[int, bytes]:
    """Every attribute the cartridge holds, with the live device attributes."""
    values = {i: cart.mam_get(i) for i in cart.mam_ids()}
    part = cart.partitions[partition]
    values[0x0000] = mam.binary_value(part.remaining // MIB, 8)
    values[0x0001] = mam.binary_value(part.capacity // MIB, 8)
    values[0x0002] = mam.binary_value(dev.alerts.as_int(), 8)
    values[0x0004] = mam.binary_value(max(0, mam.MAM_CAPACITY - cart.mam_used()), 8)
    return dict(sorted(values.items()))


def _encode(attr_id: int, value: bytes) -> bytes:
    a = mam.lookup(attr_id)
    return AttributeEntry.build(dict(id=attr_id, flags=dict(read_only=a.read_only, format=int(a.format)),
                                     value=value))


def _addressed(dev, req: Request):
    """The cartridge, once the CDB's volume and partition numbers are checked."""
    f = req.fields
    if f.logical_volume_number:
        raise req.invalid("logical_volume_number")
    cart = _cartridge(dev)
    if f.partition_number >= len(cart.partitions):
        raise req.invalid("partition_number")
    return cart


def _read_attribute(dev, req: Request):
    f = req.fields
    cart = _addressed(dev, req)
    sa = f.service_action
    first = f.first_attribute_identifier
    if sa == ATTRIBUTE_VALUES:
        body = b"".join(_encode(i, v) for i, v in attribute_values(dev, cart, f.partition_number).items()
                        if i >= first)
        return len(body).to_bytes(4, "big") + body
    if sa == ATTRIBUTE_LIST:
        body = b"".join(i.to_bytes(2, "big") for i in attribute_values(dev, cart, f.partition_number) if i >= first)
        return len(body).to_bytes(4, "big") + body
    if sa == SUPPORTED_ATTRIBUTES:
        body = b"".join(i.to_bytes(2, "big") for i in sorted(mam.ATTRIBUTES) if i >= first)
        return len(body).to_bytes(4, "big") + body
    if sa == LOGICAL_VOLUME_LIST:
        return bytes([0, 2, 0, 1])
    return bytes([0, 2, 0, len(cart.partitions)])


for _sa, _name in ((ATTRIBUTE_VALUES, "ATTRIBUTE VALUES"), (ATTRIBUTE_LIST, "ATTRIBUTE LIST"),
                   (LOGICAL_VOLUME_LIST, "LOGICAL VOLUME LIST"), (PARTITION_LIST, "PARTITION LIST"),
                   (SUPPORTED_ATTRIBUTES, "SUPPORTED ATTRIBUTES")):
    SSC.register(f"READ ATTRIBUTE ({_name})", 0x8C, READ_ATTRIBUTE, service_action=_sa,
                 access=Access.READ)(_read_attribute)


@SSC.register("WRITE ATTRIBUTE", 0x8D, WRITE_ATTRIBUTE, access=Access.WRITE)
def write_attribute(dev, req: Request):
    f = req.fields
    cart = _addressed(dev, req)
    if f.parameter_list_length < 4:
        if f.parameter_list_length == 0:
            return None
        raise check(SenseKey.ILLEGAL_REQUEST, Asc.PARAMETER_LIST_LENGTH_ERROR)
    data = req.parameters(f.parameter_list_length)
    declared = int.from_bytes(data[:4], "big")
    if declared + 4 > len(data):
        raise check(SenseKey.ILLEGAL_REQUEST, Asc.PARAMETER_LIST_LENGTH_ERROR)
    if cart.write_protected:
        raise check(SenseKey.DATA_PROTECT, Asc.WRITE_PROTECTED)
    updates: list[tuple[int, bytes | None]] = []
    off = 4
    end = 4 + declared
    while off < end:
        if end - off < 5:
            raise invalid_field_in_parameter_list(off)
        attr_id = int.from_bytes(data[off:off + 2], "big")
        fmt = data[off + 2] & 0x03
        length = int.from_bytes(data[off + 3:off + 5], "big")
        if off + 5 + length > end:
            raise invalid_field_in_parameter_list(off + 3)
        try:
            a = mam.lookup(attr_id)
        except KeyError:
            raise invalid_field_in_parameter_list(off) from None
        if a.read_only:
            raise invalid_field_in_parameter_list(off)
        if fmt != a.format:
            raise invalid_field_in_parameter_list(off + 2, 1)
        if length and a.length and length != a.length:
            raise invalid_field_in_parameter_list(off + 3)
        updates.append((attr_id, bytes(data[off + 5:off + 5 + length]) or None))
        off += 5 + length
    used = cart.mam_used()
    for attr_id, value in updates:
        old = cart.mam_get(attr_id)
        used += (5 + len(value) if value else 0) - (5 + len(old) if old is not None else 0)
    if used > mam.MAM_CAPACITY:
        raise check(SenseKey.ILLEGAL_REQUEST, Asc.AUXILIARY_MEMORY_OUT_OF_SPACE)
    for attr_id, value in updates:
        cart.mam_set(attr_id, value)
    cart.flush()
    return None
