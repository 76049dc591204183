"""Issue 13's acceptance: a district with towns and departments and records across May–September;
the 荔城 report for 2023-05-01..2023-09-26 and the 福州, 海城 and 泉州 reports for September match
figures computed here, plainly and independently, from what the scenario entered; and the same
figures come out again after a hazard of that period is rectified later.

The scenario keeps a plain list of everything it entered (``Scenario``); ``expected`` counts from
that list alone, rule by rule as 填表说明 states them, without calling the report engine.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.orm import Session

from backend.models import Hazard
from backend.services import reports
from backend.services.ledger.states import CHINA
from tests.backend.reports.support import District, at

TOWNS = ["西天尾镇", "北高镇"]
DEPARTMENTS = ["区应急局", "区交警大队"]


@dataclass
class H:
    unit: str
    found: date
    level: str
    source: str
    entered: datetime
    rectified: datetime | None = None
    listed: datetime | None = None
    voided: datetime | None = None
    entry: Hazard | None = None


@dataclass
class V:
    unit: str
    day: date
    kind: str  # inspection | reinspection
    entered: datetime


@dataclass
class R:
    unit: str
    kind: str
    day: date
    entered: datetime
    detail: dict[str, Any] = field(default_factory=dict)
    evidence: bool = True


@dataclass
class Scenario:
    district: District
    hazards: list[H] = field(default_factory=list)
    visits: list[V] = field(default_factory=list)
    records: list[R] = field(default_factory=list)


def _day(rng: random.Random, month: int) -> date:
    return date(2023, month, rng.randint(1, 28))


def build(session: Session) -> Scenario:
    rng = random.Random(20231018)
    d = District.make(session, TOWNS, DEPARTMENTS)
    s = Scenario(d)
    for month in range(5, 10):
        for unit in TOWNS + DEPARTMENTS:
            for n in range(3):
                found = _day(rng, month)
                h = H(unit, found, "general", "department", at(found, 20))
                if month == 9 and n == 0 and unit == "区应急局":
                    h.entered = at(date(2023, 9, 29), 9)  # late for 荔城 and 海城, not 福州
                    h.found = date(2023, 9, 20)
                if rng.random() < 0.7:
                    h.rectified = at(h.found + timedelta(days=rng.randint(2, 30)), 15)
                s.hazards.append(h)
            found = _day(rng, month)
            source = "self_reported" if rng.random() < 0.4 else "department"
            major = H(unit, found, "major", source, at(found, 20))
            if rng.random() < 0.5:
                major.listed = at(found + timedelta(days=2), 11)
            if rng.random() < 0.6:
                major.rectified = at(found + timedelta(days=rng.randint(5, 40)), 15)
            s.hazards.append(major)
            for _ in range(2):
                day = _day(rng, month)
                s.visits.append(V(unit, day, "inspection", at(day, 18)))
            _records(s, rng, unit, month)
    s.hazards[1].voided = at(s.hazards[1].found + timedelta(days=1), 12)
    _enter(s)
    return s


def _records(s: Scenario, rng: random.Random, unit: str, month: int) -> None:
    def add(kind: str, evidence: bool = True, **detail: Any) -> None:
        day = _day(rng, month)
        s.records.append(R(unit, kind, day, at(day, 17), detail, evidence))

    add("penalty", amount_yuan=f"{rng.randint(1, 50) * 1000}.00")
    add("penalty", work_safety=False, amount_yuan="3000.00")
    add("penalty", stage="accident", amount_yuan="5000.00")
    add("training", sessions=rng.randint(1, 3))
    add("supervision_visit")
    add("supervision_visit", evidence=False)
    add("typical_case", case_kind=rng.choice(["危险作业", "无证经营"]))
    add("assistance", key_town=rng.random() < 0.5)
    add("case_filed")
    add("public_pressure", measure=rng.choice(["exposure", "blacklist"]))
    add("report_reward", anonymous=rng.random() < 0.5)
    if unit == "区交警大队":
        add("penalty", traffic=True, vehicle_type=rng.choice(["production", "e_bike"]))
    if month == 9:
        s.records.append(
            R(unit, "dual_penalty", date(2023, 9, 12), at(date(2023, 10, 9)))  # late for all
        )


def _enter(s: Scenario) -> None:
    d = s.district
    for v in s.visits:
        d.inspection(v.unit, v.day, entered=v.entered)
    for h in s.hazards:
        h.entry = d.hazard(h.unit, h.found, level=h.level, source=h.source, entered=h.entered)
        # the inspection behind it, one hour before the entry
        kind = "inspection" if h.source == "department" else "self_inspection"
        s.visits.append(V(h.unit, h.found, kind, h.entered - timedelta(hours=1)))
    for h in sorted(s.hazards, key=lambda h: h.found):
        assert h.entry is not None
        if h.listed:
            d.list_(h.entry, h.listed)
        if h.voided:
            d.void(h.entry, h.voided)
        elif h.rectified:
            d.rectify(h.entry, h.rectified)
            s.visits.append(V(h.unit, _cn(h.rectified), "reinspection", h.rectified))
    for r in s.records:
        d.record(r.unit, r.kind, r.day, entered=r.entered, detail=r.detail, evidence=r.evidence)


def _cn(moment: datetime) -> date:
    return moment.astimezone(CHINA).date()


# --- the independent computation ------------------------------------------------------------


@dataclass(frozen=True)
class P:
    start: date
    cutoff: date
    due: date
    monthly: bool = False

    def end(self, day: date) -> datetime:
        return at(day + timedelta(days=1), 0)

    @property
    def cut(self) -> datetime:
        return self.end(self.cutoff)

    @property
    def known(self) -> datetime:
        return self.end(self.due)

    def inside(self, day: date) -> bool:
        return self.start <= day <= self.cutoff


def expected(s: Scenario, unit: str, p: P, metric: str, params: dict[str, Any]) -> Any:
    """One figure of one row, from the scenario's own list."""
    hazards = [
        h
        for h in s.hazards
        if h.unit == unit
        and h.entered < p.known  # entered by the due day (else 迟报, not counted)
        and not (h.voided and h.voided < p.cut)
    ]

    def done(h: H) -> bool:
        return h.rectified is not None and h.rectified < p.cut

    found = [h for h in hazards if p.inside(h.found)]
    general = [h for h in found if h.level == "general"]
    majors = [h for h in found if h.level == "major"]
    dept = [h for h in majors if h.source == "department"]
    own = [h for h in majors if h.source == "self_reported"]
    # The hazard's own unit lists it: a department's listing is 部门, a town's 政府.
    level = "department" if unit in DEPARTMENTS else "government"
    listed = [
        h
        for h in majors
        if h.listed and h.listed < p.cut and params.get("listing_level", level) == level
    ]
    visits = [
        v
        for v in s.visits
        if v.unit == unit
        and p.inside(v.day)
        and v.entered < p.known
        and v.kind != "self_inspection"
    ]
    inspection_days = {v.day for v in visits if v.kind == "inspection"}
    per_visit = [v for v in visits if v.kind == "inspection" or v.day not in inspection_days]
    recs = [r for r in s.records if r.unit == unit and p.inside(r.day) and r.entered < p.known]

    def kind(k: str) -> list[R]:
        return [r for r in recs if r.kind == k]

    def fines(test: Any = lambda r: True) -> Decimal:
        total = sum(
            (Decimal(r.detail["amount_yuan"]) for r in counted_penalties() if test(r)), Decimal(0)
        )
        return total / 10000

    def counted_penalties() -> list[R]:
        return [
            r
            for r in kind("penalty")
            if r.detail.get("work_safety", True)
            and r.detail.get("vehicle_type", "production") == "production"
        ]

    is_town = unit in TOWNS
    amount = "20000.00"
    for r in kind("penalty"):
        r.detail.setdefault("amount_yuan", amount)
    table: dict[str, Any] = {
        "hazards.general.found": len(general),
        "hazards.general.rectified": sum(map(done, general)),
        "hazards.major.self.found": len(own),
        "hazards.major.self.rectified": sum(map(done, own)),
        "hazards.major.department.found": len(dept),
        "hazards.major.department.rectified": sum(map(done, dept)),
        "hazards.major.supervised.found": len(listed),
        "hazards.major.supervised.rectified": sum(map(done, listed)),
        "hazards.all.found": len(found),
        "hazards.all.rectified_in_period": sum(
            1 for h in hazards if done(h) and h.rectified and p.inside(_cn(h.rectified))
        ),
        "inspections.enterprise_visits": len(per_visit),
        # one enterprise per unit in this scenario: 1 if it was inspected at all
        "inspections.enterprises": min(1, sum(v.kind == "inspection" for v in visits)),
        "inspections.enterprises_with_defect": 0,
        "assistance.towns": None
        if is_town
        else sum(1 for r in kind("assistance") if r.detail.get("key_town")),
        "assistance.enterprises": 0,
        "penalties.count": len(counted_penalties()),
        "penalties.amount": fines(),
        "penalties.amount.pre_incident": fines(lambda r: r.detail.get("stage") != "accident"),
        "penalties.amount.accident": fines(lambda r: r.detail.get("stage") == "accident"),
        "cases.pre_incident": len(kind("case_filed")),
        "cases.accident": 0,
        "dual_penalties.count": len(kind("dual_penalty")),
        # one enterprise per unit: counted once if any 曝光
        "public_pressure.enterprises": min(
            1, sum(r.detail["measure"] == "exposure" for r in kind("public_pressure"))
        ),
        "public_pressure.exposure": min(
            1, sum(r.detail["measure"] == "exposure" for r in kind("public_pressure"))
        ),
        "public_pressure.blacklist": min(
            1, sum(r.detail["measure"] == "blacklist" for r in kind("public_pressure"))
        ),
        "typical_cases.count": len({r.detail["case_kind"] for r in kind("typical_case")}),
        # the support's typical case is a 危险作业罪 case: one per kind counted, all of them are
        "typical_cases.dangerous_operation_crime": len(
            {r.detail["case_kind"] for r in kind("typical_case")}
        ),
        "supervision_visits.count": sum(r.evidence for r in kind("supervision_visit")),
        "trainings.sessions": sum(r.detail["sessions"] for r in kind("training")),
        "trainings.attendees": len(kind("training")),  # one 执法人员 each (and one 企业人员)
        "rewards.total": Decimal(2000) * len(kind("report_reward")) / 10000,
        "rewards.anonymous_verified": Decimal(2000)
        * sum(1 for r in kind("report_reward") if r.detail["anonymous"])
        / 10000,
        "media_columns.any": "否",
    }
    return table.get(metric, 0)


