"""A small SPC-only device and the helpers the SPC command tests share.

The device is a sequential-access logical unit (peripheral type 01h) with
exactly the hooks the SPC modules rely on, and nothing tape-specific: two mode
pages of its own besides Control and Informational Exceptions, a block
descriptor, two log pages, and a readiness flag.
"""
from __future__ import annotations

from typing import Any, Callable

import pytest
from pyscsi.pyscsi.scsi import SCSI

import scsi.spc.inquiry  # noqa: F401  (each import registers its commands in SPC)
import scsi.spc.log  # noqa: F401
import scsi.spc.mode  # noqa: F401
import scsi.spc.report_luns  # noqa: F401
import scsi.spc.report_opcodes  # noqa: F401
import scsi.spc.request_sense  # noqa: F401
import scsi.spc.test_unit_ready  # noqa: F401
from scsi import Asc, CommandSet, Nexus, Result, ScsiDevice, Sense, SenseKey
from scsi.identity import Identity
from scsi.layout import Layout, bits, reserved
from scsi.sense import FieldPointer, check
from scsi.spc.commands import SPC
from scsi.spc.control_page import ControlPage
from scsi.spc.informational_exceptions_page import InformationalExceptionsPage
from scsi.spc.log_page import CounterPage, LogPage, LogParameter
from scsi.spc.mode import BLOCK_DESCRIPTOR
from scsi.spc.mode_page import ModePage, page_layout
from support.answers import assert_check  # noqa: F401  (the spc tests import it from here)
from tests.pyscsi_adapter import PyscsiAdapter

TEST_COMMANDS = CommandSet("SPC test device", [SPC])

DEVICE_SPECIFIC = Layout("device-specific parameter", bits("wp", 1), bits("buffered_mode", 3),
                         bits("speed", 4), in_cdb=False)

DENSITY = 0x58
MAX_BLOCK_LENGTH = 0xFFFF


class TunablePage(ModePage):
    """Page 25h: ENABLE and LEVEL (0-7) changeable, MODEL fixed."""

    code = 0x25
    layout = page_layout("tunable page", bits("enable", 1), reserved(3), bits("level", 4),
                         bits("model", 16), reserved(8))
    changeable = frozenset({"enable", "level"})
    defaults = dict(enable=False, level=2, model=0x1234)

    def validate(self, new: dict[str, Any], base: int) -> None:
        if new["level"] > 7:
            raise self.layout.invalid("level", base)


class FixedSubpage(ModePage):
    """Page 25h subpage 01h: nothing changeable."""

    code = 0x25
    subpage = 0x01
    layout = page_layout("fixed subpage", bits("width", 8), reserved(8), subpage=True)
    defaults = dict(width=10)


class FactsPage(LogPage):
    """Page 33h: a list of facts, nothing to reset."""

    code = 0x33

    def parameters(self) -> list[LogParameter]:
        return [LogParameter.binary(0x0010, b"\x01\x02"), LogParameter.ascii(0x0001, "FW 1.0")]


