"""A record as it stood at a cut-off: what the reports count, whatever was corrected later."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from backend.models import RecordFamily, RecordVersion
from backend.services import records
from tests.backend.records.support import example, make_place


def test_a_correction_after_the_cut_off_does_not_change_the_record_as_of_it(
    client: FlaskClient, session: Session
) -> None:
    place = make_place(client, session)
    values = example("supervision_visit", place.enterprise, place.town, documents=[])
    record = records.create(session, place.inspector, RecordFamily.activity, values)
    first = session.scalars(select(RecordVersion)).one()
    cut_off = first.created_at
    plan = example("supervision_visit", place.enterprise, place.town)["documents"]
    records.correct(
        session, place.inspector, record, {"documents": plan}, reason="补方案", expected_version=1
    )
    latest = session.get_one(RecordVersion, (record.id, 2))
    assert latest.created_at > cut_off

    [(then, version)] = records.as_of(session, cut_off, family=RecordFamily.activity)
    assert (then.id, version.version, version.countable) == (record.id, 1, False)
    [(_, now)] = records.as_of(session, latest.created_at)
    assert (now.version, now.countable) == (2, True)
    assert records.as_of(session, first.created_at - timedelta(seconds=1)) == []
    assert records.as_of(session, cut_off, unit_ids=[place.district.id]) == []


def test_the_database_refuses_to_change_or_remove_a_version(
    client: FlaskClient, session: Session
) -> None:
    place = make_place(client, session)
    records.create(
        session,
        place.inspector,
        RecordFamily.activity,
        example("training", place.enterprise, place.town),
    )
    with pytest.raises(DatabaseError, match="append-only"), session.begin_nested():
        session.execute(text("UPDATE record_versions SET reason = 'edited'"))
    with pytest.raises(DatabaseError, match="append-only"), session.begin_nested():
        session.execute(text("DELETE FROM record_versions"))
