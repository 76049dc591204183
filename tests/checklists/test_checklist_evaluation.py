"""What answers mean: defects follow each item's polarity; rules decide "major"."""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import given
from hypothesis import strategies as st

from checklists import (
    Answer,
    ChecklistVersion,
    InvalidAnswer,
    UnknownItem,
    load_directory,
)


@cache
def shipped(code: str, label: str = "2023") -> ChecklistVersion:
    """A published version: the first ones (2023) never change, so these tests stand."""
    (version,) = [v for v in load_directory() if (v.code, v.label) == (code, label)]
    return version


def confined_space() -> ChecklistVersion:
    return shipped("confined_space")


def construction() -> ChecklistVersion:
    return shipped("construction")


def rule_codes(version: ChecklistVersion, answers: dict[str, Answer]) -> list[str]:
    return [rule.code for rule in version.evaluate(answers).matched_rules]


LEDGER_RULE = "confined_space.gmqy2023.13.1"
NOT_IDENTIFIED, NO_SIGNS, NO_LEDGER = (
    "confined_space.1.a",
    "confined_space.1.b",
    "confined_space.1.c",
)


# --- 有限空间 item 1 and 工贸 第十三条（一）: all three conditions ------------------------------


def test_confined_space_all_three_failures_meet_the_ledger_rule() -> None:
    answers: dict[str, Answer] = {NOT_IDENTIFIED: "no", NO_SIGNS: "no", NO_LEDGER: "no"}
    result = confined_space().evaluate(answers)
    assert [rule.code for rule in result.matched_rules] == [LEDGER_RULE]
    assert result.level == "major"


@pytest.mark.parametrize(
    "failed",
    [(NOT_IDENTIFIED, NO_SIGNS), (NOT_IDENTIFIED, NO_LEDGER), (NO_SIGNS, NO_LEDGER)],
)
def test_confined_space_any_two_failures_are_a_general_defect(failed: tuple[str, str]) -> None:
    answers: dict[str, Answer] = {NOT_IDENTIFIED: "yes", NO_SIGNS: "yes", NO_LEDGER: "yes"}
    answers.update(dict.fromkeys(failed, "no"))
    result = confined_space().evaluate(answers)
    assert result.defects == ("confined_space.1", *sorted(failed, key=answers_order))
    assert result.matched_rules == ()
    assert result.level == "general"


def answers_order(code: str) -> int:
    return confined_space().all_codes().index(code)


def test_confined_space_an_outdated_ledger_is_not_a_missing_ledger() -> None:
    answers: dict[str, Answer] = {
        NOT_IDENTIFIED: "no",
        NO_SIGNS: "no",
        NO_LEDGER: "yes",
        "confined_space.1.f": "no",
    }
    result = confined_space().evaluate(answers)
    assert "confined_space.1.f" in result.defects
    assert result.level == "general"


def test_confined_space_blind_spots_are_a_defect_when_answered_yes() -> None:
    result = confined_space().evaluate({"confined_space.1.e": "yes"})
    assert result.defects == ("confined_space.1", "confined_space.1.e")


def test_confined_space_no_blind_spots_is_compliant() -> None:
    assert confined_space().evaluate({"confined_space.1.e": "no"}).defects == ()


def test_confined_space_a_parent_answered_alone_uses_its_printed_polarity() -> None:
    result = confined_space().evaluate({"confined_space.1": "no"})
    assert result.defects == ("confined_space.1",)
    assert result.level == "general"


def test_confined_space_answered_checks_override_the_parent_answer() -> None:
    answers: dict[str, Answer] = {"confined_space.1": "no", NOT_IDENTIFIED: "yes"}
    assert confined_space().evaluate(answers).defects == ()


def test_confined_space_approval_not_carried_out_meets_article_13_item_2() -> None:
    answers: dict[str, Answer] = {"confined_space.7.c": "no"}
    assert rule_codes(confined_space(), answers) == ["confined_space.gmqy2023.13.2"]


def test_confined_space_a_long_gap_after_testing_is_only_a_general_defect() -> None:
    result = confined_space().evaluate({"confined_space.7.f": "no"})
    assert result.defects == ("confined_space.7", "confined_space.7.f")
    assert result.level == "general"


# --- 建筑施工: defect statements, a mixed line, a requirement ---------------------------------


def test_construction_yes_on_a_defect_statement_is_a_defect() -> None:
    result = construction().evaluate({"construction.35": "yes"})
    assert result.defects == ("construction.35",)
    assert rule_codes(construction(), {"construction.35": "yes"}) == ["construction.fhsz2022.12"]


def test_construction_no_on_a_defect_statement_is_compliant() -> None:
    assert construction().evaluate({"construction.35": "no"}).level is None


def test_construction_39_missing_fire_plan_is_a_defect_when_answered_yes() -> None:
    result = construction().evaluate({"construction.39.a": "yes", "construction.39.b": "yes"})
    assert result.defects == ("construction.39", "construction.39.a")


