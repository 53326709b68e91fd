"""Reviewer pages of one approval item (办件): project basics, materials (viewed in the page), the other departments'
progress, clock, 办理记录, the step in my hands and a preview of the document it would issue."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from engine.tables import HumanTask, TrailEntry

from ..domain import material_rules
from ..domain.tender import tender_defaults
from ..extensions import db
from ..models import Declaration, FilingApplication, ItemCase, Project
from ..services import (
    ServiceError,
    access,
    approval,
    code_check,
    documents,
    filing,
    forbid,
    inbox,
    trail_view,
    uploads,
)
from ..services.drafting import decision_defaults
from ..services.platform import choices, forms_of_instance
from . import role_required

bp = Blueprint("cases", __name__, url_prefix="/reviewer/cases")
REVIEWER_ROLES = ("acceptor", "handler")
DECIDE_FORMS = ("item_decide", "item_decide_tender")


def _wan(value: Any) -> str:
    """An amount in 万元 as people write it: 1100.0000 → 「1,100 万元」, 12.5 → 「12.5 万元」."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value or "—")
    text = f"{number:,.4f}".rstrip("0").rstrip(".")
    return f"{text} 万元"


def project_basics(project: Project, draft: dict | None = None, answers: dict | None = None) -> list[tuple[str, str]]:
    """What a decision needs to know about the project, beside the materials: 建设规模及内容, 建设地点, 总投资 and
    its composition, 计划开工/竣工. `draft`: a filing's form (its investment figures); `answers`: a declaration's
    questionnaire (总投资 as declared, 其中国有资金)."""
    draft, answers = draft or {}, answers or {}
    rows = [("建设规模及内容", project.scale_content or "—"), ("建设地点", project.location),
            ("总投资", _wan(draft.get("total_investment") or project.total_investment))]
    parts = [(label, draft.get(name)) for name, label in (
        ("fixed_assets", "固定资产投资"), ("civil_investment", "其中土建、公用工程及其他"),
        ("equipment_investment", "其中设备及技术"), ("capital", "项目资本金"))]
    funds = [(label, draft.get(name)) for name, label in (
        ("own_funds", "自有资金"), ("domestic_loans", "国内贷款"), ("securities", "股票(债券)"),
        ("other_funds", "其他资金"))]
    composition = "；".join(f"{label} {_wan(v)}" for label, v in parts if v not in (None, ""))
    if composition:
        rows.append(("投资构成", composition))
    sources = "；".join(f"{label} {_wan(v)}" for label, v in funds if v not in (None, ""))
    if sources:
        rows.append(("资金来源", sources))
    if answers.get("total_investment") not in (None, ""):
        declared = f"总投资 {_wan(answers['total_investment'])}"
        if answers.get("state_funds") not in (None, ""):
            declared += f"，其中国有资金 {_wan(answers['state_funds'])}"
        rows.append(("申报问卷填报", declared))
    start, end = draft.get("planned_start") or project.planned_start, draft.get("planned_end") or project.planned_end
    rows.append(("计划开工 / 竣工", f"{start} 至 {end}"))
    return rows


@bp.app_template_global("filing_basics")
def filing_basics(application: FilingApplication) -> list[tuple[str, str]]:
    """The basics of a 备案 (reviewer/task.html): from the submitted filing form."""
    return project_basics(application.project, draft=application.draft)


@bp.app_template_global("trail_groups")
def trail_groups(history: list[TrailEntry]) -> list[trail_view.TrailGroup]:
    """_timeline.html on pages that pass the raw trail: the enriched, per-item grouped 办理记录 of its instance
    (an applicant without internal lines)."""
    instance_id = next((h.instance_id for h in history if h.instance_id is not None), None)
    if instance_id is None:
        return []
    cases = list(db.session.scalars(select(ItemCase).join(Declaration, Declaration.id == ItemCase.declaration_id)
                                    .where(Declaration.instance_id == instance_id).order_by(ItemCase.id)))
    applicant = "applicant" in current_user.roles if current_user.is_authenticated else True
    return trail_view.grouped(instance_id, cases, for_applicant=applicant)


def _my_task(case) -> HumanTask | None:
    tasks = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == case.declaration.instance_id,
                                                       HumanTask.scope == case.item_code,
                                                       HumanTask.candidate_role != "applicant"))
    permissions = access.item_permissions(current_user)
    return next((t for t in tasks if access.may_handle(current_user, t, permissions)), None)


def _page(case_id: int, errors: dict | None = None, values: dict | None = None, status: int = 200):
    case = access.case_for_reviewer(current_user, case_id)
    declaration = case.declaration
    task = _my_task(case)
    attachments = uploads.declaration_attachments(declaration.id)
    verification = code_check.of_declaration(declaration) if task and task.form_key == "item_accept" else None
    forms = forms_of_instance(declaration.instance_id)  # an open case keeps the forms its version has
    cases = list(db.session.scalars(select(ItemCase).where(ItemCase.declaration_id == declaration.id)
                                    .order_by(ItemCase.id)))
    return render_template(
        "reviewer/case.html", case=case, declaration=declaration, task=task, verification=verification,
        form=forms.get(task.form_key) if task else None, errors=errors or {}, choices=choices,
        correctable=_correctable(case) if task and task.form_key in ("item_accept", "item_review") else [],
        values=values if values is not None else _first_values(case, task),
        attachments=[a for a in attachments if a.item_code in (case.item_code, None)],
        questions=forms.get("declaration_questions"),
        item_names={c.item_code: c.item_name for c in cases},
        basics=project_basics(declaration.project, answers=declaration.answers),
        others=[c for c in cases if c.id != case.id and not c.skipped],
        preview=task is not None and task.assignee == current_user.actor and task.form_key in DECIDE_FORMS,
        timeline=trail_view.grouped(declaration.instance_id, cases, only_item=case.item_code)), status


