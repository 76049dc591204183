"""A filed 调度表 as one bundle: its frozen figures, and every record and photo behind every cell
as the filing counted them; the manifest maps each cell to its files (issue 14, report scope)."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta
from typing import Any

import pytest

from backend.models import Hazard, HazardEvent, ReportFiling, utcnow
from backend.services.ledger.states import CHINA
from media.bundle import verify_zip
from tests.backend.bundles.support import DESCRIPTION, BundleWorld, manifest, members
from tests.backend.ledger.support import problem_answers
from tests.backend.records.test_documents import pdf, put, sha
from tests.sync_support import finding

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:weasyprint.*")

DECISION_NUMBER = "闽应急罚〔2026〕12号"


def today() -> str:
    return utcnow().astimezone(CHINA).date().isoformat()


def document(world: BundleWorld, data: bytes) -> str:
    headers = world.headers(world.supervisor)
    world.session.commit()
    reply = put(world.client, headers, data, "application/pdf")
    assert reply.status_code == 200, reply.json  # type: ignore[attr-defined]
    return sha(data)


def penalty(world: BundleWorld, hazard_id: uuid.UUID, decision: str, photo: str) -> dict[str, Any]:
    body = {
        "kind": "penalty",
        "occurred_on": today(),
        "enterprise_id": str(world.enterprise.id),
        "hazard_ids": [str(hazard_id)],
        "detail": {
            "decision_number": DECISION_NUMBER,
            "decided_on": today(),
            "legal_basis": "《安全生产法》第一百零二条",
            "work_safety": True,
            "party_name": world.enterprise.name,
            "amount_yuan": "20000.00",
        },
        "documents": [{"sha256": decision, "role": "decision"}],
        "photos": [photo],
    }
    headers = world.headers(world.supervisor)
    world.session.commit()
    reply = world.client.post("/api/v1/enforcement-actions", headers=headers, json=body)
    assert reply.status_code == 201, reply.json
    return dict(reply.json)


def file_report(world: BundleWorld, reason: str | None = None) -> dict[str, Any]:
    """The town's 荔城 调度表 over the weeks around today, filed by its supervisor."""
    day = utcnow().astimezone(CHINA).date()
    body = {
        "template": "licheng",
        "from": (day - timedelta(days=60)).isoformat(),
        "to": (day + timedelta(days=30)).isoformat(),
        "preparer_id": str(world.inspector.id),
    }
    if reason:
        body["reason"] = reason
    headers = world.headers(world.supervisor)
    world.session.commit()
    reply = world.client.post("/api/v1/reports/filings", headers=headers, json=body)
    assert reply.status_code == 201, reply.json
    return dict(reply.json)


def correct(world: BundleWorld, record: dict[str, Any], note: str) -> None:
    headers = world.headers(world.supervisor)
    world.session.commit()
    corrected = world.client.post(
        f"/api/v1/enforcement-actions/{record['id']}/corrections",
        headers=headers,
        json={"reason": "备注补充", "expected_version": 1, "note": note},
    )
    assert corrected.status_code == 201, corrected.json


def pending_hazard(world: BundleWorld) -> tuple[Hazard, str]:
    """A major hazard confirmed into the ledger with its before photo, its loop not started."""
    before = world.photo()
    found = finding(
        ["confined_space.1"],
        description=DESCRIPTION,
        requirement="立即辨识有限空间，建立管理台账，设置安全警示标志",
        deadline="2026-12-31",
        claimed_level="major",
        photos=[before],
    )
    submitted = world.submit(
        findings=[found], answers={**problem_answers(), "confined_space.2": "yes"}
    )
    body = {
        "decision": "approve",
        "comment": "同意",
        "findings": [{"id": str(submitted.major_finding), "level": "major"}],
    }
    reply = world.review(submitted.id, body)
    assert reply.status_code == 200, reply.json
    assert world.jobs.run_all() == ["done"]
    [hazard] = world.hazards(submitted.id)
    return hazard, before


