"""Permit validity and reminder dates (app.domain.validity): pure rules, no database."""
from datetime import date

from app.domain.validity import (
    DATES_BEYOND_VALIDITY,
    PermitState,
    add_months,
    add_years,
    completion_reminders,
    date_change_refusal,
    december_reminder,
    effective_status,
    extended_validity,
    extension_refusal,
    initial_validity,
    last_day_to_apply,
    report_year,
)

ISSUED = date(2026, 11, 23)


def permit(**kw) -> PermitState:
    return PermitState(**{"issued_on": ISSUED, "valid_until": initial_validity(ISSUED), **kw})


def test_two_years_then_one_more_and_leap_days():
    assert initial_validity(ISSUED) == date(2028, 11, 23)
    assert extended_validity(permit()) == date(2029, 11, 23)
    assert add_years(date(2027, 2, 28), 1) == date(2028, 2, 28)
    assert add_months(date(2027, 8, 31), -2) == date(2027, 6, 30)
    assert add_months(date(2027, 1, 15), -2) == date(2026, 11, 15)


def test_issued_on_29_february_ends_on_28_february():
    """民法典第二百零二条: no corresponding day in the last month → that month's last day (not 1 March)."""
    issued = date(2028, 2, 29)
    assert add_years(issued, 1) == date(2029, 2, 28)
    assert add_years(issued, 4) == date(2032, 2, 29)  # a leap year again: the day itself
    assert add_years(issued, 2) == add_months(issued, 24)  # 备案 (years) and 核准 (24 months) agree
    leap = PermitState(issued_on=issued, valid_until=initial_validity(issued))
    assert leap.valid_until == date(2030, 2, 28)
    assert extended_validity(leap) == date(2031, 2, 28)
    assert effective_status(leap, date(2030, 2, 28)) == "valid"
    assert effective_status(leap, date(2030, 3, 1)) == "lapsed"
    # Reminders counted back from a date after 29 February land in February's last day.
    assert add_months(date(2028, 4, 30), -2) == date(2028, 2, 29)
    assert add_months(date(2027, 4, 30), -2) == date(2027, 2, 28)


def test_lapses_the_day_after_its_last_valid_day_unless_started():
    p = permit()
    assert effective_status(p, date(2028, 11, 23)) == "valid"
    assert effective_status(p, date(2028, 11, 24)) == "lapsed"
    assert effective_status(permit(started_on=date(2028, 1, 1)), date(2040, 1, 1)) == "valid"
    assert effective_status(permit(status="revoked"), date(2027, 1, 1)) == "revoked"


def test_extension_only_once_within_validity_and_not_after_start():
    assert extension_refusal(permit(), date(2027, 1, 1)) is None
    assert "只能延期一次" in extension_refusal(permit(extended_on=date(2027, 1, 1)), date(2027, 2, 1))
    assert "失效" in extension_refusal(permit(), date(2028, 11, 24))
    assert "长期有效" in extension_refusal(permit(started_on=date(2027, 3, 1)), date(2027, 4, 1))
    assert "注销" in extension_refusal(permit(status="cancelled"), date(2027, 1, 1), "备案证")


def test_q9_dates_beyond_validity_refused_until_extended_or_started():
    late = date(2029, 1, 1)
    assert date_change_refusal(permit(), None, late) == DATES_BEYOND_VALIDITY
    assert date_change_refusal(permit(), None, late, "核准文件") == (
        "提交失败：变更的开工/完工时间大于《核准文件》的有效期，请先申请《核准文件》延期再进行变更")
    assert date_change_refusal(permit(), late, None) == DATES_BEYOND_VALIDITY
    assert date_change_refusal(permit(), None, date(2028, 11, 23)) is None
    assert date_change_refusal(permit(extended_on=date(2027, 1, 1)), None, late) is None
    assert date_change_refusal(permit(started_on=date(2027, 1, 1)), None, late) is None


def test_reminder_instants_at_nine_beijing():
    first, second = completion_reminders(date(2027, 12, 23))
    assert (first.date(), first.hour, second.date()) == (date(2027, 10, 23), 9, date(2027, 11, 23))
    assert first.utcoffset().total_seconds() == 8 * 3600
    assert december_reminder(2026).isoformat() == "2026-12-01T09:00:00+08:00"


def test_report_year_moves_on_once_reported():
    assert report_year(date(2026, 11, 23), None) == 2026
    assert report_year(date(2026, 11, 23), 2026) == 2027
    assert report_year(date(2027, 1, 5), 2025) == 2027
    # The last day of a year is still that year's; reported early, the next round waits for next December.
    assert report_year(date(2026, 12, 31), None) == 2026
    assert report_year(date(2026, 12, 31), 2026) == 2027
    assert december_reminder(2027).isoformat() == "2027-12-01T09:00:00+08:00"


def test_authorisation_extension_must_be_asked_30_working_days_before_expiry():
    # Validity to 2028-11-22 (a Wednesday); weekends only: 30 working days back is Wednesday 2028-10-11.
    weekdays = lambda d: d.weekday() < 5  # noqa: E731
    assert last_day_to_apply(date(2028, 11, 22), weekdays) == date(2028, 10, 11)
    # A holiday inside the window moves the last day earlier by one working day.
    assert last_day_to_apply(date(2028, 11, 22), lambda d: weekdays(d) and d != date(2028, 11, 1)) == date(2028, 10, 10)
    state = permit(valid_until=date(2028, 11, 22))
    assert extension_refusal(state, date(2028, 10, 11), "核准文件", date(2028, 10, 11)) is None
    refusal = extension_refusal(state, date(2028, 10, 12), "核准文件", date(2028, 10, 11))
    assert "核准文件延期须在有效期届满30个工作日前提出（即 2028-10-11 前" in refusal
    assert extension_refusal(state, date(2028, 10, 12), "备案证") is None  # 备案证: any time within validity
