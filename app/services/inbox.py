"""Reviewer inboxes read the projection tables only: no workflow is deserialized for a list."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, false, func, or_, select, true, tuple_, update

from engine import clock
from engine.tables import HumanTask, Instance, TrailEntry

from ..domain.workdays import SHANGHAI, UTC
from ..extensions import db
from ..models import (
    AgentAuthorization,
    ApprovalItem,
    Declaration,
    Enterprise,
    FilingApplication,
    ItemCase,
    Notification,
    PostRequest,
    Project,
    User,
)
from . import calendar, forbid, not_found, use_case
from .access import agent_scope, item_permissions


def _visible(user: User, permissions: set[tuple[str, str]] | None = None) -> list[Any] | None:
    """The WHERE of a reviewer's 待办: claimable by my role, department and region (item tasks also need the item's
    受理/办理 permission for that role), plus everything claimed by me. None: the user has no inbox."""
    department = user.department
    if department is None:
        return None
    roles = [r for r in user.roles if r not in ("applicant",)]
    # Item tasks (scope = item code) need the per-item 受理/办理 permission for that role.
    held = [p for p in (item_permissions(user) if permissions is None else permissions) if p[1] in roles]
    item_ok = tuple_(HumanTask.scope, HumanTask.candidate_role).in_(held) if held else false()
    return [HumanTask.candidate_role.in_(roles), HumanTask.department_id == department.id,
            HumanTask.region_code == department.region_code,
            or_(HumanTask.scope.is_(None), item_ok),
            or_(HumanTask.assignee.is_(None), HumanTask.assignee == user.actor)]


def todo(user: User, limit: int = 200) -> list[HumanTask]:
    """Claimable by my role, department and region, plus everything claimed by me."""
    visible = _visible(user)
    if visible is None:
        return []
    query = (select(HumanTask).where(*visible)
             .order_by(HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.id).limit(limit))
    return list(db.session.scalars(query))


def todo_count(user: User) -> int:
    """How many tasks the reviewer's 待办 holds (the nav badge): one COUNT on the inbox index."""
    visible = _visible(user)
    if visible is None:
        return 0
    return db.session.scalar(select(func.count(HumanTask.id)).where(*visible)) or 0


# ---- 待办 for volume: search, filters, sort, counts and pages, all in SQL ----

PAGE_SIZE = 20
SOON_WORKDAYS = 3  # 即将到期: due within this many working days, today included
STATUSES = {"unclaimed": "待签收", "mine": "已签收"}
DEADLINES = {"soon": "即将到期", "overdue": "已超期"}
SORTS = {"due": "按办理时限", "submitted": "按提交时间"}
KINDS = {"filing": "企业投资项目备案", "post": "变更/延期申请"}


@dataclass
class TodoFilters:
    q: str = ""
    item: str = ""  # "" | a KINDS key | an item code
    status: str = ""  # "" | a STATUSES key
    due: str = ""  # "" | a DEADLINES key
    sort: str = "due"
    page: int = 1

    @classmethod
    def from_args(cls, args: Any) -> TodoFilters:
        """From query parameters; anything unknown is ignored (a shared link never breaks the page)."""
        try:
            page = max(1, int(args.get("page") or 1))
        except ValueError:
            page = 1
        status, due, sort = args.get("status", ""), args.get("due", ""), args.get("sort", "due")
        return cls(q=(args.get("q") or "").strip()[:100], item=(args.get("item") or "").strip()[:40],
                   status=status if status in STATUSES else "", due=due if due in DEADLINES else "",
                   sort=sort if sort in SORTS else "due", page=page)

    def args(self, **changes: Any) -> dict[str, Any]:
        """Query parameters of these filters with `changes` (for links); defaults left out, page reset unless given."""
        values = {"q": self.q, "item": self.item, "status": self.status, "due": self.due, "sort": self.sort,
                  "page": 1, **changes}
        return {k: v for k, v in values.items() if v and not (k == "sort" and v == "due") and not (k == "page" and v == 1)}


@dataclass
class TodoRow:
    task: HumanTask
    number: str | None
    applicant: str | None
    project_code: str | None
    submitted_at: datetime | None
    due_at: datetime | None
    overdue: bool
    soon: bool
    workdays_left: int | None  # None: no deadline (or an item's clock: its badge says it)


