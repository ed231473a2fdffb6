"""INQUIRY (SPC-4 6.6): standard data and the vital product data pages.

Hosts decide what a logical unit *is* from this command alone (the st and ch
drivers bind on the peripheral device type, multipath tools on the VPD 0x83
designators), so every byte here is declared as SPC-4 lays it out.  Pages
beyond 0x00/0x80/0x83 come from the device (``dev.vpd_pages``, e.g. SSC's
0xB0), which supplies only the page body; the header is added here so it is
always right.
"""
from __future__ import annotations

from typing import Callable

from construct import (
    Array, BitStruct, BitsInteger, Bytes, Flag, GreedyBytes, Int8ub, Int16ub, Padding,
    Prefixed, Struct,
)

from ..device import Access, Request, ScsiDevice
from ..layout import Layout, bits, control, reserved
from ..nexus import Nexus
from .commands import SPC
from .target_port_groups import group_of_port, groups_of

INQUIRY = Layout("INQUIRY", bits("opcode", 8), reserved(6), bits("cmddt", 1), bits("evpd", 1),
                 bits("page_code", 8), bits("allocation_length", 16), *control())

SPC4_VERSION = 0x06
"""VERSION field value claiming SPC-4."""

SAM5 = 0x00A0   # T10 version descriptor: SAM-5 (no version claimed)
SPC4 = 0x0460   # SPC-4 (no version claimed)
VERSION_DESCRIPTOR_SLOTS = 8

StandardInquiry = Struct(
    "head" / BitStruct(
        "peripheral_qualifier" / BitsInteger(3), "peripheral_device_type" / BitsInteger(5),
        "rmb" / Flag, "lu_cong" / Flag, Padding(6),
        "version" / BitsInteger(8),
        Padding(2), "normaca" / Flag, "hisup" / Flag, "response_data_format" / BitsInteger(4),
        "additional_length" / BitsInteger(8),
        "sccs" / Flag, "acc" / Flag, "tpgs" / BitsInteger(2), "threepc" / Flag, Padding(2),
        "protect" / Flag,
        Padding(1), "encserv" / Flag, "vs1" / Flag, "multip" / Flag, Padding(4),
        Padding(6), "cmdque" / Flag, "vs2" / Flag,
    ),
    "vendor" / Bytes(8),
    "product" / Bytes(16),
    "revision" / Bytes(4),
    "vendor_specific" / Bytes(20),
    Padding(2),                       # bytes 56-57: SPI-only bits, then reserved
    "version_descriptors" / Array(VERSION_DESCRIPTOR_SLOTS, Int16ub),
    Padding(22),                      # bytes 74-95: reserved
)
STANDARD_SIZE = 96

VpdPage = Struct(
    "head" / BitStruct("peripheral_qualifier" / BitsInteger(3),
                       "peripheral_device_type" / BitsInteger(5)),
    "page_code" / Int8ub,
    "body" / Prefixed(Int16ub, GreedyBytes),
)

Designator = Struct(
    "head" / BitStruct(
        "protocol_identifier" / BitsInteger(4), "code_set" / BitsInteger(4),
        "piv" / Flag, Padding(1), "association" / BitsInteger(2), "designator_type" / BitsInteger(4),
    ),
    Padding(1),
    "designator" / Prefixed(Int8ub, GreedyBytes),
)

# Designation descriptor vocabulary (SPC-4 7.8.6.1).
CODE_SET_BINARY, CODE_SET_ASCII = 1, 2
ASSOCIATION_LU, ASSOCIATION_TARGET_PORT = 0, 1
TYPE_T10_VENDOR_ID, TYPE_NAA, TYPE_RELATIVE_TARGET_PORT, TYPE_TARGET_PORT_GROUP = 1, 3, 4, 5

SUPPORTED_PAGES, UNIT_SERIAL_NUMBER, DEVICE_IDENTIFICATION = 0x00, 0x80, 0x83


