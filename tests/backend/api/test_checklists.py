"""Checklists over HTTP: the catalogue, immutable versions with strong ETags, evaluation."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.factories import auth_headers, make_unit, make_user

CONFINED_1_RULE = "第十三条"


@pytest.fixture
def headers(client: FlaskClient, session: Session) -> dict[str, str]:
    return auth_headers(client, make_user(session, make_unit(session)))


def test_the_catalogue_lists_the_four_checklists_with_their_printed_items(
    client: FlaskClient, headers: dict[str, str]
) -> None:
    reply = client.get("/api/v1/checklists", headers=headers)
    assert reply.status_code == 200
    counts = {c["code"]: c["item_count"] for c in reply.json["items"]}
    # ... and the generic sheet, which prints no items (hazards found in any sector)
    assert counts == {
        "gas": 3,
        "construction": 13,
        "confined_space": 7,
        "principal_duties": 7,
        "general": 0,
    }
    titles = {c["code"]: c["title"] for c in reply.json["items"]}
    assert titles["construction"] == "建筑施工重点检查事项清单"


def test_construction_items_keep_their_printed_numbers(
    client: FlaskClient, headers: dict[str, str]
) -> None:
    version = client.get("/api/v1/checklists/construction", headers=headers).json
    assert [i["seq"] for i in version["items"]] == [str(n) for n in range(32, 45)]
    item_39 = next(i for i in version["items"] if i["seq"] == "39")
    assert [c["defect_answer"] for c in item_39["checks"]] == ["yes", "no"]


@pytest.mark.parametrize(
    "path", ["", "/gas", "/construction", "/confined_space", "/principal_duties"]
)
def test_every_checklist_resource_answers_if_none_match_with_304(
    client: FlaskClient, headers: dict[str, str], path: str
) -> None:
    first = client.get(f"/api/v1/checklists{path}", headers=headers)
    etag = first.headers["ETag"]
    assert not etag.startswith("W/")
    again = client.get(f"/api/v1/checklists{path}", headers={**headers, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag


def test_a_pinned_version_is_served_with_its_content_id_as_etag(
    client: FlaskClient, headers: dict[str, str]
) -> None:
    latest = client.get("/api/v1/checklists/gas", headers=headers).json
    url = f"/api/v1/checklists/gas/versions/{latest['version']}"
    reply = client.get(url, headers=headers)
    assert reply.status_code == 200
    assert reply.headers["ETag"] == f'"{latest["version"]}"'
    assert reply.json["items"] == latest["items"]
    assert (
        client.get(url, headers={**headers, "If-None-Match": reply.headers["ETag"]}).status_code
        == 304
    )


def test_a_stale_etag_gets_the_full_version(client: FlaskClient, headers: dict[str, str]) -> None:
    reply = client.get("/api/v1/checklists/gas", headers={**headers, "If-None-Match": '"old"'})
    assert reply.status_code == 200
    assert len(reply.json["items"]) == 3


def test_an_unknown_version_is_404(client: FlaskClient, headers: dict[str, str]) -> None:
    reply = client.get("/api/v1/checklists/gas/versions/0000000000000000", headers=headers)
    assert reply.status_code == 404
    assert reply.json["code"] == "not_found"
    assert client.get("/api/v1/checklists/bakery", headers=headers).status_code == 404


def _evaluate(
    client: FlaskClient, headers: dict[str, str], code: str, answers: dict[str, str]
) -> dict[str, object]:
    version = client.get(f"/api/v1/checklists/{code}", headers=headers).json["version"]
    reply = client.post(
        f"/api/v1/checklists/{code}/versions/{version}/evaluate",
        headers=headers,
        json={"answers": [{"item": k, "answer": v} for k, v in answers.items()]},
    )
    assert reply.status_code == 200, reply.json
    return reply.json  # type: ignore[no-any-return]


def test_all_three_confined_space_failures_make_a_major_hazard(
    client: FlaskClient, headers: dict[str, str]
) -> None:
    verdict = _evaluate(
        client,
        headers,
        "confined_space",
        {
            "confined_space.1.a": "no",
            "confined_space.1.b": "no",
            "confined_space.1.c": "no",
            "confined_space.poisoning_risk": "yes",  # the latest version (2023.2) needs it
        },
    )
    assert verdict["level"] == "major"
    [rule] = verdict["matched_rules"]  # type: ignore[misc]
    assert rule["source"]["article"] == CONFINED_1_RULE
    assert rule["source"]["item"] == "（一）"
    assert "confined_space.1" in verdict["defects"]  # type: ignore[operator]


@pytest.mark.parametrize(
    "missing", ["confined_space.1.a", "confined_space.1.b", "confined_space.1.c"]
)
def test_any_two_confined_space_failures_are_a_general_hazard(
    client: FlaskClient, headers: dict[str, str], missing: str
) -> None:
    answers = {c: "no" for c in ("confined_space.1.a", "confined_space.1.b", "confined_space.1.c")}
    answers[missing] = "yes"
    verdict = _evaluate(client, headers, "confined_space", answers)
    assert verdict["matched_rules"] == []
    assert verdict["level"] == "general"
    assert "confined_space.1" in verdict["defects"]  # type: ignore[operator]


def test_no_defects_means_no_level(client: FlaskClient, headers: dict[str, str]) -> None:
    verdict = _evaluate(client, headers, "confined_space", {"confined_space.2": "yes"})
    assert verdict == {"defects": [], "matched_rules": [], "level": None, "facts": []}


def test_gas_pipeline_occupation_is_major(client: FlaskClient, headers: dict[str, str]) -> None:
    verdict = _evaluate(client, headers, "gas", {"gas.3.b": "yes"})
    assert verdict["level"] == "major"


def test_an_unknown_item_is_422_with_its_code(client: FlaskClient, headers: dict[str, str]) -> None:
    version = client.get("/api/v1/checklists/gas", headers=headers).json["version"]
    reply = client.post(
        f"/api/v1/checklists/gas/versions/{version}/evaluate",
        headers=headers,
        json={"answers": [{"item": "gas.99", "answer": "yes"}]},
    )
    assert reply.status_code == 422
    assert reply.json["code"] == "checklist.unknown_item"
    assert "gas.99" in reply.json["message"]


def test_an_answer_outside_yes_no_na_is_422(client: FlaskClient, headers: dict[str, str]) -> None:
    version = client.get("/api/v1/checklists/gas", headers=headers).json["version"]
    reply = client.post(
        f"/api/v1/checklists/gas/versions/{version}/evaluate",
        headers=headers,
        json={"answers": [{"item": "gas.1", "answer": "maybe"}]},
    )
    assert reply.status_code == 422
    assert "answers" in reply.json["errors"]["json"]


def test_an_item_answered_twice_is_422(client: FlaskClient, headers: dict[str, str]) -> None:
    version = client.get("/api/v1/checklists/gas", headers=headers).json["version"]
    reply = client.post(
        f"/api/v1/checklists/gas/versions/{version}/evaluate",
        headers=headers,
        json={"answers": [{"item": "gas.1", "answer": "yes"}, {"item": "gas.1", "answer": "no"}]},
    )
    assert reply.status_code == 422
    assert "gas.1" in reply.json["message"]


def test_checklists_need_a_signed_in_user(client: FlaskClient) -> None:
    assert client.get("/api/v1/checklists").status_code == 401
