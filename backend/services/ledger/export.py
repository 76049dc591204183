"""The ledger as a spreadsheet an office files (隐患排查整治台账), one row per entry."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sqlalchemy.orm import Session

from backend.domain.sectors import SECTORS
from backend.models import Enterprise, Hazard, Unit, User
from backend.services import scope
from sync import text

from . import queries, render, states

TITLE = "隐患排查整治台账"
HEADINGS: tuple[tuple[str, int], ...] = (  # (heading, column width)
    ("序号", 6),
    ("隐患编号", 16),
    ("地区/部门", 16),
    ("被检查单位", 24),
    ("统一社会信用代码", 20),
    ("行业领域", 12),
    ("隐患来源", 10),
    ("隐患级别", 12),
    ("判定依据", 30),
    ("认定说明", 24),
    ("隐患描述", 40),
    ("整改要求", 30),
    ("整改时限", 12),
    ("发现时间", 12),
    ("整改状态", 10),
    ("是否逾期", 8),
    ("是否挂牌督办", 8),
    ("督办单位", 16),
    ("挂牌时间", 12),
    ("整改措施", 30),
    ("整改资金（元）", 12),
    ("整改责任人", 12),
    ("复查通过时间", 12),
    ("销号时间", 12),
    ("确认人", 10),
)


def workbook(session: Session, user: User, filters: queries.Filters, *, as_of: date) -> bytes:
    unit = (
        scope.get_visible_unit(session, user, filters.unit_id)  # NotFound: names no unit of theirs
        if filters.unit_id is not None
        else session.get_one(Unit, user.unit_id)
    )
    book = Workbook(write_only=True)
    sheet: WriteOnlyWorksheet = book.create_sheet("台账")
    for index, (_heading, width) in enumerate(HEADINGS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "C4"
    sheet.append([_bold(sheet, TITLE, size=14)])
    sheet.append([_safe(sheet, f"填报单位：{unit.name}　　导出日期：{as_of.isoformat()}")])
    sheet.append([_bold(sheet, heading) for heading, _width in HEADINGS])
    for row in _rows(session, queries.all_matching(session, user, filters), as_of):
        sheet.append([_safe(sheet, value) for value in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _rows(session: Session, entries: Iterable[Hazard], as_of: date) -> Iterator[list[Any]]:
    for number, chunk in _chunks(entries, 500):
        units = queries.names(
            session,
            Unit,
            {h.unit_id for h in chunk} | {h.listed_unit_id for h in chunk if h.listed_unit_id},
        )
        enterprises = queries.names(session, Enterprise, {h.enterprise_id for h in chunk})
        users = queries.names(session, User, {h.confirmed_by for h in chunk})
        for offset, entry in enumerate(chunk):
            yield _row(number + offset, entry, units, enterprises, users, as_of)


def _row(
    position: int,
    entry: Hazard,
    units: dict[Any, Unit],
    enterprises: dict[Any, Enterprise],
    users: dict[Any, User],
    as_of: date,
) -> list[Any]:
    enterprise = enterprises[entry.enterprise_id]
    listed = units.get(entry.listed_unit_id) if entry.listed_unit_id else None
    return [
        position,
        entry.number,
        units[entry.unit_id].name,
        enterprise.name,
        enterprise.credit_code or "",
        SECTORS.get(entry.sector, entry.sector),
        states.SOURCE_LABELS[entry.source],
        states.LEVEL_LABELS.get(entry.level, entry.level),
        entry.rule_label or "",
        entry.override_reason or "",
        entry.description,
        entry.requirement or "",
        _date(entry.deadline),
        _date(entry.found_on),
        states.STATE_LABELS[entry.state],
        "是" if render.is_overdue(entry, as_of) else "否",
        "是" if listed else "否",
        listed.name if listed else "",
        _date(entry.listed_on),
        entry.measures or "",
        entry.funds_yuan if entry.funds_yuan is not None else "",
        entry.responsible_person or "",
        _date(entry.rectified_at),
        _date(entry.closed_at),
        users[entry.confirmed_by].display_name if entry.confirmed_by in users else "",
    ]


def _chunks(entries: Iterable[Hazard], size: int) -> Iterator[tuple[int, list[Hazard]]]:
    chunk: list[Hazard] = []
    first = 1
    for entry in entries:
        chunk.append(entry)
        if len(chunk) == size:
            yield first, chunk
            first += size
            chunk = []
    if chunk:
        yield first, chunk


def _date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return states.local_date(value).isoformat()
    return value.isoformat()


# A cell a spreadsheet program would read as a formula (or as the start of one when the cell is
# edited or the sheet saved as CSV): OWASP's list of leading characters.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe(sheet: WriteOnlyWorksheet, value: Any) -> Any:
    """Stored text as a cell that cannot break the file or run as a formula: characters XML
    cannot hold are replaced (docs/decision-accepted-text.md), every text cell is written as a
    string, never a formula, and one that looks like a formula also gets the quote prefix that
    keeps it text when someone edits it."""
    if not isinstance(value, str):
        return value
    cell = WriteOnlyCell(sheet, value=text.clean(value))
    cell.data_type = "s"
    if value.startswith(FORMULA_START):
        cell.quotePrefix = True
    return cell


def _bold(sheet: WriteOnlyWorksheet, value: str, *, size: int = 11) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    cell.font = Font(bold=True, size=size)
    cell.alignment = Alignment(wrap_text=True, vertical="center")
    return cell
