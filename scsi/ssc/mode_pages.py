"""The tape drive's mode pages (SSC-4 8.3) and its mode parameter block descriptor.

Each page is one declaration; values that mirror drive state (compression,
active partition, software write protect) are computed in ``current()`` and
written back in ``apply()``, so MODE SENSE never disagrees with the drive.
"""
from __future__ import annotations

from typing import Any

from images.cartridge import CartridgeError

from ..layout import Layout, bits, reserved
from ..sense import invalid_field_in_parameter_list
from ..spc.mode import BLOCK_DESCRIPTOR  # noqa: F401  (the drive validates against it)
from ..spc.mode_page import ModePage, page_layout

MODE_HEADER_DSP = Layout("device-specific parameter", bits("wp", 1), bits("buffered_mode", 3),
                         bits("speed", 4), in_cdb=False)


class ReadWriteErrorRecovery(ModePage):
    code = 0x01
    layout = page_layout("read-write error recovery page", reserved(2), bits("tb", 1), reserved(1),
                         bits("eer", 1), bits("per", 1), bits("dte", 1), bits("dcr", 1),
                         bits("read_retry_count", 8), reserved(32), bits("write_retry_count", 8),
                         reserved(24))
    changeable = frozenset({"per"})
    defaults = {"eer": 1, "read_retry_count": 5, "write_retry_count": 5}


class DisconnectReconnect(ModePage):
    code = 0x02
    layout = page_layout("disconnect-reconnect page", bits("buffer_full_ratio", 8),
                         bits("buffer_empty_ratio", 8), bits("bus_inactivity_limit", 16),
                         bits("disconnect_time_limit", 16), bits("connect_time_limit", 16),
                         bits("maximum_burst_size", 16), bits("emdp", 1), bits("fair_arbitration", 3),
                         bits("dimm", 1), bits("dtdc", 3), reserved(8), bits("first_burst_size", 16))
    changeable = frozenset({"maximum_burst_size"})
    defaults: dict[str, Any] = {}


class DataCompression(ModePage):
    code = 0x0F
    layout = page_layout("data compression page", bits("dce", 1), bits("dcc", 1), reserved(6),
                         bits("dde", 1), bits("red", 2), reserved(5),
                         bits("compression_algorithm", 32), bits("decompression_algorithm", 32),
                         reserved(32))
    changeable = frozenset({"dce", "dde", "compression_algorithm"})

    def __init__(self, drive) -> None:
        self.drive = drive
        code = drive.personality.compression_algorithm_code
        self.defaults = {"dce": int(drive.personality.supports_compression),
                         "dcc": int(drive.personality.supports_compression), "dde": 1,
                         "compression_algorithm": code, "decompression_algorithm": code}
        super().__init__()

    def current(self) -> dict[str, Any]:
        return dict(self.defaults, dce=int(self.drive.compression))

    def validate(self, new: dict[str, Any], base: int) -> None:
        p = self.drive.personality
        if new["dce"] and not p.supports_compression:
            raise self.layout.invalid("dce", base)
        if new["compression_algorithm"] not in (0, p.compression_algorithm_code):
            raise self.layout.invalid("compression_algorithm", base)
        if not new["dde"]:
            # Data written compressed must always be readable: DDE stays on.
            raise self.layout.invalid("dde", base)

    def apply(self, new: dict[str, Any]) -> None:
        self.drive.compression = bool(new["dce"]) and new["compression_algorithm"] != 0


class DeviceConfiguration(ModePage):
    code = 0x10
    layout = page_layout("device configuration page", reserved(1), bits("cap", 1), bits("caf", 1),
                         bits("active_format", 5), bits("active_partition", 8),
                         bits("write_object_buffer_full_ratio", 8), bits("read_object_buffer_empty_ratio", 8),
                         bits("write_delay_time", 16), bits("obr", 1), bits("lois", 1), bits("rsmk", 1),
                         bits("avc", 1), bits("socf", 2), bits("robo", 1), bits("rew", 1), bits("gap_size", 8),
                         bits("eod_defined", 3), bits("eeg", 1), bits("sew", 1), bits("swp", 1), bits("baml", 1),
                         bits("bam", 1), bits("object_buffer_size_at_early_warning", 24),
                         bits("select_data_compression_algorithm", 8), bits("wtre", 2), bits("oir", 1),
                         bits("rewind_on_reset", 2), bits("asocwp", 1), bits("perswp", 1), bits("prmwp", 1))
    changeable = frozenset({"cap", "active_partition", "write_delay_time", "swp",
                            "select_data_compression_algorithm"})
    defaults = {"lois": 1, "eeg": 1, "sew": 1, "write_delay_time": 100, "select_data_compression_algorithm": 1}

    def __init__(self, drive) -> None:
        self.drive = drive
        super().__init__()

    def current(self) -> dict[str, Any]:
        d = self.drive
        part = d.cartridge.active.number if d.cartridge is not None else 0
        return dict(self.values, active_partition=part, cap=0, swp=int(d.software_write_protect),
                    select_data_compression_algorithm=int(d.compression))

    def validate(self, new: dict[str, Any], base: int) -> None:
        d = self.drive
        if new["select_data_compression_algorithm"] > 1 or (
                new["select_data_compression_algorithm"] and not d.personality.supports_compression):
            raise self.layout.invalid("select_data_compression_algorithm", base)
        if new["cap"]:
            d.ready_check()
            if new["active_partition"] >= len(d.cartridge.partitions):
                raise self.layout.invalid("active_partition", base)
        elif d.cartridge is not None and new["active_partition"] != self.current()["active_partition"]:
            raise self.layout.invalid("active_partition", base)

    def apply(self, new: dict[str, Any]) -> None:
        d = self.drive
        self.values["write_delay_time"] = new["write_delay_time"]
        d.software_write_protect = bool(new["swp"])
        d.compression = bool(new["select_data_compression_algorithm"])
        if new["cap"] and d.cartridge is not None:
            d.flush()
            d.cartridge.select(new["active_partition"]).rewind()


