"""转办 (issue 13, 002): the reviewer who claimed a task hands it to a colleague of the same department who may
handle it — the same rule as 签收 (access.may_handle: role, department, region and, for an item, the 受理 or 办理
permission of that item), so the permission model stays one. The claim moves to the colleague; the trail records
who, from whom, to whom and why; the giver sees it in 已办, the colleague in 待办."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..extensions import db
from ..models import Notification, User, UserRole
from . import ServiceError, use_case
from .access import may_handle, reviewer_task
from .platform import runtime

NOTE_MAX = 200


def colleagues(user: User, task: Any) -> list[User]:
    """Active people of the user's department, other than the user, who could claim the task themselves."""
    department = user.department
    if department is None:
        return []
    people = db.session.scalars(
        select(User).where(User.department_id == department.id, User.active, User.id != user.id,
                           User.id.in_(select(UserRole.user_id).where(UserRole.role == task.candidate_role)))
        .order_by(User.username)).unique()
    return [p for p in people if may_handle(p, task)]


def _receiver(user: User, task: Any, raw: Any) -> User:
    text = str(raw or "").strip()
    colleague = db.session.get(User, int(text)) if text.isdigit() and len(text) <= 9 else None
    if colleague is None:
        raise ServiceError("请选择「转办给」的同事", 422, {"to_user_id": "请选择「转办给」的同事"})
    if colleague.id == user.id:
        raise ServiceError("「转办给」不能是本人", 422, {"to_user_id": "「转办给」不能是本人"})
    if not colleague.active or colleague.department_id != user.department_id:
        message = f"「转办给」{colleague.display_name}不是本部门在岗人员"
        raise ServiceError(message, 422, {"to_user_id": message})
    if not may_handle(colleague, task):
        permission = "受理" if task.candidate_role == "acceptor" else "办理"
        message = (f"「转办给」{colleague.display_name}没有该事项的{permission}权限，不能接收转办"
                   if task.scope else f"「转办给」{colleague.display_name}没有该环节的岗位")
        raise ServiceError(message, 422, {"to_user_id": message})
    return colleague


@use_case
def transfer(user: User, human_task_id: int, raw_to: Any, raw_note: Any) -> tuple[Any, User]:
    """Only the holder of the claim transfers (there is no department-head notion in the model); the note is
    required (the colleague and the trail need the why), at most NOTE_MAX characters."""
    task = reviewer_task(user, human_task_id)
    if task.assignee != user.actor:
        raise ServiceError("请先签收该任务：只有签收人可以转办", 409)
    note = str(raw_note or "").strip()
    if not note:
        raise ServiceError("请填写「转办说明」", 422, {"note": "请填写「转办说明」"})
    if len(note) > NOTE_MAX:
        message = f"「转办说明」不能超过{NOTE_MAX}字（现为{len(note)}字）"
        raise ServiceError(message, 422, {"note": message})
    colleague = _receiver(user, task, raw_to)
    task = runtime().transfer(db.session, task.id, user.actor, colleague.actor,
                              {"from_name": user.display_name, "to_name": colleague.display_name, "note": note})
    db.session.add(Notification(user_id=colleague.id, kind="result",
                                title=f"{user.display_name}将「{task.title or task.name}」（{task.name}）转办给您：{note}",
                                link=f"/reviewer/tasks/{task.id}"))
    return task, colleague
