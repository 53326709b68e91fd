from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.domain.workdays import (
    HOLIDAY_NAMES_ZH,
    WorkCalendar,
    chinese_calendar_rows,
    deadline_at,
    reminder_at,
)

UTC = ZoneInfo("UTC")
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def rows() -> list[tuple[date, bool, str]]:
    return chinese_calendar_rows(2004, 2026)


@pytest.fixture(scope="module")
def cal(rows: list[tuple[date, bool, str]]) -> WorkCalendar:
    return WorkCalendar.from_rows(rows, range(2004, 2027))


def test_rows_hold_only_exceptions_with_chinese_names(rows: list[tuple[date, bool, str]]) -> None:
    by_date = {d: (worked, name) for d, worked, name in rows}
    assert by_date[date(2025, 9, 28)] == (True, "国庆节")
    assert by_date[date(2025, 10, 11)] == (True, "国庆节")
    assert by_date[date(2025, 10, 1)] == (False, "国庆节")
    # Saturday 2025-10-04 is off anyway: not an exception.
    assert date(2025, 10, 4) not in by_date
    for d, worked, name in rows:
        assert worked == (d.weekday() >= 5)
        assert name in HOLIDAY_NAMES_ZH.values()
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)


def test_rows_refuse_uncovered_years() -> None:
    with pytest.raises(ValueError, match="2027"):
        chinese_calendar_rows(2026, 2027)


def test_national_day_2025(cal: WorkCalendar) -> None:
    assert cal.is_workday(date(2025, 9, 28))  # Sunday, 调休补班
    assert cal.is_workday(date(2025, 10, 11))  # Saturday, 调休补班
    for day in range(1, 9):
        assert not cal.is_workday(date(2025, 10, day))
    assert cal.is_workday(date(2025, 10, 9))
    assert not cal.is_workday(date(2025, 10, 12))


def test_add_workdays_across_national_day(cal: WorkCalendar) -> None:
    assert cal.add_workdays(date(2025, 9, 26), 1) == date(2025, 9, 28)
    assert cal.add_workdays(date(2025, 9, 30), 1) == date(2025, 10, 9)
    # 9-30 -> 10-9 (1), 10-10 (2), 10-11 Saturday (3), 10-13 Monday (4)
    assert cal.add_workdays(date(2025, 9, 30), 4) == date(2025, 10, 13)
    assert cal.add_workdays(date(2025, 9, 30), 0) == date(2025, 9, 30)
    with pytest.raises(ValueError):
        cal.add_workdays(date(2025, 9, 30), -1)


def test_count_workdays_across_national_day(cal: WorkCalendar) -> None:
    # (9-26, 10-12]: 9-28, 9-29, 9-30, 10-9, 10-10, 10-11
    assert cal.count_workdays(date(2025, 9, 26), date(2025, 10, 12)) == 6
    assert cal.count_workdays(date(2025, 9, 30), date(2025, 10, 8)) == 0
    assert cal.count_workdays(date(2025, 10, 12), date(2025, 9, 26)) == 0
    assert cal.count_workdays(date(2025, 9, 26), date(2025, 9, 26)) == 0


def test_count_matches_day_by_day(cal: WorkCalendar) -> None:
    start, end = date(2014, 12, 20), date(2026, 2, 10)
    brute = sum(1 for i in range(1, (end - start).days + 1) if cal.is_workday(start + timedelta(days=i)))
    assert cal.count_workdays(start, end) == brute
    for n in (1, 5, 20, 45):
        assert cal.count_workdays(start, cal.add_workdays(start, n)) == n


def test_exceptions_that_agree_with_weekdays_are_harmless() -> None:
    cal = WorkCalendar({date(2025, 6, 3): True, date(2025, 6, 7): False}, [2025])
    assert cal.count_workdays(date(2025, 6, 1), date(2025, 6, 8)) == 5


def test_unpublished_year_falls_back_to_weekdays(rows: list[tuple[date, bool, str]]) -> None:
    cal = WorkCalendar.from_rows(rows, range(2004, 2027))
    start = date(2026, 12, 30)
    # 2027-01-01 is a Friday: counted as a working day until 2027's schedule is loaded.
    assert cal.add_workdays(start, 2) == date(2027, 1, 1)
    assert cal.count_workdays(start, date(2027, 1, 8)) == 7
    assert cal.unpublished_years(start, date(2027, 1, 8)) == [2027]
    assert cal.warning(start, date(2027, 1, 8)) == (
        "2027年的节假日安排尚未发布，该年按周一至周五计算工作日，结果可能需要调整"
    )
    assert cal.warning(date(2025, 1, 1), date(2026, 12, 31)) is None
    multi = cal.warning(date(2026, 6, 1), date(2028, 1, 5))
    assert multi is not None and "2027年、2028年" in multi


