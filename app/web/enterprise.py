import re
from urllib.parse import quote

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from ..services import (
    ServiceError,
    certificates,
    construction,
    corrections,
    drafts,
    filing,
    inbox,
    permits,
    receipts,
    stages,
)
from ..services import code_application as code_steps
from ..services import projects as project_service
from ..services.filing import visible_deadline
from ..services.platform import choices, forms_of_instance
from . import role_required

bp = Blueprint("enterprise", __name__, url_prefix="/enterprise")


def _form_page(template: str, form_key: str, values: dict, errors: dict | None = None, status: int = 200,
               instance_id: int | None = None, **kw):
    """`instance_id`: the form as that instance's version has it (an application already submitted once)."""
    return render_template(template, form=forms_of_instance(instance_id).get(form_key), values=values,
                           errors=errors or {}, choices=choices, **kw), status


@bp.route("/")
@role_required("applicant")
def projects():
    return render_template("enterprise/projects.html", rows=project_service.my_projects(current_user),
                           notes=inbox.notifications(current_user), permits=permits.enterprise_permits(current_user),
                           corrections=corrections.waiting(current_user),
                           declaration_drafts=project_service.declaration_drafts(current_user))


@bp.route("/projects/<int:project_id>")
@role_required("applicant")
def project(project_id: int):
    project = project_service.own_project(current_user, project_id)
    return render_template("enterprise/project.html", project=project, steps=stages.stage_line(project),
                           declarations=stages.declarations_of(project),
                           works=stages.items_by_works_stage(project),
                           permits=permits.permits_of_project(project.id),
                           related=project_service.related_projects(project),
                           build_open=construction.open_build(project), build_refusal=construction.build_refusal(project),
                           corrections=corrections.waiting(current_user, project.id).get(project.id, []),
                           filings=project_service.filings_of(project),
                           accepted=project_service.accepted_items(project))


@bp.route("/code/new", methods=["GET", "POST"])
@role_required("applicant")
def code_apply():
    if request.method == "GET":
        return _form_page("enterprise/code_apply.html", "code_application",
                          {"unit_uscc": current_user.enterprise.uscc if current_user.enterprise else "",
                           "kind": request.args.get("kind", "filing"), "form_token": project_service.new_form_token()})
    # Two steps (issue 14 §4): 下一步 shows 「请核对以下信息」 and writes nothing; only 确认赋码 (step=confirm, the
    # values carried back in hidden inputs and checked again) issues the code. 返回修改 reopens the filled form.
    step = request.form.get("step", "")
    raw = {k: v for k, v in request.form.to_dict().items() if k not in ("csrf_token", "step")}
    if step == "back":
        return _form_page("enterprise/code_apply.html", "code_application", raw)
    try:
        if step != "confirm":
            rows = code_steps.review(current_user, raw)
            return render_template("enterprise/code_confirm.html", rows=rows, carried=code_steps.carried(raw))
        project = project_service.apply_for_code(current_user, raw)
    except ServiceError as exc:
        values = dict(raw)
        if exc.status == 409:  # already submitted: a deliberate new application needs a new token
            values["form_token"] = project_service.new_form_token()
        return _form_page("enterprise/code_apply.html", "code_application", values,
                          exc.errors or {"_": exc.message}, exc.status)
    flash(f"领码成功，项目代码：{project.code}", "success")
    return redirect(url_for("enterprise.projects"))


@bp.route("/code/lookup")
@role_required("applicant")
def code_lookup():
    try:
        return jsonify(filing.lookup_code(current_user, request.args.get("code", ""), _editing()))
    except ServiceError as exc:
        return jsonify(message=exc.message, errors=exc.errors), exc.status


def _editing() -> int | None:
    """The application whose form asks for 校验 (its own draft passes): ?application=<id>, else the same-origin
    referrer /enterprise/filings/<id>/edit (filing.js sends the code only)."""
    given = request.args.get("application", "")
    if given.isdigit():
        return int(given)
    found = re.search(r"/enterprise/filings/(\d+)/edit", request.referrer or "")
    return int(found.group(1)) if found else None


@bp.route("/filings/new", methods=["GET", "POST"])
@bp.route("/filings/<int:application_id>/edit", methods=["GET", "POST"])
@role_required("applicant")
def filing_form(application_id: int | None = None):
    application = filing.own_application(current_user, application_id) if application_id else None
    if request.method == "GET":
        values = dict(application.draft) if application else {"project_code": request.args.get("code", "")}
        refusal: ServiceError | None = None
        if not application and values["project_code"]:
            try:
                values.update(filing.prefill(current_user, values["project_code"]))
            except ServiceError as exc:  # a 核准类 project, or one already filed: said at once, on the field
                refusal = exc
        return _form_page("enterprise/filing_form.html", "filing", values,
                          (refusal.errors or {"_": refusal.message}) if refusal else None,
                          refusal.status if refusal and refusal.status in (403, 409, 422) else 200,
                          application=application, instance_id=application.instance_id if application else None)
    raw = request.form.to_dict()
    raw.pop("csrf_token", None)
    action = raw.pop("action", "save")
    try:
        if action == "submit":
            application = filing.submit(current_user, raw, application_id)
            # the time limit is the diagram's (policy staff may change it): say the deadline it gave
            flash(f"已提交，备案机关将于 {visible_deadline(application.due_at)} 前办结", "success")
        else:
            application = filing.save_draft(current_user, raw, application_id)
            flash("已保存到草稿箱", "success")
    except ServiceError as exc:
        return _form_page("enterprise/filing_form.html", "filing", raw, exc.errors or {"_": exc.message},
                          exc.status, application=application,
                          instance_id=application.instance_id if application else None)
    return redirect(url_for("enterprise.filing_detail", application_id=application.id))


