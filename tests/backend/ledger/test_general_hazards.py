"""Hazards outside the three sheets: the generic sheet, any sector, a catalogue clause for 重大."""

from __future__ import annotations

import uuid
from typing import Any

from tests.backend.ledger.support import World
from tests.factories import make_enterprise
from tests.sync_support import finding, save_args


def _submitted(
    world: World,
    findings: list[dict[str, Any]],
    sector: str = "industry_trade",
    *,
    photos: bool = True,
) -> Any:
    world.enterprise = make_enterprise(world.session, world.town, sector=sector)
    world.session.commit()
    photo = world.photo(world.town, world.inspector)
    for f in findings:
        f["photos"] = [photo] if photos else []
    args = save_args(
        world.session, world.enterprise.id, code="general", answers={}, findings=findings
    )
    world.session.commit()
    reply = world.tablet.push(
        world.tablet.command("inspection.save@1", args),
        world.tablet.command("inspection.submit@1", {"id": args["id"]}),
    )
    return args, reply.json["results"]


def test_a_general_hazard_from_any_sector_reaches_the_ledger_with_its_sector(world: World) -> None:
    fire = finding([], description="疏散通道堆放杂物", sector="fire")
    args, results = _submitted(world, [fire])
    assert [r["status"] for r in results] == ["applied", "applied"], results
    body = {"decision": "approve", "findings": [{"id": fire["id"], "level": "general"}]}
    assert world.review(args["id"], body).status_code == 200
    world.jobs.run_all()
    (entry,) = world.hazards(uuid.UUID(args["id"]))
    assert (entry.sector, entry.level, entry.description) == ("fire", "general", "疏散通道堆放杂物")
    assert entry.before_photos  # its 佐证


def test_a_major_on_the_generic_sheet_cites_a_catalogue_clause(world: World) -> None:
    tank = finding([], description="污水池有限空间作业未审批", claimed_level="major")
    args, results = _submitted(world, [tank])
    assert results[1]["status"] == "applied", results
    no_clause = {
        "decision": "approve",
        "findings": [{"id": tank["id"], "level": "major", "override_reason": "现场作业未审批"}],
    }
    assert world.review(args["id"], no_clause).json["code"] == "review.clause_required"
    no_clause["findings"][0]["clause"] = "gmqy2023.13.2"
    reply = world.review(args["id"], no_clause)
    assert reply.status_code == 200, reply.json
    world.jobs.run_all()
    (entry,) = world.hazards(uuid.UUID(args["id"]))
    assert (entry.level, entry.clause, entry.sector) == ("major", "gmqy2023.13.2", "industry_trade")


def test_a_clause_whose_standard_does_not_bind_the_sector_is_refused(world: World) -> None:
    fire = finding([], description="消防设施损坏", claimed_level="major", sector="fire")
    args, _results = _submitted(world, [fire])
    body = {
        "decision": "approve",
        "findings": [
            {"id": fire["id"], "level": "major", "clause": "gmqy2023.13.2", "override_reason": "x"}
        ],
    }
    reply = world.review(args["id"], body)
    assert reply.json["code"] == "review.clause_not_applicable"


def test_a_generic_hazard_needs_its_photos_and_a_known_sector(world: World) -> None:
    bare = finding([], description="配电箱无防护")
    _args, results = _submitted(world, [bare], photos=False)
    assert results[1]["code"] == "inspection.incomplete"
    assert "photo of finding 0" in results[1]["message"]
    odd = finding([], description="x", sector="nope")
    _args, results = _submitted(world, [odd])
    assert results[0]["code"] == "finding.sector_unknown"


def test_the_industry_trade_standard_does_not_bind_an_enterprise_of_no_named_sector(
    world: World,
) -> None:
    """工贸 第十三条 binds 工贸企业: a hazard in 其他 cannot be made major under it."""
    tank = finding([], description="化粪池清掏作业未审批", claimed_level="major")
    args, _results = _submitted(world, [tank], sector="other")
    body = {
        "decision": "approve",
        "findings": [
            {"id": tank["id"], "level": "major", "clause": "gmqy2023.13.2", "override_reason": "x"}
        ],
    }
    reply = world.review(args["id"], body)
    assert reply.json["code"] == "review.clause_not_applicable"
    assert "binds 工贸企业" in reply.json["errors"]["findings"][tank["id"]][0]
