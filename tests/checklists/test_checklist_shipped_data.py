"""The shipped checklists say exactly what 榕建质安〔2023〕73号 prints."""

from __future__ import annotations

import json
from dataclasses import replace
from functools import cache
from pathlib import Path

import pytest

from checklists import (
    DATA_DIR,
    ChecklistError,
    ChecklistVersion,
    Item,
    load_directory,
    load_file,
)

SEED = Path(__file__).resolve().parents[2] / ".." / "shared" / "seeds" / "002_bced4c741a718fdd.txt"


@cache
def shipped() -> dict[str, ChecklistVersion]:
    """The first published version of each checklist (2023), which never changes."""
    return {
        version.code: version
        for version in load_directory()
        if version.label == "2023" and not version.generic
    }


def every_version() -> list[ChecklistVersion]:
    return load_directory()


def every_item(version: ChecklistVersion) -> list[Item]:
    return [version.item(code) for code in version.all_codes()]


@cache
def seed_text() -> str:
    if not SEED.is_file():
        pytest.skip(f"seed document not found at {SEED} (../shared beside the repo)")
    return SEED.read_text(encoding="utf-8")


def test_data_dir_holds_one_file_per_checklist() -> None:
    names = sorted(path.relative_to(DATA_DIR).as_posix() for path in DATA_DIR.glob("*/*.toml"))
    assert names == [
        "confined_space/2023.2.toml",
        "confined_space/2023.toml",
        "construction/2023.2.toml",
        "construction/2023.toml",
        "gas/2023.toml",
        "general/2023.toml",
        "principal_duties/2023.toml",
    ]


def test_load_directory_sorts_by_code_then_label() -> None:
    assert [(v.code, v.label) for v in load_directory()] == [
        ("confined_space", "2023"),
        ("confined_space", "2023.2"),
        ("construction", "2023"),
        ("construction", "2023.2"),
        ("gas", "2023"),
        ("general", "2023"),
        ("principal_duties", "2023"),
    ]


@pytest.mark.parametrize(
    ("code", "seqs"),
    [
        ("gas", [str(n) for n in range(1, 4)]),
        ("construction", [str(n) for n in range(32, 45)]),
        ("confined_space", [str(n) for n in range(1, 8)]),
    ],
)
def test_each_checklist_has_its_printed_items_in_printed_order(code: str, seqs: list[str]) -> None:
    assert [item.seq for item in shipped()[code].items] == seqs


@pytest.mark.parametrize(
    ("code", "title", "attachment", "category"),
    [
        ("gas", "燃气重点检查事项清单", "附件1", "城镇燃气"),
        ("construction", "建筑施工重点检查事项清单", "附件2", "建筑施工"),
        ("confined_space", "有限空间作业重点检查事项清单", "附件3", "有限空间作业"),
    ],
)
def test_titles_attachments_and_categories_are_as_printed(
    code: str, title: str, attachment: str, category: str
) -> None:
    version = shipped()[code]
    assert (version.title, version.attachment, version.sector) == (title, attachment, code)
    assert {item.category for item in every_item(version)} == {category}


def test_every_checklist_cites_the_fuzhou_implementation_plan() -> None:
    for version in every_version():
        if version.generic:
            continue  # the generic sheet cites the notice that asks for it (seed 000)
        assert version.source.title == "福州市建设系统重大事故隐患专项排查整治2023行动实施方案"
        assert version.source.number == "榕建质安〔2023〕73号"


def test_every_item_and_check_text_appears_verbatim_in_the_seed() -> None:
    seed = seed_text()
    missing = [
        item.code
        for version in every_version()
        for item in every_item(version)
        if item.text not in seed
    ]
    assert missing == []


def test_every_check_text_is_a_fragment_of_its_item_text() -> None:
    for version in every_version():
        for item in version.items:
            for check in item.checks:
                # The 抽查 rows' sub-checks are the cases the form's note spells out, which the
                # item quotes in its detail.
                assert check.text in item.text + (item.detail or ""), check.code


def test_typos_in_the_seed_are_kept_as_printed() -> None:
    construction = shipped()["construction"]
    assert construction.item("construction.38").text.startswith("消防安全责任制的未落实：")
    assert construction.item("construction.39").text.endswith("应急演练。")


def test_construction_topics_follow_the_merged_cells() -> None:
    topics = {item.seq: item.topic for item in shipped()["construction"].items}
    assert topics == {
        "32": "有限空间作业",
        "33": "有限空间作业",
        "34": "施工临时用电",
        "35": "拆除工程",
        "36": "暗挖工程",
        "37": "暗挖工程",
        **{str(n): "消防安全" for n in range(38, 45)},
    }


def test_gas_and_confined_space_items_have_no_separate_topic() -> None:
    for code in ("gas", "confined_space"):
        assert {item.topic for item in every_item(shipped()[code])} == {None}


