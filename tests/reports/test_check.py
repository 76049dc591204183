"""Checking a hand-filled 荔城 调度表: every inconsistency its figures prove, with the cell and the
arithmetic; none for a consistent one; the relations come from the template's [checks]."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from reports.check import UnknownTemplate, WrongTemplate, check_file, checkable_templates
from reports.check.checks import Finding
from tests.reports.check_support import (
    Figures,
    consistent_figures,
    figure,
    form_grid,
    seed_bytes,
    seed_figures,
    set_figure,
    to_tsv,
    to_xlsx,
)

SEED_LINES = seed_bytes().decode().split("\n")


def at_line(where: str) -> str:
    """The seed's text at a finding's "line N"."""
    return SEED_LINES[int(where.removeprefix("line ")) - 1]


def findings_of(figures: Figures) -> list[Finding]:
    return check_file("filled.txt", to_tsv(form_grid(figures)).encode()).findings


def rules(findings: list[Finding]) -> list[tuple[str, str | None, str | None]]:
    return [(f.rule, f.row, f.column) for f in findings]


# Seed 000, read from its text -----------------------------------------------------------------


def test_seed_000_table_has_exactly_its_two_provable_inconsistencies() -> None:
    result = check_file("000_f621e6b55e58377e.txt", seed_bytes())
    assert (result.template.id, result.sheet) == ("licheng", None)  # text has no sheets
    assert result.rows == 28  # 累计 and 27 units
    assert rules(result.findings) == [
        ("total", "累计", "assisted_towns"),
        ("at_most", "区文旅局", "major_supervised_found"),
    ]


def test_seed_000_total_finding_names_the_cell_and_adds_up_the_rows() -> None:
    total, _ = check_file("000.txt", seed_bytes()).findings
    rows = seed_figures()[1:]
    terms = [figure([row], row[0], "assisted_towns") for row in rows]
    assert at_line(total.where) == "\t366"
    assert total.message.startswith(
        f"366 ≠ {sum(int(t) for t in terms)} = {' + '.join(terms)}, the sum of the 27 rows"
    )
    assert total.heading == "部门精准严格执法情况/帮扶指导重点县区（镇街）"


def test_seed_000_supervision_finding_shows_the_majors_it_can_come_from() -> None:
    _, supervised = check_file("000.txt", seed_bytes()).findings
    assert at_line(supervised.where) == "\t1"
    assert supervised.line().startswith(
        f"{supervised.where}: 区文旅局 重大隐患/部门挂牌督办/排查: "
        "1 > 重大隐患/企业自查上报/排查 0 "
    )
    assert "+ 重大隐患/部门排查/排查 0" in supervised.message
    for part in supervised.message.split("(")[1:3]:
        assert at_line(part.split(")")[0]) == "\t0"


def test_a_consistent_table_gets_no_findings() -> None:
    assert findings_of(consistent_figures()) == []


def test_the_seed_text_in_gb18030_gives_the_same_findings() -> None:
    utf8 = check_file("000.txt", seed_bytes()).findings
    gb = check_file("000.txt", seed_bytes().decode().encode("gb18030")).findings
    assert gb == utf8


def test_an_xlsx_of_the_seed_figures_gives_them_at_their_cell_addresses() -> None:
    result = check_file("附件1.xlsx", to_xlsx(seed_figures()))
    assert result.sheet == "附件1"
    assert [(f.rule, f.where) for f in result.findings] == [("total", "K7"), ("at_most", "H28")]
    assert result.findings[1].message.startswith("1 > 重大隐患/企业自查上报/排查 0 (D28)")


def test_an_xlsx_of_a_consistent_table_gets_no_findings() -> None:
    assert check_file("附件1.xlsx", to_xlsx(consistent_figures())).findings == []


def test_figures_typed_as_text_in_a_workbook_are_read_as_numbers() -> None:
    assert check_file("t.xlsx", to_xlsx(consistent_figures(), numbers=False)).findings == []


# Each relation: one table breaking it, the finding naming it -----------------------------------


def with_changes(*changes: tuple[str, str, str]) -> Figures:
    """The consistent table with figures changed, 累计 kept the sum of the rows."""
    figures = consistent_figures()
    for label, key, value in changes:
        before = Decimal(figure(figures, label, key))
        set_figure(figures, label, key, value)
        total = Decimal(figure(figures, "累计", key)) + Decimal(value) - before
        set_figure(figures, "累计", key, str(total))
    return figures


def test_a_fine_amount_with_no_penalty_is_listed() -> None:
    found = findings_of(with_changes(("区自然资源局", "penalty_amount", "14")))
    assert rules(found) == [("requires", "区自然资源局", "penalty_amount")]
    assert found[0].message.startswith("14 but 部门精准严格执法情况/行政处罚/次数 0 (line ")
    assert "罚款金额 needs at least one" in found[0].message


def test_rectified_beyond_found_is_listed_in_the_row_and_the_total() -> None:
    found = findings_of(with_changes(("北高镇", "general_rectified", "179")))
    assert rules(found) == [("at_most", "北高镇", "general_rectified")]
    assert found[0].message.startswith("179 > 一般隐患/排查 178 (line ")


def test_a_rectified_major_under_supervision_needs_a_rectified_major() -> None:
    found = findings_of(
        with_changes(
            ("区消防救援大队", "major_supervised_rectified", "1"),
            ("区消防救援大队", "major_dept_rectified", "0"),
        )
    )
    assert rules(found) == [("at_most", "区消防救援大队", "major_supervised_rectified")]
    assert "= 0: a rectified hazard under 挂牌督办" in found[0].message


def test_majors_found_by_a_unit_that_visited_no_enterprise_are_listed() -> None:
    found = findings_of(
        with_changes(("区鞋服城", "major_dept_found", "2"), ("区鞋服城", "major_self_found", "3"))
    )
    assert rules(found) == [("requires", "区鞋服城", "major_dept_found")]
    assert found[0].message.startswith("2 but 部门检查/抽查检查企业数 0 (line ")
    assert "部门精准严格执法情况/帮扶指导重点企业 0 (line " in found[0].message


def test_more_dual_penalties_than_penalties_is_listed() -> None:
    found = findings_of(with_changes(("区卫健局", "dual_penalties", "2")))
    assert rules(found) == [("at_most", "区卫健局", "dual_penalties")]


def test_training_attendees_without_a_session_and_a_session_without_attendees() -> None:
    found = findings_of(
        with_changes(
            ("区发改局", "training_attendees", "5"), ("区教育局", "training_sessions", "1")
        )
    )
    assert rules(found) == [
        ("requires", "区发改局", "training_attendees"),
        ("requires", "区教育局", "training_sessions"),
    ]


def test_anonymous_rewards_beyond_the_total_reward_are_listed() -> None:
    found = findings_of(with_changes(("区交警大队", "reward_anonymous", "2")))
    # The district's only reward: its 累计 breaks the relation too.
    assert rules(found) == [
        ("at_most", "累计", "reward_anonymous"),
        ("at_most", "区交警大队", "reward_anonymous"),
    ]
    assert found[1].message.startswith("2 > 其他相关工作跟踪落实情况/举报奖励/总金额 1.7 (")


def test_a_town_reporting_assistance_to_towns_is_listed_and_a_department_is_not() -> None:
    found = findings_of(
        with_changes(("北高镇", "assisted_towns", "3"), ("区住建局", "assisted_towns", "3"))
    )
    assert rules(found) == [("not_for", "北高镇", "assisted_towns")]
    assert "镇街不需要填报帮扶指导镇街这项指标" in found[0].message


def test_a_total_that_is_not_the_sum_is_listed_once_per_column() -> None:
    figures = consistent_figures()
    set_figure(figures, "累计", "penalty_amount", "114.44")  # rounded by hand: 114.438
    set_figure(figures, "累计", "general_found", "4990")
    found = findings_of(figures)
    assert rules(found) == [("total", "累计", "general_found"), ("total", "累计", "penalty_amount")]
    assert found[0].message.startswith("4990 ≠ 4993 = 267 + 178 + ")
    assert found[1].message.startswith("114.44 ≠ 114.438 = 2.7 + 0.9 + 2.1 + 1.8 + ")


# What is not a figure -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "rule", "says"),
    [
        ("十二", "not_a_number", "'十二' is not a number"),
        ("-3", "negative", "-3 is below zero"),
        ("2.5", "not_whole", "2.5 家次 is not a whole number"),
    ],
)
def test_a_figure_that_cannot_be_one_is_listed_and_left_out_of_the_sums(
    typed: str, rule: str, says: str
) -> None:
    figures = consistent_figures()
    set_figure(figures, "北高镇", "inspected_enterprises", typed)
    found = findings_of(figures)
    assert rules(found)[0] == (rule, "北高镇", "inspected_enterprises")
    assert says in found[0].message
    if rule == "not_a_number":
        assert len(found) == 1  # the 累计 of that column is not claimed wrong


def test_empty_cells_and_slashes_count_as_nothing() -> None:
    figures = consistent_figures()
    set_figure(figures, "区鞋服城", "general_found", "")
    set_figure(figures, "区鞋服城", "general_rectified", "/")
    set_figure(figures, "累计", "general_found", str(4993 - 68))
    set_figure(figures, "累计", "general_rectified", str(4643 - 68))
    assert findings_of(figures) == []


def test_a_unit_listed_twice_and_a_missing_total_row_are_listed() -> None:
    figures = consistent_figures()
    figures.append(list(figures[2]))
    assert rules(findings_of(figures))[0] == ("duplicate_row", "北高镇", None)
    assert [f.rule for f in findings_of(consistent_figures()[1:])] == ["no_total_row"]


def test_a_units_row_in_other_units_is_listed() -> None:
    grid = form_grid(consistent_figures())
    units = next(n for n, row in enumerate(grid) if row[1:3] == ["条", "条"])
    grid[units][13] = "元"
    found = check_file("t.txt", to_tsv(grid).encode()).findings
    assert rules(found) == [("unit", None, "penalty_amount")]
    assert "'元' where the form prints '万元'" in found[0].message


# Another form, another template --------------------------------------------------------------


def test_a_changed_heading_is_another_form_and_says_which_cell() -> None:
    grid = form_grid(consistent_figures())
    grid[3][12] = "行政强制"
    with pytest.raises(WrongTemplate, match=r"line 4, column M: the heading reads '行政强制'"):
        check_file("t.txt", to_tsv(grid).encode(), "licheng")


def test_a_pasted_row_with_a_figure_missing_is_refused_not_misread() -> None:
    text = seed_bytes().decode().replace("\t区鞋服城\n\t68\n", "\t区鞋服城\n", 1)
    with pytest.raises(WrongTemplate, match="row 区鞋服城 has 27 figures"):
        check_file("000.txt", text.encode())


def test_a_table_of_another_form_is_refused_naming_the_forms_tried() -> None:
    other = "单位\t检查企业\t隐患\n合计\t1\t2\n".encode()
    with pytest.raises(WrongTemplate, match="荔城区专项行动进展情况调度表"):
        check_file("other.txt", other)


def test_an_unknown_template_is_refused_with_those_that_can_be_checked() -> None:
    assert "licheng" in checkable_templates()
    with pytest.raises(UnknownTemplate, match="licheng"):
        check_file("000.txt", seed_bytes(), "nosuch")


def test_a_formula_never_calculated_is_listed_not_taken_for_nothing() -> None:
    book = load_workbook(io.BytesIO(to_xlsx(consistent_figures())))
    sheet = book["附件1"]
    sheet["B7"] = "=SUM(B8:B34)"  # openpyxl saves no value with it, as a script would
    buffer = io.BytesIO()
    book.save(buffer)
    (found,) = check_file("附件1.xlsx", buffer.getvalue()).findings
    assert (found.rule, found.where, found.row) == ("uncalculated", "B7", "累计")
    assert found.message.startswith("=SUM(B8:B34) has no value saved with it")


def test_the_table_is_found_on_whichever_sheet_holds_it() -> None:
    book = load_workbook(io.BytesIO(to_xlsx(seed_figures())))
    cover = book.create_sheet("说明", 0)
    cover["A1"] = "9月份调度表，请审核。"
    buffer = io.BytesIO()
    book.save(buffer)
    result = check_file("附件1.xlsx", buffer.getvalue())
    assert result.sheet == "附件1"
    assert [f.where for f in result.findings] == ["K7", "H28"]
