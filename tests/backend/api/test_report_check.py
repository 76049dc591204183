"""POST /api/v1/reports/dispatch/check: a hand-filled 调度表 in, its inconsistencies out; a file
that is no table, too large, or another form is a 4xx with the reason, never a 500."""

from __future__ import annotations

import io
import zipfile

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from backend.models import Role
from reports.check import reading
from tests.factories import auth_headers, make_unit, make_user
from tests.reports.check_support import (
    consistent_figures,
    form_grid,
    seed_bytes,
    seed_figures,
    to_tsv,
    to_xlsx,
)

URL = "/api/v1/reports/dispatch/check"
XLSX = reading.XLSX_CONTENT_TYPE
TSV = "text/tab-separated-values"


@pytest.fixture
def supervisor(client: FlaskClient, session: Session) -> dict[str, str]:
    user = make_user(session, make_unit(session), Role.supervisor)
    session.commit()
    return auth_headers(client, user)


def post(
    client: FlaskClient, headers: dict[str, str], data: bytes, content_type: str, query: str = ""
) -> TestResponse:
    return client.post(URL + query, data=data, content_type=content_type, headers=headers)


def test_seed_000_text_lists_its_inconsistencies_with_cell_and_arithmetic(
    client: FlaskClient, supervisor: dict[str, str]
) -> None:
    reply = post(client, supervisor, seed_bytes(), "text/plain; charset=utf-8")
    assert reply.status_code == 200, reply.json
    body = reply.json
    assert (body["template"], body["rows"], body["consistent"]) == ("licheng", 28, False)
    found = [(i["rule"], i["cell"], i["row"], i["column"]) for i in body["inconsistencies"]]
    assert found == [
        ("total", "line 153", "累计", "assisted_towns"),
        ("at_most", "line 790", "区文旅局", "major_supervised_found"),
    ]
    assert body["inconsistencies"][0]["message"].startswith("366 ≠ 386 = 0 + 0 + ")
    assert body["inconsistencies"][1]["line"].startswith(
        "line 790: 区文旅局 重大隐患/部门挂牌督办/排查: 1 >"
    )


def test_a_consistent_workbook_is_consistent(
    client: FlaskClient, supervisor: dict[str, str]
) -> None:
    reply = post(client, supervisor, to_xlsx(consistent_figures()), XLSX, "?template=licheng")
    assert reply.status_code == 200, reply.json
    assert (reply.json["consistent"], reply.json["inconsistencies"]) == (True, [])
    assert reply.json["sheet"] == "附件1"


def test_a_gb18030_export_gives_cells_by_line_and_column(
    client: FlaskClient, supervisor: dict[str, str]
) -> None:
    data = to_tsv(form_grid(seed_figures())).encode("gb18030")
    reply = post(client, supervisor, data, TSV)
    assert [i["cell"] for i in reply.json["inconsistencies"]] == [
        "line 7, column K",
        "line 28, column H",
    ]


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"", 422, "report_check.unreadable"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 422, "report_check.unreadable"),
        ("这不是表格".encode(), 422, "report_check.unreadable"),
        ("单位\t检查企业\n合计\t1\n".encode(), 422, "report_check.wrong_template"),
        (b"PK\x03\x04garbage", 422, "report_check.unreadable"),
    ],
)
def test_what_is_not_a_filled_form_is_a_4xx_with_the_reason(
    client: FlaskClient, supervisor: dict[str, str], data: bytes, status: int, code: str
) -> None:
    reply = post(client, supervisor, data, "application/octet-stream")
    assert (reply.status_code, reply.json["code"]) == (status, code)
    assert reply.json["message"]


def test_a_zip_bomb_is_refused_before_it_is_inflated(
    client: FlaskClient, supervisor: dict[str, str]
) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\x00" * (reading.MAX_UNPACKED_BYTES + 1))
    assert len(buffer.getvalue()) < reading.MAX_FILE_BYTES
    reply = post(client, supervisor, buffer.getvalue(), XLSX)
    assert (reply.status_code, reply.json["code"]) == (413, "report_check.too_large")
    assert "unpacks to" in reply.json["message"]


def test_a_huge_upload_is_refused_by_its_length(
    client: FlaskClient, supervisor: dict[str, str]
) -> None:
    reply = post(client, supervisor, b"\t0\n" * (reading.MAX_FILE_BYTES // 3 + 1), TSV)
    assert (reply.status_code, reply.json["code"]) == (413, "report_check.too_large")


def test_an_unknown_template_is_refused_naming_the_parameter(
    client: FlaskClient, supervisor: dict[str, str]
) -> None:
    reply = post(client, supervisor, seed_bytes(), TSV, "?template=nosuch")
    assert (reply.status_code, reply.json["code"]) == (422, "validation.invalid")
    assert "template" in reply.json["errors"]["query"]


def test_inspectors_may_not_check_a_table(client: FlaskClient, session: Session) -> None:
    inspector = make_user(session, make_unit(session), Role.inspector)
    session.commit()
    reply = post(client, auth_headers(client, inspector), seed_bytes(), TSV)
    assert (reply.status_code, reply.json["code"]) == (403, "auth.forbidden")
