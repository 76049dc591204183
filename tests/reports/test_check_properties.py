"""Properties of the checker over generated tables: a table that satisfies the form's relations
by construction gets no findings; changing one figure of its 累计 row is found in that cell;
and no input, however made, ends in anything but a result or a refusal with a reason."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reports.check import UnknownTemplate, UnreadableTable, check_file
from tests.reports.check_support import column_index, form_grid, licheng, to_tsv, to_xlsx

KEYS = [c.key for c in licheng().columns]
TOWNS = ["西天尾镇", "北高镇", "拱辰街道", "新度镇"]
DEPARTMENTS = ["区应急局", "区住建局", "区交警大队", "区消防救援大队", "区鞋服城"]
small = st.integers(min_value=0, max_value=60)


@st.composite
def unit_row(draw: st.DrawFn, name: str) -> list[str]:
    """One unit's figures, each relation of licheng's [checks] satisfied by construction."""
    v: dict[str, Decimal] = {k: Decimal(draw(small)) for k in KEYS}
    if v["inspected_enterprises"] == v["assisted_enterprises"] == 0:
        v["major_dept_found"] = Decimal(0)  # found by the unit's own visits only
    for found, rectified in [
        ("general_found", "general_rectified"),
        ("major_self_found", "major_self_rectified"),
        ("major_dept_found", "major_dept_rectified"),
    ]:
        v[rectified] = min(v[rectified], v[found])
    v["major_supervised_found"] = min(
        v["major_supervised_found"], v["major_self_found"] + v["major_dept_found"]
    )
    v["major_supervised_rectified"] = min(
        v["major_supervised_rectified"],
        v["major_supervised_found"],
        v["major_self_rectified"] + v["major_dept_rectified"],
    )
    v["dual_penalties"] = min(v["dual_penalties"], v["penalties"])
    cents = draw(st.integers(min_value=0, max_value=500_000))
    v["penalty_amount"] = Decimal(cents).scaleb(-4) if v["penalties"] else Decimal(0)
    if (v["training_sessions"] == 0) != (v["training_attendees"] == 0):
        v["training_sessions"] = v["training_attendees"] = Decimal(0)
    v["reward_total"] = Decimal(draw(st.integers(0, 900))).scaleb(-2)
    v["reward_anonymous"] = min(Decimal(draw(st.integers(0, 900))).scaleb(-2), v["reward_total"])
    if name in TOWNS:
        v["assisted_towns"] = Decimal(0)
    return [name, *(format(v[k], "f") for k in KEYS)]


@st.composite
def consistent_table(draw: st.DrawFn) -> list[list[str]]:
    names = draw(st.lists(st.sampled_from(TOWNS + DEPARTMENTS), min_size=1, unique=True))
    rows = [draw(unit_row(name)) for name in names]
    total = [sum((Decimal(r[1 + n]) for r in rows), Decimal(0)) for n in range(len(KEYS))]
    return [["累计", *(format(t, "f") for t in total)], *rows]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(consistent_table())
def test_a_table_consistent_by_construction_gets_no_findings(figures: list[list[str]]) -> None:
    assert check_file("t.txt", to_tsv(form_grid(figures)).encode("gb18030")).findings == []


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(consistent_table())
def test_the_same_table_as_a_workbook_gets_no_findings(figures: list[list[str]]) -> None:
    assert check_file("t.xlsx", to_xlsx(figures)).findings == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(consistent_table(), st.sampled_from(KEYS), st.integers(min_value=1, max_value=9))
def test_a_changed_total_is_found_in_its_cell(
    figures: list[list[str]], key: str, more: int
) -> None:
    index = 1 + column_index(key)
    figures[0][index] = format(Decimal(figures[0][index]) + more, "f")
    findings = check_file("t.txt", to_tsv(form_grid(figures)).encode()).findings
    assert ("total", "累计", key) in [(f.rule, f.row, f.column) for f in findings]
    assert {f.row for f in findings} == {"累计"}  # the unit rows are still consistent


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=3000), st.text(max_size=2000).map(str.encode)))
def test_any_bytes_give_a_result_or_a_refusal_with_a_reason(data: bytes) -> None:
    assert outcome("upload", data)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    consistent_table(),
    st.lists(st.tuples(st.integers(0, 40), st.integers(0, 30), st.text(max_size=8)), max_size=6),
)
def test_a_form_with_cells_scribbled_over_gives_a_result_or_a_refusal(
    figures: list[list[str]], scribbles: list[tuple[int, int, str]]
) -> None:
    grid = form_grid(figures)
    for row, column, text in scribbles:
        if row < len(grid) and column < len(grid[row]):
            grid[row][column] = text
    assert outcome("t.txt", to_tsv(grid).encode("utf-8", "surrogatepass"))


def outcome(name: str, data: bytes) -> str:
    """ "checked", or the reason it was refused; any other exception fails the test."""
    try:
        check_file(name, data)
    except (UnreadableTable, UnknownTemplate) as exc:
        return str(exc)
    return "checked"
