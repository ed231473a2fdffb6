"""XDR (RFC 4506) as a table of declared types that both decode and encode.

Every NDMP message body is declared once with the types below (``Struct``,
``Union``, ``Array``, ``String``...); the same declaration decodes bytes into
values, encodes values into bytes, and can be walked (``Struct.fields``,
``Union.arms``...) by tests that generate values for every message.

Why not ``construct``: XDR needs unions with named arms, counted arrays that
must be refused *before* looping when the count cannot fit in what is left of
the record, one exception type with the path of the field that failed, compact
decoded values (a peer controls how many it makes), and bulk data handed out
as a ``memoryview`` slice (no copy).  A few small classes do all of that; on a
CONFIG_GET_TAPE_INFO reply they decode about ten times faster than the
equivalent construct declaration (which cannot be compiled: variable-length
padded strings), and an 8-byte ``ndmp_pval`` decodes to 56 bytes of Python
objects (slotted dataclasses) against 200 for construct's Containers.

Decisions (the server depends on them):

* Decoding raises only :class:`XdrError` (with the failing field's path).
* Integers are range-checked both ways.  ``u_short``, ``short`` and ``u_char``
  travel as 32-bit words (as rpcgen does) and a word outside their range is a
  decode error, not silently truncated.
* Enums decode known values to the ``IntEnum`` member and unknown ones to the
  plain ``int``: a peer may send values we do not know, and only the service
  that reads the field can say whether that is an error.
* A union's unknown discriminant is a decode error unless the union declares a
  ``default`` arm: without an arm the rest of the record cannot be parsed.
* Padding bytes after opaque data and strings are skipped unchecked (as
  rpcgen's decoder does); encoding always writes zeros.
* Strings are ``str``: UTF-8 decoded with ``surrogateescape``, so every byte
  string survives decode and encode unchanged (``s.encode("utf-8",
  "surrogateescape")`` gives the wire bytes back, e.g. for an MD5 password).
  Encoding accepts ``str`` or ``bytes``.
* Opaque data decodes to ``bytes``; an ``Opaque(view=True)`` field (tape
  records) decodes to a ``memoryview`` slice of the record instead.
"""
from __future__ import annotations

import dataclasses
import enum
import struct
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "BOOL",
    "INT32",
    "INT64",
    "OPAQUE_ANY",
    "SHORT",
    "STRING_ANY",
    "UINT32",
    "UINT64",
    "U_CHAR",
    "U_SHORT",
    "VOID",
    "Array",
    "Bool",
    "Enum",
    "FixedArray",
    "FixedOpaque",
    "Int",
    "Opaque",
    "Optional",
    "String",
    "Struct",
    "Union",
    "Void",
    "XdrEncodeError",
    "XdrError",
    "XdrType",
    "decode_at",
    "encode_to",
]

_U32 = struct.Struct(">I")
_I32 = struct.Struct(">i")
_ZEROS = b"\0\0\0"


class XdrError(ValueError):
    """Bytes that are not an encoding of the declared type (or a value that has none).

    ``path`` names the field that failed, outermost first, e.g.
    ``["tape_info", "[0]", "caplist", "[2]", "device"]``.
    """

    def __init__(self, reason: str, path: list[str] | None = None):
        super().__init__(reason)
        self.reason = reason
        self.path = path if path is not None else []

    def __str__(self) -> str:
        if not self.path:
            return self.reason
        where = "".join(p if p.startswith("[") else "." + p for p in self.path).lstrip(".")
        return f"{where}: {self.reason}"


class XdrEncodeError(XdrError):
    """A value that the declaration cannot encode (wrong type, out of range, missing arm)."""


def _pad(n: int) -> int:
    return -n & 3


def _truncated(need: int, off: int, buf: memoryview) -> XdrError:
    return XdrError(f"needs {need} bytes at offset {off}, {max(len(buf) - off, 0)} left")


class XdrType:
    """One declared XDR type.  ``min_size`` is the fewest bytes any encoding takes;
    arrays use it to refuse counts that the rest of the record cannot hold."""

    name: str = "?"
    min_size: int = 0

    def decode_from(self, buf: memoryview, off: int) -> tuple[Any, int]:
        raise NotImplementedError

    def encode_into(self, value: Any, out: bytearray) -> None:
        raise NotImplementedError

    def decode(self, data: bytes | bytearray | memoryview) -> Any:
        """Decode all of ``data``; bytes left over are an error."""
        buf = memoryview(data)
        value, off = decode_at(self, buf, 0)
        if off != len(buf):
            raise XdrError(f"{len(buf) - off} bytes left over after {self.name}")
        return value

    def encode(self, value: Any) -> bytes:
        out = bytearray()
        encode_to(self, value, out)
        return bytes(out)

    def __repr__(self) -> str:
        return f"<xdr {self.name}>"


