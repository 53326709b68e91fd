"""Applicants' accounts (issue 13, 000 §1): registration as an individual or a legal person, 企业信息, the legal
person's 经办人 authorisations, a 经办人's switch between enterprises, change of phone, account cancellation."""
from __future__ import annotations

from flask import Blueprint, Response, flash, g, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, logout_user

from engine import clock

from ..models import AUTH_SCOPES, REALNAME_LEVELS
from ..services import ServiceError, agents
from ..services import registration as accounts
from ..services.calendar import today
from ..services.identity import CODE_RESEND, PASSWORD_RULE, USERNAME_RULE, OfflineVerifier, verifier
from . import role_required

bp = Blueprint("registration", __name__)

KINDS = {"individual": "个人用户", "enterprise": "法人用户"}
KEEP = ("real_name", "id_number", "phone", "username", "enterprise_name", "uscc", "legal_rep", "legal_rep_id", "address",
        "sms_code")
# pages a 经办人 acting for no enterprise cannot use: they go to the switch page instead
APPLICANT_PAGES = ("enterprise.", "declarations.")


def _verifier_note() -> str:
    """What the configured real-name verifier checks, before anyone is verified: the offline one's own words (it
    makes no call), or the `notice` a province's verifier class declares (asking a remote service about a sample
    person on every page view would be wrong)."""
    checker = verifier()
    if isinstance(checker, OfflineVerifier):
        return checker.verify("张三", "11010519491231002X").message
    return getattr(checker, "notice", "") or "实名信息将由省实名认证服务核验。"


# ---- the 经办人 guard: a revoked or expired authorisation stops the very next request ---------------------------
@bp.before_app_request
def _agent_guard():
    if request.endpoint in (None, "static") or not current_user.is_authenticated:
        return None
    if current_user.kind != "individual":
        return None
    message = agents.lapsed_grant(current_user)
    if message:
        flash(message, "error")
        return redirect(url_for("registration.acting"))
    if current_user.enterprise_id is None and request.endpoint.startswith(APPLICANT_PAGES):
        if request.endpoint != "enterprise.projects":
            flash("您目前没有代表任何企业，请先选择要代表的企业", "info")
        return redirect(url_for("registration.acting"))
    return None


# ---- the 办理记录 names the person, and for a 经办人 the enterprise they acted for then ---------------------------
@bp.app_template_global("trail_actor")
def trail_actor(entry) -> str:
    people = g.get("_trail_people")
    if people is None:
        people = g._trail_people = {}
    if (entry.actor or "").isdigit() and int(entry.actor) not in people:
        people.update(agents.trail_people([entry]))
    return agents.actor_label(entry, people)


# ---- registration ------------------------------------------------------------------------------------------------
def _page(kind: str | None, values: dict, errors: dict | None = None, status: int = 200, wait: int = 0):
    return render_template("registration/register.html", kind=kind, kinds=KINDS, values=values, errors=errors or {},
                           password_rule=PASSWORD_RULE, username_rule=USERNAME_RULE,
                           scan_rule=f"{accounts.SCAN_KINDS}，每个不超过{accounts.SCAN_MAX // (1024 * 1024)}MB",
                           verifier_note=_verifier_note(), wait=wait), status


@bp.route("/register", methods=["GET", "POST"])
def register():
    kind = request.values.get("kind")
    kind = kind if kind in KINDS else None
    if request.method == "GET" or kind is None:
        return _page(kind, {})
    values = {k: request.form.get(k, "") for k in KEEP}
    if request.form.get("action") == "send_code":  # the 获取验证码 button submits the form, so nothing typed is lost
        try:
            ttl = accounts.send_register_code(request.form.get("phone", ""), request.remote_addr)
        except ServiceError as exc:
            return _page(kind, values, exc.errors or {"phone": exc.message}, exc.status)
        flash(f"验证码已发送至 {values['phone'].strip()}，{int(ttl.total_seconds() // 60)}分钟内有效", "success")
        return _page(kind, values, wait=int(CODE_RESEND.total_seconds()))
    try:
        if kind == "individual":
            done = accounts.register_individual(request.form.to_dict())
        else:
            done = accounts.register_enterprise(request.form.to_dict(), _file("licence"), _file("id_card"))
    except ServiceError as exc:
        return _page(kind, values, exc.errors or {"_": exc.message}, exc.status)
    return render_template("registration/done.html", user=done.user, kind=kind, kinds=KINDS,
                           verification=done.verification, level=REALNAME_LEVELS[done.verification.level])


@bp.route("/register/send-code", methods=["POST"])
def send_code():
    """获取验证码 without leaving the page (registration.js), so chosen files and passwords stay; without
    JavaScript the button submits the whole form instead (action=send_code above)."""
    try:
        ttl = accounts.send_register_code(request.form.get("phone", ""), request.remote_addr)
    except ServiceError as exc:
        return jsonify(message=exc.message, errors=exc.errors), exc.status
    phone = request.form.get("phone", "").strip()
    return jsonify(message=f"验证码已发送至 {phone}，{int(ttl.total_seconds() // 60)}分钟内有效",
                   wait=int(CODE_RESEND.total_seconds()))


def _file(name: str) -> bytes | None:
    upload = request.files.get(name)
    return upload.read() if upload and upload.filename else None


