"""审批/核准: the item catalogue (事项目录), declarations, one case per item, uploads."""
from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine import clock

from ..domain.item_clock import UNIT_WORDS
from ..domain.workdays import SHANGHAI
from ..extensions import db
from .org import Department, Enterprise
from .project import Project

KIND_LABELS = {"approval": "审批类", "authorisation": "核准类", "filing": "备案类"}
UNIT_LABELS = {"workday": "个工作日", "day": "日"}


class ApprovalItem(db.Model):
    """One item of the catalogue, by its unified name (发改投资〔2019〕268号); a province refines
    it only as a sub-item (子项) under that name (parent_code)."""

    __tablename__ = "approval_item"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("approval_item.code"))
    kinds: Mapped[list] = mapped_column(JSON, default=list)  # approval|authorisation|filing
    stage: Mapped[str] = mapped_column(String(30))  # 立项用地规划许可|工程建设许可|施工许可|竣工验收
    dept_type: Mapped[str] = mapped_column(String(20))  # matches Department.dept_type
    level: Mapped[str] = mapped_column(String(10))  # county|city|province: who handles it for a project
    statutory_limit: Mapped[int | None] = mapped_column(Integer)  # None: the law fixes none
    promised_limit: Mapped[int] = mapped_column(Integer)  # what the clock counts
    unit: Mapped[str] = mapped_column(String(10), default="workday")  # workday|day
    max_extension: Mapped[int] = mapped_column(Integer, default=0)  # cap of one extension, same unit
    has_intermediary: Mapped[bool] = mapped_column(Boolean, default=False)
    has_expert_review: Mapped[bool] = mapped_column(Boolean, default=False)
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    limit_source: Mapped[str] = mapped_column(Text, default="")  # where the time limit comes from
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    sort: Mapped[int] = mapped_column(Integer, default=0)

    materials: Mapped[list[ItemMaterial]] = relationship(
        order_by="ItemMaterial.sort", cascade="all, delete-orphan", lazy="selectin")

    @property
    def unit_label(self) -> str:
        """「个工作日」 or 「日」 after a number of this item's days (法定时限, 延长上限)."""
        return UNIT_LABELS.get(self.unit, self.unit)

    @property
    def limit_text(self) -> str:
        """「20个工作日」 or 「60日（自然日）」: the words every page uses for a limit (domain.item_clock)."""
        return f"{self.promised_limit}{UNIT_WORDS.get(self.unit, self.unit)}"


class ItemMaterial(db.Model):
    """A material the item asks for. No material outside the unified list may be required, unless a
    local regulation demands it (local_basis names it)."""

    __tablename__ = "item_material"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_code: Mapped[str] = mapped_column(ForeignKey("approval_item.code", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    required: Mapped[bool] = mapped_column(Boolean, default=True)
    template: Mapped[str] = mapped_column(String(300), default="")  # 样表/编制要求
    pdf_only: Mapped[bool] = mapped_column(Boolean, default=True)
    condition: Mapped[str] = mapped_column(String(200), default="")  # when it applies, e.g. 划拨用地
    # The same as a rule over the questionnaire's answers (app.domain.material_rules); None: no rule, so a
    # material with a condition text is 视情形 and one without is required as listed.
    applies_when: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
    local_basis: Mapped[str] = mapped_column(String(300), default="")
    sort: Mapped[int] = mapped_column(Integer, default=0)


class UserItemRole(db.Model):
    """A reviewer's permission per item: 受理人员 (acceptor) and/or 办理人员 (handler) (domain.md §10)."""

    __tablename__ = "user_item_role"
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    item_code: Mapped[str] = mapped_column(ForeignKey("approval_item.code", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(ForeignKey("role.code"), primary_key=True)


DECLARATION_STATUS = {
    "declaring": "填报中", "handling": "办理中", "completed": "已办结",
}


class Declaration(db.Model):
    """One 事项申报 (审批 or 核准) of a project: the answers, the items, the completion notice."""

    __tablename__ = "declaration"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)  # 办件单号
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    kind: Mapped[str] = mapped_column(String(20))  # the project's kind: approval|authorisation|filing
    # 立项|可研|初步设计 (审批类 stages, app.services.stages) or 报建 (items chosen after the main approval)
    stage: Mapped[str] = mapped_column(String(20), default="立项")
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("wf_instance.id"), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="declaring", index=True)
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    item_codes: Mapped[list] = mapped_column(JSON, default=list)  # as the decision table gave them
    must_tender: Mapped[bool] = mapped_column(Boolean, default=False)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)
    notice_number: Mapped[str | None] = mapped_column(String(40), unique=True)  # 办结告知书
    # 信息确认 of a later stage: {"changes": [{field, label, before, after}], "total_investment", "overrun"}
    confirmation: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.utcnow_naive)

    project: Mapped[Project] = relationship(lazy="joined")
    enterprise: Mapped[Enterprise] = relationship(lazy="joined")

    @property
    def status_label(self) -> str:
        return DECLARATION_STATUS.get(self.status, self.status)

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)


