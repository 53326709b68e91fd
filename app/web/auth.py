from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import login_required, login_user, logout_user

from ..services import ServiceError
from ..services.accounts import authenticate

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        try:
            user = authenticate(request.form.get("username", ""), request.form.get("password", ""))
        except ServiceError as exc:
            return render_template("login.html", error=exc.message, username=request.form.get("username", "")), 401
        session.permanent = True  # PERMANENT_SESSION_LIFETIME is the idle timeout
        login_user(user)
        target = request.args.get("next", "")
        return redirect(target if target.startswith("/") and not target.startswith("//") else url_for("home"))
    return render_template("login.html")


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    flash("已安全退出", "info")
    return redirect(url_for("auth.login"))
