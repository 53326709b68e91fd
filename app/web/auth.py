"""Sign-in and the account's own security pages (002 §2.1, issue 13); the services are app/services/signin.py."""
from __future__ import annotations

import re
import threading
from collections import OrderedDict, deque
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from engine import clock

from ..models import SIGNIN_RESULTS, USER_KINDS
from ..services import ServiceError, identity, signin
from ..services.accounts import end_sessions
from ..services.staff_accounts import is_admin

bp = Blueprint("auth", __name__)

# Browsers drop tab/CR/LF anywhere in a URL, strip leading control characters and spaces, and read "\" as "/":
# "/\t/evil", "/\evil" and " //evil" all become "//evil" (another host). So a target must be visible ASCII without
# a backslash (flask-login's ?next= is percent-encoded, so a real one always is); anything else is refused whole
# rather than cleaned, so what we check is exactly what the browser gets.
_PLAIN = re.compile(r"[!-\[\]-~]+")  # "!"…"~" except "\"

# Reachable while a signed-in user still has to change the password or verify the real person (see _gates).
_OPEN = {"static", "auth.logout", "auth.change_password", "auth.verify_person", "auth.verify_send", "auth.captcha"}
CAPTCHA_KEY = "signin_captcha"  # the session's keyed hash of the current image's answer
SHOWN_KEY = "signin_captcha_shown"  # this browser failed once: keep showing the captcha


