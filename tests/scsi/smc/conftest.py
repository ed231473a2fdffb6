"""A small library laid out like IBM's TS3100 (3573) and the helpers the SMC tests share.

Element addresses follow the 3573's scheme: transport 1, import/export from
16, drives from 256, storage from 4096.  CDBs built here are written byte by
byte from the SMC-3 tables, independently of our Layouts; python-scsi is the
other independent encoder/decoder.
"""
from __future__ import annotations

from typing import Callable

import pytest
from pyscsi.pyscsi.scsi import SCSI

from scsi import Nexus, Result
from scsi.sense import FieldPointer
from scsi.smc import Element, ElementType, Inventory, MediumChanger
from support.answers import assert_check as expect  # noqa: F401  (the smc tests import it from here)
from tests.pyscsi_adapter import PyscsiAdapter

TRANSPORT = 1
MAILSLOTS = [16, 17, 18, 19]
DRIVES = [256, 257, 258]
SLOTS = list(range(4096, 4096 + 20))
FULL_SLOTS = {4096 + i: f"A{i:05d}L8" for i in range(12)}

A = Nexus("iqn.2026-11.test:host-a", 1)
B = Nexus("iqn.2026-11.test:host-b", 2)


class FakeBay:
    """A drive bay whose hold on its tape the test sets by hand."""

    def __init__(self) -> None:
        self.barcode: str | None = None
        self.threaded = False
        self.removal_prevented = False
        self.refuse: Exception | None = None
        self.refuse_only: str | None = None
        """When set, only this barcode is refused."""
        self.log: list[tuple[str, str]] = []

    def accept(self, barcode: str) -> None:
        if self.refuse is not None and self.refuse_only in (None, barcode):
            raise self.refuse
        assert self.barcode is None, "accept into a full drive"
        self.barcode = barcode
        self.log.append(("accept", barcode))

    def release(self) -> str:
        assert self.barcode is not None, "release from an empty drive"
        barcode, self.barcode = self.barcode, None
        self.log.append(("release", barcode))
        return barcode


def make_elements() -> list[Element]:
    els = [Element(TRANSPORT, ElementType.TRANSPORT)]
    els += [Element(a, ElementType.IMPORT_EXPORT) for a in MAILSLOTS]
    els += [Element(a, ElementType.DATA_TRANSFER, identifier=f"10WT{i:06d}", vendor="IBM",
                    product="ULT3580-TD8", lun=i + 1) for i, a in enumerate(DRIVES)]
    els += [Element(a, ElementType.STORAGE, barcode=FULL_SLOTS.get(a), medium_type=1 if a in FULL_SLOTS else 0)
            for a in SLOTS]
    return els


@pytest.fixture
def bays() -> dict[int, FakeBay]:
    return {a: FakeBay() for a in DRIVES}


@pytest.fixture
def library(bays) -> Inventory:
    return Inventory(make_elements(), bays)


@pytest.fixture
def changer(library) -> MediumChanger:
    """A changer whose power-on unit attention A and B have already seen."""
    dev = MediumChanger(library, serial="00L4U78A1234", power_on_ua=False)
    dev.unit_attentions.first_contact(A, power_on=False)
    dev.unit_attentions.first_contact(B, power_on=False)
    return dev


@pytest.fixture
def run(changer) -> Callable[..., Result]:
    """run(cdb, data_out=None, nexus=A) -> Result."""
    def _run(cdb: bytes, data_out: bytes | None = None, nexus: Nexus = A) -> Result:
        return changer.execute(nexus, bytes(cdb), data_out)
    return _run


@pytest.fixture
def pyscsi(changer) -> SCSI:
    """python-scsi on nexus A; its INQUIRY makes it pick the SMC opcode table."""
    return SCSI(PyscsiAdapter(changer, A))


def cdb_pointer(byte: int, bit: int | None = None) -> FieldPointer:
    return FieldPointer(byte, bit, True)


# -- CDBs from the SMC-3 tables ---------------------------------------------------------
def read_element_status(start: int = 0, count: int = 0xFFFF, element_type: int = 0, voltag: bool = False,
                        dvcid: bool = False, curdata: bool = False, allocation: int = 0xFFFFFF) -> bytes:
    return (bytes([0xB8, (0x10 if voltag else 0) | element_type]) + start.to_bytes(2, "big")
            + count.to_bytes(2, "big") + bytes([(2 if curdata else 0) | (1 if dvcid else 0)])
            + allocation.to_bytes(3, "big") + b"\0\0")


def move_medium(source: int, destination: int, transport: int = 0, invert: bool = False) -> bytes:
    return (bytes([0xA5, 0]) + transport.to_bytes(2, "big") + source.to_bytes(2, "big")
            + destination.to_bytes(2, "big") + b"\0\0" + bytes([int(invert), 0]))


def exchange_medium(source: int, first: int, second: int, transport: int = 0, inv1: bool = False,
                    inv2: bool = False) -> bytes:
    return (bytes([0xA6, 0]) + transport.to_bytes(2, "big") + source.to_bytes(2, "big")
            + first.to_bytes(2, "big") + second.to_bytes(2, "big")
            + bytes([(2 if inv1 else 0) | (1 if inv2 else 0), 0]))


def position_to_element(destination: int, transport: int = 0, invert: bool = False) -> bytes:
    return (bytes([0x2B, 0]) + transport.to_bytes(2, "big") + destination.to_bytes(2, "big")
            + b"\0\0" + bytes([int(invert), 0]))


def initialize_element_status() -> bytes:
    return bytes([0x07, 0, 0, 0, 0, 0])


def initialize_element_status_with_range(start: int = 0, count: int = 0, use_range: bool = False,
                                         fast: bool = False) -> bytes:
    return (bytes([0x37, (2 if fast else 0) | int(use_range)]) + start.to_bytes(2, "big") + b"\0\0"
            + count.to_bytes(2, "big") + b"\0\0")


def prevent_allow(prevent: int) -> bytes:
    return bytes([0x1E, 0, 0, 0, prevent, 0])


def mode_sense6(page: int, pc: int = 0, dbd: bool = True, allocation: int = 255) -> bytes:
    return bytes([0x1A, 0x08 if dbd else 0, (pc << 6) | page, 0, allocation, 0])
