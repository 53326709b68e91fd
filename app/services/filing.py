"""备案 use cases: drafts, submit, withdraw, the reviewer steps, and the sync from the workflow."""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload

from engine import clock
from engine.runtime import ConflictError, NotFound, to_naive_utc
from engine.tables import HumanTask, Instance

from ..domain.workdays import SHANGHAI, UTC
from ..extensions import db
from ..models import KIND_LABELS, Department, FilingApplication, FilingCertificate, Notification, Project, User
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
    notify,
    use_case,
)
from .access import may_handle, owned, require_project, reviewer_task
from .events import Event, EventContext
from .permits import open_permit
from .platform import filing_authority_for, find_project, runtime
from .task_kinds import FILING, FILL, require

PROCESS_KEY = "filing"


def own_application(user: User, application_id: int) -> FilingApplication:
    return owned(user, FilingApplication, application_id, "备案申请")


def _applicant_task(application: FilingApplication) -> HumanTask | None:
    return db.session.scalar(select(HumanTask).where(HumanTask.instance_id == application.instance_id,
                                                     HumanTask.candidate_role == "applicant"))


def _next_number(region: str) -> str:
    """办件单号: region - 03 (备案) - year + serial + XMBA (Hunan's public list, domain.md §12)."""
    prefix = f"{region}-03-{calendar.today().year}"
    return f"{prefix}{next_serial(db.session, FilingApplication.number, prefix):04d}XMBA"


def _check_project(user: User, code: str) -> Project:
    try:
        project = find_project(code)
    except ValueError as exc:
        raise ServiceError(str(exc), 422, {"project_code": str(exc)}) from None
    if project.enterprise_id != user.enterprise_id:
        raise ServiceError("该项目代码不属于本单位", 403, {"project_code": "该项目代码不属于本单位，请核对"})
    require_project(user, project.id)  # a 经办人 with 指定项目 (issue 13)
    if project.kind != "filing":  # 核准类 / 审批类 go to 事项申报, never to a 备案 draft (issue 14 §5)
        kind = KIND_LABELS.get(project.kind, project.kind)
        message = (f"该项目为{kind}项目，不能申报备案，请在「我的项目」中点击该项目的「事项申报」办理"
                   f"{'核准' if project.kind == 'authorisation' else '审批'}")
        raise ServiceError(message, 422, {"project_code": f"「项目代码」{project.code}：{message}"})
    return project


def refuse_refiling(project: Project, editing: int | None = None) -> None:
    """One 备案 per project: a project already filed, or with an application in progress or in the 草稿箱, does
    not pass 校验 again (issue 14 §5); only a 不予受理 application may be followed by a new one. `editing`: the
    application whose own form asks (its draft or 补正 passes)."""
    busy = db.session.scalar(select(FilingApplication).where(
        FilingApplication.project_id == project.id,
        FilingApplication.status.notin_(["rejected"])).order_by(FilingApplication.id.desc()).limit(1))
    if busy is not None and busy.id == editing and busy.status in ("draft", "correction"):
        return
    if busy is None and project.status != "filed":
        return
    if busy is None or busy.status == "issued":
        certificate = db.session.scalar(select(FilingCertificate).where(FilingCertificate.project_id == project.id)
                                        .order_by(FilingCertificate.id.desc()).limit(1))
        number = f"（备案证号 {certificate.number}）" if certificate else ""
        message = f"该项目已备案{number}，不能重复备案；项目信息变化请在「证照管理」中申请变更"
    elif busy.status == "draft":
        message = f"该项目已有备案草稿（{busy.number}），请在「我的项目」的草稿箱中继续填写，不要重复申报"
    else:
        message = f"该项目已有备案申请（{busy.number}，{busy.status_label}），正在办理中，不能重复申报"
    raise ServiceError(message, 409, {"project_code": f"「项目代码」{project.code}：{message}"})


@use_case
def lookup_code(user: User, code: str, editing: int | None = None) -> dict[str, str]:
    """校验 on the 备案 form; `editing`: the application being edited, if the form is one's."""
    project = _check_project(user, code)
    refuse_refiling(project, editing)
    authority = filing_authority_for(project.region_code)  # filing.js preselects it when none is chosen yet
    return {"project_code": project.code, "project_name": project.name, "location": project.location,
            "authority_id": str(authority.id) if authority else ""}