def decode_at(t: XdrType, buf: memoryview, off: int) -> tuple[Any, int]:
    """Decode one ``t`` at ``off``; returns (value, next offset).  Raises only XdrError."""
    try:
        return t.decode_from(buf, off)
    except struct.error:
        raise XdrError(f"truncated {t.name} at offset {off}") from None


def encode_to(t: XdrType, value: Any, out: bytearray) -> None:
    """Append the encoding of ``value`` to ``out``.  Raises only XdrEncodeError."""
    try:
        t.encode_into(value, out)
    except XdrEncodeError:
        raise
    except XdrError as e:                 # a nested decode-style error while encoding
        raise XdrEncodeError(e.reason, e.path) from None
    except (struct.error, TypeError, ValueError, AttributeError, OverflowError) as e:
        raise XdrEncodeError(f"cannot encode {value!r} as {t.name}: {e}") from None


# --------------------------------------------------------------------------- integers

class Int(XdrType):
    """A 32- or 64-bit integer, optionally narrowed (u_short, short, u_char travel in 32 bits)."""

    def __init__(self, name: str, fmt: str, lo: int, hi: int):
        self.name = name
        self._struct = struct.Struct(fmt)
        self.min_size = self._struct.size
        self.lo, self.hi = lo, hi
        bits = 8 * self.min_size
        natural = (-2**(bits - 1), 2**(bits - 1) - 1) if fmt[-1].islower() else (0, 2**bits - 1)
        self._narrow = (lo, hi) != natural      # u_short, short, u_char: checked on both sides

    def decode_from(self, buf: memoryview, off: int) -> tuple[int, int]:
        v = self._struct.unpack_from(buf, off)[0]
        if self._narrow and not self.lo <= v <= self.hi:
            raise XdrError(f"{self.name} value {v} outside {self.lo}..{self.hi}")
        return v, off + self.min_size

    def encode_into(self, value: int, out: bytearray) -> None:
        if self._narrow and not self.lo <= value <= self.hi:
            raise XdrEncodeError(f"{self.name} value {value} outside {self.lo}..{self.hi}")
        out += self._struct.pack(value)


UINT32 = Int("u_long", ">I", 0, 2**32 - 1)          # NDMP's u_long is XDR's unsigned int
INT32 = Int("long", ">i", -2**31, 2**31 - 1)
UINT64 = Int("u_quad", ">Q", 0, 2**64 - 1)          # also ndmp_u_quad {high, low}: same bytes
INT64 = Int("quad", ">q", -2**63, 2**63 - 1)
U_SHORT = Int("u_short", ">I", 0, 0xFFFF)
SHORT = Int("short", ">i", -0x8000, 0x7FFF)
U_CHAR = Int("u_char", ">I", 0, 0xFF)


class Bool(XdrType):
    name = "bool"
    min_size = 4

    def decode_from(self, buf: memoryview, off: int) -> tuple[bool, int]:
        v = _U32.unpack_from(buf, off)[0]
        if v > 1:
            raise XdrError(f"bool value {v} is neither 0 nor 1")
        return v == 1, off + 4

    def encode_into(self, value: bool, out: bytearray) -> None:
        out += _U32.pack(1 if value else 0)


BOOL = Bool()


class Enum(XdrType):
    """An XDR enum (signed 32-bit) mapped onto an ``IntEnum``; unknown values stay ``int``."""

    min_size = 4

    def __init__(self, enum_cls: type[enum.IntEnum]):
        self.enum_cls = enum_cls
        self.name = enum_cls.__name__
        self._members = {int(m): m for m in enum_cls}

    def decode_from(self, buf: memoryview, off: int) -> tuple[int, int]:
        v = _I32.unpack_from(buf, off)[0]
        return self._members.get(v, v), off + 4

    def encode_into(self, value: int, out: bytearray) -> None:
        v = int(value)
        if not -2**31 <= v < 2**32:
            raise XdrEncodeError(f"{self.name} value {v} does not fit in 32 bits")
        out += _U32.pack(v & 0xFFFFFFFF)


