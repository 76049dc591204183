"""The 调度表: a template's figures for a unit and a period, computed from the records' history
(docs/reports.md).

``compute`` loads what the records said at the cut-off (``facts``), applies each column's
counting rules (``counting``) row by row, one row per sub-unit, and adds the rows up: the total
is the sum of the rows' 本级 figures by construction (a 全口径 town row also counts other units'
records in its area, ``scope``; the total counts each record once, in its own unit's row).
Every figure keeps the items behind it, counted or excluded with the reason, for the cell
endpoint and the warnings.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.models import Unit, UnitKind
from reports import ReportingPeriod, Template, TemplateError, load_template
from reports.calendar import CalendarUnknown
from reports.metrics import METRICS as METRIC_TYPES

from . import counting
from . import facts as facts_
from . import scope as scope_
from .counting import GROUPED, MERGED, REASONS, Item
from .errors import ColumnUnknown, PeriodInvalid, RowUnknown, TemplateUnknown
from .facts import Facts, Moments

__all__ = [
    "REASONS",
    "Cell",
    "ColumnUnknown",
    "Item",
    "PeriodInvalid",
    "Report",
    "Row",
    "RowUnknown",
    "TemplateUnknown",
    "column_key",
    "compute",
    "period_for",
    "template",
]

Value = int | Decimal | str | None


@dataclass
class Cell:
    value: Value
    items: list[Item] = field(default_factory=list)

    @property
    def counted(self) -> list[Item]:
        return [i for i in self.items if i.counted]


@dataclass
class Row:
    unit_id: uuid.UUID
    name: str
    kind: str
    cells: dict[str, Cell]
    # 全口径: the row's cells include other units' records about enterprises in its area, and
    # ``own`` keeps its 本级 cells (what the total adds up); 本地区: another unit's records in
    # the report unit's area (a town's own form).
    scope: str = "本级"
    own: dict[str, Cell] | None = None

    @property
    def counted_in_total(self) -> dict[str, Cell]:
        return self.own if self.own is not None else self.cells


@dataclass
class Report:
    template: Template
    unit: Unit
    period: ReportingPeriod
    moments: Moments
    rows: list[Row]
    total: dict[str, Value]
    rates: dict[str, Value]

    def items(self) -> list[Item]:
        return [i for row in self.rows for cell in row.cells.values() for i in cell.items]

    def excluded(self) -> list[Item]:
        """What a rule left out; not what it merged (a 复查 on an inspection's day, an
        enterprise counted once): those are in their cell's list only."""
        return _unique(i for i in self.items() if not i.counted and i.reason not in MERGED)

    def late(self) -> list[Item]:
        return _unique(i for i in self.items() if i.late)


def _unique(items: Any) -> list[Item]:
    seen, out = set(), []
    for i in items:
        key = (i.type, i.id, i.reason)
        if key not in seen:
            seen.add(key)
            out.append(i)
    return out


def template(template_id: str) -> Template:
    try:
        return load_template(template_id)
    except TemplateError:
        raise TemplateUnknown(
            f"No 调度表 template {template_id!r}: use licheng, fuzhou, haicheng or quanzhou."
        ) from None


def period_for(
    t: Template, *, month: str | None, start: date | None, end: date | None, as_of: date | None
) -> ReportingPeriod:
    """The period asked for: ``month`` (YYYY-MM) for a monthly template, ``from``/``to`` for an
    interval one; ``as_of`` alone is the month containing it, or the campaign's start to it."""
    try:
        if t.period.selection == "interval":
            if start is None and end is None and as_of is not None:
                start, end = t.period.starts_on, as_of
            if start is None or end is None:
                raise PeriodInvalid(
                    f"Template {t.id} reports on a 数据统计区间: give from and to (or as_of).",
                    errors={"from": ["Required with to."], "to": ["Required with from."]},
                )
            return t.period.for_interval(start, end)
        if month is None and as_of is not None:
            month = f"{as_of.year:04d}-{as_of.month:02d}"
        if month is None:
            raise PeriodInvalid(
                f"Template {t.id} reports on a month: give month=YYYY-MM (or as_of).",
                errors={"month": ["Required."]},
            )
        year, mon = (int(x) for x in month.split("-"))
        return t.period.for_month(year, mon)
    except CalendarUnknown as exc:
        raise PeriodInvalid(str(exc), errors={"month": [str(exc)]}) from None
    except ValueError as exc:
        raise PeriodInvalid(
            f"The period is not valid: {exc}.", errors={"period": [str(exc)]}
        ) from None


