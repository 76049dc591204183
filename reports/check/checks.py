"""What a correctly filled table satisfies, and every place a filled one does not.

The relations are data: the ``[checks]`` table of the template's own file
(``reports/templates/<id>.toml``), each with the reason it must hold, so a variant's checks sit
beside its columns. docs/report-check.md lists them for 荔城 and where each comes from.

Kinds of relation:

- the total row (累计) is the sum of the unit rows, column by column;
- ``at_most``: a column is at most the sum of others (已整改 ≤ 排查; 挂牌督办 ≤ the majors it
  lists; 匿名举报查实奖励金额 ≤ 总金额);
- ``requires``: a column above zero needs another above zero (a 罚款金额 needs a 行政处罚);
- a column a kind of unit does not report (``not_for`` in the column, e.g. 帮扶指导重点县区（镇街）
  for a 镇街) is empty or zero in that unit's row; a row is a 镇街 by its name's ending;
- every figure is a number, not below zero, and whole where its unit counts things (条, 家次 …).
"""

from __future__ import annotations

import datetime as dt
import tomllib
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

from reports.loader import TEMPLATES_DIR, TemplateError
from reports.model import UNITS, Column, Template

from .reading import Cell, UncalculatedFormula
from .table import Row, Table, same

RelationKind = Literal["at_most", "requires"]
# What a person types for "nothing" in a cell of these forms.
NOTHING = frozenset({"", "/", "-", "—", "无"})


@dataclass(frozen=True)
class Relation:
    kind: RelationKind
    left: tuple[str, ...]  # column keys: their sum
    right: tuple[str, ...]  # column keys
    why: str


@dataclass(frozen=True)
class Checks:
    total_row: Literal["required", "optional"]  # whether the printed form has a total row
    total_labels: tuple[str, ...]
    town_suffixes: tuple[str, ...]
    whole_units: frozenset[str]
    relations: tuple[Relation, ...]
    not_for_why: str


@dataclass(frozen=True)
class Finding:
    rule: str  # total, at_most, requires, not_for, not_a_number, negative, not_whole, unit, …
    where: str  # the cell: "K5", "line 153", or the sheet's name for the table as a whole
    row: str | None
    column: str | None  # the column's key
    heading: str | None  # the column's printed headings, "/"-joined
    message: str  # the arithmetic, and why it cannot be

    def line(self) -> str:
        what = " ".join(p for p in (self.row, self.heading) if p)
        return f"{self.where}: {what}: {self.message}" if what else f"{self.where}: {self.message}"


# Loading ------------------------------------------------------------------------------------------


def load_checks(template: Template, root: Path = TEMPLATES_DIR) -> Checks:
    """The ``[checks]`` table of the template's file, its column keys checked."""
    name = f"{template.id}.toml"
    data = tomllib.loads((root / name).read_text(encoding="utf-8")).get("checks")
    if not isinstance(data, dict):
        raise TemplateError(f"{name}: no [checks] table: this template cannot be checked")
    keys = {c.key for c in template.columns}
    relations = tuple(_relation(name, n, raw, keys) for n, raw in enumerate(data["relations"]))
    whole = frozenset(_strings(name, data, "whole_units"))
    if not whole <= UNITS:
        raise TemplateError(f"{name}: [checks] whole_units: unknown units {sorted(whole - UNITS)}")
    total_row = data.get("total_row", "required")
    if total_row not in ("required", "optional"):
        raise TemplateError(f"{name}: [checks] total_row must be 'required' or 'optional'")
    return Checks(
        total_row=total_row,
        total_labels=_strings(name, data, "total_labels"),
        town_suffixes=_strings(name, data, "town_suffixes"),
        whole_units=whole,
        relations=relations,
        not_for_why=str(data.get("not_for_why", "")),
    )


