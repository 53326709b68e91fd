"""Reviewer inboxes read the projection tables only: no workflow is deserialized for a list."""
from __future__ import annotations

from sqlalchemy import and_, false, func, or_, select, tuple_, update

from engine import clock
from engine.tables import HumanTask, Instance, TrailEntry

from ..extensions import db
from ..models import AgentAuthorization, FilingApplication, Notification, User
from . import forbid, not_found, use_case
from .access import agent_scope, item_permissions


def todo(user: User, limit: int = 200) -> list[HumanTask]:
    """Claimable by my role, department and region, plus everything claimed by me."""
    department = user.department
    if department is None:
        return []
    roles = [r for r in user.roles if r not in ("applicant",)]
    # Item tasks (scope = item code) need the per-item 受理/办理 permission for that role.
    permissions = [p for p in item_permissions(user) if p[1] in roles]
    item_ok = tuple_(HumanTask.scope, HumanTask.candidate_role).in_(permissions) if permissions else false()
    query = (select(HumanTask)
             .where(HumanTask.candidate_role.in_(roles), HumanTask.department_id == department.id,
                    HumanTask.region_code == department.region_code,
                    or_(HumanTask.scope.is_(None), item_ok),
                    or_(HumanTask.assignee.is_(None), HumanTask.assignee == user.actor))
             .order_by(HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.id).limit(limit))
    return list(db.session.scalars(query))


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
