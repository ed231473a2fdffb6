"""Reading tape configuration files.

The syntax, from ONTAP's "Format of the tape configuration file": one ``key=value`` per
line.  On top of what the example file shows, and because people edit these files by
hand, the reader also accepts:

* blank lines, and comments: a line whose first non-blank character is ``#``, or a
  ``#`` that follows a value after white space (``h_density=0x58  # LTO-5``); a ``#``
  inside a value (``product_id=ULT#1``, ``l_description="#1"``) is part of the value;
* white space around the key and around ``=``;
* any value in double quotes or without them.  A value without quotes cannot contain
  white space, a double quote, or a ``#`` after white space; a value in quotes is taken
  exactly as written and cannot contain a double quote.

Values: strings as above; ``id_match_size`` in decimal; density and algorithm codes
in hex with a ``0x`` prefix; ``autoload`` ``yes`` or ``no`` (any case);
``cmd_timeout_0xNN`` a whole number followed by ``m``, ``s`` or ``ms``.

Nothing is ignored silently: an unknown key, a key given twice or a value that does not
fit raises :class:`~tapeconf.errors.TapeConfigError` naming the file, the line and the
fix.  The first problem in the file wins.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from tapeconf.config import DensitySetting, TapeConfig
from tapeconf.errors import TapeConfigError
from tapeconf.rules import (
    COMPRESSION_TYPES,
    SETTING_FIELDS,
    check_byte,
    check_id_match_size,
    check_opcode,
    check_pretty_pair,
    check_text,
    show,
)

__all__ = ["KEYS", "REQUIRED_KEYS", "load_tape_config", "parse_tape_config"]

#: Every fixed key, in the order a file lists them (``cmd_timeout_0xNN`` comes last).
KEYS: tuple[str, ...] = (
    "vendor_id",
    "product_id",
    "id_match_size",
    "vendor_pretty",
    "product_pretty",
    *(f"{c}_{f}" for c in COMPRESSION_TYPES for f in SETTING_FIELDS),
    "autoload",
)

#: Keys a file must contain.
REQUIRED_KEYS: tuple[str, ...] = tuple(
    key for key in KEYS if key not in ("vendor_pretty", "product_pretty", "autoload")
)

_TIMEOUT_PREFIX = "cmd_timeout_"
_KEY_SYNTAX = re.compile(r"[A-Za-z0-9_]+")
_HEX = re.compile(r"0[xX]([0-9A-Fa-f]+)")
_DECIMAL = re.compile(r"[0-9]+")
_TIMEOUT = re.compile(r"([0-9]+)(ms|m|s)")
_TIMEOUT_UNITS = {"m": 60_000, "s": 1_000, "ms": 1}

_EXAMPLES = {
    "vendor_id": 'vendor_id="IBM"',
    "product_id": 'product_id="ULT3580-TD5"',
    "id_match_size": "id_match_size=11",
    "vendor_pretty": 'vendor_pretty="Hewlett-Packard"',
    "product_pretty": 'product_pretty="LTO-5"',
    "autoload": 'autoload="yes"',
    "description": '{key}="LTO-5 1500GB"',
    "density": "{key}=0x58 (or 0x00 for the drive's default density)",
    "algorithm": "{key}=0x01 for compression, or {key}=0x00 for none",
}


def load_tape_config(path: str | os.PathLike[str]) -> TapeConfig:
    """Read and check the tape configuration file at ``path``.

    The path, as given, becomes the config's ``source`` and appears in messages.
    """
    source = os.fspath(path)
    with open(path, "rb") as file:
        data = file.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise TapeConfigError(
            source, line,
            f"byte 0x{data[exc.start]:02X} is not text.",
            "save the file as plain ASCII text.",
        ) from None
    return parse_tape_config(text, source)


def parse_tape_config(text: str, source: str = "<string>") -> TapeConfig:
    """Parse the text of a tape configuration file; ``source`` names it in messages."""
    return _Reader(source).read(text)


@dataclass(frozen=True)
class _Value:
    """A parsed value and the line it came from."""

    line: int
    value: object


class _Reader:
    """One pass over one file: collects values per key, then checks the whole."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.values: dict[str, _Value] = {}
        # opcode -> (line, key as written, milliseconds)
        self.timeouts: dict[int, tuple[int, str, int]] = {}
        self.line = 0

    def fail(self, message: str, fix: str, line: int | None = None) -> NoReturn:
        raise TapeConfigError(self.source, self.line if line is None else line, message, fix)

    # -- the whole file -------------------------------------------------------------

    def read(self, text: str) -> TapeConfig:
        for self.line, raw in enumerate(text.removeprefix("\ufeff").splitlines(), start=1):
            parsed = self._split(raw)
            if parsed is None:
                continue
            self._take(*parsed)
        self.line = 0
        return self._build()

    def _build(self) -> TapeConfig:
        if not self.values and not self.timeouts:
            self.fail(
                "the file sets nothing.",
                "add " + ", ".join(REQUIRED_KEYS[:3]) + ", and the description, density "
                "and algorithm of each compression type l, m, h and a.",
            )
        for key in REQUIRED_KEYS:
            if key not in self.values:
                self.fail(f"the required key {key} is missing.", f"add a line {_example(key)}.")

        product_id = self._get("product_id")
        problem = check_id_match_size(self._get("id_match_size"), product_id)
        if problem:
            self.fail(problem.message, problem.fix, self.values["id_match_size"].line)

        vendor_pretty = self._get("vendor_pretty")
        product_pretty = self._get("product_pretty")
        problem = check_pretty_pair(vendor_pretty, product_pretty)
        if problem:
            present = "vendor_pretty" if product_pretty is None else "product_pretty"
            self.fail(problem.message, problem.fix, self.values[present].line)

        settings = {
            c: DensitySetting(
                description=self._get(f"{c}_description"),
                density=self._get(f"{c}_density"),
                algorithm=self._get(f"{c}_algorithm"),
            )
            for c in COMPRESSION_TYPES
        }
        return TapeConfig(
            vendor_id=self._get("vendor_id"),
            product_id=product_id,
            id_match_size=self._get("id_match_size"),
            vendor_pretty=vendor_pretty,
            product_pretty=product_pretty,
            settings=settings,
            autoload=self._get("autoload", False),
            cmd_timeouts={op: ms / 1000 for op, (_, _, ms) in sorted(self.timeouts.items())},
            source=self.source,
        )

    def _get(self, key: str, default: Any = None) -> Any:
        entry = self.values.get(key)
        return default if entry is None else entry.value

    # -- one line -------------------------------------------------------------------

    def _split(self, raw: str) -> tuple[str, str] | None:
        """Split a line into key and value text; ``None`` for blank and comment lines."""
        line = raw.strip()
        if not line or line.startswith("#"):
            return None
        key, equals, rest = line.partition("=")
        key = key.strip()
        if not equals or not key:
            self.fail(
                f"{show(_clip(line))} is not a key=value line.",
                'write one setting per line as key=value, e.g. vendor_id="IBM", '
                "or start the line with # to make it a comment.",
            )
        if not _KEY_SYNTAX.fullmatch(key):
            self.fail(
                f"{show(key)} is not a key.",
                "keys are made of letters, digits and underscores, e.g. h_density.",
            )
        return key, rest.strip()

    def _value(self, key: str, rest: str) -> str:
        """The value text of a line, without quotes and without a trailing comment."""
        if not rest or rest.startswith("#"):
            self.fail(
                f"{key} has no value.", f"write a value after the = sign, e.g. {_example(key)}."
            )
        if rest.startswith('"'):
            return self._quoted(key, rest)
        return self._unquoted(key, rest)

    def _quoted(self, key: str, rest: str) -> str:
        end = rest.find('"', 1)
        if end < 0:
            self.fail(
                f"the value of {key} opens a double quote but never closes it.",
                f"end the value with a double quote: {key}={rest}\".",
            )
        after = rest[end + 1:].strip()
        if after and not after.startswith("#"):
            self.fail(
                f"the value of {key} continues after its closing double quote "
                f"({show(_clip(after))}).",
                "a value cannot contain a double quote; put the whole value in one pair "
                "of double quotes, and start a trailing comment with #.",
            )
        return rest[1:end]

    def _unquoted(self, key: str, rest: str) -> str:
        value, *tail = rest.split(None, 1)
        after = tail[0] if tail else ""
        if '"' in value:
            self.fail(
                f"the value of {key} ({show(value)}) has a stray double quote.",
                f'put the whole value in double quotes ({key}="...") or remove the quote.',
            )
        if after and not after.startswith("#"):
            whole = re.split(r"\s#", rest, maxsplit=1)[0].rstrip()
            self.fail(
                f"the value of {key} ({show(_clip(whole))}) contains white space "
                "but is not in double quotes.",
                f'put the value in double quotes: {key}="{whole}".',
            )
        return value

    # -- one key --------------------------------------------------------------------

    def _take(self, key: str, rest: str) -> None:
        """Record one ``key=value`` line.

        The key is checked before the value, so that a misspelt key is reported as
        such rather than as a bad value.
        """
        if key.startswith(_TIMEOUT_PREFIX):
            opcode = self._timeout_opcode(key)
            milliseconds = self._duration(key, self._value(key, rest))
            self.timeouts[opcode] = (self.line, key, milliseconds)
            return
        parse = self._parser_for(key)
        if key in self.values:
            first = self.values[key].line
            self.fail(
                f"{key} is set again; it was first set on line {first}.",
                "keep one of the two lines and remove the other.",
            )
        self.values[key] = _Value(self.line, parse(key, self._value(key, rest)))

    def _parser_for(self, key: str) -> Callable[[str, str], object]:
        if key in ("vendor_id", "product_id", "vendor_pretty", "product_pretty"):
            return self._text
        if key == "id_match_size":
            return self._match_size
        if key == "autoload":
            return self._autoload
        compression, _, field_name = key.partition("_")
        if compression in COMPRESSION_TYPES and field_name in SETTING_FIELDS:
            return self._text if field_name == "description" else self._byte
        self._unknown(key)

    def _unknown(self, key: str) -> NoReturn:
        known = (*KEYS, "cmd_timeout_0x01")
        if key.lower() in KEYS:
            fix = f"keys are lower case: write {key.lower()}."
        elif key.endswith(SETTING_FIELDS) and "_" in key:
            suffix = key.rsplit("_", 1)[1]
            fix = (f"the compression types are l, m, h and a: use l_{suffix}, m_{suffix}, "
                   f"h_{suffix} or a_{suffix}.")
        else:
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            fix = (f"write {close[0]} if that is the key you meant, or remove the line." if close
                   else "use one of the keys " + ", ".join(KEYS) + " or cmd_timeout_0xNN.")
        self.fail(f"{key} is not a key of a tape configuration file.", fix)

    def _text(self, key: str, text: str) -> str:
        problem = check_text(key, text)
        if problem:
            self.fail(problem.message, problem.fix)
        return text

    def _match_size(self, key: str, text: str) -> int:
        if not _DECIMAL.fullmatch(text):
            self.fail(
                f"{key} {show(text)} is not a whole number.",
                "write how many leading bytes of product_id identify the drive, "
                "e.g. id_match_size=9.",
            )
        return int(text)

    def _byte(self, key: str, text: str) -> int:
        match = _HEX.fullmatch(text)
        if not match:
            self.fail(
                f"{key} {show(text)} is not a hex code.",
                f"write it as 0x followed by hex digits, e.g. {_example(key)}.",
            )
        value = int(match.group(1), 16)
        problem = check_byte(key, value)
        if problem:
            self.fail(problem.message, problem.fix)
        return value

    def _autoload(self, key: str, text: str) -> bool:
        answer = text.lower()
        if answer not in ("yes", "no"):
            self.fail(
                f"{key} {show(text)} is neither yes nor no.",
                'write autoload="yes" if the drive loads a cartridge by itself when it is '
                'inserted, otherwise autoload="no".',
            )
        return answer == "yes"

    def _timeout_opcode(self, key: str) -> int:
        match = _HEX.fullmatch(key[len(_TIMEOUT_PREFIX):])
        if not match:
            self.fail(
                f"{key} does not end in an operation code in hex.",
                "write the SCSI operation code as 0x and two hex digits, "
                "e.g. cmd_timeout_0x01 for REWIND.",
            )
        opcode = int(match.group(1), 16)
        problem = check_opcode(opcode)
        if problem:
            self.fail(problem.message, problem.fix)
        if opcode in self.timeouts:
            first_line, first_key, _ = self.timeouts[opcode]
            self.fail(
                f"{key} sets the timeout of operation code 0x{opcode:02X} again; "
                f"it was first set on line {first_line} ({first_key}).",
                "keep one of the two lines and remove the other.",
            )
        return opcode

    def _duration(self, key: str, text: str) -> int:
        """A timeout value in milliseconds."""
        match = _TIMEOUT.fullmatch(text)
        if not match:
            number = re.match(r"[0-9]*", text).group()
            unit = text[len(number):]
            if number and not unit:
                message = f"{key} {show(text)} has no unit."
            elif number and unit.isalpha():
                message = f"{key} {show(text)} has the unit {show(unit)}, which is not m, s or ms."
            else:
                message = f"{key} {show(text)} is not a whole number followed by a unit."
            self.fail(
                message,
                "write a whole number followed by m (minutes), s (seconds) or "
                "ms (milliseconds), e.g. 10m, 90s or 500ms.",
            )
        milliseconds = int(match.group(1)) * _TIMEOUT_UNITS[match.group(2)]
        if milliseconds == 0:
            self.fail(
                f"{key} {show(text)} is zero; a timeout must be positive.",
                "give a positive time, or remove the line to keep the tape driver's default.",
            )
        return milliseconds


def _example(key: str) -> str:
    kind = key.partition("_")[2] if key[:2] in {f"{c}_" for c in COMPRESSION_TYPES} else key
    example = _EXAMPLES.get(kind, f'{key}="..."')
    return example.format(key=key)


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
