"""审批/核准 use cases: declare (questionnaire → items → materials → submit), the per-item steps of
each department, 补正, and the sync from the workflow (item cases, statutory clock, notices)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine import clock
from engine.runtime import to_naive_utc
from engine.tables import Instance, TrailEntry

from ..domain import item_clock, material_rules
from ..domain.stages import AUTHORISATION_ITEM, BUILD_STAGE, MAIN_ITEMS
from ..extensions import db
from ..models import (
    ApprovalItem,
    Attachment,
    Declaration,
    Department,
    ItemCase,
    ItemMaterial,
    Notification,
    Permit,
    Project,
    Region,
    User,
)
from . import (
    ServiceError,
    calendar,
    code_check,
    corrections,
    forbid,
    jsonable,
    lock_project,
    next_serial,
    not_found,
    stages,
    task_kinds,
    use_case,
)
from .access import (
    case_in,
    case_of_task,
    current_step,
    declaration_id_of,
    editable_case,
    own_declaration,
    require_project,
    reviewer_task,
    supplement_task,
)
from .events import Event, EventContext
from .platform import forms, forms_of_instance, runtime

PROCESS_KEYS = ("approval", "authorisation")
QUESTIONS_FORM = "declaration_questions"
# 办件单号 kind digits and suffixes, after the pattern of Hunan's public list (domain.md §12).
NUMBER_KIND = {"approval": ("01", "XMSP"), "authorisation": ("02", "XMHZ"), "报建": ("04", "XMBJ")}


# ---- access ---------------------------------------------------------------------------------------
# ---- routing --------------------------------------------------------------------------------------
def _region_chain(code: str) -> list[Region]:
    """The project's region and its parents, county first."""
    chain: list[Region] = []
    region = db.session.get(Region, code)
    while region is not None:
        chain.append(region)
        region = db.session.get(Region, region.parent_code) if region.parent_code else None
    return chain


_LEVELS = ("county", "city", "province")


def route(item: ApprovalItem, region_code: str) -> Department:
    """The department of the item's type at its level for the project's place; a county without
    such a department hands the item up to the city (and the city to the province)."""
    chain = _region_chain(region_code)
    wanted = _LEVELS.index(item.level) if item.level in _LEVELS else 0
    for region in chain:
        if _LEVELS.index(region.level) < wanted:
            continue
        department = db.session.scalar(select(Department).where(Department.dept_type == item.dept_type,
                                                                Department.region_code == region.code))
        if department is not None:
            return department
    raise ServiceError(f"未找到办理「{item.name}」的部门（{item.dept_type}），请联系平台管理员配置", 409)


# ---- declaring ------------------------------------------------------------------------------------
class AlreadyOpen(ServiceError):
    """事项申报 started while the project has an open declaration (a double click, a second tab)."""

    def __init__(self, declaration: Declaration):
        super().__init__(f"该项目已有进行中的事项申报（{declaration.number}），请勿重复提交；已为您打开该申报", 409)
        self.declaration_id = declaration.id


def new_number(project: Project, stage: str) -> str:
    digits, suffix = NUMBER_KIND[BUILD_STAGE if stage == BUILD_STAGE else project.kind]
    prefix = f"{project.region_code}-{digits}-{calendar.today().year}"
    return f"{prefix}{next_serial(db.session, Declaration.number, prefix):04d}{suffix}"