def test_every_code_states_its_polarity_and_why() -> None:
    for version in every_version():
        for item in every_item(version):
            assert item.defect_answer in ("yes", "no"), item.code
            assert item.polarity_reason.strip(), item.code


@pytest.mark.parametrize(
    ("code", "defect_answer"),
    [
        ("confined_space.1", "no"),
        ("confined_space.1.a", "no"),
        ("confined_space.1.e", "yes"),
        ("confined_space.7", "no"),
        ("construction.32", "yes"),
        ("construction.39", "yes"),
        ("construction.39.a", "yes"),
        ("construction.39.b", "no"),
        ("construction.42", "no"),
        ("construction.44.b", "yes"),
        ("gas.3", "yes"),
        ("gas.3.b", "yes"),
    ],
)
def test_tricky_items_have_their_deliberate_polarity(code: str, defect_answer: str) -> None:
    sector = code.split(".", 1)[0]
    assert shipped()[sector].item(code).defect_answer == defect_answer


def test_construction_record_fields_are_the_printed_footer() -> None:
    fields = [(f.key, f.label) for f in shipped()["construction"].record_fields]
    assert fields == [
        ("project", "检查项目"),
        ("project_manager", "项目经理"),
        ("chief_supervisor", "总监"),
        ("inspectors", "检查人员"),
        ("inspected_at", "检查时间"),
    ]


def test_rules_cite_the_verified_articles() -> None:
    cited = {
        rule.code: (rule.source.article, rule.source.item)
        for version in shipped().values()
        for rule in version.rules
    }
    assert cited == {
        "construction.fhsz2022.10": ("第十条", None),
        "construction.fhsz2022.11.1": ("第十一条", "（一）"),
        "construction.fhsz2022.11.2": ("第十一条", "（二）"),
        "construction.fhsz2022.12": ("第十二条", None),
        "construction.fhsz2022.13.1": ("第十三条", "（一）"),
        "construction.fhsz2022.13.2": ("第十三条", "（二）"),
        "confined_space.gmqy2023.13.1": ("第十三条", "（一）"),
        "confined_space.gmqy2023.13.2": ("第十三条", "（二）"),
        "gas.czrq2023.6.1": ("第六条", "（一）"),
    }


def test_confined_space_ledger_rule_needs_all_three_conditions() -> None:
    (rule,) = [
        r for r in shipped()["confined_space"].rules if r.code == "confined_space.gmqy2023.13.1"
    ]
    assert rule.to_dict()["expr"] == {
        "all": ["confined_space.1.a", "confined_space.1.c", "confined_space.1.b"]
    }


def test_to_dict_has_the_api_shape() -> None:
    data = shipped()["construction"].to_dict()
    assert list(data) == [
        "version",
        "code",
        "title",
        "label",
        "sector",
        "attachment",
        "source",
        "items",
        "rules",
        "record_fields",
    ]
    assert data["items"][0]["checks"][0] == {
        "code": "construction.32.a",
        "seq": "32(a)",
        "category": "建筑施工",
        "topic": "有限空间作业",
        "text": "未履行“作业审批制度”",
        "detail": None,
        "defect_answer": "yes",
        "polarity_reason": data["items"][0]["checks"][0]["polarity_reason"],
        "checks": [],
    }


def test_shipped_versions_have_stable_ids() -> None:
    for path in DATA_DIR.glob("*/*.toml"):
        assert load_file(path).version == load_file(path).version
        assert len(load_file(path).version) == 16


def test_from_dict_rebuilds_each_shipped_version_from_its_json() -> None:
    for version in shipped().values():
        stored = json.loads(json.dumps(version.to_dict(), ensure_ascii=False))
        assert ChecklistVersion.from_dict(stored) == version


def test_from_dict_refuses_content_that_no_longer_matches_its_version() -> None:
    stored = shipped()["gas"].to_dict()
    stored["items"][0]["text"] += "（改）"
    with pytest.raises(ChecklistError, match="content was altered"):
        ChecklistVersion.from_dict(stored)


def test_from_dict_refuses_a_rule_naming_a_missing_item() -> None:
    stored = shipped()["gas"].to_dict()
    del stored["version"]
    stored["rules"][0]["expr"] = "gas.9"
    with pytest.raises(ChecklistError, match=r"unknown item 'gas\.9'"):
        ChecklistVersion.from_dict(stored)


def test_from_dict_refuses_malformed_content() -> None:
    stored = shipped()["gas"].to_dict()
    del stored["items"][0]["defect_answer"]
    with pytest.raises(ChecklistError, match="malformed checklist content"):
        ChecklistVersion.from_dict(stored)


def test_a_version_refuses_duplicate_codes_however_it_is_built() -> None:
    gas = shipped()["gas"]
    with pytest.raises(ChecklistError, match=r"duplicate item code 'gas\.1'"):
        replace(gas, items=(*gas.items, gas.items[0]))
