"""Target ports and LUN groups: how hosts reach a library's devices.

A library is reached through target ports: ``loop`` ports (LIO tcm_loop, so this
host itself gets ``/dev/nst*``, ``/dev/sch*`` and ``/dev/sg*``) and ``iscsi``
ports (an LIO iSCSI target with its IQN, portals, ACLs and CHAP).  Devices are
assigned to LUN groups; a LUN group is "a set of LUNs that share the same
initiator path set" and is reached through one or two target ports, the seed's
maximum of two paths.  On every path of a group each device has the same LUN
("LUN mapping must be symmetrical on each path"): a per-port ``luns`` table may
renumber devices on a port, but a renumbering that makes two paths disagree is
refused, as is a port without a device on LUN 0 (hosts find the devices of a
target port through LUN 0).

Each port has a relative target port identifier (1, 2, ... in the order the
ports are written) and is its own ALUA target port group with the same number,
so REPORT TARGET PORT GROUPS shows every path of a device separately.

The embedded default: one ``loop`` port named ``loop`` and one LUN group 0 with
every device of the library.  iSCSI exists only when configured.

This module holds the specs and their checks; the TOML reading in
:mod:`vtl.config` calls :func:`build` with its reporting helpers, so every
problem is a ConfigError naming the file, the line, the key and the fix.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["ChapSpec", "LunGroupSpec", "TargetSpec", "MAX_PATHS", "FABRICS", "build", "dump",
           "default_iqn", "parse_portal"]

#: "A maximum of two paths can be configured ... to access the tape drives in a tape library."
MAX_PATHS = 2
FABRICS = ("loop", "iscsi")
DEFAULT_ISCSI_PORT = 3260
DEFAULT_PORTAL = "0.0.0.0:3260"
#: RFC 3720: an iSCSI name is at most 223 bytes.
MAX_IQN_LENGTH = 223

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,31}", re.ASCII)
_IQN = re.compile(r"iqn\.\d{4}-\d{2}\.[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[a-z0-9.:_-]+)?", re.ASCII)
_EUI = re.compile(r"eui\.[0-9a-f]{16}", re.ASCII)
_NAA = re.compile(r"naa\.[0-9a-f]{16}([0-9a-f]{16})?", re.ASCII)

TARGET_KEYS = ("name", "fabric", "iqn", "portals", "chap", "initiators", "luns")
CHAP_KEYS = ("userid", "password", "mutual_userid", "mutual_password")
LUN_GROUP_KEYS = ("id", "targets", "devices")

EXAMPLES = {
    "library.target": '[[library.target]] with name = "loop" and fabric = "loop"',
    "library.lun_group": '[[library.lun_group]] with targets = ["loop", "iscsi"]',
    "target.name": 'name = "iscsi"',
    "target.fabric": 'fabric = "iscsi"',
    "target.iqn": 'iqn = "iqn.2026-11.org.example:lib0"',
    "target.portals": 'portals = ["0.0.0.0:3260"]',
    "target.chap": 'chap = { userid = "lab", password = "tape-secret-1" }',
    "target.initiators": 'initiators = ["iqn.1993-08.org.debian:01:host1"]',
    "target.luns": 'luns = { VTL000000D1 = 1 }',
    "chap.userid": 'userid = "lab"',
    "chap.password": 'password = "tape-secret-1"',
    "chap.mutual_userid": 'mutual_userid = "vtl"',
    "chap.mutual_password": 'mutual_password = "target-secret-2"',
    "lun_group.id": "id = 0",
    "lun_group.targets": 'targets = ["loop", "iscsi"]',
    "lun_group.devices": 'devices = ["VTL000000C0", "VTL000000D1"]',
}


@dataclass(frozen=True)
class ChapSpec:
    """CHAP for an iSCSI port: initiators authenticate with userid/password; with the
    mutual pair the target authenticates itself back."""

    userid: str
    password: str
    mutual_userid: str | None = None
    mutual_password: str | None = None


@dataclass(frozen=True)
class TargetSpec:
    name: str
    fabric: str
    port: int
    """Relative target port identifier and ALUA target port group id (1-based)."""
    iqn: str | None = None
    portals: tuple[str, ...] = ()
    chap: ChapSpec | None = None
    initiators: tuple[str, ...] = ()
    """iSCSI initiator names allowed to log in; empty: any initiator (with CHAP if set)."""
    luns: tuple[tuple[str, int], ...] = ()
    """Per-port LUN renumbering: (device serial, LUN) pairs."""

    def lun_for(self, serial: str, default: int) -> int:
        for s, lun in self.luns:
            if s.upper() == serial.upper():
                return lun
        return default


@dataclass(frozen=True)
class LunGroupSpec:
    id: int
    targets: tuple[str, ...]
    devices: tuple[str, ...]
    """Serial numbers of the group's devices, changer first when it belongs."""