# --------------------------------------------------------------------------- opaque and strings

class FixedOpaque(XdrType):
    """``opaque x[n]``: exactly n bytes, padded to a multiple of four."""

    def __init__(self, size: int, name: str | None = None):
        self.size = size
        self.name = name or f"opaque[{size}]"
        self.min_size = size + _pad(size)

    def decode_from(self, buf: memoryview, off: int) -> tuple[bytes, int]:
        end = off + self.size
        if end + _pad(self.size) > len(buf):
            raise _truncated(self.min_size, off, buf)
        return bytes(buf[off:end]), end + _pad(self.size)

    def encode_into(self, value: bytes, out: bytearray) -> None:
        if len(value) != self.size:
            raise XdrEncodeError(f"{self.name} needs exactly {self.size} bytes, got {len(value)}")
        out += value
        out += _ZEROS[:_pad(self.size)]


class Opaque(XdrType):
    """``opaque x<max>``: a length word, the bytes, padding.  ``view=True`` decodes to a
    ``memoryview`` of the record (bulk tape data: no copy)."""

    min_size = 4

    def __init__(self, max: int | None = None, *, view: bool = False, name: str = "opaque<>"):
        self.max = max
        self.view = view
        self.name = name

    def _span(self, buf: memoryview, off: int) -> tuple[int, int]:
        n = _U32.unpack_from(buf, off)[0]
        if self.max is not None and n > self.max:
            raise XdrError(f"{self.name} length {n} exceeds its maximum {self.max}")
        start = off + 4
        if start + n + _pad(n) > len(buf):
            raise XdrError(f"{self.name} length {n} exceeds the {len(buf) - start} bytes left")
        return start, n

    def decode_from(self, buf: memoryview, off: int) -> tuple[bytes | memoryview, int]:
        start, n = self._span(buf, off)
        end = start + n
        data = buf[start:end] if self.view else bytes(buf[start:end])
        return data, end + _pad(n)

    def encode_into(self, value: bytes | bytearray | memoryview, out: bytearray) -> None:
        n = len(value) if not isinstance(value, memoryview) else value.nbytes
        if self.max is not None and n > self.max:
            raise XdrEncodeError(f"{self.name} length {n} exceeds its maximum {self.max}")
        out += _U32.pack(n)
        out += value
        out += _ZEROS[:_pad(n)]


class String(Opaque):
    """``string x<max>`` as ``str`` (UTF-8 with surrogateescape: any bytes round-trip)."""

    def __init__(self, max: int | None = None, *, name: str = "string<>"):
        super().__init__(max, name=name)

    def decode_from(self, buf: memoryview, off: int) -> tuple[str, int]:
        start, n = self._span(buf, off)
        end = start + n
        return str(buf[start:end], "utf-8", "surrogateescape"), end + _pad(n)

    def encode_into(self, value: str | bytes, out: bytearray) -> None:
        if isinstance(value, str):
            value = value.encode("utf-8", "surrogateescape")
        elif not isinstance(value, (bytes, bytearray)):
            raise XdrEncodeError(f"{self.name} needs str or bytes, got {type(value).__name__}")
        super().encode_into(value, out)


# --------------------------------------------------------------------------- containers

STRING_ANY = String()
OPAQUE_ANY = Opaque()


class Array(XdrType):
    """``T x<max>``: a count word then the elements, as a ``list``.

    The count is refused before any element is decoded when ``count *
    element.min_size`` exceeds the bytes left, so a hostile count costs nothing."""

    min_size = 4

    def __init__(self, element: XdrType, max: int | None = None):
        if element.min_size <= 0:
            raise TypeError(f"array of {element.name}: elements must take at least one byte")
        self.element = element
        self.max = max
        self.name = f"{element.name}<>"

    def decode_from(self, buf: memoryview, off: int) -> tuple[list, int]:
        n = _U32.unpack_from(buf, off)[0]
        off += 4
        if self.max is not None and n > self.max:
            raise XdrError(f"{self.name} count {n} exceeds its maximum {self.max}")
        if n * self.element.min_size > len(buf) - off:
            raise XdrError(f"{self.name} count {n} cannot fit in the {len(buf) - off} bytes left")
        decode = self.element.decode_from
        items = []
        i = 0
        try:
            for i in range(n):
                v, off = decode(buf, off)
                items.append(v)
        except XdrError as e:
            e.path.insert(0, f"[{i}]")
            raise
        except struct.error:
            raise XdrError(f"truncated {self.element.name}", [f"[{i}]"]) from None
        return items, off

    def encode_into(self, value: Iterable, out: bytearray) -> None:
        items = value if isinstance(value, (list, tuple)) else list(value)
        if self.max is not None and len(items) > self.max:
            raise XdrEncodeError(f"{self.name} count {len(items)} exceeds its maximum {self.max}")
        out += _U32.pack(len(items))
        encode = self.element.encode_into
        for i, v in enumerate(items):
            try:
                encode(v, out)
            except XdrError as e:
                e.path.insert(0, f"[{i}]")
                raise


