"""After approval: the permit's life (validity, extension, cancellation, revocation), change and
extension requests, progress reports, public notices and the SMS outbox."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from engine import clock

from ..extensions import db
from .org import Department, Enterprise
from .project import Project
from .text import clip_to_column

PERMIT_KINDS = {"filing": "备案证", "authorisation": "核准文件"}
PERMIT_STATUS = {"valid": "有效", "lapsed": "已失效（超过有效期未开工）", "cancelled": "已注销", "revoked": "已撤销",
                 "replaced": "已重新赋码办理（由新项目代码的文件替代）"}


class Permit(db.Model):
    """The document a project's construction rests on (备案证 or 核准文件) and its life after issue.
    One source of truth for validity: the certificate PDF and the public pages read it."""

    __tablename__ = "permit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # filing|authorisation
    number: Mapped[str] = mapped_column(String(40), unique=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("filing_certificate.id"), unique=True)
    item_case_id: Mapped[int | None] = mapped_column(ForeignKey("item_case.id"), unique=True)
    issued_on: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    started_on: Mapped[date | None] = mapped_column(Date)  # reported start: valid for good
    extended_on: Mapped[date | None] = mapped_column(Date)  # at most one extension
    status: Mapped[str] = mapped_column(String(20), default="valid", index=True)
    ended_on: Mapped[date | None] = mapped_column(Date)
    end_reason: Mapped[str | None] = mapped_column(Text)
    ended_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    # The figures as they stand after issued changes (the certificate's own snapshot stays frozen).
    current: Mapped[dict] = mapped_column(JSON, default=dict)
    validity_instance_id: Mapped[int | None] = mapped_column(ForeignKey("wf_instance.id"))
    progress_instance_id: Mapped[int | None] = mapped_column(ForeignKey("wf_instance.id"))

    project: Mapped[Project] = relationship(lazy="joined")
    department: Mapped[Department] = relationship(lazy="joined")
    enterprise: Mapped[Enterprise] = relationship(lazy="joined")

    @property
    def kind_label(self) -> str:
        return PERMIT_KINDS.get(self.kind, self.kind)

    @property
    def status_label(self) -> str:
        return PERMIT_STATUS.get(self.status, self.status)


REQUEST_KINDS = {"change": "变更", "extension": "延期"}
REQUEST_STATUS = {"submitted": "待受理", "accepted": "审核中", "reviewed": "待签发", "issued": "已办结（同意）",
                  "refused": "不予同意", "rejected": "不予受理", "returned": "已退回",
                  "reapproval": "重大变化，须重新赋码办理"}


class PostRequest(db.Model):
    """A 变更 or 延期 application on a permit (办件), driven by its workflow instance."""

    __tablename__ = "post_request"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # change|extension
    permit_id: Mapped[int] = mapped_column(ForeignKey("permit.id"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("wf_instance.id"), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="submitted", index=True)
    reason: Mapped[str] = mapped_column(Text)
    # change: [{"field", "label", "before", "after"}]; extension: [{"field": "valid_until", ...}]
    changes: Mapped[list] = mapped_column(JSON, default=list)
    values: Mapped[dict] = mapped_column(JSON, default=dict)  # the validated new values (change)
    upload_ids: Mapped[list] = mapped_column(JSON, default=list)
    opinion: Mapped[str | None] = mapped_column(Text)
    letter_number: Mapped[str | None] = mapped_column(String(40), unique=True)  # 变更函
    new_project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id"))  # re-approval
    submitted_at: Mapped[datetime] = mapped_column(DateTime, default=clock.utcnow_naive)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)

    permit: Mapped[Permit] = relationship(lazy="joined")
    project: Mapped[Project] = relationship(lazy="joined", foreign_keys=[project_id])
    new_project: Mapped[Project | None] = relationship(foreign_keys=[new_project_id])

    @property
    def kind_label(self) -> str:
        return REQUEST_KINDS.get(self.kind, self.kind)

    @property
    def status_label(self) -> str:
        return REQUEST_STATUS.get(self.status, self.status)


class ProjectProgress(db.Model):
    """项目进展: the actual start and completion, as the enterprise last reported them."""

    __tablename__ = "project_progress"
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), primary_key=True)
    actual_start: Mapped[date | None] = mapped_column(Date)
    completed_on: Mapped[date | None] = mapped_column(Date)
    completion_note: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=clock.utcnow_naive)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))


class ProgressYear(db.Model):
    """One yearly row of the progress report (年度进度报告)."""

    __tablename__ = "project_progress_year"
    __table_args__ = (UniqueConstraint("project_id", "year"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    invested: Mapped[Decimal] = mapped_column(Numeric(18, 4))  # 完成投资额（万元）
    progress: Mapped[str] = mapped_column(String(500))  # 建设进程
    reported_at: Mapped[datetime] = mapped_column(DateTime, default=clock.utcnow_naive)


NOTICE_KINDS = {"filing": "备案公开", "change": "变更公告", "cancellation": "注销公告", "revocation": "撤销公告",
                "extension": "延期公告"}


class PublicNotice(db.Model):
    """公示公告 (national rules art. 18): written in the same transaction as the act it announces."""

    __tablename__ = "public_notice"
    __table_args__ = (Index("ix_public_notice_kind_date", "kind", "published_on", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    project_code: Mapped[str] = mapped_column(String(24), index=True)
    project_name: Mapped[str] = mapped_column(String(200))
    authority: Mapped[str] = mapped_column(String(100))
    document_number: Mapped[str] = mapped_column(String(40), default="")
    published_on: Mapped[date] = mapped_column(Date)
    detail: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.utcnow_naive)

    @validates("detail")
    def _clip(self, key: str, value: str) -> str | None:
        return clip_to_column(type(self), key, value)  # composed from change labels

    @property
    def kind_label(self) -> str:
        return NOTICE_KINDS.get(self.kind, self.kind)


class SmsMessage(db.Model):
    """The default SMS gateway's outbox: nothing leaves the platform; admins read it."""

    __tablename__ = "sms_outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(String(500))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    gateway: Mapped[str] = mapped_column(String(40), default="outbox")
    status: Mapped[str] = mapped_column(String(20), default="queued")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.utcnow_naive, index=True)

    @validates("text")
    def _clip(self, key: str, value: str) -> str | None:
        return clip_to_column(type(self), key, value)  # composed from a project name, an opinion …
