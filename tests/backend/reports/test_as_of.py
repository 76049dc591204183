"""A figure counts each record as it stood at the cut-off, from the history; records entered
after the due day are late (迟报): listed, not counted."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from backend.services import reports
from tests.backend.reports.support import District, at


@pytest.fixture
def district(session: Session) -> District:
    return District.make(session, ["西天尾镇"], ["区应急局"])


def haicheng_september(district: District) -> reports.Report:
    t = reports.template("haicheng")
    return reports.compute(district.session, t, district.unit, t.period.for_month(2023, 9))


def row(report: reports.Report, name: str) -> reports.Row:
    return next(r for r in report.rows if r.name == name)


def total(report: reports.Report, key: str) -> object:
    return report.total[key]


def test_a_hazard_rectified_after_the_cut_off_is_not_rectified_in_that_period(
    district: District,
) -> None:
    before = district.hazard("区应急局", date(2023, 9, 1), level="major")
    after = district.hazard("区应急局", date(2023, 9, 2), level="major")
    district.rectify(before, at(date(2023, 9, 20)))
    district.rectify(after, at(date(2023, 9, 26)))  # after the 24th
    report = haicheng_september(district)
    assert (total(report, "major_dept_found"), total(report, "major_dept_rectified")) == (2, 1)
    cell = row(report, "区应急局").cells["major_dept_rectified"]
    assert [i.id for i in cell.counted] == [str(before.id)]


def test_the_report_of_a_past_period_is_the_same_after_later_changes(district: District) -> None:
    hazard = district.hazard("区应急局", date(2023, 9, 1), level="major")
    district.record("区应急局", "penalty", date(2023, 9, 3))
    first = haicheng_september(district)
    district.rectify(hazard, at(date(2023, 10, 3)))
    district.list_(hazard, at(date(2023, 10, 1)))
    district.hazard("区应急局", date(2023, 10, 2))
    again = haicheng_september(district)
    assert again.total == first.total
    assert again.total["major_dept_rectified"] == 0
    assert again.total["major_supervised_found"] == 0


def test_a_hazard_entered_after_the_due_day_is_late_listed_and_not_counted(
    district: District,
) -> None:
    on_time = district.hazard("区应急局", date(2023, 9, 20), entered=at(date(2023, 9, 25), 9))
    late = district.hazard("区应急局", date(2023, 9, 20), entered=at(date(2023, 9, 26), 9))
    report = haicheng_september(district)
    assert total(report, "major_dept_found") == 0
    t = reports.template("licheng")
    licheng = reports.compute(
        district.session,
        t,
        district.unit,
        t.period.for_interval(date(2023, 5, 1), date(2023, 9, 24)),  # due the 25th
    )
    cell = row(licheng, "区应急局").cells["general_found"]
    assert {i.id: i.reason for i in cell.items} == {str(on_time.id): None, str(late.id): "late"}
    late_items = {(i.type, i.id) for i in licheng.late()}
    assert late_items == {("hazard", str(late.id)), ("inspection", str(late.inspection_id))}


def test_a_record_entered_late_is_listed_and_a_later_correction_does_not_change_the_figure(
    district: District,
) -> None:
    fine = district.record("区应急局", "penalty", date(2023, 9, 10))
    district.correct(
        fine,
        at(date(2023, 10, 8)),
        "金额更正",
        detail={**fine_detail(district), "amount_yuan": "90000.00"},
    )
    late = district.record("区应急局", "penalty", date(2023, 9, 12), entered=at(date(2023, 10, 9)))
    report = haicheng_september(district)
    emergency = row(report, "区应急局")
    assert emergency.cells["penalties"].value == 1
    assert str(emergency.cells["penalty_amount"].value) == "2"  # version 1: 20000 元
    counted = emergency.cells["penalties"].counted
    assert [(i.id, i.version, i.evidence["corrected_later"]) for i in counted] == [
        (str(fine.id), 1, True)
    ]
    assert {i.id for i in report.late()} == {str(late.id)}


def fine_detail(district: District) -> dict[str, object]:
    from tests.backend.records.support import detail_of

    place = district.places["区应急局"]
    return detail_of("penalty", place.enterprise, place.unit)


def test_the_total_is_the_sum_of_the_rows(district: District) -> None:
    district.hazard("区应急局", date(2023, 9, 1), level="major")
    district.hazard("西天尾镇", date(2023, 9, 1), level="major")
    district.hazard("西天尾镇", date(2023, 9, 2), level="major", source="self_reported")
    report = haicheng_september(district)
    for col in report.template.columns:
        if col.metric in ("ratio", "media_columns.any"):
            continue
        values = [r.cells[col.key].value for r in report.rows]
        assert report.total[col.key] == sum(Decimal(str(v)) for v in values if v is not None)
    assert report.total["major_dept_found"] == 2
    assert report.rates["major_rectification_rate"] == 0
    assert report.rates["supervision_rate"] == 0


def test_a_rate_with_no_denominator_is_none_never_100(district: District) -> None:
    report = haicheng_september(district)
    assert report.rates == {"major_rectification_rate": None, "supervision_rate": None}


def test_hazards_found_before_the_campaign_or_after_the_cut_off_are_not_in_the_period(
    district: District,
) -> None:
    district.hazard("区应急局", date(2023, 4, 30), level="major")
    district.hazard("区应急局", date(2023, 9, 25), level="major", entered=at(date(2023, 9, 25), 8))
    inside = district.hazard("区应急局", date(2023, 9, 24), level="major")
    report = haicheng_september(district)
    items = row(report, "区应急局").cells["major_dept_found"].items
    assert [i.id for i in items] == [str(inside.id)]
    assert report.period.cutoff == date(2023, 9, 24)


def test_a_record_is_selected_by_the_date_of_the_version_counted_not_its_current_date(
    district: District,
) -> None:
    """Corrected after the due day: the version at the horizon decides the period, both ways."""
    moved_out = district.record("区应急局", "penalty", date(2023, 9, 10))
    district.correct(
        moved_out, at(date(2023, 10, 8)), "日期更正", occurred_on=date(2023, 9, 28).isoformat()
    )
    moved_in = district.record("区应急局", "penalty", date(2023, 9, 27))
    district.correct(
        moved_in, at(date(2023, 10, 8)), "日期更正", occurred_on=date(2023, 9, 12).isoformat()
    )
    assert (moved_out.occurred_on, moved_in.occurred_on) == (date(2023, 9, 28), date(2023, 9, 12))
    report = haicheng_september(district)
    cell = row(report, "区应急局").cells["penalties"]
    assert cell.value == 1
    assert [(i.id, i.version, i.evidence["corrected_later"]) for i in cell.counted] == [
        (str(moved_out.id), 1, True)
    ]
    excluded = {i.id: (i.version, i.reason) for i in report.excluded()}
    assert excluded == {str(moved_in.id): (1, "corrected.date_outside_period")}
    assert not any(i.counted for i in report.items() if i.id == str(moved_in.id))
