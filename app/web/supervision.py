"""电子监察: the overview of time limits (审批事项 and 备案), its spreadsheet export, and read-only case views."""
import io

from flask import Blueprint, render_template, request, send_file
from flask_login import current_user
from sqlalchemy import select

from engine import clock

from ..extensions import db
from ..models import ItemCase
from ..services import calendar, inbox, spreadsheet, supervision, uploads
from ..services.filing import certificate_of
from ..services.platform import choices, forms_of_instance
from . import role_required
from .guard import db_int

bp = Blueprint("supervision", __name__, url_prefix="/supervision")
ROLES = ("policy", "supervisor", "admin")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _filters() -> dict:
    light = request.args.get("light") or None
    kind = request.args.get("kind") or None
    return {"light": light if light in supervision.LIGHTS else None,
            "kind": kind if kind in supervision.KINDS else None,
            "department_id": request.args.get("department", type=db_int)}


@bp.route("/")
@role_required(*ROLES)
def overview():
    filters = _filters()
    return render_template("supervision/overview.html", rows=supervision.overview(current_user, **filters),
                           departments=supervision.departments(current_user), lights=supervision.LIGHTS,
                           kinds=supervision.KINDS, **filters)


@bp.route("/export.xlsx")
@role_required(*ROLES)
def export():
    """The cases the page lists with the same filters, as a spreadsheet."""
    filters = _filters()
    rows = supervision.export_rows(supervision.overview(current_user, **filters))
    content = spreadsheet.write("电子监察", supervision.EXPORT_HEADERS, rows,
                                widths=(8, 26, 30, 24, 24, 22, 12, 10, 18, 17, 17, 10, 17))
    return send_file(io.BytesIO(content), mimetype=XLSX, as_attachment=True,
                     download_name=f"电子监察-{calendar.today():%Y%m%d}.xlsx")


@bp.route("/cases/<int:case_id>")
@role_required(*ROLES)
def item_case(case_id: int):
    case = supervision.item_case(current_user, case_id)
    declaration = case.declaration
    history = inbox.history(declaration.instance_id) if declaration.instance_id else []
    return render_template(
        "supervision/case.html", case=case, declaration=declaration,
        attachments=[a for a in uploads.declaration_attachments(declaration.id) if a.item_code in (case.item_code, None)],
        item_names={c.item_code: c.item_name for c in db.session.scalars(
            select(ItemCase).where(ItemCase.declaration_id == declaration.id))},
        history=[h for h in history if (h.detail or {}).get("item", (h.detail or {}).get("scope")) in
                 (case.item_code, None)])


@bp.route("/filings/<int:application_id>")
@role_required(*ROLES)
def filing(application_id: int):
    application = supervision.filing(current_user, application_id)
    return render_template("supervision/filing.html", application=application,
                           clock=supervision.filing_clock(application, clock.now()),
                           certificate=certificate_of(application), choices=choices,
                           form=forms_of_instance(application.instance_id).get("filing"),
                           history=inbox.history(application.instance_id) if application.instance_id else [])
