"""Department accounts (issue 13, 002): applying for a reviewer account with item permissions, the administrators'
review in their scope, the organisation tree, users and their permissions, and one's own requests."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from ..extensions import db
from ..models import (
    ACCOUNT_REQUEST_KINDS,
    ACCOUNT_REQUEST_STATUS,
    REALNAME_LEVELS,
    USER_KINDS,
    AccountRequest,
    Department,
    Role,
)
from ..services import ServiceError, forbid, identity
from ..services import staff_accounts as staff
from . import role_required, wants_json

bp = Blueprint("staff", __name__)
ADMIN_ROLES = staff.ADMIN_ROLES
TABS = ("pending", "approved", "rejected")
LISTS = ("accept", "handle")  # the permission checkboxes: lists of item codes


@bp.app_context_processor
def _pending_badge() -> dict[str, Any]:
    """账号审核 in the nav shows how many requests wait in the administrator's scope: one COUNT, admins only."""
    if current_user.is_authenticated and staff.is_admin(current_user):
        return {"staff_pending": staff.pending_count(current_user)}
    return {"staff_pending": None}


def _raw() -> dict[str, Any]:
    raw: dict[str, Any] = {k: v for k, v in request.form.items() if k not in LISTS and k != "csrf_token"}
    for key in LISTS:
        raw[key] = request.form.getlist(key)
    return raw


def _department_of(raw: Any) -> Department | None:
    text = str(raw or "").strip()
    return db.session.get(Department, int(text)) if text.isdigit() and len(text) <= 9 else None


def _checked(raw: dict[str, Any]) -> tuple[set[str], set[str]]:
    return set(raw.get("accept") or []), set(raw.get("handle") or [])


# ---- applying (public) ----------------------------------------------------------------------------------------
def _apply_page(values: dict[str, Any], errors: dict[str, str], status: int = 200):
    department = _department_of(values.get("department_id"))
    accept, handle = _checked(values)
    return render_template("staff/apply.html", units=staff.flat_units(), values=values, errors=errors,
                           department=department, items=staff.items_for(department) if department else [],
                           accept=accept, handle=handle, password_rule=identity.PASSWORD_RULE,
                           username_rule=identity.USERNAME_RULE,
                           reviewer_of=lambda d: staff.reviewer_label(staff.review_region(d))), status


@bp.route("/staff/apply", methods=["GET", "POST"])
def apply():
    if request.method == "GET":
        return _apply_page({"department_id": request.args.get("department_id", "")}, {})
    raw = _raw()
    if raw.get("action") == "list_items":  # without script: the chosen unit's items, nothing checked or saved
        return _apply_page({k: v for k, v in raw.items() if k not in ("password", "password2", "sms_code")}, {})
    try:
        applied = staff.apply(raw)
    except ServiceError as exc:
        if exc.status not in (422, 429):
            raise
        values = {k: v for k, v in raw.items() if k not in ("password", "password2", "sms_code")}
        return _apply_page(values, exc.errors or {"_": exc.message}, exc.status)
    session["staff_applied"] = applied.request.id  # the confirmation page shows this request only to this browser
    return redirect(url_for("staff.applied"))


@bp.route("/staff/apply/submitted")
def applied():
    row = db.session.get(AccountRequest, session.get("staff_applied") or 0)
    if row is None:
        return redirect(url_for("staff.apply"))
    return render_template("staff/applied.html", row=row, reviewer=staff.reviewer_label(row.region_code),
                           unit=staff.unit_path(row.department), permissions=staff.request_permissions(row))


@bp.route("/staff/apply/items")
def apply_items():
    """The catalogue items a unit's accounts may hold (its department type's), for the permission table."""
    department = _department_of(request.args.get("department_id"))
    if department is None:
        return jsonify(message="请选择「所属单位」", errors={"department_id": "请选择「所属单位」"}, items=[]), 404
    return jsonify(department=department.name, dept_type=department.dept_type,
                   reviewer=staff.reviewer_label(staff.review_region(department)),
                   items=[{"code": i.code, "name": i.name, "stage": i.stage or ""} for i in staff.items_for(department)])


