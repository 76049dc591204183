"""The shipped templates print exactly what the seeds print: a paraphrase fails here."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from reports import TemplateError, load_template, load_templates
from reports.loader import TEMPLATES_DIR, parse_template
from tests.reports.seed_tables import licheng_table, seed_text


def test_the_four_variants_ship() -> None:
    assert set(load_templates()) >= {"licheng"}


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
