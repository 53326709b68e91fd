"""Applicant pages of 审批/核准 事项申报: questionnaire → items and materials → submit → progress, 补正, documents."""
from urllib.parse import quote

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..domain.stages import BUILD_STAGE, MAIN_ITEMS
from ..services import ServiceError, access, approval, construction, documents, inbox, stages, uploads
from ..services.platform import choices, forms_of_instance
from . import role_required
from .guard import db_int

bp = Blueprint("declarations", __name__, url_prefix="/enterprise/declarations")


def _raw() -> dict:
    raw = request.form.to_dict()
    raw.pop("csrf_token", None)
    for several in ("missing_material", "items"):  # multiple-choice fields
        if several in request.form:
            raw[several] = request.form.getlist(several)
    return raw


def page(declaration_id: int, errors: dict | None = None, values: dict | None = None, status: int = 200,
         focus: str | None = None):
    declaration = access.own_declaration(current_user, declaration_id)
    rows = approval.materials_for(declaration)
    tasks = {t.bpmn_id if t.scope is None else f"{t.bpmn_id}:{t.scope}": t for t in access.applicant_tasks(declaration)}
    if values is None:
        values = stages.confirm_defaults(declaration) if stages.CONFIRM_TASK in tasks else \
            approval.questionnaire_defaults(declaration)
    forms = forms_of_instance(declaration.instance_id)  # the forms of the version the declaration runs on
    return render_template(
        "enterprise/declaration.html", declaration=declaration, tasks=tasks, errors=errors or {},
        values=values, confirm_form=forms.get("stage_confirm"),
        questions=forms.get("declaration_questions"), supplement_form=forms.get("item_supplement"),
        choices=choices, rows=rows, extras=[
            a for a in approval.current_attachments(declaration) if a.item_code is None],
        history=inbox.history(declaration.instance_id) if declaration.instance_id else [], focus=focus,
        item_names={r.case.item_code: r.case.item_name for r in rows},
        build_options=construction.options(declaration) if construction.CHOOSE_TASK in tasks else [],
        main_items=MAIN_ITEMS), status


def _fail(declaration_id: int, exc: ServiceError, focus: str | None = None):
    if exc.status == 422:
        return page(declaration_id, exc.errors or {"_": exc.message}, _raw(), 422, focus)
    if exc.status == 409:  # a refused step: the page again with the reason on top (a 409 cannot redirect)
        return page(declaration_id, {"_": exc.message}, _raw(), 409, focus)
    flash(exc.message, "error")
    return redirect(url_for("declarations.show", declaration_id=declaration_id)), exc.status


@bp.route("/start/<int:project_id>", methods=["POST"])
@role_required("applicant")
def start(project_id: int):
    try:
        declaration_id = approval.start(current_user, project_id).id
    except approval.AlreadyOpen as exc:  # nothing created: continue the open one, saying so
        flash(exc.message, "info")
        declaration_id = exc.declaration_id
    return redirect(url_for("declarations.show", declaration_id=declaration_id))


@bp.route("/<int:declaration_id>")
@role_required("applicant")
def show(declaration_id: int):
    return page(declaration_id)


@bp.route("/build/<int:project_id>", methods=["POST"])
@role_required("applicant")
def build(project_id: int):
    try:
        declaration = construction.start(current_user, project_id)
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(url_for("enterprise.project", project_id=project_id)), exc.status
    return redirect(url_for("declarations.show", declaration_id=declaration.id))


@bp.route("/<int:declaration_id>/items-choice", methods=["POST"])
@role_required("applicant")
def choose(declaration_id: int):
    try:
        declaration = construction.choose(current_user, declaration_id, _raw())
    except ServiceError as exc:
        return _fail(declaration_id, exc)
    flash(f"已选择 {len(declaration.item_codes)} 个报建事项，请上传各事项的材料后提交", "success")
    return redirect(url_for("declarations.show", declaration_id=declaration_id))


@bp.route("/<int:declaration_id>/confirm", methods=["POST"])
@role_required("applicant")
def confirm(declaration_id: int):
    try:
        declaration = stages.confirm(current_user, declaration_id, _raw())
    except ServiceError as exc:
        return _fail(declaration_id, exc)
    changed = len(declaration.confirmation["changes"])
    flash(f"信息已确认{f'（更新了 {changed} 项）' if changed else ''}，请回答{declaration.stage}阶段的申报问卷", "success")
    return redirect(url_for("declarations.show", declaration_id=declaration_id))


@bp.route("/<int:declaration_id>/answers", methods=["POST"])
@role_required("applicant")
def answer(declaration_id: int):
    try:
        declaration = approval.answer(current_user, declaration_id, _raw())
    except ServiceError as exc:
        return _fail(declaration_id, exc)
    flash(f"已根据您的回答确定 {len(declaration.item_codes)} 个审批事项，请上传各事项的材料后提交", "success")
    return redirect(url_for("declarations.show", declaration_id=declaration_id))


@bp.route("/<int:declaration_id>/items/<item_code>/done-before", methods=["POST"])
@role_required("applicant")
def done_before(declaration_id: int, item_code: str):
    """000 §5: an item already handled (with its 文号) or not needed (with the reason) is not handled again."""
    undo = request.form.get("undo") == "1"
    not_needed = not undo and request.form.get("basis") == "not_needed"
    try:
        approval.mark_done_before(current_user, declaration_id, item_code,
                                  None if undo or not_needed else request.form.get("prior_document", ""),
                                  request.form.get("not_needed_reason", "") if not_needed else None)
    except ServiceError as exc:
        return _fail(declaration_id, exc, f"item-{item_code}")
    flash("已取消标记" if undo else "已标记为不需要办理，本次不办理该事项" if not_needed else
          "已标记为已办理过，本次不再重复办理", "success")
    return redirect(url_for("declarations.show", declaration_id=declaration_id, _anchor=f"item-{item_code}"))


