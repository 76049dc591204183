"""Each counting rule (附件2 填表说明, seed 000; the notes under the 福州 and 海城 forms): one
record counted and one excluded, with the reason."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.orm import Session

from backend.models import EntityType
from backend.services import reports
from tests.backend.reports.support import MAJOR_CLAUSE, District, at

SEP = date(2023, 9, 10)


@pytest.fixture
def district(session: Session) -> District:
    return District.make(session, ["西天尾镇"], ["区应急局", "区交警大队"])


def licheng(district: District, to: date = date(2023, 9, 26)) -> reports.Report:
    t = reports.template("licheng")
    period = t.period.for_interval(date(2023, 5, 1), to)
    return reports.compute(district.session, t, district.unit, period)


def cell(report: reports.Report, unit: str, column: str) -> reports.Cell:
    row = next(r for r in report.rows if r.name == unit)
    return row.cells[column]


def reasons(c: reports.Cell) -> dict[str, str | None]:
    return {i.id: i.reason for i in c.items}


def test_visits_count_per_visit_re_inspections_included(district: District) -> None:
    """填表说明 1: 家 is 家次; an inspection and a re-inspection of one enterprise count twice."""
    first = district.inspection("区应急局", date(2023, 9, 1))
    second = district.inspection("区应急局", date(2023, 9, 5))
    hazard = district.hazard("区应急局", date(2023, 9, 1))
    district.rectify(hazard, at(date(2023, 9, 8)))
    c = cell(licheng(district), "区应急局", "inspected_enterprises")
    # two inspections, the inspection behind the hazard, and the 复查 on the 8th
    assert c.value == 4
    assert {str(first.id), str(second.id)} <= {i.id for i in c.counted}
    assert [i.type for i in c.counted].count("reinspection") == 1


def test_a_re_inspection_on_the_day_of_an_inspection_is_the_same_visit(district: District) -> None:
    hazard = district.hazard("区应急局", date(2023, 9, 1))
    district.inspection("区应急局", date(2023, 9, 8))
    district.rectify(hazard, at(date(2023, 9, 8)))
    c = cell(licheng(district), "区应急局", "inspected_enterprises")
    assert c.value == 2
    [excluded] = [i for i in c.items if not i.counted]
    assert (excluded.type, excluded.reason) == ("reinspection", "visit.same_day")


def test_individual_businesses_count_as_enterprises_a_non_business_does_not(
    district: District,
) -> None:
    """填表说明 3: 个体户 count; a 非生产经营单位 is not an enterprise."""
    shop = district.enterprise("区应急局", entity_type=EntityType.individual_business)
    school = district.enterprise("区应急局", entity_type=EntityType.non_business)
    counted = district.inspection("区应急局", SEP, enterprise=shop)
    excluded = district.inspection("区应急局", SEP, enterprise=school)
    c = cell(licheng(district), "区应急局", "inspected_enterprises")
    assert c.value == 1
    assert reasons(c) == {str(counted.id): None, str(excluded.id): "not_a_business"}


def test_a_rejected_inspection_is_not_a_visit(district: District) -> None:
    district.inspection("区应急局", SEP, rejected=True)
    kept = district.inspection("区应急局", SEP)
    c = cell(licheng(district), "区应急局", "inspected_enterprises")
    assert [i.id for i in c.counted] == [str(kept.id)]


def test_a_town_does_not_report_assistance_to_towns(district: District) -> None:
    """填表说明 2: 镇街不需要填报帮扶指导镇街这项指标."""
    by_town = district.record("西天尾镇", "assistance", SEP)
    by_department = district.record("区应急局", "assistance", SEP)
    report = licheng(district)
    town = cell(report, "西天尾镇", "assisted_towns")
    assert town.value is None
    assert reasons(town) == {str(by_town.id): "town.not_reported"}
    department = cell(report, "区应急局", "assisted_towns")
    assert (department.value, reasons(department)) == (1, {str(by_department.id): None})
    assert report.total["assisted_towns"] == 1


def test_assistance_counts_key_towns_and_key_enterprises_only(district: District) -> None:
    key = district.record("区应急局", "assistance", SEP)
    other = district.record("区应急局", "assistance", SEP, detail={"key_town": False})
    c = cell(licheng(district), "区应急局", "assisted_towns")
    assert reasons(c) == {str(key.id): None, str(other.id): "assistance.not_key_town"}


def test_only_a_major_with_a_clause_counts_as_major(district: District) -> None:
    """填表说明 4 and the standards issue: 非标准内的不计入统计. A major entered before every
    major had to cite a clause (0011) is claimed, not confirmed by the standard."""
    counted = district.hazard("区应急局", SEP, level="major", clause=MAJOR_CLAUSE)
    claimed = district.hazard("区应急局", SEP, level="major", without_clause=True)
    report = licheng(district)
    c = cell(report, "区应急局", "major_dept_found")
    assert c.value == 1
    assert reasons(c) == {str(counted.id): None, str(claimed.id): "major.no_clause"}
    assert cell(report, "区应急局", "general_found").value == 0
    assert str(claimed.id) in {i.id for i in report.excluded()}


def test_a_voided_hazard_is_not_counted(district: District) -> None:
    kept = district.hazard("区应急局", SEP)
    voided = district.hazard("区应急局", SEP)
    district.void(voided, at(date(2023, 9, 12)))
    c = cell(licheng(district), "区应急局", "general_found")
    assert reasons(c) == {str(kept.id): None, str(voided.id): "voided"}


def test_penalties_count_work_safety_only_and_traffic_for_production_vehicles_only(
    district: District,
) -> None:
    """填表说明 5: 安全生产 penalties only; 交警 only 生产经营性车辆."""
    fine = district.record("区应急局", "penalty", SEP)
    other = district.record("区应急局", "penalty", SEP, detail={"work_safety": False})
    lorry = district.record(
        "区交警大队",
        "penalty",
        SEP,
        detail={"traffic": True, "vehicle_type": "production", "amount_yuan": "200.00"},
    )
    walker = district.record(
        "区交警大队",
        "penalty",
        SEP,
        detail={"traffic": True, "vehicle_type": "pedestrian", "amount_yuan": "50.00"},
    )
    report = licheng(district)
    safety = cell(report, "区应急局", "penalties")
    assert reasons(safety) == {str(fine.id): None, str(other.id): "penalty.not_work_safety"}
    traffic = cell(report, "区交警大队", "penalties")
    assert reasons(traffic) == {
        str(lorry.id): None,
        str(walker.id): "penalty.not_production_vehicle",
    }
    assert str(cell(report, "区交警大队", "penalty_amount").value) == "0.02"
    assert str(cell(report, "区应急局", "penalty_amount").value) == "2"  # 20000 元 = 2 万元


def test_judicial_referral_counts_procuratorate_court_or_a_criminal_case(
    district: District,
) -> None:
    """填表说明 5: 移送人民检察院和人民法院的算；送公安局拘留，入刑的可以算，未入刑的不算."""
    court = district.record(
        "区应急局", "judicial_referral", SEP, detail={"receiving_organ": "court"}
    )
    detained = district.record(
        "区应急局",
        "judicial_referral",
        SEP,
        detail={"receiving_organ": "public_security", "detained": True, "criminal_case": True},
    )
    released = district.record(
        "区应急局",
        "judicial_referral",
        SEP,
        detail={"receiving_organ": "public_security", "detained": True, "criminal_case": False},
    )
    c = cell(licheng(district), "区应急局", "judicial_referrals")
    assert c.value == 2
    assert reasons(c) == {
        str(court.id): None,
        str(detained.id): None,
        str(released.id): "referral.no_criminal_case",
    }


def test_a_supervision_visit_counts_with_plan_and_photos_once_per_trip(district: District) -> None:
    """填表说明 8 and 14: plan and photos; one trip to ten departments is one."""
    places = [{"name": f"单位{n}"} for n in range(10)]
    trip = district.record("区应急局", "supervision_visit", SEP, detail={"places": places})
    bare = district.record("区应急局", "supervision_visit", SEP, evidence=False)
    c = cell(licheng(district), "区应急局", "supervision_visits")
    assert c.value == 1
    assert reasons(c) == {str(trip.id): None, str(bare.id): "evidence.photos_missing"}
    [excluded] = [i for i in c.items if not i.counted]
    assert sorted(excluded.evidence["flags"]) == [
        "evidence.photos_missing",
        "evidence.plan_missing",
    ]


def test_a_briefing_counts_with_plan_and_photos_of_the_leader_there(district: District) -> None:
    """填表说明 9."""
    counted = district.record("区应急局", "briefing", SEP)
    no_photos = district.record(
        "区应急局",
        "briefing",
        SEP,
        evidence=False,
        documents=[{"sha256": "a" * 64, "role": "plan"}],
    )
    c = cell(licheng(district), "区应急局", "briefings")
    assert reasons(c) == {str(counted.id): None, str(no_photos.id): "evidence.photos_missing"}


def test_training_counts_law_enforcement_attendees_only(district: District) -> None:
    """填表说明 10: 特指参与培训的执法人员的人数，其他人员不计入统计."""
    district.record("区应急局", "training", SEP)  # one 执法人员 and one 企业人员, two sessions
    others_only = district.record(
        "区应急局",
        "training",
        SEP,
        detail={"attendees": [{"name": "企业甲", "role": "other"}], "sessions": 1},
    )
    report = licheng(district)
    attendees = cell(report, "区应急局", "training_attendees")
    assert attendees.value == 1
    assert next(i for i in attendees.items if i.id == str(others_only.id)).value == 0
    assert cell(report, "区应急局", "training_sessions").value == 3


def test_typical_cases_count_once_per_kind_and_sector(district: District) -> None:
    """填表说明 6: 10个里面有同类型或同行业领域的，要典型的才纳入统计."""
    first = district.record("区应急局", "typical_case", date(2023, 9, 1))
    same = district.record("区应急局", "typical_case", date(2023, 9, 2))
    other = district.record(
        "区应急局", "typical_case", date(2023, 9, 3), detail={"case_kind": "无证经营"}
    )
    c = cell(licheng(district), "区应急局", "typical_cases")
    assert c.value == 2
    assert reasons(c) == {
        str(first.id): None,
        str(same.id): "typical_case.same_kind_and_sector",
        str(other.id): None,
    }


def test_an_interview_notice_needs_its_document(district: District) -> None:
    """填表说明 7: 要有方案纪要或文件作为依据."""
    counted = district.record("区应急局", "interview_notice", SEP)
    bare = district.record("区应急局", "interview_notice", SEP, evidence=False)
    c = cell(licheng(district), "区应急局", "interview_notices")
    assert reasons(c) == {str(counted.id): None, str(bare.id): "evidence.minutes_missing"}


def test_a_record_of_another_programme_is_not_counted(district: District) -> None:
    """Seed 001: the 885 安全清单 is not the 专项行动."""
    counted = district.record("区应急局", "dual_penalty", SEP)
    other = district.record("区应急局", "dual_penalty", SEP, campaign="885")
    c = cell(licheng(district), "区应急局", "dual_penalties")
    assert reasons(c) == {str(counted.id): None, str(other.id): "campaign.other"}


def test_an_enterprise_visited_late_and_on_time_counts_once_on_time(district: District) -> None:
    """家 (海城: distinct enterprises): a late visit is out first, so the on-time one counts."""
    late = district.inspection("区应急局", date(2023, 9, 1), entered=at(date(2023, 9, 27)))
    on_time = district.inspection("区应急局", date(2023, 9, 3))
    t = reports.template("haicheng")
    report = reports.compute(district.session, t, district.unit, t.period.for_month(2023, 9))
    c = cell(report, "区应急局", "inspected_enterprises")
    assert c.value == 1
    assert reasons(c) == {str(late.id): "late", str(on_time.id): None}


def test_listed_supervision_counts_the_level_the_form_prints(district: District) -> None:
    """荔城 部门挂牌督办 and 福州 辖区部门挂牌督办 count a department's listings (seed 000: towns
    print 0 there); 海城 政府挂牌督办 counts a government's (a town's, the district's)."""
    by_department = district.hazard("区应急局", date(2023, 9, 1), level="major")
    by_town = district.hazard("西天尾镇", date(2023, 9, 3), level="major")
    district.list_(by_department, at(date(2023, 9, 5)))
    district.list_(by_town, at(date(2023, 9, 5)))
    report = licheng(district)
    c = cell(report, "区应急局", "major_supervised_found")
    assert (c.value, reasons(c)) == (1, {str(by_department.id): None})
    town = cell(report, "西天尾镇", "major_supervised_found")
    assert (town.value, reasons(town)) == (0, {str(by_town.id): "listing.other_level"})
    assert report.total["major_supervised_found"] == 1
    t = reports.template("fuzhou")
    fuzhou = reports.compute(district.session, t, district.unit, t.period.for_month(2023, 9))
    assert fuzhou.total["major_supervised_found"] == 1
    t = reports.template("haicheng")
    haicheng = reports.compute(district.session, t, district.unit, t.period.for_month(2023, 9))
    values = {r.name: r.cells["major_supervised_found"].value for r in haicheng.rows}
    assert values == {"西天尾镇": 1, "区应急局": 0, "区交警大队": 0}
    department = cell(haicheng, "区应急局", "major_supervised_found")
    assert reasons(department) == {str(by_department.id): "listing.other_level"}
