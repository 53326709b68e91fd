"""The applicant's records (issue 14 §6): the printable 申报表 of what was submitted (备案 and 事项申报) and the
受理通知书 once a department has accepted. Drawn from the stored rows on every download, in the layout of the
certificates (app/documents). Readable by the owning enterprise (its 经办人 within scope) and the handling
department's 受理/办理 staff only.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Spacer
from sqlalchemy import select

from engine.tables import TrailEntry

from ..documents.approval import body_style, grid_table, heading, page_footer
from ..documents.certificate import (
    PLATFORM_NAME,
    build_pdf,
    cjk_style,
    ensure_font,
    fields_table,
    format_cn_date,
    header,
    para,
)
from ..domain.money import amount_text
from ..domain.workdays import SHANGHAI, UTC
from ..extensions import db
from ..formkit import FieldDef, FormDef
from ..models import KIND_LABELS, Attachment, Declaration, FilingApplication, ItemCase, User
from . import ServiceError, calendar, forbid, not_found
from .access import owned
from .platform import choices, forms_of_instance

REVIEW_ROLES = {"acceptor", "handler"}
ACCEPTED_FILINGS = ("accepted", "reviewed", "issued")


# ---- who may read ------------------------------------------------------------------------------
def _readable(user: User, model: type, row_id: int, what: str, departments: set[int]) -> Any:
    if user.enterprise_id is not None:
        return owned(user, model, row_id, what)  # 404 / 403 / a 经办人 outside 指定项目
    row = db.session.get(model, row_id)
    if row is None:
        raise not_found(f"{what}不存在")
    if not (user.roles & REVIEW_ROLES) or user.department_id is None or user.department_id not in departments:
        raise forbid(f"无权下载该{what}的申报表或回执：仅限项目单位和承办部门")
    return row


def readable_filing(user: User, application_id: int) -> FilingApplication:
    row = db.session.get(FilingApplication, application_id)
    return _readable(user, FilingApplication, application_id, "备案申请",
                     {row.department_id} if row is not None and row.department_id else set())


def readable_declaration(user: User, declaration_id: int) -> Declaration:
    departments = set(db.session.scalars(select(ItemCase.department_id).where(
        ItemCase.declaration_id == declaration_id, ItemCase.department_id.is_not(None))))
    return _readable(user, Declaration, declaration_id, "事项申报", departments)


# ---- formatting ----------------------------------------------------------------------------------
def _local(value: datetime | None) -> str:
    if value is None:
        return "—"
    moment = value.replace(tzinfo=UTC).astimezone(SHANGHAI)
    return f"{format_cn_date(moment.date())} {moment:%H:%M}"


def _deadline(value: datetime | None) -> str:
    """A deadline is midnight after its last working day: that day's 23:59, in words (cf. visible_deadline)."""
    return _local(value - timedelta(minutes=1)) if value else ""


def _shown(field: FieldDef, value: Any) -> str:
    """A submitted value as the form showed it: a choice's label, an amount with separators."""
    if value is None or value == "":
        return "—"
    if isinstance(value, list):
        return "、".join(_shown(field, v) for v in value) or "—"
    text = str(value)
    options = dict(field.choices) or (dict(choices(field.source)) if field.source else {})
    if text in options:
        return options[text]
    if field.type in ("money", "computed"):
        try:
            return amount_text(Decimal(text))  # as the form showed it: 1,200 not 1,200.00
        except InvalidOperation:
            return text
    if field.type == "checkbox" or isinstance(value, bool):
        return "是" if value in (True, "on", "true", "1") else "否"
    return text


def _form_sections(form: FormDef | None, values: dict[str, Any], skip: set[str]) -> list[Flowable]:
    story: list[Flowable] = []
    if form is None:
        return story
    for title, fields in form.sections:
        rows = [(f.label, _shown(f, values.get(f.name))) for f in fields if f.name not in skip and f.type != "checkbox"]
        if rows:
            story += heading(title or form.title)
            story.append(fields_table(rows))
    return story


def _closing(story: list[Flowable], lines: list[str]) -> None:
    style = cjk_style("closing", 12, TA_RIGHT, 21)
    story += [Spacer(1, 10 * mm)] + [para(line, style) for line in lines]