class _Reporter(Protocol):
    def fail(self, where: tuple, message: str, fix: str) -> Any: ...
    def get(self, table: dict, key: str, kind: Any, where: tuple, example_table: str, *,
            required: bool = False, default: Any = None) -> Any: ...
    def check_keys(self, table: dict, known: tuple[str, ...], where: tuple, kind: str) -> None: ...


def default_iqn(node: str, library: str, target: str) -> str:
    """A stable IQN for a port nobody named: the node, the library and the port."""
    def part(s: str) -> str:
        return re.sub(r"[^a-z0-9.-]", "-", s.lower()).strip(".-") or "x"
    return f"iqn.2026-11.org.vtl:{part(node)}.{part(library)}.{part(target)}"


def parse_portal(text: str) -> tuple[str, int]:
    """``"10.0.0.5:3260"``, ``"[::1]:3260"`` or ``"10.0.0.5"`` -> (address, port)."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
        if rest and not rest.startswith(":"):
            raise ValueError(f"{text!r} is not [address]:port")
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    else:
        host, port_text = text, ""
    address = ipaddress.ip_address(host)
    port = int(port_text) if port_text else DEFAULT_ISCSI_PORT
    if not 1 <= port <= 65535:
        raise ValueError(f"port {port} is not 1 to 65535")
    return str(address), port


def _check_initiator_name(name: str) -> bool:
    return bool(_IQN.fullmatch(name) or _EUI.fullmatch(name) or _NAA.fullmatch(name))


def build(b: _Reporter, where: tuple, data: dict, *, node: str, library: str,
          devices: list[tuple[str, int]]) -> tuple[tuple[TargetSpec, ...], tuple[LunGroupSpec, ...]]:
    """Read a library's ``[[library.target]]`` and ``[[library.lun_group]]`` tables.

    ``devices`` are (serial, LUN) of the changer then the drives, as configured.
    """
    targets_data = b.get(data, "target", list, where, "library", default=None)
    groups_data = b.get(data, "lun_group", list, where, "library", default=None)
    for key, items in (("target", targets_data), ("lun_group", groups_data)):
        if items is not None and not all(isinstance(item, dict) for item in items):
            b.fail((*where, key), f"{key} must be an array of tables.",
                   f"write each one as a [[library.{key}]] table.")

    if targets_data is None:
        targets = (TargetSpec(name="loop", fabric="loop", port=1),)
    else:
        if not targets_data:
            b.fail((*where, "target"), "target is an empty array: hosts could not reach the "
                   "library.", 'add a [[library.target]] with name = "loop" and fabric = "loop", '
                   "or remove target to get that default.")
        targets = tuple(_target(b, (*where, "target", i), t, i + 1, node, library, devices)
                        for i, t in enumerate(targets_data))
        seen: dict[str, int] = {}
        for i, t in enumerate(targets):
            if t.name.lower() in seen:
                b.fail((*where, "target", i, "name"), f'target name "{t.name}" is also the name '
                       f"of target number {seen[t.name.lower()] + 1} of this library.",
                       "give each target port of a library its own name.")
            seen[t.name.lower()] = i
    by_name = {t.name.lower(): t for t in targets}
    serials = {serial.upper(): (serial, lun) for serial, lun in devices}

    if groups_data is None:
        if len(targets) > MAX_PATHS:
            b.fail((*where, "target"), f"the library has {len(targets)} target ports and no "
                   f"LUN group; one group would be reached through {len(targets)} paths, and a "
                   f"LUN group has at most {MAX_PATHS}.",
                   "add [[library.lun_group]] tables that give each group one or two of the "
                   "target ports.")
        groups = (LunGroupSpec(id=0, targets=tuple(t.name for t in targets),
                               devices=tuple(s for s, _ in devices)),)
    else:
        groups = _groups(b, where, groups_data, by_name, serials)

    _check_mapping(b, where, targets, groups, serials, groups_data is None)
    return targets, groups


def _target(b: _Reporter, at: tuple, t: dict, port: int, node: str, library: str,
            devices: list[tuple[str, int]]) -> TargetSpec:
    b.check_keys(t, TARGET_KEYS, at, "[[library.target]]")
    name = b.get(t, "name", str, at, "target", required=True)
    if not _NAME.fullmatch(name):
        b.fail((*at, "name"), f'"{name}" cannot be a target port name.',
               'use 1 to 32 letters, digits, _ and -, starting with a letter, like name = "iscsi".')
    fabric = b.get(t, "fabric", str, at, "target", required=True)
    if fabric not in FABRICS:
        b.fail((*at, "fabric"), f'fabric "{fabric}" is not a fabric vtl serves.',
               'write fabric = "loop" (tcm_loop: devices on this host) or fabric = "iscsi".')
    if fabric == "loop":
        for key in ("iqn", "portals", "chap", "initiators"):
            if key in t:
                b.fail((*at, key), f"{key} is an iSCSI setting, and this target port is a "
                       "loop (tcm_loop) port.", f'remove {key}, or write fabric = "iscsi".')
        iqn, portals, chap, initiators = None, (), None, ()
    else:
        iqn = b.get(t, "iqn", str, at, "target", default=None)
        if iqn is None:
            iqn = default_iqn(node, library, name)
        elif len(iqn.encode()) > MAX_IQN_LENGTH or not _IQN.fullmatch(iqn):
            b.fail((*at, "iqn"), f'"{iqn}" is not an iSCSI qualified name.',
                   "write iqn.YYYY-MM.reversed.domain[:identifier] in lower case, like "
                   f"{EXAMPLES['target.iqn']}.")
        portal_list = b.get(t, "portals", list, at, "target", default=[DEFAULT_PORTAL])
        if not portal_list:
            b.fail((*at, "portals"), "portals is empty: initiators could not reach the port.",
                   f"write at least one address:port, like {EXAMPLES['target.portals']}.")
        parsed = []
        for k, text in enumerate(portal_list):
            try:
                if not isinstance(text, str):
                    raise ValueError("not a string")
                address, tcp = parse_portal(text)
            except ValueError:
                b.fail((*at, "portals"), f"portal {text!r} is not an IP address and TCP port.",
                       'write "address:port", like "0.0.0.0:3260", "127.0.0.1:3260" or '
                       '"[::]:3260".')
            key = f"[{address}]:{tcp}" if ":" in address else f"{address}:{tcp}"
            if key in parsed:
                b.fail((*at, "portals"), f"portal {key} is written twice.", "write each once.")
            parsed.append(key)
        portals = tuple(parsed)
        chap = _chap(b, at, t)
        names = b.get(t, "initiators", list, at, "target", default=[])
        for text in names:
            if not isinstance(text, str) or not _check_initiator_name(text):
                b.fail((*at, "initiators"), f"{text!r} is not an iSCSI initiator name.",
                       "write initiator names as the initiators report them (cat "
                       "/etc/iscsi/initiatorname.iscsi), like "
                       f"{EXAMPLES['target.initiators']}.")
        if len({n.lower() for n in names}) != len(names):
            b.fail((*at, "initiators"), "an initiator is written twice.", "write each once.")
        initiators = tuple(names)
    luns_table = b.get(t, "luns", dict, at, "target", default={})
    known = {serial.upper(): serial for serial, _ in devices}
    luns = []
    for serial, lun in luns_table.items():
        if serial.upper() not in known:
            b.fail((*at, "luns"), f'"{serial}" in luns is not the serial number of a device of '
                   "this library.", "use the serial numbers of the library's changer and "
                   "drives.")
        if isinstance(lun, bool) or not isinstance(lun, int) or not 0 <= lun <= 255:
            b.fail((*at, "luns"), f"the LUN of {serial} must be a whole number from 0 to 255.",
                   f"write it like {EXAMPLES['target.luns']}.")
        luns.append((known[serial.upper()], lun))
    return TargetSpec(name=name, fabric=fabric, port=port, iqn=iqn, portals=portals, chap=chap,
                      initiators=initiators, luns=tuple(luns))


def _chap(b: _Reporter, at: tuple, t: dict) -> ChapSpec | None:
    table = b.get(t, "chap", dict, at, "target", default=None)
    if table is None:
        return None
    cat = (*at, "chap")
    b.check_keys(table, CHAP_KEYS, cat, "chap")
    values = {k: b.get(table, k, str, cat, "chap", required=k in ("userid", "password"))
              for k in CHAP_KEYS}
    for key, value in values.items():
        if value is not None and not (0 < len(value) <= 255 and value.isprintable()
                                      and " " not in value):
            b.fail((*cat, key), f"{key} must be 1 to 255 printable characters without spaces.",
                   f"write it like {EXAMPLES['chap.' + key]}.")
    if (values["mutual_userid"] is None) != (values["mutual_password"] is None):
        b.fail(cat, "mutual CHAP needs both mutual_userid and mutual_password.",
               "add the missing one, or remove both.")
    return ChapSpec(**values)


def _groups(b: _Reporter, where: tuple, groups_data: list[dict], by_name: dict[str, TargetSpec],
            serials: dict[str, tuple[str, int]]) -> tuple[LunGroupSpec, ...]:
    groups = []
    owner: dict[str, int] = {}
    ids: dict[int, int] = {}
    rest = [serial for serial, _ in serials.values()]
    for i, g in enumerate(groups_data):
        at = (*where, "lun_group", i)
        b.check_keys(g, LUN_GROUP_KEYS, at, "[[library.lun_group]]")
        gid = b.get(g, "id", int, at, "lun_group", default=i)
        if not 0 <= gid <= 65535:
            b.fail((*at, "id"), f"id is {gid}; a LUN group id is 0 to 65535.", "write id = 0.")
        if gid in ids:
            b.fail((*at, "id"), f"LUN group id {gid} is also the id of LUN group number "
                   f"{ids[gid] + 1}.", "give each LUN group its own id.")
        ids[gid] = i
        names = b.get(g, "targets", list, at, "lun_group", required=True)
        if not names:
            b.fail((*at, "targets"), "targets is empty: the group would not be reachable.",
                   f"name one or two target ports, like {EXAMPLES['lun_group.targets']}.")
        if len(names) > MAX_PATHS:
            b.fail((*at, "targets"), f"the LUN group names {len(names)} target ports, and a LUN "
                   f"group is reached through at most {MAX_PATHS} paths.",
                   "name one or two target ports.")
        resolved = []
        for name in names:
            target = by_name.get(str(name).lower())
            if target is None:
                b.fail((*at, "targets"), f'there is no target port "{name}" in this library; '
                       "the target ports are " + ", ".join(t.name for t in by_name.values()) + ".",
                       "name ports of this library's [[library.target]] tables.")
            if target.name in resolved:
                b.fail((*at, "targets"), f'target port "{target.name}" is named twice; the two '
                       "paths of a LUN group are two different ports.", "name it once.")
            resolved.append(target.name)
        device_list = b.get(g, "devices", (list, str), at, "lun_group", default=None)
        if device_list is None or device_list == "rest":
            members = [s for s in rest if s.upper() not in owner]
        elif isinstance(device_list, str):
            b.fail((*at, "devices"), f'devices = "{device_list}" is not a list of serial numbers.',
                   f'write {EXAMPLES["lun_group.devices"]}, or leave devices out for every '
                   "device no other group has.")
        else:
            members = []
            for serial in device_list:
                found = serials.get(str(serial).upper())
                if found is None:
                    b.fail((*at, "devices"), f'"{serial}" is not the serial number of a device '
                           "of this library.", "use the serial numbers of the library's changer "
                           "and drives.")
                members.append(found[0])
        for serial in members:
            if serial.upper() in owner:
                b.fail((*at, "devices"), f"{serial} is also in LUN group number "
                       f"{owner[serial.upper()] + 1}; a device belongs to one LUN group.",
                       "remove it from one of the groups.")
            owner[serial.upper()] = i
        if not members:
            b.fail((*at, "devices"), "the LUN group has no device.",
                   "give it devices, or remove the group.")
        groups.append(LunGroupSpec(id=gid, targets=tuple(resolved), devices=tuple(members)))
    return tuple(groups)


def _check_mapping(b: _Reporter, where: tuple, targets: tuple[TargetSpec, ...],
                   groups: tuple[LunGroupSpec, ...], serials: dict[str, tuple[str, int]],
                   defaulted: bool) -> None:
    """Symmetric LUNs on every path, one device per LUN per port, LUN 0 on every port."""
    index = {t.name: i for i, t in enumerate(targets)}
    for gi, group in enumerate(groups):
        at = (*where, "lun_group", gi) if not defaulted else (*where, "target")
        if len(group.targets) == 2:
            first, second = (targets[index[n]] for n in group.targets)
            for serial in group.devices:
                lun = serials[serial.upper()][1]
                a, c = first.lun_for(serial, lun), second.lun_for(serial, lun)
                if a != c:
                    b.fail(at, f"LUN mapping must be symmetrical on each path: {serial} is LUN "
                           f'{a} through "{first.name}" but LUN {c} through "{second.name}".',
                           f"give {serial} the same LUN on both ports (the luns tables of the "
                           "two [[library.target]]).")
    used = set()
    for ti, target in enumerate(targets):
        at = (*where, "target", ti)
        taken: dict[int, str] = {}
        for group in groups:
            if target.name not in group.targets:
                continue
            used.add(target.name)
            for serial in group.devices:
                lun = target.lun_for(serial, serials[serial.upper()][1])
                if lun in taken:
                    b.fail(at, f'{serial} and {taken[lun]} would both be LUN {lun} through '
                           f'target port "{target.name}".', "give them different LUNs (the "
                           "device's lun, or this port's luns table).")
                taken[lun] = serial
        if target.name not in used and not defaulted:
            b.fail(at, f'target port "{target.name}" is in no LUN group, so it would carry no '
                   "device.", "name it in a [[library.lun_group]]'s targets, or remove it.")
        if taken and 0 not in taken:
            b.fail(at, f'no device is on LUN 0 of target port "{target.name}", and hosts find the '
                   "devices of a target port through LUN 0.",
                   "put the changer or a drive of this port on LUN 0.")


def dump(targets: tuple[TargetSpec, ...], groups: tuple[LunGroupSpec, ...],
         value: Any) -> list[str]:
    """TOML lines for :func:`vtl.config.dumps` (``value`` is its TOML value writer)."""
    out: list[str] = []
    for t in targets:
        out += ["[[library.target]]", f"name = {value(t.name)}", f"fabric = {value(t.fabric)}"]
        if t.fabric == "iscsi":
            out += [f"iqn = {value(t.iqn)}", f"portals = {value(list(t.portals))}"]
            if t.chap is not None:
                chap = {k: getattr(t.chap, k) for k in CHAP_KEYS if getattr(t.chap, k) is not None}
                out.append(f"chap = {value(chap)}")
            if t.initiators:
                out.append(f"initiators = {value(list(t.initiators))}")
        if t.luns:
            out.append(f"luns = {value(dict(t.luns))}")
        out.append("")
    for g in groups:
        out += ["[[library.lun_group]]", f"id = {g.id}", f"targets = {value(list(g.targets))}",
                f"devices = {value(list(g.devices))}", ""]
    return out
