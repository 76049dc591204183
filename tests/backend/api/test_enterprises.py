"""Enterprises: scoped to units, validated, paginated, audited."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.models import AuditEntry, Enterprise, Role
from tests.factories import auth_headers, credit_code, make_enterprise, make_unit, make_user


def test_an_inspector_registers_an_enterprise_in_their_unit(
    client: FlaskClient, session: Session
) -> None:
    unit = make_unit(session)
    inspector = make_user(session, unit)
    reply = client.post(
        "/api/v1/enterprises",
        headers=auth_headers(client, inspector),
        json={
            "name": "城关燃气有限公司",
            "sector": "gas",
            "credit_code": credit_code(1),
            "address": "解放路12号",
        },
    )
    assert reply.status_code == 201
    assert reply.json["unit_id"] == str(unit.id)
    assert reply.json["version"] == 1
    audit = session.scalars(select(AuditEntry).where(AuditEntry.entity_id == reply.json["id"]))
    assert [a.action for a in audit] == ["enterprise.create"]


def test_an_invalid_credit_code_is_422_naming_the_field(
    client: FlaskClient, session: Session
) -> None:
    inspector = make_user(session, make_unit(session))
    reply = client.post(
        "/api/v1/enterprises",
        headers=auth_headers(client, inspector),
        json={"name": "某公司", "sector": "gas", "credit_code": "91350100M000100Y44"},
    )
    assert reply.status_code == 422
    assert reply.json["code"] == "validation.invalid"
    assert "credit_code" in reply.json["errors"]
    assert "credit_code" in reply.json["message"]
    assert session.scalar(select(func.count()).select_from(Enterprise)) == 0


def test_wrong_types_are_422_naming_the_field(client: FlaskClient, session: Session) -> None:
    inspector = make_user(session, make_unit(session))
    reply = client.post(
        "/api/v1/enterprises",
        headers=auth_headers(client, inspector),
        json={"name": 42, "sector": "gas"},
    )
    assert reply.status_code == 422
    assert reply.json["code"] == "validation.invalid"
    assert "name" in reply.json["errors"]["json"]
    assert "name" in reply.json["message"]


def test_missing_fields_are_named(client: FlaskClient, session: Session) -> None:
    inspector = make_user(session, make_unit(session))
    reply = client.post("/api/v1/enterprises", headers=auth_headers(client, inspector), json={})
    assert reply.status_code == 422
    assert set(reply.json["errors"]["json"]) == {"name", "sector"}


def test_an_unknown_sector_is_refused(client: FlaskClient, session: Session) -> None:
    inspector = make_user(session, make_unit(session))
    reply = client.post(
        "/api/v1/enterprises",
        headers=auth_headers(client, inspector),
        json={"name": "x", "sector": "bakery"},
    )
    assert reply.status_code == 422
    assert "sector" in reply.json["errors"]["json"]


def test_malformed_json_is_400(client: FlaskClient, session: Session) -> None:
    inspector = make_user(session, make_unit(session))
    reply = client.post(
        "/api/v1/enterprises",
        data=b'{"name": "x",',
        headers={**auth_headers(client, inspector), "Content-Type": "application/json"},
    )
    assert reply.status_code == 400
    assert reply.json["code"] == "request.malformed_json"


def test_another_units_enterprise_is_404(client: FlaskClient, session: Session) -> None:
    mine, theirs = make_unit(session), make_unit(session)
    inspector = make_user(session, mine)
    other = make_enterprise(session, theirs)
    headers = auth_headers(client, inspector)
    reply = client.get(f"/api/v1/enterprises/{other.id}", headers=headers)
    assert reply.status_code == 404
    assert reply.json["code"] == "not_found"
    assert (
        client.patch(
            f"/api/v1/enterprises/{other.id}", json={"name": "x"}, headers=headers
        ).status_code
        == 404
    )


def test_a_duplicate_credit_code_in_a_unit_is_409(client: FlaskClient, session: Session) -> None:
    unit = make_unit(session)
    make_enterprise(session, unit, credit_code=credit_code(7))
    inspector = make_user(session, unit)
    reply = client.post(
        "/api/v1/enterprises",
        headers=auth_headers(client, inspector),
        json={"name": "x", "sector": "gas", "credit_code": credit_code(7)},
    )
    assert reply.status_code == 409
    assert reply.json["code"] == "enterprise.duplicate"


def test_the_list_is_scoped_searchable_and_paginated(client: FlaskClient, session: Session) -> None:
    mine, theirs = make_unit(session), make_unit(session)
    for n in range(5):
        make_enterprise(session, mine, name=f"燃气公司{n}")
    make_enterprise(session, mine, name="建筑工地", sector="construction")
    make_enterprise(session, theirs, name="燃气公司X")
    headers = auth_headers(client, make_user(session, mine))
    first = client.get("/api/v1/enterprises?q=燃气&limit=3", headers=headers).json
    assert [e["name"] for e in first["items"]] == ["燃气公司0", "燃气公司1", "燃气公司2"]
    second = client.get(
        f"/api/v1/enterprises?q=燃气&limit=3&cursor={first['next_cursor']}", headers=headers
    ).json
    assert [e["name"] for e in second["items"]] == ["燃气公司3", "燃气公司4"]
    assert second["next_cursor"] is None
    by_sector = client.get("/api/v1/enterprises?sector=construction", headers=headers).json
    assert [e["name"] for e in by_sector["items"]] == ["建筑工地"]


def test_a_forged_cursor_is_400(client: FlaskClient, session: Session) -> None:
    headers = auth_headers(client, make_user(session, make_unit(session)))
    reply = client.get("/api/v1/enterprises?cursor=bm9wZQ", headers=headers)
    assert reply.status_code == 400
    assert reply.json["code"] == "pagination.invalid_cursor"


def test_an_admin_sees_enterprises_of_units_below(client: FlaskClient, session: Session) -> None:
    district = make_unit(session)
    town = make_unit(session, parent=district)
    make_enterprise(session, town, name="镇上企业")
    make_enterprise(session, make_unit(session), name="别区企业")
    admin = make_user(session, district, Role.admin)
    names = [
        e["name"]
        for e in client.get("/api/v1/enterprises", headers=auth_headers(client, admin)).json[
            "items"
        ]
    ]
    assert names == ["镇上企业"]


def test_an_update_is_audited_and_bumps_the_version(client: FlaskClient, session: Session) -> None:
    unit = make_unit(session)
    enterprise = make_enterprise(session, unit, name="旧名")
    headers = auth_headers(client, make_user(session, unit))
    reply = client.patch(
        f"/api/v1/enterprises/{enterprise.id}",
        headers=headers,
        json={"name": "新名", "expected_version": 1},
    )
    assert reply.status_code == 200
    assert reply.json["name"] == "新名"
    assert reply.json["version"] == 2
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "enterprise.update")
    ).one()
    assert entry.data == {"name": ["旧名", "新名"]}


def test_a_stale_update_is_409(client: FlaskClient, session: Session) -> None:
    unit = make_unit(session)
    enterprise = make_enterprise(session, unit)
    headers = auth_headers(client, make_user(session, unit))
    reply = client.patch(
        f"/api/v1/enterprises/{enterprise.id}",
        headers=headers,
        json={"name": "x", "expected_version": 7},
    )
    assert reply.status_code == 409
    assert reply.json["code"] == "conflict.stale_version"


def test_search_ignores_the_case_of_latin_letters(client: FlaskClient, session: Session) -> None:
    unit = make_unit(session)
    make_enterprise(session, unit, name="ACME Gas 有限公司")
    make_enterprise(session, unit, name="acme gas 分公司", address="Main Street 1")
    headers = auth_headers(client, make_user(session, unit))
    for q in ("acme", "ACME", "Acme GAS"):
        reply = client.get("/api/v1/enterprises", query_string={"q": q}, headers=headers)
        assert [e["name"] for e in reply.json["items"]] == ["ACME Gas 有限公司", "acme gas 分公司"]
    reply = client.get("/api/v1/enterprises", query_string={"q": "main STREET"}, headers=headers)
    assert [e["name"] for e in reply.json["items"]] == ["acme gas 分公司"]


@pytest.mark.parametrize("field", ["name", "address", "contact_name", "credit_code"])
def test_a_nul_in_a_string_is_422_naming_the_field(
    client: FlaskClient, session: Session, field: str
) -> None:
    headers = auth_headers(client, make_user(session, make_unit(session)))
    body = {"name": "某公司", "sector": "gas", field: "a\u0000b"}
    reply = client.post("/api/v1/enterprises", headers=headers, json=body)
    assert reply.status_code == 422
    assert list(reply.json["errors"]["json"]) == [field]
    assert session.scalar(select(func.count()).select_from(Enterprise)) == 0


def test_a_nul_in_the_search_is_422(client: FlaskClient, session: Session) -> None:
    headers = auth_headers(client, make_user(session, make_unit(session)))
    reply = client.get("/api/v1/enterprises", query_string={"q": "a\u0000b"}, headers=headers)
    assert reply.status_code == 422
    assert "q" in reply.json["errors"]["query"]


@pytest.mark.parametrize("version", [True, 1.5, "1", 0, 1e300])
def test_expected_version_must_be_a_positive_integer(
    client: FlaskClient, session: Session, version: object
) -> None:
    unit = make_unit(session)
    enterprise = make_enterprise(session, unit)
    reply = client.patch(
        f"/api/v1/enterprises/{enterprise.id}",
        headers=auth_headers(client, make_user(session, unit)),
        json={"name": "x", "expected_version": version},
    )
    assert reply.status_code == 422
    assert "expected_version" in reply.json["errors"]["json"]


def test_a_credit_code_is_trimmed_before_its_length_is_checked(
    client: FlaskClient, session: Session
) -> None:
    headers = auth_headers(client, make_user(session, make_unit(session)))
    code = credit_code(11)
    reply = client.post(
        "/api/v1/enterprises",
        headers=headers,
        json={"name": "某公司", "sector": "gas", "credit_code": f"  {code.lower()} "},
    )
    assert reply.status_code == 201
    assert reply.json["credit_code"] == code


def test_a_duplicate_found_only_by_the_index_is_409_and_saves_nothing(
    client: FlaskClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from backend.services import enterprises

    unit = make_unit(session)
    make_enterprise(session, unit, name="先来的", credit_code=credit_code(8))
    headers = auth_headers(client, make_user(session, unit))
    # As if a parallel request had passed the early check too.
    monkeypatch.setattr(enterprises, "_no_duplicate", lambda *_args: None)
    reply = client.post(
        "/api/v1/enterprises",
        headers=headers,
        json={"name": "后到的", "sector": "gas", "credit_code": credit_code(8)},
    )
    assert reply.status_code == 409
    assert reply.json["code"] == "enterprise.duplicate"
    names = session.scalars(select(Enterprise.name).where(Enterprise.unit_id == unit.id))
    assert list(names) == ["先来的"]


def test_a_failure_after_the_flush_leaves_no_row(
    client: FlaskClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from backend.services import audit

    headers = auth_headers(client, make_user(session, make_unit(session)))

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr(audit, "record", broken)
    reply = client.post(
        "/api/v1/enterprises", headers=headers, json={"name": "半截", "sector": "gas"}
    )
    assert reply.status_code == 500
    assert session.scalar(select(func.count()).select_from(Enterprise)) == 0


def test_an_enterprise_carries_its_entity_type_key_flag_and_town(
    client: FlaskClient, session: Session
) -> None:
    district = make_unit(session)
    town = make_unit(session, parent=district)
    inspector = make_user(session, town)
    reply = client.post(
        "/api/v1/enterprises",
        headers=auth_headers(client, inspector),
        json={
            "name": "沿街店面",
            "sector": "other",
            "entity_type": "individual_business",
            "key_enterprise": True,
            "town_id": str(town.id),
        },
    )
    assert reply.status_code == 201, reply.json
    assert (reply.json["entity_type"], reply.json["key_enterprise"]) == (
        "individual_business",
        True,
    )
    assert reply.json["town_id"] == str(town.id)


def test_an_enterprise_defaults_to_a_non_key_enterprise(
    client: FlaskClient, session: Session
) -> None:
    inspector = make_user(session, make_unit(session))
    reply = client.post(
        "/api/v1/enterprises",
        headers=auth_headers(client, inspector),
        json={"name": "某公司", "sector": "gas"},
    )
    assert (reply.json["entity_type"], reply.json["key_enterprise"]) == ("enterprise", False)
    assert reply.json["town_id"] is None


def test_the_town_must_be_a_town(client: FlaskClient, session: Session) -> None:
    district = make_unit(session)
    inspector = make_user(session, district)
    reply = client.post(
        "/api/v1/enterprises",
        headers=auth_headers(client, inspector),
        json={"name": "某公司", "sector": "gas", "town_id": str(district.id)},
    )
    assert reply.status_code == 422
    assert "town_id" in reply.json["errors"]


def test_a_non_business_unit_is_recorded_as_such(client: FlaskClient, session: Session) -> None:
    inspector = make_user(session, make_unit(session))
    headers = auth_headers(client, inspector)
    created = client.post(
        "/api/v1/enterprises", headers=headers, json={"name": "某小学", "sector": "other"}
    ).json
    reply = client.patch(
        f"/api/v1/enterprises/{created['id']}",
        headers=headers,
        json={"entity_type": "non_business"},
    )
    assert reply.json["entity_type"] == "non_business"
    assert (
        client.patch(
            f"/api/v1/enterprises/{created['id']}", headers=headers, json={"entity_type": "shop"}
        ).status_code
        == 422
    )
