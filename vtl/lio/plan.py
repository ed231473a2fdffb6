"""What the kernel target should hold for a configuration, as plain data.

The plan is computed without touching the kernel, so it can be checked on any
machine; :mod:`vtl.lio.wiring` makes the kernel match it.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..config import NodeConfig
from ..target_ports import TargetSpec
from . import names

#: TCMU needs a device size; a tape has none that LIO could use, so any will do.
BACKSTORE_SIZE = 1 << 20
#: 8 MiB per command (16384 x 512-byte sectors): an LTO drive's 8 MiB - 1 maximum block fits.
HW_MAX_SECTORS = 16384


@dataclass(frozen=True)
class Backstore:
    serial: str
    library: str
    kind: str          # "tape" or "media-changer"
    name: str
    config: str


@dataclass(frozen=True)
class Export:
    """One device on one target port."""

    serial: str
    lun: int


@dataclass(frozen=True)
class Port:
    library: str
    target: TargetSpec
    wwn: str
    """tcm_loop NAA name or the iSCSI IQN."""
    nexus: str | None
    """tcm_loop only: this host's initiator port name on the port."""
    exports: tuple[Export, ...]

    @property
    def key(self) -> str:
        """How `vtl path` names the port: ``library:target``."""
        return f"{self.library}:{self.target.name}"


@dataclass(frozen=True)
class Plan:
    node: str
    backstores: tuple[Backstore, ...]
    ports: tuple[Port, ...]

    def port(self, ref: str) -> Port:
        """A port by ``library:target``, or by target name when only one port has it."""
        wanted = ref.lower()
        exact = [p for p in self.ports if p.key.lower() == wanted]
        if exact:
            return exact[0]
        named = [p for p in self.ports if p.target.name.lower() == wanted]
        if len(named) == 1:
            return named[0]
        known = ", ".join(p.key for p in self.ports)
        if named:
            raise KeyError(f'several libraries have a target port "{ref}"; say which: {known}')
        raise KeyError(f'there is no target port "{ref}"; the target ports are {known}')


def plan(config: NodeConfig) -> Plan:
    backstores = []
    ports = []
    for lib in config.libraries:
        kinds = [(lib.changer.serial, "media-changer")] + [(d.serial, "tape") for d in lib.drives]
        for serial, kind in kinds:
            if lib.group_of(serial) is None:
                continue
            backstores.append(Backstore(serial=serial, library=lib.name, kind=kind,
                                        name=names.backstore_name(serial),
                                        config=names.tcmu_config(config.name, serial)))
        for target in lib.targets:
            exports = []
            for group in lib.lun_groups:
                if target.name not in group.targets:
                    continue
                configured = dict((s.upper(), n) for s, n in lib.devices())
                exports += [Export(serial, target.lun_for(serial, configured[serial.upper()]))
                            for serial in group.devices]
            exports.sort(key=lambda e: e.lun)
            if target.fabric == "loop":
                wwn = names.loop_wwn(config.name, lib.name, target.name)
                nexus = names.loop_nexus_wwn(config.name, lib.name, target.name)
            else:
                wwn, nexus = target.iqn, None
            ports.append(Port(library=lib.name, target=target, wwn=wwn, nexus=nexus,
                              exports=tuple(exports)))
    return Plan(node=config.name, backstores=tuple(backstores), ports=tuple(ports))
