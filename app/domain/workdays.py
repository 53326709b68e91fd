"""Working-day arithmetic for statutory time limits (工作日).

Weekends and the State Council's public holidays are off; make-up working days (调休补班) are on.
A year whose schedule is not yet published falls back to Monday–Friday, with a warning rather than
an error: a deadline must always be computable, and is recomputed once the schedule is loaded.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = ZoneInfo("UTC")

# chinese_calendar names its holidays in English; the UI shows the official Chinese names.
HOLIDAY_NAMES_ZH: dict[str, str] = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "Mid-autumn Festival": "中秋节",
    "National Day": "国庆节",
    # One-off holiday of 2015-09-03 (国务院 2015 年专门放假安排).
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}


def _weekdays_through(ordinal: int) -> int:
    """Mon–Fri days in ordinals [1, ordinal]; ordinal 1 (0001-01-01) is a Monday."""
    weeks, rest = divmod(ordinal, 7)
    return weeks * 5 + min(rest, 5)


class WorkCalendar:
    """Working days from a table of exceptions to the Mon–Fri rule.

    ``exceptions`` maps a date to True (a weekend day that is worked, 调休补班) or False (a weekday
    that is off, 法定节假日). Entries that agree with the Mon–Fri rule are accepted and ignored.
    ``published_years`` lists the years whose holiday schedule has been loaded.
    """

    def __init__(self, exceptions: Mapping[date, bool], published_years: Iterable[int]) -> None:
        self._exceptions: dict[date, bool] = dict(exceptions)
        self._published: frozenset[int] = frozenset(published_years)
        # Sorted ordinals of the exceptions that change the Mon–Fri count, with a running sum of
        # their effect, so count_workdays is a subtraction plus two bisections at any span.
        deltas = sorted(
            (d.toordinal(), 1 if worked else -1)
            for d, worked in self._exceptions.items()
            if worked != (d.weekday() < 5)
        )
        self._ordinals: list[int] = [o for o, _ in deltas]
        self._prefix: list[int] = [0]
        for _, delta in deltas:
            self._prefix.append(self._prefix[-1] + delta)

    @classmethod
    def from_rows(
        cls, rows: Iterable[tuple[date, bool, str]], published_years: Iterable[int]
    ) -> WorkCalendar:
        """Build from (date, is_workday, name) rows such as chinese_calendar_rows() or the DB table."""
        return cls({d: worked for d, worked, _ in rows}, published_years)

    @property
    def published_years(self) -> frozenset[int]:
        return self._published

    def is_workday(self, d: date) -> bool:
        worked = self._exceptions.get(d)
        if worked is not None:
            return worked
        return d.weekday() < 5

    def add_workdays(self, start: date, n: int) -> date:
        """The n-th working day after ``start``; counting starts the next day (行政许可法)."""
        if n < 0:
            raise ValueError("工作日天数不能为负数")
        d = start
        remaining = n
        one_day = timedelta(days=1)
        while remaining:
            d += one_day
            if self.is_workday(d):
                remaining -= 1
        return d

    def _workdays_through(self, d: date) -> int:
        o = d.toordinal()
        return _weekdays_through(o) + self._prefix[bisect.bisect_right(self._ordinals, o)]

    def count_workdays(self, start: date, end: date) -> int:
        """Working days in (start, end]; 0 when end is not after start."""
        if end <= start:
            return 0
        return self._workdays_through(end) - self._workdays_through(start)

    def unpublished_years(self, start: date, end: date) -> list[int]:
        """Years touched by [start, end] (either order) whose schedule is not loaded."""
        first, last = sorted((start.year, end.year))
        return [y for y in range(first, last + 1) if y not in self._published]

    def warning(self, start: date, end: date) -> str | None:
        years = self.unpublished_years(start, end)
        if not years:
            return None
        listed = "、".join(f"{y}年" for y in years)
        which = "该年" if len(years) == 1 else "这些年份"
        return f"{listed}的节假日安排尚未发布，{which}按周一至周五计算工作日，结果可能需要调整"


def chinese_calendar_rows(first_year: int = 2004, last_year: int = 2026) -> list[tuple[date, bool, str]]:
    """Exception days (weekday holidays -> False, weekend make-up days -> True) from chinese_calendar.

    Returns (date, is_workday, Chinese holiday name or '') sorted by date. The package raises
    NotImplementedError outside the years it covers, so the range is checked against its tables first.
    """
    import chinese_calendar  # imported here: only the seeding path needs it

    covered = {d.year for d in chinese_calendar.holidays} | {d.year for d in chinese_calendar.workdays}
    if first_year > last_year:
        raise ValueError(f"起始年份 {first_year} 晚于结束年份 {last_year}")
    missing = [y for y in range(first_year, last_year + 1) if y not in covered]
    if missing:
        raise ValueError(f"chinese_calendar 未包含 {missing[0]} 年的节假日安排")

    rows: list[tuple[date, bool, str]] = []
    d = date(first_year, 1, 1)
    stop = date(last_year, 12, 31)
    one_day = timedelta(days=1)
    while d <= stop:
        worked = chinese_calendar.is_workday(d)
        if worked != (d.weekday() < 5):
            _, name = chinese_calendar.get_holiday_detail(d)
            rows.append((d, worked, HOLIDAY_NAMES_ZH.get(name or "", "")))
        d += one_day
    return rows


def _local_date(moment: datetime) -> date:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("时间必须带时区信息")
    return moment.astimezone(SHANGHAI).date()


def _local_midnight_utc(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=SHANGHAI).astimezone(UTC)


def deadline_at(cal: WorkCalendar, start: datetime, n: int) -> datetime:
    """End of the n-th working day after start's Beijing-time date, as a UTC datetime.

    "End of day" is 00:00 Beijing time of the next calendar day, so a limit of n working days
    expires at the first instant no longer inside the n-th working day.
    """
    last_day = cal.add_workdays(_local_date(start), n)
    return _local_midnight_utc(last_day + timedelta(days=1))


def reminder_at(cal: WorkCalendar, start: datetime, n: int, days_left: int = 1) -> datetime:
    """00:00 Beijing time of the first of the last ``days_left`` working days, as a UTC datetime.

    That day is ``add_workdays(local_date, n - days_left + 1)``: with n=3 and days_left=1 it is the
    3rd working day (one working day left); with days_left=2, the 2nd. When the limit is shorter
    than ``days_left`` the reminder is due at once, so ``start`` is returned.
    """
    if days_left < 1:
        raise ValueError("提醒提前的工作日数必须至少为 1")
    if n < 0:
        raise ValueError("工作日天数不能为负数")
    if n - days_left < 0:
        return start
    return _local_midnight_utc(cal.add_workdays(_local_date(start), n - days_left + 1))
