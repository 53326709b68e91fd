"""A permit's life after issue: validity (lapse, valid for good on a reported start), progress
reports and their reminders, cancellation (注销) by the enterprise and revocation (撤销) by the
authority. The timers live in the validity and progress diagrams; this module feeds them messages
and turns their events into status changes, 待阅, SMS and public notices."""
from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine import clock
from engine.tables import HumanTask, Instance

from ..domain import validity
from ..extensions import db
from ..models import Permit, ProgressYear, Project, ProjectProgress, User
from . import ServiceError, calendar, forbid, not_found, notify, use_case
from .access import agent_scope, require_project
from .events import Event, EventContext
from .platform import runtime, validate

VALIDITY_PROCESS, PROGRESS_PROCESS, CANCELLATION_PROCESS = "validity", "progress", "cancellation"
REVIEWER_ROLES = {"acceptor", "handler"}


def lapse_at(valid_until: date) -> str:
    """The first instant the permit is no longer valid: midnight (Beijing) after the last valid day."""
    return validity.end_of_day(valid_until).isoformat()


def state_of(permit: Permit) -> validity.PermitState:
    return validity.PermitState(permit.issued_on, permit.valid_until, permit.started_on, permit.extended_on,
                                permit.status)


def effective_status(permit: Permit) -> str:
    return validity.effective_status(state_of(permit), calendar.today())


def _permit_key(permit_id: int) -> str:
    return f"permit:{permit_id}"


def permit_of_instance(session: Session, instance: Instance) -> Permit | None:
    key = instance.business_key or ""
    return session.get(Permit, int(key.split(":", 1)[1])) if key.startswith("permit:") else None


# ---- issue -------------------------------------------------------------------------------------------
def open_permit(session: Session, *, kind: str, number: str, project: Project, department_id: int,
                applicant_id: int, issued_on: date, current: dict[str, Any], actor: str,
                certificate_id: int | None = None, item_case_id: int | None = None) -> Permit:
    """Record an issued permit and start its validity and progress supervision."""
    permit = Permit(kind=kind, number=number, project_id=project.id, enterprise_id=project.enterprise_id,
                    department_id=department_id, certificate_id=certificate_id, item_case_id=item_case_id,
                    issued_on=issued_on, valid_until=validity.initial_validity(issued_on), current=current)
    session.add(permit)
    session.flush()
    permit.validity_instance_id = _start_validity(session, permit, actor)
    permit.progress_instance_id = _start_progress(session, permit, project, applicant_id, actor)
    if project.predecessor_id is not None:
        _replace_predecessor(session, permit, project, actor)
    return permit


def _replace_predecessor(session: Session, permit: Permit, project: Project, actor: str) -> None:
    """The re-coded project's permit is issued: the old project's permit ends, its timers with it."""
    for old in session.scalars(select(Permit).where(Permit.project_id == project.predecessor_id,
                                                    Permit.status == "valid")):
        old.status, old.ended_on = "replaced", permit.issued_on
        old.end_reason = f"重大变化重新赋码办理，由{permit.kind_label} {permit.number}（项目代码 {project.code}）替代"
        tell(session, old.validity_instance_id, "ended", {}, actor, "ended")
        tell(session, old.progress_instance_id, "closed", {}, actor, "closed")


def _start_validity(session: Session, permit: Permit, actor: str) -> int:
    outcome = runtime().start(session, VALIDITY_PROCESS, {
        "permit_id": permit.id, "title": permit.project.name, "lapse_at": lapse_at(permit.valid_until)},
        actor, business_key=_permit_key(permit.id))
    return outcome.instance.id


def _start_progress(session: Session, permit: Permit, project: Project, applicant_id: int, actor: str) -> int:
    planned_end = permit.current.get("planned_end") or project.planned_end.isoformat()
    reported = session.scalar(select(ProgressYear.year).where(ProgressYear.project_id == project.id)
                              .order_by(ProgressYear.year.desc()).limit(1))
    outcome = runtime().start(session, PROGRESS_PROCESS, {
        "permit_id": permit.id, "project_id": project.id, "applicant": str(applicant_id), "title": project.name,
        "planned_end": str(planned_end), "last_reported_year": reported},
        actor, business_key=_permit_key(permit.id))
    return outcome.instance.id


