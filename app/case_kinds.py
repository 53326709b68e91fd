"""The contract between the diagrams in processes/ and the application: one registry of case kinds.

A case kind (备案, 审批/核准 declaration with its items, stage, 报建, 变更, 延期, 注销/撤销, 有效期, 项目进展) names
its processes, the shape of its business key, the form keys and candidate roles its user tasks may use, the
events its diagrams may emit — each with its payload and its one handler — its task kinds with the routes and
pages that serve them, and how one of its cases is shown in a list. Deploy checks every diagram against it
(app/bootstrap.py), the event dispatcher and the routes look things up in it, and nothing else knows which
service handles which process.

Above the use cases (it names their handlers), below the web layer (routes dispatch on it).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.tables import HumanTask, Instance

from .extensions import db
from .models import Declaration, FilingApplication, ItemCase, Permit, PostRequest
from .services import ServiceError, access, approval, construction, filing, permits, post_requests, stages, task_kinds
from .services.events import Event, EventContext


# ---- events ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Field:
    types: tuple[type, ...]
    optional: bool = False


TEXT, NUMBER, FLAG = Field((str,)), Field((int,)), Field((bool,))
LIST, RECORD = Field((list, tuple)), Field((dict,))
OPTIONAL_RECORD = Field((dict, type(None)), optional=True)


class EventContractError(ValueError):
    """An event that breaks its declaration: a diagram deployed before the contract, or a bug."""


@dataclass(frozen=True)
class EventType:
    name: str
    label: str  # what happened, in the words of the studio
    handler: Callable[..., None]  # (EventContext, subject, event)
    payload: Mapping[str, Field] = field(default_factory=dict)

    def check(self, event: Event) -> None:
        fields = {k: v for k, v in event.items() if k != "kind"}
        unknown = sorted(set(fields) - set(self.payload))
        if unknown:
            raise EventContractError(f"事件 {self.name} 带有未声明的字段：{'、'.join(unknown)}")
        for name, spec in self.payload.items():
            if name not in fields:
                if not spec.optional:
                    raise EventContractError(f"事件 {self.name} 缺少字段 {name}")
            elif not isinstance(fields[name], spec.types) or isinstance(fields[name], bool) is not (bool in spec.types):
                raise EventContractError(f"事件 {self.name} 的字段 {name} 类型不符：{type(fields[name]).__name__}")


def _events(*types: EventType) -> dict[str, EventType]:
    return {t.name: t for t in types}


FILING_EVENTS = _events(
    EventType("submitted", "企业提交备案信息，开始计时", filing.on_submitted, {"due_at": TEXT}),
    EventType("accepted", "备案机关受理", filing.status_handler("accepted")),
    EventType("correction", "退回企业补正", filing.status_handler("correction")),
    EventType("withdrawn", "企业撤回申请", filing.status_handler("draft")),
    EventType("rejected", "不予受理", filing.status_handler("rejected")),
    EventType("reminder", "剩余1个工作日，提醒办理人员", filing.on_deadline, {"due_at": TEXT}),
    EventType("overdue", "超过办理时限", filing.on_deadline, {"due_at": TEXT}),
    EventType("issued", "签发备案证", filing.on_issued),
)
_ITEM = {"item": TEXT}
ITEM_EVENTS = _events(
    EventType("item_received", "事项进入受理", approval.item_handler(approval.on_item_received), _ITEM),
    EventType("correction", "一次性告知补正", approval.item_handler(approval.on_correction), {**_ITEM, "stage": TEXT}),
    EventType("supplemented", "企业补正后重新受理", approval.item_handler(approval.on_item_received),
              {**_ITEM, "stage": TEXT}),
    EventType("not_accepted", "不予受理", approval.item_handler(approval.on_not_accepted), _ITEM),
    EventType("clock", "法定时限计时（开始、暂停、恢复、延长）", approval.item_handler(approval.on_clock),
              {**_ITEM, "action": TEXT, "reason": TEXT, "clock": RECORD, "days": Field((int,), optional=True)}),
    EventType("decided", "办结（准予或不予许可）", approval.item_handler(approval.on_decided),
              {**_ITEM, "result": TEXT, "clock": OPTIONAL_RECORD}),
    EventType("item_warning", "黄灯：剩余时限不足三分之一", approval.item_handler(approval.on_item_deadline),
              {**_ITEM, "due_at": TEXT}),
    EventType("item_overdue", "红灯：超过办理时限", approval.item_handler(approval.on_item_deadline),
              {**_ITEM, "due_at": TEXT}),
)
_DETERMINED = EventType("determined", "按问卷确定须办理的事项", approval.on_determined, {"items": LIST, "must_tender": FLAG})
_RECEIVED = EventType("received", "申报已提交，各事项分送部门", approval.on_received, {"items": LIST})
_COMPLETED = EventType("completed", "全部事项办结", approval.on_completed, {"results": LIST})
DECLARATION_EVENTS = {**ITEM_EVENTS, **_events(_DETERMINED, _RECEIVED, _COMPLETED)}
STAGE_EVENTS = {**DECLARATION_EVENTS, **_events(
    EventType("info_confirmed", "企业确认项目信息", approval.on_info_confirmed, {"stage": TEXT}))}
_REQUEST = {"request_id": NUMBER}
_REQUEST_COMMON = (
    EventType("submitted", "企业提交申请，开始计时", post_requests.on_progress, {**_REQUEST, "due_at": TEXT}),
    EventType("accepted", "受理", post_requests.on_progress, _REQUEST),
    EventType("issued", "同意（出具变更函或延长有效期）", post_requests.on_decided, _REQUEST),
    EventType("refused", "不予同意", post_requests.on_decided, _REQUEST),
    EventType("rejected", "不予受理", post_requests.on_decided, _REQUEST),
)
EXTENSION_EVENTS = _events(*_REQUEST_COMMON)
CHANGE_EVENTS = _events(
    *_REQUEST_COMMON,
    EventType("reviewed", "审核通过，待签发", post_requests.on_progress, _REQUEST),
    EventType("reapproval", "属重大变化，重新赋码", post_requests.on_decided, _REQUEST),
)
_PERMIT = {"permit_id": NUMBER}


# ---- task kinds -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TaskKind:
    key: str
    routes: tuple[str, ...]  # the endpoints that complete it
    page: str  # the endpoint of its page, with page_args(task)
    page_args: Callable[[HumanTask], dict[str, int]]
    complete: Callable[..., Any] | None = None  # service (user, human_task_id, raw) for reviewer steps

    @property
    def label(self) -> str:
        return task_kinds.LABELS[self.key]

    @property
    def reviewer(self) -> bool:
        return self.key in task_kinds.REVIEWER_KINDS


def _key_id(task: HumanTask) -> int:
    return int((task.business_key or ":0").split(":", 1)[1])


def _case_page(task: HumanTask) -> dict[str, int]:
    case = access.case_of_task(task)
    if case is None:
        raise ServiceError("办件不存在", 404)
    return {"case_id": case.id}


TASK_KINDS = {k.key: k for k in (
    TaskKind(task_kinds.FILING, ("reviewer.complete",), "reviewer.task", lambda t: {"task_id": t.id},
             filing.complete_step),
    TaskKind(task_kinds.REQUEST, ("reviewer.complete",), "reviewer.task", lambda t: {"task_id": t.id},
             post_requests.complete_step),
    TaskKind(task_kinds.ITEM, ("cases.complete",), "cases.show", _case_page, approval.complete_item_step),
    TaskKind(task_kinds.FILL, ("enterprise.filing_form",), "enterprise.filing_detail",
             lambda t: {"application_id": _key_id(t)}),
    TaskKind(task_kinds.DECLARING, ("declarations.answer", "declarations.confirm", "declarations.choose",
                                    "declarations.submit"), "declarations.show", lambda t: {"declaration_id": _key_id(t)}),
    TaskKind(task_kinds.SUPPLEMENT, ("declarations.supplement",), "declarations.show",
             lambda t: {"declaration_id": _key_id(t)}),
    TaskKind(task_kinds.PROGRESS, ("permits.progress",), "permits.progress_for_task",
             lambda t: {"instance_id": t.instance_id}),
)}


def task_kind(task: HumanTask) -> TaskKind | None:
    key = task_kinds.key_of(task)
    return TASK_KINDS[key] if key else None


def served_by(task: HumanTask, route: str) -> TaskKind:
    """The task's kind if `route` completes it; refused before anything is written otherwise."""
    wanted = [k.key for k in TASK_KINDS.values() if route in k.routes]
    return TASK_KINDS[task_kinds.require(task, *wanted)]


