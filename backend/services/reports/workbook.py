"""A 调度表 as a workbook laid out like the printed form (XlsxWriter: merged cells, print setup,
byte-identical output for the same data; LIBRARIES.md).

Table templates (荔城, 泉州): title, the lines above the table, the header rows with their merged
cells (``Template.header_cells``), the units row where the form prints one, the total row and a
row per unit, then 填表人/审核人. Form templates (福州, 海城): title, 填报单位 and date, the blocks
with two numbered items a line as printed, then the lines below.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from reports import Column, Template

from . import Report, Value


def cn_date(day: date | None) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if day else "    年  月  日"


def fill_line(line: str, report: Report, names: dict[str, str]) -> str:
    """A printed header or footer line with the unit, period and (when filed) names filled."""
    return line.format(
        from_cn=cn_date(report.period.starts_on),
        to_cn=cn_date(report.period.cutoff),
        unit=report.unit.name,
        filed_cn=names.get("filed_cn", cn_date(None)),
        preparer=names.get("preparer", ""),
        reviewer=names.get("reviewer", ""),
    )


def _text(v: Value) -> str:
    return format(v, "f") if isinstance(v, Decimal) else ("" if v is None else str(v))


def _value(v: Value) -> Any:
    if isinstance(v, Decimal):
        return float(v)
    return "" if v is None else v


def build(report: Report, names: dict[str, str] | None = None) -> bytes:
    """The workbook's bytes; the same report (and names) gives the same bytes."""
    names = names or {}
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    # A fixed creation time: the bytes depend on the data only.
    moment = datetime.combine(report.period.cutoff, datetime.min.time(), UTC).replace(tzinfo=None)
    book.set_properties({"title": report.template.title, "created": moment})
    sheet = book.add_worksheet(report.template.id)
    styles = _styles(book)
    if report.template.layout == "table":
        last_row = _table(sheet, styles, report, names)
    else:
        last_row = _form(sheet, styles, report, names)
    sheet.set_landscape()
    sheet.set_paper(9)  # A4
    sheet.fit_to_pages(1, 0)
    sheet.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    sheet.print_area(0, 0, last_row, _width(report.template) - 1)
    book.close()
    return out.getvalue()


def _styles(book: xlsxwriter.Workbook) -> dict[str, Format]:
    base = {"font_name": "SimSun", "font_size": 10, "valign": "vcenter"}
    cell = {**base, "border": 1, "align": "center", "text_wrap": True}
    return {
        "title": book.add_format({**base, "bold": True, "font_size": 16, "align": "center"}),
        "line": book.add_format({**base}),
        "head": book.add_format({**cell, "bold": True}),
        "cell": book.add_format(cell),
        "label": book.add_format({**cell, "align": "left"}),
    }


def _width(t: Template) -> int:
    return len(t.columns) + 1 if t.layout == "table" else 7


def _table(sheet: Worksheet, s: dict[str, Format], report: Report, names: dict[str, str]) -> int:
    t = report.template
    width = _width(t)
    sheet.merge_range(0, 0, 0, width - 1, t.title, s["title"])
    row = 1
    for line in t.header_lines:
        sheet.merge_range(row, 0, row, width - 1, fill_line(line, report, names), s["line"])
        row += 1
    top, depth = row, t.header_rows
    _merge(sheet, top, 0, top + depth - 1, 0, t.unit_heading or "", s["head"])
    for r in range(depth):
        for cell in t.header_cells(r):
            if cell.continued:
                continue
            bottom = r
            while bottom + 1 < depth and _continues(t, bottom + 1, cell.first, cell.last):
                bottom += 1
            _merge(
                sheet, top + r, cell.first + 1, top + bottom, cell.last + 1, cell.text, s["head"]
            )
    row = top + depth
    if t.units_row:
        sheet.write(row, 0, "", s["head"])
        for i, col in enumerate(t.columns):
            sheet.write(row, i + 1, col.unit or "", s["head"])
        row += 1
    sheet.repeat_rows(top, row - 1)
    lines = [(r.name, {k: c.value for k, c in r.cells.items()}) for r in report.rows]
    total = (t.total_label or "合计", report.total)
    for name, values in [total, *lines] if t.total_first else [*lines, total]:
        sheet.write(row, 0, name, s["label"])
        for i, col in enumerate(t.columns):
            sheet.write(row, i + 1, _value(values.get(col.key)), s["cell"])
        row += 1
    sheet.set_column(0, 0, 14)
    sheet.set_column(1, width - 1, 7)
    sheet.set_row(top + depth - 1, 60)
    for line in t.footer_lines:
        sheet.merge_range(row, 0, row, width - 1, fill_line(line, report, names), s["line"])
        row += 1
    return row - 1


def _continues(t: Template, r: int, first: int, last: int) -> bool:
    return any(c.continued and (c.first, c.last) == (first, last) for c in t.header_cells(r))


def _merge(sheet: Worksheet, r1: int, c1: int, r2: int, c2: int, text: str, fmt: Format) -> None:
    if (r1, c1) == (r2, c2):
        sheet.write(r1, c1, text, fmt)
    else:
        sheet.merge_range(r1, c1, r2, c2, text, fmt)


def _items(t: Template) -> list[tuple[str, int, str, list[Column]]]:
    items: list[tuple[str, int, str, list[Column]]] = []
    for col in t.columns:
        key = (str(col.block), int(col.number or 0), str(col.label))
        if items and items[-1][:3] == key:
            items[-1][3].append(col)
        else:
            items.append((*key, [col]))
    return items


def _form_value(cols: list[Column], values: dict[str, Value], label: str) -> Any:
    if len(cols) == 1:
        return _value(values.get(cols[0].key))
    parts = [f"{_text(values.get(c.key))}{c.unit or ''}" for c in cols]
    return parts[0] + ("，其中" if "其中" in label else "，") + "".join(parts[1:])


def _form(sheet: Worksheet, s: dict[str, Format], report: Report, names: dict[str, str]) -> int:
    t = report.template
    sheet.merge_range(0, 0, 0, 6, t.title, s["title"])
    row = 1
    for line in t.header_lines:
        sheet.merge_range(row, 0, row, 6, fill_line(line, report, names), s["line"])
        row += 1
    blocks: dict[str, list[tuple[str, int, str, list[Column]]]] = {}
    for item in _items(t):
        blocks.setdefault(item[0], []).append(item)
    for block, items in blocks.items():
        lines = [items[i : i + 2] for i in range(0, len(items), 2)]
        _merge(sheet, row, 0, row + len(lines) - 1, 0, block, s["head"])
        for pair in lines:
            for j, (_b, number, label, cols) in enumerate(pair):
                sheet.write(row, 1 + 3 * j, number, s["cell"])
                sheet.write(row, 2 + 3 * j, label, s["label"])
                sheet.write(row, 3 + 3 * j, _form_value(cols, report.total, label), s["cell"])
            row += 1
    sheet.set_column(0, 0, 16)
    sheet.set_column(1, 1, 4)
    sheet.set_column(2, 2, 40)
    sheet.set_column(3, 3, 12)
    sheet.set_column(4, 4, 4)
    sheet.set_column(5, 5, 40)
    sheet.set_column(6, 6, 12)
    for line in t.footer_lines:
        sheet.merge_range(row, 0, row, 6, fill_line(line, report, names), s["line"])
        row += 1
    return row - 1
