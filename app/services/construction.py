"""报建: after the project's main approval (审批 立项, 核准 or 备案) the enterprise chooses items of several
departments (规划许可, 施工许可, 竣工验收 …) and submits them at once; each is handled as an approval item
(processes/construction.bpmn → item.bpmn)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from ..domain.stages import BUILD_STAGE, MAIN_ITEMS
from ..extensions import db
from ..models import SKIPPED_CASES, ApprovalItem, Declaration, ItemCase, Permit, Project, User
from . import ServiceError, forbid, lock_project, stages, use_case
from .access import require_project
from .platform import runtime, validate

BUILD_PROCESS = "construction_application"
CHOOSE_TASK = "choose_items"
# An item that can only follow another one's approval (竣工验收 needs the building permit first).
REQUIRES = {"completion_filing": "construction_permit"}


def build_refusal(project: Project) -> str | None:
    """Why 报建 is not open yet for the project, or None when it is."""
    if project.kind == "approval":
        return None if "proposal" in stages.approved_before(project.id) else "审批类项目须在项目建议书（立项）批复后办理报建"
    from .permits import effective_status

    permit = db.session.scalar(select(Permit).where(Permit.project_id == project.id).order_by(Permit.id.desc()))
    word = "备案证" if project.kind == "filing" else "核准文件"
    if permit is None:
        return f"取得{word}后方可办理报建"
    if effective_status(permit) != "valid":
        return f"该项目的{word}{permit.status_label if permit.status != 'valid' else '已失效'}，不能办理报建"
    return None


def open_build(project: Project) -> Declaration | None:
    return db.session.scalar(select(Declaration).where(Declaration.project_id == project.id,
                                                       Declaration.stage == BUILD_STAGE,
                                                       Declaration.status != "completed"))


@use_case
def start(user: User, project_id: int) -> Declaration:
    from .approval import open_declaration

    project = db.session.get(Project, project_id)
    if project is None or project.enterprise_id != user.enterprise_id:
        raise forbid("无权为其他单位的项目办理报建")
    require_project(user, project.id)  # a 经办人 with 指定项目 (issue 13)
    lock_project(project.id)  # two clicks at once: the second waits, then continues the first's 报建
    busy = open_build(project)
    if busy is not None:
        return busy  # one open 报建 per project: continue it
    reason = build_refusal(project)
    if reason:
        raise ServiceError(reason, 409)
    return open_declaration(user, project, BUILD_STAGE, BUILD_PROCESS)


@dataclass(frozen=True)
class BuildOption:
    item: ApprovalItem
    state: str  # available | approved (on the platform) | handling (in another declaration) | blocked
    note: str  # the 文号 of an approval, the declaration handling it, or what must come first


def options(declaration: Declaration) -> list[tuple[str, list[BuildOption]]]:
    """Every item the project may choose, under its 工改 stage, with what the platform already knows."""
    project = declaration.project
    approved = stages.approved_before(project.id, exclude=declaration.id)
    handling = {c.item_code: c for c in db.session.scalars(
        select(ItemCase).join(Declaration, ItemCase.declaration_id == Declaration.id).where(
            Declaration.project_id == project.id, Declaration.id != declaration.id,
            Declaration.status != "completed",
            ItemCase.status.notin_((*SKIPPED_CASES, "refused", "not_accepted"))))}
    items = db.session.scalars(select(ApprovalItem).where(ApprovalItem.active, ApprovalItem.parent_code.is_(None),
                                                          ApprovalItem.code.notin_(MAIN_ITEMS))
                               .order_by(ApprovalItem.sort, ApprovalItem.code))
    grouped: dict[str, list[BuildOption]] = {stage: [] for stage in stages.WORKS_STAGES}
    for item in items:
        if project.kind not in item.kinds:
            continue
        if item.code in approved:
            option = BuildOption(item, "approved", (approved[item.code].decision or {}).get("doc_number", ""))
        elif item.code in handling:
            option = BuildOption(item, "handling", handling[item.code].declaration.number)
        elif item.code in REQUIRES and REQUIRES[item.code] not in approved:
            option = BuildOption(item, "blocked", f"须先取得「{_name(REQUIRES[item.code])}」")
        else:
            option = BuildOption(item, "available", "")
        grouped.setdefault(item.stage, []).append(option)
    return [(stage, rows) for stage, rows in grouped.items() if rows]


def _name(code: str) -> str:
    item = db.session.get(ApprovalItem, code)
    return item.name if item else code


@use_case
def choose(user: User, declaration_id: int, raw: dict[str, Any]) -> Declaration:
    from .access import current_step, own_declaration

    declaration = own_declaration(user, declaration_id)
    task = current_step(declaration, CHOOSE_TASK, "当前不在选择报建事项环节")
    _, values = validate("construction_items", raw, declaration.instance_id)
    allowed = {o.item.code: o for _, rows in options(declaration) for o in rows}
    problems = []
    for code in values["items"]:
        option = allowed.get(code)
        if option is None:
            problems.append(f"「{_name(code)}」不适用于{declaration.kind_label}项目")
        elif option.state == "approved":
            problems.append(f"「{option.item.name}」已在本平台办结（{option.note}），无需重复申报")
        elif option.state == "handling":
            problems.append(f"「{option.item.name}」正在办理中（{option.note}）")
        elif option.state == "blocked":
            problems.append(f"「{option.item.name}」{option.note}后方可申报")
    if problems:
        raise ServiceError("所选报建事项有误", 422, {"items": "；".join(problems)})
    runtime().complete(db.session, task.instance_id, task.task_id, user.actor, {"items": values["items"]})
    return declaration
