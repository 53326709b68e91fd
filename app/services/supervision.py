"""电子监察 (national rules art. 4, 15): every open item with its remaining time and light, by department."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from engine import clock

from ..domain import item_clock
from ..extensions import db
from ..models import Department, ItemCase, User
from . import calendar
from .access import oversight_regions

OPEN_STATUSES = ("receiving", "correction", "handling", "paused_correction", "expert")


@dataclass
class DepartmentRow:
    department: Department | None
    open: int = 0
    green: int = 0
    yellow: int = 0
    red: int = 0
    paused: int = 0
    waiting: int = 0
    finished: int = 0
    overdue_finished: int = 0
    cases: list[tuple[ItemCase, item_clock.ClockStatus | None]] = field(default_factory=list)


def overview(viewer: User, light: str | None = None, department_id: int | None = None) -> list[DepartmentRow]:
    """Item cases of the departments in the viewer's oversight regions (a city's supervisor: that city and its
    counties)."""
    cal, now = calendar.work_calendar(), clock.now()
    rows: dict[int | None, DepartmentRow] = {}
    query = select(ItemCase).where(ItemCase.status.notin_(("declared", "done_before", "not_needed")))
    regions = oversight_regions(viewer)
    if regions is not None:
        query = query.where(ItemCase.department_id.in_(select(Department.id)
                                                       .where(Department.region_code.in_(regions or {""}))))
    if department_id:
        query = query.where(ItemCase.department_id == department_id)
    for case in db.session.scalars(query.order_by(ItemCase.due_at.is_(None), ItemCase.due_at, ItemCase.id)):
        row = rows.setdefault(case.department_id, DepartmentRow(case.department))
        if case.status not in OPEN_STATUSES:
            row.finished += 1
            row.overdue_finished += int(case.overdue)
            continue
        status = item_clock.status(case.clock, cal, now) if case.clock else None
        row.open += 1
        if status is None:
            kind = "waiting"
        elif status.paused:
            kind = "paused"
        else:
            kind = status.light
        if kind in ("green", "yellow", "red", "paused", "waiting"):
            setattr(row, kind, getattr(row, kind) + 1)
        if light is None or light == kind:
            row.cases.append((case, status))
    return sorted(rows.values(), key=lambda r: (-r.red, -r.yellow, r.department.name if r.department else ""))


def departments(viewer: User) -> list[Department]:
    query = select(Department).order_by(Department.region_code, Department.name)
    regions = oversight_regions(viewer)
    if regions is not None:
        query = query.where(Department.region_code.in_(regions or {""}))
    return list(db.session.scalars(query))
