"""A record as it stood at a cut-off: what the reports count, whatever was corrected later."""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import select
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
    cut_off = first.created_at + timedelta(microseconds=1)
    plan = example("supervision_visit", place.enterprise, place.town)["documents"]
    records.correct(
        session, place.inspector, record, {"documents": plan}, reason="补方案", expected_version=1
    )
    # The correction is stamped after the cut-off (clocks move on between the two saves).
    latest = session.get_one(RecordVersion, (record.id, 2))
    latest.created_at = cut_off + timedelta(seconds=5)
    session.flush()

    [(then, version)] = records.as_of(session, cut_off, family=RecordFamily.activity)
    assert (then.id, version.version, version.countable) == (record.id, 1, False)
    [(_, now)] = records.as_of(session, cut_off + timedelta(seconds=10))
    assert (now.version, now.countable) == (2, True)
    assert records.as_of(session, first.created_at - timedelta(seconds=1)) == []
    assert records.as_of(session, cut_off, unit_ids=[place.district.id]) == []
