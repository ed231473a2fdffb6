"""Target port state of a node: which paths are up, and what ALUA says about them.

Each configured target port is its own ALUA target port group (the group id is
the port's relative target port identifier).  A port an operator took offline
(``vtl path offline``) is reported OFFLINE by REPORT TARGET PORT GROUPS on the
other path, as a real library reports a failed port, and comes back
ACTIVE/OPTIMIZED with ``vtl path online``.  Both paths of a LUN group are
active at once (symmetric access), so hosts may balance over them.

The kernel side of taking a port down (LIO) lives in :mod:`vtl.lio`; this is
the part every device answers from, with or without a kernel target.
"""
from __future__ import annotations

import threading
from typing import Sequence

from scsi.spc.target_port_groups import AluaState, PortGroup

from .config import LibrarySpec, NodeConfig


def port_key(library: str, target: str) -> str:
    return f"{library}:{target}"


class PortStates:
    def __init__(self, config: NodeConfig) -> None:
        self._config = config
        self._lock = threading.Lock()
        self._offline: set[str] = set()

    def keys(self) -> list[str]:
        return [port_key(lib.name, t.name) for lib in self._config.libraries for t in lib.targets]

    def resolve(self, ref: str) -> str:
        """``library:target``, or a target name only one library has, to its key."""
        keys = self.keys()
        wanted = ref.strip().lower()
        exact = [k for k in keys if k.lower() == wanted]
        if exact:
            return exact[0]
        named = [k for k in keys if k.split(":", 1)[1].lower() == wanted]
        if len(named) == 1:
            return named[0]
        if named:
            raise KeyError(f'several libraries have a target port "{ref}"; say which: '
                           + ", ".join(named))
        raise KeyError(f'there is no target port "{ref}"; the target ports are ' + ", ".join(keys))

    def online(self, key: str) -> bool:
        with self._lock:
            return key not in self._offline

    def set_online(self, key: str, online: bool) -> bool:
        """Record the state; True if it changed."""
        with self._lock:
            changed = (key in self._offline) == online
            if online:
                self._offline.discard(key)
            else:
                self._offline.add(key)
        return changed

    def groups(self, library: LibrarySpec, serial: str) -> Sequence[PortGroup]:
        """The ALUA target port groups of one device: one per path of its LUN group."""
        out = []
        for target, _lun in library.paths_of(serial):
            key = port_key(library.name, target.name)
            state = AluaState.ACTIVE_OPTIMIZED if self.online(key) else AluaState.OFFLINE
            out.append(PortGroup(id=target.port, state=state, ports=(target.port,)))
        return out
