"""Every record kind: created, listed, corrected and its history read, over HTTP."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.models import RecordVersion, Role
from backend.services.records.kinds import KINDS
from tests.backend.records.support import example, make_place, path_of
from tests.factories import make_unit, make_user


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_kind_is_created_listed_corrected_and_its_history_read(
    client: FlaskClient, session: Session, kind: str
) -> None:
    place = make_place(client, session)
    headers = place.headers()
    path = path_of(kind)

    created = client.post(path, headers=headers, json=example(kind, place.enterprise, place.town))
    assert created.status_code == 201, created.json
    record = created.json
    assert (record["kind"], record["version"], record["countable"]) == (kind, 1, True)
    assert record["kind_label"] == KINDS[kind].label
    assert record["campaign"] == "zx2023"
    assert record["unit_id"] == str(place.town.id)

    listed = client.get(path, headers=headers, query_string={"kind": kind})
    assert [r["id"] for r in listed.json["items"]] == [record["id"]]

    corrected = client.post(
        f"{path}/{record['id']}/corrections",
        headers=headers,
        json={"reason": "日期填错", "expected_version": 1, "occurred_on": "2023-07-11"},
    )
    assert corrected.status_code == 201, corrected.json
    assert (corrected.json["version"], corrected.json["occurred_on"]) == (2, "2023-07-11")
    assert corrected.json["detail"] == record["detail"]

    history = client.get(f"{path}/{record['id']}/history", headers=headers).json["versions"]
    assert [v["version"] for v in history] == [1, 2]
    assert history[0]["content"]["occurred_on"] == "2023-07-10"  # nothing overwritten
    assert [v["reason"] for v in history] == [None, "日期填错"]
    assert {v["author"]["username"] for v in history} == {place.inspector.username}
    assert all(v["created_at"] for v in history)


def test_a_supervisor_of_the_unit_sees_and_corrects_an_inspectors_record(
    client: FlaskClient, session: Session
) -> None:
    place = make_place(client, session)
    values = example("penalty", place.enterprise, place.town)
    record = client.post(path_of("penalty"), headers=place.headers(), json=values).json
    supervisor = place.headers(place.supervisor)
    seen = client.get(f"/api/v1/enforcement-actions/{record['id']}", headers=supervisor)
    assert seen.status_code == 200
    reply = client.post(
        f"/api/v1/enforcement-actions/{record['id']}/corrections",
        headers=supervisor,
        json={"reason": "金额核对", "expected_version": 1, "detail": {**values["detail"]}},
    )
    assert reply.status_code == 201
    history = client.get(
        f"/api/v1/enforcement-actions/{record['id']}/history", headers=supervisor
    ).json["versions"]
    assert history[1]["author"]["username"] == place.supervisor.username


def test_another_units_user_sees_nothing_and_another_inspector_may_not_correct(
    client: FlaskClient, session: Session
) -> None:
    place = make_place(client, session)
    record = client.post(
        path_of("training"),
        headers=place.headers(),
        json=example("training", place.enterprise, place.town),
    ).json
    stranger = make_user(session, make_unit(session))
    colleague = make_user(session, place.town)
    url = f"/api/v1/activities/{record['id']}"
    assert client.get(url, headers=place.headers(stranger)).status_code == 404
    assert client.get("/api/v1/activities", headers=place.headers(stranger)).json["items"] == []
    reply = client.post(
        f"{url}/corrections",
        headers=place.headers(colleague),
        json={"reason": "x", "expected_version": 1},
    )
    assert (reply.status_code, reply.json["code"]) == (403, "record.forbidden")


def test_an_admin_above_sees_the_towns_records(client: FlaskClient, session: Session) -> None:
    place = make_place(client, session)
    client.post(
        path_of("briefing"),
        headers=place.headers(),
        json=example("briefing", place.enterprise, place.town),
    )
    admin = make_user(session, place.district, Role.admin)
    listed = client.get("/api/v1/activities", headers=place.headers(admin)).json["items"]
    assert [r["kind"] for r in listed] == ["briefing"]


def test_a_correction_on_a_stale_version_is_409_and_adds_nothing(
    client: FlaskClient, session: Session
) -> None:
    place = make_place(client, session)
    record = client.post(
        path_of("seizure"),
        headers=place.headers(),
        json=example("seizure", place.enterprise, place.town),
    ).json
    url = f"/api/v1/enforcement-actions/{record['id']}/corrections"
    ok = client.post(url, headers=place.headers(), json={"reason": "a", "expected_version": 1})
    assert ok.status_code == 201
    stale = client.post(url, headers=place.headers(), json={"reason": "b", "expected_version": 1})
    assert (stale.status_code, stale.json["code"]) == (409, "record.stale_version")
    count = session.scalar(select(func.count()).select_from(RecordVersion))
    assert count == 2


def test_a_correction_needs_a_reason(client: FlaskClient, session: Session) -> None:
    place = make_place(client, session)
    record = client.post(
        path_of("closure"),
        headers=place.headers(),
        json=example("closure", place.enterprise, place.town),
    ).json
    reply = client.post(
        f"/api/v1/enforcement-actions/{record['id']}/corrections",
        headers=place.headers(),
        json={"expected_version": 1},
    )
    assert reply.status_code == 422
    assert "reason" in reply.json["errors"]["json"]


def test_list_filters_by_date_and_countable(client: FlaskClient, session: Session) -> None:
    place = make_place(client, session)
    for day, photos in (("2023-06-01", []), ("2023-08-01", None)):
        values = example("supervision_visit", place.enterprise, place.town, occurred_on=day)
        if photos is not None:
            values["photos"] = photos
        client.post("/api/v1/activities", headers=place.headers(), json=values)
    headers = place.headers()
    june = client.get(
        "/api/v1/activities", headers=headers, query_string={"occurred_to": "2023-06-30"}
    ).json["items"]
    assert [r["occurred_on"] for r in june] == ["2023-06-01"]
    counted = client.get(
        "/api/v1/activities", headers=headers, query_string={"countable": "true"}
    ).json["items"]
    assert [r["occurred_on"] for r in counted] == ["2023-08-01"]


def test_the_enterprise_as_it_was_is_kept_with_the_version(
    client: FlaskClient, session: Session
) -> None:
    place = make_place(client, session)
    values = example("public_pressure", place.enterprise, place.town)
    record = client.post(path_of("public_pressure"), headers=place.headers(), json=values).json
    assert record["facts"] == {
        "entity_type": "enterprise",
        "key_enterprise": True,
        "town_id": str(place.town.id),
    }


def test_every_kind_is_in_the_openapi_document(client: FlaskClient) -> None:
    spec = client.get("/api/openapi.json").json
    schemas = spec["components"]["schemas"]
    for kind in KINDS:
        assert f"RecordDetail_{kind}" in schemas
    for path in ("/api/v1/enforcement-actions", "/api/v1/activities"):
        assert {"get", "post"} <= set(spec["paths"][path])
        assert "post" in spec["paths"][path + "/{record_id}/corrections"]
        assert "get" in spec["paths"][path + "/{record_id}/history"]


def test_each_family_lists_its_kinds_with_labels_and_evidence(
    client: FlaskClient, session: Session
) -> None:
    place = make_place(client, session)
    kinds = client.get("/api/v1/activities/kinds", headers=place.headers()).json
    visit = next(k for k in kinds if k["code"] == "supervision_visit")
    assert (visit["label"], visit["evidence"]) == ("督导检查", ["plan", "photos"])
    assert visit["detail_schema"] == "RecordDetail_supervision_visit"
    enforcement = client.get("/api/v1/enforcement-actions/kinds", headers=place.headers()).json
    assert len(kinds) + len(enforcement) == len(KINDS)
