"""全口径 (海城, seed 004 (六)): "各开发区、镇（街）填报本地区全口径数据，市直各部门填报市本级数据".
A town's figures include what other units did about enterprises located in the town
(``enterprises.town_id``); a department's are its own (本级). The total counts every record once,
in the row of the unit that made it (docs/decision-report-templates.md)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.orm import Session

from backend.models import Enterprise
from backend.services import reports
from backend.services.reports import render
from tests.backend.reports.support import District


@pytest.fixture
def district(session: Session) -> District:
    return District.make(session, ["西天尾镇", "黄石镇"], ["区应急局"])


@pytest.fixture
def in_town(district: District) -> Enterprise:
    """An enterprise the department supervises, located in 西天尾镇."""
    town = district.places["西天尾镇"].unit
    return district.enterprise("区应急局", town_id=town.id, key_enterprise=True)


def haicheng(district: District, unit_name: str | None = None) -> reports.Report:
    t = reports.template("haicheng")
    unit = district.places[unit_name].unit if unit_name else district.unit
    return reports.compute(district.session, t, unit, t.period.for_month(2023, 9))


def values(report: reports.Report, key: str) -> dict[str, object]:
    return {r.name: r.cells[key].value for r in report.rows}


KEYS = ("major_dept_found", "penalties", "inspected_enterprises")


def test_a_town_row_includes_other_units_records_about_enterprises_in_the_town(
    district: District, in_town: Enterprise
) -> None:
    theirs = district.hazard("区应急局", date(2023, 9, 1), level="major", enterprise=in_town)
    district.hazard("区应急局", date(2023, 9, 2), level="major")  # its own enterprise, no town
    fine = district.record("区应急局", "penalty", date(2023, 9, 3), enterprise_id=str(in_town.id))
    district.hazard("西天尾镇", date(2023, 9, 4), level="major")
    report = haicheng(district)
    rows = {r.name: r for r in report.rows}
    assert (rows["西天尾镇"].scope, rows["区应急局"].scope) == ("全口径", "本级")
    for key, town, other, dept, total in (
        ("major_dept_found", 2, 0, 2, 3),
        ("penalties", 1, 0, 1, 1),
        ("inspected_enterprises", 2, 0, 2, 3),
    ):
        assert values(report, key) == {"西天尾镇": town, "黄石镇": other, "区应急局": dept}, key
        assert report.total[key] == total, key
    town_cell = rows["西天尾镇"].cells["major_dept_found"]
    assert str(theirs.id) in {i.id for i in town_cell.counted}
    assert {i.id for i in rows["西天尾镇"].cells["penalties"].counted} == {str(fine.id)}
    # The total counts each record once: the cell behind it lists each once.
    for key in KEYS:
        body = render.cell(report, key, None)
        ids = [(e["type"], e["id"]) for e in body["items"]]
        assert len(ids) == len(set(ids)) == body["value"] == report.total[key], key
    town_body = render.cell(report, "penalties", rows["西天尾镇"].unit_id)
    assert [e["id"] for e in town_body["items"]] == [str(fine.id)]


def test_a_towns_own_form_is_its_whole_area_and_a_table_template_stays_own_unit(
    district: District, in_town: Enterprise
) -> None:
    district.hazard("区应急局", date(2023, 9, 1), level="major", enterprise=in_town)
    district.record("区应急局", "penalty", date(2023, 9, 3), enterprise_id=str(in_town.id))
    district.hazard("西天尾镇", date(2023, 9, 4), level="major")
    own = haicheng(district, "西天尾镇")
    assert {k: own.total[k] for k in KEYS} == {
        "major_dept_found": 2,
        "penalties": 1,
        "inspected_enterprises": 2,
    }
    assert haicheng(district, "黄石镇").total["major_dept_found"] == 0
    t = reports.template("licheng")  # 荔城: 本级 for towns too
    licheng = reports.compute(
        district.session,
        t,
        district.unit,
        t.period.for_interval(date(2023, 5, 1), date(2023, 9, 26)),
    )
    town = next(r for r in licheng.rows if r.name == "西天尾镇")
    assert town.scope == "本级"
    assert town.cells["major_dept_found"].value == 1
    assert licheng.total["major_dept_found"] == 2


def test_the_json_says_each_rows_scope_and_a_town_rows_own_figures(
    district: District, in_town: Enterprise
) -> None:
    district.record("区应急局", "penalty", date(2023, 9, 3), enterprise_id=str(in_town.id))
    body = render.report(haicheng(district))
    rows = {r["name"]: r for r in body["rows"]}
    assert {n: r["scope"] for n, r in rows.items()} == {
        "西天尾镇": "全口径",
        "黄石镇": "全口径",
        "区应急局": "本级",
    }
    town = rows["西天尾镇"]
    assert (town["values"]["penalties"], town["own_values"]["penalties"]) == (1, 0)
    assert "own_values" not in rows["区应急局"]
    assert body["total"]["penalties"] == 1
    own_form = render.report(haicheng(district, "西天尾镇"))
    assert [(r["name"], r["scope"]) for r in own_form["rows"]] == [
        ("西天尾镇", "本级"),
        ("区应急局", "本地区"),
    ]
    assert own_form["total"]["penalties"] == 1
