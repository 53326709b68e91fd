"""Department accounts (issue 13, 002): applying for a reviewer account with item permissions, the administrators'
review in their scope, the organisation tree, users and their permissions."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("staff", __name__)
