"""变更 and 延期 applications on an issued permit: submit (checked against the permit's validity),
the authority's steps, and what issuing does (变更函 and the project's current figures with history;
one more year of validity and a re-armed validity timer)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.tables import HumanTask, Instance

from ..documents.change_letter import ChangeLetterData, ChangeRow, render_change_letter
from ..domain import validity
from ..extensions import db
from ..formkit import FormInvalid
from ..models import Permit, PostRequest, Project, User
from . import ServiceError, calendar, forbid, jsonable, lock_project, next_serial, not_found, notify, use_case
from .access import require_project, reviewer_task
from .events import Event, EventContext
from .permits import lapse_at, own_permit, state_of, tell
from .platform import choices, forms, runtime, validate
from .task_kinds import REQUEST, require
from .uploads import read_blob, store

TIME_LIMIT = {"filing": 3, "authorisation": 20}  # working days: Guangdong 备案 practice; 673号令 art 11-12

# What a 备案 change may touch (004 变更备案信息), in the filing form's own field names.
FILING_CHANGEABLE = (
    "scale_content", "nature", "industry_code", "catalogue_code", "capital_category", "capital", "annual_plan",
    "total_investment", "civil_investment", "equipment_investment", "import_fx", "own_funds", "domestic_loans",
    "securities", "other_funds", "planned_start", "planned_end", "contact_name", "contact_phone",
)
# 核准: 建设内容和规模, dates, 总投资, 资金来源 (673号令 art 11).
AUTHORISATION_FIELDS = {"address": "建设地点（详细地址）", "scale_content": "建设规模及内容",
                        "planned_start": "计划开工时间", "planned_end": "计划竣工时间",
                        "total_investment": "总投资（万元）", "funding": "资金来源"}
# Typed lengths as at 领码 (forms/code_application.yaml): the address lands in project.address at 签发.
AUTHORISATION_LIMITS = {"address": 200, "scale_content": 2000, "funding": 500}


def changeable_fields(permit: Permit) -> list[tuple[str, str]]:
    if permit.kind == "filing":
        labels = {f.name: f.label for f in forms().get("filing").fields}
        return [(name, labels[name]) for name in FILING_CHANGEABLE]
    return list(AUTHORISATION_FIELDS.items())


def shown(permit: Permit, name: str, value: Any) -> str:
    """A stored value as the reader knows it (the label of a code)."""
    if value in (None, ""):
        return "（未填写）"
    if permit.kind == "filing":
        field = next((f for f in forms().get("filing").fields if f.name == name), None)
        if field is not None and field.type == "choice":
            return next((label for code, label in (field.choices or choices(field.source)) if code == str(value)),
                        str(value))
    return str(value)


def _busy(permit: Permit, kind: str) -> PostRequest | None:
    """The open request of that kind; the project's row lock makes a second submission at the same moment
    wait for the first and then find it (one open change and one open extension per permit)."""
    lock_project(permit.project_id)
    return db.session.scalar(select(PostRequest).where(PostRequest.permit_id == permit.id, PostRequest.kind == kind,
                                                       PostRequest.status.in_(["submitted", "accepted", "reviewed"])))


def _number(permit: Permit, kind: str) -> str:
    """办件单号 after the 备案 pattern: region - 04 (变更) / 05 (延期) - year + serial."""
    digits = "04" if kind == "change" else "05"
    prefix = f"{permit.project.region_code}-{digits}-{calendar.today().year}"
    return f"{prefix}{next_serial(db.session, PostRequest.number, prefix):04d}{'XMBG' if kind == 'change' else 'XMYQ'}"


def _start(user: User, permit: Permit, request: PostRequest) -> PostRequest:
    db.session.add(request)
    db.session.flush()
    department = permit.department
    outcome = runtime().start(db.session, request.kind, {
        "request_id": request.id, "applicant": user.actor, "department_id": department.id,
        "region_code": department.region_code, "title": f"{permit.project.name}（{request.kind_label}）",
        "time_limit": TIME_LIMIT.get(permit.kind, 20)}, user.actor, business_key=f"post:{request.id}",
        step=f"提交{request.kind_label}申请")
    request.instance_id = outcome.instance.id
    return request


def _attachments(files: list[tuple[str, bytes]]) -> list[dict[str, str]]:

    kept = []
    for filename, content in files:
        if content:
            upload = store(content)
            kept.append({"sha256": upload.sha256, "filename": (filename or "附件.pdf")[-200:]})
    return kept


# ---- change ------------------------------------------------------------------------------------------
@use_case
def submit_change(user: User, permit_id: int, raw: dict[str, Any], files: list[tuple[str, bytes]]) -> PostRequest:
    permit = own_permit(user, permit_id)
    today = calendar.today()
    refusal = validity.ended_refusal(state_of(permit), today, permit.kind_label)
    if refusal:
        raise ServiceError(refusal, 409)
    if (busy := _busy(permit, "change")) is not None:
        raise ServiceError(f"该项目已有办理中的变更申请（{busy.number}），请等待办结后再申请", 409)
    fields = changeable_fields(permit)
    ticked = [name for name, _ in fields if raw.get(f"change_{name}") in ("on", "true", "1")]
    if not ticked:
        raise ServiceError("请勾选需要变更的事项", 422, {"_changes": "请至少勾选一项需要变更的事项（未勾选的项不作变更）"})
    reason = (raw.get("reason") or "").strip()
    if not reason:
        raise ServiceError("请填写变更原因", 422, {"reason": "请填写「变更原因」"})
    if len(reason) > 1000:
        raise ServiceError("变更原因过长", 422, {"reason": "「变更原因」不能超过1000字"})
    current = dict(permit.current)
    if permit.kind == "authorisation":
        current.setdefault("address", permit.project.address)  # permits opened before 建设地点 was changeable
    new_values = _validated_change(permit, current, ticked, raw)
    changes = [{"field": name, "label": label, "before": shown(permit, name, current.get(name)),
                "after": shown(permit, name, new_values.get(name))}
               for name, label in fields
               if name in ticked and str(current.get(name) or "") != str(new_values.get(name) or "")]
    if not changes:
        raise ServiceError("勾选的事项没有变化", 422, {"_changes": "勾选的事项与原信息相同，请填写变更后的内容"})
    start = _as_date(new_values.get("planned_start")) if "planned_start" in ticked else None
    end = _as_date(new_values.get("planned_end")) if "planned_end" in ticked else None
    q9 = validity.date_change_refusal(state_of(permit), start, end, permit.kind_label)
    if q9:
        raise ServiceError(q9, 422, {"planned_end" if end else "planned_start": q9})
    request = PostRequest(number=_number(permit, "change"), kind="change", permit_id=permit.id,
                          project_id=permit.project_id, enterprise_id=permit.enterprise_id, applicant_id=user.id,
                          department_id=permit.department_id, reason=reason, changes=changes,
                          values={c["field"]: new_values.get(c["field"]) for c in changes},
                          upload_ids=_attachments(files))
    return _start(user, permit, request)


def _as_date(value: Any) -> date | None:
    return value if isinstance(value, date) or value is None else date.fromisoformat(str(value))


def _validated_change(permit: Permit, current: dict[str, Any], ticked: list[str], raw: dict[str, Any]) -> dict[str, Any]:
    """The new values, checked as a whole: a 备案 through the filing form and its rules (sums, capital
    ratio, dates), so a change never leaves figures that would not have been accepted at filing."""
    merged = {**current, **{name: raw.get(name, "") for name in ticked}}
    if permit.kind != "filing":
        return _validated_authorisation(merged, ticked)
    try:
        _, values = validate("filing", merged)
    except FormInvalid as exc:
        errors = dict(exc.errors)
        start = errors.get("planned_start", "")
        if "签发" in start and "planned_start" not in ticked:
            errors.pop("planned_start")  # the original start was checked at issue, not again today
        if errors:
            raise ServiceError("变更内容有误，请按提示修改", 422, errors) from None
        values = {k: merged[k] for k in merged}
    return jsonable(values)


def _validated_authorisation(merged: dict[str, Any], ticked: list[str]) -> dict[str, Any]:
    errors = {}
    for name in ticked:
        if not str(merged.get(name) or "").strip():
            errors[name] = f"请填写变更后的「{AUTHORISATION_FIELDS[name]}」"
        elif name in AUTHORISATION_LIMITS and len(str(merged[name]).strip()) > AUTHORISATION_LIMITS[name]:
            errors[name] = f"「{AUTHORISATION_FIELDS[name]}」不能超过{AUTHORISATION_LIMITS[name]}字"
    for name in ("planned_start", "planned_end"):
        if name in ticked and name not in errors:
            try:
                date.fromisoformat(str(merged[name]))
            except ValueError:
                errors[name] = f"「{AUTHORISATION_FIELDS[name]}」请填写日期，如 2027-06-30"
    if "total_investment" in ticked and "total_investment" not in errors:
        try:
            if float(merged["total_investment"]) <= 0:
                raise ValueError
        except ValueError:
            errors["total_investment"] = "「总投资（万元）」请填写大于0的数字"
    if not errors and str(merged.get("planned_end", "")) < str(merged.get("planned_start", "")):
        errors["planned_end"] = "「计划竣工时间」不能早于「计划开工时间」"
    if errors:
        raise ServiceError("变更内容有误，请按提示修改", 422, errors)
    return {k: str(v) for k, v in merged.items()}


# ---- extension -----------------------------------------------------------------------------------------
def apply_by(permit: Permit) -> date | None:
    """核准: the last day an extension may be applied for (30 working days before expiry, 673号令 art 12);
    a 备案证 may be extended any time within its validity (004)."""
    if permit.kind != "authorisation":
        return None
    return validity.last_day_to_apply(permit.valid_until, calendar.work_calendar().is_workday)


def _extension_refusal(permit: Permit) -> str | None:
    return validity.extension_refusal(state_of(permit), calendar.today(), permit.kind_label, apply_by(permit))


def extension_preview(permit: Permit) -> tuple[date, str | None]:
    """The validity an extension would give, and why it cannot be asked for now (None if it can)."""
    return validity.extended_validity(state_of(permit)), _extension_refusal(permit)


@use_case
def submit_extension(user: User, permit_id: int, raw: dict[str, Any]) -> PostRequest:
    permit = own_permit(user, permit_id)
    refusal = _extension_refusal(permit)
    if refusal:
        raise ServiceError(refusal, 409)
    if (busy := _busy(permit, "extension")) is not None:
        raise ServiceError(f"该{permit.kind_label}已有办理中的延期申请（{busy.number}）", 409)
    reason = (raw.get("reason") or "").strip()
    if not reason:
        raise ServiceError("请填写延期原因", 422, {"reason": "请填写「延期原因」"})
    if len(reason) > 1000:
        raise ServiceError("延期原因过长", 422, {"reason": "「延期原因」不能超过1000字"})
    new_until = validity.extended_validity(state_of(permit))
    request = PostRequest(number=_number(permit, "extension"), kind="extension", permit_id=permit.id,
                          project_id=permit.project_id, enterprise_id=permit.enterprise_id, applicant_id=user.id,
                          department_id=permit.department_id, reason=reason,
                          changes=[{"field": "valid_until", "label": f"{permit.kind_label}有效期至",
                                    "before": permit.valid_until.isoformat(), "after": new_until.isoformat()}],
                          values={"valid_until": new_until.isoformat()})
    return _start(user, permit, request)


# ---- access and lists ------------------------------------------------------------------------------------
def own_request(user: User, request_id: int) -> PostRequest:
    request = db.session.get(PostRequest, request_id)
    if request is None:
        raise not_found("申请不存在")
    if request.enterprise_id != user.enterprise_id and request.department_id != user.department_id:
        raise forbid("无权查看该申请")
    require_project(user, request.project_id, "申请")  # a 经办人 with 指定项目 (issue 13)
    return request


def request_attachment(user: User, request_id: int, index: int) -> tuple[bytes, str]:
    """One of the materials attached to a change, for the enterprise and the handling department."""

    request = own_request(user, request_id)
    if not 0 <= index < len(request.upload_ids or []):
        raise not_found("附件不存在")
    upload = request.upload_ids[index]
    return read_blob(upload["sha256"]), upload["filename"]


def requests_of_permit(permit_id: int) -> list[PostRequest]:
    return list(db.session.scalars(select(PostRequest).where(PostRequest.permit_id == permit_id)
                                   .order_by(PostRequest.id.desc())))


def request_of_task(task: HumanTask) -> PostRequest | None:
    key = task.business_key or ""
    return db.session.get(PostRequest, int(key.split(":", 1)[1])) if key.startswith("post:") else None


@use_case
def complete_step(user: User, human_task_id: int, raw: dict[str, Any]) -> PostRequest:

    task = reviewer_task(user, human_task_id)
    require(task, REQUEST)  # not a 备案 or an item's step, whichever route called
    request = request_of_task(task)
    if request is None:
        raise not_found("申请不存在")
    if request.kind == "extension" and task.bpmn_id == "decide" and raw.get("decision") == "pass":
        refusal = validity.extension_refusal(state_of(request.permit), calendar.today(), request.permit.kind_label)
        if refusal:  # the permit lapsed or ended while the request waited
            raise ServiceError(f"不能同意延期：{refusal}", 409)
    # Set before completing: the listener's notice to the enterprise quotes it (a 422 rolls it back).
    request.opinion = str(raw.get("opinion") or "").strip()[:1000] or request.opinion
    runtime().complete(db.session, task.instance_id, task.task_id, user.actor, raw, human=task,
                       action="refuse" if raw.get("decision") in ("reject", "refuse") else "complete")
    return request


# ---- what the diagrams report ----------------------------------------------------------------------------
_DECIDED = {"issued": "已办结（同意）", "refused": "不予同意", "rejected": "不予受理",
            "reapproval": "属重大变化，须重新赋码办理"}


def request_of_instance(session: Session, instance: Instance) -> PostRequest | None:
    key = instance.business_key or ""
    return session.get(PostRequest, int(key.split(":", 1)[1])) if key.startswith("post:") else None


def on_progress(ctx: EventContext, request: PostRequest, event: Event) -> None:
    """submitted / accepted / reviewed: the diagrams name these events after the request's statuses."""
    request.status = event["kind"]


