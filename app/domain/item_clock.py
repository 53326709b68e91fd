"""Statutory time-limit clock of one approval item (行政许可事项办理时限).

The clock starts at 受理, is paused while the applicant supplements materials (补正) and during
intermediary or expert review (行政许可法第四十五条: not counted), resumes with the days left, and may
be extended once with a reason (第四十二条; 国务院令第673号 for 核准). Units are working days
("workday") or calendar days ("day").

Counting follows ``workdays.deadline_at``: the day of an event is not counted (期间开始之日不计算在内).
A run that began on Beijing date d0 has used count(d0, d] days by Beijing date d, and the deadline
is 00:00 Beijing time after the day on which the days used reach the limit.

The state is a JSON-safe dict (workflow data, DB JSON column) that records events only: the start,
the finished pauses in ``pause_log`` and the current pause. Days used are derived with the calendar
on every read, never stored: pause() has no calendar, and a holiday schedule published later must
correct days already counted on the Mon–Fri fallback.

When overdue, ``ClockStatus.remaining`` is negative: minus the days counted past the deadline (in the
item's unit, paused time excluded). ``used`` is capped at the total.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from app.domain.workdays import SHANGHAI, UTC, WorkCalendar, _local_midnight_utc

# One word per unit on every page (issue 14 §4): 「N个工作日」 or 「N日（自然日）」, never a bare 「日」 or 「天」.
UNIT_WORDS: dict[str, str] = {"workday": "个工作日", "day": "日（自然日）"}
LIGHTS = ("green", "yellow", "red")


class ClockError(ValueError):
    """An operation the clock refuses; the message is shown to users."""


@dataclass(frozen=True)
class ClockStatus:
    total: int  # limit + extension
    used: int  # capped at total
    remaining: int  # negative when overdue: days past the deadline
    paused: bool
    light: str  # "green" | "yellow" | "red"
    due: datetime | None  # aware UTC; None while paused
    unit: str
    warning: str | None = None  # unpublished holiday schedule over the counted span

    @property
    def counted(self) -> int:
        """All days counted so far, those past the deadline included (``used`` stops at the total)."""
        return self.total - self.remaining

    @property
    def label(self) -> str:
        word = UNIT_WORDS[self.unit]
        if self.light == "red":
            # Red with remaining 0: past the deadline on a day that is not counted (e.g. the weekend after it).
            overdue = f"已超期 {-self.remaining} {word}" if self.remaining < 0 else "已超期"
            return f"已暂停计时，{overdue}" if self.paused else overdue
        if self.paused:  # a comma, not brackets: 「日（自然日）」 carries its own
            return f"已暂停计时，剩余 {self.remaining} {word}"
        if self.remaining == 0:
            return "今日到期"  # the last day itself is already counted as used
        return f"剩余 {self.remaining} {word}"


@dataclass(frozen=True)
class _Progress:
    total: int
    used: int  # over finished runs, uncapped
    lapsed: date | None  # last allowed day, when the deadline passed inside a finished run
    run_start: datetime | None  # start of the current run; None while paused


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _aware(at: datetime) -> datetime:
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise ClockError("时间必须带时区信息")
    return at


def _iso(at: datetime) -> str:
    # Beijing offset: the dates that count are Beijing dates, and operators read the JSON.
    return _aware(at).astimezone(SHANGHAI).isoformat()


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _day(value: str | datetime) -> date:
    moment = _parse(value) if isinstance(value, str) else value
    return moment.astimezone(SHANGHAI).date()


def _count(cal: WorkCalendar, unit: str, start: date, end: date) -> int:
    """Days of the unit in (start, end]."""
    if unit == "workday":
        return cal.count_workdays(start, end)
    return max(0, (end - start).days)


def _add(cal: WorkCalendar, unit: str, start: date, n: int) -> date:
    """The n-th day of the unit after start (start itself for n = 0)."""
    if unit == "workday":
        return cal.add_workdays(start, n)
    return start + timedelta(days=n)


def _runs(state: dict[str, Any]) -> list[tuple[str, str | None]]:
    """(start, end) ISO instants of the running periods; end is None for the current one."""
    log = state["pause_log"]
    starts = [state["started_at"], *(p["resumed_at"] for p in log)]
    ends = [*(p["paused_at"] for p in log), state["paused_at"]]
    return list(zip(starts, ends, strict=True))


def _total(state: dict[str, Any]) -> int:
    return state["limit"] + state["extension"]


def _progress(state: dict[str, Any], cal: WorkCalendar) -> _Progress:
    unit, total = state["unit"], _total(state)
    used, lapsed, run_start = 0, None, None
    for begin, end in _runs(state):
        if end is None:
            run_start = _parse(begin)
            break
        d0, d1 = _day(begin), _day(end)
        if lapsed is None:
            # Until the deadline is found, used <= total: a run that overshoots sets lapsed.
            last = _add(cal, unit, d0, total - used)
            if last < d1:
                lapsed = last
        used += _count(cal, unit, d0, d1)
    return _Progress(total, used, lapsed, run_start)


def _last_day(state: dict[str, Any], cal: WorkCalendar, progress: _Progress) -> date:
    """Last day within the limit for a running clock."""
    if progress.lapsed is not None:
        return progress.lapsed
    assert progress.run_start is not None
    # remaining 0 (paused on the last day) gives the resume day itself: it is not counted.
    return _add(cal, state["unit"], _day(progress.run_start), progress.total - progress.used)


def _reason(reason: str | None, message: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise ClockError(message)
    return text


def is_paused(state: dict[str, Any]) -> bool:
    return state["paused_at"] is not None


def start(limit: int, unit: str, at: datetime, max_extension: int = 0) -> dict[str, Any]:
    """A running clock started at 受理 ``at``."""
    if unit not in UNIT_WORDS:
        raise ClockError(f"计时单位无效：{unit}，应为 workday（工作日）或 day（自然日）")
    if not _is_int(limit) or limit < 1:
        raise ClockError("办理时限必须为正整数")
    if not _is_int(max_extension) or max_extension < 0:
        raise ClockError("可延长期限必须为非负整数")
    started = _iso(at)
    return {
        "limit": limit,
        "unit": unit,
        "max_extension": max_extension,
        "extension": 0,
        "extension_reason": None,
        "started_at": started,
        "segment_start": started,  # start of the current run, None while paused
        "paused_at": None,
        "pause_reason": None,
        "pauses": 0,  # pauses so far, the current one included
        "pause_log": [],  # finished pauses: {"paused_at", "resumed_at", "reason"}
    }


def pause(state: dict[str, Any], at: datetime, reason: str) -> dict[str, Any]:
    """Stop counting (补正, 专家评审, 中介服务); the pause day is still counted as used."""
    _aware(at)
    if is_paused(state):
        raise ClockError("计时已暂停，不能重复暂停")
    text = _reason(reason, "暂停计时必须填写原因")
    if at < _parse(_runs(state)[-1][0]):
        raise ClockError("暂停时间不能早于本段计时开始时间")
    new = copy.deepcopy(state)
    new.update(paused_at=_iso(at), pause_reason=text, segment_start=None, pauses=state["pauses"] + 1)
    return new


def resume(state: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Resume counting with the days left; the resume day is not counted."""
    _aware(at)
    if not is_paused(state):
        raise ClockError("计时未暂停，无需恢复")
    if at < _parse(state["paused_at"]):
        raise ClockError("恢复计时时间不能早于暂停时间")
    resumed = _iso(at)
    new = copy.deepcopy(state)
    new["pause_log"].append({"paused_at": state["paused_at"], "resumed_at": resumed, "reason": state["pause_reason"]})
    new.update(paused_at=None, pause_reason=None, segment_start=resumed)
    return new