@dataclass
class TodoPage:
    filters: TodoFilters
    rows: list[TodoRow]
    total: int  # rows matching every filter
    counts: dict[str, int]  # per status and deadline option, under the search and 事项 filter
    pages: int
    items: dict[str, str] = field(default_factory=dict)  # 事项 filter choices

    @property
    def tasks(self) -> list[HumanTask]:
        return [r.task for r in self.rows]


def _soon_limit(now: datetime) -> datetime:
    """The moment (naive UTC) after which a deadline is not yet 即将到期: midnight starting the SOON_WORKDAYS-th
    working day after today."""
    cal = calendar.work_calendar()
    last = cal.add_workdays(calendar.today(), SOON_WORKDAYS - (1 if cal.is_workday(calendar.today()) else 0))
    midnight = datetime(last.year, last.month, last.day, tzinfo=SHANGHAI) + timedelta(days=1)
    return max(midnight.astimezone(UTC).replace(tzinfo=None), now)


def _workdays_left(due: datetime | None, now: datetime) -> int | None:
    """Working days from today to the deadline's last day, today counted if it is one; 0 when overdue."""
    if due is None:
        return None
    if due <= now:
        return 0
    cal = calendar.work_calendar()
    today = calendar.today()
    last = calendar.local_date(due - timedelta(minutes=1))
    return cal.count_workdays(today, last) + (1 if cal.is_workday(today) else 0)