@use_case
def start(user: User, project_id: int) -> Declaration:
    project = db.session.get(Project, project_id)
    if project is None or project.enterprise_id != user.enterprise_id:
        raise forbid("无权为其他单位的项目申报")
    require_project(user, project.id)  # a 经办人 with 指定项目 (issue 13)
    if project.kind not in PROCESS_KEYS:
        raise ServiceError("备案类项目请办理备案，无需审批或核准事项申报", 409)
    lock_project(project.id)  # two clicks at once: the second waits here, then finds the first's declaration
    busy = db.session.scalar(select(Declaration).where(Declaration.project_id == project.id,
                                                       Declaration.stage != BUILD_STAGE,
                                                       Declaration.status != "completed"))
    if busy is not None:  # one open declaration per project: a second click opens it again, with a word
        raise AlreadyOpen(busy)
    stage = "立项"
    if project.kind == "approval":
        stage = stages.next_stage(project)
        if stage is None:
            raise ServiceError("该项目立项、可研、初步设计三个阶段均已批复，无需再次申报；后续事项请办理报建", 409)
    elif AUTHORISATION_ITEM in stages.approved_before(project.id):
        raise ServiceError("该项目已核准，无需再次申报；变更请在核准文件管理中办理，后续事项请办理报建", 409)
    process = stages.STAGE_PROCESS if stage in ("可研", "初步设计") else project.kind
    return open_declaration(user, project, stage, process)


def open_declaration(user: User, project: Project, stage: str, process: str) -> Declaration:
    """A new declaration of the project for the stage, with its workflow instance started."""
    declaration = Declaration(number=new_number(project, stage), project_id=project.id,
                              enterprise_id=project.enterprise_id, applicant_id=user.id, kind=project.kind,
                              stage=stage)
    db.session.add(declaration)
    db.session.flush()
    outcome = runtime().start(db.session, process, {
        "applicant": user.actor, "project_kind": project.kind, "title": project.name, "project_name": project.name,
        "project_code": project.code, "declaration_id": declaration.id, "stage": stage,
    }, user.actor, business_key=f"declaration:{declaration.id}")
    declaration.instance_id = outcome.instance.id
    return declaration


def questionnaire_defaults(declaration: Declaration) -> dict[str, Any]:
    """This declaration's answers; a later stage starts from the previous stage's (the applicant
    checks them rather than answering everything again)."""
    if declaration.answers:
        return dict(declaration.answers)
    earlier = db.session.scalar(select(Declaration).where(
        Declaration.project_id == declaration.project_id, Declaration.id != declaration.id,
        Declaration.stage != BUILD_STAGE).order_by(Declaration.id.desc()).limit(1))
    defaults = dict(earlier.answers) if earlier is not None and earlier.answers else {}
    defaults["total_investment"] = format(declaration.project.total_investment.normalize(), "f")
    return defaults


@use_case
def answer(user: User, declaration_id: int, raw: dict[str, Any]) -> Declaration:
    declaration = own_declaration(user, declaration_id)
    task = current_step(declaration, "questionnaire", "当前不在填写问卷环节")
    outcome = runtime().complete(db.session, task.instance_id, task.task_id, user.actor, raw)
    declaration.answers = jsonable(outcome.values["declaration_questions"])
    return declaration


@use_case
def mark_done_before(user: User, declaration_id: int, item_code: str, document: str | None,
                     not_needed: str | None = None) -> ItemCase:
    """我已办理过此事项 (000 §5: 「已办理，或不需要办理」): the item is not handled in this declaration; its
    earlier document (`document`, status done_before) or why none is needed (`not_needed`, status not_needed)
    is kept in prior_document. Both None: the mark is taken back."""
    declaration, case = editable_case(user, declaration_id, item_code)
    if declaration.stage == BUILD_STAGE:
        raise ServiceError("报建事项由您自行选择：已办理过的事项请返回重新选择，不要勾选", 409)
    if case.item.parent_code is None and case.item_code in MAIN_ITEMS:
        raise ServiceError("主事项须在本次申报中办理，不能标记为已办理", 409)
    if not_needed is not None:
        reason = not_needed.strip()
        if not reason:
            raise ServiceError("请填写不需要办理的理由", 422, {"not_needed_reason": "请填写「不需要办理的理由」"})
        if len(reason) > 100:
            raise ServiceError("理由过长", 422, {"not_needed_reason": "「不需要办理的理由」不能超过100字"})
        case.status, case.prior_document = "not_needed", reason
        return case
    if document is None:
        case.status, case.prior_document = "declared", ""
        return case
    document = document.strip()
    if not document:
        raise ServiceError("请填写原批复文号", 422, {"prior_document": "请填写「原批准文件文号」"})
    if len(document) > 100:
        raise ServiceError("文号过长", 422, {"prior_document": "「原批准文件文号」不能超过100字"})
    case.status, case.prior_document = "done_before", document
    return case