def _strings(name: str, data: dict[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TemplateError(f"{name}: [checks] {key} must be a list of strings")
    return tuple(value)


def _relation(name: str, n: int, raw: Any, keys: set[str]) -> Relation:
    where = f"{name}: [[checks.relations]] {n + 1}"
    if not isinstance(raw, dict) or raw.get("kind") not in ("at_most", "requires"):
        raise TemplateError(f"{where}: kind must be 'at_most' or 'requires'")
    left, right, why = raw.get("left"), raw.get("right"), raw.get("why")
    left = [left] if isinstance(left, str) else left
    if not (isinstance(left, list) and left and isinstance(right, list) and right) or not (
        isinstance(why, str) and why
    ):
        raise TemplateError(f"{where}: give left and right (column keys) and why")
    unknown = sorted({*left, *right} - keys, key=str)
    if unknown:
        raise TemplateError(f"{where}: no column {', '.join(map(str, unknown))} in the template")
    return Relation(raw["kind"], tuple(map(str, left)), tuple(map(str, right)), why)


# Checking -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Figure:
    cell: Cell | None
    value: Decimal | None  # None: not a number (reported once, left out of every relation)
    blank: bool = False  # nothing typed (counts as 0)


def check(table: Table, checks: Checks) -> list[Finding]:
    """Every inconsistency the table's figures prove, in the order of the table."""
    template = table.template
    headings = _headings(template)
    findings: list[Finding] = list(_unit_findings(table, headings))
    figures: list[dict[str, _Figure]] = []
    for row in table.rows:
        parsed, problems = _figures(row, template, checks, headings)
        findings.extend(problems)
        figures.append(parsed)
    totals = [n for n, row in enumerate(table.rows) if _is_total(row, checks)]
    findings.extend(_row_set_findings(table, totals, checks))
    if len(totals) == 1:
        findings.extend(_total_findings(table, figures, totals[0], headings))
    for row, parsed in zip(table.rows, figures, strict=True):
        findings.extend(_relation_findings(row, parsed, checks, headings))
        findings.extend(_ratio_findings(row, parsed, template, headings))
        if not _is_total(row, checks) and _is_town(row, checks):
            findings.extend(_not_for_findings(row, parsed, template, checks, headings))
    return findings


def _headings(template: Template) -> dict[str, str]:
    paths = {c.key: "/".join(h for h in c.heading if h) for c in template.columns}
    shared = {p for p in paths.values() if list(paths.values()).count(p) > 1}
    return {
        c.key: f"{paths[c.key]}（{c.unit}）" if paths[c.key] in shared else paths[c.key]
        for c in template.columns
    }


def _is_total(row: Row, checks: Checks) -> bool:
    return same(row.label) in {same(label) for label in checks.total_labels}


def _is_town(row: Row, checks: Checks) -> bool:
    return same(row.label).endswith(checks.town_suffixes)


def _unit_findings(table: Table, headings: dict[str, str]) -> Iterator[Finding]:
    for cell, column in zip(table.units, table.template.columns, strict=False):
        if cell is not None and column.unit and same(cell.text) != same(column.unit):
            yield Finding(
                "unit",
                cell.where,
                None,
                column.key,
                headings[column.key],
                f"the units row reads {cell.text or '(empty)'!r} where the form prints "
                f"{column.unit!r}; figures in other units cannot be added to the others'",
            )


def _figures(
    row: Row, template: Template, checks: Checks, headings: dict[str, str]
) -> tuple[dict[str, _Figure], list[Finding]]:
    parsed: dict[str, _Figure] = {}
    problems: list[Finding] = []
    for cell, column in zip(row.cells, template.columns, strict=True):
        value, problem = _number(cell, column, checks)
        raw = None if cell is None else cell.value
        blank = raw is None or (isinstance(raw, str) and same(raw) in NOTHING)
        parsed[column.key] = _Figure(cell, value, blank)
        if problem:
            where = cell.where if cell is not None else row.label_cell.where
            problems.append(
                Finding(problem[0], where, row.label, column.key, headings[column.key], problem[1])
            )
    return parsed, problems


def _number(
    cell: Cell | None, column: Column, checks: Checks
) -> tuple[Decimal | None, tuple[str, str] | None]:
    raw: Any = cell.value if cell is not None else None
    if raw is None or (isinstance(raw, str) and same(raw) in NOTHING):
        return Decimal(0), None
    if isinstance(raw, UncalculatedFormula):
        return None, (
            "uncalculated",
            f"{raw} has no value saved with it; open the workbook in Excel or WPS and save it "
            "so its figures are saved, then check it again",
        )
    if isinstance(raw, bool | dt.date | dt.time | dt.timedelta):
        return None, ("not_a_number", f"{raw!s} is not a number (a date or a yes/no?)")
    if isinstance(raw, int | float):
        value = Decimal(repr(raw)) if isinstance(raw, float) else Decimal(raw)
    else:
        text = str(raw).strip()
        if column.unit == "%":
            text = text.removesuffix("%").removesuffix("％")
        parsed = _parse(text)
        if parsed is None:
            return None, ("not_a_number", f"{str(raw).strip()!r} is not a number")
        value = parsed
    if not value.is_finite():
        return None, ("not_a_number", f"{raw!s} is not a number")
    if value < 0:
        return value, ("negative", f"{show(value)} is below zero; a count or amount cannot be")
    if column.unit in checks.whole_units and value != value.to_integral_value():
        return value, (
            "not_whole",
            f"{show(value)} {column.unit} is not a whole number; {column.unit} counts things",
        )
    return value, None


def _parse(text: str) -> Decimal | None:
    plain = unicodedata.normalize("NFKC", text).strip().replace(",", "")
    try:
        return Decimal(plain)
    except InvalidOperation:
        return None


def show(value: Decimal) -> str:
    """A figure as a person writes it: 386, 114.438, 0.45."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def _row_set_findings(table: Table, totals: list[int], checks: Checks) -> Iterator[Finding]:
    if not totals and checks.total_row == "required":
        yield Finding(
            "no_total_row",
            table.sheet.name,
            None,
            None,
            None,
            f"no {checks.total_labels[0]} row: the form's total row is missing, so the sum of "
            "the rows was not checked",
        )
    for extra in totals[1:]:
        row = table.rows[extra]
        yield Finding(
            "total_twice",
            row.label_cell.where,
            row.label,
            None,
            None,
            f"a second total row (the first is {table.rows[totals[0]].label_cell.where}); "
            "the sum of the rows was not checked",
        )
    seen: dict[str, Row] = {}
    for n, row in enumerate(table.rows):
        if n in totals:
            continue
        first = seen.setdefault(same(row.label), row)
        if first is not row:
            yield Finding(
                "duplicate_row",
                row.label_cell.where,
                row.label,
                None,
                None,
                f"{row.label} has a row already ({first.label_cell.where}); the total counts "
                "each unit once",
            )


def _total_findings(
    table: Table, figures: list[dict[str, _Figure]], total: int, headings: dict[str, str]
) -> Iterator[Finding]:
    units = [n for n in range(len(table.rows)) if n != total]
    if not units:
        return
    for column in table.template.columns:
        if column.metric == "ratio":
            continue  # a total row's rate is the rate of its sums (_ratio_findings), not a sum
        stated = figures[total][column.key]
        first, last = (_where(figures[n][column.key], table.rows[n]) for n in (units[0], units[-1]))
        terms = [figures[n][column.key].value for n in units]
        if stated.value is None or any(t is None for t in terms):
            continue  # a cell that is not a number is reported on its own
        values = [t for t in terms if t is not None]
        summed = sum(values, Decimal(0))
        if summed == stated.value:
            continue
        where = stated.cell.where if stated.cell else table.rows[total].label_cell.where
        yield Finding(
            "total",
            where,
            table.rows[total].label,
            column.key,
            headings[column.key],
            f"{show(stated.value)} ≠ {show(summed)} = "
            + " + ".join(show(v) for v in values)
            + f", the sum of the {len(values)} rows ({first} to {last})",
        )


def _where(figure: _Figure, row: Row) -> str:
    return figure.cell.where if figure.cell is not None else row.label_cell.where


def _relation_findings(
    row: Row, figures: dict[str, _Figure], checks: Checks, headings: dict[str, str]
) -> Iterator[Finding]:
    for relation in checks.relations:
        left = [figures[key] for key in relation.left]
        right = [figures[key] for key in relation.right]
        if any(f.value is None for f in (*left, *right)):
            continue
        left_sum, right_sum = _sum(left), _sum(right)
        terms = _terms(relation.right, right, headings)
        # One column alone: the finding's row and heading name it.
        stated = show(left_sum) if len(left) == 1 else _terms(relation.left, left, headings)
        if relation.kind == "at_most" and left_sum > right_sum:
            message = f"{stated} > {terms}: {relation.why}"
        elif relation.kind == "requires" and left_sum > 0 and right_sum == 0:
            message = f"{stated} but {terms}: {relation.why}"
        else:
            continue
        where = _where(left[0], row)
        key = relation.left[0]
        yield Finding(relation.kind, where, row.label, key, headings[key], message)


def _sum(figures: list[_Figure]) -> Decimal:
    return sum((f.value for f in figures if f.value is not None), Decimal(0))


def _terms(keys: tuple[str, ...], figures: list[_Figure], headings: dict[str, str]) -> str:
    """ "A 3 (D5) + B 4 (F5) = 7", or "A 3 (D5)" alone."""
    parts = [
        f"{headings[key]} {show(f.value or Decimal(0))}"
        + (f" ({f.cell.where})" if f.cell is not None else "")
        for key, f in zip(keys, figures, strict=True)
    ]
    total = f" = {show(_sum(figures))}" if len(parts) > 1 else ""
    return " + ".join(parts) + total


def _ratio_findings(
    row: Row, figures: dict[str, _Figure], template: Template, headings: dict[str, str]
) -> Iterator[Finding]:
    """A rate column (metric "ratio") is 100 × its numerator column over its denominator's,
    to the precision it is written in; with nothing to divide by, no rate."""
    for column in template.columns:
        if column.metric != "ratio" or not column.numerator or not column.denominator:
            continue
        stated, num, den = (figures[k] for k in (column.key, column.numerator, column.denominator))
        if stated.blank or stated.value is None or num.value is None or den.value is None:
            continue
        over = (
            f"{headings[column.numerator]} {show(num.value)} ({_where(num, row)}) ÷ "
            f"{headings[column.denominator]} {show(den.value)} ({_where(den, row)})"
        )
        if den.value == 0:
            if stated.value == 0:
                continue
            message = (
                f"{show(stated.value)}% but {over}: with nothing to divide by there is no rate"
            )
        else:
            exact = 100 * num.value / den.value
            if _matches(stated.value, exact, isinstance(stated.cell and stated.cell.value, float)):
                continue
            message = f"{show(stated.value)}% ≠ 100 × {over} = {show(round(exact, 4))}%"
        yield Finding(
            "ratio", _where(stated, row), row.label, column.key, headings[column.key], message
        )


def _matches(stated: Decimal, exact: Decimal, typed_as_float: bool) -> bool:
    """Rounded (half up) or cut to the decimals it is written with. A workbook's number is a
    float that may hold a percentage as a fraction (0.125 for 12.5%): equal to within 1e-9."""
    if typed_as_float:
        tolerance = Decimal("1e-9") * max(Decimal(1), abs(exact))
        return any(abs(candidate - exact) <= tolerance for candidate in (stated, 100 * stated))
    exponent = stated.as_tuple().exponent
    step = Decimal(1).scaleb(min(int(exponent), 0))
    return stated in {exact.quantize(step, ROUND_HALF_UP), exact.quantize(step, ROUND_DOWN)}


def _not_for_findings(
    row: Row,
    figures: dict[str, _Figure],
    template: Template,
    checks: Checks,
    headings: dict[str, str],
) -> Iterator[Finding]:
    for column in template.columns:
        figure = figures[column.key]
        if "town" in column.not_for and figure.value and figure.cell is not None:
            yield Finding(
                "not_for",
                figure.cell.where,
                row.label,
                column.key,
                headings[column.key],
                f"{show(figure.value)}, but a 镇街 does not report it: {checks.not_for_why}",
            )
