"""Kernel-side names of a node's devices and target ports, derived from the configuration.

Deterministic names are what let a restarted daemon recognise its own objects
after a crash: a backstore named ``vtl-<serial>`` whose TCMU config string is
``vtl/<node>/<serial>`` is this node's drive or changer, and a tcm_loop WWN is
a hash of (node, library, port), so it is the same on every start and
different for every port.
"""
from __future__ import annotations

import hashlib

#: TCMU handler subtype: the part of the config string before the first '/'.
SUBTYPE = "vtl"
#: Linux/LIO's IEEE OUI for generated NAA names (what targetcli uses too).
LIO_OUI = "5001405"


def backstore_name(serial: str) -> str:
    return f"vtl-{serial.lower()}"


def tcmu_config(node: str, serial: str) -> str:
    """The TCMU config string; LIO refuses ':' in it and node names have none."""
    return f"{SUBTYPE}/{node}/{serial}"


def parse_tcmu_config(config: str) -> tuple[str, str] | None:
    """(node, serial) of one of our config strings, None for anybody else's."""
    parts = config.split("/")
    if len(parts) != 3 or parts[0] != SUBTYPE or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def _naa(*parts: str) -> str:
    digest = hashlib.sha256("\0".join(parts).encode()).hexdigest()
    return f"naa.{LIO_OUI}{digest[:9]}"


def loop_wwn(node: str, library: str, target: str) -> str:
    """The tcm_loop target port WWN (what lsscsi -t shows as the SAS address)."""
    return _naa("target", node, library, target)


def loop_nexus_wwn(node: str, library: str, target: str) -> str:
    """The initiator port of this host on a tcm_loop port: one I_T nexus per port."""
    return _naa("initiator", node, library, target)
