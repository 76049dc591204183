"""The 调度表 as XLSX: laid out like the printed form (printed headings in printed order, merged
cells where the form has them, units row, title and date lines, 填表人/审核人), opened with
openpyxl; byte-identical for the same data; `anjian reports export` writes the same bytes."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from backend.cli import main
from backend.services import reports
from tests.backend.reports.support import District, at
from tests.factories import auth_headers

SEP = date(2023, 9, 10)
LICHENG = {"template": "licheng", "from": "2023-05-01", "to": "2023-09-26", "format": "xlsx"}


@pytest.fixture
def district(session: Session) -> District:
    d = District.make(session, ["西天尾镇"], ["区应急局"])
    h = d.hazard("区应急局", SEP)
    d.rectify(h, at(date(2023, 9, 12)))
    d.record("区应急局", "penalty", SEP)
    return d


def download(client: FlaskClient, district: District, query: dict[str, str]) -> bytes:
    reply = client.get(
        "/api/v1/reports/dispatch", query_string=query, headers=auth_headers(client, district.admin)
    )
    assert reply.status_code == 200, reply.data[:300]
    assert reply.mimetype.endswith("spreadsheetml.sheet")
    return reply.data


def test_the_licheng_workbook_has_the_printed_headings_merged_as_printed(
    client: FlaskClient, district: District
) -> None:
    body = download(client, district, LICHENG)
    sheet = openpyxl.load_workbook(io.BytesIO(body)).active
    assert sheet["A1"].value == "荔城区专项行动进展情况调度表"
    assert sheet["A2"].value == "（数据统计区间：2023年5月1日-2023年9月26日）"
    t = reports.template("licheng")
    merged = {str(r) for r in sheet.merged_cells.ranges}
    for r in range(3):
        printed = [c.text for c in t.header_cells(r) if not c.continued]
        row = [sheet.cell(3 + r, col).value for col in range(2, 30)]
        assert [v for v in row if v is not None] == printed, f"header row {r + 1}"
    assert sheet["A3"].value == "地区/部门"
    assert "A3:A5" in merged
    assert "B3:C4" in merged  # 一般隐患 over 排查/已整改, down through row 2
    assert "D3:I3" in merged  # 重大隐患 over six columns
    assert "J4:J5" in merged  # 抽查检查企业数 down through row 3
    assert "M4:N4" in merged  # 行政处罚 over 次数 and 罚款金额
    assert "Z4:AA5" in merged  # 专题培训 over 场次 and 人次
    assert [sheet.cell(6, c).value for c in range(2, 30)] == [col.unit for col in t.columns]
    assert sheet["A7"].value == "累计"
    assert (sheet["B7"].value, sheet["C7"].value, sheet["N7"].value) == (1, 1, 2)
    names = [sheet.cell(r, 1).value for r in range(8, 10)]
    assert names == ["西天尾镇", "区应急局"]
    assert sheet.cell(10, 1).value.startswith("填表人")
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.print_title_rows == "$3:$6"


def test_the_same_data_gives_the_same_bytes(client: FlaskClient, district: District) -> None:
    assert download(client, district, LICHENG) == download(client, district, LICHENG)


def test_a_form_template_prints_its_blocks_and_numbered_items(
    client: FlaskClient, district: District
) -> None:
    body = download(client, district, {"template": "fuzhou", "month": "2023-09", "format": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(body)).active
    t = reports.template("fuzhou")
    labels = []
    for row in sheet.iter_rows(min_row=1, values_only=True):
        labels += [row[2], row[5]] if len(row) > 5 else []
    printed = list(dict.fromkeys(c.label for c in t.columns))
    assert [x for x in labels if x in printed] == printed
    values = {row[2]: row[3] for row in sheet.iter_rows(values_only=True) if row[2]}
    assert values["行政处罚（次，万元）"] == "1次，2万元"
    blocks = {str(r) for r in sheet.merged_cells.ranges if str(r).startswith("A")}
    assert sheet["A4"].value == "总体情况"
    assert "A4:A6" in blocks  # six items, two a line


def test_the_command_writes_the_same_workbook(
    app: Flask, client: FlaskClient, district: District, tmp_path: Path
) -> None:
    out = tmp_path / "licheng.xlsx"
    result = app.test_cli_runner().invoke(
        main,
        args=[
            "reports",
            "export",
            "--template",
            "licheng",
            "--unit",
            str(district.unit.id),
            "--from",
            "2023-05-01",
            "--to",
            "2023-09-26",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == download(client, district, LICHENG)
    bad = app.test_cli_runner().invoke(
        main, args=["reports", "export", "--template", "licheng", "--unit", str(district.unit.id)]
    )
    assert bad.exit_code == 1
    assert "from and to" in bad.output
