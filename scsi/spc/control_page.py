"""The Control mode page (0Ah, SPC-4): how the logical unit handles tasks and errors.

Only D_SENSE is changeable: initiators that want descriptor-format sense (to
get 64-bit INFORMATION) set it, and the device then encodes every CHECK
CONDITION that way.  The other fields state what this emulation does: one task
set shared by all I_T nexuses, restricted reordering, no saved log parameters
(GLTSD=1, since nothing is saved across power cycles by the SCSI layer).
"""
from __future__ import annotations

from typing import Any

from ..device import ScsiDevice
from ..layout import bits, reserved
from .mode_page import ModePage, page_layout


class ControlPage(ModePage):
    code = 0x0A
    layout = page_layout(
        "Control mode page",
        bits("tst", 3), bits("tmf_only", 1), bits("dpicz", 1), bits("d_sense", 1),
        bits("gltsd", 1), bits("rlec", 1),
        bits("queue_algorithm_modifier", 4), bits("nuar", 1), bits("qerr", 2), reserved(1),
        bits("vs", 1), bits("rac", 1), bits("ua_intlck_ctrl", 2), bits("swp", 1), reserved(3),
        bits("ato", 1), bits("tas", 1), bits("atmpe", 1), bits("rwwp", 1), reserved(1),
        bits("autoload_mode", 3),
        reserved(16),
        bits("busy_timeout_period", 16),
        bits("extended_self_test_completion_time", 16),
    )
    changeable = frozenset({"d_sense"})
    defaults = dict(gltsd=True, d_sense=False)

    def __init__(self, dev: ScsiDevice) -> None:
        super().__init__()
        self.dev = dev

    def current(self) -> dict[str, Any]:
        return {**self.values, "d_sense": self.dev.descriptor_sense}

    def apply(self, new: dict[str, Any]) -> None:
        super().apply(new)
        self.dev.descriptor_sense = bool(self.values["d_sense"])
