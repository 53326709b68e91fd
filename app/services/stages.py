"""审批类 stage progression (立项 → 可研 → 初步设计, one project code) and the project's stage line.

A stage is one Declaration whose `stage` names it; its main item (项目建议书 / 可研 / 初步设计) decides
whether the next stage may be applied for. 可研 and 初步设计 start stage.bpmn, whose first step is 信息确认.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import case as sql_case
from sqlalchemy import select

from ..domain.money import amount_text
from ..domain.stages import APPROVAL_STAGES
from ..extensions import db
from ..models import ApprovalItem, Declaration, ItemCase, Project, User
from . import ServiceError, jsonable, use_case
from .platform import runtime, validate

STAGE_PROCESS = "stage_application"
CONFIRM_TASK = "confirm_info"
CONFIRM_FIELDS = (("scale_content", "建设规模及内容"), ("planned_start", "计划开工时间"),
                  ("planned_end", "计划竣工时间"), ("total_investment", "总投资（万元）"))
# 政府投资条例 art 12: a 初步设计 概算 more than 10% over the approved 可研 估算 must be reported.
OVERRUN_LIMIT = Decimal("0.10")

STEP_LABELS = {"done": "已批复", "refused": "未获批复", "handling": "办理中", "declaring": "申报中",
               "next": "可申请", "locked": "未开始"}


@dataclass(frozen=True)
class StageStep:
    stage: str
    item_code: str
    item_name: str
    state: str  # done | refused | handling | declaring | next | locked
    declaration: Declaration | None
    case: ItemCase | None

    @property
    def label(self) -> str:
        return STEP_LABELS[self.state]


def _main_cases(project: Project) -> dict[str, tuple[Declaration, ItemCase | None]]:
    """Per stage, the latest declaration and its main item case."""
    codes = dict(APPROVAL_STAGES)
    main_item = sql_case(codes, value=Declaration.stage)
    rows = db.session.execute(
        select(Declaration, ItemCase).outerjoin(ItemCase, (ItemCase.declaration_id == Declaration.id)
                                                & (ItemCase.item_code == main_item))
        .where(Declaration.project_id == project.id, Declaration.stage.in_(list(codes)))
        .order_by(Declaration.id)).all()
    return {declaration.stage: (declaration, item_case) for declaration, item_case in rows}  # the latest wins


def stage_line(project: Project) -> list[StageStep]:
    """立项 → 可研 → 初步设计 with each stage's state; empty for projects that are not 审批类."""
    if project.kind != "approval":
        return []
    names = dict(db.session.execute(select(ApprovalItem.code, ApprovalItem.name)
                                    .where(ApprovalItem.code.in_([c for _, c in APPROVAL_STAGES]))).all())
    latest = _main_cases(project)
    steps: list[StageStep] = []
    previous_done = True
    for stage, code in APPROVAL_STAGES:
        declaration, case = latest.get(stage, (None, None))
        if case is not None and case.status == "approved":
            state = "done"
        elif declaration is not None and declaration.status != "completed":
            state = "handling" if declaration.submitted_at else "declaring"
        elif declaration is not None:
            state = "refused"
        else:
            state = "next" if previous_done else "locked"
        steps.append(StageStep(stage, code, names.get(code, code), state, declaration, case))
        previous_done = state == "done"
    return steps


def next_stage(project: Project) -> str | None:
    """The stage the applicant may declare now: the first one not yet approved, in order."""
    for step in stage_line(project):
        if step.state != "done":
            return step.stage
    return None


def approved_before(project_id: int, exclude: int | None = None) -> dict[str, ItemCase]:
    """Items already approved on the platform for this project (outside declaration `exclude`), by code:
    reused, never asked again (发改投资〔2019〕268号)."""
    query = select(ItemCase).join(Declaration, ItemCase.declaration_id == Declaration.id).where(
        Declaration.project_id == project_id, ItemCase.status == "approved").order_by(ItemCase.decided_at)
    if exclude is not None:
        query = query.where(Declaration.id != exclude)
    return {case.item_code: case for case in db.session.scalars(query)}