class FixedArray(XdrType):
    """``T x[n]``: exactly n elements, no count word."""

    def __init__(self, element: XdrType, size: int):
        self.element = element
        self.size = size
        self.min_size = element.min_size * size
        self.name = f"{element.name}[{size}]"

    def decode_from(self, buf: memoryview, off: int) -> tuple[list, int]:
        items = []
        for i in range(self.size):
            try:
                v, off = self.element.decode_from(buf, off)
            except XdrError as e:
                e.path.insert(0, f"[{i}]")
                raise
            items.append(v)
        return items, off

    def encode_into(self, value: list, out: bytearray) -> None:
        if len(value) != self.size:
            raise XdrEncodeError(f"{self.name} needs exactly {self.size} elements, got {len(value)}")
        for i, v in enumerate(value):
            try:
                self.element.encode_into(v, out)
            except XdrError as e:
                e.path.insert(0, f"[{i}]")
                raise


class Optional(XdrType):
    """``T *x`` (optional-data): a bool then the value if present; ``None`` if absent."""

    min_size = 4

    def __init__(self, element: XdrType):
        self.element = element
        self.name = f"{element.name} *"

    def decode_from(self, buf: memoryview, off: int) -> tuple[Any, int]:
        present, off = BOOL.decode_from(buf, off)
        if not present:
            return None, off
        return self.element.decode_from(buf, off)

    def encode_into(self, value: Any, out: bytearray) -> None:
        if value is None:
            out += _U32.pack(0)
        else:
            out += _U32.pack(1)
            self.element.encode_into(value, out)


class Void(XdrType):
    """``void``: no bytes; decodes to ``None`` (also a message with no body)."""

    min_size = 0

    def __init__(self, name: str = "void"):
        self.name = name

    def decode_from(self, buf: memoryview, off: int) -> tuple[None, int]:
        return None, off

    def encode_into(self, value: None, out: bytearray) -> None:
        if value is not None:
            raise XdrEncodeError(f"{self.name} carries no value, got {value!r}")


VOID = Void()


def _class_name(spec_name: str) -> str:
    """``ndmp_tape_open_request`` -> ``TapeOpenRequest``."""
    base = spec_name.removeprefix("ndmp_")
    return "".join(part[:1].upper() + part[1:] for part in base.split("_") if part)


class Struct(XdrType):
    """``struct name { ... }``.  Calling the declaration builds a value:
    ``TapeOpenRequest(device="/dev/nst0", mode=TapeOpenMode.NDMP_TAPE_RDWR_MODE)``.

    Values are instances of a generated slotted dataclass (``.cls``), compared by
    field, named after the spec (``ndmp_tape_open_request`` -> ``TapeOpenRequest``)."""

    def __init__(self, spec_name: str, /, **fields: XdrType):
        self.name = spec_name
        self.fields: tuple[tuple[str, XdrType], ...] = tuple(fields.items())
        self.min_size = sum(t.min_size for _, t in self.fields)
        self.cls = dataclasses.make_dataclass(
            _class_name(spec_name), [f for f, _ in self.fields], slots=True, eq=True, repr=True,
            namespace={"__doc__": f"Value of XDR ``struct {spec_name}``."})
        self.cls.__module__ = __name__
        self._decoders = tuple(t.decode_from for _, t in self.fields)
        self._encoders = tuple((f, t.encode_into) for f, t in self.fields)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.cls(*args, **kwargs)

    def decode_from(self, buf: memoryview, off: int) -> tuple[Any, int]:
        values = []
        i = 0
        try:
            for i, decode in enumerate(self._decoders):
                v, off = decode(buf, off)
                values.append(v)
        except XdrError as e:
            e.path.insert(0, self.fields[i][0])
            raise
        except struct.error:
            raise XdrError(f"truncated {self.fields[i][1].name} at offset {off}", [self.fields[i][0]]) from None
        return self.cls(*values), off

    def encode_into(self, value: Any, out: bytearray) -> None:
        if not isinstance(value, self.cls):
            raise XdrEncodeError(f"{self.name} needs a {self.cls.__name__}, got {type(value).__name__}")
        for f, encode in self._encoders:
            try:
                encode(getattr(value, f), out)
            except XdrError as e:
                e.path.insert(0, f)
                raise
            except (struct.error, TypeError, ValueError, AttributeError, OverflowError) as e:
                raise XdrEncodeError(f"cannot encode {getattr(value, f, None)!r}: {e}", [f]) from None