def _accepted_at(instance_id: int | None, bpmn_id: str, scope: str | None = None) -> datetime | None:
    query = select(TrailEntry).where(TrailEntry.instance_id == instance_id, TrailEntry.bpmn_id == bpmn_id,
                                     TrailEntry.action == "complete").order_by(TrailEntry.id.desc())
    for entry in db.session.scalars(query):
        if scope is None or (entry.detail or {}).get("scope") in (None, scope):
            return entry.at
    return None


# ---- 申报表 --------------------------------------------------------------------------------------
def filing_form_pdf(application: FilingApplication) -> bytes:
    """企业投资项目备案申请表: what was submitted, as submitted."""
    ensure_font()
    if application.submitted_at is None:
        raise ServiceError("备案申请尚未提交，提交后可下载申请表", 409)
    project = application.project
    title = "企业投资项目备案申请表"
    story = header(title, f"办件单号：{application.number}", f"提交时间：{_local(application.submitted_at)}")
    story.append(fields_table([
        ("项目单位", project.enterprise.name), ("统一社会信用代码", project.enterprise.uscc),
        ("备案机关", application.department.name if application.department else "—"),
        ("办理状态", application.status_label)]))
    values = {**application.draft, "project_name": project.name, "location": project.location}
    story += _form_sections(forms_of_instance(application.instance_id).get("filing"), values, {"authority_id"})
    story += [Spacer(1, 6 * mm), para("项目单位承诺：所填信息真实、完整、有效，对备案信息的真实性负责。", body_style())]
    _closing(story, [f"项目单位：{project.enterprise.name}", f"打印日期：{format_cn_date(_today())}"])
    return build_pdf(story, title, PLATFORM_NAME, page_footer(f"办件单号：{application.number}"))


def declaration_form_pdf(declaration: Declaration) -> bytes:
    """投资项目审批（核准）事项申报表: the project, the answers, the items and the materials submitted."""
    ensure_font()
    if declaration.submitted_at is None:
        raise ServiceError("事项申报尚未提交，提交后可下载申报表", 409)
    project = declaration.project
    title = f"投资项目{'核准' if declaration.kind == 'authorisation' else '审批'}事项申报表"
    story = header(title, f"办件单号：{declaration.number}", f"提交时间：{_local(declaration.submitted_at)}")
    story.append(fields_table([
        ("项目代码", project.code), ("项目名称", project.name), ("项目类别", KIND_LABELS.get(project.kind, project.kind)),
        ("申报阶段", declaration.stage), ("项目单位", project.enterprise.name),
        ("统一社会信用代码", project.enterprise.uscc), ("建设地点", project.location),
        ("建设规模及内容", project.scale_content),
        ("计划开工 / 竣工", f"{format_cn_date(project.planned_start)} 至 {format_cn_date(project.planned_end)}"),
        ("总投资（万元）", amount_text(project.total_investment)),
        ("依法必须招标", "是" if declaration.must_tender else "否")]))
    story += _form_sections(forms_of_instance(declaration.instance_id).get("declaration_questions"),
                            declaration.answers or {}, set())
    cases = list(db.session.scalars(select(ItemCase).where(ItemCase.declaration_id == declaration.id)
                                    .order_by(ItemCase.id)))
    story += heading("申报的审批事项")
    story.append(grid_table(("序号", "事项名称", "办理部门", "承诺时限", "状态"), [
        (str(i), c.item_name, c.department.name if c.department else "—", c.item.limit_text, c.status_label)
        for i, c in enumerate(cases, start=1)], (12, 50, 48, 25, 35)))
    names = {c.item_code: c.item_name for c in cases}
    attachments = list(db.session.scalars(select(Attachment).where(
        Attachment.declaration_id == declaration.id, Attachment.superseded.is_(False)).order_by(Attachment.id)))
    story += heading("提交的申报材料")
    story.append(grid_table(("序号", "所属事项", "材料名称", "文件", "上传时间"), [
        (str(i), names.get(a.item_code or "", "其他材料"), a.name, a.filename, _local(a.uploaded_at))
        for i, a in enumerate(attachments, start=1)] or [("—", "—", "无", "—", "—")], (12, 36, 50, 42, 30)))
    story += [Spacer(1, 6 * mm), para("项目单位承诺：所填信息和所附材料真实、完整、有效。", body_style())]
    _closing(story, [f"项目单位：{project.enterprise.name}", f"打印日期：{format_cn_date(_today())}"])
    return build_pdf(story, title, PLATFORM_NAME, page_footer(f"办件单号：{declaration.number}"))


