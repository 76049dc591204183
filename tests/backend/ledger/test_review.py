"""POST /inspections/{id}/review: a supervisor of the unit decides, once, on a submitted record."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.models import (
    AuditEntry,
    Change,
    FindingConfirmation,
    Inspection,
    InspectionReview,
    InspectionStatus,
    OutboxItem,
    Role,
)
from backend.services.ledger import states
from tests.backend.ledger.support import MAJOR_RULE, MAJOR_RULE_LABEL, Submitted, World
from tests.factories import make_user
from tests.sync_support import finding, photo_hash


def _nothing_written(world: World, submitted: Submitted) -> None:
    inspection = world.session.get(Inspection, submitted.id, populate_existing=True)
    assert inspection is not None
    assert inspection.status is InspectionStatus.submitted
    assert world.count(InspectionReview) == 0
    assert world.count(FindingConfirmation) == 0
    assert world.count(OutboxItem) == 0


def test_approving_two_findings_makes_two_entries_with_their_sources_and_levels(
    world: World,
) -> None:
    submitted = world.submit()
    reply = world.review(submitted.id, submitted.approval())
    assert reply.status_code == 200, reply.json
    assert reply.json["status"] == "approved"
    assert reply.json["review"]["decision"] == "approve"
    [outbox_row] = world.session.scalars(select(OutboxItem)).all()
    assert outbox_row.key == f"ledger:{submitted.id}"
    assert reply.json["ledger_job"] == outbox_row.id

    assert world.jobs.run_all() == ["done"]
    major, general = world.hazards(submitted.id)
    year = states.today().year
    assert (major.number, general.number) == (f"YH-{year}-000001", f"YH-{year}-000002")
    assert (major.level, major.rule, major.rule_label) == ("major", MAJOR_RULE, MAJOR_RULE_LABEL)
    assert (general.level, general.rule) == ("general", None)
    assert {h.source.value for h in (major, general)} == {"department"}
    assert {h.state.value for h in (major, general)} == {"pending"}
    assert major.finding_id == submitted.major_finding
    assert major.unit_id == world.town.id
    assert major.enterprise_id == world.enterprise.id
    assert major.sector == "confined_space"
    assert major.deadline == date(2026, 12, 1)
    assert major.confirmed_by == world.supervisor.id
    assert major.description.startswith("未对有限空间进行辨识")


def test_approving_again_is_refused(world: World) -> None:
    submitted = world.submit()
    assert world.review(submitted.id, submitted.approval()).status_code == 200
    again = world.review(submitted.id, submitted.approval())
    assert again.status_code == 409
    assert again.json["code"] == "review.already_approved"
    assert world.count(InspectionReview) == 1


def test_a_self_inspection_is_entered_as_self_reported(world: World) -> None:
    entries = world.approved(kind="self_inspection")
    assert [h.source.value for h in entries] == ["self_reported", "self_reported"]


def test_a_record_that_is_not_submitted_is_409_naming_its_state(world: World) -> None:
    args_id = uuid.uuid4()
    from tests.sync_support import save_args

    world.tablet.push(
        world.tablet.command(
            "inspection.save@1",
            save_args(world.session, world.enterprise.id, inspection_id=args_id),
        )
    )
    reply = world.review(args_id, {"decision": "return", "comment": "x"})
    assert reply.status_code == 409
    assert reply.json["code"] == "review.not_submitted"
    assert reply.json["errors"] == {"status": "draft"}


def test_an_inspector_cannot_review(world: World) -> None:
    submitted = world.submit()
    other_inspector = make_user(world.session, world.town, Role.inspector)
    reply = world.review(submitted.id, submitted.approval(), user=other_inspector)
    assert reply.status_code == 403
    assert reply.json["code"] == "review.forbidden"
    _nothing_written(world, submitted)


def test_a_supervisor_who_took_part_cannot_review(world: World) -> None:
    submitted = world.submit(
        inspectors=[
            {"name": "李检查", "user_id": str(world.inspector.id)},
            {"name": "张主任", "user_id": str(world.supervisor.id)},
        ],
        signatures=[
            {"role": "inspector", "name": "李检查", "sha256": photo_hash()},
            {"role": "inspector", "name": "张主任", "sha256": photo_hash()},
        ],
    )
    reply = world.review(submitted.id, submitted.approval())
    assert reply.status_code == 403
    assert reply.json["code"] == "review.own_inspection"
    _nothing_written(world, submitted)


def test_a_supervisor_of_another_unit_gets_404(world: World) -> None:
    submitted = world.submit()
    reply = world.review(submitted.id, submitted.approval(), user=world.stranger)
    assert reply.status_code == 404
    assert (
        world.client.get(
            f"/api/v1/inspections/{submitted.id}", headers=world.headers(world.stranger)
        ).status_code
        == 404
    )


def test_a_level_other_than_the_suggestion_needs_a_reason(world: World) -> None:
    submitted = world.submit()
    body = submitted.approval(
        findings=[
            {"id": str(submitted.major_finding), "level": "major"},
            {"id": str(submitted.general_finding), "level": "major"},
        ]
    )
    reply = world.review(submitted.id, body)
    assert reply.status_code == 422
    assert reply.json["code"] == "review.override_reason_required"
    assert list(reply.json["errors"]["findings"]) == [str(submitted.general_finding)]
    _nothing_written(world, submitted)

    body["findings"][1]["override_reason"] = "合同未备查且现场已作业，性质严重"
    # No major without a clause: the reason alone no longer makes it 重大.
    reply = world.review(submitted.id, body)
    assert reply.status_code == 422
    assert reply.json["code"] == "review.clause_required"
    assert "'clause'" in reply.json["errors"]["findings"][str(submitted.general_finding)][0]
    _nothing_written(world, submitted)

    body["findings"][1]["clause"] = "gmqy2023.13.2"
    assert world.review(submitted.id, body).status_code == 200
    world.jobs.run_all()
    _major, raised = world.hazards(submitted.id)
    assert (raised.level, raised.rule, raised.clause) == ("major", None, "gmqy2023.13.2")
    assert raised.rule_label == "《工贸企业重大事故隐患判定标准》第十三条（二）"
    assert raised.override_reason == "合同未备查且现场已作业，性质严重"


def test_major_needs_a_rule_the_answers_match(world: World) -> None:
    submitted = world.submit()
    body = submitted.approval()
    # 第十三条（二） exists in the version, but these answers do not meet it.
    body["findings"][0]["rule"] = "confined_space.gmqy2023.13.2"
    reply = world.review(submitted.id, body)
    assert reply.status_code == 422
    assert reply.json["code"] == "review.override_reason_required"
    body["findings"][0]["rule"] = "confined_space.no_such_rule"
    assert world.review(submitted.id, body).json["code"] == "review.rule_unknown"


def test_every_finding_must_be_confirmed_once(world: World) -> None:
    submitted = world.submit()
    body = submitted.approval()
    body["findings"] = [*body["findings"][:1], {"id": str(uuid.uuid4()), "level": "general"}]
    reply = world.review(submitted.id, body)
    assert reply.status_code == 422
    assert reply.json["code"] == "review.findings_mismatch"
    assert set(reply.json["errors"]["findings"]) == {"missing", "unknown"}
    _nothing_written(world, submitted)


def test_a_finding_without_a_deadline_needs_one_at_approval(world: World) -> None:
    submitted = world.submit(
        answers={**_compliant(), "confined_space.2": "no"},
        findings=[finding(["confined_space.2"], deadline=None)],
    )
    body = {
        "decision": "approve",
        "findings": [{"id": str(submitted.major_finding), "level": "general"}],
    }
    assert world.review(submitted.id, body).json["code"] == "review.deadline_missing"
    body["findings"][0]["deadline"] = "2027-01-31"
    assert world.review(submitted.id, body).status_code == 200
    world.jobs.run_all()
    [entry] = world.hazards(submitted.id)
    assert entry.deadline == date(2027, 1, 31)


def test_rejecting_needs_a_comment(world: World) -> None:
    submitted = world.submit()
    reply = world.review(submitted.id, {"decision": "reject"})
    assert reply.status_code == 422
    assert reply.json["code"] == "review.comment_required"
    _nothing_written(world, submitted)
    reply = world.review(submitted.id, {"decision": "reject", "comment": "被检查单位不属于本单位"})
    assert reply.json["status"] == "rejected"
    assert world.count(OutboxItem) == 0
    again = world.review(submitted.id, {"decision": "reject", "comment": "again"})
    assert again.json["code"] == "review.already_rejected"


def test_findings_are_confirmed_only_by_an_approval(world: World) -> None:
    submitted = world.submit()
    body = {**submitted.approval(), "decision": "return"}
    assert world.review(submitted.id, body).json["code"] == "review.findings_not_expected"


def test_a_returned_inspection_is_editable_again_on_the_tablet(world: World) -> None:
    submitted = world.submit()
    reply = world.review(submitted.id, {"decision": "return", "comment": "补拍现场照片"})
    assert reply.json["status"] == "returned"
    from tests.sync_support import save_args

    args = save_args(
        world.session,
        world.enterprise.id,
        inspection_id=submitted.id,
        answers={"confined_space.2": "yes"},
    )
    again = world.tablet.push(world.tablet.command("inspection.save@1", args))
    assert again.json["results"][0]["status"] == "applied"


def test_an_edit_from_before_a_return_is_an_amendment_not_an_overwrite(world: World) -> None:
    """A supervisor's return is a change someone made: a save based on the version before it
    conflicts (unlike a version the server adds when a photo arrives)."""
    from tests.sync_support import save_args

    submitted = world.submit()
    before = world.session.scalar(select(Inspection.version).where(Inspection.id == submitted.id))
    world.session.commit()
    returned = world.review(submitted.id, {"decision": "return", "comment": "补拍现场照片"})
    args = save_args(
        world.session,
        world.enterprise.id,
        inspection_id=submitted.id,
        answers={"confined_space.2": "yes"},
    )
    world.session.commit()

    stale = world.tablet.push(world.tablet.command("inspection.save@1", args, base_version=before))
    [result] = stale.json["results"]
    assert (result["status"], result["code"]) == ("conflict", "inspection.version_conflict")
    fresh = world.tablet.push(
        world.tablet.command("inspection.save@1", args, base_version=returned.json["version"])
    )
    assert fresh.json["results"][0]["status"] == "applied", fresh.json


def test_a_decision_is_audited_and_written_for_the_tablets(world: World) -> None:
    submitted = world.submit()
    before = world.count(Change)
    world.review(submitted.id, submitted.approval())
    rows = world.session.scalars(select(Change).order_by(Change.id).offset(before)).all()
    assert {(r.bucket, r.data["status"]) for r in rows} == {
        (f"unit:{world.town.id}", "approved"),
        (f"user:{world.inspector.id}", "approved"),
    }
    assert all(r.data["review"]["decision"] == "approve" for r in rows)
    [entry] = world.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "inspection.approve")
    ).all()
    assert entry.actor_id == world.supervisor.id
    assert len(entry.data["findings"]) == 2


def test_an_admin_does_not_review(world: World) -> None:
    submitted = world.submit()
    assert world.review(submitted.id, submitted.approval(), user=world.admin).json["code"] == (
        "review.forbidden"
    )


def _compliant() -> dict[str, str]:
    return {f"confined_space.{n}": "yes" for n in range(1, 8)}


@pytest.mark.parametrize("decision", ["return", "approve"])
def test_pull_shows_the_decision_to_the_inspectors_tablet(
    live_app: Flask, live_session: Session, decision: str
) -> None:
    from tests.backend.ledger.support import RecordingDispatcher

    live_app.extensions["anjian"].dispatcher = RecordingDispatcher()
    world = World(live_app, live_app.test_client(), live_session)
    live_session.commit()
    submitted = world.submit()
    live_session.commit()
    body = (
        submitted.approval() if decision == "approve" else {"decision": "return", "comment": "补充"}
    )
    assert world.review(submitted.id, body).status_code == 200
    mine = pull_until(world, lambda c: c["type"] == "inspection" and c["version"] == 3)
    assert mine["bucket"] == f"user:{world.inspector.id}"
    assert mine["data"]["status"] == {"return": "returned", "approve": "approved"}[decision]
    assert mine["data"]["review"]["decision"] == decision
    assert world.session.scalar(select(func.count()).select_from(InspectionReview)) == 1


def pull_until(world: World, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """Pull from the start until a change matches. On PostgreSQL a pull serves only changes
    older than the oldest transaction running anywhere on the server (docs/sync-protocol.md),
    so another test session's open transaction may hold it back for a moment."""
    deadline = time.monotonic() + 30
    while True:
        changes = world.tablet.pull(limit=2000).json["changes"]
        found = [c for c in changes if wanted(c) and c["bucket"].startswith("user:")]
        if found or time.monotonic() > deadline:
            assert found, changes
            return found[-1]  # type: ignore[no-any-return]
        time.sleep(0.2)


