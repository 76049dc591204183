"""POST /hazards/{id}/events: 待整改 → 整改中 → 待复查 → 已整改 → 已销号, and who may do what."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from backend.models import AuditEntry, Change, Hazard, HazardEvent
from backend.services.ledger import states
from tests.backend.ledger.support import World


@pytest.fixture
def entries(world: World) -> tuple[Hazard, Hazard]:
    major, general = world.approved()
    return major, general


LISTING = {"requirements": "落实一患一策，按期整改销号", "deadline": "2027-03-31"}


def _state(world: World, hazard: Hazard) -> str:
    world.session.refresh(hazard)
    return hazard.state.value


def _types(world: World, hazard: Hazard) -> list[str]:
    return list(
        world.session.scalars(
            select(HazardEvent.type)
            .where(HazardEvent.hazard_id == hazard.id)
            .order_by(HazardEvent.id)
        )
    )


def _rectify(world: World, hazard: Hazard, **extra: Any) -> Any:
    return world.event(
        hazard,
        world.inspector,
        type="rectification_reported",
        measures="已设置警示标志并建立台账",
        funds=12000,
        responsible_person="王经理",
        emergency_plan="有限空间作业应急预案（2026版）",
        **extra,
    )


def test_a_general_hazard_goes_round_the_whole_loop(world: World, entries: Any) -> None:
    _major, general = entries
    assert _rectify(world, general, completed=False).json["state"] == "rectifying"
    assert _rectify(world, general).json["state"] == "awaiting_reinspection"
    reply = world.event(general, world.supervisor, type="reinspected", passed=True)
    assert (reply.json["state"], reply.json["state_label"]) == ("rectified", "已整改")
    reply = world.event(general, world.supervisor, type="closed", comment="验收合格，予以销号")
    assert (reply.json["state"], reply.json["state_label"]) == ("closed", "已销号")
    assert reply.json["closed_at"] is not None
    assert [e["type"] for e in reply.json["history"]] == [
        "created",
        "rectification_reported",
        "rectification_reported",
        "reinspected",
        "closed",
    ]
    assert reply.json["history"][-1]["actor_id"] == str(world.supervisor.id)
    assert (reply.json["measures"], reply.json["funds_yuan"]) == ("已设置警示标志并建立台账", 12000)


def test_a_failed_reinspection_goes_back_to_rectifying(world: World, entries: Any) -> None:
    _major, general = entries
    _rectify(world, general)
    missing = world.event(general, world.inspector, type="reinspected", passed=False)
    assert missing.json["code"] == "hazard.comment_required"
    reply = world.event(
        general, world.inspector, type="reinspected", passed=False, comment="警示标志不明显"
    )
    assert reply.json["state"] == "rectifying"
    assert reply.json["history"][-1]["state_before"] == "awaiting_reinspection"
    assert _rectify(world, general).json["state"] == "awaiting_reinspection"


def test_a_major_hazard_needs_a_passed_reinspection_and_after_photos(
    world: World, entries: Any
) -> None:
    major, _general = entries
    early = world.event(major, world.supervisor, type="closed")
    assert early.status_code == 409
    assert early.json["code"] == "hazard.state_pending"
    _rectify(world, major)
    assert world.event(major, world.supervisor, type="closed").json["code"] == (
        "hazard.state_awaiting_reinspection"
    )
    world.event(major, world.supervisor, type="reinspected", passed=True)
    no_photos = world.event(major, world.supervisor, type="closed")
    assert no_photos.status_code == 422
    assert no_photos.json["code"] == "hazard.after_photos_required"
    assert _state(world, major) == "rectified"
    photo = world.photo(world.town, world.supervisor)
    reply = world.event(major, world.supervisor, type="closed", photos=[photo])
    assert reply.status_code == 200, reply.json
    assert reply.json["after_photos"] == [photo]


def test_after_photos_from_the_rectification_report_count_for_close_out(
    world: World, entries: Any
) -> None:
    major, _general = entries
    photo = world.photo(world.town, world.inspector)
    _rectify(world, major, photos=[photo])
    world.event(major, world.supervisor, type="reinspected", passed=True)
    assert world.event(major, world.supervisor, type="closed").status_code == 200


def test_an_inspector_cannot_close_anything(world: World, entries: Any) -> None:
    _major, general = entries
    _rectify(world, general)
    world.event(general, world.supervisor, type="reinspected", passed=True)
    reply = world.event(general, world.inspector, type="closed")
    assert reply.status_code == 403
    assert reply.json["code"] == "hazard.forbidden"
    assert _state(world, general) == "rectified"


def test_a_supervisor_of_another_unit_gets_404(world: World, entries: Any) -> None:
    major, _general = entries
    headers = world.headers(world.stranger)
    assert world.client.get(f"/api/v1/hazards/{major.id}", headers=headers).status_code == 404
    reply = world.event(major, world.stranger, type="listed", **LISTING)
    assert reply.status_code == 404
    listing = world.client.get("/api/v1/hazards", headers=headers).json
    assert listing["items"] == []


def test_a_listed_hazard_is_closed_by_the_listing_unit(world: World, entries: Any) -> None:
    major, general = entries
    assert (
        world.event(general, world.supervisor, type="listed", **LISTING).json["code"]
        == "hazard.not_major"
    )
    reply = world.event(
        major,
        world.supervisor,
        type="listed",
        unit_id=str(world.district.id),
        comment="区挂牌督办",
        **LISTING,
    )
    assert reply.json["listed"] is True
    assert reply.json["listed_unit_id"] == str(world.district.id)
    again = world.event(major, world.supervisor, type="listed", **LISTING)
    assert again.json["code"] == "hazard.already_listed"
    photo = world.photo(world.town, world.inspector)
    _rectify(world, major, photos=[photo])
    world.event(major, world.supervisor, type="reinspected", passed=True)
    town = world.event(major, world.supervisor, type="closed")
    assert town.status_code == 403
    assert town.json["code"] == "hazard.listing_unit_only"
    # The listing unit's supervisor follows the hazard it lists, though it is a town's.
    district = world.client.get(
        "/api/v1/hazards?listed=true", headers=world.headers(world.district_supervisor)
    ).json
    assert [h["id"] for h in district["items"]] == [str(major.id)]
    assert world.event(major, world.district_supervisor, type="closed").json["state"] == "closed"


def test_listing_for_a_unit_that_is_not_above_the_hazard_is_refused(
    world: World, entries: Any
) -> None:
    major, _general = entries
    reply = world.event(
        major, world.supervisor, type="listed", unit_id=str(world.stranger.unit_id), **LISTING
    )
    assert reply.json["code"] == "hazard.listing_unit_invalid"


def test_an_overdue_entry_is_listed_and_an_extension_moves_it(world: World, entries: Any) -> None:
    major, general = entries
    headers = world.headers(world.supervisor)
    day_after = (major.deadline + timedelta(days=1)).isoformat()
    overdue = world.client.get(f"/api/v1/hazards?overdue={day_after}", headers=headers).json
    assert [h["number"] for h in overdue["items"]] == [major.number]  # general's is later
    new_deadline = max(states.today(), general.deadline) + timedelta(days=30)
    reply = world.event(
        major,
        world.supervisor,
        type="extended",
        deadline=new_deadline.isoformat(),
        reason="设备采购周期长",
    )
    assert reply.status_code == 200, reply.json
    assert reply.json["deadline"] == new_deadline.isoformat()
    assert reply.json["original_deadline"] == major.deadline.isoformat()
    last = reply.json["history"][-1]
    assert (last["type"], last["reason"]) == ("extended", "设备采购周期长")
    assert last["data"] == {
        "deadline_before": major.deadline.isoformat(),
        "deadline": new_deadline.isoformat(),
    }
    # Overdue is history: overdue on that day, it stays overdue as of that day.
    overdue = world.client.get(f"/api/v1/hazards?overdue={day_after}", headers=headers).json
    assert [h["number"] for h in overdue["items"]] == [major.number]
    # From the day after the extension, the new deadline governs.
    tomorrow = (states.today() + timedelta(days=1)).isoformat()
    later = world.client.get(f"/api/v1/hazards?overdue={tomorrow}", headers=headers).json
    assert major.number not in [h["number"] for h in later["items"]]
    rectified = world.client.get(
        f"/api/v1/hazards?overdue={(new_deadline + timedelta(days=1)).isoformat()}", headers=headers
    ).json
    assert {h["number"] for h in rectified["items"]} == {major.number, general.number}


def test_an_admin_voids_with_a_reason_and_nobody_else_may(world: World, entries: Any) -> None:
    _major, general = entries
    assert world.event(general, world.supervisor, type="voided", reason="重复录入").json[
        "code"
    ] == ("hazard.forbidden")
    assert world.event(general, world.admin, type="voided").json["code"] == "hazard.reason_required"
    reply = world.event(general, world.admin, type="voided", reason="重复录入")
    assert (reply.json["state"], reply.json["open"]) == ("voided", False)
    again = world.event(general, world.inspector, type="rectification_reported", measures="x")
    assert again.json["code"] == "hazard.state_voided"


def _snapshot(world: World, hazard: Hazard) -> tuple[int, int, int, int]:
    world.session.refresh(hazard)
    return (
        hazard.version,
        world.count(HazardEvent),
        world.count(AuditEntry),
        world.count(Change),
    )


@pytest.mark.parametrize(
    ("user", "body", "status", "code"),
    [
        ("supervisor", {"type": "painted"}, 422, "hazard.event_unknown"),
        (
            "supervisor",
            {"type": "extended", "deadline": "2099-01-01"},
            422,
            "hazard.reason_required",
        ),
        ("admin", {"type": "voided", "reason": "   "}, 422, "hazard.reason_required"),
        ("supervisor", {"type": "extended", "reason": "需要时间"}, 422, "hazard.deadline_required"),
        (
            "supervisor",
            {"type": "extended", "reason": "x", "deadline": "PAST"},
            422,
            "hazard.deadline_in_past",
        ),
        (
            "inspector",
            {"type": "rectification_reported", "measures": "已整改", "photos": ["a" * 64]},
            422,
            "hazard.photos_missing",
        ),
        ("inspector", {"type": "rectification_reported"}, 422, "hazard.measures_required"),
        ("inspector", {"type": "reinspected"}, 422, "hazard.passed_required"),
        ("supervisor", {"type": "closed", "passed": True}, 422, "hazard.field_not_allowed"),
        (
            "supervisor",
            {
                "type": "listed",
                "listed_on": "2099-01-01",
                "requirements": "限期整改",
                "deadline": "2099-02-01",
            },
            422,
            "hazard.listed_on_in_future",
        ),
        ("supervisor", {"type": "reinspected", "passed": True}, 409, "hazard.state_pending"),
        ("supervisor", {"type": "closed", "photos": ["not-a-hash"]}, 422, "validation.invalid"),
    ],
)
def test_bad_input_is_4xx_with_its_own_code_and_writes_nothing(
    world: World, entries: Any, user: str, body: dict[str, Any], status: int, code: str
) -> None:
    major, _general = entries
    if body.get("deadline") == "PAST":
        body = {**body, "deadline": (states.today() - timedelta(days=1)).isoformat()}
    world.headers(getattr(world, user))  # signing in is audited: do it first
    before = _snapshot(world, major)
    reply = world.event(major, getattr(world, user), **body)
    assert (reply.status_code, reply.json["code"]) == (status, code), reply.json
    assert reply.json["message"]
    assert _snapshot(world, major) == before


def test_an_extension_must_move_the_deadline_later(world: World, entries: Any) -> None:
    major, _general = entries
    far = states.today() + timedelta(days=400)
    world.event(major, world.supervisor, type="extended", reason="一期", deadline=far.isoformat())
    sooner = (far - timedelta(days=200)).isoformat()
    reply = world.event(major, world.supervisor, type="extended", reason="二期", deadline=sooner)
    assert (reply.status_code, reply.json["code"]) == (422, "hazard.deadline_not_later")


def test_every_change_is_a_change_row_for_the_units_tablets(world: World, entries: Any) -> None:
    _major, general = entries
    before = world.count(Change)
    _rectify(world, general)
    rows = world.session.scalars(select(Change).order_by(Change.id).offset(before)).all()
    assert [(r.bucket, r.entity_type, r.version, r.data["state"]) for r in rows] == [
        (f"unit:{world.town.id}", "hazard", 2, "awaiting_reinspection")
    ]


def test_the_history_is_append_only(world: World, entries: Any) -> None:
    connection = world.session.connection()
    with pytest.raises(DatabaseError, match="append-only"), connection.begin_nested():
        connection.execute(text("UPDATE hazard_events SET reason = 'edited'"))
    with pytest.raises(DatabaseError, match="append-only"), connection.begin_nested():
        connection.execute(text("DELETE FROM hazard_events"))
    assert world.session.scalar(select(func.count()).select_from(HazardEvent)) == 2
