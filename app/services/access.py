"""Who may see and act on which case and task: the access rules every use case shares.

Below the use-case modules (approval, filing, post_requests, stages, construction, uploads …) so they all
check access in one way without importing each other.
"""
from __future__ import annotations

from typing import TypeVar

from sqlalchemy import select

from engine import clock
from engine.tables import HumanTask

from ..extensions import db
from ..models import AgentAuthorization, Declaration, ItemCase, Project, Region, User, UserItemRole
from . import ServiceError, forbid, not_found, task_kinds

R = TypeVar("R")


def grant_in_force(user: User, enterprise_id: int) -> AgentAuthorization | None:
    """The 经办人's authorisation by that enterprise that holds now (the newest, if ever several)."""
    now = clock.utcnow_naive()
    return next((g for g in db.session.scalars(select(AgentAuthorization).where(
        AgentAuthorization.agent_id == user.id, AgentAuthorization.enterprise_id == enterprise_id,
        AgentAuthorization.revoked_at.is_(None)).order_by(AgentAuthorization.id.desc())) if g.in_force(now)), None)


def agent_scope(user: User) -> set[int] | None:
    """The projects a 经办人 (kind individual) may see and act on for the enterprise they act for: None when all
    (a legal person, staff, or an authorisation of scope 全部项目); an empty set when no authorisation is in force
    (the request guard clears enterprise_id first, this keeps a service called any other way just as strict)."""
    if user.kind != "individual" or user.enterprise_id is None:
        return None
    grant = grant_in_force(user, user.enterprise_id)
    if grant is None:
        return set()
    return None if grant.scope == "all" else {int(p) for p in grant.project_ids or []}


def require_project(user: User, project_id: int, what: str = "项目") -> None:
    """403 when a 经办人 with 指定项目 is outside the projects the legal person named."""
    scope = agent_scope(user)
    if scope is not None and project_id not in scope:
        raise forbid(f"您的经办授权不包括该{what}所属的项目，请联系企业法人")


def oversight_regions(user: User) -> set[str] | None:
    """The regions policy and supervision staff oversee: their unit's region and every region under it (a city
    unit: the city and its counties); None: all (the system administrator, a provincial unit). A user of no unit
    oversees nothing."""
    if "admin" in user.roles:
        return None
    department = user.department
    if department is None:
        return set()
    if department.level == "province":
        return None
    return regions_under(department.region_code)


def regions_under(code: str) -> set[str]:
    """A region and every region below it (a city: the city and its counties)."""
    codes, frontier = {code}, {code}
    while frontier:  # a handful of levels (province → city → county): one query per level
        frontier = set(db.session.scalars(select(Region.code).where(Region.parent_code.in_(frontier)))) - codes
        codes |= frontier
    return codes


def owned(user: User, model: type[R], row_id: int, what: str) -> R:
    """A row of the user's own enterprise (a declaration, a filing, a project, a permit …): 404 when it does not
    exist, 403 when it is another unit's or (a 经办人 with 指定项目) another project's; a user of no enterprise owns
    nothing."""
    row = db.session.get(model, row_id)
    if row is None:
        raise not_found(f"{what}不存在")
    if user.enterprise_id is None or row.enterprise_id != user.enterprise_id:  # type: ignore[attr-defined]
        raise forbid(f"无权查看其他单位的{what}")
    require_project(user, row.id if model is Project else row.project_id, what)  # type: ignore[attr-defined]
    return row


def own_declaration(user: User, declaration_id: int) -> Declaration:
    return owned(user, Declaration, declaration_id, "事项申报")


def editable_case(user: User, declaration_id: int, item_code: str) -> tuple[Declaration, ItemCase]:
    declaration = own_declaration(user, declaration_id)
    current_step(declaration, "submit", "申报已提交，不能再修改事项")
    return declaration, case_in(declaration.id, item_code)


def case_in(declaration_id: int, item_code: str) -> ItemCase:
    case = db.session.scalar(select(ItemCase).where(ItemCase.declaration_id == declaration_id,
                                                    ItemCase.item_code == item_code))
    if case is None:
        raise not_found("该事项不在本次申报中")
    return case


