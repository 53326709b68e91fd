import copy
import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.domain import item_clock
from app.domain.item_clock import ClockError, ClockStatus, due, extend, pause, resume, start, status, warn_at
from app.domain.workdays import WorkCalendar, chinese_calendar_rows, deadline_at

UTC = ZoneInfo("UTC")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def bj(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


def end_of(y: int, m: int, d: int) -> datetime:
    """00:00 Beijing after the given day, as UTC (16:00 UTC of that day)."""
    return datetime(y, m, d, 16, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    # 2027 deliberately left unpublished.
    return WorkCalendar.from_rows(chinese_calendar_rows(2025, 2026), range(2025, 2027))


def test_deadline_across_national_day_2025(cal: WorkCalendar) -> None:
    # Fri 9-26; make-up days 9-28 (Sun) and 10-11 (Sat) count, 10-1..10-8 do not:
    # 9-28, 9-29, 9-30, 10-9, 10-10, 10-11 (6), 10-13..17 (11), 10-20..24 (16), 10-27..30 (20).
    state = start(20, "workday", bj(2025, 9, 26))
    assert due(state, cal) == end_of(2025, 10, 30)
    assert due(state, cal) == deadline_at(cal, bj(2025, 9, 26), 20)
    assert due(state, cal).tzinfo == UTC
    s = status(state, cal, bj(2025, 10, 8))
    assert (s.used, s.remaining, s.light, s.warning) == (3, 17, "green", None)
    assert s.label == "剩余 17 个工作日"


def test_start_uses_beijing_date(cal: WorkCalendar) -> None:
    # 2025-06-08 17:30 UTC is already Monday 6-9 in Beijing.
    late = start(20, "workday", datetime(2025, 6, 8, 17, 30, tzinfo=UTC))
    assert due(late, cal) == due(start(20, "workday", bj(2025, 6, 9)), cal) == end_of(2025, 7, 7)


def test_pause_and_resume_keep_remaining_days(cal: WorkCalendar) -> None:
    state = start(20, "workday", bj(2025, 6, 9))  # Monday
    state = pause(state, bj(2025, 6, 11, 15), "补正材料")  # 6-10 and 6-11 used
    paused = status(state, cal, bj(2025, 6, 16))
    assert (paused.used, paused.remaining, paused.paused, paused.due) == (2, 18, True, None)
    assert paused.label == "已暂停计时，剩余 18 个工作日"
    assert due(state, cal) is None and warn_at(state, cal) is None

    state = resume(state, bj(2025, 6, 18))
    # 6-19, 6-20 (2), 6-23..27 (7), 6-30..7-4 (12), 7-7..11 (17), 7-14 (18)
    assert due(state, cal) == end_of(2025, 7, 14)
    assert due(state, cal) == deadline_at(cal, bj(2025, 6, 18), 18)
    assert status(state, cal, bj(2025, 6, 18, 23)).remaining == 18


def test_multiple_pauses(cal: WorkCalendar) -> None:
    state = start(20, "workday", bj(2025, 6, 9))
    state = pause(state, bj(2025, 6, 11), "补正材料")  # 2 used
    state = resume(state, bj(2025, 6, 18))
    state = pause(state, bj(2025, 6, 20), "专家评审")  # 6-19, 6-20: 4 used
    state = resume(state, bj(2025, 6, 25))
    assert state["pauses"] == 2
    assert [p["reason"] for p in state["pause_log"]] == ["补正材料", "专家评审"]
    assert status(state, cal, bj(2025, 6, 25)).used == 4
    # 16 left from 6-25: 6-26, 6-27 (2), 6-30..7-4 (7), 7-7..11 (12), 7-14..17 (16)
    assert due(state, cal) == end_of(2025, 7, 17)


def test_pause_and_resume_on_same_day_lose_nothing(cal: WorkCalendar) -> None:
    state = start(5, "workday", bj(2025, 6, 9))
    same = resume(pause(state, bj(2025, 6, 9, 11), "补正材料"), bj(2025, 6, 9, 16))
    assert due(same, cal) == due(state, cal) == end_of(2025, 6, 16)


def test_extension_moves_deadline_by_exactly_the_days(cal: WorkCalendar) -> None:
    state = start(20, "workday", bj(2025, 6, 9), max_extension=10)
    assert due(state, cal) == end_of(2025, 7, 7)
    longer = extend(state, 10, "需现场核查")
    # 7-8..11 (4), 7-14..18 (9), 7-21 (10)
    assert due(longer, cal) == end_of(2025, 7, 21)
    assert (longer["extension"], longer["extension_reason"]) == (10, "需现场核查")
    assert status(longer, cal, bj(2025, 7, 7)).total == 30


def test_extension_while_paused_counts_after_resume(cal: WorkCalendar) -> None:
    state = pause(start(20, "workday", bj(2025, 6, 9), max_extension=40), bj(2025, 6, 11), "专家评审")
    state = extend(state, 5, "专家评审意见分歧较大")
    assert status(state, cal, bj(2025, 6, 12)).label == "已暂停计时，剩余 23 个工作日"
    state = resume(state, bj(2025, 6, 18))
    assert due(state, cal) == deadline_at(cal, bj(2025, 6, 18), 23)


@pytest.mark.parametrize(
    ("days", "reason", "message"),
    [(11, "理由", "1 至 10 个工作日"), (0, "理由", "1 至 10"), (3, "  ", "理由")],
)
def test_bad_extensions_are_refused(days: int, reason: str, message: str) -> None:
    state = start(20, "workday", bj(2025, 6, 9), max_extension=10)
    with pytest.raises(ClockError, match=message):
        extend(state, days, reason)


def test_extension_only_once_and_only_when_allowed() -> None:
    once = extend(start(20, "workday", bj(2025, 6, 9), max_extension=10), 3, "需补充调查")
    with pytest.raises(ClockError, match="只能延长一次"):
        extend(once, 3, "再次延长")
    with pytest.raises(ClockError, match="不允许延长"):
        extend(start(20, "workday", bj(2025, 6, 9)), 1, "理由")


def test_lights_green_yellow_red(cal: WorkCalendar) -> None:
    # 9 working days from Mon 6-9: yellow once remaining <= 3, i.e. from the 6th day (Tue 6-17);
    # the 9th and last is Fri 6-20.
    state = start(9, "workday", bj(2025, 6, 9))
    yellow_at = datetime(2025, 6, 16, 16, 0, tzinfo=UTC)  # 00:00 Beijing of 6-17
    assert warn_at(state, cal) == yellow_at
    before = status(state, cal, yellow_at - timedelta(seconds=1))
    assert (before.light, before.remaining) == ("green", 4)
    at = status(state, cal, yellow_at)
    assert (at.light, at.remaining, at.label) == ("yellow", 3, "剩余 3 个工作日")

    deadline = due(state, cal)
    assert deadline == end_of(2025, 6, 20)
    last = status(state, cal, deadline - timedelta(seconds=1))
    assert (last.light, last.remaining, last.label) == ("yellow", 0, "今日到期")
    weekend = status(state, cal, deadline)  # Saturday: overdue, no working day lost yet
    assert (weekend.light, weekend.remaining, weekend.label) == ("red", 0, "已超期")
    late = status(state, cal, bj(2025, 6, 24))
    assert (late.light, late.remaining, late.used, late.label) == ("red", -2, 9, "已超期 2 个工作日")
    assert late.counted == 11


def test_yellow_boundary_uses_total_with_extension(cal: WorkCalendar) -> None:
    state = extend(start(20, "workday", bj(2025, 6, 9), max_extension=10), 10, "需现场核查")
    # total 30: yellow once 20 are used, which is the original deadline day 7-7.
    assert warn_at(state, cal) == datetime(2025, 7, 6, 16, 0, tzinfo=UTC)
    assert status(state, cal, bj(2025, 7, 4)).light == "green"
    assert status(state, cal, bj(2025, 7, 7)).light == "yellow"


def test_warn_at_after_resume_when_already_yellow(cal: WorkCalendar) -> None:
    state = pause(start(9, "workday", bj(2025, 6, 9)), bj(2025, 6, 18), "补正材料")  # 7 used
    state = resume(state, bj(2025, 6, 25, 9))
    assert warn_at(state, cal) == bj(2025, 6, 25, 9)
    assert status(state, cal, bj(2025, 6, 25, 9)).light == "yellow"


def test_paused_after_deadline_stays_overdue(cal: WorkCalendar) -> None:
    state = start(3, "workday", bj(2025, 6, 9))  # last day Thu 6-12
    state = pause(state, bj(2025, 6, 13), "专家评审")  # Fri 6-13: one working day late
    paused = status(state, cal, bj(2025, 6, 20))
    assert (paused.light, paused.remaining, paused.used, paused.due) == ("red", -1, 3, None)
    assert paused.label == "已暂停计时，已超期 1 个工作日"
    state = resume(state, bj(2025, 6, 23))
    # The missed deadline is kept; the paused week is not counted as overdue.
    assert due(state, cal) == end_of(2025, 6, 12)
    assert status(state, cal, bj(2025, 6, 24)).label == "已超期 2 个工作日"


def test_paused_on_last_day_is_not_overdue(cal: WorkCalendar) -> None:
    state = pause(start(3, "workday", bj(2025, 6, 9)), bj(2025, 6, 12, 17), "补正材料")  # Thu 6-12, last day
    paused = status(state, cal, bj(2025, 6, 13))
    assert (paused.light, paused.remaining) == ("yellow", 0)
    # No day left: the resume day (not counted) is the last one.
    state = resume(state, bj(2025, 6, 16, 9))
    assert due(state, cal) == end_of(2025, 6, 16)
    assert status(state, cal, bj(2025, 6, 16, 18)).label == "今日到期"
    assert status(state, cal, bj(2025, 6, 17)).label == "已超期 1 个工作日"


def test_calendar_days(cal: WorkCalendar) -> None:
    # 60 calendar days from 9-26, the National Day holiday included: 9-30 (4), 10-31 (35), 11-25 (60).
    state = start(60, "day", bj(2025, 9, 26))
    assert due(state, cal) == end_of(2025, 11, 25)
    s = status(state, cal, bj(2025, 10, 6))
    assert (s.used, s.remaining, s.label, s.warning) == (10, 50, "剩余 50 日（自然日）", None)
    state = resume(pause(state, bj(2025, 10, 6), "补正材料"), bj(2025, 10, 16))
    assert due(state, cal) == end_of(2025, 12, 5)
    assert status(state, cal, bj(2025, 12, 8)).label == "已超期 3 日（自然日）"


def test_unpublished_year_counts_weekdays_with_warning(cal: WorkCalendar) -> None:
    state = start(20, "workday", bj(2026, 12, 21))
    # Mon–Fri fallback in 2027, 1-1 counted: 12-22..25 (4), 12-28..31 (8), 1-1 (9), 1-4..8 (14),
    # 1-11..15 (19), 1-18 (20)
    assert due(state, cal) == end_of(2027, 1, 18)
    s = status(state, cal, bj(2026, 12, 22))
    assert s.warning is not None and "2027年的节假日安排尚未发布" in s.warning
    assert status(start(5, "workday", bj(2026, 6, 1)), cal, bj(2026, 6, 2)).warning is None


def test_state_round_trips_through_json(cal: WorkCalendar) -> None:
    state = start(20, "workday", bj(2025, 6, 9), max_extension=10)
    state = resume(pause(state, bj(2025, 6, 11), "补正材料"), bj(2025, 6, 18))
    state = pause(extend(state, 10, "需现场核查"), bj(2025, 6, 20), "专家评审")
    loaded = json.loads(json.dumps(state, ensure_ascii=False))
    assert loaded == state
    now = bj(2025, 6, 30)
    assert status(loaded, cal, now) == status(state, cal, now)
    assert due(resume(loaded, bj(2025, 6, 30)), cal) == due(resume(state, bj(2025, 6, 30)), cal)


def test_operations_do_not_mutate_input() -> None:
    state = start(20, "workday", bj(2025, 6, 9), max_extension=10)
    original = copy.deepcopy(state)
    paused = pause(state, bj(2025, 6, 10), "补正材料")
    extend(state, 5, "理由")
    assert state == original
    paused_copy = copy.deepcopy(paused)
    resume(paused, bj(2025, 6, 12))
    extend(paused, 5, "理由")
    assert paused == paused_copy


def test_pause_and_resume_misuse_is_refused() -> None:
    state = start(20, "workday", bj(2025, 6, 9))
    with pytest.raises(ClockError, match="未暂停"):
        resume(state, bj(2025, 6, 10))
    with pytest.raises(ClockError, match="原因"):
        pause(state, bj(2025, 6, 10), " ")
    with pytest.raises(ClockError, match="早于"):
        pause(state, bj(2025, 6, 8), "补正材料")
    paused = pause(state, bj(2025, 6, 10), "补正材料")
    with pytest.raises(ClockError, match="计时已暂停，不能重复暂停"):
        pause(paused, bj(2025, 6, 11), "专家评审")
    with pytest.raises(ClockError, match="早于"):
        resume(paused, bj(2025, 6, 9))


@pytest.mark.parametrize(
    ("limit", "unit", "at"),
    [(0, "workday", bj(2025, 6, 9)), (5, "month", bj(2025, 6, 9)), (5, "workday", datetime(2025, 6, 9, 10))],
)
def test_start_validation(limit: int, unit: str, at: datetime) -> None:
    with pytest.raises(ClockError):
        start(limit, unit, at)


def test_status_label_and_clock_error_type() -> None:
    assert issubclass(ClockError, ValueError)
    assert ClockStatus(10, 3, 7, False, "green", None, "day").label == "剩余 7 日（自然日）"
    assert item_clock.UNIT_WORDS["workday"] == "个工作日"
    # Dates are stored with the Beijing offset.
    assert start(1, "day", datetime(2025, 6, 9, 2, tzinfo=UTC))["started_at"] == "2025-06-09T10:00:00+08:00"
    assert date.fromisoformat(start(1, "day", bj(2025, 6, 9))["started_at"][:10]) == date(2025, 6, 9)


def test_a_clock_in_an_unpublished_spring_festival_is_recomputed_once_the_schedule_is_loaded(cal: WorkCalendar) -> None:
    """The state holds instants, not deadlines: a calendar loaded later moves the deadline and ends the warning."""
    state = start(10, "workday", bj(2027, 2, 1))
    assert due(state, cal) == end_of(2027, 2, 15)  # Mon–Fri through 春节 week
    assert "2027年的节假日安排尚未发布" in status(state, cal, bj(2027, 2, 9)).warning
    rows = {d: w for d, w, _ in chinese_calendar_rows(2025, 2026)}
    spring = {**{date(2027, 2, d): False for d in range(8, 13)}, date(2027, 2, 20): True}
    published = WorkCalendar({**rows, **spring}, range(2025, 2028))
    assert due(state, published) == end_of(2027, 2, 20)
    s = status(state, published, bj(2027, 2, 9))
    assert s.warning is None and s.remaining == 10 - 4  # 2-2..2-5 counted; the holiday days are not
