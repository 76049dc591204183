"""The enforcement actions and activities behind an inspection or a hazard, with their documents
(决定书, 纪要 …) and photos, belong in its bundle; a user who cannot see one of them gets 404."""

from __future__ import annotations

import io
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from media.bundle import verify_zip
from tests.backend.bundles.support import BundleWorld, manifest, members
from tests.backend.media.support import camera_jpeg
from tests.backend.records.test_documents import pdf, put, sha

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:weasyprint.*")

DECISION_NUMBER = "闽应急罚〔2026〕7号"


def document(world: BundleWorld, user: Any, data: bytes) -> str:
    headers = world.headers(user)
    world.session.commit()
    reply = put(world.client, headers, data, "application/pdf")
    assert reply.status_code == 200, reply.json  # type: ignore[attr-defined]
    return sha(data)


def penalty(
    world: BundleWorld, user: Any, hazard_id: uuid.UUID, decision: str, photo: str
) -> dict[str, Any]:
    body = {
        "kind": "penalty",
        "occurred_on": "2026-11-25",
        "enterprise_id": str(world.enterprise.id),
        "hazard_ids": [str(hazard_id)],
        "detail": {
            "decision_number": DECISION_NUMBER,
            "decided_on": "2026-11-25",
            "legal_basis": "《安全生产法》第一百零二条",
            "work_safety": True,
            "party_name": world.enterprise.name,
            "amount_yuan": "20000.00",
        },
        "documents": [{"sha256": decision, "role": "decision"}],
        "photos": [photo],
    }
    if user.unit_id != world.town.id:
        body["unit_id"] = str(user.unit_id)
    headers = world.headers(user)
    world.session.commit()
    reply = world.client.post("/api/v1/enforcement-actions", headers=headers, json=body)
    assert reply.status_code == 201, reply.json
    return dict(reply.json)


def briefing(world: BundleWorld, inspection_id: uuid.UUID, plan: str) -> dict[str, Any]:
    body = {
        "kind": "briefing",
        "occurred_on": "2026-11-26",
        "enterprise_id": str(world.enterprise.id),
        "inspection_id": str(inspection_id),
        "detail": {"leader_name": "林局长", "leader_post": "局长"},
        "documents": [{"sha256": plan, "role": "plan"}],
    }
    headers = world.headers(world.supervisor)
    world.session.commit()
    reply = world.client.post("/api/v1/activities", headers=headers, json=body)
    assert reply.status_code == 201, reply.json
    return dict(reply.json)


def test_a_hazard_bundle_holds_the_penalty_naming_it_with_its_decision_and_photos(
    world: BundleWorld,
) -> None:
    loop = world.whole_loop()
    decision_pdf = pdf(pages=2)
    decision = document(world, world.supervisor, decision_pdf)
    photo = world.photo()
    record = penalty(world, world.supervisor, loop.hazard.id, decision, photo)
    talk = briefing(world, loop.inspection_id, document(world, world.supervisor, pdf(pages=3)))

    data = world.download(world.built("hazard", loop.hazard.id))
    files = {f["path"]: f for f in manifest(data)["files"]}
    folder = f"隐患-{loop.hazard.number}/执法与工作记录"
    decision_path = f"{folder}/01-行政处罚-2026-11-25/01-决定书.pdf"
    assert files[decision_path]["sha256"] == decision
    assert files[decision_path]["record"] == {
        "type": "record",
        "id": record["id"],
        "version": 1,
        "family": "enforcement",
        "kind": "penalty",
    }
    assert files[decision_path]["pages"] == 2
    assert members(data)[decision_path] == decision_pdf
    assert files[f"{folder}/01-行政处罚-2026-11-25/照片/01.jpg"]["sha256"] == photo
    # The 宣讲 at the inspection the hazard came from is evidence of it too.
    plan_path = f"{folder}/02-宣讲-2026-11-26/01-检查方案_宣讲方案.pdf"
    assert files[plan_path]["record"]["id"] == talk["id"]
    html = members(data)["summary.html"].decode()
    assert DECISION_NUMBER in html
    assert "相关执法措施与工作记录" in html
    assert decision_path in html
    # printed in Chinese, as the forms name things, not as the API's field names
    for printed in ("决定日期", "法律依据", "罚款金额（元）", "事前立案", "缺现场照片"):
        assert printed in html
    for field_name in ("decided_on", "amount_yuan", "pre_incident", "evidence.photos_missing"):
        assert field_name not in html
    assert verify_zip(io.BytesIO(data)) == []
    # In the printed summary too: the page with the records, written as PNG to be looked at.
    reader = PdfReader(io.BytesIO(members(data)["summary.pdf"]))
    [page] = [n for n, p in enumerate(reader.pages, 1) if DECISION_NUMBER in p.extract_text()]
    shots = Path(os.environ.get("BUNDLE_SCREENSHOTS", "var/screenshots/bundles")).resolve()
    shots.mkdir(parents=True, exist_ok=True)
    pdf_path = shots / "records.pdf"
    pdf_path.write_bytes(members(data)["summary.pdf"])
    one_page = ["-f", str(page), "-l", str(page), "-singlefile"]
    out = str(shots / "records-page")
    subprocess.run(["pdftoppm", "-png", "-r", "80", *one_page, str(pdf_path), out], check=True)
    pdf_path.unlink()
    assert (shots / "records-page.png").stat().st_size > 10_000