@dataclass(frozen=True)
class MaterialView:
    """A listed material as this declaration's answers make it: 必需 / 可选 / 不需要 / 视情形, with its current files."""

    material: ItemMaterial
    outcome: material_rules.Outcome
    files: list[Attachment]

    @property
    def needed(self) -> bool:
        return self.outcome.status != material_rules.NOT_NEEDED


@dataclass(frozen=True)
class CaseMaterials:
    case: ItemCase
    materials: list[MaterialView]

    @property
    def uploaded(self) -> dict[int, Attachment]:
        """The latest file of each material (a 补正 notice names materials, not files)."""
        return {view.material.id: view.files[-1] for view in self.materials if view.files}

    @property
    def not_needed(self) -> list[MaterialView]:
        return [view for view in self.materials if not view.needed]


def answers_for(declaration: Declaration) -> dict[str, Any]:
    """The questionnaire answers the materials follow: the declaration's own, or for a declaration without a
    questionnaire (报建) the project's latest answered one."""
    if declaration.answers:
        return dict(declaration.answers)
    for earlier in db.session.scalars(select(Declaration.answers).where(
            Declaration.project_id == declaration.project_id, Declaration.id != declaration.id)
            .order_by(Declaration.id.desc())):
        if earlier:
            return dict(earlier)
    return {}


def rule_questions(instance_id: int | None = None) -> dict[str, material_rules.Question]:
    """The questionnaire's choice questions a material rule can test, with their labels and choices
    (of the version the declaration runs on, else the current questionnaire)."""
    registry = forms_of_instance(instance_id)
    try:
        form = registry.get(QUESTIONS_FORM)
    except KeyError:
        form = forms().get(QUESTIONS_FORM)
    return material_rules.questions_from([
        (f.name, f.label, [("true", "是"), ("false", "否")] if f.type == "checkbox" else (f.choices or []))
        for f in form.fields if f.type in ("radio", "choice", "checkbox")])


def materials_for(declaration: Declaration) -> list[CaseMaterials]:
    """Each item with its listed materials, each evaluated against the answers, and the current uploads."""
    cases = list(db.session.scalars(select(ItemCase).where(ItemCase.declaration_id == declaration.id)
                                    .order_by(ItemCase.id)))
    attachments = current_attachments(declaration)
    answers = answers_for(declaration)
    questions = rule_questions(declaration.instance_id) if cases else {}
    rows = []
    for case in cases:
        files: dict[int, list[Attachment]] = {}
        for a in attachments:
            if a.item_code == case.item_code and a.material_id:
                files.setdefault(a.material_id, []).append(a)
        rows.append(CaseMaterials(case, [
            MaterialView(m, material_rules.outcome(m.applies_when, m.condition, m.required, answers, questions),
                         files.get(m.id, []))
            for m in case.item.materials]))
    return rows


def current_attachments(declaration: Declaration) -> list[Attachment]:
    return list(db.session.scalars(select(Attachment).where(Attachment.declaration_id == declaration.id,
                                                            Attachment.superseded.is_(False))
                                   .order_by(Attachment.id)))


def _missing_required(declaration: Declaration) -> dict[str, str]:
    """Every material the answers make required and nothing is uploaded for; not-needed and 视情形 ones are not
    demanded."""
    errors: dict[str, str] = {}
    for row in materials_for(declaration):
        if row.case.skipped:
            continue
        for view in row.materials:
            if view.outcome.demanded and not view.files:
                why = f"（{view.outcome.reason}）" if view.outcome.reason else ""
                errors[f"material-{view.material.id}"] = \
                    f"「{row.case.item_name}」缺少必需材料「{view.material.name}」{why}"
    return errors


