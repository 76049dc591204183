"""The closed loop the seeds describe: 跟踪督办 by the listing unit, 验收 by someone else,
overdue kept as history, 一患一策 before 整改中, 挂牌督办 with its 文号 and 摘牌, 重新定级, 接报."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from backend.models import Hazard, UnitKind
from backend.services.ledger import states
from tests.backend.ledger.support import World

LISTING = {"requirements": "落实一患一策，按期整改销号", "deadline": "2027-03-31"}
PLAN = {
    "measures": "制定整改方案，设置警示标志并建立台账",
    "funds": 30000,
    "responsible_person": "王经理",
    "plan_deadline": "2026-12-20",
    "emergency_plan": "有限空间作业中毒窒息应急预案",
}


@pytest.fixture
def entries(world: World) -> tuple[Hazard, Hazard]:
    major, general = world.approved()
    return major, general


def _listed(world: World, major: Hazard) -> Any:
    reply = world.event(
        major, world.supervisor, type="listed", unit_id=str(world.district.id), **LISTING
    )
    assert reply.status_code == 200, reply.json
    return reply


def test_a_listed_hazard_is_extended_only_by_the_listing_unit(world: World, entries: Any) -> None:
    major, _general = entries
    _listed(world, major)
    body = {"type": "extended", "deadline": "2027-06-30", "reason": "设备采购周期长"}
    refused = world.event(major, world.supervisor, **body)
    assert (refused.status_code, refused.json["code"]) == (403, "hazard.listing_unit_only")
    assert "延期" in refused.json["message"]
    kept = world.event(major, world.district_supervisor, **body)
    assert kept.status_code == 200, kept.json
    assert kept.json["deadline"] == "2027-06-30"


def test_the_reporter_of_a_rectification_cannot_pass_its_reinspection(
    world: World, entries: Any
) -> None:
    _major, general = entries
    world.event(general, world.inspector, type="rectification_reported", measures="已补送合同备查")
    refused = world.event(general, world.inspector, type="reinspected", passed=True)
    assert (refused.status_code, refused.json["code"]) == (403, "hazard.own_rectification")
    kept = world.event(general, world.supervisor, type="reinspected", passed=True)
    assert kept.json["state"] == "rectified"


def test_overdue_on_a_day_stays_overdue_as_of_that_day_after_an_extension(
    world: World, entries: Any
) -> None:
    major, _general = entries
    headers = world.headers(world.supervisor)
    day = (major.deadline + timedelta(days=1)).isoformat()
    extended = world.event(
        major,
        world.supervisor,
        type="extended",
        deadline=(states.today() + timedelta(days=60)).isoformat(),
        reason="资金未到位",
    )
    assert extended.status_code == 200, extended.json
    listed = world.client.get(f"/api/v1/hazards?overdue={day}", headers=headers).json
    assert major.number in [h["number"] for h in listed["items"]]


def test_a_major_needs_its_plan_before_rectifying(world: World, entries: Any) -> None:
    major, _general = entries
    refused = world.event(
        major, world.inspector, type="rectification_reported", completed=False, measures="整改中"
    )
    assert (refused.status_code, refused.json["code"]) == (422, "hazard.plan_required")
    assert "应急预案" in refused.json["message"]
    assert set(refused.json["errors"]) == {"funds", "responsible_person", "emergency_plan"}
    kept = world.event(
        major, world.inspector, type="rectification_reported", completed=False, **PLAN
    )
    assert kept.json["state"] == "rectifying"
    assert kept.json["plan"] == {
        "responsible_person": "王经理",
        "measures": PLAN["measures"],
        "funds": 30000,
        "plan_deadline": "2026-12-20",
        "emergency_plan": "有限空间作业中毒窒息应急预案",
    }


def test_a_general_hazard_needs_no_plan(world: World, entries: Any) -> None:
    _major, general = entries
    reply = world.event(
        general, world.inspector, type="rectification_reported", completed=False, measures="补送"
    )
    assert (reply.json["state"], reply.json["plan"]) == ("rectifying", None)


def test_listing_has_a_number_per_unit_and_year_a_level_requirements_and_a_deadline(
    world: World, entries: Any
) -> None:
    major, _general = entries
    missing = world.event(major, world.supervisor, type="listed")
    assert missing.json["code"] == "hazard.listing_fields_required"
    reply = _listed(world, major)
    year = states.today().year
    assert reply.json["listing_number"] == f"{world.district.name}挂牌督办〔{year}〕1号"
    assert (reply.json["listing_level"], reply.json["listing_level_label"]) == (
        "government",
        "政府挂牌督办",
    )
    assert reply.json["listing_requirements"] == LISTING["requirements"]
    assert reply.json["listing_deadline"] == LISTING["deadline"]
    assert reply.json["history"][-1]["data"]["listing_number"] == reply.json["listing_number"]

    second = world.approved()[0]
    again = world.event(
        second, world.supervisor, type="listed", unit_id=str(world.district.id), **LISTING
    )
    assert again.json["listing_number"] == f"{world.district.name}挂牌督办〔{year}〕2号"


def test_a_department_lists_at_department_level(world: World, entries: Any) -> None:
    major, _general = entries
    world.town.kind = UnitKind.department  # the inspecting unit is a 区直部门
    world.session.commit()
    reply = world.event(major, world.supervisor, type="listed", **LISTING)
    assert (reply.json["listing_level"], reply.json["listing_level_label"]) == (
        "department",
        "部门挂牌督办",
    )
    assert reply.json["listing_number"].startswith(f"{world.town.name}挂牌督办〔")


def test_closing_a_listed_hazard_delists_it(world: World, entries: Any) -> None:
    major, _general = entries
    _listed(world, major)
    world.event(major, world.inspector, type="rectification_reported", **PLAN)
    photo = world.photo(world.town, world.supervisor)
    world.event(major, world.supervisor, type="reinspected", passed=True, photos=[photo])
    closed = world.event(major, world.district_supervisor, type="closed", comment="验收销号")
    assert closed.status_code == 200, closed.json
    assert closed.json["delisted_on"] == states.today().isoformat()
    assert closed.json["listed"] is False
    assert closed.json["history"][-1]["data"]["delisted_on"] == states.today().isoformat()


def test_a_wrong_major_is_reclassified_with_reason_and_history(world: World, entries: Any) -> None:
    major, general = entries
    no_reason = world.event(major, world.supervisor, type="reclassified", level="general")
    assert no_reason.json["code"] == "hazard.reason_required"
    reply = world.event(
        major, world.supervisor, type="reclassified", level="general", reason="三个条件未同时满足"
    )
    assert reply.status_code == 200, reply.json
    assert (reply.json["level"], reply.json["clause"]) == ("general", None)
    last = reply.json["history"][-1]
    assert (last["type"], last["reason"]) == ("reclassified", "三个条件未同时满足")
    assert last["data"]["level_before"] == "major"
    assert last["data"]["clause_before"] == "gmqy2023.13.1"

    no_clause = world.event(
        general, world.supervisor, type="reclassified", level="major", reason="x"
    )
    assert no_clause.json["code"] == "hazard.clause_required"
    up = world.event(
        general,
        world.supervisor,
        type="reclassified",
        level="major",
        clause="gmqy2023.13.2",
        reason="复核确认未落实作业审批",
    )
    assert (up.json["level"], up.json["clause"]) == ("major", "gmqy2023.13.2")
    assert up.json["rule_label"] == "《工贸企业重大事故隐患判定标准》第十三条（二）"


def test_reclassifying_to_major_needs_a_clause_in_scope(world: World, entries: Any) -> None:
    _major, general = entries
    reply = world.event(
        general,
        world.supervisor,
        type="reclassified",
        level="major",
        clause="czrq2023.6.1",
        reason="x",
    )
    assert reply.json["code"] == "hazard.clause_not_applicable"


def test_a_self_reported_hazard_records_its_receipt(world: World) -> None:
    major, _general = world.approved(kind="self_inspection")
    no_channel = world.event(major, world.supervisor, type="received")
    assert no_channel.json["code"] == "hazard.channel_required"
    reply = world.event(
        major,
        world.supervisor,
        type="received",
        channel="系统直报",
        received_at="2026-11-21T09:30:00+08:00",
    )
    assert reply.status_code == 200, reply.json
    assert reply.json["report_channel"] == "系统直报"
    received = datetime.fromisoformat(reply.json["reported_at"])
    assert received == datetime(2026, 11, 21, 1, 30, tzinfo=UTC)
    again = world.event(major, world.supervisor, type="received", channel="书面报告")
    assert again.json["code"] == "hazard.already_received"


def test_a_department_hazard_has_no_receipt(world: World, entries: Any) -> None:
    major, _general = entries
    reply = world.event(major, world.supervisor, type="received", channel="系统直报")
    assert (reply.status_code, reply.json["code"]) == (409, "hazard.not_self_reported")


def test_a_major_without_a_clause_from_before_the_catalogue_is_given_one(
    world: World, entries: Any
) -> None:
    major, _general = entries
    major.clause = None  # as migration 0011 leaves a major that cited no rule
    major.rule_label = None
    world.session.commit()
    same = world.event(major, world.supervisor, type="reclassified", level="major", reason="补")
    assert same.json["code"] == "hazard.clause_required"
    cited = world.event(
        major,
        world.supervisor,
        type="reclassified",
        level="major",
        clause="gmqy2023.13.1",
        reason="补记判定条款",
    )
    assert cited.status_code == 200, cited.json
    assert (cited.json["level"], cited.json["clause"]) == ("major", "gmqy2023.13.1")
    last = cited.json["history"][-1]
    assert (last["data"]["clause_before"], last["data"]["clause"]) == (None, "gmqy2023.13.1")
    again = world.event(
        major,
        world.supervisor,
        type="reclassified",
        level="major",
        clause="gmqy2023.13.2",
        reason="x",
    )
    assert again.json["code"] == "hazard.level_unchanged"  # one with a clause stays as it is