def compute(
    session: Session, t: Template, unit: Unit, period: ReportingPeriod, *, items: bool = True
) -> Report:
    """The report, every figure with every item behind it (the cell endpoint, filing).
    ``items=False`` (the report itself: JSON, XLSX) aggregates the figures in SQL and keeps in
    each cell only the items the report lists (excluded by a rule, or late): the same figures
    and lists, without building an item per record (docs/reports.md § Performance)."""
    m = Moments.of(period)
    monthly = t.period.accumulation == "monthly"
    groups = _row_units(session, unit)
    all_ids = [uid for _, ids in groups for uid in ids]
    areas = _areas(t, unit, groups)
    # 全口径 rows sort facts by their enterprise's town: record by record (the groups do not
    # keep the enterprise), so such a report is computed as with items=True
    grouped = not items and not areas
    loaded = facts_.load(session, all_ids, m, monthly=monthly, grouped=grouped)
    whole = scope_.Area.of(session, set().union(*areas.values()), all_ids, m, monthly)
    if areas:
        loaded = _merge(loaded, whole.extra)
    in_towns = whole.by_town(loaded) if areas else {}
    by_unit = _by_unit(loaded)
    rows = []
    for row_unit, ids in groups:
        mine = _subset(by_unit, ids, loaded.grouped)
        own = row_unit.id == unit.id and len(groups) > 1
        if own and not mine.any():
            continue  # the parent's own row appears only when it recorded something itself
        row = _row(t, row_unit, mine, m)
        if row_unit.id in areas and unit.kind is not UnitKind.town:
            others = whole.about(in_towns, areas[row_unit.id], exclude=set(ids))
            own_cells = row.cells
            row = _row(t, row_unit, _merge(mine, others), m)
            row.scope, row.own = "全口径", own_cells
        rows.append(row)
    if areas and unit.kind is UnitKind.town:
        # A town's own form: what other units did in its area, a row per unit, so the total
        # (the sum of the rows) is the town's 全口径 figure.
        others = whole.about(in_towns, areas[unit.id], exclude=set(all_ids))
        for other in whole.units(others):
            row = _row(t, other, _subset(_by_unit(others), [other.id]), m, reports_as="town")
            row.scope = "本地区"
            rows.append(row)
    total = _total(t, rows)
    return Report(t, unit, period, m, rows, total, _rates(t, total))


def _areas(
    t: Template, unit: Unit, groups: list[tuple[Unit, list[uuid.UUID]]]
) -> dict[uuid.UUID, set[uuid.UUID]]:
    """The rows that report 全口径 (a town's whole area when the template says so), each with
    the units whose area it covers: a town row's units, or, on a town's own form, the town's."""
    if t.scope.get("town") != "全口径":
        return {}
    if unit.kind is UnitKind.town:
        return {unit.id: {uid for _, ids in groups for uid in ids}}
    return {u.id: set(ids) for u, ids in groups if u.kind is UnitKind.town and u.id != unit.id}


def _merge(a: Facts, b: Facts) -> Facts:
    """Two disjoint sets of facts, records in the order ``facts.load`` gives them (the rules
    that count the first of several, e.g. typical cases, read them in that order)."""
    return Facts(
        hazards=a.hazards + b.hazards,
        visits=a.visits + b.visits,
        records=sorted(a.records + b.records, key=lambda r: (r.day, str(r.id))),
    )


def column_key(t: Template, key: str) -> str:
    if key not in {c.key for c in t.columns}:
        raise ColumnUnknown(
            f"Template {t.id} has no column {key!r}: GET /api/v1/reports/templates/{t.id} "
            "lists them.",
            errors={"column": ["Unknown column."]},
        )
    return key


def _row_units(session: Session, unit: Unit) -> list[tuple[Unit, list[uuid.UUID]]]:
    """One row per child unit (covering its sub-units), and the unit's own row last."""
    below = session.scalars(
        select(Unit).where(Unit.path.startswith(unit.path, autoescape=True)).order_by(Unit.path)
    ).all()
    # 镇街 first, then 区直部门 (as 荔城 prints them), each in the order they were set up.
    children = sorted(
        (u for u in below if u.parent_id == unit.id),
        key=lambda u: (u.kind is not UnitKind.town, u.created_at, u.name),
    )
    if not children:
        return [(unit, [unit.id])]
    groups = []
    for child in children:
        ids = [u.id for u in below if u.path.startswith(child.path)]
        groups.append((child, ids))
    groups.append((unit, [unit.id]))
    return groups


def _by_unit(f: Facts) -> dict[uuid.UUID, Facts]:
    out: dict[uuid.UUID, Facts] = {}

    def of(unit_id: uuid.UUID) -> Facts:
        return out.setdefault(unit_id, Facts([], [], [], grouped=f.grouped))

    for h in f.hazards:
        of(h.unit_id).hazards.append(h)
    for v in f.visits:
        of(v.unit_id).visits.append(v)
    for r in f.records:
        of(r.unit_id).records.append(r)
    for hg in f.hazard_groups:
        of(hg[0].unit_id).hazard_groups.append(hg)
    for vg in f.visit_groups:
        of(vg[0].unit_id).visit_groups.append(vg)
    return out


def _subset(by_unit: dict[uuid.UUID, Facts], ids: list[uuid.UUID], grouped: bool = False) -> Facts:
    parts = [by_unit[i] for i in ids if i in by_unit]
    return Facts(
        hazards=[h for p in parts for h in p.hazards],
        visits=[v for p in parts for v in p.visits],
        records=[r for p in parts for r in p.records],
        hazard_groups=[g for p in parts for g in p.hazard_groups],
        visit_groups=[g for p in parts for g in p.visit_groups],
        grouped=grouped,
    )


