"""After issue: the enterprise's permit pages (change, extension, cancellation, progress) and the
authority's (permit list, revocation)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ..extensions import db
from ..models import Permit
from ..services import ServiceError, inbox, permits, post_requests
from ..services.documents import pdf_response
from ..services.platform import choices, forms
from . import role_required

bp = Blueprint("permits", __name__)
REVIEWER_ROLES = ("acceptor", "handler")


def _form() -> dict:
    raw = request.form.to_dict()
    raw.pop("csrf_token", None)
    return raw


def _page(permit: Permit, audience: str, status: int = 200, **extra):
    progress, years = permits.progress_of(permit.project_id)
    return render_template(
        "permits/permit.html", permit=permit, audience=audience, progress=progress, years=years,
        requests=post_requests.requests_of_permit(permit.id), effective=permits.effective_status(permit),
        history=inbox.history(permit.validity_instance_id) if permit.validity_instance_id else [], **extra), status


# ---- enterprise ---------------------------------------------------------------------------------------
@bp.route("/enterprise/permits/<int:permit_id>")
@role_required("applicant")
def show(permit_id: int):
    return _page(permits.own_permit(current_user, permit_id), "enterprise")


@bp.route("/enterprise/permits/<int:permit_id>/change", methods=["GET", "POST"])
@role_required("applicant")
def change(permit_id: int):
    permit = permits.own_permit(current_user, permit_id)
    fields = post_requests.changeable_fields(permit)
    page = {"permit": permit, "fields": fields, "shown": post_requests.shown, "choices": choices,
            "defs": {f.name: f for f in forms().get("filing").fields} if permit.kind == "filing" else {}}
    if request.method == "GET":
        values = {"address": permit.project.address, **permit.current} if permit.kind == "authorisation" else \
            dict(permit.current)
        return render_template("permits/change.html", values=values, ticked=set(), errors={}, **page)
    raw = _form()
    files = [(f.filename or "", f.read()) for f in request.files.getlist("files") if f and f.filename]
    try:
        req = post_requests.submit_change(current_user, permit_id, raw, files)
    except ServiceError as exc:
        ticked = {name for name, _ in fields if raw.get(f"change_{name}")}
        values = {**permit.current, **{k: v for k, v in raw.items() if k in ticked}}
        return render_template("permits/change.html", values=values, ticked=ticked, errors=exc.errors or {"_": exc.message},
                               message=exc.message, reason=raw.get("reason", ""), **page), exc.status
    flash(f"变更申请已提交（{req.number}），{permit.department.name}将受理、审核并签发", "success")
    return redirect(url_for("permits.show", permit_id=permit_id))


@bp.route("/enterprise/permits/<int:permit_id>/extension", methods=["GET", "POST"])
@role_required("applicant")
def extension(permit_id: int):
    permit = permits.own_permit(current_user, permit_id)
    if request.method == "GET":
        new_until, refusal = post_requests.extension_preview(permit)
        return render_template("permits/extension.html", permit=permit, errors={}, reason="", new_until=new_until,
                               refusal=refusal)
    raw = _form()
    try:
        req = post_requests.submit_extension(current_user, permit_id, raw)
    except ServiceError as exc:
        return render_template("permits/extension.html", permit=permit, errors=exc.errors or {"_": exc.message},
                               reason=raw.get("reason", ""), refusal=None,
                               new_until=post_requests.extension_preview(permit)[0]), exc.status
    flash(f"延期申请已提交（{req.number}）", "success")
    return redirect(url_for("permits.show", permit_id=permit_id))


@bp.route("/enterprise/permits/<int:permit_id>/cancel", methods=["GET", "POST"])
@role_required("applicant")
def cancel(permit_id: int):
    permit = permits.own_permit(current_user, permit_id)
    if request.method == "GET":
        return render_template("permits/end.html", permit=permit, mode="cancel", errors={}, reason="")
    raw = _form()
    try:
        permits.cancel(current_user, permit_id, raw.get("reason", ""))
    except ServiceError as exc:
        return render_template("permits/end.html", permit=permit, mode="cancel",
                               errors=exc.errors or {"_": exc.message}, reason=raw.get("reason", "")), exc.status
    flash(f"{permit.kind_label}已注销，已短信通知{permit.department.name}", "success")
    return redirect(url_for("permits.show", permit_id=permit_id))


def _rows() -> list[tuple[str, str, str]]:
    years, invested, progress = (request.form.getlist(k) for k in ("year", "invested", "progress"))
    n = max(len(years), len(invested), len(progress))
    pad = [""] * n
    return list(zip((years + pad)[:n], (invested + pad)[:n], (progress + pad)[:n], strict=True))


@bp.route("/enterprise/permits/<int:permit_id>/progress", methods=["GET", "POST"])
@role_required("applicant")
def progress(permit_id: int):
    permit = permits.own_permit(current_user, permit_id)
    saved, years = permits.progress_of(permit.project_id)
    if request.method == "GET":
        values = {"actual_start": saved.actual_start.isoformat() if saved and saved.actual_start else "",
                  "completed_on": saved.completed_on.isoformat() if saved and saved.completed_on else "",
                  "completion_note": saved.completion_note if saved else ""}
        rows = [(str(y.year), format(y.invested.normalize(), "f"), y.progress) for y in years]
        return render_template("permits/progress.html", permit=permit, values=values, rows=rows, errors={})
    raw = _form()
    for key in ("year", "invested", "progress"):
        raw.pop(key, None)
    try:
        permits.report_progress(current_user, permit_id, raw, _rows())
    except ServiceError as exc:
        return render_template("permits/progress.html", permit=permit, values=raw, rows=_rows(),
                               errors=exc.errors or {"_": exc.message}), exc.status
    flash("项目进展已提交，已推送待阅给" + permit.department.name, "success")
    return redirect(url_for("permits.show", permit_id=permit_id))


@bp.route("/enterprise/permits/by-instance/<int:instance_id>/progress")
@role_required("applicant")
def progress_for_task(instance_id: int):
    """Where a progress 待办 leads: the progress form of the permit whose reminder it is."""
    permit = db.session.scalar(select(Permit).where(Permit.progress_instance_id == instance_id))
    if permit is None:
        abort(404)
    permits.own_permit(current_user, permit.id)
    return redirect(url_for("permits.progress", permit_id=permit.id))


@bp.route("/enterprise/requests/<int:request_id>/letter.pdf")
@role_required("applicant", *REVIEWER_ROLES)
def letter(request_id: int):
    content, filename = post_requests.change_letter_pdf(current_user, request_id)
    return pdf_response(content, filename)


@bp.route("/enterprise/requests/<int:request_id>/attachments/<int:index>")
@role_required("applicant", *REVIEWER_ROLES)
def attachment(request_id: int, index: int):
    content, filename = post_requests.request_attachment(current_user, request_id, index)
    return pdf_response(content, filename)


# ---- authority -----------------------------------------------------------------------------------------
@bp.route("/authority/permits")
@role_required(*REVIEWER_ROLES)
def authority_list():
    query = request.args.get("q", "").strip()
    rows = permits.department_permits(current_user, query)
    return render_template("permits/authority_list.html", rows=rows, q=query,
                           effective={p.id: permits.effective_status(p) for p in rows})


@bp.route("/authority/permits/<int:permit_id>")
@role_required(*REVIEWER_ROLES)
def authority_show(permit_id: int):
    return _page(permits.authority_permit(current_user, permit_id), "authority")


@bp.route("/authority/permits/<int:permit_id>/revoke", methods=["POST"])
@role_required(*REVIEWER_ROLES)
def revoke(permit_id: int):
    permit = permits.authority_permit(current_user, permit_id)
    raw = _form()
    try:
        permits.revoke(current_user, permit_id, raw.get("reason", ""))
    except ServiceError as exc:
        return _page(permit, "authority", exc.status, errors=exc.errors or {"_": exc.message},
                     reason=raw.get("reason", ""))
    flash(f"{permit.kind_label}已撤销，已短信通知企业", "success")
    return redirect(url_for("permits.authority_show", permit_id=permit_id))