@bp.route("/staff/apply/code", methods=["POST"])
def apply_code():
    """Sends the SMS code of an application or a status look-up; JSON for the page's script, a flash without it."""
    try:
        phone = staff.send_apply_code(request.form.get("phone"), request.remote_addr)
    except ServiceError as exc:
        if wants_json():
            return jsonify(message=exc.message, errors=exc.errors), exc.status
        flash(exc.message, "error")
        return redirect(request.referrer or url_for("staff.apply"))
    message = f"验证码已发送至{phone[:3]}****{phone[-4:]}，{int(identity.CODE_TTL.total_seconds() // 60)}分钟内有效"
    if wants_json():
        return jsonify(message=message, wait=int(identity.CODE_RESEND.total_seconds()))
    flash(message, "success")
    return redirect(request.referrer or url_for("staff.apply"))


@bp.route("/staff/status", methods=["GET", "POST"])
def status():
    """申请进度查询 for someone who cannot sign in yet: username + phone + SMS code."""
    values = {k: request.form.get(k, "") for k in ("username", "phone")}
    if request.method == "GET":
        return render_template("staff/status.html", values=values, errors={}, found=None)
    try:
        user, rows = staff.status_lookup(request.form.get("username"), request.form.get("phone"),
                                         request.form.get("sms_code"))
    except ServiceError as exc:
        if exc.status not in (404, 422):
            raise
        return render_template("staff/status.html", values=values, errors=exc.errors or {"_": exc.message},
                               found=None), exc.status
    return render_template("staff/status.html", values=values, errors={}, found=user, rows=rows,
                           kinds=ACCOUNT_REQUEST_KINDS, statuses=ACCOUNT_REQUEST_STATUS,
                           reviewer=staff.reviewer_label, perms=staff.request_permissions)


# ---- review (administrators in scope) -------------------------------------------------------------------------
@bp.route("/staff/requests")
@role_required(*ADMIN_ROLES)
def requests():
    tab = request.args.get("status", "pending")
    if tab not in TABS:
        tab = "pending"
    counts = staff.status_counts(current_user)
    rows = staff.requests(current_user, tab)
    return render_template("staff/requests.html", tab=tab, rows=rows, counts=counts, statuses=ACCOUNT_REQUEST_STATUS,
                           kinds=ACCOUNT_REQUEST_KINDS, names=staff.reviewer_names(rows), unit=staff.unit_path)


def _request_page(request_id: int, errors: dict[str, str] | None = None, message: str = "", status: int = 200):
    row = staff.reviewable_request(current_user, request_id)
    return render_template("staff/request.html", row=row, unit=staff.unit_path(row.department),
                           permissions=staff.request_permissions(row), kinds=ACCOUNT_REQUEST_KINDS,
                           statuses=ACCOUNT_REQUEST_STATUS, realname=REALNAME_LEVELS, names=staff.reviewer_names([row]),
                           reviewer=staff.reviewer_label(row.region_code),
                           decided=staff.decided_by(row) if row.status != "pending" else "",
                           errors=errors or {}, message=message, form=request.form), status


@bp.route("/staff/requests/<int:request_id>")
@role_required(*ADMIN_ROLES)
def request_detail(request_id: int):
    return _request_page(request_id)


@bp.route("/staff/requests/<int:request_id>/decide", methods=["POST"])
@role_required(*ADMIN_ROLES)
def decide(request_id: int):
    try:
        row = staff.decide(current_user, request_id, request.form.get("decision"), request.form.get("reason"))
    except ServiceError as exc:
        if exc.status not in (409, 422):
            raise
        return _request_page(request_id, exc.errors, exc.message, exc.status)
    flash(f"申请 {row.id}（{row.user.display_name}，{ACCOUNT_REQUEST_KINDS[row.kind]}）已审核"
          f"{ACCOUNT_REQUEST_STATUS[row.status]}", "success")
    return redirect(url_for("staff.requests"))


# ---- organisation and users ------------------------------------------------------------------------------------
@bp.route("/staff/org")
@role_required(*ADMIN_ROLES)
def org():
    q = request.args.get("q", "")[:50]
    return render_template("staff/org.html", view=staff.org(current_user, q), q=q,
                           editor=bool(current_user.roles.intersection({"admin", "policy"})))


