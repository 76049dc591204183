"""The 抽查 checklist of the enterprise principal's duties: the seven 抽查 rows of the 福州 and
海城 dispatch forms, each with the duty it checks quoted from both plans."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

from checklists import ChecklistVersion, load_directory

SEEDS = Path(__file__).resolve().parents[2] / ".." / "shared" / "seeds"
FUZHOU, HAICHENG = "002_bced4c741a718fdd.txt", "004_3eef55874dbc2be9.txt"


@cache
def seed(name: str) -> str:
    path = SEEDS / name
    if not path.is_file():
        pytest.skip(f"seed document not found at {path} (../shared beside the repo)")
    # Paragraphs run across page breaks in the text; the ** are bold marks, not print.
    return path.read_text(encoding="utf-8").replace("\n", "").replace("**", "")


def checklist() -> ChecklistVersion:
    return {v.code: v for v in load_directory()}["principal_duties"]


def test_the_items_are_the_seven_defect_rows_of_both_forms_in_printed_order() -> None:
    items = checklist().items
    assert [i.seq for i in items] == ["2", "3", "4", "5", "6", "7", "8"]
    for item in items:
        # The same row in both forms, followed by its counting unit.
        assert f"{item.text}（家）" in seed(FUZHOU), item.code
        assert f"{item.text}(家)" in seed(HAICHENG), item.code
        assert item.category == "辖区部门对企业的自查自改进行抽查检查情况"


def test_every_row_states_a_defect() -> None:
    version = checklist()
    assert {version.item(c).defect_answer for c in version.all_codes()} == {"yes"}


def test_each_quoted_duty_is_verbatim_in_the_plan_it_names() -> None:
    sources = {"福州": FUZHOU, "福州注": FUZHOU, "海城": HAICHENG}
    for item in checklist().items:
        assert item.detail, item.code
        parts = re.split(r" (?=(?:福州注|福州|海城)：)", item.detail)
        for part in parts:
            label, _, quote = part.partition("：")
            assert quote in seed(sources[label]), (item.code, label)


def test_the_duties_of_both_plans_are_covered() -> None:
    details = " ".join(i.detail or "" for i in checklist().items)
    assert details.count("福州：") == 7
    assert details.count("海城：") == 6


def test_unlicensed_special_work_is_found_on_site_or_from_the_permits() -> None:
    item = checklist().item("principal_duties.6")
    assert [c.text for c in item.checks] == [
        "通过现场检查发现问题",
        "通过对动火等特种作业存单进行检查核实来发现问题",
    ]


def test_outsourcing_in_disorder_is_any_of_its_four_conditions() -> None:
    version = checklist()
    item = version.item("principal_duties.7")
    assert len(item.checks) == 4
    for check in item.checks:
        answers = {c: "no" for c in version.all_codes()}
        answers[check.code] = "yes"
        result = version.evaluate(answers)
        assert check.code in result.defects


def test_drills_and_escape_exits_are_two_checks() -> None:
    item = checklist().item("principal_duties.8")
    assert [c.text for c in item.checks] == ["未按规定开展应急演练", "员工不熟悉逃生出口"]
