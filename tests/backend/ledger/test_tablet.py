"""hazard.reinspect@1: a re-inspection (复查) recorded on a tablet offline, pushed later."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from backend.models import HazardEvent, InspectionMedia, Role
from tests.backend.ledger.support import World
from tests.factories import make_enterprise, make_unit, make_user
from tests.sync_support import Tablet, photo_hash


def _reported(world: World, reporter: Any = None) -> Any:
    """Rectification reported by the unit's supervisor: the tablet's inspector re-inspects."""
    _major, general = world.approved()
    reply = world.event(
        general,
        reporter or world.supervisor,
        type="rectification_reported",
        measures="已补送合同备查",
    )
    assert reply.json["state"] == "awaiting_reinspection"
    return general


def _reinspect(world: World, tablet: Tablet, hazard_id: Any, **args: Any) -> dict[str, Any]:
    command = tablet.command(
        "hazard.reinspect@1", {"hazard_id": str(hazard_id), "passed": True, **args}
    )
    reply = tablet.push(command)
    assert reply.status_code == 200, reply.json
    [result] = reply.json["results"]
    return {**result, "command": command}


def test_a_tablet_records_a_passed_reinspection_with_photos_still_to_upload(world: World) -> None:
    hazard = _reported(world)
    photo = photo_hash()
    result = _reinspect(
        world,
        world.tablet,
        hazard.id,
        photos=[photo],
        comment="现场复查合格",
        reinspected_at="2026-11-25T10:00:00+08:00",
    )
    assert result["status"] == "applied", result
    world.session.refresh(hazard)
    assert result["entity"] == {"type": "hazard", "id": str(hazard.id), "version": hazard.version}
    assert hazard.state.value == "rectified"
    assert hazard.after_photos == [photo]
    event = world.session.scalars(
        select(HazardEvent)
        .where(HazardEvent.hazard_id == hazard.id)
        .order_by(HazardEvent.id.desc())
    ).first()
    assert event is not None
    assert (event.type, event.actor_id) == ("reinspected", world.inspector.id)
    assert str(event.device_id) == world.tablet.device_id
    assert event.data["reinspected_at"] == "2026-11-25T10:00:00+08:00"  # as the device said
    # The photo is now evidence of the inspection: kept, and shown with it once uploaded.
    refs = world.session.scalars(
        select(InspectionMedia.sha256).where(InspectionMedia.inspection_id == hazard.inspection_id)
    ).all()
    assert photo in refs


def test_the_reporter_of_a_rectification_cannot_pass_it_from_a_tablet(world: World) -> None:
    hazard = _reported(world, reporter=world.inspector)
    result = _reinspect(world, world.tablet, hazard.id)
    assert (result["status"], result["code"]) == ("rejected", "hazard.own_rectification")
    failed = _reinspect(world, world.tablet, hazard.id, passed=False, comment="仍未整改到位")
    assert failed["status"] == "applied"  # a failed re-inspection the reporter may record


def test_a_replayed_reinspection_is_applied_once(world: World) -> None:
    hazard = _reported(world)
    result = _reinspect(world, world.tablet, hazard.id)
    again = world.tablet.push(result["command"])
    assert again.json["results"][0]["status"] == "duplicate"
    events = world.session.scalars(
        select(HazardEvent.type).where(HazardEvent.hazard_id == hazard.id)
    ).all()
    assert events.count("reinspected") == 1


def test_a_reinspection_in_the_wrong_state_is_rejected_and_the_queue_moves_on(
    world: World,
) -> None:
    _major, general = world.approved()
    result = _reinspect(world, world.tablet, general.id)
    assert (result["status"], result["code"]) == ("rejected", "hazard.state_pending")
    assert "待整改" in result["message"]
    follow = _reinspect(world, world.tablet, uuid.uuid4())
    assert (follow["status"], follow["code"]) == ("rejected", "hazard.not_found")


def test_a_failed_reinspection_needs_a_comment(world: World) -> None:
    hazard = _reported(world)
    result = _reinspect(world, world.tablet, hazard.id, passed=False)
    assert (result["status"], result["code"]) == ("rejected", "hazard.comment_required")
    result = _reinspect(world, world.tablet, hazard.id, passed=False, comment="仍未备查")
    assert result["status"] == "applied"
    world.session.refresh(hazard)
    assert hazard.state.value == "rectifying"


def test_malformed_arguments_are_rejected(world: World) -> None:
    result = _reinspect(world, world.tablet, "not-a-uuid", passed="maybe")
    assert (result["status"], result["code"]) == ("rejected", "command.invalid")
    assert set(result["errors"]["args"]) == {"hazard_id", "passed"}


def test_another_units_hazard_is_not_found_from_a_tablet(world: World) -> None:
    hazard = _reported(world)
    elsewhere = make_unit(world.session)
    make_enterprise(world.session, elsewhere)
    stranger = make_user(world.session, elsewhere, Role.inspector)
    tablet = Tablet(world.client, world.headers(stranger))
    result = _reinspect(world, tablet, hazard.id)
    assert (result["status"], result["code"]) == ("rejected", "hazard.not_found")