def todo_page(user: User, filters: TodoFilters, page_size: int = PAGE_SIZE) -> TodoPage:
    """The reviewer's 待办 with search (办件单号/项目代码, 项目名称, 申请单位), filters (事项, 状态, 期限), sort by
    deadline or submission, counts and one page of rows: one COUNT query and one page query, whatever the volume."""
    permissions = item_permissions(user)
    visible = _visible(user, permissions)
    items = dict(KINDS)
    codes = sorted({code for code, role in permissions if role in user.roles})
    if codes:
        items.update({code: name for code, name in db.session.execute(  # columns only: not each item's materials
            select(ApprovalItem.code, ApprovalItem.name).where(ApprovalItem.code.in_(codes)).order_by(ApprovalItem.code))})
    if visible is None:
        return TodoPage(filters, [], 0, dict.fromkeys([*STATUSES, *DEADLINES, "all"], 0), 1, items)
    now = clock.utcnow_naive()
    F, D, P, C = FilingApplication, Declaration, PostRequest, ItemCase
    number = func.coalesce(F.number, D.number, P.number)
    project_id = func.coalesce(F.project_id, D.project_id, P.project_id)
    enterprise_id = func.coalesce(F.enterprise_id, D.enterprise_id, P.enterprise_id)
    submitted = func.coalesce(F.submitted_at, D.submitted_at, P.submitted_at)
    # an item's statutory clock when it runs (None while paused), else the step's own time limit
    due = case((C.id.is_not(None), C.due_at), else_=HumanTask.due_at)
    overdue = or_(and_(due.is_not(None), due < now), F.overdue.is_(True), C.overdue.is_(True))
    soon = and_(~overdue, or_(and_(due.is_not(None), due < _soon_limit(now)), F.reminded.is_(True)))
    status = {"unclaimed": HumanTask.assignee.is_(None), "mine": HumanTask.assignee == user.actor}
    deadline = {"soon": soon, "overdue": overdue}

    def joined(query: Any) -> Any:
        return (query.select_from(HumanTask)
                .outerjoin(F, F.instance_id == HumanTask.instance_id)
                .outerjoin(D, D.instance_id == HumanTask.instance_id)
                .outerjoin(C, and_(C.declaration_id == D.id, C.item_code == HumanTask.scope))
                .outerjoin(P, P.instance_id == HumanTask.instance_id)
                .outerjoin(Project, Project.id == project_id)
                .outerjoin(Enterprise, Enterprise.id == enterprise_id)
                .where(*visible))

    narrowing = []
    if filters.q:
        like = f"%{filters.q}%"
        narrowing.append(or_(number.ilike(like), Project.code.ilike(like), Project.name.ilike(like),
                             HumanTask.title.ilike(like), Enterprise.name.ilike(like)))
    if filters.item == "filing":
        narrowing.append(F.id.is_not(None))
    elif filters.item == "post":
        narrowing.append(P.id.is_not(None))
    elif filters.item:
        narrowing.append(HumanTask.scope == filters.item)
    chosen = [*narrowing]
    if filters.status:
        chosen.append(status[filters.status])
    if filters.due:
        chosen.append(deadline[filters.due])

    def tally(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    counted = db.session.execute(joined(select(
        func.count(HumanTask.id), tally(and_(*chosen) if chosen else true()),
        *[tally(c) for c in status.values()], *[tally(c) for c in deadline.values()])).where(*narrowing)).one()
    counts = {"all": counted[0], **dict(zip([*status, *deadline], counted[2:], strict=True))}
    total = counted[1]
    pages = max(1, -(-total // page_size))
    filters.page = min(filters.page, pages)
    order = ([submitted.is_(None), submitted, HumanTask.id] if filters.sort == "submitted"
             else [due.is_(None), due, HumanTask.id])
    query = joined(select(HumanTask, number, Enterprise.name, Project.code, submitted, due, overdue, soon)
                   ).where(*chosen).order_by(*order).limit(page_size).offset((filters.page - 1) * page_size)
    rows = [TodoRow(task, num, applicant, code, sub, due_at, bool(late), bool(near) and not late,
                    None if task.scope else _workdays_left(due_at, now))
            for task, num, applicant, code, sub, due_at, late, near in db.session.execute(query)]
    return TodoPage(filters, rows, total, counts, pages, items)


def next_held(user: User, instance_id: int, scope: str | None = None) -> HumanTask | None:
    """The case's next reviewer step already in the user's hands (a sticky claim), to open it straight after the
    step before instead of going back to 待办."""
    query = select(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.assignee == user.actor,
                                    HumanTask.candidate_role != "applicant")
    if scope is not None:
        query = query.where(HumanTask.scope == scope)
    return db.session.scalars(query.order_by(HumanTask.id).limit(1)).first()


def department_tasks(user: User, limit: int = 500) -> list[HumanTask]:
    """本部门在办 for a department head (role dept_head): every open reviewer task of the head's department and
    region, claimed or not, soonest due first."""
    department = user.department
    if department is None or "dept_head" not in user.roles:
        return []
    query = (select(HumanTask)
             .where(HumanTask.candidate_role.in_(("acceptor", "handler")), HumanTask.department_id == department.id,
                    HumanTask.region_code == department.region_code)
             .order_by(HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.id).limit(limit))
    return list(db.session.scalars(query))


def actor_names(tasks: list[HumanTask]) -> dict[str, str]:
    """The display name of each claim holder among the tasks (actors are user ids)."""
    ids = {int(t.assignee) for t in tasks if t.assignee and t.assignee.isdigit()}
    if not ids:
        return {}
    return {u.actor: u.display_name for u in db.session.scalars(select(User).where(User.id.in_(ids))).unique()}


def notifications(user: User, limit: int = 50) -> list[Notification]:
    mine = Notification.user_id == user.id
    if user.department_id is not None:
        mine = or_(mine, and_(Notification.user_id.is_(None), Notification.department_id == user.department_id))
    return list(db.session.scalars(select(Notification).where(mine).order_by(Notification.id.desc()).limit(limit)))


def applications_by_instance(instance_ids: list[int]) -> dict[int, FilingApplication]:
    if not instance_ids:
        return {}
    rows = db.session.scalars(select(FilingApplication).where(FilingApplication.instance_id.in_(instance_ids)))
    return {a.instance_id: a for a in rows}


def history(instance_id: int) -> list[TrailEntry]:
    return list(db.session.scalars(select(TrailEntry).where(TrailEntry.instance_id == instance_id)
                                   .order_by(TrailEntry.id)))


# ---- 任务中心: 待办 / 已办 / 待阅 / 已阅 for every signed-in user ----

DONE_ACTIONS = ("complete", "refuse", "submit", "report", "withdraw", "transfer")


def applicant_todo(user: User, limit: int = 200) -> list[HumanTask]:
    """An enterprise user's tasks (e.g. the yearly progress report, a 补正), soonest due first. A legal-person account
    also gets the steps the diagram gave to a 经办人 who started the case for this enterprise (those steps are the
    enterprise's, see Runtime.shared_roles); the case's first trail entry says whom the 经办人 acted for."""
    actors = [user.actor]
    if user.kind == "enterprise" and user.enterprise_id is not None:
        actors += [str(a) for a in db.session.scalars(select(AgentAuthorization.agent_id).distinct()
                                                      .where(AgentAuthorization.enterprise_id == user.enterprise_id))]
    query = (select(HumanTask)
             .where(HumanTask.candidate_role == "applicant", HumanTask.assignee.in_(actors))
             .order_by(HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.id).limit(limit))
    tasks = list(db.session.scalars(query))
    # A 经办人's own steps are shown only while they act for the enterprise the case was started for (a revoked or
    # switched 经办人 must not keep seeing its project titles); a legal person's foreign ones are its agents'.
    check = {t.instance_id for t in tasks if t.assignee != user.actor or user.kind == "individual"}
    if check:
        for_whom = _acting_for(check)
        # an authorisation revoked since the request guard ran counts as acting for nobody
        acting = None if user.kind == "individual" and agent_scope(user) == set() else user.enterprise_id
        tasks = [t for t in tasks if for_whom.get(t.instance_id) == acting or
                 (t.assignee == user.actor and user.kind != "individual")]
    return tasks


def _acting_for(instance_ids: set[int]) -> dict[int, int | None]:
    """Per instance: the enterprise its first trail entry was made for (None: the person's own case)."""
    firsts = select(func.min(TrailEntry.id)).where(TrailEntry.instance_id.in_(instance_ids)).group_by(
        TrailEntry.instance_id)
    return {e.instance_id: (e.detail.get("acting_for") or {}).get("id") if isinstance(e.detail, dict) else None
            for e in db.session.scalars(select(TrailEntry).where(TrailEntry.id.in_(firsts)))}


def my_todo(user: User) -> list[HumanTask]:
    """Applicants: tasks assigned to them; staff: the claimable / claimed inbox of their department."""
    tasks: list[HumanTask] = []
    if "applicant" in user.roles:
        tasks.extend(applicant_todo(user))
    if user.roles - {"applicant"}:
        tasks.extend(todo(user))
    return tasks


def my_done(user: User, limit: int = 100) -> list[tuple[TrailEntry, str | None, str | None]]:
    """What I did, newest first, each with its instance's process and business key (which case it was)."""
    return [tuple(row) for row in db.session.execute(
        select(TrailEntry, Instance.process_key, Instance.business_key)
        .outerjoin(Instance, Instance.id == TrailEntry.instance_id)
        .where(TrailEntry.actor == user.actor, TrailEntry.action.in_(DONE_ACTIONS))
        .order_by(TrailEntry.id.desc()).limit(limit))]


def _addressed_to(user: User):
    """Notes to the user, or shared by the user's department (user_id NULL)."""
    mine = Notification.user_id == user.id
    if user.department_id is not None:
        mine = or_(mine, and_(Notification.user_id.is_(None), Notification.department_id == user.department_id))
    return mine


def unread(user: User, limit: int = 100) -> list[Notification]:
    return list(db.session.scalars(
        select(Notification).where(_addressed_to(user), Notification.read_at.is_(None))
        .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)))


def read(user: User, limit: int = 100) -> list[Notification]:
    return list(db.session.scalars(
        select(Notification).where(_addressed_to(user), Notification.read_at.is_not(None))
        .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)))


def unread_count(user: User) -> int:
    return db.session.scalar(select(func.count(Notification.id))
                             .where(_addressed_to(user), Notification.read_at.is_(None))) or 0


def counts(user: User) -> dict[str, int]:
    done_count = db.session.scalar(select(func.count(TrailEntry.id)).where(
        TrailEntry.actor == user.actor, TrailEntry.action.in_(DONE_ACTIONS))) or 0
    read_count = db.session.scalar(select(func.count(Notification.id))
                                   .where(_addressed_to(user), Notification.read_at.is_not(None))) or 0
    return {"todo": len(my_todo(user)), "done": done_count, "unread": unread_count(user), "read": read_count}


@use_case
def mark_read(user: User, note_id: int) -> Notification:
    """Mark one 待阅 as read. A department note (user_id NULL) is one shared row: whoever of the
    department reads it marks it read for every member, as the paper 传阅单 it replaces did."""
    note = db.session.get(Notification, note_id)
    if note is None:
        raise not_found("消息不存在")
    visible = note.user_id == user.id or (
        note.user_id is None and note.department_id is not None and note.department_id == user.department_id)
    if not visible:
        raise forbid("无权处理该消息")
    if note.read_at is None:
        note.read_at = clock.utcnow_naive()
    return note


@use_case
def mark_all_read(user: User) -> int:
    """Mark every unread note addressed to the user read (department notes for the whole department,
    see mark_read); returns how many."""
    result = db.session.execute(
        update(Notification).where(_addressed_to(user), Notification.read_at.is_(None))
        .values(read_at=clock.utcnow_naive()).execution_options(synchronize_session=False))
    return result.rowcount or 0