CASE_STATUS = {
    "declared": "待提交", "done_before": "已办理过", "not_needed": "不需要办理", "receiving": "待受理",
    "correction": "待补正（暂停计时）",
    "handling": "办理中", "paused_correction": "待补正（暂停计时）", "expert": "中介/专家评审（暂停计时）",
    "approved": "准予许可", "refused": "不予许可", "not_accepted": "不予受理",
}
FINISHED_CASES = ("approved", "refused", "not_accepted")
# Marked by the applicant (000 §5: 已办理, or 不需要办理): not sent to any department in this declaration.
SKIPPED_CASES = ("done_before", "not_needed")


class ItemCase(db.Model):
    """One item of one declaration, handled by one department; mirrors its branch of the workflow
    (status, clock) so lists and supervision read a table, never a workflow state."""

    __tablename__ = "item_case"
    __table_args__ = (UniqueConstraint("declaration_id", "item_code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    declaration_id: Mapped[int] = mapped_column(ForeignKey("declaration.id", ondelete="CASCADE"), index=True)
    item_code: Mapped[str] = mapped_column(ForeignKey("approval_item.code"))
    item_name: Mapped[str] = mapped_column(String(100))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    region_code: Mapped[str | None] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(20), default="declared", index=True)
    clock: Mapped[dict | None] = mapped_column(JSON)  # app.domain.item_clock state
    due_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)  # None while paused
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    corrections: Mapped[int] = mapped_column(Integer, default=0)
    last_notice: Mapped[dict | None] = mapped_column(JSON)  # the latest 一次性告知 or refusal
    # 我已办理过此事项: the earlier document's 文号 (done_before) or why none is needed (not_needed).
    prior_document: Mapped[str] = mapped_column(String(100), default="")
    decision: Mapped[dict | None] = mapped_column(JSON)  # 文号, title, opinion, tender ...
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime)

    declaration: Mapped[Declaration] = relationship(lazy="joined")
    department: Mapped[Department | None] = relationship(lazy="joined")
    item: Mapped[ApprovalItem] = relationship(lazy="joined")

    @property
    def status_label(self) -> str:
        return CASE_STATUS.get(self.status, self.status)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_CASES

    @property
    def skipped(self) -> bool:
        return self.status in SKIPPED_CASES

    @property
    def document_number(self) -> str:
        """The 文号 a list shows: the decision's, or the earlier one the applicant named; none if not needed."""
        if self.decision and self.decision.get("doc_number"):
            return self.decision["doc_number"]
        return self.prior_document if self.status == "done_before" and self.prior_document else ""

    @property
    def decided_at_aware(self) -> datetime | None:
        return self.decided_at.replace(tzinfo=UTC) if self.decided_at else None

    @property
    def decided_at_local_date(self) -> date | None:
        return self.decided_at.replace(tzinfo=UTC).astimezone(SHANGHAI).date() if self.decided_at else None


class Upload(db.Model):
    """A stored file, by content hash: the same bytes are kept once however often they are attached."""

    __tablename__ = "upload"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    pages: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.utcnow_naive)


class Attachment(db.Model):
    """A material attached to a declaration: for one item's listed material, or one the applicant added."""

    __tablename__ = "attachment"
    __table_args__ = {"sqlite_autoincrement": True}  # a stale 删除 click must never hit a newer upload's id
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    declaration_id: Mapped[int] = mapped_column(ForeignKey("declaration.id", ondelete="CASCADE"), index=True)
    item_code: Mapped[str | None] = mapped_column(ForeignKey("approval_item.code"))  # None: shared by all
    material_id: Mapped[int | None] = mapped_column(ForeignKey("item_material.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(200))  # the material's name (or the applicant's own)
    filename: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(ForeignKey("upload.sha256"))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime, default=clock.utcnow_naive)
    superseded: Mapped[bool] = mapped_column(Boolean, default=False)  # replaced by a 补正 upload
