"""Policy staff maintain the holiday schedule (the State Council publishes a new year each autumn)."""
from __future__ import annotations

from datetime import date

from ..extensions import db
from ..models import CalendarDay, CalendarYear, User
from . import ServiceError, calendar, forbid, use_case


def _check(user: User) -> None:
    if not user.roles.intersection({"policy", "admin"}):
        raise forbid("只有综合管理部门人员可以维护工作日历")


@use_case
def set_day(user: User, day_text: str, kind: str, name: str) -> CalendarDay:
    _check(user)
    try:
        day = date.fromisoformat(day_text)
    except ValueError:
        raise ServiceError("日期格式不正确", 422, {"day": "「日期」须为日期，格式如 2027-01-01"}) from None
    if kind not in ("holiday", "workday", "normal"):
        raise ServiceError("类型不正确", 422, {"kind": "请选择「放假」「调休上班」或「恢复常规」"})
    name = name.strip()
    if len(name) > CalendarDay.__table__.c.name.type.length:  # refused, never cut: the user typed it
        raise ServiceError("名称过长", 422, {"name": f"「名称」不能超过{CalendarDay.__table__.c.name.type.length}字"})
    row = db.session.get(CalendarDay, day)
    if kind == "normal":
        if row is not None:
            db.session.delete(row)
    else:
        if row is None:
            row = CalendarDay(day=day)
            db.session.add(row)
        row.is_workday, row.name, row.source = kind == "workday", name, f"由 {user.display_name} 维护"
    calendar.invalidate()
    return row


@use_case
def publish_year(user: User, year: int, published: bool) -> None:
    _check(user)
    if not 2004 <= year <= 2100:
        raise ServiceError("年份不正确", 422, {"year": "「年份」须在 2004–2100 之间"})
    row = db.session.get(CalendarYear, year)
    if published and row is None:
        db.session.add(CalendarYear(year=year, source=f"国务院办公厅通知，由 {user.display_name} 录入"))
    elif not published and row is not None:
        db.session.delete(row)
    calendar.invalidate()