# ---- 受理通知书 ----------------------------------------------------------------------------------
def filing_receipt_pdf(application: FilingApplication) -> bytes:
    """备案受理通知书, once the 备案机关 accepted."""
    ensure_font()
    if application.status not in ACCEPTED_FILINGS:
        raise ServiceError(f"备案申请 {application.number} 尚未受理（{application.status_label}），受理后可下载受理通知书",
                           409)
    project = application.project
    authority = application.department.name if application.department else "备案机关"
    accepted = _accepted_at(application.instance_id, "accept")
    title = "企业投资项目备案受理通知书"
    body = body_style()
    story = header(title, f"办件单号：{application.number}", f"受理时间：{_local(accepted)}")
    story += [
        para(f"{project.enterprise.name}：", body_style("addressee", indent=False)),
        para(f"你单位于{_local(application.submitted_at)}通过{PLATFORM_NAME}提交的「{project.name}」（项目代码："
             f"{project.code}）备案申请，经核验项目代码、审查申请信息，符合受理条件，本机关决定予以受理。", body),
        para(f"本机关将于{_deadline(application.due_at) or '法定时限内'}前办结，办理进度可登录平台"
             "「我的项目」查询。", body),
        Spacer(1, 4 * mm),
        fields_table([("项目代码", project.code), ("项目名称", project.name), ("项目单位", project.enterprise.name),
                      ("受理机关", authority), ("受理时间", _local(accepted)),
                      ("办结时限", _deadline(application.due_at) or "—")]),
    ]
    _closing(story, [authority, format_cn_date(_date_of(accepted))])
    return build_pdf(story, title, PLATFORM_NAME, page_footer(f"办件单号：{application.number}"))


def item_receipt_pdf(declaration: Declaration, item_code: str) -> bytes:
    """受理通知书 of one item of a declaration, once its department accepted."""
    ensure_font()
    case = db.session.scalar(select(ItemCase).where(ItemCase.declaration_id == declaration.id,
                                                    ItemCase.item_code == item_code))
    if case is None:
        raise not_found("该事项不在本次申报中")
    if case.accepted_at is None:
        raise ServiceError(f"「{case.item_name}」尚未受理（{case.status_label}），受理后可下载受理通知书", 409)
    project = declaration.project
    authority = case.department.name if case.department else "承办部门"
    title = "行政许可受理通知书"
    body = body_style()
    story = header(title, f"办件单号：{declaration.number}", f"受理时间：{_local(case.accepted_at)}")
    story += [
        para(f"{project.enterprise.name}：", body_style("addressee", indent=False)),
        para(f"你单位通过{PLATFORM_NAME}申报的「{project.name}」（项目代码：{project.code}）「{case.item_name}」"
             "事项，申请材料齐全、符合法定形式，根据《中华人民共和国行政许可法》第三十二条的规定，本机关决定予以受理。",
             body),
        para(f"本事项承诺办理时限为{case.item.limit_text}，自受理之日起计算；依法需要补正、听证、招标、拍卖、检验、"
             "检测、鉴定和专家评审的时间不计算在内。办理进度可登录平台「我的项目」查询。", body),
        Spacer(1, 4 * mm),
        fields_table([("项目代码", project.code), ("项目名称", project.name), ("申请事项", case.item_name),
                      ("项目单位", project.enterprise.name), ("受理部门", authority),
                      ("受理时间", _local(case.accepted_at)), ("承诺时限", case.item.limit_text)]),
    ]
    _closing(story, [authority, format_cn_date(_date_of(case.accepted_at))])
    return build_pdf(story, title, PLATFORM_NAME, page_footer(f"办件单号：{declaration.number}"))


def accepted_items(declaration: Declaration) -> list[ItemCase]:
    """The items of a declaration with a 受理通知书 (accepted), for the links on the pages."""
    return list(db.session.scalars(select(ItemCase).where(ItemCase.declaration_id == declaration.id,
                                                          ItemCase.accepted_at.is_not(None)).order_by(ItemCase.id)))


def _date_of(moment: datetime | None) -> date:
    return moment.replace(tzinfo=UTC).astimezone(SHANGHAI).date() if moment else _today()


def _today() -> date:
    return calendar.today()
