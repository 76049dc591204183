"""The counting rules: for one column and one unit's facts, every item it considered, counted or
excluded with the reason (docs/reports.md lists the rules and the 填表说明 each applies).

A metric function returns ``Item``s; the figure is the sum of the counted values. An excluded
item carries a stable reason code and the rule in words, so the cell endpoint and the warnings
before filing can say why a record is not in a figure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from backend.services.records.kinds import KINDS

from .facts import Facts, HazardFact, Moments, RecordFact, VisitFact

WAN = Decimal(10000)

REASONS = {
    "late": "entered after the due day (迟报): listed, not counted",
    "corrected.date_outside_period": "the version known by the due day is dated outside the "
    "period; a later correction moved its date into it (counted in the period of that date)",
    "voided": "the hazard was voided (已作废) by the cut-off",
    "listing.other_level": "挂牌督办 at the other level than the column's (部门挂牌督办 counts "
    "a department's listings, 政府挂牌督办 a town's or a government's)",
    "major.no_clause": "claimed 重大 without a clause of the 判定标准 "
    "(填表说明 4: 非标准内的不计入统计)",
    "campaign.other": "belongs to another programme than the report's campaign",
    "not_a_business": "not a 生产经营单位 (填表说明 3)",
    "town.not_reported": "镇街不需要填报帮扶指导镇街 (填表说明 2)",
    "assistance.not_key_town": "帮扶指导 of a town that is not a 重点镇街",
    "assistance.not_key_enterprise": "帮扶指导 of an enterprise that is not a 重点企业",
    "typical_case.same_kind_and_sector": "a case of the same kind and sector is counted already "
    "(填表说明 6: 同类型或同行业领域的，要典型的才纳入统计)",
    "enterprise.counted": "the enterprise is counted once (家)",
    "visit.same_day": "the same visit as an inspection of that enterprise that day",
    "public_pressure.other_measure": "纳入黑名单 is not 曝光、约谈、联合惩戒",
    "penalty.not_work_safety": "not a 安全生产 penalty (填表说明 5)",
    "penalty.not_production_vehicle": "traffic penalty of a pedestrian, e-bike or private car "
    "(填表说明 5: 只算生产经营性车辆)",
    "referral.no_criminal_case": "detention that did not become a criminal case "
    "(填表说明 5: 未入刑的，不算)",
    "evidence.plan_missing": "no 检查方案/宣讲方案 (填表说明 8, 9)",
    "evidence.photos_missing": "no photos (填表说明 8, 9)",
    "evidence.minutes_missing": "no 纪要或文件 (填表说明 7)",
    "evidence.document_missing": "no document of the mechanism (填表说明 13)",
    "evidence.notice_missing": "no 文件/通知 (填表说明 14)",
    "evidence.publication_missing": "neither link nor screenshot of the publication",
}


@dataclass(frozen=True)
class Item:
    type: str  # hazard | inspection | reinspection | record
    id: str
    label: str
    unit_id: str
    day: date
    value: int | Decimal
    counted: bool
    reason: str | None = None
    late: bool = False
    version: int | None = None
    evidence: dict[str, Any] = field(default_factory=dict)

    def excluded(self, reason: str) -> Item:
        # as dataclasses.replace(self, counted=False, reason=reason), without its field-by-field
        # introspection (a report excludes thousands)
        return Item(
            self.type,
            self.id,
            self.label,
            self.unit_id,
            self.day,
            self.value,
            False,
            reason,
            self.late,
            self.version,
            self.evidence,
        )


Metric = Callable[[Facts, Moments, dict[str, Any]], list[Item]]


def _late_first(item: Item, params: dict[str, Any]) -> Item:
    """A late item the template does not count is out before any once-per-enterprise rule
    looks at it, so an enterprise also visited on time is still counted."""
    if item.late and item.counted and params.get("_late") == "exclude":
        return item.excluded("late")
    return item


# --- hazards ---------------------------------------------------------------------------------


def _hazard_item(h: HazardFact, counted: bool = True, reason: str | None = None) -> Item:
    return Item(
        type="hazard",
        id=str(h.id),
        label=h.number,
        unit_id=str(h.unit_id),
        day=h.found_on,
        value=1,
        counted=counted,
        reason=reason,
        late=h.late,
        evidence={
            "before_photos": h.before_photos,
            "after_photos": h.after_photos,
            "state": h.state,
            "level": h.level,
            "clause": h.clause,
            "listed": h.listed,
            "listing_level": h.listing_level,
            "cut": h.cut,  # the last event counted: a filing keeps it, a bundle cuts there
        },
    )


def _hazards(test: Callable[[HazardFact], bool], *, major: bool, rectified: bool = False) -> Metric:
    """``params.listing_level`` (挂牌督办 columns): only listings at that level count, 部门 or
    政府 as the form prints it; a listing at the other level is listed, excluded."""

    def metric(facts: Facts, m: Moments, _params: dict[str, Any]) -> list[Item]:
        level = _params.get("listing_level")
        out = []
        for h in facts.hazards:
            if not m.within(h.found_on) or not test(h):
                continue
            if rectified and h.rectified_on is None:
                continue
            if h.voided:
                out.append(_hazard_item(h, False, "voided"))
            elif major and h.clause is None:
                out.append(_hazard_item(h, False, "major.no_clause"))
            elif level and h.listing_level != level:
                out.append(_hazard_item(h, False, "listing.other_level"))
            else:
                out.append(_late_first(_hazard_item(h), _params))
        return out

    return metric


def _rectified_in_period(facts: Facts, m: Moments, _params: dict[str, Any]) -> list[Item]:
    out = []
    for h in facts.hazards:
        if h.rectified_on is None or not m.within(h.rectified_on):
            continue
        item = _hazard_item(h, not h.voided, "voided" if h.voided else None)
        out.append(_late_first(item, _params))
    return out


def _is_major(h: HazardFact) -> bool:
    return h.level == "major"


# --- visits ----------------------------------------------------------------------------------


def _visit_item(v: VisitFact) -> Item:
    return Item(
        type=v.kind,
        id=v.id,
        label=v.kind,
        unit_id=str(v.unit_id),
        day=v.day,
        value=1,
        counted=True,
        late=v.late,
        evidence={"enterprise_id": str(v.enterprise_id), "photos": v.photos},
    )


def _visits(facts: Facts, m: Moments, _params: dict[str, Any]) -> list[Item]:
    """家次: every inspection and every 复查 counts (填表说明 1), one visit per unit, enterprise and
    day when a 复查 falls on the day of an inspection."""
    inspected = {
        (v.unit_id, v.enterprise_id, v.day) for v in facts.visits if v.kind == "inspection"
    }
    out = []
    for v in sorted(facts.visits, key=lambda v: (v.day, v.kind, v.id)):
        if not m.within(v.day):
            continue
        item = _late_first(_visit_item(v), _params)
        if not item.counted:
            pass
        elif v.entity_type == "non_business":
            item = item.excluded("not_a_business")
        elif v.kind == "reinspection" and (v.unit_id, v.enterprise_id, v.day) in inspected:
            item = item.excluded("visit.same_day")
        out.append(item)
    return out


def _distinct_enterprises(items: Iterable[Item]) -> list[Item]:
    seen: set[str] = set()
    out = []
    for item in items:
        key = str(item.evidence.get("enterprise_id"))
        if item.counted and key in seen:
            item = item.excluded("enterprise.counted")
        elif item.counted:
            seen.add(key)
        out.append(item)
    return out


def _enterprises(facts: Facts, m: Moments, params: dict[str, Any]) -> list[Item]:
    visits = [i for i in _visits(facts, m, params) if i.type == "inspection"]
    return _distinct_enterprises(visits)


def _with_defect(facts: Facts, m: Moments, params: dict[str, Any]) -> list[Item]:
    """Enterprises whose 抽查 found the item's defect (or one of its sub-checks')."""
    item_code = str(params["item"])
    out = []
    for v in sorted(facts.visits, key=lambda v: (v.day, v.id)):
        if v.kind != "inspection" or not m.within(v.day):
            continue
        if item_code in v.defects or any(d.startswith(item_code + ".") for d in v.defects):
            out.append(_late_first(_visit_item(v), params))
    return _distinct_enterprises(out)


# --- records ---------------------------------------------------------------------------------


def _record_item(r: RecordFact, value: int | Decimal) -> Item:
    kind = KINDS.get(r.kind)
    needs = kind.evidence if kind else ()
    documents = {d["role"] for d in r.content.get("documents", [])}
    have = [n for n in needs if (n == "photos" and r.content.get("photos")) or n in documents]
    item = Item(
        type="record",
        id=str(r.id),
        label=kind.label if kind else r.kind,
        unit_id=str(r.unit_id),
        day=r.day,
        value=value,
        counted=True,
        late=r.late,
        version=r.version,
        evidence={
            "needs": list(needs),
            "has": have,
            "documents": len(r.content.get("documents", [])),
            "photos": len(r.content.get("photos", [])),
            "corrected_later": r.corrected_later,
            "enterprise_id": r.content.get("enterprise_id"),
            "flags": list(r.flags),
        },
    )
    if not r.countable:
        return item.excluded(r.flags[0] if r.flags else "not_countable")
    return item


def _records(
    kind: str,
    value: Callable[[RecordFact], int | Decimal | None] = lambda r: 1,
    reason: Callable[[RecordFact], str | None] = lambda r: None,
    *,
    distinct_enterprise: bool = False,
) -> Metric:
    """Records of one kind in the period: ``value`` reads the figure off one (None: not a
    candidate for this column), ``reason`` says why a countable one is still left out."""

    def metric(facts: Facts, m: Moments, _params: dict[str, Any]) -> list[Item]:
        campaign = _params.get("_campaign", "*")
        out = []
        for r in facts.records:
            if r.kind != kind:
                continue
            moved_in = not m.within(r.day) and r.current_day is not None and m.within(r.current_day)
            if not m.within(r.day) and not moved_in:
                continue
            v = value(r)
            if v is None:
                continue
            if moved_in:
                out.append(_record_item(r, v).excluded("corrected.date_outside_period"))
                continue
            item = _late_first(_record_item(r, v), _params)
            if not item.counted:
                pass
            elif campaign != "*" and r.content.get("campaign") != campaign:
                item = item.excluded("campaign.other")
            elif item.counted and (why := reason(r)):
                item = item.excluded(why)
            out.append(item)
        return _distinct_enterprises(out) if distinct_enterprise else out

    metric.kind = kind  # type: ignore[attr-defined]  # reads records of this kind only
    return metric


def _detail(r: RecordFact) -> dict[str, Any]:
    return dict(r.content.get("detail") or {})


def _wan(key: str) -> Callable[[RecordFact], Decimal]:
    return lambda r: Decimal(_detail(r).get(key) or 0) / WAN


def _when(test: Callable[[dict[str, Any]], bool], value: Callable[[RecordFact], Any]) -> Any:
    return lambda r: value(r) if test(_detail(r)) else None


def _persons(r: RecordFact) -> int:
    return len(_detail(r).get("persons") or [])


def _typical_cases(facts: Facts, m: Moments, params: dict[str, Any]) -> list[Item]:
    """填表说明 6: once per kind and sector; the first published counts."""
    items = _records("typical_case")(facts, m, params)
    by_id = {str(r.id): r for r in facts.records}
    seen: set[tuple[str, str]] = set()
    out = []
    for item in items:
        d = _detail(by_id[item.id])
        key = (str(d.get("case_kind")), str(d.get("sector")))
        if item.counted and key in seen:
            item = item.excluded("typical_case.same_kind_and_sector")
        elif item.counted:
            seen.add(key)
        if params.get("dangerous_operation_crime") and not d.get("dangerous_operation_crime"):
            continue
        out.append(item)
    return out


def _dangerous(facts: Facts, m: Moments, params: dict[str, Any]) -> list[Item]:
    return _typical_cases(facts, m, {**params, "dangerous_operation_crime": True})


_typical_cases.kind = _dangerous.kind = "typical_case"  # type: ignore[attr-defined]


def _not_key(flag: str, reason: str) -> Callable[[RecordFact], str | None]:
    def check(r: RecordFact) -> str | None:
        d, facts = _detail(r), r.content.get("facts") or {}
        ok = d.get("key_town") if flag == "key_town" else facts.get("key_enterprise")
        return None if ok else reason

    return check


PRESSURE = ("exposure", "interview", "joint_punishment")


METRICS: dict[str, Metric] = {
    "hazards.general.found": _hazards(lambda h: h.level == "general", major=False),
    "hazards.general.rectified": _hazards(
        lambda h: h.level == "general", major=False, rectified=True
    ),
    "hazards.major.self.found": _hazards(
        lambda h: _is_major(h) and h.source == "self_reported", major=True
    ),
    "hazards.major.self.rectified": _hazards(
        lambda h: _is_major(h) and h.source == "self_reported", major=True, rectified=True
    ),
    "hazards.major.department.found": _hazards(
        lambda h: _is_major(h) and h.source == "department", major=True
    ),
    "hazards.major.department.rectified": _hazards(
        lambda h: _is_major(h) and h.source == "department", major=True, rectified=True
    ),
    "hazards.major.supervised.found": _hazards(lambda h: _is_major(h) and h.listed, major=True),
    "hazards.major.supervised.rectified": _hazards(
        lambda h: _is_major(h) and h.listed, major=True, rectified=True
    ),
    "hazards.all.found": _hazards(
        lambda h: h.level != "major" or h.clause is not None, major=False
    ),
    "hazards.all.rectified": _hazards(
        lambda h: h.level != "major" or h.clause is not None, major=False, rectified=True
    ),
    "hazards.all.rectified_in_period": _rectified_in_period,
    # (GROUPED below: the metrics a report computes from grouped facts)
    "inspections.enterprise_visits": _visits,
    "inspections.enterprises": _enterprises,
    "inspections.enterprises_with_defect": _with_defect,
    "assistance.towns": _records(
        "assistance",
        _when(lambda d: d.get("target") == "town", lambda r: 1),
        _not_key("key_town", "assistance.not_key_town"),
    ),
    "assistance.enterprises": _records(
        "assistance",
        _when(lambda d: d.get("target") == "enterprise", lambda r: 1),
        _not_key("key_enterprise", "assistance.not_key_enterprise"),
    ),
    "penalties.count": _records("penalty"),
    "penalties.amount": _records("penalty", _wan("amount_yuan")),
    "penalties.amount.pre_incident": _records(
        "penalty", _when(lambda d: d.get("stage") == "pre_incident", _wan("amount_yuan"))
    ),
    "penalties.amount.accident": _records(
        "penalty", _when(lambda d: d.get("stage") == "accident", _wan("amount_yuan"))
    ),
    "cases.pre_incident": _records(
        "case_filed", _when(lambda d: d.get("stage") == "pre_incident", lambda r: 1)
    ),
    "cases.accident": _records(
        "case_filed", _when(lambda d: d.get("stage") == "accident", lambda r: 1)
    ),
    "dual_penalties.count": _records("dual_penalty"),
    "judicial_referrals.persons": _records("judicial_referral", _persons),
    "suspensions.enterprises": _records("suspension", distinct_enterprise=True),
    "closures.enterprises": _records(
        "closure",
        _when(lambda d: d.get("measure") == "closed", lambda r: 1),
        distinct_enterprise=True,
    ),
    "closures.requested": _records(
        "closure",
        _when(lambda d: d.get("measure") == "closure_requested", lambda r: 1),
        distinct_enterprise=True,
    ),
    "seizures.count": _records("seizure"),
    "licence_suspensions.count": _records("licence_suspension"),
    "public_pressure.enterprises": _records(
        "public_pressure",
        reason=lambda r: (
            None if _detail(r).get("measure") in PRESSURE else "public_pressure.other_measure"
        ),
        distinct_enterprise=True,
    ),
    "public_pressure.exposure": _records(
        "public_pressure",
        _when(lambda d: d.get("measure") == "exposure", lambda r: 1),
        distinct_enterprise=True,
    ),
    "public_pressure.blacklist": _records(
        "public_pressure",
        _when(lambda d: d.get("measure") == "blacklist", lambda r: 1),
        distinct_enterprise=True,
    ),
    "public_pressure.joint_punishment": _records(
        "public_pressure",
        _when(lambda d: d.get("measure") == "joint_punishment", lambda r: 1),
        distinct_enterprise=True,
    ),
    "clue_transfers.count": _records("clue_transfer"),
    "criminal_liability.persons": _records("criminal_liability", _persons),
    "disciplinary.persons": _records("disciplinary", _persons),
    "typical_cases.count": _typical_cases,
    "typical_cases.dangerous_operation_crime": _dangerous,
    "accountability.persons": _records(
        "accountability", lambda r: len(_detail(r).get("entries") or [])
    ),
    "interview_notices.count": _records("interview_notice"),
    "supervision_visits.count": _records("supervision_visit"),
    "briefings.count": _records("briefing"),
    "trainings.sessions": _records("training", lambda r: int(_detail(r).get("sessions") or 0)),
    # 填表说明 10: 特指参与培训的执法人员的人数，其他人员不计入统计.
    "trainings.attendees": _records(
        "training",
        lambda r: sum(a.get("role") == "law_enforcement" for a in _detail(r).get("attendees", [])),
    ),
    "rewards.total": _records("report_reward", _wan("reward_yuan")),
    "rewards.anonymous_verified": _records(
        "report_reward",
        _when(lambda d: bool(d.get("anonymous") and d.get("verified")), _wan("reward_yuan")),
    ),
    "media_columns.count": _records("media_column"),
    "media_columns.any": _records("media_column"),
    "certificates.count": _records("certificates", lambda r: int(_detail(r).get("count") or 0)),
    "cooperation_mechanisms.count": _records("cooperation_mechanism"),
    "assessment_inspections.count": _records("assessment_inspection"),
    "experts.persons": _records(
        "expert_engagement", lambda r: len(_detail(r).get("experts") or [])
    ),
    "study_sessions.count": _records("study_session"),
    "research_meetings.count": _records("research_meeting"),
}


GROUPED: dict[str, bool] = {
    **{key: True for key in METRICS if key.startswith("hazards.")},
    "inspections.enterprise_visits": True,
    "inspections.enterprises": False,
}
"""Metrics a report computes from ``Facts.hazard_groups`` / ``visit_groups``: each applies to a
group's representative as to each of its members; ``True``: a counted representative counts
its group's size, ``False`` (家): once."""

MERGED = frozenset({"visit.same_day", "enterprise.counted"})
"""Reasons that merge a record into another counted one rather than fail it: the cell lists
them, the report's ``excluded`` list does not."""
