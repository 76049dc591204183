"""Working days in China, for "如遇节假日提前上报" (LIBRARIES.md: chinese-calendar).

One helper so the library can be swapped; a year the library does not know is refused, never
guessed (a due date off by a make-up workday is a 迟报 the unit did not commit).
"""

from __future__ import annotations

import datetime as dt

import chinese_calendar


class CalendarUnknown(ValueError):
    """The working-day calendar has no data for this year yet."""

    def __init__(self, day: dt.date) -> None:
        super().__init__(
            f"The working-day calendar has no data for {day.year}: upgrade chinese-calendar "
            "once the State Council publishes that year's holidays."
        )
        self.day = day


def is_workday(day: dt.date) -> bool:
    """True on a working day, make-up workdays (调休上班) included."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError as exc:
        raise CalendarUnknown(day) from exc


def on_or_before_workday(day: dt.date) -> dt.date:
    """The day itself if it is a working day, else the last working day before it."""
    while not is_workday(day):
        day -= dt.timedelta(days=1)
    return day
