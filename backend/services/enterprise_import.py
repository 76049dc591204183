"""Import enterprises (被检查单位) from an office's CSV or XLSX list: every row, or none.

`read_rows` turns a file into rows keyed by field, each with its spreadsheet line; `import_rows`
checks every row and creates them only when none is bad, so an office fixes its list and sends
the whole of it again rather than working out which half went in.
"""

from __future__ import annotations

import csv
import io
import uuid
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.domain import credit_code
from backend.domain.sectors import SECTORS
from backend.errors import DomainError, InvalidInput
from backend.models import Enterprise, Unit, User
from sync import text as accepted_text

from . import enterprises, scope

# Field → the headings an office may type for it, besides the field name itself.
HEADINGS: dict[str, tuple[str, ...]] = {
    "name": ("企业名称", "单位名称"),
    "credit_code": ("统一社会信用代码",),
    "sector": ("行业领域",),
    "address": ("地址", "详细地址"),
    "contact_name": ("联系人",),
    "contact_phone": ("联系电话",),
    "unit": ("所属单位",),
}
REQUIRED = ("name", "sector")
FIELD_OF_HEADING = {h.lower(): f for f, hs in HEADINGS.items() for h in (f, *hs)}

# A 行业领域 cell may hold the code, the label as SECTORS prints it, or a short form in use.
SECTOR_OF_NAME: dict[str, str] = {
    **{code: code for code in SECTORS},
    **{label: code for code, label in SECTORS.items()},
    "燃气": "gas",
    "有限空间": "confined_space",
    "危险化学品": "hazardous_chemicals",
    "工贸": "industry_trade",
    "消防": "fire",
}

# enterprises.validate does not check lengths; PostgreSQL would refuse the row at flush.
MAX_LENGTH = {
    name: getattr(Enterprise.__table__.c[name].type, "length", None)
    for name in ("name", "address", "contact_name", "contact_phone")
}

Cells = list[str | None]


class UnreadableFile(Exception):
    """The file as a whole cannot be read as an enterprise list; nothing in it was checked."""


@dataclass(frozen=True)
class Row:
    line: int  # 1-based, as the spreadsheet numbers it; the heading row is line 1 or later
    values: dict[str, str | None]


@dataclass(frozen=True)
class RowError:
    line: int
    fields: dict[str, list[str]]


@dataclass
class ImportReport:
    created: int = 0
    errors: list[RowError] = field(default_factory=list)

    def describe(self) -> list[str]:
        """One line per problem, e.g. "line 7: credit_code: Not a valid 统一社会信用代码: ..."."""
        return [
            f"line {error.line}: {name}: {message}"
            for error in self.errors
            for name, messages in error.fields.items()
            for message in messages
        ]


# Reading ---------------------------------------------------------------------------------------


# What one import may cost: an office's list is a few thousand rows and well under a megabyte.
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_ROWS = 20_000
# An XLSX is a zip; its members' declared sizes bound what zipfile will inflate (it stops there
# and fails the CRC), so checking them first refuses a zip bomb before openpyxl inflates it.
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
# What a damaged or hostile workbook makes openpyxl and its XML parser raise.
_BROKEN_XLSX = (
    zipfile.BadZipFile,
    zlib.error,
    InvalidFileException,
    KeyError,
    SyntaxError,  # xml.etree.ElementTree.ParseError: malformed XML
    ValueError,
    TypeError,
    IndexError,
    EOFError,
)


def read_rows(path: Path) -> list[Row]:
    """The non-empty data rows of a .csv or .xlsx file, keyed by field."""
    readers = {".csv": _csv_cells, ".xlsx": _xlsx_cells}
    reader = readers.get(path.suffix.lower())
    if reader is None:
        raise UnreadableFile(
            f"{path.name}: use .csv or .xlsx (in Excel: 另存为 CSV UTF-8 or Excel 工作簿)."
        )
    if path.stat().st_size > MAX_FILE_BYTES:
        raise UnreadableFile(
            f"{path.name} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; "
            "split the list into several files."
        )
    lines = []
    for n, cells in enumerate(reader(path), start=1):
        if any(cells):
            lines.append((n, cells))
        if len(lines) > MAX_ROWS + 1:  # the heading row and MAX_ROWS data rows
            raise UnreadableFile(
                f"{path.name} has more than {MAX_ROWS} rows; split the list into several files."
            )
    if not lines:
        raise UnreadableFile(f"{path.name} is empty: its first row must be the column headings.")
    (_, headings), *data = lines
    fields = _fields(path.name, headings)
    return [_row(path.name, fields, line, cells) for line, cells in data]