def on_decided(ctx: EventContext, request: PostRequest, event: Event) -> None:
    """issued / refused / rejected / reapproval: the request is decided and the enterprise told the result;
    同意 issues the 变更函 or the extension, 重大变化 gives the project a new code (重新赋码)."""
    kind = event["kind"]
    request.status, request.decided_at = kind, clock.utcnow_naive()
    permit, project = request.permit, request.project
    link = f"/enterprise/permits/{permit.id}"
    opinion = f"。意见：{request.opinion}" if request.opinion and kind != "issued" else ""
    if kind == "issued":
        (_issue_change if request.kind == "change" else _issue_extension)(ctx.session, request, permit, ctx.actor)
    elif kind == "reapproval":
        successor = _recode(ctx.session, request, permit)
        link = f"/enterprise/projects/{successor.id}"
        opinion += f"。已重新赋码：新项目代码 {successor.code}（原代码 {project.code} 与之对应），请以新代码重新申报"
    notify.tell_enterprise(ctx.session, request.enterprise_id,
                           f"【{request.kind_label}】{project.name}（{project.code}）的{request.kind_label}申请"
                           f" {request.number} {_DECIDED[kind]}{opinion}", link, "result")


def _issue_change(session: Session, request: PostRequest, permit: Permit, actor: str) -> None:
    today = calendar.today()
    prefix = f"BG{today:%y}{permit.project.region_code}"
    request.letter_number = f"{prefix}{next_serial(session, PostRequest.letter_number, prefix):05d}"
    permit.current = {**permit.current, **request.values}
    project = permit.project
    _apply_to_project(project, request.values)
    if "planned_end" in request.values:
        tell(session, permit.progress_instance_id, "replanned",
             {"planned_end": str(request.values["planned_end"])}, actor, "replanned")
    notify.publish(session, "change", project_code=project.code, project_name=project.name,
                   authority=permit.department.name, published_on=today, document_number=request.letter_number,
                   detail="变更事项：" + "、".join(c["label"] for c in request.changes))