# ---- how a case shows in a list (已办) ------------------------------------------------------------------
@dataclass(frozen=True)
class CaseRef:
    kind: str  # the case kind's label
    number: str
    name: str  # the project's
    applicant_page: tuple[str, dict[str, int]] | None
    reviewer_page: tuple[str, dict[str, int]] | None


Lookup = Callable[[Session, set[tuple[int, str | None]]], dict[tuple[int, str | None], CaseRef]]


def _filings(label: str) -> Lookup:
    def lookup(session: Session, keys: set[tuple[int, str | None]]) -> dict[tuple[int, str | None], CaseRef]:
        rows = {a.id: a for a in session.scalars(select(FilingApplication).where(
            FilingApplication.id.in_({k[0] for k in keys})))}
        return {k: CaseRef(label, a.number, a.project.name, ("enterprise.filing_detail", {"application_id": a.id}),
                           ("reviewer.application", {"application_id": a.id}))
                for k in keys if (a := rows.get(k[0])) is not None}
    return lookup


def _declarations(label: str) -> Lookup:
    def lookup(session: Session, keys: set[tuple[int, str | None]]) -> dict[tuple[int, str | None], CaseRef]:
        ids = {k[0] for k in keys}
        rows = {d.id: d for d in session.scalars(select(Declaration).where(Declaration.id.in_(ids)))}
        cases = {(c.declaration_id, c.item_code): c for c in session.scalars(
            select(ItemCase).where(ItemCase.declaration_id.in_(ids)))}
        refs = {}
        for key in keys:
            declaration = rows.get(key[0])
            if declaration is None:
                continue
            case = cases.get(key)
            what = f"{label}·{case.item_name}" if case is not None else label
            refs[key] = CaseRef(what, declaration.number, declaration.project.name,
                                ("declarations.show", {"declaration_id": declaration.id}),
                                ("cases.show", {"case_id": case.id}) if case is not None else None)
        return refs
    return lookup