def test_a_filed_report_bundle_holds_every_file_behind_every_cell_and_maps_them(
    world: BundleWorld,
) -> None:
    loop = world.whole_loop()
    decision_pdf = pdf(pages=2)
    decision = document(world, decision_pdf)
    photo = world.photo()
    record = penalty(world, loop.hazard.id, decision, photo)
    filing = file_report(world)

    status = world.built("report", uuid.UUID(filing["id"]))
    data = world.download(status)
    assert verify_zip(io.BytesIO(data)) == []
    about = manifest(data)
    files = {f["path"]: f for f in about["files"]}
    town = world.town.name
    folder = about["title"]
    assert folder.startswith(f"调度表-{town}-")
    assert "至" in folder
    assert about["subject"] == {
        "type": "report_filing",
        "id": filing["id"],
        "version": 1,
        "sha256": filing["sha256"],
    }
    # The penalty, at the version counted, with its decision and photo.
    record_folder = f"{folder}/执法与工作记录/01-行政处罚-{today()}"
    decision_path = f"{record_folder}/01-决定书.pdf"
    photo_path = f"{record_folder}/照片/01.jpg"
    assert members(data)[decision_path] == decision_pdf
    assert files[photo_path]["sha256"] == photo
    assert files[decision_path]["record"]["version"] == 1
    assert about["cells"]["penalties"] == sorted([decision_path, photo_path])
    assert about["records"] == [{"id": record["id"], "version": 1}]
    # The hazard's whole loop (closed before the filing): before and after photos.
    number = loop.hazard.number
    hazard_files = {p for p in files if p.startswith(f"{folder}/隐患/{number}/")}
    assert files[f"{folder}/隐患/{number}/整改前/01.jpg"]["sha256"] == loop.before
    shas = {files[p]["sha256"] for p in hazard_files}
    assert {loop.before, *loop.after} <= shas
    hazard_cells = [k for k, paths in about["cells"].items() if set(paths) & hazard_files]
    assert "major_dept_found" in hazard_cells, about["cells"]
    assert set(about["cells"]["major_dept_found"]) == hazard_files
    # Every cell's figure maps to files, and every file listed by a cell is in the ZIP.
    stored = world.session.get_one(ReportFiling, uuid.UUID(filing["id"]))
    row = stored.cells[str(world.town.id)]
    assert [i[:2] for i in row["major_dept_found"]] == [["hazard", str(loop.hazard.id)]]
    last_event = max(
        e.id for e in world.session.query(HazardEvent).filter_by(hazard_id=loop.hazard.id)
    )
    assert row["major_dept_found"][0][2] == last_event  # the cut the filing counted
    assert all(p in files for paths in about["cells"].values() for p in paths)
    # The summary: the template's table with the frozen figures, and the paths per cell.
    html = members(data)["summary.html"].decode()
    assert "重大事故隐患专项排查整治2023行动" in html or stored.figures["template"]["title"] in html
    assert "各项数据的佐证材料" in html
    assert decision_path in html
    assert f"{folder}/隐患/{number}/整改前/01.jpg" in html
    assert DECISION_NUMBER in html
    assert "summary.pdf" in members(data)
    # Asked again: the same bundle, the same SHA-256.
    again = world.ask("report", uuid.UUID(filing["id"]))
    assert (again.json["id"], again.json["reused"]) == (status["id"], True)
    assert again.json["sha256"] == status["sha256"]


def test_a_correction_or_a_step_after_filing_does_not_change_the_bundle(
    world: BundleWorld,
) -> None:
    hazard, before = pending_hazard(world)
    record = penalty(world, hazard.id, document(world, pdf()), world.photo())
    filing = file_report(world)
    first = world.built("report", uuid.UUID(filing["id"]))

    correct(world, record, "已缴纳罚款")
    after = world.photo()
    reply = world.event(
        hazard,
        world.inspector,
        type="rectification_reported",
        measures="已设置警示标志",
        photos=[after],
        funds=12000,
        responsible_person="王经理",
        plan_deadline="2026-12-20",
        emergency_plan="有限空间作业中毒窒息应急预案",
    )
    assert reply.status_code == 200, reply.json

    again = world.ask("report", uuid.UUID(filing["id"]))
    assert (again.json["id"], again.json["reused"]) == (first["id"], True)
    assert again.json["sha256"] == first["sha256"]
    data = world.download(first)
    about = manifest(data)
    assert about["records"] == [{"id": record["id"], "version": 1}]
    shas = {f["sha256"] for f in about["files"]}
    assert before in shas
    assert after not in shas
    assert "已缴纳罚款" not in members(data)["summary.html"].decode()
    # A re-filing counts the corrected version and the new step: a new bundle.
    refiled = file_report(world, reason="补充整改情况")
    second = world.built("report", uuid.UUID(refiled["id"]))
    assert second["id"] != first["id"]
    assert second["sha256"] != first["sha256"]
    newer = manifest(world.download(second))
    assert newer["records"] == [{"id": record["id"], "version": 2}]
    assert after in {f["sha256"] for f in newer["files"]}


def test_another_units_user_or_an_id_that_is_no_filing_gets_404(world: BundleWorld) -> None:
    hazard, _ = pending_hazard(world)
    filing = file_report(world)
    subject = uuid.UUID(filing["id"])

    stranger = world.ask("report", subject, world.stranger)
    assert (stranger.status_code, stranger.json["code"]) == (404, "not_found")
    assert world.ask("report", hazard.id).status_code == 404  # a hazard's id is no filing
    assert world.ask("report", uuid.uuid4()).status_code == 404
    # The district's admin sees the town: the bundle is theirs too; its status stays 404 to
    # the stranger.
    seen = world.ask("report", subject, world.admin)
    assert seen.status_code == 202, seen.json
    world.jobs.run_all()
    assert world.status(seen.json["id"], world.admin).json["state"] == "ready"
    assert world.status(seen.json["id"], world.stranger).status_code == 404