def prefill(user: User, code: str) -> dict[str, str]:
    """A new filing form starts from what the enterprise declared at 领码 (asked once, reused)."""
    project = _check_project(user, code)
    refuse_refiling(project)
    return {"project_code": project.code, "project_name": project.name, "location": project.location,
            "nature": project.nature, "industry_code": project.industry_code,
            "catalogue_code": project.catalogue_code or "", "scale_content": project.scale_content,
            "planned_start": project.planned_start.isoformat(), "planned_end": project.planned_end.isoformat(),
            "total_investment": format(project.total_investment.normalize(), "f"),
            # the 备案机关 of the 建设地点 (county, else city), preselected and still changeable (issue 14 §4)
            "authority_id": str(authority.id) if (authority := filing_authority_for(project.region_code)) else "",
            **_usual_contact(user)}


def _usual_contact(user: User) -> dict[str, str]:
    """项目联系人: the one the enterprise named on its latest filing, else the person filling in (their name without
    the unit in brackets, their mobile); still editable."""
    last = db.session.scalar(select(FilingApplication).where(FilingApplication.enterprise_id == user.enterprise_id)
                             .order_by(FilingApplication.id.desc()).limit(1)) if user.enterprise_id else None
    draft = last.draft if last is not None and isinstance(last.draft, dict) else {}
    if draft.get("contact_name") and draft.get("contact_phone"):
        return {"contact_name": str(draft["contact_name"]), "contact_phone": str(draft["contact_phone"])}
    name = re.split(r"[（(]", user.display_name or "", maxsplit=1)[0].strip()[:20]
    return {"contact_name": name, "contact_phone": user.phone or ""}


def _create(user: User, raw: dict[str, Any]) -> FilingApplication:
    project = _check_project(user, str(raw.get("project_code", "")))
    lock_project(project.id)  # the same form from two tabs: the second waits here, then finds the first
    refuse_refiling(project)
    application = FilingApplication(number=_next_number(project.region_code), project_id=project.id,
                                    enterprise_id=user.enterprise_id, applicant_id=user.id, draft=dict(raw))
    db.session.add(application)
    db.session.flush()
    outcome = runtime().start(db.session, PROCESS_KEY, {"applicant": user.actor, "rounds": 0,
                                                        "title": project.name, "application_id": application.id},
                              user.actor, business_key=f"filing:{application.id}")
    application.instance_id = outcome.instance.id
    return application


def _editable(application: FilingApplication) -> HumanTask:
    task = _applicant_task(application)
    if task is None:
        raise ServiceError("备案申请已提交，当前不能修改；受理前可先撤回", 409)
    require(task, FILL)
    return task


@use_case
def save_draft(user: User, raw: dict[str, Any], application_id: int | None = None) -> FilingApplication:
    """草稿箱: keep what was typed, unvalidated, without moving the workflow."""
    if application_id is None:
        return _create(user, raw)
    application = own_application(user, application_id)
    _editable(application)
    application.draft = dict(raw)
    application.updated_at = clock.utcnow_naive()
    return application


@use_case
def submit(user: User, raw: dict[str, Any], application_id: int | None = None) -> FilingApplication:
    application = _create(user, raw) if application_id is None else own_application(user, application_id)
    if str(raw.get("project_code", "")).strip() not in (application.project.code, application.project.legacy_code):
        raise ServiceError("项目代码与本申请不一致", 422, {"project_code": "项目代码与本申请的项目不一致，请勿修改"})
    task = _editable(application)
    was_correction = application.status == "correction"
    try:
        outcome = runtime().complete(db.session, task.instance_id, task.task_id, user.actor, raw, action="submit")
    except ConflictError:  # submitted meanwhile from another tab: the engine's lock let the first through
        raise ServiceError("该备案申请已提交，请勿重复提交", 409) from None
    if was_correction:  # the 「需要补正」 待阅 is answered: it stops nagging on the home page
        corrections.resolve(db.session, f"/enterprise/filings/{application.id}", "需要补正")
    application.draft = jsonable(outcome.values["filing"])
    application.department_id = outcome.values["department_id"]
    return application


@use_case
def withdraw(user: User, application_id: int) -> FilingApplication:
    application = own_application(user, application_id)
    if application.status != "submitted":
        raise ServiceError("只有待受理的申请可以撤回；已受理的申请不能撤回", 409)
    runtime().send_message(db.session, application.instance_id, "withdraw", {}, user.actor, action="withdraw")
    return application


