"""The studio's change log: one row per changed record, with author, time, reason and a field-by-field diff.

Below every studio use case (reference tables, item reviewers …), so each writes its trail the same way."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from ..extensions import db
from ..models import StudioChange, User
from . import ServiceError

REASON_MAX = StudioChange.__table__.c.reason.type.length
PAGE_SIZE = 50


def clean_reason(raw: Any) -> str:
    """The reason every studio change requires: not empty, within its column (a 422 naming 「修改原因」)."""
    reason = str(raw or "").strip()
    if not reason:
        raise ServiceError("请填写「修改原因」", 422, {"reason": "请填写「修改原因」（将记入修改记录）"})
    if len(reason) > REASON_MAX:
        message = f"「修改原因」不得超过{REASON_MAX}字"
        raise ServiceError(message, 422, {"reason": message})
    return reason


def diff_entry(field: str, label: str, before: str | None, after: str | None) -> dict[str, Any]:
    return {"field": field, "label": label, "before": before, "after": after}


def record(user: User, area: str, key: str, action: str, reason: str, diff: Sequence[dict[str, Any]]) -> StudioChange:
    change = StudioChange(author_id=user.id, area=area, record_key=key[:100], action=action, reason=reason,
                          diff=list(diff))
    db.session.add(change)
    return change


@dataclass(frozen=True)
class HistoryPage:
    rows: list[StudioChange]
    total: int
    page: int
    pages: int


def history(area: str, key: str | None = None, page: int = 1) -> HistoryPage:
    """A table's changes (or one record's), newest first, PAGE_SIZE a page."""
    where = [StudioChange.area == area]
    if key:
        where.append(StudioChange.record_key == key)
    total = db.session.scalar(select(func.count()).select_from(StudioChange).where(*where)) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    rows = db.session.scalars(select(StudioChange).where(*where).order_by(StudioChange.id.desc())
                              .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE))
    return HistoryPage(list(rows), total, page, pages)
