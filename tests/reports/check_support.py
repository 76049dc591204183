"""Filled 荔城 tables for the checker's tests: seed 000's figures (or changed ones) laid out as
the printed form, as tab-separated text or as a workbook with the form's merged cells."""

from __future__ import annotations

import io
from pathlib import Path

from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from reports import Template, load_template
from tests.reports.seed_tables import SEEDS, licheng_table

SEED_000 = SEEDS / "000_f621e6b55e58377e.txt"
Figures = list[list[str]]  # rows of [label, 28 figures], the 累计 row first


def seed_bytes() -> bytes:
    return Path(SEED_000).read_bytes()


def seed_figures() -> Figures:
    """The 累计 row and the 27 unit rows of seed 000 附件1, as printed."""
    return [list(row) for row in licheng_table()[4:]]


def consistent_figures() -> Figures:
    """Seed 000's figures with its two inconsistencies put right: 累计 帮扶指导重点县区（镇街）
    is the sum of its rows (386, not 366), and 区文旅局 has no 挂牌督办 without a 重大隐患
    (0, not 1; so 累计 挂牌督办 is 19)."""
    figures = seed_figures()
    set_figure(figures, "累计", "assisted_towns", "386")
    set_figure(figures, "区文旅局", "major_supervised_found", "0")
    set_figure(figures, "累计", "major_supervised_found", "19")
    return figures


def licheng() -> Template:
    return load_template("licheng")


def column_index(key: str) -> int:
    return [c.key for c in licheng().columns].index(key)


def figure(figures: Figures, label: str, key: str) -> str:
    return next(row for row in figures if row[0] == label)[1 + column_index(key)]


def set_figure(figures: Figures, label: str, key: str, value: str) -> None:
    next(row for row in figures if row[0] == label)[1 + column_index(key)] = value


def form_grid(figures: Figures, template: Template | None = None) -> list[list[str]]:
    """The printed form as a grid: title lines, header rows with each merged cell's text in
    its first cell, the units row, the figures."""
    template = template or licheng()
    width = 1 + len(template.columns)
    grid = [[template.title], ["（数据统计区间：2023年5月1日-2023年9月26日）"]]
    for depth in range(template.header_rows):
        row = [""] * width
        if depth == 0:
            row[0] = template.unit_heading or ""
        for cell in template.header_cells(depth):
            if not cell.continued:
                row[1 + cell.first] = cell.text
        grid.append(row)
    grid.append(["", *(c.unit or "" for c in template.columns)])
    grid.extend(list(row) for row in figures)
    return grid


HEADER_TOP = 3  # the first header row of form_grid, counting from 1


def to_tsv(grid: list[list[str]]) -> str:
    return "".join("\t".join(row) + "\r\n" for row in grid)


def to_xlsx(figures: Figures, *, numbers: bool = True) -> bytes:
    """The form as a workbook, merged as printed; figures typed as numbers (or as text)."""
    template = licheng()
    book = Workbook()
    sheet = book.active
    sheet.title = "附件1"
    for number, row in enumerate(form_grid(figures), start=1):
        for column, value in enumerate(row, start=1):
            if value == "":
                continue
            typed: object = value
            if numbers and number > HEADER_TOP + template.header_rows and column > 1:
                typed = float(value) if "." in value else int(value)
            sheet.cell(number, column, typed)
    for depth in range(template.header_rows):
        for cell in template.header_cells(depth):
            if cell.continued:
                continue
            rows = 1 + _runs_down(template, depth, cell.first)
            top = HEADER_TOP + depth
            left, right = 2 + cell.first, 2 + cell.last
            if rows > 1 or right > left:
                sheet.merge_cells(
                    f"{get_column_letter(left)}{top}:{get_column_letter(right)}{top + rows - 1}"
                )
    sheet.merge_cells(f"A{HEADER_TOP}:A{HEADER_TOP + template.header_rows}")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _runs_down(template: Template, depth: int, column: int) -> int:
    below = 0
    for lower in range(depth + 1, template.header_rows):
        if template.columns[column].heading[lower] != "":
            break
        below += 1
    return below
