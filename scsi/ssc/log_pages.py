"""The tape drive's log pages, with counters that are true.

Values come from the drive's counters (``DriveStats``), the loaded cartridge
and its MAM; nothing here is a constant pretending to be a measurement.
"""
from __future__ import annotations

from ..spc.log_page import CounterPage, LogPage, LogParameter, ParameterFormat

MB = 1_000_000
MIB = 1024 * 1024


def error_counters(stats, direction: str) -> dict[int, int]:
    """Pages 02h/03h: no error is ever corrected (the medium is a file), so the
    corrected counts are zero and the uncorrected count is the CRC failures."""
    processed = stats.host_bytes_written if direction == "write" else stats.host_bytes_read
    uncorrected = stats.write_errors if direction == "write" else stats.read_errors
    return {0x0000: 0, 0x0001: 0, 0x0002: 0, 0x0003: 0, 0x0004: 0, 0x0005: processed, 0x0006: uncorrected}


def sequential_access(drive) -> dict[int, int]:
    """Page 0Ch (SSC-4 8.2.3)."""
    s = drive.stats
    out = {0x0000: s.host_bytes_written, 0x0001: s.medium_bytes_written,
           0x0002: s.medium_bytes_read, 0x0003: s.host_bytes_read}
    cart = drive.cartridge
    if cart is not None:
        part = cart.active
        out[0x0004] = part.end // MB                                          # BOP to EOD
        out[0x0005] = max(0, part.capacity - part.early_warning) // MB        # BOP to early warning
        out[0x0006] = part.early_warning // MB                                # early warning to EOP
        out[0x0007] = part.used_before() // MB                                # BOP to current position
    out[0x0008] = 0                                                           # nothing buffered
    out[0x0100] = int(drive.cleaning_required)
    return out


def volume_statistics(drive) -> dict[int, int | bytes]:
    """Page 17h: statistics of the loaded volume (lifetime from its MAM)."""
    cart = drive.cartridge
    if cart is None:
        return {0x0000: 0}
    ls = drive.load_stats
    parts = cart.partitions
    return {
        0x0000: 1,                                  # page valid
        0x0001: cart.mam_int(0x0003),               # thread count
        0x0002: ls.blocks_written, 0x0003: 0, 0x0004: ls.write_errors, 0x0005: 0, 0x0006: 0,
        0x0007: ls.blocks_read, 0x0008: 0, 0x0009: ls.read_errors,
        0x000C: ls.write_errors, 0x000D: ls.read_errors,
        0x000E: ls.host_bytes_written // MIB, 0x000F: ls.host_bytes_read // MIB,
        0x0010: cart.mam_int(0x0220) + ls.host_bytes_written // MIB,
        0x0011: cart.mam_int(0x0221) + ls.host_bytes_read // MIB,
        0x0012: _ratio(ls.host_bytes_written, ls.medium_bytes_written),
        0x0013: _ratio(ls.host_bytes_read, ls.medium_bytes_read),
        0x0016: cart.capacity // MB,
        0x0017: sum(p.end for p in parts) // MB,
        0x0040: cart.mam_get(0x0401) or b"",
        0x0042: cart.barcode.encode("ascii", "replace").ljust(32),
        0x0043: b"VTL".ljust(8),
        0x0080: int(cart.write_protected),
        0x0081: int(cart.worm),
    }


def _ratio(host: int, medium: int) -> int:
    """Compression ratio x100, as IBM and HP report it."""
    return host * 100 // medium if medium else 100


def tape_capacity(drive) -> dict[int, int]:
    """Page 31h (IBM/HP): remaining and maximum capacity of partitions 0 and 1, in MiB."""
    cart = drive.cartridge
    parts = cart.partitions if cart is not None else []
    get = lambda i, attr: getattr(parts[i], attr) // MIB if i < len(parts) else 0  # noqa: E731
    return {0x0001: get(0, "remaining"), 0x0002: get(1, "remaining"),
            0x0003: get(0, "capacity"), 0x0004: get(1, "capacity")}


def data_compression(drive) -> dict[int, int]:
    """Page 32h (IBM/HP): ratios and MB/byte-remainder pairs since the last reset."""
    s = drive.stats

    def split(n: int) -> tuple[int, int]:
        return n // MB, n % MB

    out = {0x0000: _ratio(s.host_bytes_read, s.medium_bytes_read),
           0x0001: _ratio(s.host_bytes_written, s.medium_bytes_written)}
    for code, value in ((0x0002, s.host_bytes_read), (0x0004, s.medium_bytes_read),
                        (0x0006, s.host_bytes_written), (0x0008, s.medium_bytes_written)):
        out[code], out[code + 1] = split(value)
    out[0x0100] = int(drive.compression)
    return out


class VolumeStatistics(LogPage):
    """Page 17h: counters as bounded counters, names as ASCII, flags as binary."""

    code = 0x17

    def __init__(self, drive) -> None:
        self.drive = drive

    def parameters(self) -> list[LogParameter]:
        out = []
        for code, value in volume_statistics(self.drive).items():
            if isinstance(value, bytes):
                out.append(LogParameter(code, value, ParameterFormat.ASCII_LIST))
            elif code in (0x0080, 0x0081):
                out.append(LogParameter.binary(code, bytes([value])))
            else:
                out.append(LogParameter.counter(code, value, 8 if code >= 0x000E else 4))
        return out

    def reset(self) -> None:
        self.drive.load_stats.reset()


class TapeAlertPage(LogPage):
    """Page 2Eh: 64 one-byte flags; reading the page clears them (TapeAlert rule)."""

    code = 0x2E

    def __init__(self, drive) -> None:
        self.drive = drive

    def parameters(self) -> list[LogParameter]:
        active = self.drive.alerts.read_and_clear()
        return [LogParameter.binary(flag, bytes([1 if flag in active else 0])) for flag in range(1, 65)]

    def reset(self) -> None:
        self.drive.alerts.read_and_clear()


def log_pages(drive) -> list[LogPage]:
    stats = drive.stats
    return [
        CounterPage(0x02, lambda: error_counters(stats, "write"), clear=stats.reset, widths={5: 8}),
        CounterPage(0x03, lambda: error_counters(stats, "read"), clear=stats.reset, widths={5: 8}),
        CounterPage(0x0C, lambda: sequential_access(drive), clear=stats.reset, width=8),
        VolumeStatistics(drive),
        TapeAlertPage(drive),
        CounterPage(0x31, lambda: tape_capacity(drive)),
        CounterPage(0x32, lambda: data_compression(drive), clear=stats.reset,
                    widths={0x0000: 2, 0x0001: 2, 0x0100: 1}),
    ]
