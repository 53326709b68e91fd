from flask import Blueprint, redirect, render_template, request, url_for

from ..services import certificates

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
                           status_label=certificates.STATUS.get(status or "", "")), (200 if certificate else 404)