def _csv_cells(path: Path) -> list[Cells]:
    text = _decode(path.name, path.read_bytes())
    try:
        return [[_cell(c) for c in record] for record in csv.reader(io.StringIO(text, newline=""))]
    except csv.Error as exc:
        raise UnreadableFile(f"{path.name} is not a readable CSV file ({exc}).") from None


def _decode(name: str, data: bytes) -> str:
    # Excel on Chinese Windows saves "CSV" in GB18030 (GBK); "CSV UTF-8" adds a BOM.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnreadableFile(f"{name} is neither UTF-8 nor GB18030 text; save it as CSV UTF-8.")


def _xlsx_cells(path: Path) -> Iterator[Cells]:
    _check_unpacked_size(path)
    with warnings.catch_warnings():
        # Excel and WPS files carry styles and data validation openpyxl cannot read and warns
        # about; only the values matter here.
        warnings.simplefilter("ignore", UserWarning)
        try:
            book = load_workbook(path, read_only=True, data_only=True)
        except _BROKEN_XLSX as exc:
            raise _unreadable_xlsx(path, exc) from None
        try:
            sheet = book.worksheets[0]
            sheet.reset_dimensions()  # some writers record a wrong size; read every row there is
            for values in sheet.iter_rows(values_only=True):
                yield [_cell(v) for v in values]
        except _BROKEN_XLSX as exc:
            raise _unreadable_xlsx(path, exc) from None
        finally:
            book.close()


def _unreadable_xlsx(path: Path, exc: BaseException) -> UnreadableFile:
    return UnreadableFile(
        f"{path.name} is not a readable .xlsx workbook ({type(exc).__name__}: {exc}); "
        "save it again from Excel as .xlsx."
    )


