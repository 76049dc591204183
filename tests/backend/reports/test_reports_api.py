"""GET /api/v1/reports/dispatch and /dispatch/cell: the figures, who may see them, the records
behind one figure."""

from __future__ import annotations

from datetime import date

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from backend.models import Role
from tests.backend.reports.support import District, at
from tests.factories import auth_headers, make_user

SEP = date(2023, 9, 10)
LICHENG = {"template": "licheng", "from": "2023-05-01", "to": "2023-09-26"}


@pytest.fixture
def district(session: Session) -> District:
    d = District.make(session, ["西天尾镇"], ["区应急局"])
    a = d.hazard("区应急局", SEP)
    d.hazard("区应急局", SEP)
    d.rectify(a, at(date(2023, 9, 20)))
    d.hazard("西天尾镇", SEP, level="major")
    d.record("区应急局", "penalty", SEP)
    d.record("区应急局", "penalty", SEP, detail={"work_safety": False})
    return d


def test_a_district_admin_gets_a_row_per_sub_unit_and_the_total(
    client: FlaskClient, district: District
) -> None:
    reply = client.get(
        "/api/v1/reports/dispatch",
        query_string=LICHENG,
        headers=auth_headers(client, district.admin),
    )
    assert reply.status_code == 200, reply.json
    body = reply.json
    assert [r["name"] for r in body["rows"]] == ["西天尾镇", "区应急局"]
    emergency = body["rows"][1]["values"]
    assert (emergency["general_found"], emergency["general_rectified"]) == (2, 1)
    assert body["rows"][0]["values"]["assisted_towns"] is None  # towns do not report it
    assert body["total"]["general_found"] == 2
    assert body["total"]["major_dept_found"] == 1
    assert body["total"]["penalty_amount"] == "2"
    assert body["total_label"] == "累计"
    rates = {r["key"]: r["value"] for r in body["rates"]}
    assert rates["general_rectification_rate"] == "50.00"
    assert rates["supervision_rate"] == "0.00"
    assert [c["heading"] for c in body["columns"][:2]] == [
        ["一般隐患", "排查"],
        ["一般隐患", "已整改"],
    ]
    assert {(e["type"], e["reason"]) for e in body["excluded"]} == {
        ("record", "penalty.not_work_safety")
    }
    assert body["period"]["due"] == "2023-09-27"


def test_the_cell_lists_exactly_the_records_behind_the_figure(
    client: FlaskClient, district: District
) -> None:
    headers = auth_headers(client, district.admin)
    emergency = district.places["区应急局"].unit.id
    reply = client.get(
        "/api/v1/reports/dispatch/cell",
        query_string={**LICHENG, "column": "general_rectified", "row": str(emergency)},
        headers=headers,
    )
    assert reply.status_code == 200, reply.json
    body = reply.json
    assert body["value"] == 1
    assert len(body["items"]) == body["value"]
    [entry] = body["items"]
    assert entry["type"] == "hazard"
    assert entry["evidence"]["state"] == "rectified"
    assert body["evidence"]["summary"] == "0 of 1 with complete evidence"  # no photos
    fines = client.get(
        "/api/v1/reports/dispatch/cell",
        query_string={**LICHENG, "column": "penalties"},
        headers=headers,
    ).json
    assert fines["value"] == len(fines["items"]) == 1
    assert [e["reason"] for e in fines["excluded"]] == ["penalty.not_work_safety"]


def test_another_units_report_is_missing_and_an_admin_sees_the_units_below(
    client: FlaskClient, district: District, session: Session
) -> None:
    town = district.places["西天尾镇"]
    emergency = district.places["区应急局"].unit
    mine = client.get(
        "/api/v1/reports/dispatch",
        query_string={**LICHENG, "unit": str(town.unit.id)},
        headers=auth_headers(client, town.supervisor),
    )
    assert mine.status_code == 200
    assert [r["name"] for r in mine.json["rows"]] == ["西天尾镇"]
    other = client.get(
        "/api/v1/reports/dispatch",
        query_string={**LICHENG, "unit": str(emergency.id)},
        headers=auth_headers(client, town.supervisor),
    )
    assert (other.status_code, other.json["code"]) == (404, "not_found")
    above = client.get(
        "/api/v1/reports/dispatch",
        query_string={**LICHENG, "unit": str(district.unit.id)},
        headers=auth_headers(client, town.inspector),
    )
    assert above.status_code == 404
    town_admin = make_user(session, town.unit, Role.admin)
    assert (
        client.get(
            "/api/v1/reports/dispatch",
            query_string={**LICHENG, "unit": str(emergency.id)},
            headers=auth_headers(client, town_admin),
        ).status_code
        == 404
    )


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ({"template": "licheng"}, 422, "report.period_invalid"),
        ({"template": "fuzhou"}, 422, "report.period_invalid"),
        ({**LICHENG, "to": "2023-04-01"}, 422, "report.period_invalid"),
        ({"template": "haicheng", "month": "2099-11"}, 422, "report.period_invalid"),
        ({"template": "nowhere", "month": "2023-09"}, 422, "validation.invalid"),
        ({"template": "fuzhou", "month": "2023-13"}, 422, "validation.invalid"),
    ],
)
def test_a_bad_query_is_refused_with_what_to_give(
    client: FlaskClient, district: District, query: dict[str, str], status: int, code: str
) -> None:
    reply = client.get(
        "/api/v1/reports/dispatch", query_string=query, headers=auth_headers(client, district.admin)
    )
    assert (reply.status_code, reply.json["code"]) == (status, code)
    assert reply.json["message"]


def test_an_unknown_column_or_row_is_refused(client: FlaskClient, district: District) -> None:
    headers = auth_headers(client, district.admin)
    reply = client.get(
        "/api/v1/reports/dispatch/cell", query_string={**LICHENG, "column": "x"}, headers=headers
    )
    assert (reply.status_code, reply.json["code"]) == (422, "report.column_unknown")
    reply = client.get(
        "/api/v1/reports/dispatch/cell",
        query_string={**LICHENG, "column": "penalties", "row": str(district.admin.id)},
        headers=headers,
    )
    assert (reply.status_code, reply.json["code"]) == (422, "report.row_unknown")
