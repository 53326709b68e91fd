"""After issue: the enterprise's permit pages (change, extension, cancellation, progress) and the
authority's (permit list, revocation)."""
from flask import Blueprint

bp = Blueprint("permits", __name__)