@use_case
def submit(user: User, declaration_id: int, raw: dict[str, Any]) -> Declaration:
    declaration = own_declaration(user, declaration_id)
    task = current_step(declaration, "submit", "当前不在提交环节")
    extra: dict[str, Any] = {}
    if raw.get("action") == "submit":
        errors = _missing_required(declaration)
        if raw.get("pledge") not in ("on", "true", "1", True):
            errors["pledge"] = "请勾选「本单位承诺所填信息和所附材料真实、完整、有效」"
        if errors:
            raise ServiceError("申报材料不完整，请按提示补充后再提交", 422, errors)
        extra["items"] = _items_for_workflow(declaration)
    runtime().complete(db.session, task.instance_id, task.task_id, user.actor, raw, action="submit", extra=extra)
    if raw.get("action") == "submit":
        declaration.submitted_at = clock.utcnow_naive()
    return declaration


def _items_for_workflow(declaration: Declaration) -> list[dict[str, Any]]:
    """What each parallel branch needs: its department, place and clock parameters."""
    items = []
    for case in db.session.scalars(select(ItemCase).where(ItemCase.declaration_id == declaration.id)
                                   .order_by(ItemCase.id)):
        if case.skipped:
            continue
        item = case.item
        department = route(item, declaration.project.region_code)
        case.department_id, case.region_code = department.id, department.region_code
        items.append({
            "code": item.code, "name": item.name, "department_id": department.id,
            "region_code": department.region_code, "limit": item.promised_limit, "unit": item.unit,
            "max_extension": item.max_extension,
            "tender": declaration.must_tender and item.code in ("authorisation", "feasibility"),
        })
    return items


# ---- 补正 ------------------------------------------------------------------------------------------
@use_case
def supplement(user: User, declaration_id: int, item_code: str, raw: dict[str, Any]) -> ItemCase:
    declaration = own_declaration(user, declaration_id)
    case = case_in(declaration.id, item_code)
    task = supplement_task(declaration, item_code)
    if task is None:
        raise ServiceError("该事项当前无需补正", 409)
    task_kinds.require(task, task_kinds.SUPPLEMENT)
    notice = case.last_notice or {}
    since = datetime.fromisoformat(notice["at"]) if notice.get("at") else None
    fresh = {a.material_id for a in current_attachments(declaration)
             if a.item_code == item_code and (since is None or a.uploaded_at >= since)}
    missing = {f"material-{m['id']}": f"请重新上传补正材料「{m['name']}」"
               for m in notice.get("materials", []) if m["id"] not in fresh}
    if missing:
        raise ServiceError("告知补正的材料尚未全部重新上传", 422, missing)
    runtime().complete(db.session, task.instance_id, task.task_id, user.actor, raw, action="submit")
    # the 「需要补正」 待阅 of this item is answered: it stops nagging on the home page
    corrections.resolve(db.session, f"/enterprise/declarations/{declaration.id}", "需要补正", f"「{case.item_name}」")
    return case


