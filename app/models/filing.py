from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from engine import clock

from ..extensions import db
from .org import Department, Enterprise
from .project import Project
from .text import clip_to_column

if TYPE_CHECKING:
    from .lifecycle import Permit

FILING_STATUS = {
    "draft": "草稿", "submitted": "待受理", "accepted": "审核中", "reviewed": "待签发",
    "correction": "待补正", "issued": "已备案", "rejected": "不予受理",
}


class FilingApplication(db.Model):
    """One 备案 application (办件); its workflow instance drives the status."""

    __tablename__ = "filing_application"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)  # 办件单号
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("wf_instance.id"), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    draft: Mapped[dict] = mapped_column(JSON, default=dict)  # what the applicant typed, as typed
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime)
    due_at: Mapped[datetime | None] = mapped_column(DateTime)
    reminded: Mapped[bool] = mapped_column(Boolean, default=False)
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    rounds: Mapped[int] = mapped_column(Integer, default=0)
    last_opinion: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.utcnow_naive)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=clock.utcnow_naive)

    project: Mapped[Project] = relationship(lazy="joined")
    department: Mapped[Department | None] = relationship(lazy="joined")
    enterprise: Mapped[Enterprise] = relationship(lazy="joined")

    @property
    def status_label(self) -> str:
        return FILING_STATUS.get(self.status, self.status)


class FilingCertificate(db.Model):
    """电子备案证. The figures are frozen at issue so the PDF always says what was certified."""

    __tablename__ = "filing_certificate"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("filing_application.id"), unique=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"))
    issued_on: Mapped[date] = mapped_column(Date)
    snapshot: Mapped[dict] = mapped_column(JSON)
    issued_by: Mapped[int] = mapped_column(ForeignKey("app_user.id"))

    project: Mapped[Project] = relationship(lazy="joined")
    department: Mapped[Department] = relationship(lazy="joined")
    # Validity, start and status live on the permit (app.models.lifecycle), the one record of its life.
    permit: Mapped[Permit] = relationship("Permit", lazy="joined", uselist=False, viewonly=True)

    @property
    def valid_until(self) -> date:
        return self.permit.valid_until

    @property
    def started_on(self) -> date | None:
        return self.permit.started_on

    @property
    def status(self) -> str:
        return self.permit.status


class Notification(db.Model):
    """待阅 / reminders: to one user, or to every holder of a role in a department."""

    __tablename__ = "notification"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # reminder|overdue|result|progress|cancelled|revoked|lapsed
    title: Mapped[str] = mapped_column(String(200))
    link: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.utcnow_naive, index=True)
    read_at: Mapped[datetime | None] = mapped_column(DateTime)

    @validates("title")
    def _clip(self, key: str, value: str) -> str | None:
        return clip_to_column(type(self), key, value)  # composed from a project name, an opinion …
