"""Which kind of task a human task is, from its business key, scope and role: what a use case checks before it
completes one (issue 11 §2.2: the 备案 route completed an approval item's step).

Only the classification lives here, below every use case. The routes, pages and services of each kind are in
the case-kind registry (app/case_kinds.py), which the routes dispatch on.
"""
from __future__ import annotations

from engine.tables import HumanTask

from . import ServiceError

FILING = "filing"  # 备案: 受理 / 审核 / 签发
REQUEST = "request"  # 变更 / 延期 of an issued permit: 受理 / 审核 / 签发 or 审核决定
ITEM = "item"  # one approval item of a declaration: 受理 / 办理 / 办结 (/reviewer/cases/…)
FILL = "filing_fill"  # the applicant's 备案 form
DECLARING = "declaring"  # the applicant's 问卷 / 信息确认 / 选择事项 / 上传材料并提交
SUPPLEMENT = "supplement"  # the applicant's 补正 of one item
PROGRESS = "progress"  # the applicant's 项目进展 reminders (answered from the progress page)

LABELS = {FILING: "备案办件", REQUEST: "变更/延期申请", ITEM: "审批事项办件", FILL: "企业填报备案信息",
          DECLARING: "企业事项申报", SUPPLEMENT: "企业补正材料", PROGRESS: "企业项目进展填报"}
REVIEWER_KINDS = frozenset({FILING, REQUEST, ITEM})

# business-key prefix → (reviewer's kind, applicant's kind)
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


def reviewer_kind(task: HumanTask) -> str:
    """The kind of a reviewer's task; an applicant's task is not found on a reviewer route."""
    key = key_of(task)
    if key not in REVIEWER_KINDS:
        raise ServiceError("待办任务不存在：该任务不是审查人员的待办", 404)
    return key


def require(task: HumanTask, *wanted: str) -> str:
    """The task must be of one of the `wanted` kinds; refused before anything is written otherwise."""
    key = key_of(task)
    if key in wanted:
        return key
    if wanted[0] in REVIEWER_KINDS and key not in REVIEWER_KINDS:
        raise ServiceError("待办任务不存在：该任务不是审查人员的待办", 404)
    what = LABELS[key] if key else "其他业务"
    raise ServiceError(f"该任务属于{what}，不能在此办理（此处只办理{'、'.join(LABELS[k] for k in wanted)}），"
                       "请从待办列表进入其办理页面", 409)
