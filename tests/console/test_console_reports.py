"""调度表 in the console: the report as printed, a figure's records, filing, the XLSX, scope."""

from __future__ import annotations

from datetime import date

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.models import ReportFiling, Role
from tests.backend.reports.support import District, at
from tests.console.conftest import sign_in
from tests.factories import auth_headers, make_unit, make_user

SEP = date(2023, 9, 10)
LICHENG = {"template": "licheng", "from": "2023-05-01", "to": "2023-09-26"}


@pytest.fixture
def district(session: Session) -> District:
    d = District.make(session, ["西天尾镇"], ["区应急局"])
    a = d.hazard("区应急局", SEP)
    d.hazard("区应急局", SEP)
    d.rectify(a, at(date(2023, 9, 20)))
    d.record("区应急局", "penalty", SEP, detail={"work_safety": False})
    session.commit()
    return d


def _q(district: District, **extra: str) -> dict[str, str]:
    return {**LICHENG, "unit": str(district.unit.id), **extra}


def test_the_report_reads_like_the_printed_form(client: FlaskClient, district: District) -> None:
    sign_in(client, district.admin)
    reply = client.get("/console/reports", query_string=_q(district))
    page = reply.get_data(as_text=True)
    assert reply.status_code == 200, page[:2000]
    assert "<h1>调度表</h1>" in page
    assert "荔城区专项行动进展情况调度表" in page
    assert '<th colspan="2" rowspan="2">一般隐患</th>' in page
    assert "累计" in page
    assert "西天尾镇" in page
    assert "区应急局" in page
    assert "一般隐患整改率：50.00%" in page
    assert "督办率：无（分母为 0）" in page  # 0/0 is none, never 100%
    assert "行政处罚" in page
    assert "未计入的记录（1）" in page
    assert "/console/reports/cell?" in page
    nav = page.split("<main>")[0]
    assert "调度表" in nav


def test_a_figure_links_to_its_records(client: FlaskClient, district: District) -> None:
    sign_in(client, district.admin)
    reply = client.get("/console/reports/cell", query_string=_q(district, column="general_found"))
    page = reply.get_data(as_text=True)
    assert reply.status_code == 200, page[:2000]
    assert "数据来源" in page
    assert page.count("/console/hazards/") == 2
    assert "计入 2 条" in page


def test_the_xlsx_is_the_apis_bytes(client: FlaskClient, district: District) -> None:
    api = client.get(
        "/api/v1/reports/dispatch",
        query_string={**_q(district), "format": "xlsx"},
        headers=auth_headers(client, district.admin),
    )
    sign_in(client, district.admin)
    mine = client.get("/console/reports/xlsx", query_string=_q(district))
    assert mine.status_code == 200
    assert mine.data == api.data
    assert mine.mimetype.endswith("spreadsheetml.sheet")


def test_another_units_report_is_404(
    client: FlaskClient, session: Session, district: District
) -> None:
    stranger = make_user(session, make_unit(session), Role.supervisor)
    session.commit()
    token = sign_in(client, stranger)
    assert client.get("/console/reports", query_string=_q(district)).status_code == 404
    assert (
        client.get(
            "/console/reports/cell", query_string=_q(district, column="general_found")
        ).status_code
        == 404
    )
    assert client.get("/console/reports/xlsx", query_string=_q(district)).status_code == 404
    filed = client.post(
        "/console/reports/filings",
        data={**_q(district), "preparer_id": str(stranger.id), "csrf_token": token},
    )
    assert filed.status_code == 404


def test_a_supervisor_files_and_files_again_with_a_reason(
    client: FlaskClient, session: Session, district: District
) -> None:
    place = district.places["区应急局"]
    q = {**LICHENG, "unit": str(place.unit.id)}
    token = sign_in(client, place.supervisor)
    without = client.post(
        "/console/reports/filings", data={**q, "preparer_id": str(place.inspector.id)}
    )
    assert without.status_code == 400  # no CSRF token
    first = client.post(
        "/console/reports/filings",
        data={**q, "preparer_id": str(place.inspector.id), "csrf_token": token},
    )
    assert first.status_code == 302, first.get_data(as_text=True)[:2000]
    page = client.get(first.headers["Location"]).get_data(as_text=True)
    assert "第 1 版" in page
    assert "迟报" in page
    again = client.post(
        "/console/reports/filings",
        data={**q, "preparer_id": str(place.inspector.id), "csrf_token": token},
    )
    assert again.status_code == 422
    assert "再次报送（更正）须填写理由" in again.get_data(as_text=True)
    second = client.post(
        "/console/reports/filings",
        data={**q, "preparer_id": str(place.inspector.id), "csrf_token": token, "reason": "补录"},
    )
    assert second.status_code == 302
    versions = session.scalars(
        select(ReportFiling.version).where(ReportFiling.unit_id == place.unit.id)
    ).all()
    assert sorted(versions) == [1, 2]


def test_an_inspector_cannot_file_and_the_parent_sees_who_has_not(
    client: FlaskClient, session: Session, district: District
) -> None:
    place = district.places["区应急局"]
    q = {**LICHENG, "unit": str(place.unit.id)}
    token = sign_in(client, place.inspector)
    refused = client.post(
        "/console/reports/filings",
        data={**q, "preparer_id": str(place.inspector.id), "csrf_token": token},
    )
    assert refused.status_code == 403
    assert "调度表由本单位的审核人" in refused.get_data(as_text=True)
    assert session.scalars(select(ReportFiling)).first() is None
    client.post("/console/logout", data={"csrf_token": token})
    sign_in(client, district.admin)
    page = client.get("/console/reports", query_string=_q(district)).get_data(as_text=True)
    assert "下级单位报送情况" in page
    assert page.count('badge warn">未报送') == 2
