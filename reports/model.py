"""What a 调度表 template is: its columns as printed, the metric behind each, its period rule.

Two layouts exist in the seeds:

- ``table`` (荔城 附件1, 泉州 附件2): a row per unit and a total row; columns under header rows
  printed as merged cells. A column's ``heading`` has one entry per header row, top row first
  (``("重大隐患", "企业自查上报", "排查")``); ``""`` is the cell above running on down, and
  neighbouring columns with the same entries up to a row share one merged cell in that row
  (:meth:`Template.header_cells`).
- ``form`` (福州 附件4, 海城 附件): one unit per form; numbered items in blocks. A column is one
  value of an item: ``block``, ``number``, ``label`` as printed; an item printing two values
  (``行政处罚（次，万元）``) is two columns with the same number and label and their own unit.

Headings and labels are stored exactly as printed with the line breaks of the printed cell
removed (a test compares them with the seed text).
"""

from __future__ import annotations

import calendar as _calendar
import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

from reports.calendar import on_or_before_workday

Layout = Literal["table", "form"]
Scope = Literal["全口径", "本级"]
UNITS = frozenset(
    {"条", "家", "家次", "个次", "次", "人", "万元", "场次", "人次", "个", "件", "起", "%", "份"}
)


@dataclass(frozen=True)
class Column:
    key: str
    metric: str
    unit: str | None  # None: a yes/no answer (海城 是否在…主流媒体播放…)
    heading: tuple[str, ...] = ()  # table layout
    block: str | None = None  # form layout
    number: int | None = None
    label: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    not_for: frozenset[str] = frozenset()  # unit kinds that do not report it ("town")
    numerator: str | None = None  # metric "ratio": column keys
    denominator: str | None = None


@dataclass(frozen=True)
class HeaderCell:
    """One printed header cell: its text, the columns it spans; ``continued`` when it is the
    cell of the row above running on down (merged vertically)."""

    text: str
    path: tuple[str, ...]
    first: int
    last: int
    continued: bool


@dataclass(frozen=True)
class Rate:
    """A rate the notices quote (整改率, 督办率): the sum of some columns over the sum of others."""

    key: str
    label: str
    numerator: tuple[str, ...]
    denominator: tuple[str, ...]


@dataclass(frozen=True)
class ReportingPeriod:
    """One period of one template: the records of ``starts_on..cutoff`` (both inclusive)."""

    starts_on: dt.date
    cutoff: dt.date
    due: dt.date | None  # None: the template prints no due day and none was given

    @property
    def label(self) -> str:
        return f"{self.starts_on.isoformat()}..{self.cutoff.isoformat()}"


@dataclass(frozen=True)
class Period:
    """The period rule as the template prints it.

    ``selection`` is ``interval`` (the caller gives the dates: 荔城 数据统计区间) or ``month``
    (the caller names the month reported on). ``accumulation`` is ``cumulative`` (from the
    campaign's start) or ``monthly`` (the calendar month alone).
    """

    selection: Literal["interval", "month"]
    accumulation: Literal["cumulative", "monthly"]
    campaign: str
    starts_on: dt.date  # the campaign's first day: where a cumulative period starts
    cutoff_day: int | Literal["month_end"] | None  # month selection: the last day counted
    due_day: int | None  # month selection: day of the month the report is due
    due_month_offset: int  # 0: due in the month reported on, 1: in the next month
    due_after_days: int | None  # interval selection: due this many days after the cut-off
    holiday: Literal["advance", "none"]  # 如遇节假日提前上报
    first_month: dt.date | None  # 自6月份开始上报
    printed: str  # the rule as the seed prints it

    def for_month(self, year: int, month: int) -> ReportingPeriod:
        if self.selection != "month":
            raise ValueError("this template's period is an interval: give from and to")
        last = _calendar.monthrange(year, month)[1]
        cutoff_day = last if self.cutoff_day in (None, "month_end") else self.cutoff_day
        cutoff = dt.date(year, month, min(int(cutoff_day), last))
        starts_on = self.starts_on if self.accumulation == "cumulative" else dt.date(year, month, 1)
        due = None
        if self.due_day is not None:
            y, m = (year, month + self.due_month_offset)
            if m > 12:
                y, m = y + 1, m - 12
            due = self._adjust(dt.date(y, m, self.due_day))
        return ReportingPeriod(starts_on, cutoff, due)

    def for_interval(self, starts_on: dt.date, cutoff: dt.date) -> ReportingPeriod:
        if cutoff < starts_on:
            raise ValueError("the interval ends before it starts")
        due = None
        if self.due_after_days is not None:
            due = self._adjust(cutoff + dt.timedelta(days=self.due_after_days))
        return ReportingPeriod(starts_on, cutoff, due)

    def _adjust(self, due: dt.date) -> dt.date:
        return on_or_before_workday(due) if self.holiday == "advance" else due


@dataclass(frozen=True)
class Template:
    id: str
    title: str
    attachment: str
    layout: Layout
    source: dict[str, str]
    period: Period
    late_policy: Literal["exclude", "count"]
    scope: dict[str, Scope]  # unit kind ("town", "department") -> 全口径 or 本级
    columns: tuple[Column, ...]
    rates: tuple[Rate, ...] = ()
    unit_heading: str | None = None  # table layout: the heading of the unit column
    total_label: str | None = None  # table layout: the total row's label
    header_lines: tuple[str, ...] = ()  # lines printed above the table (填报单位, 时间 …)
    footer_lines: tuple[str, ...] = ()  # lines printed below (填表人, 审核人, 注 …)
    units_row: bool = False  # table layout: a row of units under the headings (荔城)
    total_first: bool = False  # table layout: the total row above the units' rows (荔城)

    @property
    def header_rows(self) -> int:
        return len(self.columns[0].heading) if self.layout == "table" else 0

    def header_cells(self, row: int) -> list[HeaderCell]:
        """The printed cells of one header row (0 = top), left to right, merged ones once."""
        cells: list[HeaderCell] = []
        for index, col in enumerate(self.columns):
            path = col.heading[: row + 1]
            if cells and cells[-1].path == path:
                last = cells[-1]
                cells[-1] = HeaderCell(last.text, path, last.first, index, last.continued)
                continue
            continued = col.heading[row] == ""
            text = next(h for h in reversed(path) if h) if continued else col.heading[row]
            cells.append(HeaderCell(text, path, index, index, continued))
        return cells

    def column(self, key: str) -> Column:
        for col in self.columns:
            if col.key == key:
                return col
        raise KeyError(key)
