"""The ledger under hostile input: an export no stored text can break or turn into a formula, and
a listed hazard that only the listing unit's supervisors follow (issue 12)."""

from __future__ import annotations

import io
import uuid
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from backend.models import Change, Enterprise, Hazard, Role, User
from backend.services import changelog as changes
from tests.backend.ledger.support import World
from tests.factories import make_user

LISTING = {"requirements": "落实一患一策，按期整改销号", "deadline": "2027-03-31"}


def _export(world: World, user: User, **params: Any) -> Any:
    return world.client.get(
        "/api/v1/hazards",
        query_string={"format": "xlsx", **params},
        headers=world.headers(user),
    )


def _store(world: World, model: Any, row_id: Any, **values: Any) -> None:
    """Text as it may already be stored (written before the text rule, or on SQLite)."""
    world.session.execute(update(model).where(model.id == row_id).values(**values))
    world.session.commit()


def test_a_control_character_in_stored_text_does_not_break_the_export(world: World) -> None:
    major, _general = world.approved()
    _store(world, Hazard, major.id, description="漏气\x01\x0b严重")
    for user in (world.supervisor, world.admin):  # the unit, and the district admin above it
        reply = _export(world, user)
        assert reply.status_code == 200, reply.json
        rows = list(load_workbook(io.BytesIO(reply.data)).active.iter_rows(values_only=True))
        assert "漏气\ufffd\ufffd严重" in rows[3]


@pytest.mark.parametrize(
    "hostile", ['=HYPERLINK("http://x.test","点击")', "+1+1", "-2+3", "@SUM(1)", "\t=1", "\r=1"]
)
def test_text_that_looks_like_a_formula_is_exported_as_text(world: World, hostile: str) -> None:
    major, _general = world.approved()
    _store(world, Hazard, major.id, description=hostile, requirement=hostile)
    _store(world, Enterprise, world.enterprise.id, name=hostile)
    reply = _export(world, world.supervisor)
    assert reply.status_code == 200, reply.json
    sheet = load_workbook(io.BytesIO(reply.data)).active
    read_back = {hostile, hostile.replace("\r", "\n")}  # XML reads a bare CR as a line feed
    cells = [c for row in sheet.iter_rows(min_row=4) for c in row if c.value in read_back]
    assert len(cells) >= 4  # description, requirement, and the enterprise on both rows
    for cell in cells:
        assert cell.data_type == "s"
        assert cell.quotePrefix


def test_exporting_a_unit_that_does_not_exist_is_404(world: World) -> None:
    reply = _export(world, world.admin, unit_id=str(uuid.uuid4()))
    assert reply.status_code == 404, reply.json
    assert reply.json["code"] == "not_found"


def test_exporting_a_unit_out_of_scope_is_404_and_names_nothing(world: World) -> None:
    reply = _export(world, world.supervisor, unit_id=str(world.stranger.unit_id))
    assert reply.status_code == 404, reply.json


def test_an_inspector_of_the_listing_unit_may_not_read_or_change_the_hazard(world: World) -> None:
    major, _general = world.approved()
    reply = world.event(
        major, world.supervisor, type="listed", unit_id=str(world.district.id), **LISTING
    )
    assert reply.status_code == 200, reply.json
    district_inspector = make_user(world.session, world.district, Role.inspector)
    world.session.commit()
    headers = world.headers(district_inspector)
    assert world.client.get(f"/api/v1/hazards/{major.id}", headers=headers).status_code == 404
    listing = world.client.get("/api/v1/hazards?listed=true", headers=headers).json
    assert listing["items"] == []
    export = _export(world, district_inspector)
    rows = list(load_workbook(io.BytesIO(export.data)).active.iter_rows(values_only=True))
    assert rows[3:] == []
    event = world.event(
        major,
        district_inspector,
        type="rectification_reported",
        measures="已整改",
        photos=[world.photo(world.district, district_inspector)],
    )
    assert event.status_code == 404, event.json
    # Its supervisors still follow it.
    supervisor = world.headers(world.district_supervisor)
    assert world.client.get(f"/api/v1/hazards/{major.id}", headers=supervisor).status_code == 200


def test_only_the_listing_units_supervisors_pull_the_listed_hazard(world: World) -> None:
    major, _general = world.approved()
    district_inspector = make_user(world.session, world.district, Role.inspector)
    reply = world.event(
        major, world.supervisor, type="listed", unit_id=str(world.district.id), **LISTING
    )
    assert reply.status_code == 200, reply.json
    rows = world.session.scalars(
        select(Change).where(Change.entity_type == "hazard", Change.entity_id == str(major.id))
    ).all()
    buckets = {row.bucket for row in rows if row.version == reply.json["version"]}
    assert buckets == {f"unit:{world.town.id}", f"supervisors:{world.district.id}"}
    assert not buckets & set(changes.buckets_of(district_inspector))
    assert f"supervisors:{world.district.id}" in changes.buckets_of(world.district_supervisor)