def test_a_tablet_push_and_a_review_at_the_same_moment_take_turns(
    live_app: Flask, live_session: Session
) -> None:
    """The review locks the inspection row, as a push does: whichever comes second sees what
    the first committed. The late edit is an amendment, the approval stands, the findings are
    the ones approved."""
    from concurrent.futures import ThreadPoolExecutor

    from backend.models import Amendment, Finding
    from tests.backend.ledger.support import RecordingDispatcher
    from tests.sync_support import save_args

    live_app.extensions["anjian"].dispatcher = RecordingDispatcher()
    world = World(live_app, live_app.test_client(), live_session)
    submitted = world.submit()
    edit = save_args(
        live_session,
        world.enterprise.id,
        inspection_id=submitted.id,
        findings=[finding(["confined_space.2"])],
    )
    review_client, push_client = live_app.test_client(), live_app.test_client()
    headers = world.headers(world.supervisor)
    command = world.tablet.command("inspection.save@1", edit)
    live_session.commit()
    with ThreadPoolExecutor(2) as pool:
        approved = pool.submit(
            review_client.post,
            f"/api/v1/inspections/{submitted.id}/review",
            headers=headers,
            json=submitted.approval(),
        )
        pushed = pool.submit(
            push_client.post,
            "/api/v1/sync/push",
            headers=world.tablet.headers,
            json={"device_id": world.tablet.device_id, "protocol": 1, "mutations": [command]},
        )
        assert approved.result().status_code == 200, approved.result().json
        assert pushed.result().json["results"][0]["code"] == "inspection.locked"
    live_session.expire_all()
    assert world.session.scalar(select(func.count()).select_from(Amendment)) == 1
    findings = set(
        live_session.scalars(select(Finding.id).where(Finding.inspection_id == submitted.id))
    )
    assert findings == {submitted.major_finding, submitted.general_finding}
    confirmed = set(live_session.scalars(select(FindingConfirmation.finding_id)))
    assert confirmed == findings
