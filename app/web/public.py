from flask import Blueprint, redirect, render_template, request, url_for

from ..models import NOTICE_KINDS
from ..services import certificates, projects, public_query
from ..services import notices as notice_service
from .guard import db_int

bp = Blueprint("public", __name__)


@bp.route("/verify", methods=["GET"])
def verify_form():
    number = request.args.get("number", "").strip()
    if number:
        return redirect(url_for("public.verify", number=number))
    return render_template("public/verify.html", certificate=None, number="")


@bp.route("/verify/<number>")
def verify(number: str):
    certificate = certificates.verify(number)
    status = certificates.effective_status(certificate) if certificate else None
    return render_template("public/verify.html", certificate=certificate, number=number, status=status,
                           status_label=certificates.STATUS.get(status or "", ""),
                           successor=certificates.successor(certificate) if certificate else None), \
        (200 if certificate else 404)


@bp.route("/public/projects")
def project_lookup():
    code = request.args.get("code", "").strip()
    if code:
        return redirect(url_for("public.project", code=code))
    return render_template("public/project.html", project=None, code="", declarations=[], cases={})


@bp.route("/public/projects/<code>")
def project(code: str):
    """Anyone may look up a project's approval progress and results by its code (national rules art. 18):
    items, departments, results and document numbers; no materials and no personal data."""
    project, declarations, cases = public_query.project_progress(code)
    related = projects.related_projects(project) if project else (None, [])
    return render_template("public/project.html", project=project, code=code, declarations=declarations,
                           cases=cases, related=related), (200 if project else 404)


NOTICES_PER_PAGE = 20


@bp.route("/public/notices")
def notices():
    """公示公告 (national rules art. 18): filings, changes, cancellations, revocations and extensions."""
    kind = request.args.get("kind", "")
    if kind not in NOTICE_KINDS:
        kind = ""
    q = request.args.get("q", "").strip()[:100]
    page = max(1, request.args.get("page", type=db_int) or 1)
    rows, total = notice_service.search(kind, q, page, NOTICES_PER_PAGE)
    pages = max(1, -(-total // NOTICES_PER_PAGE))
    if page > pages:  # past the end (an old link): show the last page
        page = pages
        rows, total = notice_service.search(kind, q, page, NOTICES_PER_PAGE)
    return render_template("public/notices.html", rows=rows, total=total, page=page, pages=pages, kind=kind, q=q,
                           kinds=NOTICE_KINDS)