def tell(session: Session, instance_id: int | None, message: str, payload: dict[str, Any], actor: str,
         action: str) -> bool:
    """Deliver a message to one of the permit's own instances if it still waits for it."""
    if instance_id is None:
        return False
    return runtime().deliver(session, instance_id, message, payload, actor, action) is not None


# ---- access ------------------------------------------------------------------------------------------
def _permit(permit_id: int) -> Permit:
    permit = db.session.get(Permit, permit_id)
    if permit is None:
        raise not_found("证照不存在")
    return permit


def own_permit(user: User, permit_id: int) -> Permit:
    permit = _permit(permit_id)
    if user.enterprise_id is None or permit.enterprise_id != user.enterprise_id:
        raise forbid("无权办理其他单位的项目")
    require_project(user, permit.project_id, "证照")  # a 经办人 with 指定项目: those projects only
    return permit


def authority_permit(user: User, permit_id: int) -> Permit:
    """The issuing department's 受理/办理 staff only."""
    permit = _permit(permit_id)
    if user.department_id is None or permit.department_id != user.department_id \
            or not user.roles.intersection(REVIEWER_ROLES):
        raise forbid("该证照不是本部门签发的")
    return permit


def readable_permit(user: User, permit_id: int) -> Permit:
    permit = _permit(permit_id)
    if permit.enterprise_id == user.enterprise_id or permit.department_id == user.department_id:
        return permit
    raise forbid("无权查看该证照")


def permits_of_project(project_id: int) -> list[Permit]:
    return list(db.session.scalars(select(Permit).where(Permit.project_id == project_id).order_by(Permit.id)))


def enterprise_permits(user: User) -> dict[int, Permit]:
    """The latest permit of each of the enterprise's projects."""
    rows = db.session.scalars(select(Permit).where(Permit.enterprise_id == user.enterprise_id).order_by(Permit.id))
    scope = agent_scope(user)
    return {p.project_id: p for p in rows if scope is None or p.project_id in scope}


def department_permits(user: User, query: str = "", limit: int = 200) -> list[Permit]:
    if user.department_id is None:
        return []
    stmt = select(Permit).where(Permit.department_id == user.department_id)
    if query:
        like = f"%{query.strip()}%"
        stmt = stmt.join(Project, Project.id == Permit.project_id).where(
            (Project.code.like(like)) | (Project.name.like(like)) | (Permit.number.like(like)))
    return list(db.session.scalars(stmt.order_by(Permit.id.desc()).limit(limit)))


# ---- cancellation and revocation ------------------------------------------------------------------------
_ENDED_WORD = {"cancelled": "已被企业注销", "revoked": "已被备案机关撤销", "lapsed": "已超过有效期自动失效",
               "replaced": "已由重新赋码后签发的文件替代"}


def _end(user: User, permit: Permit, status: str, reason: str) -> Permit:
    """Valid → cancelled/revoked, once: the UPDATE only matches a row that is still valid, so of two
    racing requests (注销 and 撤销) exactly one changes it; the other is told who won."""
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("请填写原因", 422, {"reason": "请填写「原因」"})
    if len(reason) > 500:
        raise ServiceError("原因过长", 422, {"reason": "「原因」不能超过500字"})
    today = calendar.today()
    verb = "注销" if status == "cancelled" else "撤销"
    if effective_status(permit) == "lapsed" and permit.status == "valid":
        raise ServiceError(f"该{permit.kind_label}已超过有效期自动失效，无需{verb}", 409)
    changed = db.session.execute(
        update(Permit).where(Permit.id == permit.id, Permit.status == "valid")
        .values(status=status, ended_on=today, end_reason=reason, ended_by=user.id)
        .execution_options(synchronize_session=False)).rowcount
    db.session.refresh(permit)
    if changed != 1:
        raise ServiceError(f"该{permit.kind_label}{_ENDED_WORD.get(permit.status, '已失效')}"
                           f"（{permit.ended_on or ''}），不能再{verb}", 409)
    mode = "cancel" if status == "cancelled" else "revoke"
    runtime().start(db.session, CANCELLATION_PROCESS, {
        "permit_id": permit.id, "mode": mode, "reason": reason, "actor_name": user.display_name},
        user.actor, business_key=_permit_key(permit.id), step=f"{verb}{permit.kind_label}")
    tell(db.session, permit.validity_instance_id, "ended", {}, user.actor, "ended")
    tell(db.session, permit.progress_instance_id, "closed", {}, user.actor, "closed")
    return permit


