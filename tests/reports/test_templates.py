"""The shipped templates print exactly what the seeds print: a paraphrase fails here."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from reports import TemplateError, load_template, load_templates
from reports.calendar import CalendarUnknown
from reports.loader import TEMPLATES_DIR, parse_template
from tests.reports.seed_tables import cell_rows, form_items, licheng_table, seed_text, squeeze

FORMS = {
    "fuzhou": (
        "002_bced4c741a718fdd.txt",
        "福州市重大事故隐患专项排查整治 2023 行动进展情况调度表",
        "注：1.本表",
    ),
    "haicheng": (
        "004_3eef55874dbc2be9.txt",
        "全市重大隐患专项排查整治 2023 行动 进展情况调度表",
        "填表人",
    ),
}


def test_the_four_variants_ship() -> None:
    assert set(load_templates()) == {"licheng", "fuzhou", "haicheng", "quanzhou"}


@pytest.mark.parametrize("template_id", sorted(FORMS))
def test_form_items_are_the_printed_ones_in_order(template_id: str) -> None:
    seed, start, end = FORMS[template_id]
    printed = form_items(seed, start, end)
    template = load_template(template_id)
    ours: list[tuple[str, int, str]] = []
    for col in template.columns:
        item = (str(col.block), int(col.number or 0), str(col.label))
        if not ours or ours[-1] != item:
            ours.append(item)
    assert ours == printed
    assert len(printed) == 32
    assert squeeze(template.title) in squeeze(seed_text(seed))


@pytest.mark.parametrize("template_id", sorted(FORMS))
def test_an_item_with_two_values_is_two_columns_with_the_printed_units(template_id: str) -> None:
    template = load_template(template_id)
    by_number: dict[tuple[str | None, int | None], list[str | None]] = {}
    for col in template.columns:
        by_number.setdefault((col.block, col.number), []).append(col.unit)
    block = template.columns[0].block
    assert by_number[(block, 1)] == ["个"]
    two = {k: v for k, v in by_number.items() if len(v) == 2}
    assert sorted(map(tuple, two.values())) == sorted(
        [("次", "万元"), ("个", "个"), ("万元", "万元")]
    )
    for (blk, number), units in by_number.items():
        label = next(c.label for c in template.columns if (c.block, c.number) == (blk, number))
        for unit in units:
            assert unit is None or unit in str(label), (label, unit)


def quanzhou_table() -> list[list[str]]:
    text = seed_text("003_200e4be0d83f7ab5.txt")
    body = text[text.index("填报地区（部门）：\n") : text.index(" 审核人：")]
    return [[squeeze(c) for c in row] for row in cell_rows(body.split("\n", 1)[1])]


def test_quanzhou_header_rows_are_the_printed_ones_in_order() -> None:
    seed = quanzhou_table()
    template = load_template("quanzhou")
    assert seed[0][0] == template.unit_heading
    for row in range(2):
        ours = ["" if c.continued else c.text for c in template.header_cells(row)]
        assert ours == seed[row][1:], f"header row {row + 1}"
    assert len(template.columns) == 18
    ratio = template.column("pre_incident_ratio")
    assert (ratio.numerator, ratio.denominator) == ("cases_pre_incident", "inspected_enterprises")


def test_licheng_header_rows_are_the_printed_ones_in_order() -> None:
    seed = licheng_table()
    template = load_template("licheng")
    assert template.header_rows == 3
    for row in range(3):
        printed = seed[row][1:]  # the first cell is the 地区/部门 column
        ours = ["" if c.continued else c.text for c in template.header_cells(row)]
        assert ours == printed, f"header row {row + 1}"
    assert seed[0][0] == template.unit_heading


def test_licheng_has_the_printed_units_and_28_columns() -> None:
    seed = licheng_table()
    template = load_template("licheng")
    assert [c.unit for c in template.columns] == seed[3][1:]
    assert len(template.columns) == 28
    assert all(len(row) == 29 for row in seed[4:])
    assert seed[4][0] == template.total_label


def test_licheng_period_is_the_printed_interval() -> None:
    template = load_template("licheng")
    period = template.period.for_interval(dt.date(2023, 5, 1), dt.date(2023, 9, 26))
    assert (period.starts_on, period.cutoff) == (dt.date(2023, 5, 1), dt.date(2023, 9, 26))
    assert template.period.printed in seed_text("000_f621e6b55e58377e.txt")
    with pytest.raises(ValueError, match="ends before"):
        template.period.for_interval(dt.date(2023, 9, 26), dt.date(2023, 5, 1))


@pytest.mark.parametrize(
    ("template_id", "month", "period"),
    [
        # 截至上月末, due on the 1st (no holiday rule printed: 2023-10-01 stays)
        ("fuzhou", (2023, 9), ((2023, 5, 1), (2023, 9, 30), (2023, 10, 1))),
        # 截至本月24日, due on the 25th
        ("haicheng", (2023, 9), ((2023, 5, 1), (2023, 9, 24), (2023, 9, 25))),
        # 2023-06-25 is a Sunday but a make-up workday (调休上班): still due that day
        ("haicheng", (2023, 6), ((2023, 5, 1), (2023, 6, 24), (2023, 6, 25))),
        # 2023-11-25 is a Saturday: 如遇节假日提前上报, due on Friday the 24th
        ("haicheng", (2023, 11), ((2023, 5, 1), (2023, 11, 24), (2023, 11, 24))),
        # monthly, not cumulative; due on the 5th of the next month
        ("quanzhou", (2023, 9), ((2023, 9, 1), (2023, 9, 30), (2023, 10, 5))),
    ],
)
def test_month_periods_follow_the_printed_rule(
    template_id: str, month: tuple[int, int], period: tuple[tuple[int, int, int], ...]
) -> None:
    got = load_template(template_id).period.for_month(*month)
    assert (got.starts_on, got.cutoff, got.due) == tuple(dt.date(*d) for d in period)


def test_a_due_day_in_a_year_the_calendar_does_not_know_is_refused() -> None:
    with pytest.raises(CalendarUnknown, match="no data for 2099"):
        load_template("haicheng").period.for_month(2099, 11)


def test_printed_period_rules_are_in_the_seeds() -> None:
    for template in load_templates().values():
        assert squeeze(template.period.printed) in squeeze(seed_text(template.source["seed"]))


def test_a_paraphrased_heading_would_fail_the_comparison() -> None:
    seed = licheng_table()
    template = load_template("licheng")
    text = template_path("licheng").read_text(encoding="utf-8")
    changed = parse_template("licheng.toml", text.replace("帮扶指导重点企业", "帮扶重点企业", 1))
    ours = ["" if c.continued else c.text for c in changed.header_cells(1)]
    assert ours != seed[1][1:]
    assert template.column("assisted_enterprises").heading[1] == "帮扶指导重点企业"


def template_path(template_id: str) -> Path:
    return TEMPLATES_DIR / f"{template_id}.toml"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('metric = "penalties.count"', 'metric = "penalties.counted"'), "unknown metric"),
        (('unit = "万元"', 'unit = "元"'), "unknown unit"),
        (('key = "penalties"', 'key = "general_found"'), "duplicate column key"),
        (('holiday = "none"', 'holiday = "sometimes"'), "holiday must be"),
        (('heading = ["一般隐患", "", "排查"]', 'heading = ["", "", "排查"]'), "top entry"),
        (('heading = ["一般隐患", "", "排查"]', 'heading = ["一般隐患", "排查"]'), "one entry per"),
    ],
)
def test_a_malformed_template_is_refused_with_what_is_wrong(
    change: tuple[str, str], message: str
) -> None:
    text = template_path("licheng").read_text(encoding="utf-8")
    assert change[0] in text
    with pytest.raises(TemplateError, match=message):
        parse_template("licheng.toml", text.replace(change[0], change[1], 1))