# ---- reviewers ---------------------------------------------------------------------------------
@use_case
def claim(user: User, human_task_id: int) -> HumanTask:
    """签收; a task already in the user's hands (a sticky claim, a second click) is simply theirs: no error."""
    task = reviewer_task(user, human_task_id)
    if task.assignee == user.actor:
        return task
    return runtime().claim(db.session, human_task_id, user.actor)


BULK_CLAIM_MAX = 100


@use_case
def claim_many(user: User, human_task_ids: list[int]) -> dict[str, list[HumanTask] | list[int]]:
    """批量签收: each task is claimed by its own conditional UPDATE (see Runtime.claim), so of reviewers
    selecting the same rows each row goes to exactly one. Returns what was claimed, what was the user's already,
    what someone else took first ("taken") and what is gone or not the user's to claim ("missing", ids)."""
    # in id order: two bulk claims over the same rows then lock them in the same order (no deadlock)
    ids = sorted(set(human_task_ids))
    if not ids:
        raise ServiceError("请先勾选要签收的待办", 422, {"task_ids": "请先勾选要签收的待办"})
    if len(ids) > BULK_CLAIM_MAX:
        raise ServiceError(f"一次最多签收{BULK_CLAIM_MAX}件", 422, {"task_ids": f"一次最多签收{BULK_CLAIM_MAX}件"})
    result: dict[str, list[Any]] = {"claimed": [], "mine": [], "taken": [], "missing": []}
    for task_id in ids:
        task = db.session.get(HumanTask, task_id)
        if task is None or task.candidate_role == "applicant" or not may_handle(user, task):
            result["missing"].append(task_id)
        elif task.assignee == user.actor:
            result["mine"].append(task)
        elif task.assignee is not None:
            result["taken"].append(task)
        else:
            try:
                result["claimed"].append(runtime().claim(db.session, task_id, user.actor))
            except ConflictError:  # someone claimed it between our read and the UPDATE (refreshed: who)
                result["taken"].append(task)
            except NotFound:  # completed meanwhile
                result["missing"].append(task_id)
    return result


@use_case
def unclaim(user: User, human_task_id: int) -> HumanTask:
    reviewer_task(user, human_task_id)
    return runtime().unclaim(db.session, human_task_id, user.actor)


@use_case
def complete_step(user: User, human_task_id: int, raw: dict[str, Any]) -> FilingApplication:
    task = reviewer_task(user, human_task_id)
    require(task, FILING)  # not an item's or a request's step, whichever route called
    decision = raw.get("decision")
    action = "refuse" if decision == "reject" else "complete"
    application = _application_of(db.session, task.business_key, task.instance_id)
    if task.form_key == "filing_accept" and decision == "accept":  # 003 第十四条（二）
        code_check.require_passed(code_check.of_application(application))
    form_key = task.form_key
    outcome = runtime().complete(db.session, task.instance_id, task.task_id, user.actor, raw, action=action,
                                 human=task)
    values = outcome.values[form_key]
    if values.get("decision") in ("correction", "return", "reject"):
        # The opinion goes to the applicant at once, in the same transaction as the decision.
        application.last_opinion = values.get("opinion") or ""
        word = "不予受理" if values["decision"] == "reject" else "需要补正"
        # 待阅 plus an SMS: a 补正 must not wait unseen while the applicant is not signed in (issue 14 §2)
        corrections.tell_applicant(db.session, application.applicant_id,
                                   f"您的备案申请 {application.number} {word}：{application.last_opinion}",
                                   f"/enterprise/filings/{application.id}")
    return application


def certificate_of(application: FilingApplication) -> FilingCertificate | None:
    return db.session.scalar(select(FilingCertificate).where(FilingCertificate.application_id == application.id))


def current_reviewer_task(user: User, application_id: int) -> HumanTask | None:
    application = db.session.get(FilingApplication, application_id)
    if application is None:
        raise not_found("备案申请不存在")
    if user.department_id is None or application.department_id != user.department_id:
        raise forbid("该办件不属于您的部门")
    tasks = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == application.instance_id))
    return next((t for t in tasks if may_handle(user, t)), None)


def application_for_task(task: HumanTask) -> FilingApplication | None:
    return _application_of(db.session, task.business_key, task.instance_id)


def _application_of(session: Session, business_key: str | None, instance_id: int) -> FilingApplication | None:
    """By primary key from the business key "filing:<id>": an identity-map hit when already loaded."""
    if business_key and business_key.startswith("filing:"):
        # The completion path needs the application's own columns only; related rows load if touched.
        return session.get(FilingApplication, int(business_key.split(":", 1)[1]), options=[lazyload("*")])
    return session.scalar(select(FilingApplication).where(FilingApplication.instance_id == instance_id))


