"""The report's figures aggregated in SQL (``compute(..., items=False)``) equal the ones counted
record by record (``items=True``), and so do the excluded, late and warning lists, on a varied
district: the acceptance scenario (hazards rectified after the cut-off, listed, voided, entered
late; records late and excluded) plus reclassified hazards both ways, majors without a clause,
re-inspections on and off an inspection's day, late, rejected and non-business inspections,
records corrected later, and a hazard found before a monthly period and rectified in it."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy.orm import Session

from backend.models import EntityType
from backend.services import reports
from backend.services.reports import render
from tests.backend.records.support import detail_of
from tests.backend.reports.support import MAJOR_CLAUSE, at
from tests.backend.reports.test_acceptance import Scenario, build

TEMPLATES = ["licheng", "fuzhou", "haicheng", "quanzhou"]


def _more(s: Scenario) -> None:
    d = s.district
    p = d.places["区应急局"]
    town = next(name for name, q in d.places.items() if q.unit.kind.value == "town")
    # reclassified: major → general before the cut-off, general → major (with clause) after it
    down = d.hazard("区应急局", date(2023, 9, 3), level="major")
    d.event(
        down,
        p.supervisor,
        at(date(2023, 9, 4)),
        type="reclassified",
        level="general",
        reason="三个条件未同时满足",
    )
    up = d.hazard("区应急局", date(2023, 9, 5))
    d.event(
        up,
        p.supervisor,
        at(date(2023, 9, 6)),
        type="reclassified",
        level="major",
        clause=MAJOR_CLAUSE,
        reason="复核",
    )
    later = d.hazard(town, date(2023, 9, 10))
    d.event(
        later,
        d.places[town].supervisor,
        at(date(2023, 10, 3)),
        type="reclassified",
        level="major",
        clause=MAJOR_CLAUSE,
        reason="复核",
    )
    # majors without a clause, one of them rectified, one given its clause later
    d.rectify(
        d.hazard("区应急局", date(2023, 9, 7), level="major", without_clause=True),
        at(date(2023, 9, 12)),
    )
    cited = d.hazard(town, date(2023, 9, 1), level="major", without_clause=True)
    d.event(
        cited,
        d.places[town].supervisor,
        at(date(2023, 9, 2)),
        type="reclassified",
        level="major",
        clause=MAJOR_CLAUSE,
        reason="补充条款",
    )
    # voided after the cut-off; rectified after the cut-off; listed after the cut-off
    d.void(d.hazard(town, date(2023, 9, 11)), at(date(2023, 10, 2)))
    d.rectify(d.hazard(town, date(2023, 9, 12)), at(date(2023, 10, 1)))
    d.list_(d.hazard("区应急局", date(2023, 9, 13), level="major"), at(date(2023, 10, 1)))
    # found before September, rectified in it (monthly templates count it as rectified then)
    d.rectify(d.hazard("区应急局", date(2023, 8, 20)), at(date(2023, 9, 8)))
    # re-inspections: on an inspection's day, and on a day with none
    same = d.hazard("区应急局", date(2023, 9, 14))
    d.inspection("区应急局", date(2023, 9, 18))
    d.rectify(same, at(date(2023, 9, 18)))
    d.rectify(d.hazard("区应急局", date(2023, 9, 15)), at(date(2023, 9, 21), 15))
    # inspections: entered late, rejected, of a non-business and of an individual business
    d.inspection(town, date(2023, 9, 16), entered=at(date(2023, 10, 20)))
    d.inspection(town, date(2023, 9, 17), rejected=True)
    other = d.enterprise(town, entity_type=EntityType.non_business)
    d.inspection(town, date(2023, 9, 17), enterprise=other)
    shop = d.enterprise("区应急局", entity_type=EntityType.individual_business)
    d.inspection("区应急局", date(2023, 9, 19), enterprise=shop)
    d.inspection("区应急局", date(2023, 9, 19), enterprise=shop)
    # a record corrected after the due day, one corrected before it, one entered late
    detail = detail_of("penalty", p.enterprise, p.unit)
    fine = d.record("区应急局", "penalty", date(2023, 9, 9), detail={"amount_yuan": "2000.00"})
    d.correct(fine, at(date(2023, 10, 20)), "金额更正", detail={**detail, "amount_yuan": "8000.00"})
    early = d.record(town, "penalty", date(2023, 9, 9), detail={"amount_yuan": "1000.00"})
    d.correct(early, at(date(2023, 9, 10)), "金额更正", detail={**detail, "amount_yuan": "7000.00"})
    d.record(town, "training", date(2023, 9, 9), entered=at(date(2023, 10, 20)))


def _listed(items: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted((i["type"], i["id"], i["reason"], i["late"], i["version"]) for i in items)


def _comparable(body: dict[str, Any]) -> dict[str, Any]:
    out = dict(body)
    out["excluded"] = _listed(body["excluded"])
    out["late"] = _listed(body["late"])
    out["warnings"] = sorted(
        (w["code"], w["message"], sorted(w["items"])) for w in body["warnings"]
    )
    return out


@pytest.fixture
def scenario(session: Session) -> Scenario:
    s = build(session)
    _more(s)
    return s


@pytest.mark.parametrize("template_id", TEMPLATES)
def test_the_grouped_figures_equal_the_per_record_ones(
    scenario: Scenario, template_id: str
) -> None:
    t = reports.template(template_id)
    if t.period.selection == "interval":
        period = t.period.for_interval(date(2023, 5, 1), date(2023, 9, 26))
    else:
        period = t.period.for_month(2023, 9)
    session, unit = scenario.district.session, scenario.district.unit
    each = reports.compute(session, t, unit, period)
    grouped = reports.compute(session, t, unit, period, items=False)
    assert [r.name for r in grouped.rows] == [r.name for r in each.rows]
    for a, b in zip(grouped.rows, each.rows, strict=True):
        assert {k: c.value for k, c in a.cells.items()} == {
            k: c.value for k, c in b.cells.items()
        }, a.name
    assert (grouped.total, grouped.rates) == (each.total, each.rates)
    # the lists the report shows are there, and not empty: the scenario has each kind
    body = render.report(each)
    assert {"late", "major.no_clause", "evidence"} <= {
        w["code"] for w in body["warnings"]
    } or template_id == "quanzhou"
    assert body["excluded"]
    assert body["late"]
    assert _comparable(render.report(grouped)) == _comparable(body)


def test_a_department_s_haicheng_report_takes_the_grouped_path_with_the_same_figures(
    scenario: Scenario,
) -> None:
    # a district's 海城 report has 全口径 town rows and is computed record by record; a
    # department's has none
    t = reports.template("haicheng")
    period = t.period.for_month(2023, 9)
    session = scenario.district.session
    unit = scenario.district.places["区应急局"].unit
    grouped = reports.compute(session, t, unit, period, items=False)
    each = reports.compute(session, t, unit, period)
    assert len(grouped.items()) < len(each.items())  # the grouped path: only what it lists
    assert any(c.value for c in grouped.rows[0].cells.values())
    assert [{k: c.value for k, c in r.cells.items()} for r in grouped.rows] == [
        {k: c.value for k, c in r.cells.items()} for r in each.rows
    ]
    assert _comparable(render.report(grouped)) == _comparable(render.report(each))


def test_a_cell_of_the_grouped_report_keeps_only_what_the_report_lists(
    scenario: Scenario,
) -> None:
    t = reports.template("licheng")
    period = t.period.for_interval(date(2023, 5, 1), date(2023, 9, 26))
    session, unit = scenario.district.session, scenario.district.unit
    grouped = reports.compute(session, t, unit, period, items=False)
    each = reports.compute(session, t, unit, period)
    for a, b in zip(grouped.rows, each.rows, strict=True):
        for key, cell in a.cells.items():
            listed = [
                i
                for i in b.cells[key].items
                if i.late or (not i.counted and i.reason not in reports.counting.MERGED)
            ]
            assert sorted((i.type, i.id, i.reason) for i in cell.items) == sorted(
                (i.type, i.id, i.reason) for i in listed
            ), (a.name, key)
    merged = [i for i in each.items() if i.reason in ("visit.same_day", "enterprise.counted")]
    assert merged  # in the cell's list (items=True), never in the report's excluded list
    assert not [i for i in each.excluded() if i.reason in reports.counting.MERGED]
