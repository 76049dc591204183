"""POST /sync/push: every command applied exactly once, whatever the network does."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from backend.models import (
    Amendment,
    Change,
    Device,
    Finding,
    Inspection,
    InspectionAnswer,
    InspectionStatus,
    SyncCommand,
)
from tests.factories import auth_headers, make_enterprise, make_unit, make_user
from tests.sync_support import (
    Tablet,
    complete_confined_space_answers,
    finding,
    save_args,
)


class World:
    def __init__(self, client: FlaskClient, session: Session) -> None:
        self.session = session
        self.unit = make_unit(session)
        self.enterprise = make_enterprise(session, self.unit, sector="confined_space")
        self.inspector = make_user(session, self.unit)
        self.tablet = Tablet(client, auth_headers(client, self.inspector))

    def save(self, **kwargs: Any) -> dict[str, Any]:
        return save_args(self.session, self.enterprise.id, **kwargs)

    def count(self, model: Any) -> int:
        return self.session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def world(client: FlaskClient, session: Session) -> World:
    return World(client, session)


def test_registering_a_device_twice_is_idempotent(world: World, client: FlaskClient) -> None:
    reply = client.post(
        "/api/v1/sync/devices",
        headers=world.tablet.headers,
        json={"device_id": world.tablet.device_id, "app_version": "1.1"},
    )
    assert reply.status_code == 200
    assert reply.json["last_seq"] == 0
    assert world.session.get(Device, uuid.UUID(world.tablet.device_id)).app_version == "1.1"


def test_a_save_is_applied_and_stored_with_its_answers(world: World) -> None:
    args = world.save(
        answers={"confined_space.2": "no", "confined_space.3": "yes"},
        findings=[finding(["confined_space.2"])],
    )
    reply = world.tablet.push(world.tablet.command("inspection.save@1", args))
    assert reply.status_code == 200
    assert reply.json["applied_through"] == 1
    [result] = reply.json["results"]
    assert result["status"] == "applied"
    entity = {k: v for k, v in result["entity"].items() if k != "findings"}
    assert entity == {"type": "inspection", "id": args["id"], "version": 1}
    # ... and what the rules say of each finding (docs/standards.md)
    assert [f["id"] for f in result["entity"].get("findings", [])] == [
        f["id"] for f in args["findings"]
    ]
    inspection = world.session.get(Inspection, uuid.UUID(args["id"]))
    assert inspection is not None
    assert inspection.status is InspectionStatus.draft
    assert world.count(InspectionAnswer) == 2


def test_a_replayed_push_changes_nothing_after_the_first(world: World) -> None:
    body = [world.tablet.command("inspection.save@1", world.save()) for _ in range(3)]
    first = world.tablet.push(*body).json
    snapshot = [world.count(m) for m in (Inspection, InspectionAnswer, SyncCommand)]
    for _ in range(100):
        again = world.tablet.push(*body)
        assert again.status_code == 200
        assert again.json["applied_through"] == 3
        assert [r["status"] for r in again.json["results"]] == ["duplicate"] * 3
        assert [r["entity"] for r in again.json["results"]] == [
            r["entity"] for r in first["results"]
        ]
    assert [world.count(m) for m in (Inspection, InspectionAnswer, SyncCommand)] == snapshot


def test_a_seq_reused_by_another_command_is_409(world: World) -> None:
    first = world.tablet.command("inspection.save@1", world.save())
    world.tablet.push(first)
    reply = world.tablet.push({**first, "id": str(uuid.uuid4())})
    assert reply.status_code == 409
    assert reply.json["code"] == "sync.seq_reused"


def test_the_same_command_with_other_content_is_409(world: World) -> None:
    first = world.tablet.command("inspection.save@1", world.save())
    world.tablet.push(first)
    changed = {**first, "args": {**first["args"], "kind": "self_inspection"}}
    reply = world.tablet.push(changed)
    assert reply.status_code == 409
    assert reply.json["code"] == "sync.payload_mismatch"


def test_a_gap_stops_the_batch_and_names_the_expected_seq(world: World) -> None:
    one = world.tablet.command("inspection.save@1", world.save())
    world.tablet.seq += 1  # seq 2 is lost on the way
    three = world.tablet.command("inspection.save@1", world.save())
    reply = world.tablet.push(one, three)
    assert reply.json["applied_through"] == 1
    assert reply.json["expected_seq"] == 2
    assert [r["seq"] for r in reply.json["results"]] == [1]
    assert world.count(Inspection) == 1


def test_a_reordered_batch_is_applied_in_seq_order(world: World) -> None:
    inspection_id = uuid.uuid4()
    save = world.tablet.command(
        "inspection.save@1",
        world.save(inspection_id=inspection_id, answers=complete_confined_space_answers()),
    )
    submit = world.tablet.command("inspection.submit@1", {"id": str(inspection_id)})
    reply = world.tablet.push(submit, save)
    assert [r["status"] for r in reply.json["results"]] == ["applied", "applied"]
    assert world.session.get(Inspection, inspection_id).status is InspectionStatus.submitted


def test_a_command_duplicated_within_a_batch_is_applied_once(world: World) -> None:
    command = world.tablet.command("inspection.save@1", world.save())
    reply = world.tablet.push(command, command)
    assert [r["status"] for r in reply.json["results"]] == ["applied", "duplicate"]
    assert world.count(Inspection) == 1


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (
            lambda a: a.update(answers=[{"item": "confined_space.99", "answer": "no"}]),
            "checklist.unknown_item",
        ),
        (
            lambda a: a.update(checklist={"code": "confined_space", "version": "0123456789abcdef"}),
            "checklist.version_unknown",
        ),
        (
            lambda a: a.update(findings=[finding(["confined_space.2"], description="  ")]),
            "finding.description_missing",
        ),
        (lambda a: a.update(enterprise_id=str(uuid.uuid4())), "enterprise.unknown"),
        (lambda a: a.update(kind="picnic"), "inspection.kind_unknown"),
        (lambda a: a.update(started_at="yesterday"), "command.invalid"),
        (lambda a: a.pop("checklist"), "command.invalid"),
        (
            lambda a: a.update(answers=[{"item": "confined_space.2", "answer": "maybe"}]),
            "command.invalid",
        ),
        (
            lambda a: a.update(answers=[{"item": "confined_space.2", "answer": "no", "x": 1}]),
            "command.invalid",
        ),
        (lambda a: a.update(answers=["confined_space.2"]), "command.invalid"),
        (lambda a: a.update(location={"lat": 123, "lon": 119.3}), "command.invalid"),
        (
            lambda a: a.update(findings=[finding(["confined_space.2"], deadline="soon")]),
            "command.invalid",
        ),
        (
            lambda a: a.update(signatures=[{"role": "inspector", "name": "李", "sha256": "x"}]),
            "command.invalid",
        ),
        (lambda a: a.update(surprise=True), "command.invalid"),
        (lambda a: a.update(id="not-a-uuid"), "command.invalid"),
        (lambda a: a.update(finished_at="2026-11-20T10:30:00"), "command.invalid"),
    ],
)
def test_a_command_that_can_never_succeed_is_rejected_writes_nothing_and_advances_seq(
    world: World, change: Any, code: str
) -> None:
    args = world.save()
    change(args)
    reply = world.tablet.push(world.tablet.command("inspection.save@1", args))
    assert reply.status_code == 200
    [result] = reply.json["results"]
    assert (result["status"], result["code"]) == ("rejected", code)
    assert result["message"]
    assert reply.json["applied_through"] == 1
    assert world.count(Inspection) == 0
    follow = world.tablet.push(world.tablet.command("inspection.save@1", world.save()))
    assert follow.json["results"][0]["status"] == "applied"


def _break_the_change_log(session: Session) -> Callable[[], None]:
    """Make the change log's next id one already taken, as PostgreSQL 15's crash recovery did to
    a database copied from a template (docs/decision-postgres-template-copies.md); give back the
    function that mends it. SQLite hands out max(id) + 1, which cannot collide, so there a
    trigger raises the same error: a fault the real server cannot be made to show."""
    if session.get_bind().dialect.name == "postgresql":
        taken = session.scalar(select(func.max(Change.id)))
        session.execute(
            text("SELECT setval(pg_get_serial_sequence('sync_changes', 'id'), :v, false)"),
            {"v": taken},
        )
        return lambda: session.execute(
            text("SELECT setval(pg_get_serial_sequence('sync_changes', 'id'), :v)"),
            {"v": 10 * (taken or 1)},
        )
    session.execute(
        text(
            "CREATE TEMP TRIGGER rewound BEFORE INSERT ON sync_changes "
            "BEGIN SELECT RAISE(ABORT, 'UNIQUE constraint failed: sync_changes.id'); END"
        )
    )
    return lambda: session.execute(text("DROP TRIGGER temp.rewound"))


def test_a_push_the_servers_own_bookkeeping_refuses_is_503_and_the_resend_is_applied(
    world: World,
) -> None:
    """Not the command's fault, so not `rejected` (the tablet would drop a good record): the
    push fails whole with a code saying to resend, nothing is written, and the resend applies."""
    world.tablet.push(world.tablet.command("inspection.save@1", world.save()))
    mend = _break_the_change_log(world.session)
    body = [world.tablet.command("inspection.save@1", world.save()) for _ in range(2)]
    refused = world.tablet.push(*body)
    assert refused.status_code == 503, refused.json
    assert refused.json["code"] == "sync.retry_later"
    assert refused.headers["Retry-After"]
    assert world.count(Inspection) == 1
    assert world.session.get(Device, uuid.UUID(world.tablet.device_id)).last_seq == 1
    mend()
    resent = world.tablet.push(*body)
    assert resent.status_code == 200, resent.json
    assert [r["status"] for r in resent.json["results"]] == ["applied", "applied"]
    assert world.count(Inspection) == 3


def test_an_unknown_command_name_is_rejected(world: World) -> None:
    reply = world.tablet.push(world.tablet.command("inspection.teleport@1", {}))
    assert reply.json["results"][0]["code"] == "sync.unknown_command"
    assert reply.json["applied_through"] == 1


def test_a_malformed_mutation_is_422_and_applies_nothing(world: World) -> None:
    good = world.tablet.command("inspection.save@1", world.save())
    reply = world.tablet.push(good, {"seq": "two", "name": "inspection.save@1"})
    assert reply.status_code == 422
    assert reply.json["code"] == "validation.invalid"
    assert "mutations" in reply.json["errors"]["json"]
    assert world.count(Inspection) == 0


def test_a_base_version_out_of_range_is_422_and_applies_nothing(world: World) -> None:
    command = world.tablet.command("inspection.save@1", world.save(), base_version=2**64)
    reply = world.tablet.push(command)
    assert reply.status_code == 422, reply.json
    assert "base_version" in reply.json["errors"]["json"]["mutations"]["0"]
    assert world.count(Inspection) == 0


def test_someone_elses_device_is_404(world: World, client: FlaskClient) -> None:
    other = make_user(world.session, world.unit)
    reply = client.post(
        "/api/v1/sync/push",
        headers=auth_headers(client, other),
        json={
            "device_id": world.tablet.device_id,
            "protocol": 1,
            "mutations": [world.tablet.command("inspection.save@1", world.save())],
        },
    )
    assert reply.status_code == 404
    assert reply.json["code"] == "sync.unknown_device"
    assert world.count(Inspection) == 0


def test_another_protocol_version_is_refused(world: World, client: FlaskClient) -> None:
    reply = client.post(
        "/api/v1/sync/push",
        headers=world.tablet.headers,
        json={"device_id": world.tablet.device_id, "protocol": 2, "mutations": []},
    )
    assert reply.status_code == 400
    assert reply.json["code"] == "sync.protocol_unsupported"


def test_more_than_200_commands_is_413_with_the_limits(world: World) -> None:
    commands = [world.tablet.command("inspection.teleport@1", {}) for _ in range(201)]
    reply = world.tablet.push(*commands)
    assert reply.status_code == 413
    assert reply.json["code"] == "sync.too_large"
    assert reply.json["errors"] == {"max_mutations": 200, "max_bytes": 2 * 1024 * 1024}


def test_more_than_2_mib_is_413_with_the_limits(world: World) -> None:
    args = world.save(answers={"confined_space.2": "yes"})
    args["answers"][0]["note"] = "x" * 3000
    commands = [world.tablet.command("inspection.save@1", args) for _ in range(200)]
    for command in commands:
        command["args"] = {**args, "padding": "p" * 8000}
    reply = world.tablet.push(*commands)
    assert reply.status_code == 413
    assert reply.json["errors"]["max_bytes"] == 2 * 1024 * 1024


def test_answers_are_checked_against_the_pinned_version(world: World) -> None:
    from backend.models import ChecklistVersion

    pinned = world.save()
    row = world.session.scalars(
        select(ChecklistVersion).where(
            ChecklistVersion.checklist_code == "confined_space", ChecklistVersion.label == "2023"
        )
    ).one()
    newer = ChecklistVersion(
        checklist_code="confined_space",
        version="feedfacefeedface",
        label="2024",
        title=row.title,
        content={**row.content, "items": row.content["items"][:2]},
    )
    world.session.add(newer)
    world.session.flush()
    pinned["answers"] = [{"item": "confined_space.7", "answer": "yes"}]
    reply = world.tablet.push(world.tablet.command("inspection.save@1", pinned))
    assert reply.json["results"][0]["status"] == "applied"


def test_each_finding_gets_the_level_the_rules_suggest(world: World) -> None:
    major = finding(["confined_space.1"], claimed_level="general")
    general = finding(["confined_space.2"], claimed_level="major")
    args = world.save(
        answers={
            "confined_space.1.a": "no",
            "confined_space.1.b": "no",
            "confined_space.1.c": "no",
            "confined_space.2": "no",
            "confined_space.poisoning_risk": "yes",  # 第十三条's lead-in (version 2023.2)
        },
        findings=[major, general],
    )
    world.tablet.push(world.tablet.command("inspection.save@1", args))
    rows = {str(f.id): f for f in world.session.scalars(select(Finding))}
    assert (rows[major["id"]].suggested_level, rows[major["id"]].claimed_level) == (
        "major",
        "general",
    )
    assert rows[major["id"]].suggested_rule is not None
    assert (rows[general["id"]].suggested_level, rows[general["id"]].suggested_rule) == (
        "general",
        None,
    )


def test_an_incomplete_inspection_cannot_be_submitted(world: World) -> None:
    inspection_id = uuid.uuid4()
    world.tablet.push(
        world.tablet.command(
            "inspection.save@1",
            world.save(
                inspection_id=inspection_id, answers={"confined_space.2": "no"}, signed=False
            ),
        )
    )
    reply = world.tablet.push(
        world.tablet.command("inspection.submit@1", {"id": str(inspection_id)})
    )
    [result] = reply.json["results"]
    assert (result["status"], result["code"]) == ("rejected", "inspection.incomplete")
    missing = result["errors"]["missing"]
    assert any("confined_space.1" in m for m in missing)
    assert any("finding for defect confined_space.2" in m for m in missing)
    assert any("signature" in m for m in missing)
    assert world.session.get(Inspection, inspection_id).status is InspectionStatus.draft


def test_a_save_after_submit_becomes_an_amendment(world: World) -> None:
    inspection_id = uuid.uuid4()
    args = world.save(inspection_id=inspection_id, answers=complete_confined_space_answers())
    world.tablet.push(
        world.tablet.command("inspection.save@1", args),
        world.tablet.command("inspection.submit@1", {"id": str(inspection_id)}),
    )
    edited = {**args, "inspectors": [{"name": "王检查"}]}
    reply = world.tablet.push(world.tablet.command("inspection.save@1", edited))
    [result] = reply.json["results"]
    assert (result["status"], result["code"]) == ("conflict", "inspection.locked")
    amendment = world.session.get(Amendment, uuid.UUID(result["entity"]["id"]))
    assert amendment is not None
    assert amendment.payload["inspectors"] == [{"name": "王检查"}]
    inspection = world.session.get(Inspection, inspection_id)
    assert inspection.inspectors == [{"name": "李检查", "user_id": None}]
    assert reply.json["applied_through"] == 3


def test_a_stale_base_version_becomes_an_amendment(world: World) -> None:
    inspection_id = uuid.uuid4()
    args = world.save(inspection_id=inspection_id)
    world.tablet.push(
        world.tablet.command("inspection.save@1", args),
        world.tablet.command("inspection.save@1", args),
    )
    reply = world.tablet.push(world.tablet.command("inspection.save@1", args, base_version=1))
    [result] = reply.json["results"]
    assert (result["status"], result["code"]) == ("conflict", "inspection.version_conflict")
    assert world.count(Amendment) == 1


def test_another_inspectors_inspection_cannot_be_changed(world: World, client: FlaskClient) -> None:
    args = world.save()
    world.tablet.push(world.tablet.command("inspection.save@1", args))
    colleague = Tablet(client, auth_headers(client, make_user(world.session, world.unit)))
    reply = colleague.push(colleague.command("inspection.save@1", args))
    assert reply.json["results"][0]["code"] == "inspection.not_yours"


def test_a_finding_id_of_another_inspection_is_rejected(world: World) -> None:
    shared = finding(["confined_space.2"])
    world.tablet.push(
        world.tablet.command(
            "inspection.save@1", world.save(answers={"confined_space.2": "no"}, findings=[shared])
        )
    )
    reply = world.tablet.push(
        world.tablet.command(
            "inspection.save@1", world.save(answers={"confined_space.2": "no"}, findings=[shared])
        )
    )
    assert reply.json["results"][0]["code"] == "finding.id_taken"