PSUM_BYTES, PSUM_KB, PSUM_MB, PSUM_UNITS = 0, 1, 2, 3


class MediumPartition(ModePage):
    """Medium partition page (11h): partitions are defined here, made by FORMAT MEDIUM."""

    code = 0x11
    MAX_SIZES = 4
    layout = page_layout("medium partition page", bits("maximum_additional_partitions", 8),
                         bits("additional_partitions_defined", 8), bits("fdp", 1), bits("sdp", 1),
                         bits("idp", 1), bits("psum", 2), bits("pofm", 1), bits("clear", 1), bits("addp", 1),
                         bits("medium_format_recognition", 8), reserved(4), bits("partition_units", 4),
                         reserved(8), *[bits(f"partition_size_{i}", 16) for i in range(MAX_SIZES)])
    changeable = frozenset({"additional_partitions_defined", "fdp", "sdp", "idp", "psum", "pofm",
                            "partition_units", *(f"partition_size_{i}" for i in range(MAX_SIZES))})

    def __init__(self, drive) -> None:
        self.drive = drive
        super().__init__()
        self.pending: dict[str, Any] | None = None

    @property
    def max_partitions(self) -> int:
        cart = self.drive.cartridge
        return cart.media.max_partitions if cart is not None else 1

    def current(self) -> dict[str, Any]:
        cart = self.drive.cartridge
        vals: dict[str, Any] = {"maximum_additional_partitions": self.max_partitions - 1,
                                "medium_format_recognition": 0x03, "pofm": 1, "psum": PSUM_MB}
        if cart is not None:
            vals["additional_partitions_defined"] = len(cart.partitions) - 1
            for i, p in enumerate(cart.partitions[: self.MAX_SIZES]):
                vals[f"partition_size_{i}"] = min(0xFFFF, p.capacity // 1_000_000)
        return vals

    def image(self, pc: int) -> bytes:
        # Report as many size descriptors as the medium can have partitions (LTO-5: 2).
        full = super().image(pc)
        n = max(2, self.max_partitions)
        data = bytearray(full[: 8 + 2 * n])
        data[1] = len(data) - 2
        return bytes(data)

    def select(self, raw: memoryview, base: int) -> dict[str, Any]:
        length = raw[1] + 2
        if length < 8 or length % 2 or length > self.layout.size:
            raise self.layout.invalid("page_length", base)
        padded = bytearray(self.layout.size)
        padded[:length] = raw[:length]
        padded[1] = self.layout.size - 2
        parsed = self.layout.parse(padded)
        new = {f: parsed[f] for f in self.changeable}
        new["count"] = (length - 8) // 2
        if parsed.maximum_additional_partitions != self.max_partitions - 1:
            raise self.layout.invalid("maximum_additional_partitions", base)
        if sum((parsed.fdp, parsed.sdp, parsed.idp)) > 1:
            raise self.layout.invalid("fdp", base)
        if parsed.additional_partitions_defined >= self.max_partitions:
            raise self.layout.invalid("additional_partitions_defined", base)
        if parsed.idp and parsed.additional_partitions_defined + 1 > new["count"]:
            raise invalid_field_in_parameter_list(base + 1)
        return new

    def apply(self, new: dict[str, Any]) -> None:
        self.pending = new

    def pending_sizes(self, cart) -> list[int] | None:
        """Partition sizes in bytes for FORMAT MEDIUM, from the last MODE SELECT."""
        p = self.pending
        if p is None or not (p["fdp"] or p["sdp"] or p["idp"]):
            return None
        n = p["additional_partitions_defined"] + 1
        total = cart.nominal_capacity
        if p["fdp"] or p["sdp"]:
            # Fixed/select: the drive chooses equal partitions.
            return [total // n] * n if n > 1 else None
        unit = {PSUM_BYTES: 1, PSUM_KB: 1000, PSUM_MB: 1_000_000,
                PSUM_UNITS: 10 ** p["partition_units"]}[p["psum"]]
        sizes = [p[f"partition_size_{i}"] for i in range(n)]
        fixed = sum(s * unit for s in sizes if s != 0xFFFF)
        rest = [i for i, s in enumerate(sizes) if s == 0xFFFF]
        if len(rest) > 1 or fixed > total:
            raise CartridgeError(f"partition sizes {sizes} (x{unit} bytes) do not fit {total} bytes")
        out = [s * unit for s in sizes]
        for i in rest:
            out[i] = total - fixed
        if not rest and out:
            out[-1] += total - sum(out)   # LTO gives the remainder to the last partition
        return out


def mode_pages(drive) -> list[ModePage]:
    from ..spc.control_page import ControlPage
    from ..spc.informational_exceptions_page import InformationalExceptionsPage
    drive.partition_page = MediumPartition(drive)
    return [ReadWriteErrorRecovery(), DisconnectReconnect(), ControlPage(drive), DataCompression(drive),
            DeviceConfiguration(drive), drive.partition_page, InformationalExceptionsPage()]