def _check_unpacked_size(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise _unreadable_xlsx(path, exc) from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise UnreadableFile(
            f"{path.name} unpacks to {unpacked:,} bytes, more than the "
            f"{MAX_UNPACKED_BYTES:,} an enterprise list may; split the list into several files."
        )


def _cell(value: Any) -> str | None:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a phone number typed into Excel comes back as 13800138000.0
    text = "" if value is None else str(value).strip()
    return text or None


def _fields(name: str, headings: Cells) -> list[str | None]:
    fields = [FIELD_OF_HEADING.get(h.lower()) if h else None for h in headings]
    unknown = [h for h, f in zip(headings, fields, strict=True) if h and f is None]
    if unknown:
        accepted = "; ".join("/".join((f, *hs)) for f, hs in HEADINGS.items())
        raise UnreadableFile(
            f"{name}: unknown column headings {', '.join(unknown)}. Use these: {accepted}."
        )
    named = [f for f in fields if f]
    twice = sorted({f for f in named if named.count(f) > 1})
    if twice:
        raise UnreadableFile(f"{name}: more than one column for {', '.join(twice)}; keep one.")
    missing = [f for f in REQUIRED if f not in named]
    if missing:
        raise UnreadableFile(
            f"{name}: no column for {', '.join(missing)}; add "
            + " and ".join(HEADINGS[f][0] for f in missing)
            + "."
        )
    return fields


def _row(name: str, fields: list[str | None], line: int, cells: Cells) -> Row:
    values: dict[str, str | None] = {f: None for f in fields if f}
    for index, cell in enumerate(cells):
        column = fields[index] if index < len(fields) else None
        if cell is not None and column is None:
            raise UnreadableFile(
                f"{name} line {line}: column {get_column_letter(index + 1)} has "
                "a value but no heading; add the heading or clear the column."
            )
        if column is not None:
            values[column] = cell
    return Row(line, values)


# Checking and importing ------------------------------------------------------------------------


@dataclass
class _Checked:
    line: int
    unit: Unit | None
    values: dict[str, Any]
    problems: dict[str, list[str]]


class _RowFailed(Exception):
    def __init__(self, error: RowError) -> None:
        super().__init__(error)
        self.error = error


def import_rows(
    session: Session,
    actor: User,
    rows: Sequence[Row],
    default_unit: Unit | None,
    *,
    progress: Callable[[int], object] = lambda n: None,
) -> ImportReport:
    """Check every row; create them all when none is bad, or else create nothing."""
    units = _UnitFinder(session, actor, default_unit)
    seen: dict[tuple[uuid.UUID, str], int] = {}
    checked = []
    for row in rows:
        item = _check_row(units, row)
        _check_duplicate(session, item, seen)
        checked.append(item)
        progress(1)
    errors = [RowError(item.line, item.problems) for item in checked if item.problems]
    if errors:
        return ImportReport(errors=errors)
    return _create_all(session, actor, checked)


def _check_row(units: _UnitFinder, row: Row) -> _Checked:
    problems: dict[str, list[str]] = {
        name: [accepted_text.MESSAGE]
        for name, value in row.values.items()
        if value is not None and not accepted_text.is_valid(value)
    }
    if problems:  # refused characters (docs/decision-accepted-text.md): nothing else to check
        return _Checked(row.line, None, {}, problems)
    unit = units.find(row.values.get("unit"), problems)
    values: dict[str, Any] = {k: row.values.get(k) for k in enterprises.FIELDS}
    values["sector"] = _sector(values["sector"], problems)
    for name, limit in MAX_LENGTH.items():
        if limit and values[name] and len(values[name]) > limit:
            problems[name] = [f"At most {limit} characters; this has {len(values[name])}."]
    try:
        values = enterprises.validate(values)
    except InvalidInput as exc:
        for name, messages in exc.errors.items():
            problems.setdefault(name, []).extend(messages)
    return _Checked(row.line, unit, values, problems)


def _sector(value: str | None, problems: dict[str, list[str]]) -> str | None:
    if value is None:
        problems["sector"] = ["Required: a 行业领域 such as 城镇燃气 or gas."]
        return None
    code = SECTOR_OF_NAME.get(value.lower())
    if code is None:
        problems["sector"] = [
            f"Unknown 行业领域 {value!r}; use one of "
            f"{'、'.join(SECTORS.values())} (or its code, e.g. gas)."
        ]
    return code


def _check_duplicate(
    session: Session, item: _Checked, seen: dict[tuple[uuid.UUID, str], int]
) -> None:
    raw = item.values.get("credit_code")
    code = credit_code.normalise(raw) if raw else None
    if item.unit is None or not code or "credit_code" in item.problems:
        return
    first = seen.setdefault((item.unit.id, code), item.line)
    if first != item.line:
        message = f"Same 统一社会信用代码 as line {first}, in the same unit; keep one of the two."
    elif _registered(session, item.unit, code):
        message = f"Already registered in {item.unit.name}; leave this row out of the file."
    else:
        return
    item.problems.setdefault("credit_code", []).append(message)


def _registered(session: Session, unit: Unit, code: str) -> bool:
    query = select(Enterprise.id).where(
        Enterprise.unit_id == unit.id, Enterprise.credit_code == code
    )
    return session.scalar(query) is not None


def _create_all(session: Session, actor: User, checked: list[_Checked]) -> ImportReport:
    try:
        # A savepoint, so a row refused now (a code registered since the check) leaves nothing
        # of the file behind even if the caller goes on to commit.
        with session.begin_nested():
            for item in checked:
                _create(session, actor, item)
    except _RowFailed as failed:
        return ImportReport(errors=[failed.error])
    return ImportReport(created=len(checked))


def _create(session: Session, actor: User, item: _Checked) -> None:
    assert item.unit is not None  # rows without a unit were reported, not created
    try:
        enterprises.create(session, actor, item.unit, item.values)
    except DomainError as exc:
        raise _RowFailed(RowError(item.line, dict(exc.errors) or {"row": [exc.message]})) from exc


class _UnitFinder:
    """A row's 所属单位, by id or exact name, among the units the actor can see."""

    def __init__(self, session: Session, actor: User, default: Unit | None) -> None:
        self.session, self.actor, self.default = session, actor, default
        self._found: dict[str, Unit | str] = {}  # reference → unit, or why there is none

    def find(self, ref: str | None, problems: dict[str, list[str]]) -> Unit | None:
        if ref is None:
            return self._default(problems)
        if ref not in self._found:
            self._found[ref] = self._look_up(ref)
        found = self._found[ref]
        if isinstance(found, str):
            problems["unit"] = [found]
            return None
        return found

    def _default(self, problems: dict[str, list[str]]) -> Unit | None:
        if self.default is None:
            problems["unit"] = ["No 所属单位 in this row and no default unit for the import."]
        elif not scope.can_see(self.actor, self.default):
            problems["unit"] = [
                f"The default unit {self.default.name} is not one you can see; "
                "name a 所属单位 in this row."
            ]
        else:
            return self.default
        return None

    def _look_up(self, ref: str) -> Unit | str:
        visible = [u for u in self._candidates(ref) if scope.can_see(self.actor, u)]
        if len(visible) == 1:
            return visible[0]
        if visible:
            return f"Several units you can see are named {ref!r}; give its id instead."
        # Out of scope reads the same as unknown, as everywhere else (scope.get_visible_unit).
        return f"No unit {ref!r} among the units you can see; use its exact name or id."

    def _candidates(self, ref: str) -> list[Unit]:
        try:
            unit = self.session.get(Unit, uuid.UUID(ref))
        except ValueError:
            return list(self.session.scalars(select(Unit).where(Unit.name == ref)))
        return [unit] if unit else []
