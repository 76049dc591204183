"""A cell's evidence completeness looks at each item's own evidence: an inspection's photos (its
own and its findings'), a hazard's before- and after-photos, a record's plan/photos/documents."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy.orm import Session

from backend.models import Finding, InspectionPhoto
from backend.services import reports
from backend.services.reports import render
from tests.backend.reports.support import District, at


@pytest.fixture
def district(session: Session) -> District:
    return District.make(session, ["西天尾镇"], ["区应急局"])


def sha(n: int) -> str:
    return f"{n:064x}"


def licheng(district: District) -> reports.Report:
    t = reports.template("licheng")
    period = t.period.for_interval(date(2023, 5, 1), date(2023, 9, 26))
    return reports.compute(district.session, t, district.unit, period)


def test_an_inspection_is_complete_with_its_photos_or_its_findings_photos(
    district: District,
) -> None:
    session = district.session
    photographed = district.inspection("区应急局", date(2023, 9, 1))
    session.add(InspectionPhoto(inspection_id=photographed.id, sha256=sha(1), item="gas.1"))
    found = district.inspection("区应急局", date(2023, 9, 2))
    session.add(
        Finding(
            id=uuid.uuid4(),
            inspection_id=found.id,
            position=1,
            items=["gas.1"],
            description="隐患",
            claimed_level="general",
            suggested_level="general",
            photos=[sha(2), sha(3)],
        )
    )
    bare = district.inspection("区应急局", date(2023, 9, 3))
    awaited = district.inspection("区应急局", date(2023, 9, 4))
    session.add(InspectionPhoto(inspection_id=awaited.id, sha256=sha(4)))
    awaited.awaiting_media = [sha(4)]  # referenced, never uploaded: not evidence yet
    session.flush()

    body = render.cell(licheng(district), "inspected_enterprises", None)
    photos = {e["id"]: (e["evidence"]["photos"], e["evidence"]["complete"]) for e in body["items"]}
    assert photos == {
        str(photographed.id): (1, True),
        str(found.id): (2, True),
        str(bare.id): (0, False),
        str(awaited.id): (0, False),
    }
    assert body["evidence"]["summary"] == "2 of 4 with complete evidence"


def test_a_reinspection_is_complete_with_the_photos_it_was_passed_on(district: District) -> None:
    with_photos = district.hazard("区应急局", date(2023, 9, 1))
    without = district.hazard("区应急局", date(2023, 9, 1))
    place = district.places["区应急局"]
    report = {"type": "rectification_reported", "measures": "已整改"}
    for entry, photos in ((with_photos, [sha(5)]), (without, [])):
        district.event(entry, place.inspector, at(date(2023, 9, 9), 8), **report)
        district.event(
            entry,
            place.checker,
            at(date(2023, 9, 9)),
            type="reinspected",
            passed=True,
            photos=photos,
        )
    body = render.cell(licheng(district), "inspected_enterprises", None)
    reinspections = {
        e["evidence"]["photos"]: e["evidence"]["complete"]
        for e in body["items"] + body["excluded"]
        if e["type"] == "reinspection"
    }
    assert reinspections == {1: True, 0: False}


def test_a_hazard_is_complete_with_its_before_photos_and_after_photos_once_rectified(
    district: District,
) -> None:
    photographed = district.hazard("区应急局", date(2023, 9, 1))
    photographed.before_photos = [sha(6)]
    bare = district.hazard("区应急局", date(2023, 9, 1))
    rectified = district.hazard("区应急局", date(2023, 9, 1))
    rectified.before_photos = [sha(7), sha(8)]
    district.session.flush()
    district.rectify(rectified, at(date(2023, 9, 9)))  # passed without after-photos
    body = render.cell(licheng(district), "general_found", None)
    evidence = {
        e["id"]: (e["evidence"]["before_photos"], e["evidence"]["complete"]) for e in body["items"]
    }
    assert evidence == {
        str(photographed.id): (1, True),
        str(bare.id): (0, False),
        str(rectified.id): (2, False),
    }