# ---- 经办人 authorisations (the legal person) ---------------------------------------------------------------
@bp.route("/enterprise/agents", methods=["GET", "POST"])
@role_required("applicant")
def agents_page():
    errors, values, status = {}, {}, 200
    if request.method == "POST":
        values = request.form.to_dict()
        try:
            grant = agents.authorise(current_user, values, request.form.getlist("project_ids"))
        except ServiceError as exc:
            errors, status = exc.errors or {"_": exc.message}, exc.status
        else:
            flash(f"已授权{grant.agent.display_name}为经办人（{AUTH_SCOPES[grant.scope]}）", "success")
            return redirect(url_for("registration.agents_page"))
    return render_template("registration/agents.html", rows=agents.enterprise_grants(current_user),
                           projects=agents.enterprise_projects(current_user), scopes=AUTH_SCOPES, values=values,
                           chosen=set(request.form.getlist("project_ids")), errors=errors,
                           how_to_register=agents.HOW_TO_REGISTER, today=today()), status


@bp.route("/enterprise/agents/<int:grant_id>/revoke", methods=["POST"])
@role_required("applicant")
def agent_revoke(grant_id: int):
    grant = agents.revoke(current_user, grant_id)
    flash(f"已撤销{grant.agent.display_name}的经办授权，其下一次操作起即不能再代表本企业", "success")
    return redirect(url_for("registration.agents_page"))


# ---- the 经办人's enterprises ----------------------------------------------------------------------------------
@bp.route("/account/acting", methods=["GET", "POST"])
@login_required
def acting():
    if current_user.kind != "individual":
        return redirect(url_for("home"))
    if request.method == "POST":
        raw = request.form.get("enterprise_id", "")
        chosen = agents.switch(current_user, int(raw) if raw.isdigit() else None)
        flash(f"已切换为代表{chosen.name}办理" if chosen else "已停止代表企业", "success")
        return redirect(url_for("enterprise.projects") if chosen else url_for("registration.acting"))
    rows = agents.my_grants(current_user)
    return render_template("registration/acting.html", rows=rows,
                           usable=[r for r in rows if r.status == "active"])


# ---- 企业信息 / 个人信息 -----------------------------------------------------------------------------------
@bp.route("/enterprise/info")
@login_required
def info():
    if current_user.kind not in ("enterprise", "individual"):
        return redirect(url_for("home"))
    legal = current_user.kind == "enterprise"
    return render_template("registration/info.html", legal=legal, enterprise=current_user.enterprise if legal else None,
                           rows=agents.enterprise_grants(current_user) if legal else agents.my_grants(current_user),
                           level=REALNAME_LEVELS.get(current_user.realname_level, current_user.realname_level),
                           verifier_note=_verifier_note())


@bp.route("/enterprise/info/<any(licence, id_card):which>")
@login_required
def scan(which: str):
    content, mimetype = accounts.scan_of(current_user, which)
    name = {"licence": "营业执照", "id_card": "法定代表人身份证"}[which]
    ext = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}.get(mimetype, "bin")
    return Response(content, mimetype=mimetype, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{_quote(name)}.{ext}",
        "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text)


# ---- change of mobile number -------------------------------------------------------------------------------------
PHONE_KEY = "phone_change_confirmed"


@bp.route("/account/phone", methods=["GET", "POST"])
@login_required
def phone():
    if current_user.kind not in ("enterprise", "individual"):
        return redirect(url_for("home"))
    confirmed = session.get(PHONE_KEY) if session.get(PHONE_KEY + "_user") == current_user.id else None
    step2 = accounts.old_phone_confirmed(confirmed)
    errors, status, values, wait = {}, 200, {"new_phone": request.form.get("new_phone", "")}, 0
    action = request.form.get("action")
    try:
        if action == "send_old":
            accounts.send_phone_code(current_user, None, request.remote_addr)
            flash("验证码已发送至原手机号码", "success")
            wait = int(CODE_RESEND.total_seconds())
        elif action == "confirm_old":
            accounts.confirm_old_phone(current_user, request.form.get("old_code", ""))
            session[PHONE_KEY], session[PHONE_KEY + "_user"] = clock.now().timestamp(), current_user.id
            step2 = True
        elif action == "send_new":
            sent, _ = accounts.send_phone_code(current_user, request.form.get("new_phone", ""), request.remote_addr)
            flash(f"验证码已发送至新手机号码 {sent}", "success")
            wait = int(CODE_RESEND.total_seconds())
        elif action == "change":
            new = accounts.change_phone(current_user, request.form.get("new_phone", ""),
                                        request.form.get("new_code", ""), confirmed)
            session.pop(PHONE_KEY, None)
            flash(f"手机号码已更换为 {new}", "success")
            return redirect(url_for("registration.info"))
    except ServiceError as exc:
        errors, status = exc.errors or {"_": exc.message}, exc.status
    return render_template("registration/phone.html", step2=step2, errors=errors, values=values, wait=wait,
                           masked=_mask(current_user.phone)), status


def _mask(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) == 11 else phone


# ---- account cancellation (注销) -------------------------------------------------------------------------------
@bp.route("/account/cancel", methods=["GET", "POST"])
@login_required
def cancel():
    if current_user.kind not in ("enterprise", "individual"):
        return redirect(url_for("home"))
    pending = accounts.open_cases(current_user.enterprise_id) if current_user.kind == "enterprise" else []
    if request.method == "POST":
        try:
            revoked = accounts.cancel_account(current_user, request.form.get("password", ""))
        except ServiceError as exc:
            return render_template("registration/cancel.html", pending=pending,
                                   errors=exc.errors or {"_": exc.message}), exc.status
        logout_user()
        session.clear()
        flash("账号已注销" + (f"，已撤销{revoked}项经办授权" if revoked else ""), "success")
        return redirect(url_for("auth.login"))
    return render_template("registration/cancel.html", pending=pending, errors={})
