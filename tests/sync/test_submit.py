"""What a submit lacks: every printed item answered, every defect with a finding, a signature."""

from __future__ import annotations

import uuid
from dataclasses import replace
from functools import cache
from typing import Any

from checklists import ChecklistVersion, load_directory
from sync.inspections import InspectionSave, missing_for_submit


@cache
def confined_space() -> ChecklistVersion:
    (version,) = [v for v in load_directory() if (v.code, v.label) == ("confined_space", "2023")]
    return version


def inspection(answers: dict[str, str], **changes: Any) -> InspectionSave:
    save = InspectionSave(
        id=uuid.uuid4(),
        checklist_code="confined_space",
        checklist_version=confined_space().version,
        enterprise_id=uuid.uuid4(),
        kind="department_inspection",
        started_at=None,
        finished_at=None,
        location=None,
        inspectors=[],
        answers=[{"item": k, "answer": v, "note": None} for k, v in answers.items()],
        findings=[],
        photos=[],
        signatures=[{"role": "inspector", "name": "李检查", "sha256": "a" * 64}],
    )
    return replace(save, **changes)


def missing(save: InspectionSave) -> list[str]:
    version = confined_space()
    verdict = version.evaluate({a["item"]: a["answer"] for a in save.answers})
    return missing_for_submit(save, version, verdict)


def all_not_applicable() -> dict[str, str]:
    return {item.code: "na" for item in confined_space().items}


def test_every_item_answered_and_signed_lacks_nothing() -> None:
    assert missing(inspection(all_not_applicable())) == []


def test_an_unanswered_item_is_named_by_its_printed_number() -> None:
    first, *rest = confined_space().items
    answers = {item.code: "na" for item in rest}
    assert missing(inspection(answers)) == [f"answer for item {first.seq} ({first.code})"]


def test_an_unsigned_inspection_lacks_the_inspector_signature() -> None:
    save = inspection(all_not_applicable(), signatures=[])
    assert missing(save) == ["inspector signature (role 'inspector')"]


def test_a_defect_without_a_finding_is_named() -> None:
    item = next(i for i in confined_space().items if not i.checks)
    answers = {**all_not_applicable(), item.code: item.defect_answer}
    assert missing(inspection(answers)) == [f"finding for defect {item.code}"]
    finding = {"id": uuid.uuid4(), "items": [item.code], "description": "…", "photos": []}
    assert missing(inspection(answers, findings=[finding])) == []
