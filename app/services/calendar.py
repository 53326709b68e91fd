"""The working-day calendar, loaded from the editable tables and cached briefly."""
from __future__ import annotations

import threading
import time
from datetime import date, datetime

from sqlalchemy import select

from engine import clock

from ..domain import item_clock, validity
from ..domain.workdays import SHANGHAI, UTC, WorkCalendar, deadline_at, reminder_at
from ..extensions import db
from ..models import CalendarDay, CalendarYear

_cache: dict[str, tuple[float, WorkCalendar]] = {}
_lock = threading.Lock()
TTL_SECONDS = 30.0  # other processes see an edit within this time


def work_calendar() -> WorkCalendar:
    key = str(db.engine.url)
    with _lock:
        hit = _cache.get(key)
    if hit and time.monotonic() - hit[0] < TTL_SECONDS:
        return hit[1]
    rows = db.session.execute(select(CalendarDay.day, CalendarDay.is_workday)).all()
    years = db.session.scalars(select(CalendarYear.year)).all()
    calendar = WorkCalendar({d: w for d, w in rows}, years)
    with _lock:
        _cache[key] = (time.monotonic(), calendar)
    return calendar


def invalidate() -> None:
    with _lock:
        _cache.clear()


def today() -> date:
    """Today in China, by the movable clock."""
    return clock.now().astimezone(SHANGHAI).date()


def local_date(moment: datetime | None) -> date | None:
    """The Beijing date of a stored (naive UTC) moment."""
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(SHANGHAI).date()


def _moment(value: str | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


# Functions offered to diagram expressions (they run inside the sandbox).
def expression_functions() -> dict:
    def now_iso() -> str:
        return clock.now().isoformat()

    def workday_deadline(start: str, days: int) -> str:
        return deadline_at(work_calendar(), _moment(start), int(days)).isoformat()

    def workday_reminder(start: str, days: int, days_left: int = 1) -> str:
        return reminder_at(work_calendar(), _moment(start), int(days), int(days_left)).isoformat()

    def add_workdays(start: str, days: int) -> str:
        return work_calendar().add_workdays(date.fromisoformat(str(start)[:10]), int(days)).isoformat()

    # The statutory clock of an item (app/domain/item_clock.py): its state lives in the workflow's
    # data, so a diagram reads the deadline the clock computes and re-arms its timers from it.
    def clock_start(limit: int, unit: str, max_extension: int = 0) -> dict:
        return item_clock.start(int(limit), unit, clock.now(), int(max_extension))

    def clock_pause(state: dict, reason: str) -> dict:
        return item_clock.pause(state, clock.now(), reason)

    def clock_resume(state: dict) -> dict:
        return item_clock.resume(state, clock.now())

    def clock_extend(state: dict, days: int, reason: str) -> dict:
        return item_clock.extend(state, int(days), reason)

    def clock_due(state: dict) -> str | None:
        moment = item_clock.due(state, work_calendar())
        return moment.isoformat() if moment else None

    def clock_warn(state: dict) -> str | None:
        moment = item_clock.warn_at(state, work_calendar())
        return moment.isoformat() if moment else None

    return {"now_iso": now_iso, "workday_deadline": workday_deadline, "workday_reminder": workday_reminder,
            "add_workdays": add_workdays, "clock_start": clock_start, "clock_pause": clock_pause,
            "clock_resume": clock_resume, "clock_extend": clock_extend, "clock_due": clock_due,
            "clock_warn": clock_warn, **reminder_functions()}


def reminder_functions() -> dict:
    """Progress reminders (app.domain.validity): instants as ISO strings, for timer expressions."""

    def reminder_at(planned_end: str, months_before: int) -> str:
        return validity.at_office_hours(validity.add_months(date.fromisoformat(planned_end), -months_before)).isoformat()

    def report_year_after(last_reported: int | None) -> int:
        return validity.report_year(today(), last_reported)

    def december_reminder_at(year: int) -> str:
        return validity.december_reminder(year).isoformat()

    def day_end_at(day: str) -> str:
        """A due date shown as that day 23:59: the first instant of the next day, Beijing time."""
        return validity.end_of_day(date.fromisoformat(day)).isoformat()

    return {"reminder_at": reminder_at, "report_year_after": report_year_after,
            "december_reminder_at": december_reminder_at, "day_end_at": day_end_at}


def year_days(year: int) -> list:
    from sqlalchemy import extract

    return list(db.session.scalars(select(CalendarDay).where(extract("year", CalendarDay.day) == year)
                                   .order_by(CalendarDay.day)))


def published_years() -> list[int]:
    return list(db.session.scalars(select(CalendarYear.year).order_by(CalendarYear.year)))


def warning_for(moment: datetime | None) -> str | None:
    """Visible warning when a deadline was counted in a year whose holidays are not yet published."""
    if moment is None:
        return None
    return work_calendar().warning(today(), local_date(moment))
