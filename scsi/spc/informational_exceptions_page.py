"""The Informational Exceptions Control mode page (1Ch, SPC-4).

Hosts use it to choose how failure predictions (for a tape drive: TapeAlert
flags) reach them.  DEXCPT and MRIE are changeable; MRIE accepts only the
methods this emulation can carry out: none, conditionally or unconditionally
generated recovered error, and "on request" (REQUEST SENSE / log page polling).
The drive reads ``values`` when it has an exception to report.
"""
from __future__ import annotations

from typing import Any

from ..layout import bits, reserved
from .mode_page import ModePage, page_layout

NO_REPORTING = 0x0
CONDITIONALLY_RECOVERED_ERROR = 0x3
UNCONDITIONALLY_RECOVERED_ERROR = 0x4
ON_REQUEST = 0x6
SUPPORTED_MRIE = frozenset({NO_REPORTING, CONDITIONALLY_RECOVERED_ERROR,
                            UNCONDITIONALLY_RECOVERED_ERROR, ON_REQUEST})


class InformationalExceptionsPage(ModePage):
    code = 0x1C
    layout = page_layout(
        "Informational Exceptions Control mode page",
        bits("perf", 1), reserved(1), bits("ebf", 1), bits("ewasc", 1), bits("dexcpt", 1),
        bits("test", 1), bits("ebackerr", 1), bits("logerr", 1),
        reserved(4), bits("mrie", 4),
        bits("interval_timer", 32),
        bits("report_count", 32),
    )
    changeable = frozenset({"dexcpt", "mrie"})
    # Reporting off until a host asks for it; hosts poll the TapeAlert page meanwhile.
    defaults = dict(dexcpt=True, mrie=CONDITIONALLY_RECOVERED_ERROR)

    def validate(self, new: dict[str, Any], base: int) -> None:
        if new["mrie"] not in SUPPORTED_MRIE:
            raise self.layout.invalid("mrie", base)

    @property
    def reporting(self) -> bool:
        """Whether informational exceptions are to be reported through sense data."""
        return not self.values["dexcpt"] and self.values["mrie"] != NO_REPORTING
