"""activity.save@1: a 督导检查 recorded on a tablet offline, with photos uploaded after the push."""

from __future__ import annotations

import hashlib
import io
import uuid
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.models import Record, RecordVersion
from tests.backend.records.support import Place, example, make_place
from tests.sync_support import Tablet


def photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (80, 60), (120, 160, 200)).save(out, "JPEG")
    return out.getvalue()


def visit(place: Place, data: bytes) -> dict[str, Any]:
    values = example("supervision_visit", place.enterprise, place.town)
    values["photos"] = [hashlib.sha256(data).hexdigest()]
    return values


def test_a_supervision_visit_recorded_offline_arrives_once_and_the_supervisor_sees_it(
    live_app: Flask, live_session: Session
) -> None:
    """Against a database whose commits are real, as on a server: push, replay, upload."""
    client = live_app.test_client()
    session = live_session
    place = make_place(client, session)
    session.commit()
    tablet = Tablet(client, place.headers())
    data = photo()
    record_id = str(uuid.uuid4())
    command = tablet.command("activity.save@1", {"id": record_id, "record": visit(place, data)})
    reply = tablet.push(command)
    [result] = reply.json["results"]
    assert result["status"] == "applied", result
    assert result["entity"] == {"type": "activity", "id": record_id, "version": 1}

    again = tablet.push(command)  # the reply was lost: the tablet sends it again
    assert again.json["results"][0]["status"] == "duplicate"
    assert session.scalar(select(func.count()).select_from(Record)) == 1
    assert session.scalar(select(func.count()).select_from(RecordVersion)) == 1
    session.commit()  # end the read: on SQLite an open reader holds off the next writer

    supervisor = place.headers(place.supervisor)
    seen = client.get("/api/v1/activities", headers=supervisor).json["items"]
    assert [(r["id"], r["kind"], r["countable"]) for r in seen] == [
        (record_id, "supervision_visit", True)
    ]
    assert hashlib.sha256(data).hexdigest() in seen[0]["awaiting_media"]
    history = client.get(f"/api/v1/activities/{record_id}/history", headers=supervisor).json
    assert history["versions"][0]["device_id"] == tablet.device_id

    upload = client.put(
        f"/api/v1/media/{hashlib.sha256(data).hexdigest()}",
        data=data,
        headers={**place.headers(), "Content-Type": "image/jpeg"},
    )
    assert upload.status_code == 200, upload.json
    after = client.get(f"/api/v1/activities/{record_id}", headers=supervisor).json
    assert hashlib.sha256(data).hexdigest() not in after["awaiting_media"]
    shown = client.get(f"/api/v1/media/{hashlib.sha256(data).hexdigest()}", headers=supervisor)
    assert (shown.status_code, shown.data) == (200, data)
    shown.close()


def test_saving_the_same_activity_again_adds_no_version_and_a_change_is_a_correction(
    client: FlaskClient, session: Session
) -> None:
    place = make_place(client, session)
    tablet = Tablet(client, place.headers())
    record_id = str(uuid.uuid4())
    values = visit(place, photo())
    first = tablet.push(tablet.command("activity.save@1", {"id": record_id, "record": values}))
    same = tablet.push(tablet.command("activity.save@1", {"id": record_id, "record": values}))
    assert same.json["results"][0]["entity"]["version"] == 1
    changed = {**values, "occurred_on": "2023-07-12"}
    edit = tablet.command(
        "activity.save@1",
        {"id": record_id, "record": changed, "reason": "日期更正"},
        base_version=1,
    )
    result = tablet.push(edit).json["results"][0]
    assert (result["status"], result["entity"]["version"]) == ("applied", 2)
    stale = tablet.command(
        "activity.save@1", {"id": record_id, "record": values, "reason": "x"}, base_version=1
    )
    conflict = tablet.push(stale).json["results"][0]
    assert (conflict["status"], conflict["code"]) == ("conflict", "record.stale_version")
    history = client.get(f"/api/v1/activities/{record_id}/history", headers=place.headers())
    assert [v["reason"] for v in history.json["versions"]] == [None, "日期更正"]
    assert first.json["results"][0]["status"] == "applied"


def test_an_activity_that_breaks_a_rule_is_rejected_with_its_code_and_the_queue_moves_on(
    client: FlaskClient, session: Session
) -> None:
    place = make_place(client, session)
    tablet = Tablet(client, place.headers())
    training = example("training", place.enterprise, place.town)
    training["detail"]["attendees"] = []
    bad = tablet.command("activity.save@1", {"id": str(uuid.uuid4()), "record": training})
    malformed = tablet.command("activity.save@1", {"id": "nope", "record": []})
    good = tablet.command(
        "activity.save@1", {"id": str(uuid.uuid4()), "record": visit(place, photo())}
    )
    results = tablet.push(bad, malformed, good).json["results"]
    assert [(r["status"], r.get("code")) for r in results] == [
        ("rejected", "record.training_without_attendees"),
        ("rejected", "command.invalid"),
        ("applied", None),
    ]
    assert session.scalar(select(func.count()).select_from(Record)) == 1


def test_an_enforcement_action_taken_in_the_field_is_saved_offline_too(
    client: FlaskClient, session: Session
) -> None:
    place = make_place(client, session)
    tablet = Tablet(client, place.headers())
    record_id = str(uuid.uuid4())
    seizure = example("seizure", place.enterprise, place.town)
    result = tablet.push(
        tablet.command("enforcement.save@1", {"id": record_id, "record": seizure})
    ).json["results"][0]
    assert result["entity"] == {"type": "enforcement", "id": record_id, "version": 1}
    seen = client.get(f"/api/v1/enforcement-actions/{record_id}", headers=place.headers())
    assert seen.json["kind_label"] == "查封、扣押、停电"
    # The same id cannot be reused as an activity.
    clash = tablet.push(
        tablet.command("activity.save@1", {"id": record_id, "record": visit(place, photo())})
    ).json["results"][0]
    assert (clash["status"], clash["code"]) == ("rejected", "record.exists")
