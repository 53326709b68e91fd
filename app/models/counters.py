"""Number counters and one-time form tokens (issue 11: numbers that cannot collide, no double 领码)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from engine import clock

from ..extensions import db


class NumberCounter(db.Model):
    """The last serial issued under a number prefix, per numbered column ("table.column").

    Incremented by one atomic upsert (app.services.next_serial): the row lock it takes is held to the end
    of the transaction, so concurrent transactions get consecutive values, and a rollback gives the value
    back (printed numbers have no gaps)."""

    __tablename__ = "number_counter"
    scope: Mapped[str] = mapped_column(String(60), primary_key=True)
    prefix: Mapped[str] = mapped_column(String(60), primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer)


class FormToken(db.Model):
    """A one-time token issued with a form and stored on its first successful use: the same form
    posted again (double click, second tab, browser resubmit) is recognised and refused."""

    __tablename__ = "form_token"
    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    purpose: Mapped[str] = mapped_column(String(40))
    result: Mapped[str | None] = mapped_column(String(100))  # what the first use produced, for the message
    used_at: Mapped[datetime] = mapped_column(DateTime, default=clock.utcnow_naive)
