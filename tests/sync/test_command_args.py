"""Parsing a command's arguments: pure, before any database is asked anything."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from sync import CommandRejected
from sync.hazards import parse_reinspect
from sync.inspections import parse_save, parse_submit

SHA = "a" * 64


def save_args(**changes: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "checklist": {"code": "confined_space", "version": "v1"},
        "enterprise_id": str(uuid.uuid4()),
        "kind": "department_inspection",
        "started_at": "2026-11-20T09:00:00+08:00",
        "finished_at": "2026-11-20T10:30:00+08:00",
        "inspectors": [{"name": "李检查"}],
        "answers": [{"item": "confined_space.1", "answer": "no", "note": None}],
        "findings": [],
        "photos": [],
        "signatures": [{"role": "inspector", "name": "李检查", "sha256": SHA}],
    }
    return {**args, **changes}


def rejected(parse: Any, args: Any) -> CommandRejected:
    with pytest.raises(CommandRejected) as caught:
        parse(args)
    return caught.value


def test_a_whole_inspection_parses_into_its_parts() -> None:
    args = save_args()
    save = parse_save(args)
    assert save.id == uuid.UUID(args["id"])
    assert (save.checklist_code, save.checklist_version) == ("confined_space", "v1")
    assert save.answers == [{"item": "confined_space.1", "answer": "no", "note": None}]
    assert save.media() == {SHA}


def test_the_printed_kind_label_is_accepted_for_its_code() -> None:
    assert parse_save(save_args(kind="督导检查")).kind == "supervisory_inspection"


def test_an_unknown_kind_is_refused_with_its_own_code() -> None:
    assert rejected(parse_save, save_args(kind="spot_check")).code == "inspection.kind_unknown"


def test_an_answer_other_than_yes_no_na_names_its_field() -> None:
    args = save_args(answers=[{"item": "confined_space.1", "answer": "maybe"}])
    refused = rejected(parse_save, args)
    assert refused.code == "command.invalid"
    assert "answers.0.answer" in refused.message


def test_a_finding_needs_a_description() -> None:
    finding = {
        "id": str(uuid.uuid4()),
        "items": ["confined_space.1"],
        "description": "  ",
        "requirement": "立即整改",
        "deadline": "immediate",
        "claimed_level": "general",
        "photos": [],
    }
    refused = rejected(parse_save, save_args(findings=[finding]))
    assert refused.code == "finding.description_missing"


def test_unknown_arguments_are_refused() -> None:
    assert rejected(parse_save, save_args(colour="red")).code == "command.invalid"


def test_a_submit_takes_only_the_inspection_id() -> None:
    inspection_id = uuid.uuid4()
    assert parse_submit({"id": str(inspection_id)}) == inspection_id
    assert rejected(parse_submit, {"id": "not-a-uuid"}).code == "command.invalid"
    assert rejected(parse_submit, {"id": str(inspection_id), "x": 1}).code == "command.invalid"


def test_a_reinspection_is_the_ledger_event_it_stands_for() -> None:
    hazard_id = uuid.uuid4()
    command = parse_reinspect(
        {"hazard_id": str(hazard_id), "passed": True, "photos": [SHA, SHA], "comment": "已整改"}
    )
    assert command.hazard_id == hazard_id
    assert command.event() == {
        "type": "reinspected",
        "passed": True,
        "comment": "已整改",
        "photos": [SHA],  # a photo listed twice is one photo
    }


def test_a_reinspection_needs_passed_as_a_real_boolean() -> None:
    refused = rejected(parse_reinspect, {"hazard_id": str(uuid.uuid4()), "passed": "yes"})
    assert refused.code == "command.invalid"
    assert "passed" in refused.errors["args"]