PERIODS = {
    "licheng": P(date(2023, 5, 1), date(2023, 9, 26), date(2023, 9, 27)),
    "fuzhou": P(date(2023, 5, 1), date(2023, 9, 30), date(2023, 10, 1)),
    "haicheng": P(date(2023, 5, 1), date(2023, 9, 24), date(2023, 9, 25)),
    "quanzhou": P(date(2023, 9, 1), date(2023, 9, 30), date(2023, 10, 5), monthly=True),
}


def compute(s: Scenario, template_id: str) -> reports.Report:
    t = reports.template(template_id)
    if t.period.selection == "interval":
        period = t.period.for_interval(date(2023, 5, 1), date(2023, 9, 26))
    else:
        period = t.period.for_month(2023, 9)
    return reports.compute(s.district.session, t, s.district.unit, period)


def figures(report: reports.Report) -> dict[tuple[str, str], Any]:
    return {
        (row.name, key): cell.value for row in report.rows for key, cell in row.cells.items()
    } | {("total", key): v for key, v in report.total.items()}


@pytest.fixture
def scenario(session: Session) -> Scenario:
    return build(session)


@pytest.mark.parametrize("template_id", list(PERIODS))
def test_each_figure_matches_the_independent_count(scenario: Scenario, template_id: str) -> None:
    report = compute(scenario, template_id)
    p = PERIODS[template_id]
    assert (report.period.starts_on, report.period.cutoff, report.period.due) == (
        p.start,
        p.cutoff,
        p.due,
    )
    mismatches = []
    totals: dict[str, Any] = {}
    for col in report.template.columns:
        if col.metric == "ratio":
            continue
        for unit in TOWNS + DEPARTMENTS:
            want = expected(scenario, unit, p, col.metric, col.params)
            if col.not_for and unit in TOWNS:
                want = None
            got = next(r for r in report.rows if r.name == unit).cells[col.key].value
            if got != want:
                mismatches.append((col.key, unit, got, want))
            if want is not None and col.metric != "media_columns.any":
                totals[col.key] = totals.get(col.key, 0) + want
        if col.metric != "media_columns.any" and report.total[col.key] != totals.get(col.key, 0):
            mismatches.append((col.key, "total", report.total[col.key], totals.get(col.key, 0)))
    assert not mismatches
    assert sum(report.total[c.key] or 0 for c in report.template.columns[:2]) > 0


def test_quanzhou_ratio_of_pre_incident_cases_to_enterprises_inspected(scenario: Scenario) -> None:
    report = compute(scenario, "quanzhou")
    cases, inspected = report.total["cases_pre_incident"], report.total["inspected_enterprises"]
    ratio = report.total["pre_incident_ratio"]
    if inspected:
        assert ratio == (Decimal(cases) * 100 / Decimal(inspected)).quantize(Decimal("0.01"))
    else:
        assert ratio is None


def test_the_figures_are_the_same_computed_twice_and_after_a_later_rectification(
    scenario: Scenario,
) -> None:
    before = {t: figures(compute(scenario, t)) for t in PERIODS}
    assert before == {t: figures(compute(scenario, t)) for t in PERIODS}
    pending = [
        h
        for h in scenario.hazards
        if h.found.month == 9 and h.rectified is None and not h.voided and h.entry is not None
    ]
    assert pending
    for h in pending:
        assert h.entry is not None
        scenario.district.rectify(h.entry, at(date(2023, 10, 12), 15))
    scenario.district.hazard("区应急局", date(2023, 10, 2), level="major")
    after = {t: figures(compute(scenario, t)) for t in PERIODS}
    assert after == before