def test_deadline_and_reminder_across_weekend(cal: WorkCalendar) -> None:
    # Thursday 2025-06-05 10:00 Beijing; 3 working days: Fri 6-6, Mon 6-9, Tue 6-10.
    start = datetime(2025, 6, 5, 2, 0, tzinfo=UTC)
    assert deadline_at(cal, start, 3) == datetime(2025, 6, 10, 16, 0, tzinfo=UTC)
    # One working day left: 00:00 Beijing of Tue 6-10.
    assert reminder_at(cal, start, 3) == datetime(2025, 6, 9, 16, 0, tzinfo=UTC)
    # Two working days left: 00:00 Beijing of Mon 6-9 (the weekend is skipped).
    assert reminder_at(cal, start, 3, days_left=2) == datetime(2025, 6, 8, 16, 0, tzinfo=UTC)
    # Limit shorter than the reminder window: remind at once.
    assert reminder_at(cal, start, 1, days_left=2) == start
    assert deadline_at(cal, start, 0) == datetime(2025, 6, 5, 16, 0, tzinfo=UTC)


def test_deadline_uses_beijing_date_not_utc_date(cal: WorkCalendar) -> None:
    # 2025-06-05 17:30 UTC is already Friday 6-6 01:30 in Beijing: day 1 is Monday 6-9.
    start = datetime(2025, 6, 5, 17, 30, tzinfo=UTC)
    assert deadline_at(cal, start, 1) == datetime(2025, 6, 9, 16, 0, tzinfo=UTC)
    local = datetime(2025, 6, 6, 1, 30, tzinfo=SHANGHAI)
    assert deadline_at(cal, local, 1) == deadline_at(cal, start, 1)
    assert deadline_at(cal, start, 1).tzinfo == UTC


def test_deadline_across_national_day(cal: WorkCalendar) -> None:
    start = datetime(2025, 9, 30, 9, 0, tzinfo=SHANGHAI)
    assert deadline_at(cal, start, 1) == datetime(2025, 10, 9, 16, 0, tzinfo=UTC)
    assert reminder_at(cal, start, 1) == datetime(2025, 10, 8, 16, 0, tzinfo=UTC)


def test_naive_datetimes_are_refused(cal: WorkCalendar) -> None:
    with pytest.raises(ValueError):
        deadline_at(cal, datetime(2025, 6, 5, 10, 0), 3)


# 2027's holidays are not in the installed chinesecalendar (test_rows_refuse_uncovered_years). A schedule of
# the usual shape stands in for the one the State Council will publish: 春节 (Saturday 6 February 2027) with
# the weekdays 8–12 February off and Saturday 20 February worked.
SPRING_2027 = {**{date(2027, 2, d): False for d in range(8, 13)}, date(2027, 2, 20): True}


def test_deadline_through_an_unpublished_spring_festival(rows: list[tuple[date, bool, str]]) -> None:
    unpublished = WorkCalendar.from_rows(rows, range(2004, 2027))
    start = datetime(2027, 2, 1, 10, 0, tzinfo=SHANGHAI)  # Monday
    # Mon–Fri until the schedule is loaded: 10 working days are 2-2..2-5 and 2-8..2-12, 2-15 the 10th.
    assert deadline_at(unpublished, start, 10) == datetime(2027, 2, 15, 16, 0, tzinfo=UTC)
    assert unpublished.warning(start.date(), date(2027, 2, 15)) == (
        "2027年的节假日安排尚未发布，该年按周一至周五计算工作日，结果可能需要调整")
    # Loaded, the holiday week is skipped and the make-up Saturday counts: 2-2..2-5 (4), 2-15..2-19 (9), 2-20.
    published = WorkCalendar({**{d: w for d, w, _ in rows}, **SPRING_2027}, range(2004, 2028))
    assert deadline_at(published, start, 10) == datetime(2027, 2, 20, 16, 0, tzinfo=UTC)
    assert published.warning(start.date(), date(2027, 2, 20)) is None
    assert published.count_workdays(start.date(), date(2027, 2, 20)) == 10


def test_deadline_spanning_new_year_into_an_unpublished_year(rows: list[tuple[date, bool, str]]) -> None:
    cal = WorkCalendar.from_rows(rows, range(2004, 2027))
    # Thursday 2026-12-31 20:00 UTC is already Friday 2027-01-01 04:00 in Beijing: day 1 is Monday 1-4.
    start = datetime(2026, 12, 31, 20, 0, tzinfo=UTC)
    assert deadline_at(cal, start, 1) == datetime(2027, 1, 4, 16, 0, tzinfo=UTC)
    # 15:30 UTC is 23:30 on 31 December in Beijing: day 1 is Friday 1-1 (counted until 2027 is published).
    assert deadline_at(cal, datetime(2026, 12, 31, 15, 30, tzinfo=UTC), 1) == datetime(2027, 1, 1, 16, 0, tzinfo=UTC)
    # From a published year into the unpublished one: 2026-12-21 + 20 working days (see test_item_clock).
    assert cal.add_workdays(date(2026, 12, 21), 20) == date(2027, 1, 18)
    assert cal.unpublished_years(date(2026, 12, 21), date(2027, 1, 18)) == [2027]
