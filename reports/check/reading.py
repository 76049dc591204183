"""Reading a hand-filled 调度表 into a grid of cells, whatever it was saved as.

Three shapes come in: an XLSX workbook; tab-separated text with one row per line (Excel's and
WPS's 文本文件 export, fields with line breaks in quotes); and the layout of a Word table
pasted as text, as seed 000 holds it: every cell on a line of its own that starts with a tab, a
cell's own line breaks as lines without a tab, and a blank line between rows. Text comes as
UTF-8 (with or without BOM), UTF-16 with BOM (Excel's "Unicode 文本") or GB18030.

Nothing here knows a template: ``reports.check.table`` finds the form's rows in the grid. Every
file is bounded before it is read (size, unpacked size, rows, columns), and anything that cannot
be read raises ``UnreadableTable`` with a reason a person can act on.
"""

from __future__ import annotations

import csv
import io
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

# A 调度表 is a few dozen rows of a few dozen columns: tens of kilobytes. The bounds leave room
# for logos and styles while refusing what no form is.
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_UNPACKED_BYTES = 50 * 1024 * 1024  # what an XLSX may inflate to, by its members' sizes
MAX_ZIP_MEMBERS = 500
MAX_SHEETS = 30
MAX_ROWS = 2000  # rows read from a sheet or text; a table reaching past them is refused
MAX_COLUMNS = 200
MAX_CELL_CHARS = 2000

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TEXT_CONTENT_TYPES = ("text/tab-separated-values", "text/plain")

# A damaged or hostile workbook makes zipfile, openpyxl and its XML parser raise almost anything
# (BadZipFile, KeyError, ParseError, ValueError, TypeError, zlib.error …): within those calls,
# any exception means the file cannot be read, never a traceback.
_BROKEN_XLSX = (Exception,)


class UnreadableTable(Exception):
    """The file cannot be read as a table at all; nothing in it was checked."""


class TooLarge(UnreadableTable):
    """The file is beyond what any 调度表 is."""


@dataclass(frozen=True)
class Cell:
    value: Any  # as the file holds it: str from text; str, int, float, datetime… from XLSX
    where: str  # where a person finds it: "K5" in a workbook, "line 125" in text

    @property
    def text(self) -> str:
        """The cell as one line of text, without the line breaks a heading is typed with."""
        if self.value is None:
            return ""
        if isinstance(self.value, float) and self.value.is_integer():
            return str(int(self.value))
        return "".join(str(self.value).split())


@dataclass(frozen=True)
class Sheet:
    name: str  # the worksheet's title, or the file's name for text
    rows: list[list[Cell]]
    truncated: bool = False  # rows past MAX_ROWS were not read
    layout: str = "xlsx"  # "xlsx", "tsv" (a row per line) or "cell_per_line" (seed 000)


@dataclass(frozen=True)
class Workbook:
    name: str
    sheets: list[Sheet] = field(default_factory=list)


def read(name: str, data: bytes) -> Workbook:
    """The sheets of a filled table: an XLSX workbook or tab-separated text."""
    if len(data) > MAX_FILE_BYTES:
        raise TooLarge(
            f"{name} is {len(data):,} bytes; a 调度表 is far smaller (at most "
            f"{MAX_FILE_BYTES:,} bytes are read). Send the table alone, without pictures."
        )
    if not data.strip():
        raise UnreadableTable(f"{name} is empty.")
    if data.startswith(b"PK\x03\x04"):
        return Workbook(name, _xlsx_sheets(name, data))
    if data.startswith((b"\xd0\xcf\x11\xe0", b"PK\x05\x06")):
        raise UnreadableTable(
            f"{name} is an old Excel .xls file (or an empty archive); save it as .xlsx "
            "(Excel 工作簿) or as 文本文件(制表符分隔)."
        )
    return Workbook(name, [_text_sheet(name, decode(name, data))])


# Text -------------------------------------------------------------------------------------------


