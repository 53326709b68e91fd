"""What a refused request must leave untouched, read back from the database."""
from __future__ import annotations

from app.extensions import db
from app.models import (
    FilingApplication,
    FilingCertificate,
    HumanTask,
    Instance,
    ItemCase,
    Notification,
    Permit,
    PostRequest,
    PublicNotice,
    SmsMessage,
    TrailEntry,
)


def world() -> tuple:
    """Every row a completion could touch, as plain values."""
    db.session.expire_all()
    shapes = ((Instance, ("id", "revision", "status")), (HumanTask, ("id", "task_id", "assignee", "bpmn_id")),
              (ItemCase, ("id", "status", "decision", "last_notice", "clock")),
              (FilingApplication, ("id", "status", "last_opinion")),
              (PostRequest, ("id", "status", "opinion", "letter_number")),
              (Permit, ("id", "status", "valid_until", "extended_on")))
    rows = tuple(tuple(tuple(getattr(r, c) for c in cols) for r in db.session.query(model).order_by(model.id))
                 for model, cols in shapes)
    counts = tuple(db.session.query(model).count()
                   for model in (TrailEntry, Notification, SmsMessage, PublicNotice, FilingCertificate))
    return rows, counts
