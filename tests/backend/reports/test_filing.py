"""Filing a 调度表: the frozen copy with the record versions behind each cell and its SHA-256,
填表人 and 审核人, on time or 迟报; filing again is a restatement with its reason and the
differences; a parent sees which children have not filed; warnings before filing."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import date

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from backend.models import ReportFiling
from tests.backend.reports.support import District, at, clock
from tests.factories import auth_headers

SEP = date(2023, 9, 10)
HAICHENG = {"template": "haicheng", "month": "2023-09"}


@pytest.fixture
def district(session: Session) -> District:
    d = District.make(session, ["西天尾镇"], ["区应急局"])
    d.hazard("区应急局", SEP, level="major")
    d.record("区应急局", "penalty", SEP)
    d.record("区应急局", "supervision_visit", SEP, evidence=False)
    return d


def file(client: FlaskClient, district: District, moment: object, **body: object) -> object:
    place = district.places["区应急局"]
    headers = auth_headers(client, place.supervisor)
    with clock(moment):  # type: ignore[arg-type]
        return client.post(
            "/api/v1/reports/filings",
            json={**HAICHENG, "preparer_id": str(place.inspector.id), **body},
            headers=headers,
        )


def test_a_filing_is_frozen_with_the_versions_behind_each_cell_and_its_hash(
    client: FlaskClient, district: District, session: Session
) -> None:
    reply = file(client, district, at(date(2023, 9, 25), 9))
    assert reply.status_code == 201, reply.json  # type: ignore[attr-defined]
    body = reply.json  # type: ignore[attr-defined]
    assert (body["version"], body["on_time"], body["status"]) == (1, True, "按时")
    place = district.places["区应急局"]
    assert (body["preparer_id"], body["reviewer_id"]) == (
        str(place.inspector.id),
        str(place.supervisor.id),
    )
    stored = session.get_one(ReportFiling, uuid.UUID(body["id"]))
    canonical = json.dumps(
        {"figures": stored.figures, "cells": stored.cells},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    assert stored.sha256 == body["sha256"] == hashlib.sha256(canonical.encode()).hexdigest()
    [(kind, _record_id, version)] = stored.cells[str(place.unit.id)]["penalties"]
    assert (kind, version) == ("record", 1)
    assert stored.figures["total"]["major_dept_found"] == 1
    assert [w["code"] for w in stored.figures["warnings"]] == ["evidence"]  # no 方案, no photos


def test_the_database_refuses_to_change_or_remove_a_filing(
    client: FlaskClient, district: District, session: Session
) -> None:
    """What a unit reported upward is never changed in place: a restatement is a new version."""
    reply = file(client, district, at(date(2023, 9, 25), 9))
    assert reply.status_code == 201, reply.json  # type: ignore[attr-defined]
    with pytest.raises(DatabaseError, match="append-only"), session.begin_nested():
        session.execute(text("UPDATE report_filings SET reason = 'edited'"))
    with pytest.raises(DatabaseError, match="append-only"), session.begin_nested():
        session.execute(text("DELETE FROM report_filings"))
    assert session.get_one(ReportFiling, uuid.UUID(reply.json["id"])).reason is None  # type: ignore[attr-defined]


def test_warnings_before_filing_name_units_with_no_hazard_and_unconfirmed_majors(
    client: FlaskClient, district: District
) -> None:
    district.hazard("区应急局", SEP, level="major", without_clause=True)
    reply = client.get(
        "/api/v1/reports/dispatch",
        query_string=HAICHENG,
        headers=auth_headers(client, district.admin),
    )
    warnings = {w["code"]: w for w in reply.json["warnings"]}
    assert warnings["zero_hazards"]["items"] == ["西天尾镇"]
    assert len(warnings["major.no_clause"]["items"]) == 1
    assert len(warnings["evidence"]["items"]) == 1


def test_filing_after_the_due_day_is_late(client: FlaskClient, district: District) -> None:
    reply = file(client, district, at(date(2023, 9, 26), 9))
    assert (reply.json["on_time"], reply.json["status"]) == (False, "迟报")  # type: ignore[attr-defined]


def test_filing_again_is_a_restatement_with_its_reason_and_the_differences(
    client: FlaskClient, district: District
) -> None:
    file(client, district, at(date(2023, 9, 25), 9))
    refused = file(client, district, at(date(2023, 9, 25), 10))
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert refused.json["code"] == "report.reason_required"  # type: ignore[attr-defined]
    district.record("区应急局", "penalty", date(2023, 9, 11), entered=at(date(2023, 9, 25), 9))
    again = file(client, district, at(date(2023, 9, 25), 11), reason="补录一起行政处罚")
    assert again.status_code == 201, again.json  # type: ignore[attr-defined]
    body = again.json  # type: ignore[attr-defined]
    assert (body["version"], body["reason"]) == (2, "补录一起行政处罚")
    changed = {(d["row"], d["column"]): (d["before"], d["after"]) for d in body["differences"]}
    assert changed[("区应急局", "penalties")] == (1, 2)
    assert changed[(None, "penalties")] == (1, 2)


def test_a_parent_sees_which_children_have_not_filed(
    client: FlaskClient, district: District
) -> None:
    file(client, district, at(date(2023, 9, 25), 9))
    reply = client.get(
        "/api/v1/reports/filings",
        query_string=HAICHENG,
        headers=auth_headers(client, district.admin),
    )
    assert reply.status_code == 200
    assert reply.json["missing"] == ["西天尾镇"]
    filed = {c["name"]: c["filed"] for c in reply.json["children"]}
    assert filed == {"西天尾镇": False, "区应急局": True}


def test_only_a_supervisor_of_the_unit_files_and_the_preparer_is_of_the_unit(
    client: FlaskClient, district: District
) -> None:
    place = district.places["区应急局"]
    town = district.places["西天尾镇"]
    as_inspector = client.post(
        "/api/v1/reports/filings",
        json={**HAICHENG, "preparer_id": str(place.inspector.id)},
        headers=auth_headers(client, place.inspector),
    )
    assert (as_inspector.status_code, as_inspector.json["code"]) == (403, "report.forbidden")
    stranger = file(client, district, at(date(2023, 9, 25)), preparer_id=str(town.inspector.id))
    assert stranger.json["code"] == "report.preparer_invalid"  # type: ignore[attr-defined]
    other = client.post(
        "/api/v1/reports/filings",
        json={**HAICHENG, "unit": str(place.unit.id), "preparer_id": str(town.inspector.id)},
        headers=auth_headers(client, town.supervisor),
    )
    assert other.status_code == 404
