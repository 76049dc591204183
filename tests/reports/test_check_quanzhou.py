"""Checking a hand-filled 泉州 附件2 (全市安全生产执法年活动工作情况统计表): its rate column, the
parts of 罚款总额, and no total row required, as its [checks] say."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from reports import load_template
from reports.check import WrongTemplate, check_file
from reports.check.checks import Finding
from tests.reports.check_support import form_grid, seed_bytes, to_tsv

COLUMNS = [c.key for c in load_template("quanzhou").columns]


def row(label: str, **figures: str) -> list[str]:
    return [label, *(figures.get(key, "0") for key in COLUMNS)]


LICHENG_DISTRICT = row(
    "鲤城区",
    inspected_enterprises="20",
    hazards_found="5",
    hazards_rectified="7",  # more than found: rectifications of earlier months count
    cases_pre_incident="3",
    pre_incident_ratio="15",
    fines_total="2.1",
    fines_pre_incident="1.5",
    fines_accident="0.6",
)


def check(*rows: list[str]) -> list[Finding]:
    grid = form_grid(list(rows), load_template("quanzhou"))
    grid = [r for r in grid if r[0] or any(r[1:])]
    grid.pop(2 + load_template("quanzhou").header_rows)  # the form prints no units row
    result = check_file("附件2.txt", to_tsv(grid).encode("gb18030"))
    assert result.template.id == "quanzhou"
    return result.findings


def test_a_consistent_row_without_a_total_row_gets_no_findings() -> None:
    assert check(LICHENG_DISTRICT) == []


def test_fines_of_the_parts_beyond_the_total_fine_are_listed() -> None:
    (found,) = check(row("丰泽区", fines_total="2", fines_pre_incident="1.5", fines_accident="0.6"))
    assert (found.rule, found.row, found.column) == ("at_most", "丰泽区", "fines_pre_incident")
    assert "1.5 (line 5, column I) + " in found.message
    assert "= 2.1 > 经济处罚情况/罚款总额(万元) 2 (line 5, column H)" in found.message


def with_rate(cases: str, inspected: str, stated: str) -> list[str]:
    figures = list(LICHENG_DISTRICT)
    for key, value in (
        ("cases_pre_incident", cases),
        ("inspected_enterprises", inspected),
        ("pre_incident_ratio", stated),
    ):
        figures[1 + COLUMNS.index(key)] = value
    return figures


@pytest.mark.parametrize("stated", ["15", "15.0", "15%", "15.00％"])
def test_an_exact_rate_is_accepted_however_it_is_written(stated: str) -> None:
    assert check(with_rate("3", "20", stated)) == []


# 1 of 3 is 33.333…%; 2 of 3 is 66.666…%.
@pytest.mark.parametrize(
    ("cases", "stated"), [("1", "33"), ("1", "33.3"), ("1", "33.33"), ("2", "67"), ("2", "66.6")]
)
def test_a_rate_rounded_or_cut_to_its_decimals_is_accepted(cases: str, stated: str) -> None:
    assert check(with_rate(cases, "3", stated)) == []


@pytest.mark.parametrize(("cases", "stated"), [("1", "34"), ("1", "33.4"), ("2", "66.5")])
def test_a_rate_neither_rounded_nor_cut_is_listed(cases: str, stated: str) -> None:
    assert [f.rule for f in check(with_rate(cases, "3", stated))] == ["ratio"]


def test_a_rate_that_is_not_its_quotient_is_listed_with_the_division() -> None:
    figures = list(LICHENG_DISTRICT)
    figures[1 + COLUMNS.index("pre_incident_ratio")] = "12"
    (found,) = check(figures)
    assert found.rule == "ratio"
    assert found.message == (
        "12% ≠ 100 × 立案情况/事前立案数(件) 3 (line 5, column E) ÷ "
        "检查情况/现场监督检查企业数（家） 20 (line 5, column B) = 15%"
    )


def test_a_rate_with_nothing_inspected_is_listed_and_an_empty_one_is_not() -> None:
    (found,) = check(row("丰泽区", pre_incident_ratio="10"), row("洛江区", pre_incident_ratio=""))
    assert (found.rule, found.row) == ("ratio", "丰泽区")
    assert "with nothing to divide by there is no rate" in found.message


def test_a_total_row_if_there_is_one_is_the_sum_and_its_rate_the_rate_of_the_sums() -> None:
    other = row(
        "丰泽区", inspected_enterprises="10", cases_pre_incident="1", pre_incident_ratio="10"
    )
    total = row(
        "合计",
        inspected_enterprises="30",
        hazards_found="5",
        hazards_rectified="7",
        cases_pre_incident="4",
        pre_incident_ratio="25",  # the sum of the rates; 4 of 30 is 13.3%
        fines_total="2.1",
        fines_pre_incident="1.5",
        fines_accident="0.6",
    )
    (found,) = check(LICHENG_DISTRICT, other, total)
    assert (found.rule, found.row) == ("ratio", "合计")
    assert found.message.endswith("= 13.3333%")


def test_seed_000_checked_as_quanzhou_is_the_wrong_template() -> None:
    with pytest.raises(WrongTemplate, match="地区（部门）"):
        check_file("000.txt", seed_bytes(), "quanzhou")


def test_a_workbook_holding_the_rate_as_a_percentage_fraction_is_accepted() -> None:
    template = load_template("quanzhou")
    grid = form_grid([with_rate("1", "3", "0")], template)
    book = Workbook()
    sheet = book.active
    for number, cells in enumerate(grid, start=1):
        for column, value in enumerate(cells, start=1):
            if value and number > 2 + template.header_rows + 1 and column > 1:
                sheet.cell(number, column, float(value))
            elif value:
                sheet.cell(number, column, value)
    rate = 2 + COLUMNS.index("pre_incident_ratio")
    sheet.cell(len(grid), rate, 1 / 3)  # typed 33.33% with a percent format
    buffer = io.BytesIO()
    book.save(buffer)
    assert check_file("附件2.xlsx", buffer.getvalue()).findings == []
    sheet.cell(len(grid), rate, 0.34)
    book.save(buffer := io.BytesIO())
    assert [f.rule for f in check_file("附件2.xlsx", buffer.getvalue()).findings] == ["ratio"]
