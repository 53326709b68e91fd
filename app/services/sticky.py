"""Who gets a new reviewer task (the runtime's assigner, see engine.runtime.Assigner).

Sticky claim: the reviewer who last held a step of the same case, role and scope (an approval item) keeps the
next one, so 审核 → 签发 or the return of a 补正 needs no second 签收, as long as they may still handle it (role,
department, region, item permission, an active account: access.may_handle). Otherwise the task goes to the
department's pool, and the department gets one 待阅 for it.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from engine.tables import HumanTask

from ..models import User
from . import notify
from .access import may_handle

REVIEWER_ROLES = ("acceptor", "handler")
NEW_TASK_KIND = "new_task"
TODO_LINK = "/reviewer/"


def keeper(session: Session, previous: str | None, task: HumanTask) -> str | None:
    """`previous` if that person may still handle the task, else None."""
    if previous is None or not previous.isdigit():
        return None
    user = session.get(User, int(previous))
    if user is None or not user.active:
        return None
    return previous if may_handle(user, task) else None


def assign(session: Session, task: HumanTask, previous: str | None) -> str | None:
    """The runtime's assigner: the previous holder keeps the task, or the pool gets it with one 待阅."""
    holder = keeper(session, previous, task)
    if holder is None and task.candidate_role in REVIEWER_ROLES and task.department_id is not None:
        notify.to_read(session, f"【新待办】{task.title or task.name}（{task.name}）待签收", TODO_LINK, NEW_TASK_KIND,
                       department_id=task.department_id)
    return holder
