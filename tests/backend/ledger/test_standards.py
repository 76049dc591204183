"""Only what the standard says is 重大: one situation one major, no major without a clause in
force, and the reasons a claimed 重大 is not one (push reply and pull data)."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.models import Finding, Hazard, Inspection, Role
from tests.backend.ledger.support import MAJOR_RULE, RecordingDispatcher, World, problem_answers
from tests.backend.ledger.test_review import pull_until
from tests.factories import make_enterprise, make_user
from tests.sync_support import finding, photo_hash, save_args

HEADER = {
    "project": "福州某安置房项目",
    "project_manager": "陈项目",
    "chief_supervisor": "林总监",
    "inspected_at": "2026-11-20T09:00:00+08:00",
}


def _three_findings() -> list[dict[str, Any]]:
    """One finding per missing condition of 第十三条（一）, the way inspectors write them."""
    return [
        finding(["confined_space.1.a"], description="未对有限空间进行辨识", photos=[]),
        finding(["confined_space.1.c"], description="未建立有限空间安全管理台账"),
        finding(["confined_space.1.b"], description="未设置明显的安全警示标志"),
        finding(["confined_space.2"], description="有限空间作业合同未送县级主管部门备查"),
    ]


def _approve_as_suggested(world: World, submitted: Any, findings: list[dict[str, Any]]) -> Any:
    rows = world.session.scalars(
        select(Finding)
        .where(Finding.inspection_id == submitted.id)
        .execution_options(populate_existing=True)
    )
    suggested = {str(f.id): f.suggested_level for f in rows}
    body = {
        "decision": "approve",
        "findings": [{"id": f["id"], "level": suggested[f["id"]]} for f in findings],
    }
    return world.review(submitted.id, body)


def test_three_findings_of_13_1_give_one_major_entry_citing_the_clause(world: World) -> None:
    findings = _three_findings()
    submitted = world.submit(findings=findings)
    reply = _approve_as_suggested(world, submitted, findings)
    assert reply.status_code == 200, reply.json
    assert world.jobs.run_all() == ["done"]
    entries = world.hazards(submitted.id)
    majors = [h for h in entries if h.level == "major"]
    assert len(majors) == 1
    (major,) = majors
    assert (major.rule, major.clause) == (MAJOR_RULE, "gmqy2023.13.1")
    assert major.rule_label == "《工贸企业重大事故隐患判定标准》第十三条（一）"
    assert major.findings == [f["id"] for f in findings[:3]]
    assert (
        major.description
        == "未对有限空间进行辨识；未建立有限空间安全管理台账；未设置明显的安全警示标志"
    )
    assert [h.level for h in entries] == ["major", "general"]

    # The reviewer sees the situation: one group, the others merged into the lead's entry.
    shown = world.client.get(
        f"/api/v1/inspections/{submitted.id}", headers=world.headers(world.supervisor)
    ).json["findings"]
    lead = findings[0]["id"]
    assert [f["suggested_group"] for f in shown] == [lead, lead, lead, None]
    assert [f["confirmation"]["merged_into"] for f in shown] == [None, lead, lead, None]
    assert [f["confirmation"]["clause"] for f in shown[:3]] == ["gmqy2023.13.1"] * 3
    assert {f["hazard"]["number"] for f in shown[:3]} == {major.number}


def test_the_tablet_sees_the_three_findings_as_one_group(world: World) -> None:
    findings = _three_findings()
    result = _push_save(world, findings, problem_answers())
    shown = result["entity"]["findings"]
    assert [f["suggested_group"] for f in shown] == [findings[0]["id"]] * 3 + [None]
    assert [f["suggested_level"] for f in shown] == ["major"] * 3 + ["general"]


def test_32a_and_32b_give_one_major_entry_under_11_1(world: World) -> None:
    world.enterprise = make_enterprise(world.session, world.town, sector="construction")
    world.session.commit()
    findings = [
        finding(["construction.32.a"], description="有限空间作业未履行作业审批制度"),
        finding(["construction.32.b"], description="未对施工人员进行专项安全教育培训"),
    ]
    answers = {f"construction.{n}": "no" for n in range(33, 45)}
    answers.update(
        {"construction.32.a": "yes", "construction.32.b": "yes", "construction.32.c": "no"}
    )
    answers.update({"construction.39.a": "no", "construction.39.b": "yes"})
    answers["construction.42"] = "yes"
    submitted = world.submit(code="construction", findings=findings, answers=answers, **HEADER)
    reply = _approve_as_suggested(world, submitted, findings)
    assert reply.status_code == 200, reply.json
    world.jobs.run_all()
    (entry,) = world.hazards(submitted.id)
    assert (entry.level, entry.clause) == ("major", "fhsz2022.11.1")
    assert entry.findings == [f["id"] for f in findings]


def test_a_clause_not_in_force_on_the_inspection_date_is_refused(world: World) -> None:
    world.enterprise = make_enterprise(world.session, world.town, sector="gas")
    world.session.commit()
    findings = [finding(["gas.3.b"], description="中压燃气管道被违章建筑占压")]
    answers = {"gas.1": "no", "gas.2": "no", "gas.3.a": "no", "gas.3.b": "yes", "gas.3.c": "no"}
    submitted = world.submit(
        code="gas",
        findings=findings,
        answers=answers,
        started_at="2023-06-15T09:00:00+08:00",
        finished_at="2023-06-15T10:00:00+08:00",
    )
    # Judged by the standards of its date: not even suggested major.
    (row,) = world.session.scalars(select(Finding).where(Finding.inspection_id == submitted.id))
    assert row.suggested_level == "general"
    assert any("not in force on 2023-06-15" in n for n in row.suggestion_notes)
    body = {
        "decision": "approve",
        "findings": [
            {
                "id": findings[0]["id"],
                "level": "major",
                "clause": "czrq2023.6.1",
                "override_reason": "占压严重",
            }
        ],
    }
    reply = world.review(submitted.id, body)
    assert reply.status_code == 422, reply.json
    assert reply.json["code"] == "review.clause_not_applicable"
    (text,) = reply.json["errors"]["findings"][findings[0]["id"]]
    assert "not in force on 2023-06-15" in text


def test_every_major_entry_has_a_clause(world: World) -> None:
    world.approved()
    majors = [h for h in world.session.query(Hazard).all() if h.level == "major"]
    assert majors
    assert all(h.clause for h in majors)


def _push_save(world: World, findings: list[dict[str, Any]], answers: dict[str, str]) -> Any:
    args = save_args(world.session, world.enterprise.id, answers=answers, findings=findings)
    world.session.commit()
    reply = world.tablet.push(world.tablet.command("inspection.save@1", args))
    (result,) = reply.json["results"]
    assert result["status"] == "applied", result
    return result


def test_a_claimed_major_missing_a_condition_says_which_in_push_and_pull(world: World) -> None:
    answers = {**problem_answers(), "confined_space.1.b": "yes"}  # warning signs are there
    claimed = finding(["confined_space.1"], description="未辨识、未建台账", claimed_level="major")
    result = _push_save(world, [claimed], answers)
    (shown,) = result["entity"]["findings"]
    assert shown["suggested_level"] == "general"
    (note,) = [n for n in shown["suggestion_notes"] if "第十三条（一）" in n]
    assert "1(c) 建立管理台账 ✓" in note
    assert "1(b) 进行分类标识" in note
    assert "✗" in note

    (row,) = world.session.scalars(select(Finding).where(Finding.id == uuid.UUID(claimed["id"])))
    assert row.suggestion_notes == shown["suggestion_notes"]  # what pull serves (next test)


def test_pull_data_says_which_condition_is_missing(live_app: Flask, live_session: Session) -> None:
    live_app.extensions["anjian"].dispatcher = RecordingDispatcher()
    world = World(live_app, live_app.test_client(), live_session)
    answers = {**problem_answers(), "confined_space.1.b": "yes"}
    claimed = finding(["confined_space.1"], description="未辨识、未建台账", claimed_level="major")
    _push_save(world, [claimed], answers)
    live_session.commit()
    mine = pull_until(world, lambda c: c["type"] == "inspection")
    (shown,) = mine["data"]["findings"]
    assert shown["suggested_level"] == "general"
    assert any("1(b) 进行分类标识" in n and "✗" in n for n in shown["suggestion_notes"])


def test_7c_no_alone_is_general_with_the_reason(world: World) -> None:
    answers = {**problem_answers(), "confined_space.7.a": "yes", "confined_space.7.b": "yes"}
    answers.update({"confined_space.7.c": "no", "confined_space.7.d": "yes"})
    answers.update({"confined_space.7.e": "yes", "confined_space.7.f": "yes"})
    del answers["confined_space.7"]
    seen = finding(
        ["confined_space.7.c"],
        description="作业现场未见有限空间作业审批手续",
        claimed_level="major",
    )
    result = _push_save(world, [seen], answers)
    (shown,) = result["entity"]["findings"]
    assert shown["suggested_level"] == "general"
    assert any(
        "作业现场未见有限空间作业审批手续" in n and "第十三条（二）" in n
        for n in shown["suggestion_notes"]
    )
    # With the approval itself not carried out, it is 第十三条（二）.
    approval = {**answers, "confined_space.7.c.not_approved": "yes"}
    result = _push_save(
        world, [finding(["confined_space.7.c"], description="未落实审批")], approval
    )
    assert result["entity"]["findings"][0]["suggested_rule"] == "confined_space.gmqy2023.13.2"


def test_a_parent_not_applicable_with_defect_sub_checks_is_rejected(world: World) -> None:
    answers = {**problem_answers(), "confined_space.1": "na"}
    args = save_args(world.session, world.enterprise.id, answers=answers, findings=[])
    world.session.commit()
    reply = world.tablet.push(world.tablet.command("inspection.save@1", args))
    (result,) = reply.json["results"]
    assert result["status"] == "rejected"
    assert result["code"] == "inspection.not_applicable_with_defects"
    assert "Item 1" in result["message"]
    assert "1(a)" in result["message"]


def test_a_rule_outside_its_scope_is_not_suggested(world: World) -> None:
    """工贸 第十三条 binds 工贸企业 (and confined-space operators): not a construction site."""
    world.enterprise = make_enterprise(world.session, world.town, sector="construction")
    world.session.commit()
    claimed = finding(["confined_space.1"], description="三项均未落实", claimed_level="major")
    result = _push_save(world, [claimed], problem_answers())
    (shown,) = result["entity"]["findings"]
    assert shown["suggested_level"] == "general"
    assert any("binds 工贸企业" in n for n in shown["suggestion_notes"])


def test_the_catalogue_is_served(world: World) -> None:
    headers = world.headers(world.supervisor)
    clauses = world.client.get("/api/v1/standards", headers=headers).json["items"]
    codes = {c["code"] for c in clauses}
    assert {"gmqy2023.13.1", "fhsz2022.4.3", "czrq2023.6.1"} <= codes
    one = world.client.get("/api/v1/standards/fhsz2022.4.3", headers=headers).json
    assert one["text"] == "建筑施工特种作业人员未取得特种作业人员操作资格证书上岗作业"
    assert one["article_inferred"] is True
    assert one["standard"]["effective_from"] == "2022-04-01"
    missing = world.client.get("/api/v1/standards/nope", headers=headers)
    assert missing.status_code == 404


def _construction_save(world: World, **extra: Any) -> dict[str, Any]:
    world.enterprise = make_enterprise(world.session, world.town, sector="construction")
    world.session.commit()
    answers = {f"construction.{n}": "no" for n in range(32, 45)}
    answers.update(
        {"construction.39.a": "no", "construction.39.b": "yes", "construction.42": "yes"}
    )
    del answers["construction.39"]
    return save_args(
        world.session, world.enterprise.id, code="construction", answers=answers, **extra
    )


def _push(world: World, *commands: dict[str, Any]) -> list[dict[str, Any]]:
    world.session.commit()
    reply = world.tablet.push(*commands)
    return reply.json["results"]  # type: ignore[no-any-return]


def test_the_printed_header_is_required_at_submit_where_the_sheet_prints_it(world: World) -> None:
    args = _construction_save(world)
    save = world.tablet.command("inspection.save@1", args)
    submit = world.tablet.command("inspection.submit@1", {"id": args["id"]})
    saved, refused = _push(world, save, submit)
    assert saved["status"] == "applied"
    assert (refused["status"], refused["code"]) == ("rejected", "inspection.incomplete")
    assert "检查项目 (project)" in refused["message"]
    assert "总监 (chief_supervisor)" in refused["message"]

    again = world.tablet.command("inspection.save@1", {**args, **HEADER})
    submit = world.tablet.command("inspection.submit@1", {"id": args["id"]})
    results = _push(world, again, submit)
    assert [r["status"] for r in results] == ["applied", "applied"], results
    inspection = world.session.get(Inspection, uuid.UUID(args["id"]), populate_existing=True)
    assert inspection is not None
    assert inspection.record["project_manager"] == "陈项目"
    assert inspection.record["inspected_at"].startswith("2026-11-20T")


def test_a_confined_space_sheet_prints_no_header_and_needs_none(world: World) -> None:
    world.submit()  # World.submit asserts both commands applied, with no header fields


def test_every_listed_inspector_has_an_identity_and_signs(world: World) -> None:
    args = _construction_save(world, inspectors=[{"name": "李检查"}, {"name": "王检查"}], **HEADER)
    save = world.tablet.command("inspection.save@1", args)
    submit = world.tablet.command("inspection.submit@1", {"id": args["id"]})
    _saved, refused = _push(world, save, submit)
    assert refused["code"] == "inspection.incomplete"
    missing = refused["errors"]["missing"]
    assert "signature of 检查人员 王检查 (role 'inspector', name '王检查')" in missing
    assert "user_id of 检查人员 李检查 (each co-inspector is an account)" in missing


def test_co_inspectors_who_are_accounts_of_the_unit_and_sign_are_accepted(world: World) -> None:
    colleague = make_user(world.session, world.town, Role.inspector)
    args = _construction_save(
        world,
        inspectors=[
            {"name": "李检查", "user_id": str(world.inspector.id)},
            {"name": "王检查", "user_id": str(colleague.id)},
        ],
        signatures=[
            {"role": "inspector", "name": "李检查", "sha256": photo_hash()},
            {"role": "inspector", "name": "王检查", "sha256": photo_hash()},
        ],
        **HEADER,
    )
    save = world.tablet.command("inspection.save@1", args)
    submit = world.tablet.command("inspection.submit@1", {"id": args["id"]})
    results = _push(world, save, submit)
    assert [r["status"] for r in results] == ["applied", "applied"], results
    inspection = world.session.get(Inspection, uuid.UUID(args["id"]), populate_existing=True)
    assert inspection is not None
    assert [p["user_id"] for p in inspection.inspectors] == [
        str(world.inspector.id),
        str(colleague.id),
    ]


def test_a_listed_inspector_with_an_unknown_account_is_refused(world: World) -> None:
    nobody = str(uuid.uuid4())
    args = _construction_save(
        world,
        inspectors=[
            {"name": "李检查", "user_id": str(world.inspector.id)},
            {"name": "王检查", "user_id": nobody},
        ],
        signatures=[
            {"role": "inspector", "name": "李检查", "sha256": photo_hash()},
            {"role": "inspector", "name": "王检查", "sha256": photo_hash()},
        ],
        **HEADER,
    )
    # An id that names no account of the unit is refused when saved (sync/inspections.py).
    (refused,) = _push(world, world.tablet.command("inspection.save@1", args))
    assert (refused["status"], refused["code"]) == ("rejected", "inspection.inspector_unknown")
    assert nobody in refused["message"]


def test_4_3_is_suggested_for_no_certificate_and_not_for_one_not_renewed(world: World) -> None:
    args = _construction_save(world, **HEADER)
    answers = {a["item"]: a["answer"] for a in args["answers"]}
    answers.update(
        {"construction.41.c": "yes", "construction.41.a": "no", "construction.41.b": "no"}
    )
    answers.pop("construction.41", None)
    electrician = finding(
        ["construction.41.c"], description="建筑电工未持证作业", claimed_level="major"
    )

    def pushed(fact: str) -> dict[str, Any]:
        given = {**answers, fact: "yes"}
        args["answers"] = [{"item": k, "answer": v, "note": None} for k, v in given.items()]
        args["findings"] = [electrician]
        (result,) = _push(world, world.tablet.command("inspection.save@1", args))
        assert result["status"] == "applied", result
        return result["entity"]["findings"][0]  # type: ignore[no-any-return]

    unissued = pushed("construction.41.c.unissued")
    assert (unissued["suggested_level"], unissued["suggested_rule"]) == (
        "major",
        "construction.fhsz2022.4.3",
    )
    unrenewed = pushed("construction.41.c.unrenewed")
    assert unrenewed["suggested_level"] == "general"
    assert any("未复审" in n for n in unrenewed["suggestion_notes"])


def test_citing_the_suggested_rules_clause_needs_no_reason(world: World) -> None:
    submitted = world.submit()
    body = submitted.approval()
    body["findings"][0]["clause"] = "gmqy2023.13.1"
    reply = world.review(submitted.id, body)
    assert reply.status_code == 200, reply.json
    world.jobs.run_all()
    major, _general = world.hazards(submitted.id)
    assert (major.rule, major.clause, major.override_reason) == (MAJOR_RULE, "gmqy2023.13.1", None)


def test_majors_confirmed_before_the_catalogue_get_the_clause_of_their_rule(
    live_app: Flask, live_session: Session, live_engine: Any
) -> None:
    """Migration 0011 backfills: a major entry written before clauses existed cites the clause
    its checklist rule names, on the entry and on its confirmation."""
    from backend import migrate
    from backend.models import FindingConfirmation

    live_app.extensions["anjian"].dispatcher = RecordingDispatcher()
    world = World(live_app, live_app.test_client(), live_session)
    major, general = world.approved()
    live_session.commit()
    live_session.close()
    migrate.downgrade(live_engine, "0013")  # as the database was before the catalogue
    migrate.upgrade(live_engine)
    with Session(live_engine) as session:
        entries = {h.id: h for h in session.scalars(select(Hazard))}
        assert (entries[major.id].level, entries[major.id].clause) == ("major", "gmqy2023.13.1")
        assert entries[general.id].clause is None
        confirmation = session.get_one(FindingConfirmation, major.finding_id)
        assert confirmation.clause == "gmqy2023.13.1"
