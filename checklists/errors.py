"""Errors raised by the checklists package.

All of them derive from :class:`ChecklistError`, so a caller that maps domain errors to HTTP
responses can catch the base class and dispatch on the concrete type.
"""

from __future__ import annotations

from pathlib import Path


class ChecklistError(Exception):
    """Base class of every error the checklists package raises."""


class UnknownItem(ChecklistError):
    """A code names no item or sub-check of the checklist version at hand."""

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(f"unknown item code {code!r}: it is not in this checklist version")


class InvalidAnswer(ChecklistError):
    """An answer is not one of "yes", "no" or "na"."""

    def __init__(self, code: str, answer: object) -> None:
        self.code = code
        self.answer = answer
        super().__init__(f"invalid answer {answer!r} for {code!r}: use 'yes', 'no' or 'na'")


class ChecklistFileError(ChecklistError):
    """A checklist data file is malformed; says which file and which line.

    ``str(error)`` reads like ``gas/2023.toml:42: duplicate item code 'gas.1'``: the file is
    named by its directory (the checklist code) and its name (the version label).
    """

    def __init__(self, path: Path, line: int, message: str) -> None:
        self.path = path
        self.line = line
        self.message = message
        super().__init__(f"{path.parent.name}/{path.name}:{line}: {message}")
