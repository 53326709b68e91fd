from flask import Blueprint, render_template, request
from flask_login import current_user

from ..services import supervision
from . import role_required
from .guard import db_int

bp = Blueprint("supervision", __name__, url_prefix="/supervision")


@bp.route("/")
@role_required("policy", "supervisor", "admin")
def overview():
    light = request.args.get("light") or None
    if light not in (None, "green", "yellow", "red", "paused", "waiting"):
        light = None
    department_id = request.args.get("department", type=db_int)
    return render_template("supervision/overview.html", rows=supervision.overview(current_user, light, department_id),
                           light=light, department_id=department_id, departments=supervision.departments(current_user))
