"""Load and validate checklist data files.

One file per published version: ``<root>/<code>/<label>.toml``. The loader refuses a file that
is not exactly right and says which line is wrong (``gas/2023.toml:42: duplicate item code
'gas.1'``). ``tomllib`` reports positions only for syntax errors, so for everything else the
loader finds the line by scanning the raw text: the ``[[items]]`` / ``[[items.checks]]`` /
``[[rules]]`` header of the offending entry, or the line of the offending key inside it.

File layout (see the shipped files under ``checklists/data`` for real examples)::

    code = "gas"                  # must equal the directory name
    label = "2023"                # must equal the file name
    title = "燃气重点检查事项清单"
    sector = "gas"
    attachment = "附件1"

    [source]                      # the document publishing the checklist
    title = "…"
    number = "…"
    issuer = "…"

    [[record_fields]]             # optional: fields for the record as a whole
    key = "project"
    label = "检查项目"

    [[items]]
    code = "gas.1"                # unique; starts with "<checklist code>."
    seq = "1"                     # 序号 as printed
    category = "城镇燃气"
    topic = "…"                   # optional
    text = "…"                    # exactly as printed
    detail = "…"                  # optional
    defect_answer = "yes"         # which answer means a defect: "yes" or "no"
    polarity_reason = "…"

    [[items.checks]]              # optional sub-checks: same keys; category and topic
    code = "gas.1.a"              # default to the item's; code starts with "<item code>."
    …

    [[rules]]
    code = "gas.czrq2023.6.1"
    text = "…"
    [rules.source]
    standard = "…"
    version = "…"
    article = "第六条"
    item = "（一）"                # optional
    title = "…"
    [rules.expr]                  # or inline: expr = "gas.3.b"
    any = ["gas.3.b"]
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NoReturn, cast

from checklists import expr as expr_
from checklists.errors import ChecklistFileError
from checklists.model import (
    DEFECT_ANSWERS,
    ChecklistSource,
    ChecklistVersion,
    DefectAnswer,
    Fact,
    Item,
    RecordField,
    Rule,
    RuleSource,
)

DATA_DIR = Path(__file__).resolve().parent / "data"
"""Where the shipped checklist versions live."""

_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-]+)\s*\]\]?\s*(#.*)?$")
_TOML_POSITION = re.compile(r"at line (\d+)")

_TOP_KEYS = frozenset(
    {"code", "label", "title", "sector", "attachment", "source", "items", "rules"}
    | {"record_fields", "facts", "generic"}
)
_ITEM_KEYS = frozenset(
    {"code", "seq", "category", "topic", "text", "detail", "defect_answer", "polarity_reason"}
    | {"checks", "not_major"}
)
_CHECK_KEYS = _ITEM_KEYS - {"checks"}
_RULE_KEYS = frozenset({"code", "source", "text", "expr"})
_RULE_SOURCE_KEYS = frozenset({"standard", "version", "article", "item", "title"})
_SOURCE_KEYS = frozenset({"title", "number", "issuer"})
_RECORD_FIELD_KEYS = frozenset({"key", "label"})
_FACT_KEYS = frozenset({"code", "text", "source", "about"})


def load_file(path: Path | str) -> ChecklistVersion:
    """Load one ``<code>/<label>.toml`` file; :class:`ChecklistFileError` if it is malformed."""
    path = Path(path)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise ChecklistFileError(path, line, "file is not valid UTF-8") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        found = _TOML_POSITION.search(str(error))
        line = int(found.group(1)) if found else max(1, len(text.splitlines()))
        raise ChecklistFileError(path, line, f"TOML syntax error: {error}") from None
    return _Parser(path, text).version(data)


def load_directory(root: Path | str = DATA_DIR) -> list[ChecklistVersion]:
    """Load every ``<code>/<label>.toml`` under ``root``, sorted by code then label."""
    paths = sorted(Path(root).glob("*/*.toml"))
    versions = [load_file(path) for path in paths]
    return sorted(versions, key=lambda version: (version.code, version.label))


@dataclass(frozen=True)
class _Span:
    """Lines of one table in the raw text (1-based; ``own_end`` stops at its first sub-table)."""

    start: int
    own_end: int
    end: int


class _Lines:
    """Finds where things are in the raw text of a data file."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.headers: list[tuple[int, str, bool]] = []
        for number, line in enumerate(self.lines, start=1):
            found = _HEADER.match(line)
            if found:
                self.headers.append((number, found.group(2), found.group(1) == "[["))

    def whole(self) -> _Span:
        last = len(self.lines) + 1
        return _Span(1, last, last)

    def top(self) -> _Span:
        first = self.headers[0][0] if self.headers else len(self.lines) + 1
        return _Span(1, first, first)

    def table(self, name: str, index: int = 0, within: _Span | None = None) -> _Span:
        """The ``index``-th ``[[name]]`` (or ``[name]``) table inside ``within``."""
        outer = within or self.whole()
        starts = [
            number
            for number, header, _ in self.headers
            if header == name and outer.start <= number < outer.end
        ]
        if index >= len(starts):
            return outer
        start = starts[index]
        own_end = next((n for n, _, _ in self.headers if n > start), outer.end)
        end = next(
            (n for n, header, _ in self.headers if n > start and not header.startswith(name + ".")),
            len(self.lines) + 1,
        )
        return _Span(start, min(own_end, outer.end), min(end, outer.end))

    def key(self, span: _Span, key: str, *, own: bool = True) -> int:
        """The line of ``key = …`` in the span (or of a ``[….key]`` sub-table); else its start."""
        assignment = re.compile(rf"^\s*(\"{re.escape(key)}\"|{re.escape(key)})\s*=")
        stop = span.own_end if own else span.end
        for number in range(span.start, stop):
            if assignment.match(self.lines[number - 1]):
                return number
        for number, header, _ in self.headers:
            if span.start <= number < span.end and header.rsplit(".", 1)[-1] == key:
                return number
        return span.start

    def containing(self, span: _Span, needle: str) -> int:
        """The first line of the span containing ``needle``; else the span's start."""
        for number in range(span.start, span.end):
            if needle in self.lines[number - 1]:
                return number
        return span.start