# ---- reviewers -------------------------------------------------------------------------------------
@use_case
def complete_item_step(user: User, human_task_id: int, raw: dict[str, Any], case_id: int | None = None) -> ItemCase:
    """`case_id`: the item page the form was posted from; the task must be that item's step."""
    task = reviewer_task(user, human_task_id)
    task_kinds.require(task, task_kinds.ITEM)  # not a 备案 or a request's step, whichever route called
    case = case_of_task(task)
    if case is None:
        raise not_found("办件不存在")
    if case_id is not None and case.id != case_id:
        raise ServiceError("该任务不属于该办件，请从待办列表进入其办件页面办理", 409)
    decision = raw.get("decision") or raw.get("result")
    notice: dict[str, Any] | None = None
    if task.form_key == "item_accept" and decision == "accept":  # 003 第十四条（二）
        code_check.require_passed(code_check.of_declaration(case.declaration))
    if task.form_key == "item_accept" and decision == "correction":
        notice = _correction_notice(case, raw, "accept")
    elif task.form_key == "item_review" and decision == "correction":
        notice = _correction_notice(case, raw, "handling")
    elif task.form_key == "item_review" and decision == "extend":
        _check_extension(case, raw)
    elif task.form_key == "item_accept" and decision == "reject":
        notice = {"kind": "not_accepted", "reason": str(raw.get("opinion", "")).strip()}
    action = "refuse" if decision in ("reject", "refuse") else "complete"
    outcome = runtime().complete(db.session, task.instance_id, task.task_id, user.actor, raw, action=action, human=task)
    values = outcome.values[task.form_key]
    if notice is not None:
        notice.update(at=clock.utcnow_naive().isoformat(), by=user.display_name,
                      reason=str(values.get("opinion") or notice.get("reason") or ""))
        case.last_notice = notice
        word = "不予受理" if notice["kind"] == "not_accepted" else "需要补正"
        # 待阅 plus an SMS (issue 14 §2): a 补正 must not wait unseen while the applicant is not signed in
        corrections.tell_applicant(db.session, case.declaration.applicant_id,
                                   f"「{case.item_name}」{word}：{notice['reason'][:80]}",
                                   f"/enterprise/declarations/{case.declaration_id}")
    if task.form_key in ("item_decide", "item_decide_tender"):
        case.decision = _decision_record(values, user)
        if case.item_code == AUTHORISATION_ITEM and values.get("result") == "approve":
            _open_authorisation(case, user)
    return case


def _open_authorisation(case: ItemCase, user: User) -> None:
    """A 核准 decision is a permit: valid 2 years, extendable once, changeable (673号令 art 11-12)."""
    from .permits import open_permit

    project = case.declaration.project
    number = case.decision["doc_number"]
    # Permit numbers are unique across 核准文件 and 备案证: a number in use is the reviewer's typing error.
    if db.session.scalar(select(Permit.id).where(Permit.number == number)) is not None:
        raise ServiceError("文号已被使用", 422, {"doc_number": f"「文号」{number} 已被其他核准文件或备案证使用，请核对"})
    open_permit(db.session, kind="authorisation", number=number, project=project,
                department_id=case.department_id, applicant_id=case.declaration.applicant_id,
                issued_on=calendar.today(), actor=user.actor, item_case_id=case.id,
                current={"scale_content": project.scale_content, "planned_start": project.planned_start.isoformat(),
                         "planned_end": project.planned_end.isoformat(),
                         "total_investment": format(project.total_investment.normalize(), "f"), "funding": ""})


def _correction_notice(case: ItemCase, raw: dict[str, Any], stage: str) -> dict[str, Any]:
    """一次性告知: every material asked for, by name, with the reason (行政许可法 art 32)."""
    wanted = raw.get("missing_material") or []
    if isinstance(wanted, str):
        wanted = [wanted]
    materials = {str(m.id): m for m in case.item.materials}
    chosen = [materials[w] for w in wanted if w in materials]
    if not chosen:
        raise ServiceError("请勾选需要补正的材料", 422,
                           {"missing_material": "请在材料清单中勾选需要补正的材料（一次性告知全部）"})
    return {"kind": "correction", "stage": stage, "materials": [{"id": m.id, "name": m.name} for m in chosen]}


def _check_extension(case: ItemCase, raw: dict[str, Any]) -> None:
    try:
        days = int(str(raw.get("extension_days", "")).strip())
    except ValueError:
        return  # the form's own check names the field
    state = case.clock or {}
    if state and item_clock.status(state, calendar.work_calendar(), clock.now()).light == "red":
        raise ServiceError("已超过办理时限，不能再延长", 422,
                           {"extension_days": "延长须在办理时限届满前决定（行政许可法第四十二条）"})
    if state.get("extension"):
        raise ServiceError("该事项已延长过办理时限，不能再次延长", 422, {"extension_days": "办理时限只能延长一次"})
    cap = case.item.max_extension
    if cap <= 0:
        raise ServiceError("该事项不允许延长办理时限", 422, {"extension_days": "该事项的法定时限不可延长"})
    if not 1 <= days <= cap:
        raise ServiceError("延长时限超出上限", 422, {"extension_days": f"「延长时限」须在1至{cap}{case.item.unit_label}之间"
                                                              f"（{case.item.legal_basis or '依事项规定'}）"})