def standard_data(dev: ScsiDevice) -> bytes:
    vendor, product, revision = dev.identity.padded()
    wanted = (SAM5, SPC4, *getattr(dev, "version_descriptors", ()))
    descriptors = list(dict.fromkeys(wanted))[:VERSION_DESCRIPTOR_SLOTS]
    descriptors += [0] * (VERSION_DESCRIPTOR_SLOTS - len(descriptors))
    groups = groups_of(dev)
    alua = bool(getattr(dev, "alua", False)) or groups is not None
    ports = sum(len(g.ports) for g in groups) if groups is not None else 0
    multiport = bool(getattr(dev, "multiport", False)) or ports > 1
    return StandardInquiry.build(dict(
        head=dict(peripheral_qualifier=0, peripheral_device_type=dev.peripheral_device_type,
                  rmb=bool(getattr(dev, "removable", False)), lu_cong=False,
                  version=SPC4_VERSION, normaca=False, hisup=True, response_data_format=2,
                  additional_length=STANDARD_SIZE - 5,
                  sccs=False, acc=False, tpgs=0b01 if alua else 0,
                  threepc=False, protect=False,
                  encserv=False, vs1=False, multip=multiport,
                  cmdque=True, vs2=False),
        vendor=vendor, product=product, revision=revision,
        vendor_specific=bytes(20), version_descriptors=descriptors,
    ))


def designator(code_set: int, association: int, kind: int, value: bytes,
               protocol_identifier: int | None = None) -> bytes:
    """One designation descriptor; PIV is set exactly when a protocol identifier is given."""
    return Designator.build(dict(
        head=dict(protocol_identifier=protocol_identifier or 0, code_set=code_set,
                  piv=protocol_identifier is not None, association=association,
                  designator_type=kind),
        designator=value,
    ))


def device_identification(dev: ScsiDevice, nexus: Nexus) -> bytes:
    """VPD 0x83: LU names (NAA, T10 vendor id), then the target port the command came through.

    A transport that cannot tell the port (TCMU hands userspace no nexus) uses
    target port 0, and the port designators are left out rather than guessed.
    """
    ident = dev.identity
    vendor, product, _ = ident.padded()
    protocol = getattr(dev, "protocol_identifier", None)
    body = [
        designator(CODE_SET_BINARY, ASSOCIATION_LU, TYPE_NAA, ident.naa_name.to_bytes(8, "big")),
        designator(CODE_SET_ASCII, ASSOCIATION_LU, TYPE_T10_VENDOR_ID,
                   vendor + product + ident.serial.encode("ascii")),
    ]
    if nexus.target_port == 0:
        return b"".join(body)
    body.append(designator(CODE_SET_BINARY, ASSOCIATION_TARGET_PORT, TYPE_RELATIVE_TARGET_PORT,
                           nexus.target_port.to_bytes(4, "big"), protocol))
    group_of = getattr(dev, "target_port_group", None)
    group = group_of(nexus) if callable(group_of) else group_of_port(dev, nexus)
    if group is not None:
        body.append(designator(CODE_SET_BINARY, ASSOCIATION_TARGET_PORT, TYPE_TARGET_PORT_GROUP,
                               group.to_bytes(4, "big"), protocol))
    return b"".join(body)


def vpd_pages(dev: ScsiDevice, nexus: Nexus) -> dict[int, Callable[[], bytes]]:
    """Page code -> body builder, for every VPD page this device has."""
    pages: dict[int, Callable[[], bytes]] = dict(getattr(dev, "vpd_pages", {}))
    pages[UNIT_SERIAL_NUMBER] = lambda: dev.identity.serial.encode("ascii")
    pages[DEVICE_IDENTIFICATION] = lambda: device_identification(dev, nexus)
    pages[SUPPORTED_PAGES] = lambda: bytes(sorted(pages))
    return pages


def vpd_page(dev: ScsiDevice, code: int, body: bytes) -> bytes:
    return VpdPage.build(dict(head=dict(peripheral_qualifier=0,
                                        peripheral_device_type=dev.peripheral_device_type),
                              page_code=code, body=body))


@SPC.register("INQUIRY", 0x12, INQUIRY, access=Access.ALWAYS, allowed_with_ua=True)
def inquiry(dev: ScsiDevice, req: Request) -> bytes:
    f = req.fields
    if f.cmddt:
        raise req.invalid("cmddt")
    if not f.evpd:
        if f.page_code:
            raise req.invalid("page_code")
        return standard_data(dev)
    pages = vpd_pages(dev, req.nexus)
    build = pages.get(f.page_code)
    if build is None:
        raise req.invalid("page_code")
    return vpd_page(dev, f.page_code, build())