@bp.route("/staff/users")
@role_required(*ADMIN_ROLES)
def users():
    q = request.args.get("q", "")[:50]
    rows = staff.users(current_user, q)
    return render_template("staff/users.html", rows=rows, q=q, perms=staff.permissions_of([u.id for u in rows]),
                           role_names=_role_names(), labels=staff.PERMISSION_LABELS)


def _role_names() -> dict[str, str]:
    return dict(db.session.execute(db.select(Role.code, Role.name)).all())


def _account_context(user: Any, values: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the user page and 我的账号申请 share: roles, permissions, requests and the change form."""
    held = staff.held_permissions(user)
    if values is None:
        values = {"section": user.section, "position": user.position, "dept_head": staff.HEAD_ROLE in user.roles,
                  "accept": [c for c, r in held if r == "acceptor"], "handle": [c for c, r in held if r == "handler"]}
    accept, handle = _checked(values)
    rows = staff.my_requests(user)
    return {"subject": user, "held": held, "items": staff.items_for(user.department) if user.department else [],
            "values": values, "accept": accept, "handle": handle, "rows": rows, "names": staff.reviewer_names(rows),
            "kinds": ACCOUNT_REQUEST_KINDS, "statuses": ACCOUNT_REQUEST_STATUS, "realname": REALNAME_LEVELS,
            "user_kinds": USER_KINDS, "role_names": _role_names(), "labels": staff.PERMISSION_LABELS,
            "perms": staff.request_permissions, "items_by_code": staff.items_by_code(),
            "reviewer": staff.reviewer_label(staff.user_region(user)) if user.department else "",
            "unit": staff.unit_path(user.department) if user.department else ""}


@bp.route("/staff/users/<int:user_id>")
@role_required(*ADMIN_ROLES)
def user(user_id: int):
    subject = staff.managed_user(current_user, user_id)
    return render_template("staff/user.html", errors={}, message="",
                           editor=bool(current_user.roles.intersection({"admin", "policy"})),
                           **_account_context(subject))


@bp.route("/accounts/mine")
@login_required
def mine():
    if current_user.department is None or current_user.kind != "staff":
        raise forbid("「我的账号申请」供审批部门用户使用")
    return render_template("staff/mine.html", errors={}, message="", editor=False, **_account_context(current_user))


def _after_request_failed(user_id: int, exc: ServiceError):
    """A refused change or cancellation: back on the page it came from, the errors beside the fields."""
    values = _raw()
    if user_id == current_user.id:
        return render_template("staff/mine.html", errors=exc.errors, message=exc.message, editor=False,
                               **_account_context(current_user, values)), exc.status
    subject = staff.managed_user(current_user, user_id)
    return render_template("staff/user.html", errors=exc.errors, message=exc.message,
                           editor=bool(current_user.roles.intersection({"admin", "policy"})),
                           **_account_context(subject, values)), exc.status


def _done(user_id: int, row: AccountRequest):
    flash(f"已提交{ACCOUNT_REQUEST_KINDS[row.kind]}申请（编号 {row.id}），由{staff.reviewer_label(row.region_code)}审核，"
          "通过后生效", "success")
    return redirect(url_for("staff.mine") if user_id == current_user.id else url_for("staff.user", user_id=user_id))


@bp.route("/staff/users/<int:user_id>/change", methods=["POST"])
@login_required
def change(user_id: int):
    """变更权限: one's own account, or one in an administrator's scope (the service decides which)."""
    try:
        row = staff.request_change(current_user, user_id, _raw())
    except ServiceError as exc:
        if exc.status not in (409, 422):
            raise
        return _after_request_failed(user_id, exc)
    return _done(user_id, row)


@bp.route("/staff/users/<int:user_id>/cancel", methods=["POST"])
@login_required
def cancel(user_id: int):
    try:
        row = staff.request_cancel(current_user, user_id, request.form.get("reason"))
    except ServiceError as exc:
        if exc.status not in (409, 422):
            raise
        return _after_request_failed(user_id, exc)
    return _done(user_id, row)