def _apply_to_project(project: Project, values: dict[str, Any]) -> None:
    """A change's new values that the project record itself holds."""
    for name in ("scale_content", "nature", "industry_code", "catalogue_code", "address"):
        if name in values:
            setattr(project, name, values[name] or None)
    for name in ("planned_start", "planned_end"):
        if name in values:
            setattr(project, name, date.fromisoformat(str(values[name])))
    if "total_investment" in values:
        project.total_investment = Decimal(str(values["total_investment"]))


def _recode(session: Session, request: PostRequest, permit: Permit) -> Project:
    """重新赋码 (national rules art 12): a new project with the requested values and a new code, mapped to
    the old one. The old permit stays valid until the new project's permit is issued (permits.open_permit)."""
    from .projects import new_code

    old = permit.project
    successor = Project(enterprise_id=old.enterprise_id, kind=old.kind, created_by=request.applicant_id,
                        predecessor_id=old.id, **{name: getattr(old, name) for name in (
                            "type_code", "name", "industry_code", "catalogue_code", "region_code", "address", "nature",
                            "scale_content", "planned_start", "planned_end", "total_investment")})
    _apply_to_project(successor, request.values)
    new_code(session, successor)
    request.new_project_id = successor.id
    return successor


def _issue_extension(session: Session, request: PostRequest, permit: Permit, actor: str) -> None:
    today = calendar.today()
    permit.valid_until = date.fromisoformat(request.values["valid_until"])
    permit.extended_on = today
    if not tell(session, permit.validity_instance_id, "extended", {"lapse_at": lapse_at(permit.valid_until)},
                actor, "extended"):
        raise ServiceError("有效期监管流程已结束，无法延期", 409)
    notify.publish(session, "extension", project_code=permit.project.code, project_name=permit.project.name,
                   authority=permit.department.name, published_on=today, document_number=permit.number,
                   detail=f"有效期延至 {permit.valid_until}")


# ---- 变更函 --------------------------------------------------------------------------------------------
def change_letter_pdf(user: User, request_id: int) -> tuple[bytes, str]:
    request = own_request(user, request_id)
    if request.kind != "change" or request.status != "issued" or not request.letter_number:
        raise not_found("该申请没有变更函")
    permit, project = request.permit, request.project
    data = ChangeLetterData(
        letter_number=request.letter_number, permit_kind=permit.kind_label, permit_number=permit.number,
        project_code=project.code, project_name=project.name, enterprise_name=permit.enterprise.name,
        authority_name=permit.department.name, reason=request.reason,
        rows=[ChangeRow(c["label"], c["before"], c["after"]) for c in request.changes],
        issued_on=calendar.local_date(request.decided_at) or calendar.today(), opinion=request.opinion or "")
    url = f"{current_app.config['PUBLIC_BASE_URL']}/public/projects/{project.code}"
    return render_change_letter(data, url), f"biangenghan-{request.letter_number}.pdf"

