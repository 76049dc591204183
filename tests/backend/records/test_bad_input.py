"""Bad input: refused with the rule's code and nothing kept, or kept and flagged not countable,
as docs/records.md (§ Bad input) says for each rule."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.models import Record, RecordVersion
from tests.backend.records.support import Place, example, make_place, path_of


@pytest.fixture
def place(client: FlaskClient, session: Session) -> Place:
    return make_place(client, session)


def post(place: Place, kind: str, **changes: Any) -> Any:
    values = example(kind, place.enterprise, place.town)
    detail = changes.pop("detail", None)
    if detail is not None:
        values["detail"] = {**values["detail"], **detail}
        values["detail"] = {k: v for k, v in values["detail"].items() if v is not ...}
    values.update(changes)
    return place.client.post(path_of(kind), headers=place.headers(), json=values)


def nothing_stored(session: Session) -> bool:
    return (
        session.scalar(select(func.count()).select_from(Record)) == 0
        and session.scalar(select(func.count()).select_from(RecordVersion)) == 0
    )


def test_a_fine_amount_with_no_penalty_decision_is_refused(place: Place, session: Session) -> None:
    # 区自然资源局 0904期: 未作出行政处罚，填报处罚金额14万元 (seed 000).
    reply = post(place, "penalty", detail={"decision_number": ..., "amount_yuan": "140000"})
    assert reply.status_code == 422
    assert reply.json["code"] == "record.amount_without_decision"
    assert "detail.amount_yuan" in reply.json["errors"]
    assert nothing_stored(session)


def test_a_training_with_no_attendees_is_refused(place: Place, session: Session) -> None:
    reply = post(place, "training", detail={"attendees": []})
    assert (reply.status_code, reply.json["code"]) == (422, "record.training_without_attendees")
    assert nothing_stored(session)


def test_a_supervision_visit_with_no_plan_is_kept_but_does_not_count(place: Place) -> None:
    # 填表说明 8: 要有检查方案和照片. The plan may still come: a correction attaches it.
    reply = post(place, "supervision_visit", documents=[])
    assert reply.status_code == 201
    assert (reply.json["countable"], reply.json["flags"]) == (False, ["evidence.plan_missing"])
    fixed = place.client.post(
        f"/api/v1/activities/{reply.json['id']}/corrections",
        headers=place.headers(),
        json={
            "reason": "补充检查方案",
            "expected_version": 1,
            "documents": example("supervision_visit", place.enterprise, place.town)["documents"],
        },
    )
    assert (fixed.json["countable"], fixed.json["flags"]) == (True, [])


def test_a_supervision_visit_with_no_photos_does_not_count(place: Place) -> None:
    reply = post(place, "supervision_visit", photos=[])
    assert reply.json["flags"] == ["evidence.photos_missing"]


def test_a_briefing_needs_the_plan_and_photos_of_the_leader_there(place: Place) -> None:
    reply = post(place, "briefing", documents=[], photos=[])
    assert reply.json["flags"] == ["evidence.photos_missing", "evidence.plan_missing"]


def test_a_detention_referred_with_no_criminal_case_is_kept_but_does_not_count(
    place: Place,
) -> None:
    # 填表说明 5: 送公安局拘留等情形，入刑的可以算，未入刑的，不算.
    detention = {"receiving_organ": "public_security", "detained": True}
    reply = post(place, "judicial_referral", detail=detention)
    assert reply.status_code == 201
    assert reply.json["flags"] == ["referral.no_criminal_case"]
    counted = post(place, "judicial_referral", detail={**detention, "criminal_case": True})
    assert counted.json["countable"] is True


def test_penalties_outside_work_safety_and_traffic_fines_of_pedestrians_do_not_count(
    place: Place,
) -> None:
    assert post(place, "penalty", detail={"work_safety": False}).json["flags"] == [
        "penalty.not_work_safety"
    ]
    pedestrian = post(place, "penalty", detail={"traffic": True, "vehicle_type": "pedestrian"})
    assert pedestrian.json["flags"] == ["penalty.not_production_vehicle"]
    lorry = post(place, "penalty", detail={"traffic": True, "vehicle_type": "production"})
    assert lorry.json["countable"] is True


def test_a_traffic_penalty_names_the_vehicle_type(place: Place, session: Session) -> None:
    reply = post(place, "penalty", detail={"traffic": True})
    assert reply.json["code"] == "record.vehicle_type_missing"
    assert nothing_stored(session)


def test_an_amount_is_shown_in_wan_yuan(place: Place) -> None:
    reply = post(place, "penalty", detail={"amount_yuan": "14000"})
    assert reply.json["detail"]["amount_yuan"] == "14000.00"
    assert reply.json["figures"]["amount_wan"] == "1.4"


def test_training_counts_its_law_enforcement_attendees(place: Place) -> None:
    reply = post(place, "training")
    assert reply.json["figures"] == {"attendees": 2, "law_enforcement_attendees": 1}


def test_an_interview_notice_without_its_minutes_does_not_count(place: Place) -> None:
    assert post(place, "interview_notice", documents=[]).json["flags"] == [
        "evidence.minutes_missing"
    ]


def test_a_media_outlet_not_on_the_list_is_refused(place: Place, session: Session) -> None:
    reply = post(place, "media_column", detail={"outlet": "某自媒体"})
    assert reply.status_code == 422
    assert "detail" in reply.json["errors"]
    assert nothing_stored(session)


def test_an_enterprise_action_without_its_enterprise_is_refused(place: Place) -> None:
    reply = post(place, "suspension", enterprise_id=None)
    assert reply.json["code"] == "record.enterprise_missing"


def test_a_penalty_against_a_person_names_them(place: Place) -> None:
    reply = post(place, "penalty", enterprise_id=None)
    assert reply.json["code"] == "record.subject_missing"
    person = post(place, "penalty", enterprise_id=None, party={"type": "person", "name": "张三"})
    assert person.status_code == 201


def test_the_885_list_is_another_campaign_and_unknown_ones_are_refused(place: Place) -> None:
    assert post(place, "seizure", campaign="885").json["campaign"] == "885"
    reply = post(place, "seizure", campaign="2099")
    assert reply.json["code"] == "record.campaign_unknown"


def test_an_unknown_kind_is_refused_naming_the_kinds(place: Place) -> None:
    reply = place.client.post(
        "/api/v1/activities",
        headers=place.headers(),
        json={"kind": "penalty", "occurred_on": "2023-07-01", "detail": {}},
    )
    assert reply.json["code"] == "record.kind_unknown"


def test_an_unknown_detail_field_is_refused(place: Place) -> None:
    reply = post(place, "closure", detail={"colour": "red"})
    assert reply.status_code == 422
    assert "colour" in reply.json["errors"]["detail"]


def test_an_enterprise_of_another_unit_cannot_be_named(
    place: Place, client: FlaskClient, session: Session
) -> None:
    from tests.factories import make_enterprise, make_unit

    other = make_enterprise(session, make_unit(session))
    reply = post(place, "closure", enterprise_id=str(other.id))
    assert reply.json["code"] == "record.reference_unknown"


def test_a_penalty_says_whether_it_is_before_or_after_an_accident(place: Place) -> None:
    # 泉州 附件2 counts 事前罚款金额 and 事故罚款金额 apart.
    assert post(place, "penalty").json["detail"]["stage"] == "pre_incident"
    assert post(place, "penalty", detail={"stage": "accident"}).json["detail"]["stage"] == (
        "accident"
    )