def test_an_inspection_bundle_holds_the_records_of_its_hazards(world: BundleWorld) -> None:
    loop = world.whole_loop()
    decision = document(world, world.supervisor, pdf())
    record = penalty(world, world.supervisor, loop.hazard.id, decision, world.photo())

    data = world.download(world.built("inspection", loop.inspection_id))
    found = [f for f in manifest(data)["files"] if f.get("record", {}).get("type") == "record"]
    assert {f["record"]["id"] for f in found} == {record["id"]}
    assert any(f["path"].endswith("/01-决定书.pdf") for f in found)


def test_correcting_a_record_gives_a_new_bundle(world: BundleWorld) -> None:
    loop = world.whole_loop()
    decision = document(world, world.supervisor, pdf())
    record = penalty(world, world.supervisor, loop.hazard.id, decision, world.photo())
    first = world.built("hazard", loop.hazard.id)

    headers = world.headers(world.supervisor)
    world.session.commit()
    corrected = world.client.post(
        f"/api/v1/enforcement-actions/{record['id']}/corrections",
        headers=headers,
        json={"reason": "备注补充", "expected_version": 1, "note": "已缴纳罚款"},
    )
    assert corrected.status_code == 201, corrected.json
    second = world.built("hazard", loop.hazard.id)
    assert second["id"] != first["id"]
    assert second["sha256"] != first["sha256"]
    data = world.download(second)
    assert "已缴纳罚款" in members(data)["summary.html"].decode()
    about = manifest(data)
    assert {"id": record["id"], "version": 2} in about["records"]


def test_a_document_not_uploaded_yet_is_listed_missing(world: BundleWorld) -> None:
    loop = world.whole_loop()
    absent = sha(pdf(pages=4))
    penalty(world, world.supervisor, loop.hazard.id, absent, world.photo())

    data = world.download(world.built("hazard", loop.hazard.id))
    assert absent in manifest(data)["missing"]
    assert "文件未上传" in members(data)["summary.html"].decode()


def test_a_record_of_a_unit_the_caller_cannot_see_makes_the_bundle_404(
    world: BundleWorld,
) -> None:
    loop = world.whole_loop()
    decision = document(world, world.admin, pdf())
    photo = world.upload(camera_jpeg(320, 240), world.admin)
    penalty(world, world.admin, loop.hazard.id, decision, photo)

    hidden = world.ask("hazard", loop.hazard.id, world.supervisor)
    assert (hidden.status_code, hidden.json["code"]) == (404, "not_found")
    also = world.ask("inspection", loop.inspection_id, world.supervisor)
    assert also.status_code == 404
    seen = world.ask("hazard", loop.hazard.id, world.admin)
    assert seen.status_code == 202, seen.json
    world.jobs.run_all()
    assert world.status(seen.json["id"], world.admin).json["state"] == "ready"
    # and once built, its status is still 404 for the town supervisor
    assert world.status(seen.json["id"], world.supervisor).status_code == 404