def _row(t: Template, unit: Unit, f: Facts, m: Moments, *, reports_as: str | None = None) -> Row:
    """``reports_as``: the unit kind whose columns apply (``not_for``), when not the row's own
    (another unit's records on a town's own form follow the town's columns)."""
    kind = "town" if unit.kind is UnitKind.town else "department"
    applies = reports_as or kind
    cells: dict[str, Cell] = {}
    # a metric of one record kind reads only the records of that kind (the same items, sooner)
    of_kind: dict[str, Facts] = {}
    for r in f.records:
        of_kind.setdefault(r.kind, Facts([], [], [])).records.append(r)
    for col in t.columns:
        if col.metric == "ratio":
            continue
        params = {**col.params, "_campaign": t.period.campaign, "_late": t.late_policy}
        metric = counting.METRICS[col.metric]
        record_kind = getattr(metric, "kind", None)
        facts = f if record_kind is None else of_kind.get(record_kind, Facts([], [], []))
        items = _late(t, metric(facts, m, params))
        value = _value(col.metric, items)
        if f.grouped and col.metric in GROUPED:
            value = _grouped_value(t, col.metric, f, m, params)
        if applies in col.not_for:
            value, items = None, [i.excluded("town.not_reported") for i in items]
        if f.grouped:  # only what the report lists; the cell endpoint asks for every item
            items = [i for i in items if i.late or (not i.counted and i.reason not in MERGED)]
        cells[col.key] = Cell(value, items)
    for col in t.columns:
        if col.metric == "ratio":
            cells[col.key] = Cell(
                _ratio(cells[str(col.numerator)].value, cells[str(col.denominator)].value)
            )
    return Row(unit.id, unit.name, kind, cells)


def _late(t: Template, items: list[Item]) -> list[Item]:
    if t.late_policy == "exclude":
        return [i.excluded("late") if i.late and i.counted else i for i in items]
    return items


def _grouped_value(t: Template, metric: str, f: Facts, m: Moments, params: dict[str, Any]) -> Value:
    """The figure from the groups: the same rule applied to one representative of each group,
    counted as many times as the group has members (once for a 家 column: an enterprise is
    counted once however often it was visited)."""
    weighted = GROUPED[metric]
    reps = Facts([h for h, _ in f.hazard_groups], [v for v, _ in f.visit_groups], [])
    weight = {("hazard", str(h.id)): n for h, n in f.hazard_groups}
    weight |= {(v.kind, v.id): n for v, n in f.visit_groups}
    items = _late(t, counting.METRICS[metric](reps, m, params))
    return sum(
        int(i.value) * (weight[(i.type, i.id)] if weighted else 1) for i in items if i.counted
    )


def _value(metric: str, items: list[Item]) -> Value:
    counted = [i.value for i in items if i.counted]
    if METRIC_TYPES[metric][0] == "flag":
        return "是" if counted else "否"
    if METRIC_TYPES[metric][0] == "amount":
        return _plain(sum((Decimal(v) for v in counted), Decimal(0)))
    return sum(int(v) for v in counted)


def _total(t: Template, rows: list[Row]) -> dict[str, Value]:
    total: dict[str, Value] = {}
    for col in t.columns:
        if col.metric == "ratio":
            continue
        cells = [r.counted_in_total[col.key] for r in rows]
        values = [c.value for c in cells if c.value is not None]
        if METRIC_TYPES[col.metric][0] == "flag":
            total[col.key] = "是" if "是" in values else "否"
        elif METRIC_TYPES[col.metric][0] == "amount":
            total[col.key] = _plain(sum((Decimal(str(v)) for v in values), Decimal(0)))
        else:
            total[col.key] = sum(int(str(v)) for v in values)
    for col in t.columns:
        if col.metric == "ratio":
            total[col.key] = _ratio(total[str(col.numerator)], total[str(col.denominator)])
    return total


def _plain(amount: Decimal) -> Decimal:
    """万元 without trailing zeros or an exponent: 2, 0.02, 114.438."""
    return Decimal(format(amount.normalize(), "f"))


def _ratio(numerator: Value, denominator: Value) -> Decimal | None:
    """Percent, two decimals; None (shown as none, never 100%) when the denominator is 0."""
    den = Decimal(str(denominator or 0))
    if den == 0:
        return None
    return (Decimal(str(numerator or 0)) * 100 / den).quantize(Decimal("0.01"))


def _rates(t: Template, total: dict[str, Value]) -> dict[str, Value]:
    out: dict[str, Value] = {}
    for rate in t.rates:
        num = sum(Decimal(str(total[k] or 0)) for k in rate.numerator)
        den = sum(Decimal(str(total[k] or 0)) for k in rate.denominator)
        out[rate.key] = _ratio(num, den)
    return out
