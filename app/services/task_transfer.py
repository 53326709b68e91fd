"""转办 (issue 13, 002): the reviewer who claimed a task hands it to a colleague of the same department who may
handle it — the same rule as 签收 (access.may_handle: role, department, region and, for an item, the 受理 or 办理
permission of that item), so the permission model stays one. The claim moves to the colleague; the trail records
who, from whom, to whom and why; the giver sees it in 已办, the colleague in 待办. A department head (role
dept_head, access.heads) may also move any claimed task of their department, e.g. when the holder is away; the
trail then names the head as the one who did it, and the former holder is told."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine.tables import HumanTask

from ..extensions import db
from ..models import Notification, User, UserRole
from . import ServiceError, forbid, not_found, task_kinds, use_case
from .access import heads, may_handle
from .platform import runtime

NOTE_MAX = 200


def transferable_task(user: User, human_task_id: int) -> HumanTask:
    """A reviewer task the user may hand on: one they could claim (access.may_handle), or any of their department's
    when they are its head. 404 and 403 as reviewer_task."""
    task = db.session.get(HumanTask, human_task_id)
    if task is None:
        raise not_found("待办任务不存在或已办结")
    task_kinds.reviewer_kind(task)  # an applicant's task is no reviewer's to move
    if not (may_handle(user, task) or heads(user, task)):
        raise forbid("该任务不属于您的部门、地区、岗位或事项权限")
    return task


def holder_of(task: HumanTask) -> User | None:
    text = task.assignee or ""
    return db.session.get(User, int(text)) if text.isdigit() else None


def colleagues(user: User, task: Any) -> list[User]:
    """Active people of the user's department, other than the one holding the task, who could claim it."""
    department = user.department
    if department is None:
        return []
    holder = task.assignee or user.actor
    people = db.session.scalars(
        select(User).where(User.department_id == department.id, User.active, User.cancelled_at.is_(None),
                           User.id.in_(select(UserRole.user_id).where(UserRole.role == task.candidate_role)))
        .order_by(User.username)).unique()
    return [p for p in people if p.actor != holder and may_handle(p, task)]


def _receiver(user: User, task: Any, raw: Any) -> User:
    text = str(raw or "").strip()
    colleague = db.session.get(User, int(text)) if text.isdigit() and len(text) <= 9 else None
    if colleague is None:
        raise ServiceError("请选择「转办给」的同事", 422, {"to_user_id": "请选择「转办给」的同事"})
    if colleague.actor == task.assignee:
        message = ("「转办给」不能是本人" if colleague.id == user.id
                   else f"「转办给」{colleague.display_name}已是该任务的签收人")
        raise ServiceError(message, 422, {"to_user_id": message})
    if not colleague.active or colleague.cancelled_at is not None or colleague.department_id != user.department_id:
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
    """The holder of the claim, or the department head for any claimed task of the department; the note is required
    (the colleague and the trail need the why), at most NOTE_MAX characters."""
    task = transferable_task(user, human_task_id)
    if task.assignee is None:
        message = ("该任务尚未签收，无需转办：本部门有权限的人员可在待办中签收" if heads(user, task)
                   else "请先签收该任务：只有签收人可以转办")
        raise ServiceError(message, 409)
    by_head = task.assignee != user.actor
    if by_head and not heads(user, task):
        raise ServiceError("请先签收该任务：只有签收人或部门负责人可以转办", 409)
    note = str(raw_note or "").strip()
    if not note:
        raise ServiceError("请填写「转办说明」", 422, {"note": "请填写「转办说明」"})
    if len(note) > NOTE_MAX:
        message = f"「转办说明」不能超过{NOTE_MAX}字（现为{len(note)}字）"
        raise ServiceError(message, 422, {"note": message})
    colleague = _receiver(user, task, raw_to)
    holder = holder_of(task) if by_head else user
    from_name = holder.display_name if holder else str(task.assignee)
    detail = {"from_name": from_name, "to_name": colleague.display_name, "note": note}
    if by_head:
        detail["by_name"] = user.display_name
    task = runtime().transfer(db.session, task.id, task.assignee, colleague.actor, detail,
                              by=user.actor if by_head else None)
    title = f"「{task.title or task.name}」（{task.name}）"
    link = f"/reviewer/tasks/{task.id}"
    if by_head:
        db.session.add(Notification(user_id=colleague.id, kind="result", link=link,
                                    title=f"部门负责人{user.display_name}将{from_name}签收的{title}转办给您：{note}"))
        if holder is not None:
            db.session.add(Notification(user_id=holder.id, kind="result",
                                        title=f"部门负责人{user.display_name}已将您签收的{title}转办给"
                                              f"{colleague.display_name}：{note}"))
    else:
        db.session.add(Notification(user_id=colleague.id, kind="result", link=link,
                                    title=f"{user.display_name}将{title}转办给您：{note}"))
    return task, colleague
