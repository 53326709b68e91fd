"""Reading what the platform announced: 公示公告 for the public, the SMS outbox for administrators."""
from __future__ import annotations

from sqlalchemy import func, or_, select

from ..extensions import db
from ..models import NOTICE_KINDS, PublicNotice, SmsMessage


def search(kind: str | None, q: str | None, page: int, per_page: int = 20) -> tuple[list[PublicNotice], int]:
    """One page of notices, newest published first. An unknown kind means all kinds; page < 1 means 1."""
    conditions = []
    if kind in NOTICE_KINDS:
        conditions.append(PublicNotice.kind == kind)
    q = (q or "").strip()
    if q:
        conditions.append(or_(PublicNotice.project_code.contains(q, autoescape=True),
                              PublicNotice.project_name.contains(q, autoescape=True)))
    page = max(1, page or 1)
    total = db.session.scalar(select(func.count(PublicNotice.id)).where(*conditions)) or 0
    rows = db.session.scalars(select(PublicNotice).where(*conditions)
                              .order_by(PublicNotice.published_on.desc(), PublicNotice.id.desc())
                              .limit(per_page).offset((page - 1) * per_page))
    return list(rows), total


def sms_outbox(limit: int = 200) -> list[SmsMessage]:
    """The newest messages the SMS gateway recorded (the default gateway sends nothing)."""
    return list(db.session.scalars(select(SmsMessage).order_by(SmsMessage.created_at.desc(), SmsMessage.id.desc())
                                   .limit(limit)))


def mask_phone(phone: str) -> str:
    """13800138000 → 138****8000: enough to tell numbers apart, not enough to call."""
    phone = phone or ""
    if len(phone) < 8:
        return phone[:2] + "*" * max(0, len(phone) - 2)
    return phone[:3] + "****" + phone[7:]