def local_target(target: str) -> str | None:
    """The ?next= target if it is a path on this site ("/…", not "//…"), else None."""
    if not _PLAIN.fullmatch(target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _client() -> signin.Client:
    return signin.Client(request.remote_addr or "", request.user_agent.string or "")


def _sms_note() -> str:
    """Where an SMS code goes when no SMS platform is connected (the default outbox gateway)."""
    if not current_app.config["SMS_GATEWAY"].endswith(":OutboxGateway"):
        return ""
    if current_app.config["DEV_TOOLS"]:
        return "开发环境：短信见 系统管理 › 短信发件箱"
    return "本平台尚未接入短信平台，验证码不会发到手机，请联系管理员"


@bp.before_app_request
def _gates():
    """A signed-in user with an initial or reset password changes it first; a legacy department account verifies
    the real person (002 §1.2) — before any other page."""
    if not current_user.is_authenticated or (request.endpoint or "") in _OPEN:
        return None
    if current_user.must_change_password:
        return redirect(url_for("auth.change_password"))
    if signin.needs_verification(current_user):
        return redirect(url_for("auth.verify_person"))
    return None


def _login_page(status: int = 200, **context):
    tab = context.pop("tab", None) or request.values.get("tab", "password")
    context.setdefault("errors", {})
    captcha = context.pop("captcha", None)
    if captcha is None:
        captcha = bool(session.get(SHOWN_KEY)) or signin.source_needs_captcha(request.remote_addr or "")
    return render_template("login.html", tab="sms" if tab == "sms" else "password", captcha=captcha,
                           limits=signin.limits(), providers=signin.providers(), sms_note=_sms_note(),
                           **context), status


def _start_session(user):
    # A fresh session: the CSRF token and anything else set before login (possibly planted) do not carry over.
    session.clear()
    session.permanent = True  # PERMANENT_SESSION_LIFETIME is the idle timeout
    login_user(user)
    return redirect(local_target(request.args.get("next", "")) or url_for("home"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        return _login_page()
    method = request.form.get("method", "password")
    stored = session.pop(CAPTCHA_KEY, None)  # single use, right or wrong
    answer = request.form.get("captcha", "").strip()
    captcha_ok = signin.captcha_matches(stored, answer) if answer else None
    try:
        if method == "sms":
            user = signin.sms_signin(request.form.get("phone", ""), request.form.get("sms_code", ""), captcha_ok,
                                     _client())
        else:
            user = signin.password_signin(request.form.get("username", ""), request.form.get("password", ""),
                                          captcha_ok, _client())
    except signin.SigninRefused as exc:
        tried = exc.result != "empty"  # an empty field is no attempt: no captcha for it
        if tried:
            session[SHOWN_KEY] = True
        return _login_page(exc.status, tab=method, error=exc.message, errors=exc.errors, captcha=True if tried else None,
                           username=request.form.get("username", "")[:50], phone=request.form.get("phone", "")[:20])
    return _start_session(user)


class SlidingWindow:
    """At most `limit` events per key within `window`, counted in this process. Thread-safe; memory is bounded by
    `max_keys` (the least recently seen key is forgotten first, so a flood of addresses costs no more than that)."""

    def __init__(self, window: timedelta, max_keys: int = 10_000):
        self.window = window
        self.max_keys = max_keys
        self._events: OrderedDict[str, deque[datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, key: str, limit: int, now: datetime) -> bool:
        """Counts the event and says yes, or says no (a refused event is not counted)."""
        with self._lock:
            events = self._events.pop(key, None) or deque()
            while events and events[0] <= now - self.window:  # oldest first
                events.popleft()
            while events and events[-1] > now:  # the platform clock was set back: forget what is "later"
                events.pop()
            allowed = len(events) < limit
            if allowed:
                events.append(now)
            if events:
                self._events[key] = events  # most recently seen last
                while len(self._events) > self.max_keys:
                    self._events.popitem(last=False)
            return allowed

    def clear(self) -> None:
        with self._lock:
            self._events.clear()


# Drawing a captcha costs this process CPU, so it is limited per source address in this process: with several
# processes an address gets that many images from each, which still bounds the CPU each of them spends. (The SMS
# and sign-in limits, which protect shared things, are counted in the database instead.)
captcha_limiter = SlidingWindow(timedelta(minutes=1))


@bp.route("/login/captcha.png")
def captcha():
    if not captcha_limiter.allow(request.remote_addr or "", current_app.config["CAPTCHA_PER_SOURCE_MINUTE"],
                                 clock.utcnow_naive()):
        return Response("图形验证码请求过于频繁，请一分钟后再试", 429, mimetype="text/plain",
                        headers={"Cache-Control": "no-store", "Retry-After": "60"})
    png, stored = signin.new_captcha()
    session[CAPTCHA_KEY] = stored
    return Response(png, mimetype="image/png", headers={"Cache-Control": "no-store"})


@bp.route("/login/sms/send", methods=["POST"])
def sms_send():
    phone = request.form.get("phone", "")[:20]
    try:
        message = signin.send_signin_code(phone, request.remote_addr)
    except ServiceError as exc:
        return _login_page(exc.status, tab="sms", error=exc.message, errors=exc.errors, phone=phone)
    return _login_page(tab="sms", notice=message, phone=phone)


@bp.route("/login/with/<key>")
def provider_start(key: str):
    p = signin.provider(key)
    if p is None:
        abort(404)
    return redirect(p.start(url_for("auth.provider_callback", key=key, _external=True)))


@bp.route("/login/with/<key>/callback")
def provider_callback(key: str):
    p = signin.provider(key)
    if p is None:
        abort(404)
    try:
        user = signin.provider_signin(p, request.args, _client())
    except signin.SigninRefused as exc:
        return _login_page(exc.status, error=exc.message)
    return _start_session(user)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    # The cookie session cannot be revoked by itself: a new generation makes every cookie issued to this user so far
    # (this browser's, a copied one, other browsers') stop loading the user.
    end_sessions(current_user)
    logout_user()
    session.clear()
    flash("已安全退出", "info")
    return redirect(url_for("auth.login"))


# ---- 找回密码 --------------------------------------------------------------------------------------------------
def _reset_page(status: int = 200, **context):
    context.setdefault("errors", {})
    return render_template("auth/reset.html", rule=identity.PASSWORD_RULE, sms_note=_sms_note(),
                           username=request.form.get("username", "")[:50], phone=request.form.get("phone", "")[:20],
                           **context), status


@bp.route("/password/reset", methods=["GET", "POST"])
def reset_password():
    if request.method == "GET":
        return _reset_page()
    f = request.form
    try:
        signin.reset_password(f.get("username", ""), f.get("phone", ""), f.get("sms_code", ""),
                              f.get("new_password", ""), f.get("confirm", ""))
    except ServiceError as exc:
        return _reset_page(exc.status, error=exc.message, errors=exc.errors)
    flash("密码已重置，所有已登录的会话均已退出，请使用新密码登录", "success")
    return redirect(url_for("auth.login"))


@bp.route("/password/reset/send", methods=["POST"])
def reset_send():
    try:
        message = signin.send_reset_code(request.form.get("username", ""), request.form.get("phone", ""),
                                          request.remote_addr)
    except ServiceError as exc:
        return _reset_page(exc.status, error=exc.message, errors=exc.errors)
    return _reset_page(notice=message)


# ---- 账号安全 ----------------------------------------------------------------------------------------------------
def _page_arg() -> int:
    return request.args.get("page", 1, type=int) or 1


@bp.route("/account/security")
@login_required
def security():
    logs = signin.log_page(current_user, own=True, page=_page_arg())
    return render_template("auth/security.html", logs=logs, results=SIGNIN_RESULTS, kinds=USER_KINDS,
                           phone=signin.mask_phone(current_user.phone or ""), admin=is_admin(current_user))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    if request.method == "GET":
        return render_template("auth/change.html", rule=identity.PASSWORD_RULE, errors={})
    f = request.form
    try:
        signin.change_password(current_user, f.get("old_password", ""), f.get("new_password", ""),
                               f.get("confirm", ""))
    except ServiceError as exc:
        return render_template("auth/change.html", rule=identity.PASSWORD_RULE, error=exc.message,
                               errors=exc.errors), exc.status
    login_user(current_user._get_current_object())  # this browser carries the new session generation
    flash("密码已修改；在其他设备或浏览器上的登录已全部退出", "success")
    return redirect(url_for("auth.security"))


def _verifier_words() -> str:
    v = identity.verifier()
    if words := getattr(v, "notice", None) or getattr(v, "description", None):
        return words
    if isinstance(v, identity.OfflineVerifier):
        return ("本平台尚未接入省实名认证服务：将核验身份证号码的校验位和出生日期、姓名的书写格式；"
                "姓名与身份证号码是否属于同一人、是否本人操作，目前无法在线核验（核验结果将如实记为「已核验证件号码」）。")
    return f"实名核验由已配置的实名认证服务（{type(v).__name__}）完成。"


def _verify_page(status: int = 200, **context):
    context.setdefault("errors", {})
    return render_template("auth/verify.html", verifier_words=_verifier_words(), sms_note=_sms_note(),
                           phone=signin.mask_phone(current_user.phone or ""),
                           real_name=request.form.get("real_name", "")[:20],
                           id_number=request.form.get("id_number", "")[:18], **context), status


@bp.route("/account/verify", methods=["GET", "POST"])
@login_required
def verify_person():
    if not signin.needs_verification(current_user):
        return redirect(url_for("auth.security"))
    if request.method == "GET":
        return _verify_page()
    f = request.form
    try:
        result = signin.verify_person(current_user, f.get("real_name", ""), f.get("id_number", ""),
                                      f.get("sms_code", ""))
    except ServiceError as exc:
        return _verify_page(exc.status, error=exc.message, errors=exc.errors)
    flash(f"实名核验完成。{result.message}", "success")
    return redirect(url_for("home"))


@bp.route("/account/verify/send", methods=["POST"])
@login_required
def verify_send():
    if not signin.needs_verification(current_user):
        return redirect(url_for("auth.security"))
    try:
        message = signin.send_verify_code(current_user, request.remote_addr)
    except ServiceError as exc:
        return _verify_page(exc.status, error=exc.message, errors=exc.errors)
    return _verify_page(notice=message)


# ---- 登录日志 (administrators, in their scope) ------------------------------------------------------------------
@bp.route("/admin/signins")
@login_required
def admin_signins():
    if not is_admin(current_user):
        abort(403)
    q = request.args.get("q", "")[:50]
    result = request.args.get("result", "")
    logs = signin.log_page(current_user, own=False, q=q, result=result, page=_page_arg())
    return render_template("auth/signins.html", logs=logs, results=SIGNIN_RESULTS, q=q, result=result,
                           everyone="admin" in current_user.roles)