def test_construction_39_drills_not_organised_is_a_defect_when_answered_no() -> None:
    result = construction().evaluate({"construction.39.a": "no", "construction.39.b": "no"})
    assert result.defects == ("construction.39", "construction.39.b")


def test_construction_39_plan_and_drills_in_place_is_compliant() -> None:
    answers: dict[str, Answer] = {"construction.39.a": "no", "construction.39.b": "yes"}
    assert construction().evaluate(answers).defects == ()


def test_construction_42_requirement_met_is_compliant() -> None:
    assert construction().evaluate({"construction.42": "yes"}).defects == ()


def test_construction_42_requirement_not_met_is_a_general_defect() -> None:
    result = construction().evaluate({"construction.42": "no"})
    assert result.defects == ("construction.42",)
    assert result.level == "general"


@pytest.mark.parametrize("check", ["construction.32.a", "construction.32.b", "construction.32.c"])
def test_construction_any_one_confined_space_failure_is_major(check: str) -> None:
    result = construction().evaluate({check: "yes"})
    assert [rule.code for rule in result.matched_rules] == ["construction.fhsz2022.11.1"]
    assert result.level == "major"


def test_construction_32_ticked_as_a_whole_is_major() -> None:
    assert construction().evaluate({"construction.32": "yes"}).level == "major"


def test_construction_fire_safety_defects_are_general() -> None:
    result = construction().evaluate({"construction.41.b": "yes", "construction.44": "yes"})
    assert result.defects == ("construction.41", "construction.41.b", "construction.44")
    assert result.level == "general"


def test_gas_occupied_pressure_pipeline_is_major() -> None:
    gas = shipped("gas")
    assert rule_codes(gas, {"gas.3.b": "yes"}) == ["gas.czrq2023.6.1"]
    assert gas.evaluate({"gas.3.a": "yes"}).level == "general"


# --- answers that are not applicable, missing, unknown or invalid --------------------------


def test_parent_answered_na_makes_its_checks_not_applicable() -> None:
    answers: dict[str, Answer] = {"construction.32": "na", "construction.32.a": "yes"}
    assert construction().evaluate(answers).defects == ()


def test_no_answers_mean_no_defects_and_no_level() -> None:
    result = construction().evaluate({})
    assert (result.defects, result.matched_rules, result.level) == ((), (), None)


def test_all_compliant_answers_mean_level_none() -> None:
    version = construction()
    answers: dict[str, Answer] = {
        code: "no" if version.item(code).defect_answer == "yes" else "yes"
        for code in version.all_codes()
    }
    assert version.evaluate(answers).level is None


def test_answer_to_an_unknown_code_is_refused() -> None:
    with pytest.raises(UnknownItem) as caught:
        construction().evaluate({"construction.99": "yes"})
    assert caught.value.code == "construction.99"


def test_answer_outside_yes_no_na_is_refused() -> None:
    bad: dict[str, str] = {"construction.35": "是"}
    with pytest.raises(InvalidAnswer):
        construction().evaluate(bad)  # type: ignore[arg-type]


def test_item_lookup_of_an_unknown_code_raises_unknown_item() -> None:
    with pytest.raises(UnknownItem):
        construction().item("gas.1")


def test_evaluation_to_dict_lists_defects_rules_and_level() -> None:
    data = construction().evaluate({"construction.33": "yes"}).to_dict()
    assert data["defects"] == ["construction.33"]
    assert [rule["code"] for rule in data["matched_rules"]] == ["construction.fhsz2022.11.2"]
    assert data["matched_rules"][0]["source"]["article"] == "第十一条"
    assert data["level"] == "major"


# --- properties --------------------------------------------------------------------------

VERSION_CODES = ("gas", "construction", "confined_space")
ANSWER_VALUES: tuple[Answer, ...] = ("yes", "no", "na")


@given(st.sampled_from(VERSION_CODES))
def test_all_na_answers_never_report_a_defect(code: str) -> None:
    version = shipped(code)
    result = version.evaluate(dict.fromkeys(version.all_codes(), "na"))
    assert (result.defects, result.matched_rules, result.level) == ((), (), None)


@st.composite
def answered(draw: st.DrawFn) -> tuple[ChecklistVersion, dict[str, Answer]]:
    version = shipped(draw(st.sampled_from(VERSION_CODES)))
    answers = draw(
        st.dictionaries(st.sampled_from(version.all_codes()), st.sampled_from(ANSWER_VALUES))
    )
    return version, answers


@given(answered())
def test_every_reported_defect_traces_to_a_defect_answer(
    case: tuple[ChecklistVersion, dict[str, Answer]],
) -> None:
    version, answers = case
    result = version.evaluate(answers)
    for code in result.defects:
        item = version.item(code)
        traced = [item, *item.checks]
        assert any(answers.get(i.code) == i.defect_answer for i in traced), code
    assert (result.level is None) == (result.defects == ())
    assert not result.matched_rules or result.level == "major"
