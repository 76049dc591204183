"""Reading a hand-filled 调度表: seed 000's pasted-table text, tab-separated exports in every
encoding Excel and WPS save, XLSX; and refusing what is not a table, with the reason."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from openpyxl import Workbook

from reports.check import reading
from reports.check.reading import TooLarge, UnreadableTable

SEED = Path(__file__).resolve().parents[2] / "../shared/seeds/000_f621e6b55e58377e.txt"
SEED_BYTES = SEED.read_bytes()


def seed_sheet() -> reading.Sheet:
    (sheet,) = reading.read(SEED.name, SEED_BYTES).sheets
    return sheet


def test_seed_text_reads_as_a_pasted_table_leaving_out_the_notice_around_it() -> None:
    sheet = seed_sheet()
    assert sheet.layout == "cell_per_line"
    assert [len(row) for row in sheet.rows[:4]] == [6, 22, 28, 29]  # merged headings collapse
    assert [row[0].text for row in sheet.rows[4:6]] == ["累计", "西天尾镇"]
    assert len(sheet.rows) == 4 + 1 + 27
    assert {len(row) for row in sheet.rows[4:]} == {29}
    assert sheet.rows[-1][0].text == "区鞋服城"


def test_a_cell_typed_over_several_lines_is_one_cell_and_its_line_is_where_it_starts() -> None:
    lines = SEED_BYTES.decode().split("\n")
    police = next(row for row in seed_sheet().rows if row[0].text == "区公安分局")
    assert police[0].value == "区公安\n\n分局"
    number = int(police[0].where.removeprefix("line "))
    assert lines[number - 1] == "\t区公安"
    first_figure = int(police[1].where.removeprefix("line "))
    assert lines[first_figure - 1] == "\t106"


def test_gb18030_text_reads_the_same_as_utf8() -> None:
    gb = reading.read("gb.txt", SEED_BYTES.decode().encode("gb18030")).sheets[0]
    assert [[c.value for c in row] for row in gb.rows] == [
        [c.value for c in row] for row in seed_sheet().rows
    ]


def test_utf8_with_bom_reads_the_same_as_without() -> None:
    bom = reading.read("bom.txt", b"\xef\xbb\xbf" + SEED_BYTES).sheets[0]
    assert [[c.value for c in row] for row in bom.rows] == [
        [c.value for c in row] for row in seed_sheet().rows
    ]


def test_a_row_per_line_export_in_utf16_with_a_quoted_line_break() -> None:
    text = '地区/部门\t"行政\n处罚"\t罚款金额\r\n累计\t3\t1.5\r\n北高镇\t3\t1.5\r\n'
    (sheet,) = reading.read("export.txt", b"\xff\xfe" + text.encode("utf-16-le")).sheets
    assert sheet.layout == "tsv"
    assert [[c.text for c in row] for row in sheet.rows] == [
        ["地区/部门", "行政处罚", "罚款金额"],
        ["累计", "3", "1.5"],
        ["北高镇", "3", "1.5"],
    ]
    # The quoted break makes the heading two lines.
    assert sheet.rows[2][1].where == "line 4, column B"


def test_xlsx_cells_carry_their_addresses_and_numbers() -> None:
    book = Workbook()
    sheet = book.active
    sheet.title = "调度表"
    sheet.append(["地区/部门", "行政处罚", None])
    sheet.merge_cells("B1:C1")
    sheet.append([None, "次数", "罚款金额"])
    sheet.append(["累计", 12, 2.7])
    (read,) = reading.read("t.xlsx", _save(book)).sheets
    assert read.name == "调度表"
    assert [[c.value for c in row] for row in read.rows] == [
        ["地区/部门", "行政处罚"],  # a merged range's other cells are empty; trailing ones go
        [None, "次数", "罚款金额"],
        ["累计", 12, 2.7],
    ]
    assert read.rows[2][2].where == "C3"


def test_rows_past_the_bound_are_not_read_and_the_sheet_says_so() -> None:
    text = "".join(f"行{n}\t{n}\n" for n in range(reading.MAX_ROWS + 5))
    (sheet,) = reading.read("long.txt", text.encode()).sheets
    assert sheet.truncated
    assert len(sheet.rows) == reading.MAX_ROWS


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "is empty"),
        (b"   \n\n", "is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "neither an .xlsx workbook nor text"),
        ("只是一段通知，没有表格。\n第二行".encode(), "no tab-separated table"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old Excel .xls"),
        (b"PK\x03\x04 not really a zip", "not a readable .xlsx"),
        (b'"unclosed\tquote\n' * 3 + b'a\t"b"c\x00', "neither an .xlsx"),
    ],
)
def test_what_is_not_a_table_is_refused_with_the_reason(data: bytes, reason: str) -> None:
    with pytest.raises(UnreadableTable, match=reason):
        reading.read("upload", data)


def test_a_zip_that_is_not_a_workbook_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    with pytest.raises(UnreadableTable, match=r"not a readable \.xlsx workbook"):
        reading.read("report.xlsx", buffer.getvalue())


def test_a_file_beyond_any_form_is_refused_before_it_is_read() -> None:
    with pytest.raises(TooLarge, match="far smaller"):
        reading.read("huge.txt", b"\t0\n" * (reading.MAX_FILE_BYTES // 3 + 1))


def test_a_zip_bomb_is_refused_by_its_declared_sizes() -> None:
    with pytest.raises(TooLarge, match="unpacks to"):
        reading.read("bomb.xlsx", _zip_declaring(reading.MAX_UNPACKED_BYTES + 1))


def test_a_row_wider_than_any_form_is_refused() -> None:
    text = "\t".join(["0"] * (reading.MAX_COLUMNS + 1)) + "\n"
    with pytest.raises(TooLarge, match="columns"):
        reading.read("wide.txt", text.encode())


def test_a_cell_longer_than_any_heading_is_refused() -> None:
    text = "地区\t" + "字" * (reading.MAX_CELL_CHARS + 1) + "\n"
    with pytest.raises(TooLarge, match="characters"):
        reading.read("long-cell.txt", text.encode())


def _save(book: Workbook) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _zip_declaring(declared: int) -> bytes:
    """A one-member zip whose headers declare `declared` bytes unpacked (of zeros)."""
    size = declared
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = b"".join(compressor.compress(b"\x00" * 65536) for _ in range(size // 65536))
    body += compressor.compress(b"\x00" * (size % 65536)) + compressor.flush()
    crc = zlib.crc32(b"\x00" * min(size, 0))  # wrong on purpose unless empty: never inflated
    name = b"xl/worksheets/sheet1.xml"
    local = struct.pack(
        "<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(body), declared, len(name), 0
    )
    central = struct.pack(
        "<4sHHHHHHIIIHHHHHII",
        b"PK\x01\x02",
        20,
        20,
        0,
        8,
        0,
        0,
        crc,
        len(body),
        declared,
        len(name),
        0,
        0,
        0,
        0,
        0,
        0,
    )
    end = struct.pack(
        "<4sHHHHIIH",
        b"PK\x05\x06",
        0,
        0,
        1,
        1,
        len(central) + len(name),
        len(local) + len(name) + len(body),
        0,
    )
    return local + name + body + central + name + end


def test_a_workbook_whose_sheet_expands_entities_is_refused() -> None:
    book = Workbook()
    book.active["A1"] = "x"
    original = zipfile.ZipFile(io.BytesIO(_save(book)))
    entities = "".join(
        f'<!ENTITY lol{n} "{("&lol%s;" % (n - 1 if n > 1 else "")) * 10}">' for n in range(1, 10)
    )
    sheet = (
        f'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lololololol">{entities}]>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>'
        "</sheetData></worksheet>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member in original.infolist():
            data = original.read(member.filename)
            if member.filename == "xl/worksheets/sheet1.xml":
                data = sheet.encode()
            archive.writestr(member.filename, data)
    with pytest.raises(UnreadableTable, match="amplification"):
        reading.read("lol.xlsx", buffer.getvalue())
