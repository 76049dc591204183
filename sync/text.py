"""The one definition of the text the service accepts (docs/decision-accepted-text.md).

Accepted: any Unicode scalar value except the C0 controls other than tab, line feed and carriage
return, and the noncharacters U+FFFE and U+FFFF. Refused: NUL (PostgreSQL cannot store it, SQLite
can, so the two backends would disagree), the other C0 controls (XML 1.0, and so XLSX, cannot hold
them; no person types them), lone UTF-16 surrogates (JSON's "\\ud800" escape decodes to one; no
database encoding can store it) and U+FFFE/U+FFFF (not characters; XML refuses them too).

Both HTTP request parsing and tablet command parsing call `problems` on everything they receive,
strings and object keys alike, so no field can forget it. `MAX_DEPTH` bounds how deeply nested a
JSON value may be, which also keeps every later walk over it (encoders, the database's JSON
functions) far from Python's recursion limit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sync.protocol import CommandRejected

MAX_DEPTH = 32

_REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

MESSAGE = (
    "Must be text without control characters (other than tab and line breaks), "
    "unpaired surrogates or U+FFFE/U+FFFF."
)
TOO_DEEP = f"Nested more than {MAX_DEPTH} levels deep."


def is_valid(text: str) -> bool:
    return _REFUSED.search(text) is None


def escape(text: str) -> str:
    """The text with each refused character written as a \\uXXXX escape: safe to store and to
    show in a message that says where the problem is."""
    return _REFUSED.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def clean(text: str, replacement: str = "\ufffd") -> str:
    """Stored text made fit for a format that cannot hold refused characters (XLSX)."""
    return _REFUSED.sub(replacement, text)


def problems(value: Any, path: str = "") -> dict[str, str]:
    """Every place in a decoded JSON value (dotted path → message) whose text is refused or that
    is nested too deeply; empty when all is well."""
    prefix = (path,) if path else ()
    return {".".join(prefix + where) or "_": message for where, message in locate(value)}


def locate(value: Any) -> list[tuple[tuple[str, ...], str]]:
    """`problems` as (path as a tuple of keys, message). Iterative, so no depth can overflow the
    stack; keys are escaped, so a path is itself accepted text."""
    found: list[tuple[tuple[str, ...], str]] = []
    stack: list[tuple[Any, tuple[str, ...]]] = [(value, ())]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if not is_valid(item):
                found.append((where, MESSAGE))
        elif isinstance(item, Mapping | list | tuple):
            if len(where) >= MAX_DEPTH:
                found.append((where, TOO_DEEP))
                continue
            pairs = item.items() if isinstance(item, Mapping) else enumerate(item)
            for key, child in pairs:
                child_path = (*where, escape(str(key)))
                if isinstance(key, str) and not is_valid(key):
                    found.append((child_path, "Key: " + MESSAGE))
                stack.append((child, child_path))
    return found


def command_problems(name: str, args: Any) -> CommandRejected | None:
    """A tablet command whose name or arguments hold refused text or nest too deeply: rejected
    as `text.invalid`, naming where (escaped, so the stored result is itself accepted text)."""
    found = problems({"name": name, "args": args})
    if not found:
        return None
    return CommandRejected(
        "text.invalid",
        f"Fix the text in: {', '.join(sorted(found))}. {MESSAGE}",
        {path: [message] for path, message in found.items()},
    )
