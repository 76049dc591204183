"""What supervisors read: the review queue, one inspection in full, the ledger and its export."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import load_workbook

from backend.models import Role
from backend.services.ledger import states
from tests.backend.ledger.support import MAJOR_RULE, MAJOR_RULE_LABEL, World
from tests.factories import make_enterprise, make_unit, make_user
from tests.sync_support import Tablet, save_args


def _get(world: World, path: str, **params: Any) -> Any:
    reply = world.client.get(path, headers=world.headers(world.supervisor), query_string=params)
    assert reply.status_code == 200, reply.json
    return reply.json


def test_the_queue_filters_by_status_and_pages_with_a_cursor(world: World) -> None:
    ids = [world.submit().id for _ in range(3)]
    world.tablet.push(
        world.tablet.command("inspection.save@1", save_args(world.session, world.enterprise.id))
    )
    page = _get(world, "/api/v1/inspections", status="submitted", limit=2)
    assert [item["id"] for item in page["items"]] == [str(i) for i in ids[:2]]
    rest = _get(
        world, "/api/v1/inspections", status="submitted", limit=2, cursor=page["next_cursor"]
    )
    assert [item["id"] for item in rest["items"]] == [str(ids[2])]
    assert rest["next_cursor"] is None
    newest = _get(world, "/api/v1/inspections", status="submitted", order="newest", limit=1)
    assert newest["items"][0]["id"] == str(ids[2])
    item = page["items"][0]
    assert item["finding_count"] == 2
    assert item["major_finding_count"] == 1
    assert item["kind_label"] == "部门检查"
    assert item["enterprise"]["name"] == world.enterprise.name
    assert len(_get(world, "/api/v1/inspections")["items"]) == 4


def test_the_queue_filters_by_flags_kind_and_people(world: World) -> None:
    major = world.submit()
    minor = world.submit(
        answers={f"confined_space.{n}": "yes" for n in range(1, 8)},
        findings=[],
        kind="self_inspection",
    )
    assert {i["id"] for i in _get(world, "/api/v1/inspections", has_major="true")["items"]} == {
        str(major.id)
    }
    assert {
        i["id"] for i in _get(world, "/api/v1/inspections", kind="self_inspection")["items"]
    } == {str(minor.id)}
    mine = _get(world, "/api/v1/inspections", inspector_id=str(world.inspector.id))["items"]
    assert len(mine) == 2
    assert _get(world, "/api/v1/inspections", has_amendments="true")["items"] == []
    awaiting = _get(world, "/api/v1/inspections", awaiting_media="true")["items"]
    assert {i["id"] for i in awaiting} == {str(major.id), str(minor.id)}  # signatures not uploaded
    today = states.today().isoformat()
    assert _get(world, "/api/v1/inspections", date_from="2026-11-20", date_to="2026-11-20")["items"]
    assert _get(world, "/api/v1/inspections", date_from="2026-11-21", date_to=today)["items"] == []


def test_a_bad_cursor_is_400(world: World) -> None:
    reply = world.client.get(
        "/api/v1/inspections?cursor=bm9wZQ", headers=world.headers(world.supervisor)
    )
    assert (reply.status_code, reply.json["code"]) == (400, "pagination.invalid_cursor")


def test_one_inspection_shows_answers_findings_rules_photos_and_history(world: World) -> None:
    submitted = world.submit()
    world.review(submitted.id, {"decision": "return", "comment": "补拍"})
    detail = _get(world, f"/api/v1/inspections/{submitted.id}")
    assert detail["status"] == "returned"
    assert detail["verdict"]["level"] == "major"
    answers = {a["item"]: a for a in detail["answers"]}
    assert answers["confined_space.1.a"]["defect"] is True
    assert answers["confined_space.1.a"]["text"].startswith("是否对有限空间进行风险辨识评估")
    major, general = detail["findings"]
    assert (major["claimed_level"], major["suggested_level"]) == ("major", "major")
    assert major["suggested_rule"]["code"] == MAJOR_RULE
    assert major["suggested_rule"]["source"]["article"] == "第十三条"
    assert general["suggested_rule"] is None
    assert major["confirmation"] is None
    [signature] = detail["signatures"]
    assert signature["arrived"] is False
    assert signature["links"]["original"] == f"/api/v1/media/{signature['sha256']}"
    assert [r["decision"] for r in detail["reviews"]] == ["return"]
    actions = [h["action"] for h in detail["history"]]
    assert actions == ["inspection.version", "inspection.version", "inspection.return"]
    assert detail["history"][-1]["reason"] == "补拍"


def test_an_amendment_is_shown_to_the_supervisor(world: World) -> None:
    submitted = world.submit()
    late = save_args(world.session, world.enterprise.id, inspection_id=submitted.id)
    reply = world.tablet.push(world.tablet.command("inspection.save@1", late))
    assert reply.json["results"][0]["code"] == "inspection.locked"
    detail = _get(world, f"/api/v1/inspections/{submitted.id}")
    assert [a["reason"] for a in detail["amendments"]] == ["inspection.locked"]
    flagged = _get(world, "/api/v1/inspections", has_amendments="true")["items"]
    assert [i["id"] for i in flagged] == [str(submitted.id)]


def test_the_ledger_filters_and_pages(world: World) -> None:
    first = world.approved()
    second = world.approved(kind="self_inspection")
    everything = _get(world, "/api/v1/hazards", limit=3)
    assert [h["number"] for h in everything["items"]] == [h.number for h in [*first, *second][:3]]
    tail = _get(world, "/api/v1/hazards", limit=3, cursor=everything["next_cursor"])
    assert [h["number"] for h in tail["items"]] == [second[1].number]
    assert [h["id"] for h in _get(world, "/api/v1/hazards", level="major")["items"]] == [
        str(first[0].id),
        str(second[0].id),
    ]
    selfs = _get(world, "/api/v1/hazards", source="self_reported")["items"]
    assert {h["source_label"] for h in selfs} == {"企业自查"}
    assert len(_get(world, "/api/v1/hazards", state="pending")["items"]) == 4
    assert _get(world, "/api/v1/hazards", state="closed")["items"] == []
    window = _get(world, "/api/v1/hazards", deadline_from="2026-12-10", deadline_to="2026-12-31")
    assert {h["deadline"] for h in window["items"]} == {"2026-12-15"}
    assert len(_get(world, "/api/v1/hazards", sector="confined_space")["items"]) == 4
    assert _get(world, "/api/v1/hazards", listed="true")["items"] == []


def test_a_district_admin_sees_the_towns_ledger_by_unit_and_sub_units(world: World) -> None:
    world.approved()
    other_town = make_unit(world.session, parent=world.district)
    enterprise = make_enterprise(world.session, other_town, sector="confined_space")
    inspector = make_user(world.session, other_town, Role.inspector)
    supervisor = make_user(world.session, other_town, Role.supervisor)
    world.session.commit()
    world.enterprise, world.tablet = enterprise, Tablet(world.client, world.headers(inspector))
    world.supervisor = supervisor
    world.approved()
    headers = world.headers(world.admin)
    whole = world.client.get(
        "/api/v1/hazards", headers=headers, query_string={"unit_id": str(world.district.id)}
    ).json
    assert len(whole["items"]) == 4
    town = world.client.get(
        "/api/v1/hazards", headers=headers, query_string={"unit_id": str(other_town.id)}
    ).json
    assert {h["unit_id"] for h in town["items"]} == {str(other_town.id)}
    # A town's supervisor sees only their own town.
    assert len(_get(world, "/api/v1/hazards")["items"]) == 2


def test_one_entry_has_its_history(world: World) -> None:
    major, _general = world.approved()
    detail = _get(world, f"/api/v1/hazards/{major.id}")
    assert detail["rule_label"] == MAJOR_RULE_LABEL
    assert detail["level_label"] == "重大事故隐患"
    assert detail["state_label"] == "待整改"
    [created] = detail["history"]
    assert (created["type"], created["label"], created["state_after"]) == (
        "created",
        "登记入账",
        "pending",
    )
    assert created["actor_id"] == str(world.supervisor.id)


def test_the_export_has_the_headings_an_office_files(world: World) -> None:
    major, general = world.approved()
    reply = world.client.get("/api/v1/hazards?format=xlsx", headers=world.headers(world.supervisor))
    assert reply.status_code == 200
    assert reply.mimetype.endswith("spreadsheetml.sheet")
    assert "attachment" in reply.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(reply.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "隐患排查整治台账"
    headings = rows[2]
    for heading in (
        "序号",
        "隐患编号",
        "被检查单位",
        "行业领域",
        "隐患来源",
        "隐患级别",
        "判定依据",
        "隐患描述",
        "整改要求",
        "整改时限",
        "整改状态",
        "是否挂牌督办",
        "销号时间",
    ):
        assert heading in headings, heading
    body = [dict(zip(headings, row, strict=True)) for row in rows[3:]]
    assert [r["隐患编号"] for r in body] == [major.number, general.number]
    assert body[0]["隐患级别"] == "重大事故隐患"
    assert body[0]["判定依据"] == MAJOR_RULE_LABEL
    assert body[1]["隐患级别"] == "一般隐患"
    assert {r["隐患来源"] for r in body} == {"部门检查"}
    assert {r["行业领域"] for r in body} == {"有限空间作业"}
    assert {r["整改状态"] for r in body} == {"待整改"}
    assert body[0]["被检查单位"] == world.enterprise.name


def test_the_openapi_document_lists_review_and_ledger(world: World) -> None:
    spec = world.client.get("/api/openapi.json").json
    for path in (
        "/api/v1/inspections",
        "/api/v1/inspections/{inspection_id}",
        "/api/v1/inspections/{inspection_id}/review",
        "/api/v1/hazards",
        "/api/v1/hazards/{hazard_id}",
        "/api/v1/hazards/{hazard_id}/events",
        "/api/v1/admin/jobs/failed",
        "/api/v1/admin/jobs/{item_id}/retry",
    ):
        assert path in spec["paths"], path
    content = spec["paths"]["/api/v1/hazards"]["get"]["responses"]["200"]["content"]
    assert set(content) == {
        "application/json",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }
