"""Tape aliases: logical names (``st0``, ``mc1``) and what they are bound to.

From ONTAP's "Tape aliasing": an alias binds a persistent, modifiable logical name to
a name permanently assigned to a device, which is either

* its **serial number** (SN): ``SN[123456]L4``.  Up to 32 alphanumeric characters, then
  the LUN; ``L0`` is not written.  The format is not case-sensitive, so
  ``sn[abc123]l4`` and ``SN[ABC123]L4`` name the same device; or
* its **physical path name** (PPN), where it is attached: direct-attached
  ``host_adapter.device_id`` (``8.6``, SAS ``5c.4``) or switch-attached
  ``switch:port_id.device_id`` (``MY_SWITCH:5.3L2``), each followed by ``L<lun>`` when
  the LUN is not 0.

Alias names are strings, not numbers: "st0 and st00 are different logical names".

Choices the seed leaves open, and why:

* Serial numbers are ASCII letters and digits only (no ``-`` or ``_``): the seed says
  "x is an alphanumeric character", and staying inside that keeps every serial we emit
  (INQUIRY VPD page 0x80, the DVCID of READ ELEMENT STATUS) a valid SN for any tool that
  follows the same rule.
* LUNs go up to 16383, the limit of single-level flat space addressing (SAM-5), because
  an alias can name a real device, not only one of ours.
* Switch names start with a letter and use letters, digits, ``_`` and ``-`` (up to 32
  characters), like Fibre Channel switch names (the seed's ``MY_SWITCH``,
  ``fc202_6``).  Our emulated devices use their library's name as the switch.
* ``L0`` and leading zeros (``SN[12]L04``, ``8.06``) are accepted on input, as they
  can only mean one thing, and dropped from the canonical form.
* Physical path names compare case-insensitively, like serial numbers, so a key never
  depends on how someone typed it.

Nothing here does I/O; every rejection is a ``ValueError`` whose message says what is
wrong and shows a correct example.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

__all__ = [
    "MAX_LUN",
    "MAX_SERIAL_LENGTH",
    "MAX_SWITCH_NAME_LENGTH",
    "Alias",
    "AliasKind",
    "AliasScope",
    "Mapping",
    "MappingKind",
    "alias_name",
    "check_serial",
    "check_switch_name",
    "direct_ppn",
    "mapping_key",
    "parse_alias",
    "parse_mapping",
    "ppn",
    "serial_mapping",
]

#: "Each SN consists of up to 32 characters".
MAX_SERIAL_LENGTH = 32
#: Highest LUN of single-level flat space addressing (SAM-5).
MAX_LUN = 16383
#: Highest port id and device id we accept in a physical path name.
MAX_PATH_NUMBER = 65535
MAX_SWITCH_NAME_LENGTH = 32

_SN_EXAMPLE = "SN[123456]L4"
_MAPPING_EXAMPLES = "SN[123456]L4, 8.6, 5c.4 or MY_SWITCH:5.3L2"


# -- alias names ---------------------------------------------------------------------


class AliasKind(enum.Enum):
    """What an alias names; the value is the prefix of its names."""

    TAPE = "st"
    MEDIA_CHANGER = "mc"

    @property
    def prefix(self) -> str:
        return self.value

    @property
    def description(self) -> str:
        return "tape drive" if self is AliasKind.TAPE else "medium changer"


class AliasScope(enum.Enum):
    """What ``alias clear -clear-scope`` removes."""

    TAPE = "tape"
    MEDIA_CHANGER = "media-changer"
    ALL = "all"

    def covers(self, kind: AliasKind) -> bool:
        """Whether clearing this scope removes aliases of ``kind``."""
        return (self is AliasScope.ALL
                or (self is AliasScope.TAPE and kind is AliasKind.TAPE)
                or (self is AliasScope.MEDIA_CHANGER and kind is AliasKind.MEDIA_CHANGER))

    @classmethod
    def parse(cls, text: str) -> AliasScope:
        """``tape``, ``media-changer`` or ``all`` (any case)."""
        if isinstance(text, str):
            for scope in cls:
                if text.strip().lower() == scope.value:
                    return scope
        raise ValueError(
            f'"{text}" is not a clear scope; write tape, media-changer or all, '
            "for example -clear-scope tape."
        )


_ALIAS = re.compile(r"(st|mc)([0-9]+)", re.ASCII)
_NUMBER = re.compile(r"[0-9]+", re.ASCII)


@dataclass(frozen=True)
class Alias:
    """A logical device name such as ``st0`` or ``mc1``; ``str()`` gives the name."""

    kind: AliasKind
    name: str

    def __post_init__(self) -> None:
        if not isinstance(self.kind, AliasKind):
            raise TypeError(f"kind must be an AliasKind, not {type(self.kind).__name__}.")
        kind = _alias_kind(self.name)
        if kind is not self.kind:
            raise ValueError(
                f'"{self.name}" is a {kind.description} alias, not a '
                f"{self.kind.description} alias; {self.kind.description} aliases start with "
                f'"{self.kind.prefix}", for example {self.kind.prefix}0.'
            )

    def __str__(self) -> str:
        return self.name

    @property
    def number(self) -> int:
        """The number in the name (``st00`` and ``st0`` both give 0; they still differ)."""
        return int(self.name[2:])


def parse_alias(name: str) -> Alias:
    """``st<digits>`` (a tape drive) or ``mc<digits>`` (a medium changer).

    The name is kept exactly: ``st0`` and ``st00`` are different aliases.
    """
    return Alias(_alias_kind(name), name)


def _alias_kind(name: str) -> AliasKind:
    if not isinstance(name, str):
        raise TypeError(f"an alias name is a str, not {type(name).__name__}.")
    match = _ALIAS.fullmatch(name)
    if match:
        return AliasKind.TAPE if match.group(1) == "st" else AliasKind.MEDIA_CHANGER
    rule = ('An alias is "st" and a number for a tape drive or "mc" and a number for a '
            "medium changer, for example st0 or mc1.")
    if name == "":
        raise ValueError(f"The alias name is empty. {rule}")
    if _ALIAS.fullmatch(name.lower()):
        raise ValueError(f'"{name}" is not an alias name: alias names are lower case; '
                         f"write {name.lower()}.")
    if name in ("st", "mc"):
        raise ValueError(f'"{name}" is not an alias name: the number is missing. {rule}')
    if name.startswith(("st", "mc")) and not name[2:].isdigit():
        hint = ""
        fixed = name[2:].translate(str.maketrans("lIoO", "1100"))
        if _NUMBER.fullmatch(fixed):
            hint = f" (did you mean {name[:2]}{fixed}?)"
        raise ValueError(f'"{name}" is not an alias name: "{name[2:]}" is not a number{hint}. '
                         f"{rule}")
    raise ValueError(f'"{name}" is not an alias name. {rule}')


def alias_name(kind: AliasKind, number: int) -> str:
    """The alias a device gets when it is numbered ``number``: ``st3``, ``mc0``."""
    if not isinstance(number, int) or isinstance(number, bool) or number < 0:
        raise ValueError(f"an alias number is a whole number 0 or more, not {number!r}; "
                         f"for example {kind.prefix}0.")
    return f"{kind.prefix}{number}"


# -- mappings: serial numbers and physical path names --------------------------------


class MappingKind(enum.Enum):
    SN = "SN"
    PPN = "PPN"


_SERIAL = re.compile(r"[A-Za-z0-9]+", re.ASCII)
_SWITCH = re.compile(r"[A-Za-z][A-Za-z0-9_-]*", re.ASCII)
_ADAPTER = re.compile(r"([0-9]+)([A-Za-z]?)", re.ASCII)


def check_serial(serial: str) -> str:
    """Return ``serial`` if it can be a device serial number, else raise ``ValueError``."""
    if not isinstance(serial, str):
        raise TypeError(f"a serial number is a str, not {type(serial).__name__}.")
    if serial == "":
        raise ValueError(f"The serial number is empty; a serial number is 1 to "
                         f"{MAX_SERIAL_LENGTH} letters and digits, for example {_SN_EXAMPLE}.")
    if len(serial) > MAX_SERIAL_LENGTH:
        raise ValueError(
            f'The serial number "{serial}" has {len(serial)} characters; a serial number has '
            f"at most {MAX_SERIAL_LENGTH}, for example {_SN_EXAMPLE}."
        )
    if not _SERIAL.fullmatch(serial):
        bad = next(c for c in serial if not (c.isascii() and c.isalnum()))
        raise ValueError(
            f'The serial number "{serial}" contains {bad!r}; a serial number is letters and '
            f"digits only, for example {_SN_EXAMPLE}."
        )
    return serial


def check_switch_name(name: str) -> str:
    """Return ``name`` if it can be the switch part of a physical path name."""
    if not isinstance(name, str):
        raise TypeError(f"a switch name is a str, not {type(name).__name__}.")
    rule = (f"a switch name is 1 to {MAX_SWITCH_NAME_LENGTH} letters, digits, _ and -, "
            "starting with a letter, as in MY_SWITCH:5.3L2.")
    if name == "":
        raise ValueError(f"The switch name is empty; {rule}")
    if len(name) > MAX_SWITCH_NAME_LENGTH:
        raise ValueError(f'The switch name "{name}" has {len(name)} characters; {rule}')
    if not _SWITCH.fullmatch(name):
        raise ValueError(f'"{name}" cannot be a switch name: {rule}')
    return name


def _check_lun(lun: int, where: str) -> int:
    if not isinstance(lun, int) or isinstance(lun, bool) or not 0 <= lun <= MAX_LUN:
        raise ValueError(f"The LUN of {where} is {lun!r}; a LUN is a whole number from 0 to "
                         f"{MAX_LUN}, for example {_SN_EXAMPLE}.")
    return lun


def _check_number(value: int, what: str, example: str) -> int:
    if (not isinstance(value, int) or isinstance(value, bool)
            or not 0 <= value <= MAX_PATH_NUMBER):
        raise ValueError(f"The {what} is {value!r}; it is a whole number from 0 to "
                         f"{MAX_PATH_NUMBER}, for example {example}.")
    return value


@dataclass(frozen=True, eq=False)
class Mapping:
    """What an alias is bound to: a serial number or a physical path name.

    ``kind`` is :attr:`MappingKind.SN` (``serial`` and ``lun`` set) or
    :attr:`MappingKind.PPN`: switch-attached (``switch``, ``port``, ``device_id``, ``lun``)
    or direct-attached (``adapter`` such as ``"8"`` or ``"5c"``, ``device_id``, ``lun``).
    ``str()`` is the canonical text (``L0`` left out); mappings compare equal when their
    :attr:`key` is, i.e. case-insensitively.
    """

    kind: MappingKind
    serial: str | None = None
    lun: int = 0
    switch: str | None = None
    port: int | None = None
    adapter: str | None = None
    device_id: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.kind, MappingKind):
            raise TypeError(f"kind must be a MappingKind, not {type(self.kind).__name__}.")
        if self.kind is MappingKind.SN:
            if (self.switch, self.port, self.adapter, self.device_id) != (None,) * 4:
                raise ValueError("A serial-number mapping has only a serial number and a LUN, "
                                 f"for example {_SN_EXAMPLE}.")
            check_serial(self.serial)  # type: ignore[arg-type]
            _check_lun(self.lun, f"SN[{self.serial}]")
            return
        if self.serial is not None:
            raise ValueError("A physical path name has no serial number; write it like "
                             "8.6 or MY_SWITCH:5.3L2.")
        if (self.switch is None) == (self.adapter is None):
            raise ValueError("A physical path name has either a switch and a port "
                             "(MY_SWITCH:5.3L2) or a host adapter (8.6, 5c.4), not "
                             + ("both." if self.switch is not None else "neither."))
        if self.switch is not None:
            check_switch_name(self.switch)
            if self.port is None:
                raise ValueError(f"The physical path name on switch {self.switch} has no "
                                 "port id; write it like MY_SWITCH:5.3L2.")
            _check_number(self.port, "port id", "MY_SWITCH:5.3L2 (port 5)")
        else:
            if self.port is not None:
                raise ValueError("A direct-attached physical path name has no port id; "
                                 "write it like 8.6 or 5c.4.")
            if not isinstance(self.adapter, str) or not _ADAPTER.fullmatch(self.adapter):
                raise ValueError(f"The host adapter {self.adapter!r} is not a slot number, "
                                 "optionally followed by a port letter, as in 8.6 or 5c.4.")
            number, letter = _ADAPTER.fullmatch(self.adapter).groups()  # type: ignore[union-attr]
            object.__setattr__(self, "adapter", f"{int(number)}{letter.lower()}")
        if self.device_id is None:
            raise ValueError("A physical path name needs a device id after the dot, "
                             "as in 8.6 or MY_SWITCH:5.3L2.")
        _check_number(self.device_id, "device id", "8.6 (device 6)")
        _check_lun(self.lun, "the physical path name")

    @classmethod
    def sn(cls, serial: str, lun: int = 0) -> Mapping:
        return cls(MappingKind.SN, serial=serial, lun=lun)

    @classmethod
    def switch_attached(cls, switch: str, port: int, device_id: int, lun: int = 0) -> Mapping:
        return cls(MappingKind.PPN, switch=switch, port=port, device_id=device_id, lun=lun)

    @classmethod
    def direct_attached(cls, adapter: str, device_id: int, lun: int = 0) -> Mapping:
        return cls(MappingKind.PPN, adapter=str(adapter), device_id=device_id, lun=lun)

    def __str__(self) -> str:
        tail = f"L{self.lun}" if self.lun else ""
        if self.kind is MappingKind.SN:
            return f"SN[{self.serial}]{tail}"
        if self.switch is not None:
            return f"{self.switch}:{self.port}.{self.device_id}{tail}"
        return f"{self.adapter}.{self.device_id}{tail}"

    @property
    def key(self) -> str:
        """The canonical text in upper case: the same for every spelling of the mapping."""
        return str(self).upper()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mapping):
            return NotImplemented
        return self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)


def serial_mapping(serial: str, lun: int = 0) -> str:
    """``SN[serial]`` or ``SN[serial]L<lun>`` (the L part is left out for LUN 0)."""
    return str(Mapping.sn(serial, lun))


def ppn(switch: str, port: int, device_id: int, lun: int = 0) -> str:
    """The switch-attached physical path name ``switch:port.device_id[L<lun>]``.

    Our emulated devices are named this way: the library's name is the switch, the
    target port number the port id, the device's index the device id.
    """
    return str(Mapping.switch_attached(switch, port, device_id, lun))


def direct_ppn(adapter: str, device_id: int, lun: int = 0) -> str:
    """The direct-attached physical path name ``adapter.device_id[L<lun>]``."""
    return str(Mapping.direct_attached(adapter, device_id, lun))


def parse_mapping(text: str) -> Mapping:
    """Parse ``SN[123456]L4``, ``8.6``, ``5c.4`` or ``MY_SWITCH:5.3L2`` (any case)."""
    if not isinstance(text, str):
        raise TypeError(f"a mapping is a str, not {type(text).__name__}.")

    def bad(reason: str) -> ValueError:
        return ValueError(f'"{text}" is not a serial number or physical path name: {reason} '
                          f"Write one like {_MAPPING_EXAMPLES}.")

    if text.strip() == "":
        raise ValueError(f"The mapping is empty; write a serial number or physical path name "
                         f"like {_MAPPING_EXAMPLES}.")
    if text != text.strip():
        raise bad("it has blanks around it.")
    if text[:3].upper() == "SN[":
        return _parse_sn(text, bad)
    if text[:2].upper() == "SN" and "." not in text and ":" not in text:
        raise bad("the serial number must be in square brackets after SN.")
    return _parse_ppn(text, bad)


def _parse_sn(text: str, bad) -> Mapping:  # type: ignore[no-untyped-def]
    close = text.find("]")
    if close < 0:
        raise bad('the serial number has no closing "]".')
    serial, tail = text[3:close], text[close + 1:]
    lun = 0
    if tail:
        match = re.fullmatch(r"L(?:([0-9]+)|\[([0-9]+)\])", tail, re.IGNORECASE | re.ASCII)
        if not match:
            raise bad(f'"{tail}" after the serial number is not a LUN such as L4.')
        lun = int(match.group(1) or match.group(2))
    try:
        return Mapping.sn(serial, lun)
    except ValueError as exc:
        raise bad(_reason(exc)) from None


def _reason(exc: ValueError) -> str:
    """A nested message as a clause: lower-case start, without its own example."""
    text = re.sub(r",? (?:for example|as in) \S+( \([^)]*\))?\.$", ".", str(exc))
    return text[:1].lower() + text[1:]


def _parse_ppn(text: str, bad) -> Mapping:  # type: ignore[no-untyped-def]
    switch: str | None = None
    rest = text
    if ":" in text:
        switch, rest = text.split(":", 1)
        if not switch:
            raise bad('there is no switch name before ":".')
        try:
            check_switch_name(switch)
        except ValueError as exc:
            raise bad(_reason(exc)) from None
    head, dot, tail = rest.partition(".")
    if not dot:
        raise bad('there is no "." between the ' + ("port id" if switch else "host adapter")
                  + " and the device id.")
    match = re.fullmatch(r"([0-9]+)(?:[Ll]([0-9]+))?", tail, re.ASCII)
    if not match:
        raise bad(f'"{tail}" is not a device id, optionally followed by L and a LUN.')
    device_id = int(match.group(1))
    lun = int(match.group(2)) if match.group(2) is not None else 0
    try:
        if switch is not None:
            if not _NUMBER.fullmatch(head):
                raise bad(f'the port id "{head}" is not a number.')
            return Mapping.switch_attached(switch, int(head), device_id, lun)
        if not _ADAPTER.fullmatch(head):
            raise bad(f'the host adapter "{head}" is not a slot number, optionally followed '
                      "by a port letter.")
        return Mapping.direct_attached(head, device_id, lun)
    except ValueError as exc:
        if str(exc).startswith(f'"{text}"'):
            raise
        raise bad(_reason(exc)) from None


def mapping_key(text: str) -> str:
    """The case-insensitive canonical form of a mapping, for comparing and as a key.

    ``mapping_key("sn[abc]L0") == mapping_key("SN[ABC]") == "SN[ABC]"``.
    """
    return parse_mapping(text).key