@use_case
def cancel(user: User, permit_id: int, reason: str) -> Permit:
    """注销 by the enterprise: no approval; the authority gets an SMS and a 待阅."""
    return _end(user, own_permit(user, permit_id), "cancelled", reason)


@use_case
def revoke(user: User, permit_id: int, reason: str) -> Permit:
    """撤销 by the authority: no approval; the enterprise gets an SMS and a 待阅."""
    return _end(user, authority_permit(user, permit_id), "revoked", reason)


# ---- progress (项目进展) ------------------------------------------------------------------------------
def progress_of(project_id: int) -> tuple[ProjectProgress | None, list[ProgressYear]]:
    return (db.session.get(ProjectProgress, project_id),
            list(db.session.scalars(select(ProgressYear).where(ProgressYear.project_id == project_id)
                                    .order_by(ProgressYear.year))))


def _yearly_rows(raw_rows: list[tuple[str, str, str]], first_year: int, today: date) -> dict[int, tuple[Decimal, str]]:
    rows: dict[int, tuple[Decimal, str]] = {}
    errors: dict[str, str] = {}
    for index, (year_text, invested_text, progress_text) in enumerate(raw_rows):
        if not (year_text.strip() or invested_text.strip() or progress_text.strip()):
            continue  # an empty row the page added
        n = index + 1
        try:
            year = int(year_text)
        except ValueError:
            errors[f"year_{index}"] = f"第{n}行「年度」请填写四位年份"
            continue
        if not first_year <= year <= today.year:
            errors[f"year_{index}"] = f"第{n}行「年度」应在 {first_year} 至 {today.year} 年之间"
        elif year in rows:
            errors[f"year_{index}"] = f"第{n}行「年度」{year} 年重复填报"
        try:
            invested = Decimal(invested_text.replace(",", "").strip())
            if invested < 0 or invested != invested.quantize(Decimal("0.0001")) or invested >= Decimal("1e14"):
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            errors[f"invested_{index}"] = f"第{n}行「完成投资额（万元）」请填写不小于0的数字，最多4位小数"
            continue
        text = progress_text.strip()
        if not text:
            errors[f"progress_{index}"] = f"第{n}行请填写「建设进程」"
        elif len(text) > 500:
            errors[f"progress_{index}"] = f"第{n}行「建设进程」不能超过500字"
        rows[year] = (invested, text)
    if errors:
        raise ServiceError("项目进展有误，请按提示修改", 422, errors)
    return rows