def _requests(label: str) -> Lookup:
    def lookup(session: Session, keys: set[tuple[int, str | None]]) -> dict[tuple[int, str | None], CaseRef]:
        rows = {r.id: r for r in session.scalars(select(PostRequest).where(PostRequest.id.in_({k[0] for k in keys})))}
        return {k: CaseRef(label, r.number, r.project.name, ("permits.show", {"permit_id": r.permit_id}),
                           ("permits.authority_show", {"permit_id": r.permit_id}))
                for k in keys if (r := rows.get(k[0])) is not None}
    return lookup


def _permits(label: str) -> Lookup:
    def lookup(session: Session, keys: set[tuple[int, str | None]]) -> dict[tuple[int, str | None], CaseRef]:
        rows = {p.id: p for p in session.scalars(select(Permit).where(Permit.id.in_({k[0] for k in keys})))}
        return {k: CaseRef(label, p.number, p.project.name, ("permits.show", {"permit_id": p.id}),
                           ("permits.authority_show", {"permit_id": p.id}))
                for k in keys if (p := rows.get(k[0])) is not None}
    return lookup


# ---- case kinds -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CaseKind:
    key: str
    label: str
    processes: tuple[str, ...]
    business_key: str  # its shape, "<prefix>:<id>"
    subject: Callable[[Session, Instance], Any]  # the row the handlers act on, or None
    events: Mapping[str, EventType]
    forms: frozenset[str]
    roles: frozenset[str]
    task_kinds: tuple[str, ...]
    lookup: Lookup
    after: Callable[[EventContext, Any, list[Event]], None] | None = None  # after the events of every save

    @property
    def prefix(self) -> str:
        return self.business_key.split(":", 1)[0]


_ITEM_FORMS = frozenset({"item_accept", "item_review", "item_expert", "item_decide", "item_decide_tender",
                         "item_supplement"})
_ITEM_ROLES = frozenset({"acceptor", "handler", "applicant"})
_DECLARING_FORMS = frozenset({"declaration_questions", "declaration_submit"})
_REQUEST_FORMS = frozenset({"post_accept", "post_review", "post_issue", "change_review"})
_REVIEW_ROLES = frozenset({"acceptor", "handler"})
_PERMIT_KEY = "permit:<许可 id>"
_ITEM_TASKS = (task_kinds.DECLARING, task_kinds.SUPPLEMENT, task_kinds.ITEM)