def decode(name: str, data: bytes) -> str:
    """UTF-8 (BOM or not), UTF-16 with its BOM, or else GB18030 (Excel on Chinese Windows)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings: tuple[str, ...] = ("utf-16",)
    else:
        encodings = ("utf-8-sig", "gb18030")
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            break
        return text
    raise UnreadableTable(
        f"{name} is neither an .xlsx workbook nor text in UTF-8, UTF-16 or GB18030; "
        "save the table as .xlsx or as 文本文件(制表符分隔)."
    )


def _text_sheet(name: str, text: str) -> Sheet:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if not any("\t" in line for line in lines):
        raise UnreadableTable(
            f"{name} holds no tab-separated table: no line has a tab. Save the table as .xlsx "
            "or as 文本文件(制表符分隔)."
        )
    # A pasted Word table has one tab on a line, the one that opens a cell; the notice around
    # it may have a stray tab or two.
    tabbed = [line for line in lines if "\t" in line]
    opening = [line for line in tabbed if line.count("\t") == 1 and line.startswith("\t")]
    if len(opening) >= 0.9 * len(tabbed):
        rows, truncated = _cell_per_line(lines)
        return Sheet(name, rows, truncated, "cell_per_line")
    rows, truncated = _row_per_line(name, text)
    return Sheet(name, rows, truncated, "tsv")


def _row_per_line(name: str, text: str) -> tuple[list[list[Cell]], bool]:
    rows: list[list[Cell]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t")
    try:
        for record in reader:
            line = reader.line_num  # the last physical line of this record
            if len(rows) >= MAX_ROWS:
                return rows, True
            _check_width(name, f"line {line}", len(record))
            rows.append(
                [
                    Cell(_bounded(v), f"line {line}, column {get_column_letter(n)}")
                    for n, v in enumerate(record, start=1)
                ]
            )
    except csv.Error as exc:
        raise UnreadableTable(
            f"{name} line {reader.line_num} is not tab-separated text a table reads from "
            f"({exc}); save the table again as 文本文件(制表符分隔)."
        ) from None
    return rows, False


def _cell_per_line(lines: list[str]) -> tuple[list[list[Cell]], bool]:
    """Seed 000's layout: the table runs from the first line opening a cell to the last one;
    what is around it (the notice, the title) is not part of it."""
    opening = [n for n, line in enumerate(lines) if line.startswith("\t")]
    first, last = opening[0], opening[-1]
    rows: list[list[Cell]] = []
    row: list[Cell] = []
    parts: list[str] = []
    start = first
    for n in range(first, last + 1):
        line = lines[n]
        if line.startswith("\t"):
            if parts:
                row.append(Cell(_bounded("\n".join(parts)), f"line {start + 1}"))
            # A blank line right before a line opening a cell closes the row.
            if n > first and _blank(lines[n - 1]) and row:
                rows.append(row)
                row = []
                if len(rows) >= MAX_ROWS:
                    return rows, True
            parts, start = [line[1:]], n
        else:
            parts.append(line)  # a line break inside the cell, or the blank line closing a row
        _check_width("the text", f"line {n + 1}", len(row))
    row.append(Cell(_bounded("\n".join(parts)), f"line {start + 1}"))
    rows.append(row)
    return [[Cell(_strip_trailing_blank(c.value), c.where) for c in r] for r in rows], False


def _blank(line: str) -> bool:
    return not line.strip() and not line.startswith("\t")  # "\t" alone is an empty cell


def _strip_trailing_blank(value: str) -> str:
    return value.rstrip("\n")


def _bounded(value: str) -> str:
    if len(value) > MAX_CELL_CHARS:
        raise TooLarge(
            f"A cell holds {len(value):,} characters; a 调度表's cells hold a heading, a name or "
            f"a number (at most {MAX_CELL_CHARS:,} characters are read)."
        )
    return value


def _check_width(name: str, where: str, width: int) -> None:
    if width > MAX_COLUMNS:
        raise TooLarge(f"{name} {where} has more than {MAX_COLUMNS} columns; that is not a 调度表.")


# XLSX -------------------------------------------------------------------------------------------


def _xlsx_sheets(name: str, data: bytes) -> list[Sheet]:
    _check_archive(name, data)
    with warnings.catch_warnings():
        # Excel and WPS files carry styles and validation openpyxl does not read and warns
        # about; only the values matter here.
        warnings.simplefilter("ignore")
        # Values as last saved; and the formulas, to tell a formula never calculated (a file a
        # program wrote) from an empty cell.
        books = []
        try:
            for data_only in (True, False):
                books.append(load_workbook(io.BytesIO(data), read_only=True, data_only=data_only))
            values, formulas = books
            if len(values.worksheets) > MAX_SHEETS:
                raise TooLarge(
                    f"{name} has {len(values.worksheets)} worksheets; send the 调度表 in a "
                    f"workbook of at most {MAX_SHEETS}."
                )
            return [
                _xlsx_sheet(sheet, formulas.worksheets[n])
                for n, sheet in enumerate(values.worksheets)
                if hasattr(sheet, "iter_rows")
            ]
        except UnreadableTable:
            raise
        except _BROKEN_XLSX as exc:
            raise _unreadable_xlsx(name, exc) from None
        finally:
            for book in books:
                book.close()


@dataclass(frozen=True)
class UncalculatedFormula:
    """A formula cell with no value saved with it (the workbook was written by a program and
    never opened in Excel or WPS): its figure is not known."""

    formula: str

    def __str__(self) -> str:
        return self.formula


def _xlsx_sheet(sheet: Any, formulas: Any) -> Sheet:
    sheet.reset_dimensions()  # some writers record a wrong size; read the rows there are
    formulas.reset_dimensions()
    rows: list[list[Cell]] = []
    pairs = zip(_xlsx_rows(sheet), _xlsx_rows(formulas), strict=False)
    for number, (values, written) in enumerate(pairs, start=1):
        if number > MAX_ROWS:
            return Sheet(str(sheet.title), rows, truncated=True)
        width = max(len(values), len(written))
        rows.append(
            [
                Cell(
                    _xlsx_value(
                        values[n] if n < len(values) else None,
                        written[n] if n < len(written) else None,
                    ),
                    f"{get_column_letter(n + 1)}{number}",
                )
                for n in range(width)
            ]
        )
    return Sheet(str(sheet.title), rows)


def _xlsx_rows(sheet: Any) -> Iterator[tuple[Any, ...]]:
    for values in sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True):
        width = len(values)
        while width and values[width - 1] is None:
            width -= 1  # read up to MAX_COLUMNS; keep what the row holds
        yield values[:width]


def _xlsx_value(value: Any, written: Any) -> Any:
    if value is None and isinstance(written, str) and written.startswith("="):
        return UncalculatedFormula(_bounded(written))
    if isinstance(value, str):
        return _bounded(value)
    return value


def _check_archive(name: str, data: bytes) -> None:
    # zipfile inflates a member only up to its declared size (and then fails the CRC), so the
    # declared sizes bound what reading costs: a zip bomb is refused before anything inflates.
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _unreadable_xlsx(name, exc) from None
    if len(members) > MAX_ZIP_MEMBERS:
        raise TooLarge(f"{name} holds {len(members):,} parts; no workbook of a 调度表 does.")
    unpacked = sum(member.file_size for member in members)
    if unpacked > MAX_UNPACKED_BYTES:
        raise TooLarge(
            f"{name} unpacks to {unpacked:,} bytes, more than the {MAX_UNPACKED_BYTES:,} a "
            "调度表 workbook may; send the table alone, without pictures."
        )


def _unreadable_xlsx(name: str, exc: BaseException) -> UnreadableTable:
    return UnreadableTable(
        f"{name} is not a readable .xlsx workbook ({type(exc).__name__}: {exc}); "
        "save it again from Excel or WPS as .xlsx (Excel 工作簿)."
    )
