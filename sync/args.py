"""Checking command arguments by hand: a tablet sends thousands of answers per push, and a
schema library's per-field machinery costs more than the rest of the command together.

Each reader returns the clean value or records "<dotted.path>: message" and returns None; the
caller raises one `command.invalid` rejection naming every bad field.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sync.protocol import CommandRejected

SHA256 = re.compile(r"^[0-9a-f]{64}$")
# The years a record's date may fall in, for commands and requests alike: year 1 overflows the
# time-zone arithmetic, and no inspection record is that old or that far ahead.
MIN_YEAR, MAX_YEAR = 1900, 2999
YEARS = f"Must be a date in the years {MIN_YEAR}-{MAX_YEAR}."


class Reader:
    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def fail(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(message)

    def check(self) -> None:
        if self.errors:
            raise CommandRejected(
                "command.invalid",
                f"Fix these arguments: {', '.join(self.errors)}.",
                {"args": self.errors},
            )

    def obj(self, value: Any, path: str, allowed: set[str]) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            self.fail(path or "args", "Must be an object.")
            return {}
        for key in value.keys() - allowed:
            self.fail(_join(path, key), "Unknown field.")
        return value

    def text(
        self,
        data: Mapping[str, Any],
        key: str,
        path: str,
        *,
        required: bool = False,
        max_len: int = 4000,
    ) -> str | None:
        value = data.get(key)
        where = _join(path, key)
        if value is None:
            if required:
                self.fail(where, "Missing data for required field.")
            return None
        if not isinstance(value, str) or len(value) > max_len or (required and not value):
            self.fail(where, f"Must be text of at most {max_len} characters.")
            return None
        return value

    def uuid(
        self, data: Mapping[str, Any], key: str, path: str, *, required: bool = True
    ) -> uuid.UUID | None:
        value = data.get(key)
        if value is None and not required:
            return None
        try:
            return uuid.UUID(value)
        except (TypeError, ValueError, AttributeError):
            self.fail(_join(path, key), "Must be a UUID.")
            return None

    def moment(self, data: Mapping[str, Any], key: str, path: str) -> datetime | None:
        value = data.get(key)
        if value is None:
            return None
        try:
            moment = datetime.fromisoformat(value)
        except (TypeError, ValueError):
            moment = None
        if moment is None or moment.tzinfo is None:
            self.fail(_join(path, key), "Must be an ISO 8601 time with a UTC offset.")
            return None
        if not MIN_YEAR <= moment.year <= MAX_YEAR:
            self.fail(_join(path, key), YEARS)
            return None
        return moment

    def number(
        self,
        data: Mapping[str, Any],
        key: str,
        path: str,
        low: float,
        high: float,
        *,
        required: bool = True,
    ) -> float | None:
        value = data.get(key)
        if value is None and not required:
            return None
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not (low <= value <= high)
        ):
            self.fail(_join(path, key), f"Must be a number from {low} to {high}.")
            return None
        return float(value)

    def hashes(self, value: Any, path: str) -> list[str]:
        if value is None:
            return []
        if not isinstance(value, list) or not all(
            isinstance(h, str) and SHA256.match(h) for h in value
        ):
            self.fail(path, "Must be a list of lowercase hex SHA-256 hashes.")
            return []
        return value

    def items(self, value: Any, path: str, max_len: int) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list) or len(value) > max_len:
            self.fail(path, f"Must be a list of at most {max_len} entries.")
            return []
        return value

    def deadline(self, data: Mapping[str, Any], path: str) -> date | str | None:
        value = data.get("deadline")
        if value is None or value == "immediate":
            return value
        try:
            day = date.fromisoformat(value)
        except (TypeError, ValueError):
            self.fail(_join(path, "deadline"), "Use a date (YYYY-MM-DD) or 'immediate'.")
            return None
        if not MIN_YEAR <= day.year <= MAX_YEAR:
            self.fail(_join(path, "deadline"), YEARS)
            return None
        return day


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)
