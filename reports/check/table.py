"""Finding a template's table in a sheet: its headings, its units row, its rows.

The headings must be the template's, row by row: in a workbook or a tab-separated export each
printed cell where the form prints it (merged cells keep their text in the first cell); in the
pasted-table text of seed 000, where merged cells collapse, the printed cells in order. A sheet
that holds another form is refused with the first heading that differs.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import NoReturn

from reports.model import Template

from .reading import Cell, Sheet, UnreadableTable

# The same heading typed with other quotes, brackets or widths is the same heading.
_SAME = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "、": ",", "，": ","})


class WrongTemplate(UnreadableTable):
    """The file holds a table, but not the form of the template it was checked against."""


def same(text: str) -> str:
    """A heading or label as compared: no spaces or line breaks, one width, one kind of quote."""
    return "".join(unicodedata.normalize("NFKC", text).translate(_SAME).split())


@dataclass(frozen=True)
class Row:
    label: str  # as printed, without line breaks ("区公安分局")
    label_cell: Cell
    cells: tuple[Cell | None, ...]  # one per template column; None where the row is short


@dataclass(frozen=True)
class Table:
    template: Template
    sheet: Sheet
    units: tuple[Cell | None, ...]  # the units row's cells, one per column; () when missing
    rows: tuple[Row, ...]  # every row below the headings, the total row among them


def find(template: Template, sheet: Sheet) -> Table:
    """The template's table in the sheet, or WrongTemplate saying what differs."""
    if template.layout != "table" or not template.unit_heading:
        raise WrongTemplate(
            f"Template {template.id} is a one-unit form ({template.title}); only tables with a "
            "row per unit are checked so far."
        )
    top, offset = _heading_cell(template, sheet)
    positional = sheet.layout != "cell_per_line"
    for depth in range(template.header_rows):
        _check_heading_row(template, sheet, top + depth, offset, depth, positional)
    below = top + template.header_rows
    units: tuple[Cell | None, ...] = ()
    if below < len(sheet.rows) and _is_units_row(template, sheet.rows[below], offset):
        units = _columns(template, sheet.rows[below], offset)
        below += 1
    rows = _rows(template, sheet, below, offset)
    return Table(template, sheet, units, rows)


def _heading_cell(template: Template, sheet: Sheet) -> tuple[int, int]:
    wanted = same(template.unit_heading or "")
    for number, row in enumerate(sheet.rows):
        for offset, cell in enumerate(row):
            if same(cell.text) == wanted:
                return number, offset
    raise WrongTemplate(
        f"{sheet.name}: no cell reads {template.unit_heading!r}, the heading of the unit column "
        f"of {template.title} (template {template.id}); is this that form?"
    )


def _check_heading_row(
    template: Template, sheet: Sheet, number: int, offset: int, depth: int, positional: bool
) -> None:
    expected = [c for c in template.header_cells(depth) if not c.continued]
    row = sheet.rows[number] if number < len(sheet.rows) else []
    if positional:
        for header in expected:
            index = offset + 1 + header.first
            cell = row[index] if index < len(row) else None
            if cell is None or same(cell.text) != same(header.text):
                where = cell.where if cell else f"row {number + 1}, column {index + 1}"
                _differs(template, sheet, where, header.text, cell.text if cell else "")
        starts = {offset + 1 + h.first for h in expected}
        for index, cell in enumerate(row[offset + 1 : offset + 1 + len(template.columns)]):
            if cell.text and offset + 1 + index not in starts:
                _differs(template, sheet, cell.where, "(nothing: a merged cell)", cell.text)
        return
    found = [c for c in row[offset + 1 :] if c.text]
    for n, header in enumerate(expected):
        if n >= len(found) or same(found[n].text) != same(header.text):
            cell = found[n] if n < len(found) else None
            where = cell.where if cell else f"heading row {depth + 1}"
            _differs(template, sheet, where, header.text, cell.text if cell else "")
    if len(found) > len(expected):
        extra = found[len(expected)]
        _differs(template, sheet, extra.where, "(no more headings in this row)", extra.text)


def _differs(template: Template, sheet: Sheet, where: str, expected: str, found: str) -> NoReturn:
    raise WrongTemplate(
        f"{sheet.name}, {where}: the heading reads {found or '(empty)'!r} where {template.title} "
        f"(template {template.id}) prints {expected!r}; is this that form, unchanged?"
    )


def _is_units_row(template: Template, row: list[Cell], offset: int) -> bool:
    """The row under the headings that prints a unit over most columns (条, 家次, 万元 …)."""
    cells = _columns(template, row, offset)
    label = row[offset].text if offset < len(row) else ""
    printed = sum(
        1 for cell, col in zip(cells, template.columns, strict=True) if _unit_of(cell, col.unit)
    )
    return not label and printed * 2 > len(template.columns)


def _unit_of(cell: Cell | None, unit: str | None) -> bool:
    return cell is not None and bool(cell.text) and not _numeric(cell.text) and unit is not None


def _numeric(text: str) -> bool:
    try:
        float(text.replace(",", ""))
    except ValueError:
        return False
    return True


def _columns(template: Template, row: list[Cell], offset: int) -> tuple[Cell | None, ...]:
    width = len(template.columns)
    values: list[Cell | None] = list(row[offset + 1 : offset + 1 + width])
    return tuple(values + [None] * (width - len(values)))


_FOOTER = ("填表人", "审核人", "填报人", "填报单位", "联系电话", "注", "说明", "备注")


def _rows(template: Template, sheet: Sheet, start: int, offset: int) -> tuple[Row, ...]:
    rows: list[Row] = []
    for number in range(start, len(sheet.rows)):
        raw = sheet.rows[number]
        label = raw[offset].text if offset < len(raw) else ""
        cells = _columns(template, raw, offset)
        filled = [c for c in cells if c is not None and c.text]
        if not label and not filled:
            if rows:
                return tuple(rows)  # a blank row ends the table
            continue
        if not label or same(label).startswith(_FOOTER):
            return tuple(rows)
        if sheet.layout == "cell_per_line" and len(raw) != offset + 1 + len(cells):
            # Pasted cells carry no position: a missing or extra one shifts every figure after it.
            raise WrongTemplate(
                f"{sheet.name}, {raw[offset].where}: row {label} has {len(raw) - offset - 1} "
                f"figures; {template.title} has {len(cells)} columns after "
                f"{template.unit_heading}. Fill every cell (0 for none) and paste the table again."
            )
        extra = raw[offset + 1 + len(cells) :]
        if any(c.text for c in extra):
            beyond = next(c for c in extra if c.text)
            raise WrongTemplate(
                f"{sheet.name}, {beyond.where}: row {label} has a value past the last column of "
                f"{template.title} ({len(template.columns)} columns after {template.unit_heading})."
            )
        rows.append(Row(label, raw[offset], cells))
    if sheet.truncated and rows:
        raise UnreadableTable(
            f"{sheet.name}: the table runs past the {len(sheet.rows)} rows that are read; "
            "a 调度表 has a row per unit, not thousands."
        )
    return tuple(rows)
