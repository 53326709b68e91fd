"""Reviewer pages of one approval item (办件): materials, clock, history, and the step in my hands."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from engine.tables import HumanTask

from ..extensions import db
from ..models import ItemCase
from ..services import ServiceError, access, approval, code_check, inbox, uploads
from ..services.platform import choices, forms_of_instance
from . import role_required

bp = Blueprint("cases", __name__, url_prefix="/reviewer/cases")
REVIEWER_ROLES = ("acceptor", "handler")


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
    return render_template(
        "reviewer/case.html", case=case, declaration=declaration, task=task, verification=verification,
        form=forms.get(task.form_key) if task else None, values=values or {}, errors=errors or {}, choices=choices,
        attachments=[a for a in attachments if a.item_code in (case.item_code, None)],
        questions=forms.get("declaration_questions"),
        item_names={c.item_code: c.item_name for c in db.session.scalars(
            select(ItemCase).where(ItemCase.declaration_id == declaration.id))},
        history=[h for h in inbox.history(declaration.instance_id)
                 if (h.detail or {}).get("item", (h.detail or {}).get("scope")) in (case.item_code, None)]), status


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
    flash(f"已办理：{case.declaration.number}「{case.item_name}」（当前状态：{case.status_label}）", "success")
    return redirect(url_for("reviewer.todo"))