# ---- the workflow tells the application what happened ----------------------------------------
_STATUS_BY_TASK = {"accept": "submitted", "review": "accepted", "issue": "reviewed"}


def application_of_instance(session: Session, instance: Instance) -> FilingApplication | None:
    return _application_of(session, instance.business_key, instance.id)


def on_submitted(ctx: EventContext, application: FilingApplication, event: Event) -> None:
    application.submitted_at, application.due_at = ctx.now, to_naive_utc(event["due_at"])
    application.reminded = application.overdue = False
    application.rounds += 1


def on_deadline(ctx: EventContext, application: FilingApplication, event: Event) -> None:
    """reminder (one working day left) / overdue: flag the application and tell the authority."""
    overdue = event["kind"] == "overdue"
    setattr(application, "overdue" if overdue else "reminded", True)
    label = f"已超过办理时限（{visible_deadline(application.due_at)}）" if overdue else "剩余1个工作日，请尽快办结"
    ctx.session.add(Notification(department_id=application.department_id, kind=event["kind"],
                                 title=f"【{'已超期' if overdue else '即将到期'}】"
                                       f"{application.project.name}（{application.number}）{label}",
                                 link=f"/reviewer/applications/{application.id}"))


def on_issued(ctx: EventContext, application: FilingApplication, event: Event) -> None:
    certificate = _issue_certificate(ctx.session, application, ctx.actor)
    ctx.session.add(Notification(user_id=application.applicant_id, kind="result",
                                 title=f"您的项目已完成备案，备案证号 {certificate.number}",
                                 link=f"/enterprise/filings/{application.id}"))


def status_handler(status: str) -> Callable[[EventContext, FilingApplication, Event], None]:
    """An event whose whole effect is the application's status (受理, 补正, 撤回, 不予受理)."""
    def handle(ctx: EventContext, application: FilingApplication, event: Event) -> None:
        application.status = status
    handle.__doc__ = f"status → {status}"
    return handle


def after_events(ctx: EventContext, application: FilingApplication, events: list[Event]) -> None:
    """After every save: the status follows the step now waiting (or the round's outcome at the end)."""
    ready = [t.task_spec.bpmn_id for t in ctx.workflow.get_tasks(state=TaskState.READY, manual=True)]
    if ctx.instance.status == "completed":
        application.status = "issued" if ctx.workflow.data.get("round_outcome") == "issued" else "rejected"
    elif "fill" not in ready:  # back at 填报, the 补正 / 撤回 handler has set it
        application.status = next((_STATUS_BY_TASK[b] for b in ready if b in _STATUS_BY_TASK), application.status)
    application.updated_at = ctx.now


def _issue_certificate(session: Session, application: FilingApplication, actor: str) -> FilingCertificate:
    issued_on = calendar.today()
    project = application.project
    region = project.region_code
    prefix = f"{issued_on:%y}{region}"
    snapshot = {**application.draft, "project_name": project.name, "location": project.location,
                "enterprise_name": project.enterprise.name, "enterprise_uscc": project.enterprise.uscc,
                "authority_name": session.get(Department, application.department_id).name,
                "project_code": project.code}
    certificate = FilingCertificate(
        number=f"{prefix}{next_serial(session, FilingCertificate.number, prefix):05d}", project_id=project.id,
        application_id=application.id,
        enterprise_id=application.enterprise_id, department_id=application.department_id, issued_on=issued_on,
        snapshot=snapshot, issued_by=int(actor))
    session.add(certificate)
    session.flush()
    project.status = "filed"
    # Its life after issue (validity, progress reminders, change, extension, 注销/撤销) is the permit's.
    open_permit(session, kind="filing", number=certificate.number, project=project,
                department_id=application.department_id, applicant_id=application.applicant_id,
                issued_on=issued_on, current=dict(application.draft), actor=actor, certificate_id=certificate.id)
    notify.publish(session, "filing", project_code=project.code, project_name=project.name,
                   authority=snapshot["authority_name"], published_on=issued_on, document_number=certificate.number)
    return certificate


def visible_deadline(value: datetime | None) -> str:
    """A deadline is midnight after the last working day: show that day's 23:59, not the next day's 00:00."""
    return visible_datetime(value - timedelta(minutes=1)) if value else ""


def visible_datetime(value: datetime | None) -> str:
    return value.replace(tzinfo=UTC).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if value else ""
