"""Load and validate the template files: ``reports/templates/<id>.toml``.

A file that is not exactly right is refused with its name and what is wrong
(``licheng.toml: column 'x': unknown metric 'hazards.foo'``). docs/reports.md describes the
format; the shipped files are the examples.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from typing import Any, NoReturn, cast

from reports.metrics import METRICS
from reports.model import UNITS, Column, Period, Rate, Template

TEMPLATES_DIR = Path(__file__).parent / "templates"
UNIT_KINDS = frozenset({"town", "department"})


class TemplateError(ValueError):
    """A template file is malformed."""


class _Reader:
    def __init__(self, name: str, data: dict[str, Any]) -> None:
        self.name = name
        self.data = data

    def fail(self, where: str, message: str) -> NoReturn:
        raise TemplateError(f"{self.name}: {where}: {message}")

    def get(
        self, table: dict[str, Any], key: str, kind: type, where: str, default: Any = ...
    ) -> Any:
        if key not in table:
            if default is ...:
                self.fail(where, f"missing key {key!r}")
            return default
        value = table[key]
        if not isinstance(value, kind):
            self.fail(where, f"{key!r} must be {kind.__name__}")
        return value


def _period(r: _Reader, raw: dict[str, Any]) -> Period:
    w = "[period]"
    selection = r.get(raw, "selection", str, w)
    accumulation = r.get(raw, "accumulation", str, w)
    holiday = r.get(raw, "holiday", str, w)
    if selection not in ("interval", "month"):
        r.fail(w, "selection must be 'interval' or 'month'")
    if accumulation not in ("cumulative", "monthly"):
        r.fail(w, "accumulation must be 'cumulative' or 'monthly'")
    if holiday not in ("advance", "none"):
        r.fail(w, "holiday must be 'advance' or 'none'")
    cutoff_day = raw.get("cutoff_day")
    if selection == "month" and not (cutoff_day == "month_end" or isinstance(cutoff_day, int)):
        r.fail(w, "a month period needs cutoff_day: a day of the month or 'month_end'")
    first_month = raw.get("first_month")
    if first_month is not None and not isinstance(first_month, dt.date):
        r.fail(w, "first_month must be a date")
    return Period(
        selection=selection,
        accumulation=accumulation,
        campaign=r.get(raw, "campaign", str, w),
        starts_on=r.get(raw, "starts_on", dt.date, w),
        cutoff_day=cutoff_day,
        due_day=r.get(raw, "due_day", int, w, None),
        due_month_offset=r.get(raw, "due_month_offset", int, w, 0),
        due_after_days=r.get(raw, "due_after_days", int, w, None),
        holiday=holiday,
        first_month=first_month,
        printed=r.get(raw, "printed", str, w),
    )


def _column(r: _Reader, raw: dict[str, Any], layout: str, index: int) -> Column:
    key = r.get(raw, "key", str, f"column {index + 1}")
    w = f"column {key!r}"
    metric = r.get(raw, "metric", str, w)
    if metric not in METRICS:
        r.fail(w, f"unknown metric {metric!r} (reports/metrics.py lists them)")
    unit = r.get(raw, "unit", str, w, None)
    if unit is not None and unit not in UNITS:
        r.fail(w, f"unknown unit {unit!r}")
    if unit is None and METRICS[metric][0] != "flag":
        r.fail(w, "only a yes/no column has no unit")
    not_for = frozenset(r.get(raw, "not_for", list, w, []))
    if not not_for <= UNIT_KINDS:
        r.fail(w, f"not_for names unit kinds: {sorted(UNIT_KINDS)}")
    heading: tuple[str, ...] = ()
    block = label = number = None
    if layout == "table":
        heading = tuple(r.get(raw, "heading", list, w))
        if not heading or not all(isinstance(h, str) for h in heading):
            r.fail(w, "heading is a list of printed headings, top row first")
    else:
        block = r.get(raw, "block", str, w)
        number = r.get(raw, "number", int, w)
        label = r.get(raw, "label", str, w)
    return Column(
        key=key,
        metric=metric,
        unit=unit,
        heading=heading,
        block=block,
        number=number,
        label=label,
        params=dict(r.get(raw, "params", dict, w, {})),
        not_for=not_for,
        numerator=r.get(raw, "numerator", str, w, None),
        denominator=r.get(raw, "denominator", str, w, None),
    )


def _check_references(r: _Reader, columns: tuple[Column, ...], rates: tuple[Rate, ...]) -> None:
    keys = [c.key for c in columns]
    if len(set(keys)) != len(keys):
        r.fail("columns", "duplicate column key")
    for col in columns:
        if col.metric == "ratio" and not (col.numerator in keys and col.denominator in keys):
            r.fail(f"column {col.key!r}", "a ratio names its numerator and denominator columns")
    for rate in rates:
        if not set(rate.numerator) | set(rate.denominator) <= set(keys):
            r.fail(f"rate {rate.key!r}", "numerator and denominator must be column keys")


def parse_template(name: str, text: str) -> Template:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TemplateError(f"{name}: {exc}") from exc
    r = _Reader(name, data)
    layout = r.get(data, "layout", str, "top")
    if layout not in ("table", "form"):
        r.fail("top", "layout must be 'table' or 'form'")
    raw_columns = r.get(data, "columns", list, "top")
    columns = tuple(_column(r, c, layout, i) for i, c in enumerate(raw_columns))
    rates = tuple(
        Rate(
            key=r.get(x, "key", str, "rates"),
            label=r.get(x, "label", str, "rates"),
            numerator=tuple(r.get(x, "numerator", list, "rates")),
            denominator=tuple(r.get(x, "denominator", list, "rates")),
        )
        for x in r.get(data, "rates", list, "top", [])
    )
    _check_references(r, columns, rates)
    if layout == "table":
        depths = {len(c.heading) for c in columns}
        if len(depths) != 1:
            r.fail("columns", "every heading has one entry per header row")
        if any(c.heading[0] == "" for c in columns):
            r.fail("columns", "a heading's top entry cannot run on from above")
    scope = cast(dict[str, Any], r.get(data, "scope", dict, "top"))
    if set(scope) != UNIT_KINDS or not set(scope.values()) <= {"全口径", "本级"}:
        r.fail("[scope]", "give town and department, each 全口径 or 本级")
    late = r.get(data, "late_policy", str, "top")
    if late not in ("exclude", "count"):
        r.fail("top", "late_policy must be 'exclude' or 'count'")
    return Template(
        id=r.get(data, "id", str, "top"),
        title=r.get(data, "title", str, "top"),
        attachment=r.get(data, "attachment", str, "top"),
        layout=layout,
        source={k: str(v) for k, v in r.get(data, "source", dict, "top").items()},
        period=_period(r, r.get(data, "period", dict, "top")),
        late_policy=late,
        scope=scope,
        columns=columns,
        rates=rates,
        unit_heading=r.get(data, "unit_heading", str, "top", None),
        total_label=r.get(data, "total_label", str, "top", None),
        header_lines=tuple(r.get(data, "header_lines", list, "top", [])),
        footer_lines=tuple(r.get(data, "footer_lines", list, "top", [])),
        units_row=r.get(data, "units_row", bool, "top", False),
        total_first=r.get(data, "total_first", bool, "top", False),
    )


def load_template(template_id: str, root: Path = TEMPLATES_DIR) -> Template:
    path = root / f"{template_id}.toml"
    if not path.is_file():
        raise TemplateError(f"no template {template_id!r} in {root}")
    template = parse_template(path.name, path.read_text(encoding="utf-8"))
    if template.id != template_id:
        raise TemplateError(f"{path.name}: id {template.id!r} must equal the file name")
    return template


def load_templates(root: Path = TEMPLATES_DIR) -> dict[str, Template]:
    return {p.stem: load_template(p.stem, root) for p in sorted(root.glob("*.toml"))}