def extend(state: dict[str, Any], days: int, reason: str) -> dict[str, Any]:
    """Extend the limit once by ``days`` (at most max_extension), running or paused.

    Without a calendar or time this cannot tell whether the deadline has already passed; the caller
    must refuse an extension decided after it (the decision belongs within the period).
    """
    if state["extension"]:
        raise ClockError("办理期限只能延长一次")
    max_extension = state["max_extension"]
    if max_extension <= 0:
        raise ClockError("该事项不允许延长办理期限")
    if not _is_int(days) or not 1 <= days <= max_extension:
        raise ClockError(f"延长期限应为 1 至 {max_extension} {UNIT_WORDS[state['unit']]}")
    text = _reason(reason, "延长办理期限必须填写理由")
    new = copy.deepcopy(state)
    new.update(extension=days, extension_reason=text)
    return new


def due(state: dict[str, Any], cal: WorkCalendar) -> datetime | None:
    """The deadline (00:00 Beijing after the last allowed day) as aware UTC; None while paused.

    A clock resumed after its deadline had already passed keeps that past deadline.
    """
    if is_paused(state):
        return None
    last = _last_day(state, cal, _progress(state, cal))
    return _local_midnight_utc(last + timedelta(days=1))


def warn_at(state: dict[str, Any], cal: WorkCalendar) -> datetime | None:
    """When the light turns yellow (00:00 Beijing of the first day with remaining*3 <= total), as UTC.

    None while paused; the start of the current run when it is already yellow or red.
    """
    if is_paused(state):
        return None
    progress = _progress(state, cal)
    assert progress.run_start is not None
    # remaining*3 <= total  <=>  remaining <= total // 3  <=>  used >= total - total // 3
    needed = progress.total - progress.total // 3 - progress.used
    if progress.lapsed is not None or needed <= 0:
        return progress.run_start.astimezone(UTC)
    return _local_midnight_utc(_add(cal, state["unit"], _day(progress.run_start), needed))


def status(state: dict[str, Any], cal: WorkCalendar, now: datetime) -> ClockStatus:
    _aware(now)
    unit = state["unit"]
    progress = _progress(state, cal)
    today = _day(now)
    used = progress.used
    deadline: datetime | None = None
    if progress.run_start is None:
        overdue = progress.lapsed is not None
        span_end = max(today, _day(state["paused_at"]))
    else:
        used += _count(cal, unit, _day(progress.run_start), today)
        last = _last_day(state, cal, progress)
        deadline = _local_midnight_utc(last + timedelta(days=1))
        overdue = now >= deadline
        span_end = max(today, last)
    remaining = progress.total - used
    if overdue:
        light = "red"
    elif remaining * 3 <= progress.total:
        light = "yellow"
    else:
        light = "green"
    # Calendar days do not depend on the holiday schedule.
    warning = cal.warning(_day(state["started_at"]), span_end) if unit == "workday" else None
    return ClockStatus(
        total=progress.total,
        used=min(used, progress.total),
        remaining=remaining,
        paused=progress.run_start is None,
        light=light,
        due=deadline,
        unit=unit,
        warning=warning,
    )