class SpcTestDevice(ScsiDevice):
    commands = TEST_COMMANDS
    peripheral_device_type = 0x01
    removable = True
    version_descriptors = (0x0520,)     # SSC-4

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.identity = Identity("VTLTEST", "SPC TEST DEVICE", "0.1", "TST0001234")
        self.ready = True
        self.density_code = DENSITY
        self.block_length = 0
        self.buffered_mode = 1
        self.write_protected = False
        self.mode_changes = 0
        self.mode_pages = [ControlPage(self), InformationalExceptionsPage(), TunablePage(),
                           FixedSubpage()]
        self.stats = {0x0000: 0, 0x0001: 0, 0x0002: 0}
        self.log_pages = [CounterPage(0x32, lambda: dict(self.stats), clear=self.clear_stats,
                                      widths={0x0002: 8}),
                          FactsPage()]

    def clear_stats(self) -> None:
        self.stats = dict.fromkeys(self.stats, 0)

    def ready_check(self, nexus: Nexus | None = None) -> None:
        if not self.ready:
            raise check(SenseKey.NOT_READY, Asc.MEDIUM_NOT_PRESENT)

    def current_sense(self, nexus: Nexus) -> Sense:
        return Sense(SenseKey.NO_SENSE) if self.ready else Sense.of(SenseKey.NOT_READY, Asc.MEDIUM_NOT_PRESENT)

    def block_descriptor(self) -> tuple[int, int, int]:
        return self.density_code, 0, self.block_length

    def select_block_descriptor(self, density: int, blocks: int, block_length: int, base: int) -> None:
        if density not in (0, DENSITY):
            raise BLOCK_DESCRIPTOR.invalid("density_code", base)
        if blocks:
            raise BLOCK_DESCRIPTOR.invalid("number_of_blocks", base)
        if block_length > MAX_BLOCK_LENGTH:
            raise BLOCK_DESCRIPTOR.invalid("block_length", base)
        self.density_code = density or DENSITY
        self.block_length = block_length

    def medium_type(self) -> int:
        return 0

    def device_specific_parameter(self) -> int:
        return DEVICE_SPECIFIC.build(wp=self.write_protected, buffered_mode=self.buffered_mode)[0]

    def select_device_specific(self, value: int, base: int) -> None:
        mode = DEVICE_SPECIFIC.parse(bytes([value])).buffered_mode
        if mode not in (0, 1):
            raise DEVICE_SPECIFIC.invalid("buffered_mode", base)
        self.buffered_mode = mode

    def mode_changed(self) -> None:
        self.mode_changes += 1


A = Nexus("iqn.2026-11.test:host-a", target_port=1)
B = Nexus("iqn.2026-11.test:host-b", target_port=2)


@pytest.fixture
def nexus_a() -> Nexus:
    """The initiator the ``run`` and ``pyscsi`` fixtures use (target port 1)."""
    return A


@pytest.fixture
def nexus_b() -> Nexus:
    """A second initiator, through target port 2."""
    return B


@pytest.fixture
def device() -> SpcTestDevice:
    """A device that has already reported its power-on unit attention to A and B."""
    dev = SpcTestDevice(power_on_ua=False)
    dev.unit_attentions.first_contact(A, power_on=False)
    dev.unit_attentions.first_contact(B, power_on=False)
    return dev


@pytest.fixture
def powered_on() -> SpcTestDevice:
    """A device just powered on: every new nexus first sees 29/00."""
    return SpcTestDevice()


@pytest.fixture
def run(device: SpcTestDevice) -> Callable[..., Result]:
    """run(cdb, data_out=None, nexus=A) -> Result, on the fixture device."""
    def _run(cdb: bytes, data_out: bytes | None = None, nexus: Nexus = A) -> Result:
        return device.execute(nexus, bytes(cdb), data_out)
    return _run


@pytest.fixture
def pyscsi(device: SpcTestDevice) -> SCSI:
    """python-scsi's SCSI object talking to the fixture device on nexus A."""
    return SCSI(PyscsiAdapter(device, A))


@pytest.fixture
def invalid_cdb() -> Callable[[Result, int, int | None], Sense]:
    """invalid_cdb(result, byte, bit): ILLEGAL REQUEST / INVALID FIELD IN CDB at byte/bit."""
    return lambda result, byte, bit=None: assert_check(
        result, SenseKey.ILLEGAL_REQUEST, Asc.INVALID_FIELD_IN_CDB, FieldPointer(byte, bit, True))


@pytest.fixture
def invalid_parameter() -> Callable[[Result, int, int | None], Sense]:
    """invalid_parameter(result, byte, bit): INVALID FIELD IN PARAMETER LIST at byte/bit."""
    return lambda result, byte, bit=None: assert_check(
        result, SenseKey.ILLEGAL_REQUEST, Asc.INVALID_FIELD_IN_PARAMETER_LIST,
        FieldPointer(byte, bit, False))


@pytest.fixture
def expect_check() -> Callable[..., Sense]:
    """expect_check(result, key, (asc, ascq), pointer=None) -> the decoded sense."""
    return assert_check