KINDS: tuple[CaseKind, ...] = (
    CaseKind("filing", "企业投资项目备案", (filing.PROCESS_KEY,), "filing:<备案申请 id>", filing.application_of_instance,
             FILING_EVENTS, frozenset({"filing", "filing_accept", "filing_review", "filing_issue"}),
             frozenset({"applicant", *_REVIEW_ROLES}), (task_kinds.FILL, task_kinds.FILING), _filings("备案"),
             after=filing.after_events),
    CaseKind("declaration", "审批/核准事项申报", approval.PROCESS_KEYS, "declaration:<申报 id>",
             approval.declaration_of_instance, DECLARATION_EVENTS, _ITEM_FORMS | _DECLARING_FORMS, _ITEM_ROLES,
             _ITEM_TASKS, _declarations("事项申报")),
    CaseKind("stage", "审批类阶段申报（可研、初步设计）", (stages.STAGE_PROCESS,), "declaration:<申报 id>",
             approval.declaration_of_instance, STAGE_EVENTS, _ITEM_FORMS | _DECLARING_FORMS | {"stage_confirm"},
             _ITEM_ROLES, _ITEM_TASKS, _declarations("阶段申报")),
    CaseKind("construction", "报建", (construction.BUILD_PROCESS,), "declaration:<申报 id>",
             approval.declaration_of_instance, DECLARATION_EVENTS,
             _ITEM_FORMS | {"construction_items", "declaration_submit"}, _ITEM_ROLES, _ITEM_TASKS, _declarations("报建")),
    CaseKind("change", "项目变更", ("change",), "post:<申请 id>", post_requests.request_of_instance, CHANGE_EVENTS,
             _REQUEST_FORMS, _REVIEW_ROLES, (task_kinds.REQUEST,), _requests("变更申请")),
    CaseKind("extension", "有效期延期", ("extension",), "post:<申请 id>", post_requests.request_of_instance,
             EXTENSION_EVENTS, _REQUEST_FORMS, _REVIEW_ROLES, (task_kinds.REQUEST,), _requests("延期申请")),
    CaseKind("cancellation", "注销与撤销", (permits.CANCELLATION_PROCESS,), _PERMIT_KEY, permits.permit_of_instance,
             _events(EventType("cancelled", "企业注销", permits.on_cancelled, {**_PERMIT, "reason": TEXT}),
                     EventType("revoked", "机关撤销", permits.on_revoked, {**_PERMIT, "reason": TEXT})),
             frozenset(), frozenset(), (), _permits("注销/撤销")),
    CaseKind("validity", "有效期监管", (permits.VALIDITY_PROCESS,), _PERMIT_KEY, permits.permit_of_instance,
             _events(EventType("lapsed", "有效期届满未开工，自动失效", permits.on_lapsed, _PERMIT),
                     EventType("valid_for_good", "已开工，长期有效", permits.on_valid_for_good, _PERMIT)),
             frozenset(), frozenset(), (), _permits("有效期")),
    CaseKind("progress", "项目进展报送", (permits.PROGRESS_PROCESS,), _PERMIT_KEY, permits.permit_of_instance,
             _events(EventType("dates_reminder", "提醒填报开工、竣工时间", permits.on_dates_reminder,
                               {"round": NUMBER, "planned_end": TEXT}),
                     EventType("year_reminder", "提醒填报年度进度报告", permits.on_year_reminder, {"year": NUMBER}),
                     EventType("year_missed", "年度进度报告逾期未报", permits.on_year_missed, {"year": NUMBER})),
             frozenset({"progress_report"}), frozenset({"applicant"}), (task_kinds.PROGRESS,), _permits("项目进展")),
)
BY_PROCESS: dict[str, CaseKind] = {p: kind for kind in KINDS for p in kind.processes}
_BY_KEY = {kind.key: kind for kind in KINDS}
# Processes never started on their own, only called (call activities) by the processes of these kinds: their
# events and tasks belong to the caller's instance, so each caller's contract must allow them.
CALLED_BY: dict[str, tuple[str, ...]] = {"declaration": ("declaration", "stage"),
                                         "item_handling": ("declaration", "stage", "construction")}


def kinds_for_process(process_key: str) -> list[CaseKind]:
    if process_key in BY_PROCESS:
        return [BY_PROCESS[process_key]]
    return [k for k in KINDS if k.key in CALLED_BY.get(process_key, ())]


def case_refs(rows: Iterable[tuple[str, str | None, str | None]]) -> dict[tuple[str, str | None, str | None], CaseRef]:
    """(process key, business key, scope) → how that case shows in a list; one query per kind present."""
    wanted: dict[str, set[tuple[int, str | None]]] = {}
    keys: dict[tuple[str, str | None, str | None], tuple[str, tuple[int, str | None]]] = {}
    for process_key, business_key, scope in rows:
        kind = BY_PROCESS.get(process_key)
        prefix, _, ident = (business_key or "").partition(":")
        if kind is None or prefix != kind.prefix or not ident.isdigit():
            continue
        key = (int(ident), scope)
        wanted.setdefault(kind.key, set()).add(key)
        keys[(process_key, business_key, scope)] = (kind.key, key)
    found = {kind: _BY_KEY[kind].lookup(db.session, ids) for kind, ids in wanted.items()}
    return {row: ref for row, (kind, key) in keys.items() if (ref := found[kind].get(key)) is not None}
