"""The studio's change log: every change policy staff make in the browser, with author, time, reason and diff."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine import clock

from ..extensions import db
from .org import User

STUDIO_ACTIONS = {"add": "新增", "change": "修改", "delete": "删除", "import": "导入", "grant": "授权",
                  "revoke": "撤销授权", "deploy": "部署", "rollback": "设为当前版本", "migrate": "迁移办件"}


class StudioChange(db.Model):
    """One change of one record. `diff` is a list of {field, label, before, after} as the page showed them
    (labels kept, so an old entry still reads right after a column is renamed); before is None for an added
    record, after is None for a deleted one."""

    __tablename__ = "studio_change"
    __table_args__ = (Index("ix_studio_change_area_key", "area", "record_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=clock.utcnow_naive)
    author_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    area: Mapped[str] = mapped_column(String(30))  # which table (industries, regions, item_roles …)
    record_key: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(10))  # STUDIO_ACTIONS
    reason: Mapped[str] = mapped_column(String(500))
    diff: Mapped[list] = mapped_column(JSON, default=list)

    author: Mapped[User] = relationship(lazy="selectin")  # joined would need .unique() (User joins its roles)

    @property
    def action_label(self) -> str:
        return STUDIO_ACTIONS.get(self.action, self.action)