def _decision_record(values: dict[str, Any], user: User) -> dict[str, Any]:
    record = {k: v for k, v in values.items() if not k.startswith("tender_")}
    packages = [("survey", "勘察"), ("design", "设计"), ("works", "施工"), ("supervision", "监理"),
                ("goods", "重要设备材料")]
    if any(k.startswith("tender_") for k in values):
        record["tender"] = [{"package": label, "scope": values[f"tender_{key}_scope"],
                             "method": values[f"tender_{key}_method"], "organisation": values[f"tender_{key}_org"]}
                            for key, label in packages]
    record.update(decided_by=user.display_name, decided_on=calendar.today().isoformat())
    return record


# ---- the workflow tells the application what happened ----------------------------------------------
def declaration_of_instance(session: Session, instance: Instance) -> Declaration | None:
    declaration_id = declaration_id_of(instance.business_key)
    return session.get(Declaration, declaration_id) if declaration_id is not None else None


def _case(ctx: EventContext, declaration: Declaration, code: str) -> ItemCase | None:
    """The item case of an item event, looked up once per save."""
    key = ("case", code)
    if key not in ctx.memo:
        ctx.memo[key] = ctx.session.scalar(select(ItemCase).where(ItemCase.declaration_id == declaration.id,
                                                                  ItemCase.item_code == code))
    return ctx.memo[key]


def item_handler(apply: Callable[[EventContext, Declaration, ItemCase, Event], None]
                 ) -> Callable[[EventContext, Declaration, Event], None]:
    """An item event (payload `item`) acts on that item's case; an item no longer in the declaration is
    ignored (the applicant chose other items before the event's save)."""
    def handle(ctx: EventContext, declaration: Declaration, event: Event) -> None:
        case = _case(ctx, declaration, event["item"])
        if case is not None:
            apply(ctx, declaration, case, event)
    handle.__doc__ = apply.__doc__
    handle.__name__ = apply.__name__
    return handle


def on_determined(ctx: EventContext, declaration: Declaration, event: Event) -> None:
    """The decision table chose the items: the declaration's item cases follow."""
    _sync_determined(ctx.session, declaration, event)
    ctx.memo.clear()


def on_received(ctx: EventContext, declaration: Declaration, event: Event) -> None:
    """Submitted: every item goes to its department for 受理."""
    declaration.status = "handling"
    for code in event["items"]:
        if (case := _case(ctx, declaration, code)) is not None:
            case.status = "receiving"


def on_completed(ctx: EventContext, declaration: Declaration, event: Event) -> None:
    _complete(ctx.session, declaration, ctx.now)


def on_info_confirmed(ctx: EventContext, declaration: Declaration, event: Event) -> None:
    """信息确认 of a stage: stages.confirm already wrote the confirmed values to the project in this
    transaction, and the trail keeps the task; nothing further changes."""


def on_item_received(ctx: EventContext, declaration: Declaration, case: ItemCase, event: Event) -> None:
    case.status = "receiving"


def on_correction(ctx: EventContext, declaration: Declaration, case: ItemCase, event: Event) -> None:
    """补正 asked at 受理 (the clock has not started) or during 办理 (the clock pauses)."""
    case.status = "correction" if event["stage"] == "accept" else "paused_correction"
    case.corrections += 1


def on_not_accepted(ctx: EventContext, declaration: Declaration, case: ItemCase, event: Event) -> None:
    case.status, case.decided_at = "not_accepted", ctx.now


def on_clock(ctx: EventContext, declaration: Declaration, case: ItemCase, event: Event) -> None:
    _apply_clock(ctx.session, ctx.instance, case, event, ctx.actor, ctx.now)


