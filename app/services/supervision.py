"""电子监察 (national rules art. 4, 15): every open 审批事项 and 备案 with its remaining time and light, by department;
待受理 rows with their waiting time and 受理期限; each row opens a read-only view of its case for oversight staff, within
their oversight regions (a city's staff: that city and its counties)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from engine import clock
from engine.tables import HumanTask

from ..domain import item_clock
from ..domain.workdays import UTC
from ..extensions import db
from ..models import Department, FilingApplication, ItemCase, User
from . import calendar, forbid, not_found
from .access import oversight_regions

OVERSIGHT_ROLES = {"policy", "supervisor", "admin"}
OPEN_STATUSES = ("receiving", "correction", "handling", "paused_correction", "expert")
FILING_OPEN = ("submitted", "accepted", "reviewed", "correction")
FILING_FINISHED = ("issued", "rejected")
# 备案: 3 working days from submission for the whole of it (受理, 审核, 签发); a 补正 sends it back to the applicant and
# the resubmission starts a new 3 days (processes/filing.bpmn, 企业投资项目核准和备案管理条例 / 办法).
FILING_LIMIT = 3
FILING_ITEM = "企业投资项目备案"
ACCEPT_LIMIT = 5  # 收件后5个工作日内受理或一次性告知补正 (行政许可法第三十二条; processes/item.bpmn)
LIGHTS = {"red": "红灯（超期）", "yellow": "黄灯", "green": "绿灯", "paused": "暂停计时", "waiting": "待受理"}
KINDS = {"item": "审批事项", "filing": "备案"}


@dataclass
class CaseRow:
    """One supervised case as the page and the export show it."""

    kind: str  # item | filing
    id: int
    number: str
    project: str
    enterprise: str
    matter: str  # the item's name, or 企业投资项目备案
    department: Department | None
    status: str
    light: str  # green | yellow | red | paused | waiting
    clock: item_clock.ClockStatus | None = None
    received_at: datetime | None = None  # 待受理: since when it waits (naive UTC)
    accept_due: datetime | None = None  # 待受理: the 受理期限 (naive UTC, midnight after the last day)
    waited: int | None = None  # 待受理: working days waited so far
    accept_overdue: bool = False
    accepted_at: datetime | None = None

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind]

    @property
    def clock_text(self) -> str:
        if self.clock is not None:
            return self.clock.label
        if self.light == "waiting":
            return "受理超期" if self.accept_overdue else "待受理"
        return "申请人补正中（暂停计时）" if self.light == "paused" else "—"

    @property
    def due(self) -> datetime | None:
        """The deadline now running (naive UTC): the time limit's, or the 受理期限 of a waiting row."""
        if self.clock is not None and self.clock.due is not None:
            return self.clock.due.astimezone(UTC).replace(tzinfo=None)
        return self.accept_due


@dataclass
class DepartmentRow:
    department: Department | None
    open: int = 0
    green: int = 0
    yellow: int = 0
    red: int = 0
    paused: int = 0
    waiting: int = 0
    waiting_overdue: int = 0
    finished: int = 0
    overdue_finished: int = 0
    cases: list[CaseRow] = field(default_factory=list)

    def count(self, row: CaseRow) -> None:
        self.open += 1
        setattr(self, row.light, getattr(self, row.light) + 1)
        self.waiting_overdue += int(row.accept_overdue)


def _check(viewer: User) -> None:
    if not viewer.roles & OVERSIGHT_ROLES:
        raise forbid("只有电子监察和综合管理人员可以查看")


def _department_filter(viewer: User, column, department_id: int | None):
    """The viewer's oversight regions (and the chosen department) as a WHERE clause on a department id column."""
    clauses = []
    regions = oversight_regions(viewer)
    if regions is not None:
        clauses.append(column.in_(select(Department.id).where(Department.region_code.in_(regions or {""}))))
    if department_id:
        clauses.append(column == department_id)
    return clauses


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None else None


def _waiting(row: CaseRow, received: datetime | None, due: datetime | None, now: datetime) -> None:
    cal = calendar.work_calendar()
    row.received_at, row.accept_due = received, due
    if received is not None:
        row.waited = cal.count_workdays(calendar.local_date(received), calendar.local_date(now))
    row.accept_overdue = due is not None and _aware(due) <= now


def _accept_tasks(cases: list[ItemCase]) -> dict[tuple[int, str], HumanTask]:
    """The open 受理 task of each waiting item case, by (instance, item code): when it arrived and its 受理期限."""
    instances = {c.declaration.instance_id for c in cases if c.declaration.instance_id}
    if not instances:
        return {}
    tasks = db.session.scalars(select(HumanTask).where(HumanTask.instance_id.in_(instances),
                                                       HumanTask.bpmn_id == "accept"))
    return {(t.instance_id, t.scope or ""): t for t in tasks}


def _item_rows(viewer: User, department_id: int | None, rows: dict, now: datetime) -> list[CaseRow]:
    cal = calendar.work_calendar()
    query = select(ItemCase).where(ItemCase.status.notin_(("declared", "done_before", "not_needed")),
                                   *_department_filter(viewer, ItemCase.department_id, department_id))
    cases = list(db.session.scalars(query.order_by(ItemCase.due_at.is_(None), ItemCase.due_at, ItemCase.id)))
    accept = _accept_tasks([c for c in cases if c.status == "receiving"])
    out = []
    for case in cases:
        summary = rows.setdefault(case.department_id, DepartmentRow(case.department))
        if case.status not in OPEN_STATUSES:
            summary.finished += 1
            summary.overdue_finished += int(case.overdue)
            continue
        status = item_clock.status(case.clock, cal, now) if case.clock else None
        light = ("paused" if status.paused else status.light) if status else \
            ("waiting" if case.status == "receiving" else "paused")
        declaration = case.declaration
        row = CaseRow("item", case.id, declaration.number, declaration.project.name, declaration.enterprise.name,
                      case.item_name, case.department, case.status_label, light, status, accepted_at=case.accepted_at)
        if light == "waiting":
            task = accept.get((declaration.instance_id, case.item_code))
            _waiting(row, task.created_at if task else None, task.due_at if task else None, now)
        summary.count(row)
        out.append(row)
    return out