@use_case
def report_progress(user: User, permit_id: int, raw: dict[str, Any], raw_rows: list[tuple[str, str, str]]) -> Permit:
    """Save 项目进展. A first start date makes the permit valid for good; clearing a wrong date (004 Q6)
    puts the validity timer back; the completion date closes the reminders; new yearly rows answer the
    December 待办. The authority gets a 待阅 each time."""
    permit = own_permit(user, permit_id)
    if effective_status(permit) != "valid":
        raise ServiceError(f"该{permit.kind_label}{permit.status_label if permit.status != 'valid' else '已失效'}，"
                           "不能再填报项目进展", 409)
    today = calendar.today()
    _, values = validate("progress_report", raw, permit.progress_instance_id)
    start, finish = values.get("actual_start"), values.get("completed_on")
    if start is not None and permit.started_on is None and start > permit.valid_until:
        raise ServiceError("开工时间超出有效期", 422, {"actual_start": f"「项目开工时间」不能晚于{permit.kind_label}"
                                                                   f"有效期（{permit.valid_until}）"})
    rows = _yearly_rows(raw_rows, permit.issued_on.year, today)
    known = db.session.get(ProjectProgress, permit.project_id)
    typed = start or finish or values.get("completion_note") or rows
    had_any = (known is not None and (known.actual_start or known.completed_on or known.completion_note)) or \
        db.session.scalar(select(ProgressYear.year).where(ProgressYear.project_id == permit.project_id).limit(1))
    if not typed and not had_any:  # an empty first report would read "saved" and tell the authority nothing
        message = "请至少填写「项目开工时间」「项目完工时间」或一行年度进度后再保存"
        raise ServiceError(message, 422, {"actual_start": message})
    progress = known or ProjectProgress(project_id=permit.project_id)
    db.session.add(progress)
    had_start, had_finish = progress.actual_start, progress.completed_on
    progress.actual_start, progress.completed_on = start, finish
    progress.completion_note = values.get("completion_note") or ""
    progress.updated_at, progress.updated_by = clock.utcnow_naive(), user.id

    existing = {r.year: r for r in db.session.scalars(select(ProgressYear).where(
        ProgressYear.project_id == permit.project_id))}
    new_years = [y for y in rows if y not in existing]
    for year, row in existing.items():
        if year not in rows:
            db.session.delete(row)
    for year, (invested, text) in rows.items():
        row = existing.get(year) or ProgressYear(project_id=permit.project_id, year=year)
        row.invested, row.progress, row.reported_at = invested, text, clock.utcnow_naive()
        db.session.add(row)
    db.session.flush()

    actor = user.actor
    what = []
    # Start reported → valid for good; cleared → the validity period runs again from its date.
    if start is not None and permit.started_on is None:
        permit.started_on = start
        tell(db.session, permit.validity_instance_id, "started", {"started_on": start.isoformat()}, actor, "report")
        what.append(f"开工时间 {start}")
    elif start is None and permit.started_on is not None:
        permit.started_on = None
        permit.validity_instance_id = _start_validity(db.session, permit, actor)
        what.append("清除了开工时间")
    elif start is not None and start != had_start:
        permit.started_on = start
        what.append(f"开工时间改为 {start}")
    # Completion reported → no more reminders; cleared → they start again.
    if finish is not None and had_finish is None:
        tell(db.session, permit.progress_instance_id, "closed", {}, actor, "report")
        what.append(f"完工时间 {finish}")
    elif finish is None and had_finish is not None:
        if not _running(permit.progress_instance_id):
            permit.progress_instance_id = _start_progress(db.session, permit, permit.project, user.id, actor)
        what.append("清除了完工时间")
    if new_years:
        _answer_yearly(permit, rows, new_years, actor, today)
        what.append("年度进度报告 " + "、".join(str(y) for y in sorted(new_years)))
    if what:
        notify.tell_department(db.session, permit.department_id,
                               f"【项目进展】{permit.project.name}（{permit.project.code}）：{'；'.join(what)}",
                               f"/authority/permits/{permit.id}", "progress")
    return permit


def _running(instance_id: int | None) -> bool:
    row = db.session.get(Instance, instance_id) if instance_id else None
    return row is not None and row.status == "running"


def _answer_yearly(permit: Permit, rows: dict[int, Any], new_years: list[int], actor: str, today: date) -> None:
    """Answer the December 待办 (or the coming December's) when its year, or a later one, is reported."""
    task = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == permit.progress_instance_id,
                                                     HumanTask.bpmn_id == "yearly_report"))
    waiting_year = int(task.scope) if task is not None and task.scope else today.year
    if any(year >= waiting_year for year in new_years):
        tell(db.session, permit.progress_instance_id, "year_reported", {"year": max(rows)}, actor, "report")


# ---- what the diagrams report -----------------------------------------------------------------------
def _name(permit: Permit) -> str:
    return f"{permit.project.name}（{permit.project.code}）"