class _Parser:
    """Turns the parsed TOML of one file into a :class:`ChecklistVersion`, or refuses it."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = _Lines(text)
        self.seen_codes: dict[str, int] = {}

    def fail(self, line: int, message: str) -> NoReturn:
        raise ChecklistFileError(self.path, line, message)

    def version(self, data: dict[str, Any]) -> ChecklistVersion:
        top = _Table(self, data, self.lines.top(), "the file")
        top.only(_TOP_KEYS)
        code = top.text("code")
        label = top.text("label")
        if code != self.path.parent.name:
            self.fail(top.line("code"), f"code {code!r} must match the directory name")
        if label != self.path.stem:
            self.fail(top.line("label"), f"label {label!r} must match the file name")
        generic = top.data.get("generic", False)
        if not isinstance(generic, bool):
            self.fail(top.line("generic"), "'generic' must be true or false")
        items = self.items(code, top.array("items", required=not generic))
        facts = self.facts(code, top.array("facts"))
        rules = self.rules(top.array("rules"))
        return ChecklistVersion(
            code=code,
            title=top.text("title"),
            sector=top.text("sector"),
            attachment=top.text("attachment"),
            source=self.source(top.table("source")),
            label=label,
            items=items,
            rules=rules,
            record_fields=self.record_fields(top.array("record_fields")),
            facts=facts,
            generic=generic,
        )

    def facts(self, checklist_code: str, values: list[Any]) -> tuple[Fact, ...]:
        items = set(self.seen_codes)
        facts: list[Fact] = []
        for index, value in enumerate(values):
            table = _Table(self, value, self.lines.table("facts", index), f"fact #{index + 1}")
            table.only(_FACT_KEYS)
            code = table.text("code")
            table.what = f"fact {code!r}"
            self.claim(code, table.line("code"), "fact")
            if not code.startswith(checklist_code + "."):
                self.fail(table.line("code"), f"code {code!r} must start with {checklist_code!r}.")
            about = table.optional_text("about")
            if about is not None and about not in items:
                self.fail(table.line("about"), f"{table.what} is about unknown item {about!r}")
            facts.append(
                Fact(code=code, text=table.text("text"), source=table.text("source"), about=about)
            )
        return tuple(facts)

    def source(self, value: object) -> ChecklistSource:
        table = _Table(self, value, self.lines.table("source"), "[source]")
        table.only(_SOURCE_KEYS)
        return ChecklistSource(
            title=table.text("title"), number=table.text("number"), issuer=table.text("issuer")
        )

    def record_fields(self, values: list[Any]) -> tuple[RecordField, ...]:
        fields: list[RecordField] = []
        keys: set[str] = set()
        for index, value in enumerate(values):
            span = self.lines.table("record_fields", index)
            table = _Table(self, value, span, f"record field #{index + 1}")
            table.only(_RECORD_FIELD_KEYS)
            key = table.text("key")
            if key in keys:
                self.fail(table.line("key"), f"duplicate record field key {key!r}")
            keys.add(key)
            fields.append(RecordField(key=key, label=table.text("label")))
        return tuple(fields)

    def items(self, checklist_code: str, values: list[Any]) -> tuple[Item, ...]:
        items: list[Item] = []
        for index, value in enumerate(values):
            span = self.lines.table("items", index)
            items.append(self.item(value, span, f"item #{index + 1}", checklist_code, None))
        return tuple(items)

    def item(self, value: object, span: _Span, what: str, prefix: str, parent: Item | None) -> Item:
        table = _Table(self, value, span, what)
        if parent is not None and isinstance(value, dict) and "checks" in value:
            self.fail(table.line("checks"), f"{what}: a sub-check cannot have checks")
        table.only(_CHECK_KEYS if parent else _ITEM_KEYS)
        code = table.text("code")
        table.what = f"{'sub-check' if parent else 'item'} {code!r}"
        self.claim(code, table.line("code"), "sub-check" if parent else "item")
        if not code.startswith(prefix + "."):
            self.fail(table.line("code"), f"code {code!r} must start with {prefix + '.'!r}")
        category = table.text("category", default=parent.category if parent else None)
        topic = table.optional_text("topic", default=parent.topic if parent else None)
        item = Item(
            code=code,
            seq=table.text("seq"),
            category=category,
            topic=topic,
            text=table.text("text"),
            detail=table.optional_text("detail"),
            defect_answer=table.defect_answer(),
            polarity_reason=table.text("polarity_reason"),
            not_major=table.optional_text("not_major"),
        )
        checks: list[Item] = []
        for index, check in enumerate(table.array("checks")):
            check_span = self.lines.table("items.checks", index, within=span)
            checks.append(self.item(check, check_span, f"{code} check #{index + 1}", code, item))
        return replace(item, checks=tuple(checks))

    def claim(self, code: str, line: int, kind: str) -> None:
        if code in self.seen_codes:
            first = self.seen_codes[code]
            self.fail(line, f"duplicate {kind} code {code!r} (first used on line {first})")
        self.seen_codes[code] = line

    def rules(self, values: list[Any]) -> tuple[Rule, ...]:
        rules: list[Rule] = []
        seen: dict[str, int] = {}
        for index, value in enumerate(values):
            span = self.lines.table("rules", index)
            table = _Table(self, value, span, f"rule #{index + 1}")
            table.only(_RULE_KEYS)
            code = table.text("code")
            table.what = f"rule {code!r}"
            if code in seen:
                self.fail(table.line("code"), f"duplicate rule code {code!r}")
            seen[code] = table.line("code")
            source_span = self.lines.table("rules.source", 0, within=span)
            source = _Table(self, table.table("source"), source_span, f"rule {code!r} source")
            source.only(_RULE_SOURCE_KEYS)
            rules.append(
                Rule(
                    code=code,
                    source=RuleSource(
                        standard=source.text("standard"),
                        version=source.text("version"),
                        article=source.text("article"),
                        item=source.optional_text("item"),
                        title=source.text("title"),
                    ),
                    text=table.text("text"),
                    expr=self.rule_expr(table, span),
                )
            )
        return tuple(rules)

    def rule_expr(self, table: _Table, span: _Span) -> expr_.Expr:
        line = self.lines.key(span, "expr", own=False)
        if "expr" not in table.data:
            self.fail(span.start, f"{table.what} is missing required field 'expr'")
        try:
            tree = expr_.parse(table.data["expr"])
        except expr_.ExprSyntaxError as error:
            self.fail(line, f"{table.what}: malformed expr: {error}")
        for code in expr_.codes(tree):
            if code not in self.seen_codes:
                self.fail(
                    self.lines.containing(span, f'"{code}"'),
                    f"{table.what} names unknown item {code!r}",
                )
        if expr_.holds(tree, frozenset()):
            self.fail(line, f"{table.what}: expr holds even without any defect")
        return tree


class _Table:
    """One TOML table with the span it came from, for typed reads that fail with a line."""

    def __init__(self, parser: _Parser, value: object, span: _Span, what: str) -> None:
        self.parser = parser
        self.span = span
        self.what = what
        if not isinstance(value, dict):
            parser.fail(span.start, f"{what} must be a table, not {type(value).__name__}")
        self.data = cast(dict[str, Any], value)

    def line(self, key: str) -> int:
        return self.parser.lines.key(self.span, key)

    def only(self, allowed: Iterable[str]) -> None:
        for key in self.data:
            if key not in allowed:
                self.parser.fail(self.line(key), f"{self.what}: unknown field {key!r}")

    def text(self, key: str, default: str | None = None) -> str:
        value = self.data.get(key, default)
        if value is None:
            self.parser.fail(self.span.start, f"{self.what} is missing required field {key!r}")
        if not isinstance(value, str) or not value.strip():
            self.parser.fail(self.line(key), f"{self.what}: {key!r} must be a non-empty string")
        return value

    def optional_text(self, key: str, default: str | None = None) -> str | None:
        if key not in self.data:
            return default
        return self.text(key)

    def defect_answer(self) -> DefectAnswer:
        if "defect_answer" not in self.data:
            self.parser.fail(
                self.span.start,
                f"{self.what} has no defect_answer: say which answer means a defect"
                " ('yes' or 'no') and why (polarity_reason)",
            )
        value = self.data["defect_answer"]
        if value not in DEFECT_ANSWERS:
            self.parser.fail(
                self.line("defect_answer"),
                f"{self.what}: defect_answer must be 'yes' or 'no', not {value!r}",
            )
        return cast(DefectAnswer, value)

    def table(self, key: str) -> object:
        if key not in self.data:
            self.parser.fail(self.span.start, f"{self.what} is missing required field {key!r}")
        return self.data[key]

    def array(self, key: str, *, required: bool = False) -> list[Any]:
        if key not in self.data:
            if required:
                self.parser.fail(self.span.start, f"{self.what} has no {key!r}")
            return []
        value = self.data[key]
        if not isinstance(value, list) or (required and not value):
            self.parser.fail(self.line(key), f"{self.what}: {key!r} must be a non-empty list")
        return value
