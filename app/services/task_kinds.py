"""Which kind of case a human task belongs to, and which route and service complete it.

One lookup: the business key the starting service gave the instance ("filing:<id>", "declaration:<id>",
"post:<id>", "permit:<id>") and, within a declaration, whether the task is an item's step (its scope is the
item code) and whose it is. Routes dispatch on this table instead of picking a service by elimination
(issue 11 §2.2: the 备案 route completed an approval item's step); the services check it again, so no
route can bypass it. Deliberately small: the structural registry of case kinds is the studio issue (12).
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.tables import HumanTask

from . import ServiceError

FILING = "filing"  # 备案: 受理 / 审核 / 签发
REQUEST = "request"  # 变更 / 延期 of an issued permit: 受理 / 审核 / 签发 or 审核决定
ITEM = "item"  # one approval item of a declaration: 受理 / 办理 / 办结 (/reviewer/cases/…)
FILL = "filing_fill"  # the applicant's 备案 form
DECLARING = "declaring"  # the applicant's 问卷 / 信息确认 / 选择事项 / 上传材料并提交
SUPPLEMENT = "supplement"  # the applicant's 补正 of one item
PROGRESS = "progress"  # the applicant's 项目进展 reminders (answered from the progress page)


@dataclass(frozen=True)
class TaskKind:
    key: str
    label: str  # named in refusals
    reviewer: bool  # a reviewer's step (else the applicant's)
    routes: tuple[str, ...]  # the endpoints that complete it
    page: str  # the endpoint of its page, with page_args(task)
    page_args: Callable[[HumanTask], dict[str, int]]
    complete: Callable[..., Any] | None = None  # service (user, human_task_id, raw) for reviewer steps


def _key_id(task: HumanTask) -> int:
    return int((task.business_key or ":0").split(":", 1)[1])


@functools.cache
def table() -> dict[str, TaskKind]:
    # Imported here: these services import this module for `require`.
    from . import approval, filing, post_requests

    def case_id(task: HumanTask) -> dict[str, int]:
        case = approval.case_of_task(task)
        if case is None:
            raise ServiceError("办件不存在", 404)
        return {"case_id": case.id}

    def own_page(task: HumanTask) -> dict[str, int]:
        return {"task_id": task.id}

    def declaration(task: HumanTask) -> dict[str, int]:
        return {"declaration_id": _key_id(task)}

    return {k.key: k for k in (
        TaskKind(FILING, "备案办件", True, ("reviewer.complete",), "reviewer.task", own_page, filing.complete_step),
        TaskKind(REQUEST, "变更/延期申请", True, ("reviewer.complete",), "reviewer.task", own_page,
                 post_requests.complete_step),
        TaskKind(ITEM, "审批事项办件", True, ("cases.complete",), "cases.show", case_id, approval.complete_item_step),
        TaskKind(FILL, "企业填报备案信息", False, ("enterprise.filing_form",), "enterprise.filing_detail",
                 lambda t: {"application_id": _key_id(t)}),
        TaskKind(DECLARING, "企业事项申报", False, ("declarations.answer", "declarations.confirm", "declarations.choose",
                                                    "declarations.submit"), "declarations.show", declaration),
        TaskKind(SUPPLEMENT, "企业补正材料", False, ("declarations.supplement",), "declarations.show", declaration),
        TaskKind(PROGRESS, "企业项目进展填报", False, ("permits.progress",), "permits.progress_for_task",
                 lambda t: {"instance_id": t.instance_id}),
    )}


_BY_PREFIX = {"filing": (FILING, FILL), "post": (REQUEST, None), "permit": (None, PROGRESS)}


def key_of(task: HumanTask) -> str | None:
    prefix = (task.business_key or "").split(":", 1)[0]
    applicant = task.candidate_role == "applicant"
    if prefix == "declaration":
        if task.scope:
            return SUPPLEMENT if applicant else ITEM
        return DECLARING if applicant else None
    reviewer_kind, applicant_kind = _BY_PREFIX.get(prefix, (None, None))
    return applicant_kind if applicant else reviewer_kind


def kind_of(task: HumanTask) -> TaskKind | None:
    key = key_of(task)
    return table()[key] if key else None


def reviewer_kind(task: HumanTask) -> TaskKind:
    """The kind of a reviewer's task; an applicant's task is not found on a reviewer route."""
    kind = kind_of(task)
    if kind is None or not kind.reviewer:
        raise ServiceError("待办任务不存在：该任务不是审查人员的待办", 404)
    return kind


def served_by(task: HumanTask, route: str) -> TaskKind:
    """The task's kind if `route` completes it; refused before anything is written otherwise."""
    return _check(task, [k for k in table().values() if route in k.routes])


def require(task: HumanTask, key: str) -> TaskKind:
    """The same check inside a service: the task must be of the kind the service completes."""
    return _check(task, [table()[key]])


def _check(task: HumanTask, wanted: list[TaskKind]) -> TaskKind:
    kind = kind_of(task)
    if kind in wanted:
        return kind
    if wanted[0].reviewer and (kind is None or not kind.reviewer):
        raise ServiceError("待办任务不存在：该任务不是审查人员的待办", 404)
    what = kind.label if kind is not None else "其他业务"
    raise ServiceError(f"该任务属于{what}，不能在此办理（此处只办理{'、'.join(k.label for k in wanted)}），"
                       "请从待办列表进入其办理页面", 409)