@bp.route("/filings/<int:application_id>")
@role_required("applicant")
def filing_detail(application_id: int):
    application = filing.own_application(current_user, application_id)
    certificate = filing.certificate_of(application)
    return render_template("enterprise/filing_detail.html", application=application,
                           history=inbox.history(application.instance_id), certificate=certificate,
                           form=forms_of_instance(application.instance_id).get("filing"), choices=choices)


@bp.route("/filings/<int:application_id>/withdraw", methods=["POST"])
@role_required("applicant")
def filing_withdraw(application_id: int):
    filing.withdraw(current_user, application_id)
    flash("已撤回到草稿箱，可修改后重新提交", "success")
    return redirect(url_for("enterprise.filing_detail", application_id=application_id))


@bp.route("/certificates/<int:certificate_id>.pdf")
@role_required("applicant", "acceptor", "handler")
def certificate_pdf(certificate_id: int):
    certificate = certificates.own_certificate(current_user, certificate_id)
    return Response(certificates.pdf(certificate), mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="beian-{certificate.number}.pdf"',
        "X-Content-Type-Options": "nosniff"})


# ---- drafts (issue 14 §5) -----------------------------------------------------------------------
@bp.route("/filings/<int:application_id>/delete", methods=["POST"])
@role_required("applicant")
def filing_delete(application_id: int):
    number = drafts.delete_filing(current_user, application_id)
    flash(f"已删除备案草稿 {number}", "success")
    return redirect(url_for("enterprise.projects"))


@bp.route("/declarations/<int:declaration_id>/delete", methods=["POST"])
@role_required("applicant")
def declaration_delete(declaration_id: int):
    number = drafts.delete_declaration(current_user, declaration_id)
    flash(f"已删除未提交的事项申报 {number}", "success")
    return redirect(url_for("enterprise.projects"))


# ---- 申报表 and 受理通知书 (issue 14 §6) --------------------------------------------------------------
def _pdf(content: bytes, filename: str) -> Response:
    return Response(content, mimetype="application/pdf", headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}", "X-Content-Type-Options": "nosniff"})


@bp.route("/filings/<int:application_id>/form.pdf")
@role_required("applicant", "acceptor", "handler")
def filing_form_pdf(application_id: int):
    application = receipts.readable_filing(current_user, application_id)
    return _pdf(receipts.filing_form_pdf(application), f"备案申请表-{application.number}.pdf")


@bp.route("/filings/<int:application_id>/receipt.pdf")
@role_required("applicant", "acceptor", "handler")
def filing_receipt_pdf(application_id: int):
    application = receipts.readable_filing(current_user, application_id)
    return _pdf(receipts.filing_receipt_pdf(application), f"受理通知书-{application.number}.pdf")


@bp.route("/declarations/<int:declaration_id>/form.pdf")
@role_required("applicant", "acceptor", "handler")
def declaration_form_pdf(declaration_id: int):
    declaration = receipts.readable_declaration(current_user, declaration_id)
    return _pdf(receipts.declaration_form_pdf(declaration), f"事项申报表-{declaration.number}.pdf")


@bp.route("/declarations/<int:declaration_id>/items/<item_code>/receipt.pdf")
@role_required("applicant", "acceptor", "handler")
def item_receipt_pdf(declaration_id: int, item_code: str):
    declaration = receipts.readable_declaration(current_user, declaration_id)
    return _pdf(receipts.item_receipt_pdf(declaration, item_code), f"受理通知书-{declaration.number}-{item_code}.pdf")


# ---- the 任务中心's applicant rows (tasks/index.html; taskcentre.py passes the tasks only) ------------
@bp.app_template_global("applicant_task_refs")
def applicant_task_refs(tasks: list) -> dict[int, dict[str, str]]:
    """By task id: the case's number, project and item, and the link that opens where the task is done."""
    refs = {}
    for task_id, ref in corrections.task_refs(list(tasks)).items():
        link = url_for(ref.endpoint, **ref.args) + (f"#{ref.anchor}" if ref.anchor else "") if ref.endpoint else ""
        refs[task_id] = {"number": ref.number, "project": ref.project_name, "item": ref.item_name, "link": link}
    return refs
