"""Validity of a 备案证 or 核准文件 after issue, and the dates of the progress reminders.

- 备案: not started within 2 years and not extended → lapses by itself; a reported start makes it
  valid for good (发改委令第14号 art 15; 004 Q3). 核准: valid 2 years (673号令 art 12).
- One extension, only within validity, adds 1 year to the validity (not to the construction dates).
- A change whose new start or completion date lies beyond the validity is refused unless the permit
  was extended or the project has started (004 Q9, the Guangdong wording).
- Reminders (004 任务管理): 2 months before planned completion, again 1 month before if still
  missing; every December the yearly report.
Pure: no database, no Flask.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from .workdays import SHANGHAI

VALIDITY_YEARS = 2
EXTENSION_YEARS = 1
REMINDER_HOUR = time(9, 0)  # reminders arrive in office hours, Beijing time

_DATES_BEYOND = "提交失败：变更的开工/完工时间大于《{0}》的有效期，请先申请《{0}》延期再进行变更"
DATES_BEYOND_VALIDITY = _DATES_BEYOND.format("备案证")  # the Guangdong wording (004 Q9)


def add_years(day: date, years: int) -> date:
    """Same day n years on. 29 February lands on 28 February of a common year: 民法典第二百零二条, a
    period in years or months ends on the corresponding day of the last month, or on that month's last
    day when it has none (so add_years(d, n) == add_months(d, 12 * n), and 核准 and 备案 agree)."""
    return add_months(day, 12 * years)


def add_months(day: date, months: int) -> date:
    """Calendar months, clamped to the month's last day (31 August − 2 months = 30 June)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last = (date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(day.day, last))


def initial_validity(issued_on: date) -> date:
    return add_years(issued_on, VALIDITY_YEARS)


@dataclass(frozen=True)
class PermitState:
    issued_on: date
    valid_until: date
    started_on: date | None = None
    extended_on: date | None = None
    status: str = "valid"  # valid|lapsed|cancelled|revoked


def effective_status(permit: PermitState, today: date) -> str:
    """What the permit is today, even before the lapse timer has fired."""
    if permit.status == "valid" and permit.started_on is None and today > permit.valid_until:
        return "lapsed"
    return permit.status


_ENDED = {"lapsed": "已超过有效期自动失效", "cancelled": "已注销", "revoked": "已被撤销",
          "replaced": "已由重新赋码后签发的文件替代"}


def ended_refusal(permit: PermitState, today: date, kind_label: str = "备案证") -> str | None:
    status = effective_status(permit, today)
    if status != "valid":
        return f"该{kind_label}{_ENDED[status]}，不能再办理该业务"
    return None


def extension_refusal(permit: PermitState, today: date, kind_label: str = "备案证",
                      apply_by: date | None = None) -> str | None:
    """Why an extension request is refused, or None when it may be made. `apply_by`: the last day an
    application is in time (核准: 30 working days before expiry, 673号令 art 12)."""
    ended = ended_refusal(permit, today, kind_label)
    if ended:
        return ended
    if permit.started_on is not None:
        return f"项目已于 {permit.started_on:%Y-%m-%d} 开工，{kind_label}长期有效，无需延期"
    if permit.extended_on is not None:
        return (f"该{kind_label}已于 {permit.extended_on:%Y-%m-%d} 延期一次（有效期至 {permit.valid_until:%Y-%m-%d}），"
                f"每个{kind_label}只能延期一次")
    if apply_by is not None and today > apply_by:
        return (f"{kind_label}延期须在有效期届满30个工作日前提出（即 {apply_by:%Y-%m-%d} 前，"
                f"《企业投资项目核准和备案管理条例》第十二条），已超过申请期限")
    return None


AUTHORISATION_EXTENSION_NOTICE = 30  # working days before expiry (673号令 art 12)


def last_day_to_apply(valid_until: date, is_workday: Callable[[date], bool],
                      workdays: int = AUTHORISATION_EXTENSION_NOTICE) -> date:
    """The last day that still lies `workdays` working days before the validity ends."""
    day, counted = valid_until, 0
    while counted < workdays:
        day -= timedelta(days=1)
        if is_workday(day):
            counted += 1
    return day


def extended_validity(permit: PermitState) -> date:
    return add_years(permit.valid_until, EXTENSION_YEARS)


def date_change_refusal(permit: PermitState, new_start: date | None, new_end: date | None,
                        kind_label: str = "备案证") -> str | None:
    """004 Q9: new construction dates beyond the validity need an extension or a reported start first;
    the message names the permit's own document (备案证 or 核准文件)."""
    if permit.started_on is not None or permit.extended_on is not None:
        return None
    if any(d is not None and d > permit.valid_until for d in (new_start, new_end)):
        return _DATES_BEYOND.format(kind_label)
    return None


# ---- reminders ---------------------------------------------------------------------------------
def at_office_hours(day: date) -> datetime:
    """09:00 Beijing time of a day, as an aware datetime."""
    return datetime.combine(day, REMINDER_HOUR, tzinfo=SHANGHAI)


def end_of_day(day: date) -> datetime:
    """The first instant after a day ends, Beijing time (a due date is the whole of its last day)."""
    return datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=SHANGHAI)


def completion_reminders(planned_end: date) -> tuple[datetime, datetime]:
    """The first (2 months before) and the second (1 month before) reminder of the dates."""
    return at_office_hours(add_months(planned_end, -2)), at_office_hours(add_months(planned_end, -1))


def report_year(today: date, last_reported: int | None) -> int:
    """The year whose December report is next due: this year's until it is reported, then the next."""
    year = today.year
    if last_reported is not None and last_reported >= year:
        year = last_reported + 1
    return year


def december_reminder(year: int) -> datetime:
    return at_office_hours(date(year, 12, 1))