def applicant_task(declaration: Declaration, bpmn_id: str, scope: str | None = None) -> HumanTask | None:
    query = select(HumanTask).where(HumanTask.instance_id == declaration.instance_id, HumanTask.bpmn_id == bpmn_id)
    if scope is not None:
        query = query.where(HumanTask.scope == scope)
    return db.session.scalar(query)


def current_step(declaration: Declaration, bpmn_id: str, refusal: str) -> HumanTask:
    """The applicant's task the request is for; 409 with `refusal` when the declaration is elsewhere."""
    task = applicant_task(declaration, bpmn_id)
    if task is None:
        raise ServiceError(refusal, 409)
    task_kinds.require(task, task_kinds.DECLARING)  # the applicant's own step, never a reviewer's
    return task


def applicant_tasks(declaration: Declaration) -> list[HumanTask]:
    if declaration.instance_id is None:
        return []
    return list(db.session.scalars(select(HumanTask).where(HumanTask.instance_id == declaration.instance_id,
                                                           HumanTask.candidate_role == "applicant")))


def supplement_task(declaration: Declaration, item_code: str) -> HumanTask | None:
    return db.session.scalar(select(HumanTask).where(
        HumanTask.instance_id == declaration.instance_id, HumanTask.scope == item_code,
        HumanTask.bpmn_id.in_(["supplement_accept", "supplement_handling"])))


def item_permissions(user: User) -> set[tuple[str, str]]:
    """(item code, role) pairs a reviewer holds: 受理人员 / 办理人员 per item (domain.md §10)."""
    return {(r.item_code, r.role) for r in db.session.scalars(select(UserItemRole).where(UserItemRole.user_id == user.id))}


def may_handle(user: User, task: HumanTask, permissions: set[tuple[str, str]] | None = None) -> bool:
    """Role, department and region; item tasks also need the item permission for that role."""
    department = user.department
    if department is None or task.candidate_role not in user.roles:
        return False
    if task.department_id != department.id or task.region_code != department.region_code:
        return False
    if task.scope is None:
        return True
    return (task.scope, task.candidate_role) in (item_permissions(user) if permissions is None else permissions)


def heads(user: User, task: HumanTask) -> bool:
    """A department head (role dept_head) oversees every reviewer task of their own department and region."""
    department = user.department
    return ("dept_head" in user.roles and department is not None and task.department_id == department.id
            and task.region_code == department.region_code)


def reviewer_task(user: User, human_task_id: int) -> HumanTask:
    """A reviewer's task the user may act on: one rule for every kind (role, department, region, item)."""
    task = db.session.get(HumanTask, human_task_id)
    if task is None:
        raise not_found("待办任务不存在或已办结")
    task_kinds.reviewer_kind(task)  # an applicant's task is no reviewer's, whatever their role
    if not may_handle(user, task):
        raise forbid("该任务不属于您的部门、地区、岗位或事项权限")
    return task


def case_for_reviewer(user: User, case_id: int) -> ItemCase:
    case = db.session.get(ItemCase, case_id)
    if case is None:
        raise not_found("办件不存在")
    department = user.department
    if department is None or case.department_id != department.id:
        raise forbid("该办件不属于您的部门")
    if not any(code == case.item_code for code, _ in item_permissions(user)):
        raise forbid("您没有该事项的受理或办理权限")
    return case


def declaration_id_of(business_key: str | None) -> int | None:
    """The declaration behind an instance or task ("declaration:<id>"), or None for other processes."""
    if business_key and business_key.startswith("declaration:"):
        return int(business_key.split(":", 1)[1])
    return None


def cases_for_tasks(tasks: list[HumanTask]) -> dict[int, ItemCase]:
    """The item case behind each approval-item task, by task id (one query)."""
    keys = {t.id: (declaration_id_of(t.business_key), t.scope) for t in tasks}
    keys = {task_id: key for task_id, key in keys.items() if key[0] is not None and key[1]}
    if not keys:
        return {}
    rows = db.session.scalars(select(ItemCase).where(ItemCase.declaration_id.in_({k[0] for k in keys.values()})))
    by_key = {(c.declaration_id, c.item_code): c for c in rows}
    return {task_id: by_key[key] for task_id, key in keys.items() if key in by_key}


def case_of_task(task: HumanTask) -> ItemCase | None:
    return cases_for_tasks([task]).get(task.id)