def on_decided(ctx: EventContext, declaration: Declaration, case: ItemCase, event: Event) -> None:
    case.status = "approved" if event["result"] == "approve" else "refused"
    case.decided_at, case.due_at = ctx.now, None
    if event.get("clock"):
        case.clock = event["clock"]
    ctx.session.add(Notification(user_id=declaration.applicant_id, kind="result",
                                 title=f"「{case.item_name}」已办结：{case.status_label}",
                                 link=f"/enterprise/declarations/{declaration.id}"))


def on_item_deadline(ctx: EventContext, declaration: Declaration, case: ItemCase, event: Event) -> None:
    """黄灯 (a third of the time limit left) / 红灯 (over the limit): tell the department."""
    overdue = event["kind"] == "item_overdue"
    if overdue:
        case.overdue = True
    label = "【红灯】已超过办理时限" if overdue else "【黄灯】剩余时限不足三分之一"
    ctx.session.add(Notification(department_id=case.department_id, kind="overdue" if overdue else "reminder",
                                 title=f"{declaration.project.name}「{case.item_name}」{label}",
                                 link=f"/reviewer/cases/{case.id}"))


def _sync_determined(session: Session, declaration: Declaration, event: dict[str, Any]) -> None:
    codes = list(dict.fromkeys(event.get("items") or []))  # two rules may give the same item
    items = {i.code: i for i in session.scalars(select(ApprovalItem).where(ApprovalItem.code.in_(codes),
                                                                           ApprovalItem.active))}
    codes = [c for c in codes if c in items]
    declaration.item_codes = codes
    declaration.must_tender = bool(event.get("must_tender"))
    session.execute(delete(ItemCase).where(ItemCase.declaration_id == declaration.id, ItemCase.item_code.notin_(codes))
                    .execution_options(synchronize_session=False))
    existing = set(session.scalars(select(ItemCase.item_code).where(ItemCase.declaration_id == declaration.id)))
    reusable = stages.approved_before(declaration.project_id, exclude=declaration.id)
    for code in codes:
        if code in existing:
            continue
        case = ItemCase(declaration_id=declaration.id, item_code=code, item_name=items[code].name)
        earlier = reusable.get(code)
        if earlier is not None and code not in MAIN_ITEMS:
            number = (earlier.decision or {}).get("doc_number", "")
            case.status, case.prior_document = "done_before", f"{number}（本平台已办结）"[:100]
        session.add(case)


def _apply_clock(session: Session, instance: Instance, case: ItemCase, event: dict[str, Any], actor: str,
                 now: datetime) -> None:
    state = event["clock"]
    action = event["action"]
    cal = calendar.work_calendar()
    case.clock = state
    due = item_clock.due(state, cal)
    case.due_at = to_naive_utc(due.isoformat()) if due else None
    if action == "start":
        case.status, case.accepted_at, case.overdue = "handling", now, False
    elif action == "pause":
        case.status = "paused_correction" if case.status == "paused_correction" else "expert"
    elif action == "resume":
        case.status = "handling"
        case.overdue = due is not None and case.due_at <= now
    elif action == "extend":
        case.overdue = due is not None and case.due_at <= now
    status = item_clock.status(state, cal, clock.now())
    session.add(TrailEntry(actor=actor, action="clock", instance_id=instance.id, detail={
        "item": case.item_code, "clock": action, "reason": event.get("reason", ""), "days": event.get("days"),
        "remaining": status.remaining, "due_at": due.isoformat() if due else None}))


def _complete(session: Session, declaration: Declaration, now: datetime) -> None:
    declaration.status, declaration.completed_at = "completed", now
    today = calendar.today()
    prefix = f"办结〔{today.year}〕{declaration.project.region_code}-"
    declaration.notice_number = f"{prefix}{next_serial(session, Declaration.notice_number, prefix):05d}"
    session.add(Notification(user_id=declaration.applicant_id, kind="result",
                             title=f"您申报的「{declaration.project.name}」所涉事项已全部办结，可下载办结告知书",
                             link=f"/enterprise/declarations/{declaration.id}"))