Arm = tuple[str, XdrType]


class Union(XdrType):
    """``union name switch (disc_type disc) { case ...: arm; default: arm; }``.

    Values are generated dataclasses with the discriminant and one slot per arm
    name, e.g. ``Addr(addr_type=AddrType.NDMP_ADDR_TCP, tcp_addr=[...])``; arms
    not selected by the discriminant are ``None``.  ``arms`` maps a
    discriminant value to ``(arm_name, type)``, or to ``None`` for ``void``."""

    def __init__(self, spec_name: str, discriminant: Arm, arms: Mapping[int, Arm | None],
                 default: Arm | None | bool = False):
        self.name = spec_name
        self.discriminant = discriminant
        self.arms: dict[int, Arm | None] = dict(arms)
        self.has_default = default is not False
        self.default: Arm | None = None if default is False else default   # type: ignore[assignment]
        names: list[str] = []
        for arm in [*self.arms.values(), self.default]:
            if arm is not None and arm[0] not in names:
                names.append(arm[0])
        self.arm_names = tuple(names)
        choices = [a[1].min_size if a else 0 for a in self.arms.values()]
        if self.has_default:
            choices.append(self.default[1].min_size if self.default else 0)
        self.min_size = discriminant[1].min_size + min(choices)
        self.cls = dataclasses.make_dataclass(
            _class_name(spec_name),
            [discriminant[0], *[(n, object, dataclasses.field(default=None)) for n in names]],
            slots=True, eq=True, repr=True,
            namespace={"__doc__": f"Value of XDR ``union {spec_name}``."})
        self.cls.__module__ = __name__
        self._slot = {n: i for i, n in enumerate(names)}

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.cls(*args, **kwargs)

    def arm_for(self, disc: int) -> Arm | None:
        """The arm a discriminant selects (``None`` for void); XdrError if it selects none."""
        try:
            return self.arms[disc]
        except (KeyError, TypeError):
            if self.has_default:
                return self.default
            raise XdrError(f"{self.name} has no arm for {self.discriminant[0]} {disc!r}",
                           [self.discriminant[0]]) from None

    def decode_from(self, buf: memoryview, off: int) -> tuple[Any, int]:
        disc, off = self.discriminant[1].decode_from(buf, off)
        arm = self.arm_for(disc)
        values: list[Any] = [None] * len(self.arm_names)
        if arm is not None:
            try:
                v, off = arm[1].decode_from(buf, off)
            except XdrError as e:
                e.path.insert(0, arm[0])
                raise
            except struct.error:
                raise XdrError(f"truncated {arm[1].name} at offset {off}", [arm[0]]) from None
            values[self._slot[arm[0]]] = v
        return self.cls(disc, *values), off

    def encode_into(self, value: Any, out: bytearray) -> None:
        if not isinstance(value, self.cls):
            raise XdrEncodeError(f"{self.name} needs a {self.cls.__name__}, got {type(value).__name__}")
        disc = getattr(value, self.discriminant[0])
        try:
            arm = self.arm_for(disc)
        except XdrError as e:
            raise XdrEncodeError(e.reason, e.path) from None
        for n in self.arm_names:
            if (arm is None or n != arm[0]) and getattr(value, n) is not None:
                raise XdrEncodeError(f"{self.name}: {n} is set but {self.discriminant[0]} {disc!r} "
                                     f"selects {arm[0] if arm else 'no arm'}", [n])
        self.discriminant[1].encode_into(disc, out)
        if arm is not None:
            try:
                arm[1].encode_into(getattr(value, arm[0]), out)
            except XdrError as e:
                e.path.insert(0, arm[0])
                raise
