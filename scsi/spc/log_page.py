"""Log pages: what LOG SENSE reports and LOG SELECT resets.

A page is a code, a subpage and a list of :class:`LogParameter`; the wire
format (page header, parameter header with its control byte) is declared once
here.  Most device pages are a handful of counters kept elsewhere (the drive's
statistics), so :class:`CounterPage` declares one from a function that reads
them and, optionally, one that clears them.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import IntEnum
from typing import Callable, ClassVar, Mapping

from construct import BitStruct, BitsInteger, Flag, GreedyBytes, GreedyRange, Int8ub, Int16ub, Prefixed, Struct

from ..layout import Layout, bits
from ..sense import CheckCondition


class ParameterFormat(IntEnum):
    """FORMAT AND LINKING (SPC-4 table 'FORMAT AND LINKING field')."""

    BOUNDED_COUNTER = 0b00      # a data counter that stops at its maximum
    ASCII_LIST = 0b01
    COUNTER = 0b10              # bounded or unbounded data counter
    BINARY_LIST = 0b11


ParameterControl = BitStruct(
    "du" / Flag, "obsolete" / Flag, "tsd" / Flag, "etc" / Flag, "tmc" / BitsInteger(2),
    "format_and_linking" / BitsInteger(2),
)

LogParameterStruct = Struct(
    "parameter_code" / Int16ub,
    "control" / ParameterControl,
    "value" / Prefixed(Int8ub, GreedyBytes),
)

LogPageStruct = Struct(
    "head" / BitStruct("ds" / Flag, "spf" / Flag, "page_code" / BitsInteger(6)),
    "subpage_code" / Int8ub,
    "body" / Prefixed(Int16ub, GreedyBytes),
)
ParameterList = GreedyRange(LogParameterStruct)

LOG_PAGE_HEADER = Layout("log page header", bits("ds", 1), bits("spf", 1), bits("page_code", 6),
                         bits("subpage_code", 8), bits("page_length", 16), in_cdb=False)


@dataclass(frozen=True)
class LogParameter:
    """One log parameter.  TSD is always set: nothing here is saved by the device."""

    code: int
    value: bytes
    fmt: ParameterFormat = ParameterFormat.BINARY_LIST

    @classmethod
    def counter(cls, code: int, value: int, width: int = 4) -> "LogParameter":
        """A bounded data counter of ``width`` bytes; it saturates rather than wrapping."""
        top = (1 << (8 * width)) - 1
        return cls(code, min(max(value, 0), top).to_bytes(width, "big"), ParameterFormat.BOUNDED_COUNTER)

    @classmethod
    def ascii(cls, code: int, text: str) -> "LogParameter":
        return cls(code, text.encode("ascii"), ParameterFormat.ASCII_LIST)

    @classmethod
    def binary(cls, code: int, data: bytes) -> "LogParameter":
        return cls(code, bytes(data), ParameterFormat.BINARY_LIST)

    @property
    def is_counter(self) -> bool:
        return self.fmt in (ParameterFormat.BOUNDED_COUNTER, ParameterFormat.COUNTER)

    def default(self) -> "LogParameter":
        """The default cumulative value: a counter reads zero, a list reads as it is."""
        return LogParameter(self.code, bytes(len(self.value)), self.fmt) if self.is_counter else self

    def as_dict(self) -> dict:
        return dict(parameter_code=self.code,
                    control=dict(du=False, obsolete=False, tsd=True, etc=False, tmc=0,
                                 format_and_linking=int(self.fmt)),
                    value=self.value)


class LogPage(ABC):
    """Base of every log page a device lists in ``dev.log_pages``."""

    code: ClassVar[int]
    subpage: ClassVar[int] = 0

    @abstractmethod
    def parameters(self) -> list[LogParameter]:
        """Current cumulative values, in any order (LOG SENSE sorts them)."""

    def reset(self) -> None:
        """LOG SELECT with PCR=1: return the cumulative values to their defaults.

        A page with nothing cumulative (a list of facts) has nothing to reset.
        """

    def select(self, parameters: list[tuple[int, int, bytes]], base: int) -> None:
        """LOG SELECT with a parameter list for this page: (code, control byte, value) each.

        Pages do not take values from the host unless they say otherwise, so
        the default refuses the page, pointing at its page code.
        """
        raise refuse_page(base)

    def encode(self, parameters: list[LogParameter]) -> bytes:
        return encode_page(self.code, self.subpage, encode_parameters(parameters))


def refuse_page(base: int) -> CheckCondition:
    return LOG_PAGE_HEADER.invalid("page_code", base)


def encode_page(code: int, subpage: int, body: bytes) -> bytes:
    """A log page: DS=1 (not saveable), SPF when a subpage is addressed."""
    return LogPageStruct.build(dict(head=dict(ds=True, spf=subpage != 0, page_code=code),
                                    subpage_code=subpage, body=body))


def encode_parameters(parameters: list[LogParameter]) -> bytes:
    return ParameterList.build([p.as_dict() for p in parameters])


class CounterPage(LogPage):
    """A page of bounded binary counters read from the device's own statistics.

    ``read`` returns {parameter code: value}; ``clear`` (if given) zeroes the
    source on LOG SELECT PCR=1.  ``widths`` overrides the counter size (in
    bytes) for particular parameters, e.g. 8-byte byte counts among 4-byte
    error counts.
    """

    def __init__(self, code: int, read: Callable[[], Mapping[int, int]], *, subpage: int = 0,
                 clear: Callable[[], None] | None = None, width: int = 4,
                 widths: Mapping[int, int] | None = None) -> None:
        self.code = code            # type: ignore[misc]  # per instance, unlike subclasses
        self.subpage = subpage      # type: ignore[misc]
        self._read = read
        self._clear = clear
        self._width = width
        self._widths = dict(widths or {})

    def parameters(self) -> list[LogParameter]:
        return [LogParameter.counter(code, value, self._widths.get(code, self._width))
                for code, value in self._read().items()]

    def reset(self) -> None:
        if self._clear is not None:
            self._clear()

    def __repr__(self) -> str:
        return f"CounterPage(0x{self.code:02X}/0x{self.subpage:02X})"