def on_lapsed(ctx: EventContext, permit: Permit, event: Event) -> None:
    """有效期届满未开工: the permit lapses (a start reported meanwhile wins), progress reminders stop."""
    if permit.status != "valid" or permit.started_on is not None:
        return
    name = _name(permit)
    permit.status, permit.ended_on = "lapsed", calendar.today()
    permit.end_reason = "超过有效期未开工，自动失效"
    tell(ctx.session, permit.progress_instance_id, "closed", {}, ctx.actor, "closed")
    notify.tell_enterprise(ctx.session, permit.enterprise_id,
                           f"【{permit.kind_label}失效】{name}的{permit.kind_label}（{permit.number}）"
                           f"有效期至 {permit.valid_until} 未开工，已自动失效", f"/enterprise/permits/{permit.id}", "lapsed")
    notify.to_read(ctx.session, f"【{permit.kind_label}失效】{name}：超过有效期未开工，已自动失效",
                   f"/authority/permits/{permit.id}", "lapsed", department_id=permit.department_id)


def on_valid_for_good(ctx: EventContext, permit: Permit, event: Event) -> None:
    """开工已填报: validity supervision ends and the permit no longer lapses; the enterprise reads so (a 待阅,
    no SMS: it has just reported the start itself)."""
    title = (f"【{permit.kind_label}有效期】{_name(permit)}已填报开工时间，{permit.kind_label}（{permit.number}）"
             "不再因逾期未开工而失效")
    for user in notify.enterprise_users(ctx.session, permit.enterprise_id):
        notify.to_read(ctx.session, title, f"/enterprise/permits/{permit.id}", "progress", user_id=user.id)


def on_cancelled(ctx: EventContext, permit: Permit, event: Event) -> None:
    project = permit.project
    notify.tell_department(ctx.session, permit.department_id,
                           f"【注销】{_name(permit)}的{permit.kind_label}（{permit.number}）已由企业注销。原因：{event['reason']}",
                           f"/authority/permits/{permit.id}", "cancelled")
    notify.publish(ctx.session, "cancellation", project_code=project.code, project_name=project.name,
                   authority=permit.department.name, published_on=calendar.today(), document_number=permit.number,
                   detail=event["reason"])


def on_revoked(ctx: EventContext, permit: Permit, event: Event) -> None:
    project, authority = permit.project, permit.department.name
    notify.tell_enterprise(ctx.session, permit.enterprise_id,
                           f"【撤销】{_name(permit)}的{permit.kind_label}（{permit.number}）已被{authority}撤销。"
                           f"原因：{event['reason']}", f"/enterprise/permits/{permit.id}", "revoked")
    notify.publish(ctx.session, "revocation", project_code=project.code, project_name=project.name,
                   authority=authority, published_on=calendar.today(), document_number=permit.number,
                   detail=event["reason"])


def on_dates_reminder(ctx: EventContext, permit: Permit, event: Event) -> None:
    word = "再次提醒：" if event["round"] == 2 else ""
    notify.sms(ctx.session, notify.enterprise_users(ctx.session, permit.enterprise_id),
               f"{word}{_name(permit)}计划于 {event['planned_end']} 竣工，请登录平台在「项目进展」中填报开工、竣工时间")


def on_year_reminder(ctx: EventContext, permit: Permit, event: Event) -> None:
    notify.sms(ctx.session, notify.enterprise_users(ctx.session, permit.enterprise_id),
               f"请登录平台在「项目进展」中填报{_name(permit)}{event['year']}年度进度报告")


def on_year_missed(ctx: EventContext, permit: Permit, event: Event) -> None:
    """A year's progress report still missing a year on (000 §9: 项目单位应按年度报送): the authority is told,
    for its supervision, and the enterprise is told the report is overdue."""
    name, year = _name(permit), event["year"]
    notify.to_read(ctx.session, f"【进度报告逾期】{name}未填报{year}年度进度报告",
                   f"/authority/permits/{permit.id}", "overdue", department_id=permit.department_id)
    notify.tell_enterprise(ctx.session, permit.enterprise_id,
                           f"【进度报告逾期】{name}的{year}年度进度报告逾期未填报，请在「项目进展」中补报",
                           f"/enterprise/permits/{permit.id}", "overdue")