@bp.route("/<int:declaration_id>/attachments", methods=["POST"])
@role_required("applicant")
def attach(declaration_id: int):
    """One or several files (input multiple) of a material, or one material the applicant adds. The page's script
    posts the same form in the background (materials.js) and takes the refreshed row from the answer, so
    typed text and ticks elsewhere on the page stay; without script the page reloads at the material."""
    files = [(f.filename or "", f.read()) for f in request.files.getlist("file")]
    item_code = request.form.get("item_code") or None
    material_id = request.form.get("material_id", type=db_int)
    anchor = f"material-{material_id}" if material_id else "extras"
    try:
        attached = uploads.attach_files(current_user, declaration_id, item_code, material_id,
                                        request.form.get("name", ""), files)
    except ServiceError as exc:
        if material_id and exc.errors.get("file"):  # said under the material's own row, not as 「材料不完整」
            exc.errors[f"upload-{material_id}"] = exc.errors.pop("file")
        return _fail(declaration_id, exc, anchor if material_id else "extras")
    flash(f"「{attached[0].name}」已上传 {len(attached)} 个文件", "success")
    return redirect(url_for("declarations.show", declaration_id=declaration_id, _anchor=anchor))


@bp.route("/<int:declaration_id>/attachments/<int:attachment_id>/delete", methods=["POST"])
@role_required("applicant")
def remove(declaration_id: int, attachment_id: int):
    try:
        uploads.remove(current_user, declaration_id, attachment_id)
    except ServiceError as exc:
        return _fail(declaration_id, exc)
    flash("材料已删除", "success")
    return redirect(url_for("declarations.show", declaration_id=declaration_id))


@bp.route("/<int:declaration_id>/attachments/<int:attachment_id>")
@role_required("applicant", "acceptor", "handler", "policy", "supervisor")
def download(declaration_id: int, attachment_id: int):
    attachment = documents.attachment_for(current_user, declaration_id, attachment_id)
    return documents.pdf_response(uploads.read_blob(attachment.sha256), attachment.filename)


@bp.route("/<int:declaration_id>/attachments/<int:attachment_id>/view")
@role_required("applicant", "acceptor", "handler", "policy", "supervisor")
def view(declaration_id: int, attachment_id: int):
    """The PDF shown in the browser's own viewer (a new tab): stored files are checked PDFs, served as
    application/pdf with nosniff, never as a page of ours."""
    attachment = documents.attachment_for(current_user, declaration_id, attachment_id)
    return inline_pdf(uploads.read_blob(attachment.sha256), attachment.filename)


def inline_pdf(content: bytes, filename: str) -> Response:
    ascii_name = "".join(c if c.isascii() and c.isalnum() or c in "-_." else "_" for c in filename) or "file.pdf"
    return Response(content, mimetype="application/pdf", headers={
        "Content-Disposition": f"inline; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}",
        "X-Content-Type-Options": "nosniff",
        # No `sandbox`: Chromium's PDF viewer refuses a sandboxed document. Nothing of ours loads in it.
        "Content-Security-Policy": "default-src 'none'; frame-ancestors 'self'",
        "Cache-Control": "private, no-store",
    })


@bp.route("/<int:declaration_id>/submit", methods=["POST"])
@role_required("applicant")
def submit(declaration_id: int):
    raw = _raw()
    try:
        declaration = approval.submit(current_user, declaration_id, raw)
    except ServiceError as exc:
        return _fail(declaration_id, exc, "submit")
    if raw.get("action") == "back":
        flash("已返回重新选择事项（已上传的材料保留）" if declaration.stage == BUILD_STAGE else
              "已返回问卷，修改答案后事项清单将重新确定（已上传的材料保留）", "success")
    else:
        flash("已提交，各事项已同时分送办理部门（并联审批）", "success")
    return redirect(url_for("declarations.show", declaration_id=declaration_id))


@bp.route("/<int:declaration_id>/items/<item_code>/supplement", methods=["POST"])
@role_required("applicant")
def supplement(declaration_id: int, item_code: str):
    try:
        approval.supplement(current_user, declaration_id, item_code, _raw())
    except ServiceError as exc:
        return _fail(declaration_id, exc, f"item-{item_code}")
    flash("补正材料已提交", "success")
    return redirect(url_for("declarations.show", declaration_id=declaration_id, _anchor=f"item-{item_code}"))


@bp.route("/<int:declaration_id>/items/<item_code>/decision.pdf")
@role_required("applicant", "acceptor", "handler", "policy", "supervisor")
def decision_pdf(declaration_id: int, item_code: str):
    content, filename = documents.decision_pdf(current_user, declaration_id, item_code)
    return documents.pdf_response(content, filename)


@bp.route("/<int:declaration_id>/notice.pdf")
@role_required("applicant", "acceptor", "handler", "policy", "supervisor")
def notice_pdf(declaration_id: int):
    content, filename = documents.notice_pdf(current_user, declaration_id)
    return documents.pdf_response(content, filename)

