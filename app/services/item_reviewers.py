"""Who may handle each approval item: 受理 (acceptor) / 办理 (handler) permissions per item (domain.md §10),
granted and revoked by policy staff in the browser with a reason, in the studio log like every studio change.

A new catalogue item has no reviewer until someone is granted it here: without a permission, its tasks appear in
nobody's 待办 (app.services.inbox.todo, access.may_handle)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from engine.tables import HumanTask

from ..extensions import db
from ..models import ApprovalItem, Department, Role, User, UserItemRole, UserRole
from . import ServiceError, not_found, studio_log, use_case
from .reference_tables import require_editor

AREA = "item_roles"
ITEM_ROLES = ("acceptor", "handler")
PERMISSION_LABELS = {"acceptor": "受理", "handler": "办理"}


@dataclass(frozen=True)
class ItemRow:
    item: ApprovalItem
    acceptors: int
    handlers: int


def items(q: str = "") -> list[ItemRow]:
    """Every item (sub-items after their unified item) with how many reviewers hold each permission."""
    query = select(ApprovalItem).order_by(ApprovalItem.sort, ApprovalItem.code)
    q = q.strip()
    if q:
        query = query.where(func.lower(ApprovalItem.name).contains(q.lower(), autoescape=True)
                            | func.lower(ApprovalItem.code).contains(q.lower(), autoescape=True)
                            | ApprovalItem.dept_type.contains(q, autoescape=True))
    counts: dict[tuple[str, str], int] = {
        (code, role): n for code, role, n in db.session.execute(
            select(UserItemRole.item_code, UserItemRole.role, func.count()).group_by(UserItemRole.item_code,
                                                                                   UserItemRole.role))}
    return [ItemRow(i, counts.get((i.code, "acceptor"), 0), counts.get((i.code, "handler"), 0))
            for i in db.session.scalars(query)]


def get_item(code: str) -> ApprovalItem:
    item = db.session.get(ApprovalItem, code)
    if item is None:
        raise not_found("事项不存在")
    return item


def holders(code: str) -> list[tuple[User, str]]:
    """(reviewer, role) pairs holding a permission for the item, by department then name."""
    rows = db.session.execute(select(User, UserItemRole.role).join(UserItemRole, UserItemRole.user_id == User.id)
                              .where(UserItemRole.item_code == code)
                              .order_by(User.department_id, UserItemRole.role, User.username))
    return [(user, role) for user, role in rows.unique()]


def departments(item: ApprovalItem) -> list[Department]:
    """The departments of the item's type: the ones whose reviewers may be granted it."""
    return list(db.session.scalars(select(Department).where(Department.dept_type == item.dept_type)
                                   .order_by(Department.region_code, Department.id)))


def candidates(item: ApprovalItem) -> list[User]:
    """Active users of those departments who hold 受理人员 or 办理人员 (the roles the permission refines)."""
    query = (select(User).join(Department, Department.id == User.department_id)
             .where(Department.dept_type == item.dept_type, User.active,
                    User.id.in_(select(UserRole.user_id).where(UserRole.role.in_(ITEM_ROLES))))
             .order_by(Department.region_code, User.department_id, User.username))
    return list(db.session.scalars(query).unique())


def role_names() -> dict[str, str]:
    return dict(db.session.execute(select(Role.code, Role.name).where(Role.code.in_(ITEM_ROLES))).all())


def person(user: User) -> str:
    """How the log names a reviewer: 王受理（shouli，江门市江海区发展和改革局）."""
    department = user.department.name if user.department else "无部门"
    return f"{user.display_name}（{user.username}，{department}）"


def _target(item: ApprovalItem, raw_user: Any, raw_role: Any) -> tuple[User, str]:
    """The reviewer and role a grant or revoke names; 422 naming 「人员」 or 「权限」."""
    errors: dict[str, str] = {}
    role = str(raw_role or "")
    if role not in ITEM_ROLES:
        errors["role"] = "请选择「权限」：受理或办理"
    user_id = str(raw_user or "").strip()
    user = db.session.get(User, int(user_id)) if user_id.isdigit() and len(user_id) <= 9 else None
    if user is None:
        errors["user_id"] = "请选择「人员」"
    if errors:
        raise ServiceError("授权信息有误，请按提示修改", 422, errors)
    return user, role


def _check_grantable(item: ApprovalItem, user: User, role: str) -> None:
    if user.department is None or user.department.dept_type != item.dept_type:
        message = (f"「人员」{user.display_name}不属于「{item.dept_type}」类型的部门，不能办理「{item.name}」"
                   f"（事项按主管部门类型分派到部门）")
        raise ServiceError(message, 422, {"user_id": message})
    if role not in user.roles:
        role_name = role_names().get(role, PERMISSION_LABELS[role])
        message = (f"{user.display_name}没有「{role_name}」岗位，不能授予{PERMISSION_LABELS[role]}权限"
                   f"（岗位由系统管理员设置；只能授予人员已有岗位的事项权限）")
        raise ServiceError(message, 422, {"role": message})


@use_case
def grant(actor: User, code: str, raw_user: Any, raw_role: Any, reason_raw: Any) -> tuple[User, str]:
    require_editor(actor)
    item = get_item(code)
    user, role = _target(item, raw_user, raw_role)
    _check_grantable(item, user, role)
    reason = studio_log.clean_reason(reason_raw)
    if db.session.get(UserItemRole, (user.id, item.code, role)) is not None:
        raise ServiceError(f"{user.display_name}已有「{item.name}」的{PERMISSION_LABELS[role]}权限，无需重复授权", 409)
    db.session.add(UserItemRole(user_id=user.id, item_code=item.code, role=role))
    studio_log.record(actor, AREA, item.code, "grant", reason,
                      [studio_log.diff_entry(role, f"{PERMISSION_LABELS[role]}权限", None, person(user))])
    db.session.flush()
    return user, role


@use_case
def revoke(actor: User, code: str, raw_user: Any, raw_role: Any, reason_raw: Any) -> tuple[User, str]:
    """Refused while the reviewer holds claimed, open tasks of the item in that role: nobody else could finish
    them (they are assigned to him), and he no longer could."""
    require_editor(actor)
    item = get_item(code)
    user, role = _target(item, raw_user, raw_role)
    permission = db.session.get(UserItemRole, (user.id, item.code, role))
    if permission is None:
        raise ServiceError(f"{user.display_name}没有「{item.name}」的{PERMISSION_LABELS[role]}权限", 409)
    claimed = db.session.scalar(select(func.count()).select_from(HumanTask).where(
        HumanTask.scope == item.code, HumanTask.candidate_role == role, HumanTask.assignee == user.actor)) or 0
    if claimed:
        raise ServiceError(f"{user.display_name}还有{claimed}件已签收的「{item.name}」待办，"
                           "请先办结或退回签收后再撤销其权限", 409)
    reason = studio_log.clean_reason(reason_raw)
    db.session.delete(permission)
    studio_log.record(actor, AREA, item.code, "revoke", reason,
                      [studio_log.diff_entry(role, f"{PERMISSION_LABELS[role]}权限", person(user), None)])
    db.session.flush()
    return user, role
