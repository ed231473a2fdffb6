"""Exceptions raised by :mod:`tapeconf`.

Every message is a plain sentence meant for the person who has to fix the problem:
it names the file and the line (for configuration files) and ends with what to do.
"""

from __future__ import annotations

__all__ = ["TapeConfigError", "UnknownDriveError"]


class TapeConfigError(ValueError):
    """A tape configuration file breaks a rule of the format.

    ``line`` is the 1-based line number of the offending ``key=value`` line, or 0 when
    the problem belongs to the file as a whole (a required key that never appears).
    The parts are kept apart so that callers (the CLI, a log) can lay them out as they
    like; ``str()`` joins them into one sentence.
    """

    def __init__(self, source: str, line: int, message: str, fix: str) -> None:
        super().__init__(source, line, message, fix)
        self.source = source
        self.line = line
        self.message = message
        self.fix = fix

    @property
    def where(self) -> str:
        """``"HP_LTO5.tcf, line 3"``, or ``"HP_LTO5.tcf, end of file"`` for line 0."""
        if self.line:
            return f"{self.source}, line {self.line}"
        return f"{self.source}, end of file"

    def __str__(self) -> str:
        return f"{self.where}: {self.message} Fix: {self.fix}"


class UnknownDriveError(KeyError):
    """A drive personality was asked for by a name nobody knows.

    It is a :class:`KeyError` because it is a failed lookup, but unlike ``KeyError``
    its ``str()`` is the readable sentence, not the repr of the key.
    """

    def __init__(self, name: str, available: list[str]) -> None:
        super().__init__(name)
        self.name = name
        self.available = list(available)

    def __str__(self) -> str:
        if self.available:
            known = ", ".join(self.available)
            return f'There is no tape drive personality named "{self.name}". Known names: {known}.'
        return f'There is no tape drive personality named "{self.name}", and none are loaded.'
