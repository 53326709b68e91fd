"""Who may read a declaration's files, and the decision documents and 办结告知书 rendered from what
was decided (the rows are the record; the PDF is drawn from them on every download)."""
from __future__ import annotations

from datetime import date
from urllib.parse import quote

from flask import Response, current_app
from sqlalchemy import select

from ..documents.approval import (
    CompletionNoticeData,
    ItemDecisionData,
    NoticeItem,
    TenderRow,
    render_completion_notice,
    render_item_decision,
)
from ..domain import item_clock
from ..extensions import db
from ..models import Attachment, Declaration, ItemCase, User
from . import ServiceError, calendar, forbid, not_found
from .access import item_permissions, oversight_regions, require_project

OVERSIGHT_ROLES = {"policy", "supervisor", "admin"}


def readable_declaration(user: User, declaration_id: int) -> Declaration:
    """The owner enterprise; a reviewer holding a permission on one of its items in their department;
    policy and supervision staff of the project's region (their unit's region and those under it)."""
    declaration = db.session.get(Declaration, declaration_id)
    if declaration is None:
        raise not_found("事项申报不存在")
    if user.enterprise_id is not None:
        if declaration.enterprise_id != user.enterprise_id:
            raise forbid("无权查看其他单位的事项申报")
        require_project(user, declaration.project_id, "事项申报")  # a 经办人 with 指定项目 (issue 13)
        return declaration
    if user.roles & OVERSIGHT_ROLES:
        regions = oversight_regions(user)
        if regions is None or declaration.project.region_code in regions:
            return declaration
        if not user.department_id:
            raise forbid("该申报不在您的监管范围内")
    codes = {code for code, _ in item_permissions(user)}
    mine = db.session.scalar(select(ItemCase.id).where(
        ItemCase.declaration_id == declaration.id, ItemCase.department_id == user.department_id,
        ItemCase.item_code.in_(codes)).limit(1)) if user.department_id and codes else None
    if mine is None:
        raise forbid("该申报不涉及您部门有权办理的事项")
    return declaration


def attachment_for(user: User, declaration_id: int, attachment_id: int) -> Attachment:
    declaration = readable_declaration(user, declaration_id)
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.declaration_id != declaration.id:
        raise not_found("材料不存在")
    return attachment


def pdf_response(content: bytes, filename: str) -> Response:
    """Always a download, never rendered by the browser as a page of ours."""
    ascii_name = "".join(c if c.isascii() and c.isalnum() or c in "-_." else "_" for c in filename) or "file.pdf"
    return Response(content, mimetype="application/pdf", headers={
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox; default-src 'none'",
        "Cache-Control": "private, no-store",
    })


def _verify_url(path: str) -> str:
    return f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}{path}"


def decision_pdf(user: User, declaration_id: int, item_code: str) -> tuple[bytes, str]:
    declaration = readable_declaration(user, declaration_id)
    case = db.session.scalar(select(ItemCase).where(ItemCase.declaration_id == declaration.id,
                                                    ItemCase.item_code == item_code))
    if case is None or not case.decision:
        raise ServiceError("该事项尚未办结，没有决定文件", 404)
    d = case.decision
    tender = [TenderRow(t["package"], t["scope"], t["method"], t["organisation"]) for t in d.get("tender", [])]
    approved = d.get("result") == "approve"
    validity = ""
    if approved and item_code == "authorisation":
        validity = ("本核准文件自印发之日起有效期2年。在有效期内未开工建设的，项目单位应当在期限届满30个工作日前"
                    "向项目核准机关申请延期；未申请延期或申请延期未获批准的，本核准文件自动失效（国务院令第673号第十二条）。")
    data = ItemDecisionData(
        doc_number=d["doc_number"], title=d["doc_title"], authority_name=case.department.name if case.department else "",
        item_name=case.item_name, project_code=declaration.project.code, project_name=declaration.project.name,
        enterprise_name=declaration.enterprise.name, approved=approved, opinion=d.get("opinion", ""),
        decided_on=date.fromisoformat(d["decided_on"]), validity_note=validity, tender=tender or None,
        verify_url=_verify_url(f"/public/projects/{declaration.project.code}"))
    return render_item_decision(data), f"{case.item_name}-{d['doc_number']}.pdf"


def notice_pdf(user: User, declaration_id: int) -> tuple[bytes, str]:
    declaration = readable_declaration(user, declaration_id)
    if declaration.status != "completed" or not declaration.notice_number:
        raise ServiceError("所涉事项尚未全部办结，办结告知书尚未出具", 404)
    cal = calendar.work_calendar()
    items = []
    for case in db.session.scalars(select(ItemCase).where(ItemCase.declaration_id == declaration.id)
                                   .order_by(ItemCase.id)):
        used = item_clock.status(case.clock, cal, case.decided_at_aware).counted if case.clock and case.decided_at else None
        items.append(NoticeItem(
            item_name=case.item_name, department_name=case.department.name if case.department else "—",
            result=case.status_label, doc_number=case.document_number or "—",
            decided_on=case.decided_at_local_date, working_days_used=used, limit_text=case.item.limit_text))
    data = CompletionNoticeData(
        number=declaration.notice_number, project_code=declaration.project.code,
        project_name=declaration.project.name, enterprise_name=declaration.enterprise.name,
        declaration_number=declaration.number, kind_label=declaration.kind_label,
        issued_on=calendar.local_date(declaration.completed_at), items=items,
        verify_url=_verify_url(f"/public/projects/{declaration.project.code}"))
    return render_completion_notice(data), f"办结告知书-{declaration.number}.pdf"