# ---- 信息确认 --------------------------------------------------------------------------------------
def confirm_defaults(declaration: Declaration) -> dict[str, Any]:
    project = declaration.project
    return {"scale_content": project.scale_content, "planned_start": project.planned_start.isoformat(),
            "planned_end": project.planned_end.isoformat(),
            "total_investment": format(project.total_investment.normalize(), "f")}


def feasibility_estimate(project: Project) -> Decimal | None:
    """The 总投资 confirmed for the approved 可研 stage (its 投资估算)."""
    declaration, case = _main_cases(project).get("可研", (None, None))
    if declaration is None or case is None or case.status != "approved" or not declaration.confirmation:
        return None
    return Decimal(declaration.confirmation["total_investment"])


def budget_overrun(declaration: Declaration, budget: Decimal) -> dict[str, str] | None:
    if declaration.stage != "初步设计":
        return None
    estimate = feasibility_estimate(declaration.project)
    if not estimate or budget <= estimate * (1 + OVERRUN_LIMIT):
        return None
    percent = (budget / estimate - 1) * 100
    # as people read amounts: 58,000 (domain.money), in the message and on the confirmation shown to reviewers
    return {"estimate": amount_text(estimate), "budget": amount_text(budget),
            "percent": f"{percent:.1f}"}


def _shown(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


@use_case
def confirm(user: User, declaration_id: int, raw: dict[str, Any]) -> Declaration:
    """信息确认: the basic information as the applicant confirms it for this stage; changes are kept
    before → after on the declaration and applied to the project."""
    from .access import current_step, own_declaration

    declaration = own_declaration(user, declaration_id)
    task = current_step(declaration, CONFIRM_TASK, "当前不在信息确认环节")
    _, values = validate("stage_confirm", raw, declaration.instance_id)
    overrun = budget_overrun(declaration, values["total_investment"])
    note = (values.get("overrun_note") or "").strip()
    if overrun and not note:
        raise ServiceError("初步设计概算超过可研估算10%，须说明情况", 422, {"overrun_note": (
            f"初步设计概算{overrun['budget']}万元超过可研批复估算{overrun['estimate']}万元的10%"
            f"（超出{overrun['percent']}%）。依《政府投资条例》第十二条应向投资主管部门报告，"
            "请填写「概算超估算情况说明」；审批部门可能要求重新报送可行性研究报告")})
    runtime().complete(db.session, task.instance_id, task.task_id, user.actor, raw)
    project = declaration.project
    changes = []
    for field, label in CONFIRM_FIELDS:
        before, after = getattr(project, field), values[field]
        if _shown(before) != _shown(after):
            changes.append({"field": field, "label": label, "before": _shown(before), "after": _shown(after)})
            setattr(project, field, after)
    declaration.confirmation = {
        "changes": changes, "total_investment": _shown(values["total_investment"]),
        "overrun": {**overrun, "note": note} if overrun else None,
        "confirmed_by": user.display_name, "values": jsonable({k: values[k] for k, _ in CONFIRM_FIELDS})}
    return declaration


# ---- the project page ------------------------------------------------------------------------------
WORKS_STAGES = ("立项用地规划许可", "工程建设许可", "施工许可", "竣工验收")  # 工程建设项目审批制度改革


def declarations_of(project: Project) -> list[Declaration]:
    return list(db.session.scalars(select(Declaration).where(Declaration.project_id == project.id)
                                   .order_by(Declaration.id)))


def items_by_works_stage(project: Project) -> list[tuple[str, list[ItemCase]]]:
    """Each item the project has declared, its latest case, under the four 工改 stages."""
    latest: dict[str, ItemCase] = {}
    rows = db.session.scalars(select(ItemCase).join(Declaration, ItemCase.declaration_id == Declaration.id)
                              .where(Declaration.project_id == project.id).order_by(ItemCase.id))
    for case in rows:
        if case.skipped and case.item_code in latest:
            continue  # a reused approval (or an item marked not needed later): the earlier case tells more
        latest[case.item_code] = case
    return [(stage, [c for c in latest.values() if c.item.stage == stage]) for stage in WORKS_STAGES]
