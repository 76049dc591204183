"""Text the service refuses, nesting, numbers and dates no column holds: a 4xx for a request, a
`rejected` command for a tablet (whose other commands still apply), never a 500 (issue 12)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.models import Finding, Inspection, Role, SyncCommand
from tests.factories import auth_headers, make_enterprise, make_unit, make_user
from tests.sync_support import Tablet, finding, save_args

BAD_TEXT = ["a\x00b", "a\ud800b", "a\x07b", "\ufffe"]


def raw_post(client: FlaskClient, path: str, body: Any, **headers: str) -> Any:
    """JSON as a hostile client writes it: json.dumps escapes a lone surrogate as \\ud800."""
    return client.post(
        path, data=json.dumps(body), content_type="application/json", headers=headers
    )


class World:
    def __init__(self, client: FlaskClient, session: Session) -> None:
        self.client, self.session = client, session
        self.unit = make_unit(session)
        self.enterprise = make_enterprise(session, self.unit, sector="confined_space")
        self.inspector = make_user(session, self.unit)
        self.headers = auth_headers(client, self.inspector)
        self.supervisor = auth_headers(client, make_user(session, self.unit, Role.supervisor))
        self.admin = auth_headers(client, make_user(session, self.unit, Role.admin))
        self.tablet = Tablet(client, self.headers)

    def push(self, tablet: Tablet, *mutations: dict[str, Any]) -> Any:
        body = {"device_id": tablet.device_id, "protocol": 1, "mutations": list(mutations)}
        return raw_post(self.client, "/api/v1/sync/push", body, **tablet.headers)

    def save(self, **kwargs: Any) -> dict[str, Any]:
        return save_args(self.session, self.enterprise.id, **kwargs)


@pytest.fixture
def world(client: FlaskClient, session: Session) -> World:
    return World(client, session)


@pytest.mark.parametrize("bad", BAD_TEXT, ids=["nul", "lone_surrogate", "bell", "fffe"])
def test_a_command_with_refused_text_is_rejected_and_the_next_one_applies(
    world: World, bad: str
) -> None:
    tablet = world.tablet
    bad_save = world.save(findings=[finding(["confined_space.2"], description=bad)])
    good_save = world.save()
    reply = world.push(
        tablet,
        tablet.command("inspection.save@1", bad_save),
        tablet.command("inspection.save@1", good_save),
    )
    assert reply.status_code == 200, reply.json
    first, second = reply.json["results"]
    assert first["status"] == "rejected"
    assert first["code"] == "text.invalid"
    assert "args.findings.0.description" in first["errors"]
    assert second["status"] == "applied"
    assert reply.json["applied_through"] == 2
    assert world.session.get(Inspection, uuid.UUID(good_save["id"])) is not None
    assert world.session.get(Inspection, uuid.UUID(bad_save["id"])) is None


def test_refused_text_in_a_key_or_a_name_is_rejected_and_replays_as_duplicate(
    world: World,
) -> None:
    tablet = world.tablet
    in_key = tablet.command("inspection.save@1", {**world.save(), "x\ud800": 1})
    in_name = tablet.command("inspection.save@1\x00", world.save())
    reply = world.push(tablet, in_key, in_name)
    assert [r["code"] for r in reply.json["results"]] == ["text.invalid", "text.invalid"]
    again = world.push(tablet, in_key, in_name)
    assert again.status_code == 200, again.json
    assert [r["status"] for r in again.json["results"]] == ["duplicate", "duplicate"]
    stored = world.session.scalars(select(SyncCommand.name)).all()
    assert "inspection.save@1\\u0000" in stored


def test_a_command_nested_too_deeply_is_rejected(world: World) -> None:
    deep: Any = "leaf"
    for _ in range(40):
        deep = [deep]
    tablet = world.tablet
    reply = world.push(tablet, tablet.command("inspection.save@1", {**world.save(), "x": deep}))
    assert reply.json["results"][0]["code"] == "text.invalid"


def test_a_command_id_used_on_another_device_is_rejected_and_the_queue_moves_on(
    world: World, client: FlaskClient
) -> None:
    other = Tablet(client, auth_headers(client, make_user(world.session, world.unit)))
    first = other.command("inspection.save@1", world.save())
    assert world.push(other, first).json["results"][0]["status"] == "applied"
    tablet = world.tablet
    copied = {**tablet.command("inspection.save@1", world.save()), "id": first["id"]}
    nxt = tablet.command("inspection.save@1", world.save())
    reply = world.push(tablet, copied, nxt)
    assert reply.status_code == 200, reply.json
    assert [r["status"] for r in reply.json["results"]] == ["rejected", "applied"]
    assert reply.json["results"][0]["code"] == "sync.command_id_taken"
    assert reply.json["applied_through"] == 2
    again = world.push(tablet, copied, nxt)
    assert again.status_code == 200, again.json
    assert [r["status"] for r in again.json["results"]] == ["duplicate", "duplicate"]


def test_one_id_twice_in_a_batch_applies_once(world: World) -> None:
    tablet = world.tablet
    first = tablet.command("inspection.save@1", world.save())
    twin = {**tablet.command("inspection.save@1", world.save()), "id": first["id"]}
    reply = world.push(tablet, first, twin)
    assert [r["status"] for r in reply.json["results"]] == ["applied", "rejected"]
    count = world.session.scalar(select(func.count()).select_from(Finding))
    assert count == 0


@pytest.mark.parametrize("bad", BAD_TEXT, ids=["nul", "lone_surrogate", "bell", "fffe"])
def test_signing_in_with_refused_text_is_422_without_a_token(client: FlaskClient, bad: str) -> None:
    reply = raw_post(client, "/api/v1/auth/token", {"username": bad, "password": bad})
    assert reply.status_code == 422, reply.json
    assert reply.json["code"] == "validation.invalid"
    assert "username" in reply.json["errors"]["json"]


def test_deeply_nested_json_is_400_without_a_token(client: FlaskClient) -> None:
    body = "[" * 100_000 + "]" * 100_000
    reply = client.post("/api/v1/auth/token", data=body, content_type="application/json")
    assert reply.status_code == 400, reply.json
    assert reply.json["code"] == "request.too_deep"


def test_nested_json_under_the_recursion_limit_is_422(client: FlaskClient) -> None:
    body = '{"username": ' + "[" * 500 + "]" * 500 + ', "password": "x"}'
    reply = client.post("/api/v1/auth/token", data=body, content_type="application/json")
    assert reply.status_code == 422, reply.json


@pytest.mark.parametrize("number", ["NaN", "Infinity", "1" + "0" * 5000])
def test_numbers_json_does_not_have_are_400(client: FlaskClient, number: str) -> None:
    body = '{"username": "a", "password": "b", "device_id": ' + number + "}"
    reply = client.post("/api/v1/auth/token", data=body, content_type="application/json")
    assert reply.status_code == 400, reply.json
    assert reply.json["code"] == "request.malformed_json"


def test_refused_text_in_a_query_string_is_422(world: World) -> None:
    reply = world.client.get(
        "/api/v1/enterprises", query_string={"q": "a\x01b"}, headers=world.headers
    )
    assert reply.status_code == 422, reply.json


def test_an_enterprise_name_with_nul_is_422_on_both_databases(world: World) -> None:
    reply = raw_post(
        world.client,
        "/api/v1/enterprises",
        {"name": "a\x00b", "sector": "gas"},
        **world.headers,
    )
    assert reply.status_code == 422, reply.json


def test_an_integer_beyond_its_column_is_422(world: World) -> None:
    tablet = world.tablet
    mutation = {**tablet.command("inspection.save@1", world.save()), "seq": 2**31}
    reply = world.push(tablet, mutation)
    assert reply.status_code == 422, reply.json
    body = {"device_id": str(uuid.uuid4()), "schema_version": 2**40}
    reply = raw_post(world.client, "/api/v1/sync/devices", body, **world.headers)
    assert reply.status_code == 422, reply.json


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_a_date_no_record_can_have_is_422(world: World, day: str) -> None:
    for path in ("/api/v1/hazards", "/api/v1/inspections"):
        params = {"deadline_from": day} if path.endswith("hazards") else {"date_from": day}
        reply = world.client.get(path, query_string=params, headers=world.supervisor)
        assert reply.status_code == 422, (path, reply.json)


def test_a_job_id_beyond_its_column_is_404(world: World) -> None:
    reply = world.client.post(f"/api/v1/admin/jobs/{2**70}/retry", headers=world.admin)
    assert reply.status_code == 404, reply.json


def test_co_inspectors_must_be_users_of_the_unit(world: World) -> None:
    colleague = make_user(world.session, world.unit, Role.supervisor)
    outsider = make_user(world.session, make_unit(world.session), Role.supervisor)
    world.session.commit()
    tablet = world.tablet

    def save_naming(user_id: Any) -> dict[str, Any]:
        inspectors = [{"name": "李检查"}, {"name": "同事", "user_id": str(user_id)}]
        return tablet.command("inspection.save@1", world.save(inspectors=inspectors))

    reply = world.push(
        tablet, save_naming(uuid.uuid4()), save_naming(outsider.id), save_naming(colleague.id)
    )
    results = reply.json["results"]
    assert [r["status"] for r in results] == ["rejected", "rejected", "applied"], results
    assert {r.get("code") for r in results[:2]} == {"inspection.inspector_unknown"}


@pytest.mark.parametrize(
    "field",
    [{"started_at": "0001-01-01T00:00:00+08:00"}, {"finished_at": "9999-12-31T23:59:59-12:00"}],
)
def test_a_command_with_a_time_no_record_can_have_is_rejected(
    world: World, field: dict[str, str]
) -> None:
    tablet = world.tablet
    bad = tablet.command("inspection.save@1", {**world.save(), **field})
    good = tablet.command("inspection.save@1", world.save())
    reply = world.push(tablet, bad, good)
    assert reply.status_code == 200, reply.json
    assert [r["status"] for r in reply.json["results"]] == ["rejected", "applied"]
    assert reply.json["results"][0]["code"] == "command.invalid"
