"""Blueprints per audience. Routes parse input, call one service, render the result."""
from __future__ import annotations

from functools import wraps

from flask import Flask, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf.csrf import CSRFError

from engine import clock

from ..extensions import db, login_manager
from ..models import FILING_STATUS, KIND_LABELS, PERMIT_STATUS, User
from ..services import ServiceError
from ..services.calendar import warning_for as calendar_warning
from ..services.filing import visible_datetime, visible_deadline


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    # "<id>:<generation>" (User.get_id): a cookie from before the user's last logout names an older generation
    user_id, _, generation = session_id.partition(":")
    try:
        user = db.session.get(User, int(user_id))
        # an inactive or cancelled (注销) account loads as nobody: refused on its very next request, not only at
        # its next sign-in
        if user is None or not user.active or user.cancelled_at is not None:
            return None
        return user if user.session_generation == int(generation) else None
    except ValueError:
        return None


login_manager.login_view = "auth.login"
login_manager.login_message = "请先登录"


def role_required(*roles: str):
    """Route guard: logged in and holding one of the roles (403 otherwise)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if not current_user.roles.intersection(roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorator


def wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json" or request.is_json


def clock_status(case):
    """The statutory clock of an open item case, for the lights on every page (None when not running)."""
    from ..domain import item_clock
    from ..services import calendar

    if not case.clock or case.finished:
        return None
    return item_clock.status(case.clock, calendar.work_calendar(), clock.now())


def register(app: Flask) -> None:
    from . import (
        admin,
        auth,
        cases,
        catalogue,
        declarations,
        enterprise,
        formatting,
        guard,
        permits,
        public,
        reference,
        registration,
        reviewer,
        security,
        staff_accounts,
        studio,
        supervision,
        taskcentre,
    )

    guard.init(app)  # control characters and out-of-range integers refused before any view; bounded <int:…>
    security.init(app)  # CSP, frame, nosniff, referrer, no-store and HSTS headers on every response
    for module in (auth, enterprise, declarations, permits, reviewer, cases, supervision, public, admin, catalogue,
                   taskcentre, studio, reference, registration, staff_accounts):
        app.register_blueprint(module.bp)

    app.jinja_env.filters["local"] = visible_datetime
    app.jinja_env.filters["deadline"] = visible_deadline
    formatting.init(app)  # amounts: 1100.0000 → 「1,100」 / 「1,100 万元」 (|amount, |money), inputs |plain_amount
    app.jinja_env.globals["FILING_STATUS"] = FILING_STATUS
    app.jinja_env.globals["KIND_LABELS"] = KIND_LABELS
    app.jinja_env.globals["PERMIT_STATUS"] = PERMIT_STATUS
    app.jinja_env.globals["calendar_warning"] = calendar_warning
    app.jinja_env.globals["clock_status"] = clock_status

    @app.errorhandler(ServiceError)
    def _service_error(exc: ServiceError):
        if wants_json():
            return jsonify(message=exc.message, errors=exc.errors), exc.status
        flash(exc.message, "error")
        return render_template("error.html", message=exc.message, errors=exc.errors), exc.status

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError):
        return render_template("error.html", message="页面已过期或来源不明（CSRF 校验失败），请刷新后重试"), 400

    @app.errorhandler(413)
    def _too_large(exc):
        limit = app.config["UPLOAD_MAX_BYTES"] // (1024 * 1024)
        message = f"上传的文件过大：「文件」不能超过{limit}MB，请压缩后重新上传"
        if wants_json():
            return jsonify(message=message, errors={"file": message}), 413
        return render_template("error.html", message=message), 413

    @app.errorhandler(403)
    def _forbidden(exc):
        return render_template("error.html", message="无权访问该页面或记录"), 403

    @app.errorhandler(404)
    def _not_found(exc):
        return render_template("error.html", message="页面或记录不存在"), 404

    @app.route("/")
    def home():
        if not current_user.is_authenticated:
            return render_template("home.html")
        if "applicant" in current_user.roles:
            return redirect(url_for("enterprise.projects"))
        if current_user.roles.intersection({"acceptor", "handler"}):
            return redirect(url_for("reviewer.todo"))
        if "dept_head" in current_user.roles:
            return redirect(url_for("reviewer.department"))
        if current_user.roles.intersection({"supervisor"}):
            return redirect(url_for("supervision.overview"))
        if current_user.roles.intersection({"province_admin", "city_admin"}):  # an account administrator only
            return redirect(url_for("staff.requests"))
        if "policy" in current_user.roles:  # policy staff's daily work: the 事项目录 (their 工作台 is one click away)
            return redirect(url_for("catalogue.items"))
        if "admin" in current_user.roles:
            return redirect(url_for("studio.home"))
        return render_template("home.html")
