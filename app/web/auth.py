from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from ..services import ServiceError
from ..services.accounts import authenticate, end_sessions

bp = Blueprint("auth", __name__)

# Browsers drop tab/CR/LF anywhere in a URL, strip leading control characters and spaces, and read "\" as "/":
# "/\t/evil", "/\evil" and " //evil" all become "//evil" (another host). So a target must be visible ASCII without
# a backslash (flask-login's ?next= is percent-encoded, so a real one always is); anything else is refused whole
# rather than cleaned, so what we check is exactly what the browser gets.
_PLAIN = re.compile(r"[!-\[\]-~]+")  # "!"…"~" except "\"


def local_target(target: str) -> str | None:
    """The ?next= target if it is a path on this site ("/…", not "//…"), else None."""
    if not _PLAIN.fullmatch(target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        try:
            user = authenticate(request.form.get("username", ""), request.form.get("password", ""))
        except ServiceError as exc:
            return render_template("login.html", error=exc.message, username=request.form.get("username", "")), 401
        # A fresh session: the CSRF token and anything else set before login (possibly planted) do not carry over.
        session.clear()
        session.permanent = True  # PERMANENT_SESSION_LIFETIME is the idle timeout
        login_user(user)
        return redirect(local_target(request.args.get("next", "")) or url_for("home"))
    return render_template("login.html")


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
