"""A hazard taken through its whole loop with real photos, and helpers to fetch its bundle."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update

from backend.models import Hazard, InspectionPhoto
from tests.backend.ledger.support import World, problem_answers
from tests.backend.media.support import camera_jpeg, sha
from tests.media.images_support import dms
from tests.sync_support import finding

ENTERPRISE = "福州闽江有限空间示范企业有限公司"
DESCRIPTION = "未对有限空间进行辨识、建立安全管理台账，并且未设置明显的安全警示标志"


@dataclass
class Loop:
    hazard: Hazard
    inspection_id: uuid.UUID
    before: str
    after: list[str]
    caption_photo: str


class BundleWorld(World):
    def upload(self, data: bytes, user: Any = None) -> str:
        headers = self.headers(user or self.inspector)
        self.session.commit()  # no transaction of the test's open while the app writes
        reply = self.client.put(
            f"/api/v1/media/{sha(data)}",
            headers={**headers, "Content-Type": "image/jpeg"},
            data=data,
        )
        assert reply.status_code == 200, reply.json
        self.jobs.run_all()  # thumbnails
        return sha(data)

    def photo(self, **exif: Any) -> str:  # type: ignore[override]
        return self.upload(camera_jpeg(320, 240, **exif))

    def whole_loop(self) -> Loop:
        """Found, listed, rectified, re-inspected once failed and once passed, closed."""
        self.enterprise.name = ENTERPRISE
        self.session.commit()
        before = self.photo(latitude=("N", dms(26, 4, 30)), longitude=("E", dms(119, 18, 0)))
        site = self.photo()
        second_site = self.photo()
        signature = self.photo()
        findings = [
            finding(
                ["confined_space.1"],
                description=DESCRIPTION,
                requirement="立即辨识有限空间，建立管理台账，设置安全警示标志",
                deadline="2026-12-01",
                claimed_level="major",
                photos=[before],
            ),
        ]
        submitted = self.submit(
            findings=findings,
            answers={**problem_answers(), "confined_space.2": "yes"},
            photos=[
                {
                    "sha256": site,
                    "item": "confined_space.3",
                    "caption": "作业现场",
                    "taken_at": None,
                },
                {
                    "sha256": second_site,
                    "item": "confined_space.4",
                    "caption": "通风设备",
                    "taken_at": None,
                },
            ],
            signatures=[{"role": "inspector", "name": "李检查", "sha256": signature}],
        )
        body = {
            "decision": "approve",
            "comment": "同意",
            "findings": [{"id": str(submitted.major_finding), "level": "major"}],
        }
        reply = self.review(submitted.id, body)
        assert reply.status_code == 200, reply.json
        assert self.jobs.run_all() == ["done"]
        [hazard] = self.hazards(submitted.id)
        after = [self.photo(), self.photo(), self.photo()]
        steps = [
            (
                self.supervisor,
                {
                    "type": "listed",
                    "unit_id": str(self.district.id),
                    "comment": "列为区级挂牌督办",
                    "requirements": "落实一患一策，按期整改销号",
                    "deadline": "2027-03-31",
                },
            ),
            (
                self.inspector,
                {
                    "type": "rectification_reported",
                    "measures": "已设置警示标志",
                    "photos": [after[0]],
                    "funds": 12000,
                    "responsible_person": "王经理",
                    "plan_deadline": "2026-12-20",
                    "emergency_plan": "有限空间作业中毒窒息应急预案",
                },
            ),
            (  # not the one who reported the rectification (谁检查、谁签名、谁负责)
                self.supervisor,
                {"type": "reinspected", "passed": False, "comment": "未建立安全管理台账"},
            ),
            (
                self.inspector,
                {
                    "type": "rectification_reported",
                    "measures": "已建立台账并设置标志",
                    "photos": [after[1]],
                },
            ),
            (
                self.supervisor,
                {
                    "type": "reinspected",
                    "passed": True,
                    "photos": [after[2]],
                    "comment": "整改到位",
                },
            ),
            (self.district_supervisor, {"type": "closed", "comment": "验收合格，予以销号"}),
        ]
        for user, event in steps:
            reply = self.event(hazard, user, **event)
            assert reply.status_code == 200, (event, reply.json)
        self.session.refresh(hazard)
        return Loop(hazard, submitted.id, before, after, site)

    def ask(self, scope: str, subject: uuid.UUID, user: Any = None) -> Any:
        headers = self.headers(user or self.supervisor)
        self.session.commit()
        return self.client.post(
            "/api/v1/bundles", headers=headers, json={"scope": scope, "id": str(subject)}
        )

    def status(self, bundle_id: str, user: Any = None) -> Any:
        headers = self.headers(user or self.supervisor)
        self.session.commit()
        return self.client.get(f"/api/v1/bundles/{bundle_id}", headers=headers)

    def built(self, scope: str, subject: uuid.UUID) -> dict[str, Any]:
        """Ask, let the worker build, and return the ready bundle's status."""
        asked = self.ask(scope, subject)
        assert asked.status_code == 202, asked.json
        self.jobs.run_all()
        reply = self.status(asked.json["id"])
        assert reply.json["state"] == "ready", reply.json
        return dict(reply.json)

    def download(self, status: dict[str, Any]) -> bytes:
        reply = self.client.get(status["download"]["url"])
        assert reply.status_code == 200, reply.data[:300]
        data = reply.get_data()
        reply.close()
        return data

    def recaption(self, inspection_id: uuid.UUID, sha256: str, caption: str) -> None:
        self.session.execute(
            update(InspectionPhoto)
            .where(InspectionPhoto.inspection_id == inspection_id, InspectionPhoto.sha256 == sha256)
            .values(caption=caption)
        )
        self.session.commit()


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def manifest(data: bytes) -> dict[str, Any]:
    return dict(json.loads(members(data)["manifest.json"]))
