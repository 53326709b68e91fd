"""Engine tables: definitions (process versions) apart from instances, as SpiffWorkflow keeps
specs apart from tasks. Times are naive UTC everywhere."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from . import clock


class Base(DeclarativeBase):
    """Shared declarative base: the application's models derive from it too, so one metadata
    (and one Alembic history) covers engine and application tables."""


class ProcessVersion(Base):
    __tablename__ = "wf_process_version"
    __table_args__ = (UniqueConstraint("process_key", "content_hash"), UniqueConstraint("process_key", "version"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_key: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(200))
    bpmn_source: Mapped[str] = mapped_column(Text)
    # [[filename, source], ...] of the files the diagram uses: DMN tables and called BPMN processes
    dmn_sources: Mapped[list] = mapped_column(JSON, default=list)
    deployed_at: Mapped[datetime] = mapped_column(DateTime, default=clock.utcnow_naive)
    deployed_by: Mapped[str] = mapped_column(String(100), default="system")
    reason: Mapped[str | None] = mapped_column(Text)  # why it was deployed (the studio requires one)


class ProcessCurrent(Base):
    """Which version of a process new instances start on: the newest deployed, until someone makes an
    earlier one current again (roll back). Running instances keep their own version whatever this says."""

    __tablename__ = "wf_process_current"

    process_key: Mapped[str] = mapped_column(String(100), primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("wf_process_version.id"))
    changed_at: Mapped[datetime] = mapped_column(DateTime, default=clock.utcnow_naive)
    changed_by: Mapped[str] = mapped_column(String(100), default="system")


class ProcessDraft(Base):
    """A diagram file (BPMN or DMN) being edited in the studio, not yet deployed: one shared draft per file,
    saved with a compare-and-set so two editors never overwrite each other unseen."""

    __tablename__ = "wf_process_draft"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    filename: Mapped[str] = mapped_column(String(200), unique=True)
    content: Mapped[str] = mapped_column(Text)
    base_hash: Mapped[str] = mapped_column(String(64))  # sha256 of the deployed file it started from
    author: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=clock.utcnow_naive)
    revision: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": revision}


class Instance(Base):
    __tablename__ = "wf_instance"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_version_id: Mapped[int] = mapped_column(ForeignKey("wf_process_version.id"), index=True)
    process_key: Mapped[str] = mapped_column(String(100), index=True)
    business_key: Mapped[str | None] = mapped_column(String(100), index=True)
    status: Mapped[str] = mapped_column(String(20), default="running")  # running|completed|error|cancelled
    state: Mapped[str] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.utcnow_naive)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=clock.utcnow_naive)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)

    # Every UPDATE carries "WHERE revision = :loaded" and bumps it: a compare-and-set.
    __mapper_args__ = {"version_id_col": revision}


class HumanTask(Base):
    """READY manual tasks, projected after every save so inboxes never deserialize workflows."""

    __tablename__ = "wf_human_task"
    __table_args__ = (
        UniqueConstraint("instance_id", "task_id"),
        # Matches the inbox's WHERE and ORDER BY, so the first page is read in order, not sorted:
        # 1.3 ms instead of 23–28 ms at 100,000 open tasks (bench/).
        Index("ix_wf_human_task_inbox_due", "candidate_role", "department_id", "region_code",
              text("(due_at IS NULL)"), "due_at", "id"),
        # SQLite would give a deleted task's id to the next task: a second click on a finished step would
        # land on the next one. AUTOINCREMENT never reuses ids (PostgreSQL sequences never do).
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("wf_instance.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))
    bpmn_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    form_key: Mapped[str] = mapped_column(String(100))
    candidate_role: Mapped[str] = mapped_column(String(50))
    department_id: Mapped[int | None] = mapped_column(Integer)
    region_code: Mapped[str | None] = mapped_column(String(12))
    assignee: Mapped[str | None] = mapped_column(String(100), index=True)
    business_key: Mapped[str | None] = mapped_column(String(100))
    # What within the department the task is about (e.g. an item code), for per-item permissions.
    scope: Mapped[str | None] = mapped_column(String(40))
    title: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.utcnow_naive, index=True)
    due_at: Mapped[datetime | None] = mapped_column(DateTime)
    remind_at: Mapped[datetime | None] = mapped_column(DateTime)


class PendingTimer(Base):
    __tablename__ = "wf_timer"
    __table_args__ = (UniqueConstraint("instance_id", "task_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("wf_instance.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))
    bpmn_id: Mapped[str] = mapped_column(String(100))
    due_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    # Failed firings (a listener raised, a value did not fit its column …): the timer backs off until
    # retry_at and stops after runtime.TIMER_MAX_ATTEMPTS instead of failing on every tick unseen; an operator
    # sees it (系统管理 → 定时任务故障) and retries it. A timer re-projected with a new due time starts afresh.
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(String(1000))
    failed_at: Mapped[datetime | None] = mapped_column(DateTime)
    retry_at: Mapped[datetime | None] = mapped_column(DateTime)


class TrailEntry(Base):
    """Append-only: every engine and user action, one row."""

    __tablename__ = "wf_trail"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=clock.utcnow_naive, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(30))
    instance_id: Mapped[int | None] = mapped_column(Integer, index=True)
    task_id: Mapped[str | None] = mapped_column(String(36))
    bpmn_id: Mapped[str | None] = mapped_column(String(100))
    task_name: Mapped[str | None] = mapped_column(String(200))
    status_before: Mapped[str | None] = mapped_column(String(30))
    status_after: Mapped[str | None] = mapped_column(String(30))
    detail: Mapped[dict | None] = mapped_column(JSON)

