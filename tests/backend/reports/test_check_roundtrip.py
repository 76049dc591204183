"""The checker agrees with the reports: a 调度表 exported from the records (format=xlsx) and sent
back to POST /api/v1/reports/dispatch/check is consistent; the same workbook with one figure
typed over by hand is not, at that cell."""

from __future__ import annotations

import io

import openpyxl
import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.backend.reports.test_acceptance import Scenario, build
from tests.factories import auth_headers

QUERIES = {
    "licheng": {"template": "licheng", "from": "2023-05-01", "to": "2023-09-26"},
    "quanzhou": {"template": "quanzhou", "month": "2023-09"},
}


@pytest.fixture
def scenario(session: Session) -> Scenario:
    return build(session)


def export(client: FlaskClient, scenario: Scenario, template: str) -> bytes:
    reply = client.get(
        "/api/v1/reports/dispatch",
        query_string={**QUERIES[template], "format": "xlsx"},
        headers=auth_headers(client, scenario.district.admin),
    )
    assert reply.status_code == 200, reply.data[:300]
    return reply.data


def check(client: FlaskClient, scenario: Scenario, body: bytes, template: str) -> dict[str, object]:
    reply = client.post(
        f"/api/v1/reports/dispatch/check?template={template}",
        data=body,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers=auth_headers(client, scenario.district.admin),
    )
    assert reply.status_code == 200, reply.json
    return dict(reply.json)


@pytest.mark.parametrize("template", ["licheng", "quanzhou"])
def test_a_workbook_exported_from_the_records_is_consistent(
    client: FlaskClient, scenario: Scenario, template: str
) -> None:
    result = check(client, scenario, export(client, scenario, template), template)
    assert result["inconsistencies"] == []
    assert result["rows"] == len(scenario.district.places) + 1  # and the total row


def test_the_exported_licheng_workbook_typed_over_is_found_at_that_cell(
    client: FlaskClient, scenario: Scenario
) -> None:
    book = openpyxl.load_workbook(io.BytesIO(export(client, scenario, "licheng")))
    sheet = book.active
    assert sheet["A7"].value == "累计"
    sheet["B7"] = sheet["B7"].value + 1  # 累计 一般隐患 排查
    buffer = io.BytesIO()
    book.save(buffer)
    result = check(client, scenario, buffer.getvalue(), "licheng")
    found = [(i["rule"], i["cell"]) for i in result["inconsistencies"]]  # type: ignore[attr-defined]
    assert found == [("total", "B7")]
