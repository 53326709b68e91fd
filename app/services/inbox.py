"""Reviewer inboxes read the projection tables only: no workflow is deserialized for a list."""
from __future__ import annotations

from sqlalchemy import and_, false, or_, select, tuple_

from engine.tables import HumanTask, TrailEntry

from ..extensions import db
from ..models import Declaration, FilingApplication, ItemCase, Notification, User


def todo(user: User, limit: int = 200) -> list[HumanTask]:
    """Claimable by my role, department and region, plus everything claimed by me."""
    department = user.department
    if department is None:
        return []
    roles = [r for r in user.roles if r not in ("applicant",)]
    from .approval import item_permissions

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


def done(user: User, limit: int = 100) -> list[tuple[TrailEntry, FilingApplication | None, ItemCase | None]]:
    """What I handled: the filing application or, for approval items, the item case of each step."""
    rows = db.session.execute(
        select(TrailEntry, FilingApplication, Declaration)
        .outerjoin(FilingApplication, FilingApplication.instance_id == TrailEntry.instance_id)
        .outerjoin(Declaration, Declaration.instance_id == TrailEntry.instance_id)
        .where(TrailEntry.actor == user.actor, TrailEntry.action.in_(["complete", "refuse"]))
        .order_by(TrailEntry.id.desc()).limit(limit)).all()
    wanted = {(d.id, (t.detail or {}).get("scope")) for t, _, d in rows if d is not None}
    cases = {}
    if wanted:
        ids = {w[0] for w in wanted}
        cases = {(c.declaration_id, c.item_code): c for c in db.session.scalars(
            select(ItemCase).where(ItemCase.declaration_id.in_(ids)))}
    return [(t, a, cases.get((d.id, (t.detail or {}).get("scope"))) if d is not None else None) for t, a, d in rows]



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
