"""The platform's dates are Beijing dates (UTC+8), whatever the server's time zone: at 20:00 UTC on
31 December it is already the next year in Beijing — 'today', the report year and the December reminder
move with it. The platform clock is set to named moments; no database is needed."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.services import calendar
from engine import clock


@pytest.mark.parametrize(("utc", "beijing_day"), [
    (datetime(2026, 12, 31, 15, 30, tzinfo=UTC), date(2026, 12, 31)),  # 23:30 Beijing: still the old year
    (datetime(2026, 12, 31, 16, 0, tzinfo=UTC), date(2027, 1, 1)),  # midnight Beijing
    (datetime(2027, 12, 31, 20, 0, tzinfo=UTC), date(2028, 1, 1)),  # UTC still says 2027
    (datetime(2028, 2, 28, 16, 30, tzinfo=UTC), date(2028, 2, 29)),  # the leap day begins in Beijing
])
def test_today_is_the_beijing_date(utc: datetime, beijing_day: date) -> None:
    clock.travel_to(utc)
    assert calendar.today() == beijing_day
    # A stored moment (naive UTC, as every table holds it) reads as the same Beijing date.
    assert calendar.local_date(utc.replace(tzinfo=None)) == beijing_day


def test_report_year_and_december_reminder_follow_beijing_new_year() -> None:
    functions = calendar.reminder_functions()
    clock.travel_to(datetime(2027, 12, 31, 15, 59, tzinfo=UTC))  # 23:59 Beijing on 31 December 2027
    assert functions["report_year_after"](None) == 2027
    assert functions["report_year_after"](2027) == 2028
    clock.travel_to(datetime(2027, 12, 31, 20, 0, tzinfo=UTC))  # 04:00 Beijing on 1 January 2028
    assert functions["report_year_after"](None) == 2028
    assert functions["report_year_after"](2026) == 2028  # a year missed is not asked for again
    assert functions["december_reminder_at"](2028) == "2028-12-01T09:00:00+08:00"
    # A year's report is due to the end of its 31 December, Beijing time: 16:00 UTC.
    assert functions["day_end_at"]("2028-12-31") == "2029-01-01T00:00:00+08:00"
    # Two months before a completion on 30 April of a leap year is 29 February.
    assert functions["reminder_at"]("2028-04-30", 2) == "2028-02-29T09:00:00+08:00"