def filing_clock(application: FilingApplication, now: datetime) -> item_clock.ClockStatus | None:
    """The 3 working days of an open 备案 round, from its submission (None while back with the applicant)."""
    if application.submitted_at is None or application.status not in FILING_OPEN or application.status == "correction":
        return None
    state = item_clock.start(FILING_LIMIT, "workday", _aware(application.submitted_at))
    return item_clock.status(state, calendar.work_calendar(), now)


def _filing_rows(viewer: User, department_id: int | None, rows: dict, now: datetime) -> list[CaseRow]:
    query = select(FilingApplication).where(FilingApplication.status.in_(FILING_OPEN + FILING_FINISHED),
                                            *_department_filter(viewer, FilingApplication.department_id,
                                                                department_id))
    out = []
    for application in db.session.scalars(query.order_by(FilingApplication.due_at, FilingApplication.id)):
        summary = rows.setdefault(application.department_id, DepartmentRow(application.department))
        if application.status in FILING_FINISHED:
            summary.finished += 1
            summary.overdue_finished += int(application.overdue)
            continue
        status = filing_clock(application, now)
        light = "paused" if status is None else status.light
        row = CaseRow("filing", application.id, application.number, application.project.name,
                      application.enterprise.name, FILING_ITEM, application.department, application.status_label,
                      light, status)
        row.received_at = application.submitted_at
        if application.status == "submitted":  # 待受理: counted within the 3 days, shown with its waiting time
            row.light = "waiting" if status is None or status.light != "red" else "red"
            _waiting(row, application.submitted_at, None, now)  # no 受理期限 of its own: the 3 days are the limit
        summary.count(row)
        out.append(row)
    return out


def overview(viewer: User, light: str | None = None, department_id: int | None = None,
             kind: str | None = None) -> list[DepartmentRow]:
    """审批事项 and 备案 of the departments in the viewer's oversight regions, by department, the most urgent first;
    `light` and `kind` narrow the listed cases (the counts stay whole)."""
    _check(viewer)
    now = clock.now()
    rows: dict[int | None, DepartmentRow] = {}
    cases = [*(_item_rows(viewer, department_id, rows, now) if kind in (None, "item") else []),
             *(_filing_rows(viewer, department_id, rows, now) if kind in (None, "filing") else [])]
    order = {"red": 0, "yellow": 1, "waiting": 2, "green": 3, "paused": 4}
    far = datetime.max
    for row in sorted(cases, key=lambda r: (order[r.light], not r.accept_overdue, r.due or far, r.number)):
        if light is None or light == row.light:
            rows[row.department.id if row.department else None].cases.append(row)
    return sorted(rows.values(), key=lambda r: (-r.red, -r.yellow, -r.waiting_overdue,
                                                r.department.name if r.department else ""))


def departments(viewer: User) -> list[Department]:
    query = select(Department).order_by(Department.region_code, Department.name)
    regions = oversight_regions(viewer)
    if regions is not None:
        query = query.where(Department.region_code.in_(regions or {""}))
    return list(db.session.scalars(query))


def _in_scope(viewer: User, department: Department | None, region_code: str | None) -> None:
    _check(viewer)
    regions = oversight_regions(viewer)
    if regions is None:
        return
    if (department.region_code if department else region_code) not in regions:
        raise forbid("该办件不在您的监管范围内")


def item_case(viewer: User, case_id: int) -> ItemCase:
    """An item case for oversight staff to read, within their regions."""
    case = db.session.get(ItemCase, case_id)
    if case is None or case.status in ("declared",):
        raise not_found("办件不存在")
    _in_scope(viewer, case.department, case.declaration.project.region_code)
    return case


def filing(viewer: User, application_id: int) -> FilingApplication:
    """A 备案 application for oversight staff to read, within their regions (drafts are the applicant's own)."""
    application = db.session.get(FilingApplication, application_id)
    if application is None or application.status == "draft":
        raise not_found("备案办件不存在")
    _in_scope(viewer, application.department, application.project.region_code)
    return application


EXPORT_HEADERS = ("类别", "办件单号", "项目", "申请单位", "事项", "部门", "状态", "灯色", "剩余时限", "截止时间",
                  "收件时间", "已等待（工作日）", "受理时间")


def export_rows(rows: list[DepartmentRow]) -> list[list[str]]:
    """The listed cases as the spreadsheet's rows (times in Beijing time)."""
    from .filing import visible_datetime, visible_deadline

    out = []
    for summary in rows:
        for r in summary.cases:
            out.append([r.kind_label, r.number, r.project, r.enterprise, r.matter,
                        r.department.name if r.department else "（未分送）", r.status, LIGHTS[r.light],
                        r.clock_text, visible_deadline(r.due), visible_datetime(r.received_at),
                        "" if r.waited is None else str(r.waited), visible_datetime(r.accepted_at)])
    return out