def _correctable(case: ItemCase) -> list:
    """The materials a 补正 may ask for: the item's list without those the answers rule out (不需要)."""
    views = next((row.materials for row in approval.materials_for(case.declaration) if row.case.id == case.id), [])
    return [v.material for v in views if v.outcome.status != material_rules.NOT_NEEDED]


def _first_values(case: ItemCase, task: HumanTask | None) -> dict[str, Any]:
    """A first view of a 办结 step starts from the usual title and the department's next 文号 (services.drafting)
    and, with 招标核准, from the tender the answers call for (domain.tender)."""
    if task is None or task.form_key not in DECIDE_FORMS:
        return {}
    values: dict[str, Any] = decision_defaults(case)
    if task.form_key == "item_decide_tender":
        values.update(tender_defaults(case.declaration.answers))
    return values


@bp.route("/<int:case_id>")
@role_required(*REVIEWER_ROLES)
def show(case_id: int):
    return _page(case_id)


@bp.route("/<int:case_id>/tasks/<int:task_id>/complete", methods=["POST"])
@role_required(*REVIEWER_ROLES)
def complete(case_id: int, task_id: int):
    raw = request.form.to_dict()
    raw.pop("csrf_token", None)
    raw["missing_material"] = request.form.getlist("missing_material")
    try:  # complete_item_step refuses (409) a task of another kind or of another case, before writing
        case = approval.complete_item_step(current_user, task_id, raw, case_id=case_id)
    except ServiceError as exc:
        if exc.status == 422:
            return _page(case_id, exc.errors, raw, 422)
        raise
    done = f"已办理：{case.declaration.number}「{case.item_name}」（当前状态：{case.status_label}）"
    following = inbox.next_held(current_user, case.declaration.instance_id, case.item_code)
    if following is not None:  # 审查完毕 → 办结 by the same handler: the case page again, at the next step
        flash(f"{done}。下一环节「{following.name}」已在您名下，请继续办理", "success")
        return redirect(url_for("cases.show", case_id=case.id))
    flash(done, "success")
    return redirect(url_for("reviewer.todo"))


def _held_task(task: HumanTask | None, task_id: int, forms: tuple[str, ...], what: str) -> HumanTask:
    """The step the preview is for: it must be this page's step, of a kind that issues a document, and claimed by
    the person asking (a colleague who could claim it may not look at a document they are not issuing)."""
    if task is None or task.id != task_id or task.form_key not in forms:
        raise ServiceError(f"该办件当前不在{what}环节，没有可预览的文件", 409)
    if task.assignee != current_user.actor:
        raise forbid(f"只有签收该{what}环节的办理人员可以预览（请先签收）")
    return task


@bp.route("/<int:case_id>/tasks/<int:task_id>/preview", methods=["POST"])
@role_required(*REVIEWER_ROLES)
def preview(case_id: int, task_id: int):
    """The decision document as 办结 would issue it, from the form as typed so far, marked 「预览」: nothing is
    validated, written or numbered."""
    case = access.case_for_reviewer(current_user, case_id)
    _held_task(_my_task(case), task_id, DECIDE_FORMS, "办结")
    raw = {k: v for k, v in request.form.items() if k != "csrf_token"}
    content, filename = documents.decision_preview(case, raw)
    return documents.preview_response(content, filename)


@bp.route("/filing-tasks/<int:task_id>/preview", methods=["POST"])
@role_required(*REVIEWER_ROLES)
def filing_preview(task_id: int):
    """The 备案证 as 签发 would issue it today, marked 「预览」, its number left to the issue."""
    task = access.reviewer_task(current_user, task_id)
    _held_task(task, task_id, ("filing_issue",), "签发")
    application = filing.application_for_task(task)
    if application is None:
        raise ServiceError("备案申请不存在", 404)
    content, filename = documents.certificate_preview(application)
    return documents.preview_response(content, filename)


@bp.route("/filings/<int:application_id>")
@role_required(*REVIEWER_ROLES)
def filing_show(application_id: int):
    """A 备案 of my department, read only (where a 已办 row opens once the step is done): the step in my hands if
    there is one, else basics, the filing, the certificate and the 办理记录."""
    application = db.session.get(FilingApplication, application_id)
    if application is None:
        raise ServiceError("备案申请不存在", 404)
    if current_user.department_id is None or application.department_id != current_user.department_id:
        raise forbid("该备案不属于您的部门")
    task = filing.current_reviewer_task(current_user, application_id)
    if task is not None:
        return redirect(url_for("reviewer.task", task_id=task.id))
    forms = forms_of_instance(application.instance_id)
    return render_template("reviewer/filing_case.html", application=application, filing_form=forms.get("filing"),
                           choices=choices, certificate=filing.certificate_of(application),
                           timeline=trail_view.grouped(application.instance_id, []))
