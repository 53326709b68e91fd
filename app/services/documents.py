"""Who may read a declaration's files, and the decision documents and 办结告知书 rendered from what
was decided (the rows are the record; the PDF is drawn from them on every download)."""
from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from urllib.parse import quote

from flask import Response, current_app
from pypdf import PdfReader, PdfWriter
from reportlab.lib.colors import Color
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy import select

from ..documents.approval import (
    CompletionNoticeData,
    ItemDecisionData,
    NoticeItem,
    TenderRow,
    render_completion_notice,
    render_item_decision,
)
from ..documents.certificate import (
    FONT,
    FilingCertificateData,
    ensure_font,
    format_cn_date,
    render_filing_certificate,
)
from ..domain import item_clock
from ..domain import validity as permit_validity
from ..extensions import db
from ..models import Attachment, Declaration, Department, FilingApplication, ItemCase, User
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


# ---- previews before 签发 / 办结 (issue 14 §9): the document as it would be issued, marked 「预览」 ------------------
# Drawn from the form values typed so far and nothing else: no number is drawn from a sequence, no row is written,
# the QR code points at no certificate. Only the holder of the step may ask (the routes check that).
PREVIEW_MARK = "预览"
PREVIEW_PENDING = "（签发时生成）"


def watermark(content: bytes, text: str = PREVIEW_MARK) -> bytes:
    """Every page of `content` with a large diagonal grey 「预览」 and a line saying it is not a valid document."""
    ensure_font()
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(content)))
    for page in writer.pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        buffer = io.BytesIO()
        canvas = Canvas(buffer, pagesize=(width, height))
        canvas.setFillColor(Color(0.75, 0.1, 0.1, alpha=0.18))
        canvas.setFont(FONT, min(width, height) / 4)
        canvas.saveState()
        canvas.translate(width / 2, height / 2)
        canvas.rotate(35)
        canvas.drawCentredString(0, -min(width, height) / 12, text)
        canvas.restoreState()
        canvas.setFillColor(Color(0.72, 0.11, 0.11, alpha=0.9))
        canvas.setFont(FONT, 10)
        canvas.drawCentredString(width / 2, height - 18, "预览件：按当前填写内容生成，尚未签发，不具法律效力")
        canvas.save()
        page.merge_page(PdfReader(io.BytesIO(buffer.getvalue())).pages[0])
    writer.add_metadata({"/Title": f"{PREVIEW_MARK}（未签发）"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def preview_response(content: bytes, filename: str) -> Response:
    """A preview is shown in the page's viewer (or a new tab without JavaScript): inline, never cached."""
    response = pdf_response(content, filename)
    response.headers["Content-Disposition"] = response.headers["Content-Disposition"].replace("attachment", "inline", 1)
    return response


def decision_preview(case: ItemCase, values: dict) -> tuple[bytes, str]:
    """The decision of an item as 办结 would issue it, from the 办结 form as typed so far (empty fields stay
    visibly empty: 「（未填写）」)."""
    declaration = case.declaration

    def typed(name: str) -> str:
        return str(values.get(name) or "").strip()

    packages = [("survey", "勘察"), ("design", "设计"), ("works", "施工"), ("supervision", "监理"),
                ("goods", "重要设备材料")]
    tender = [TenderRow(label, typed(f"tender_{key}_scope") or "—", typed(f"tender_{key}_method") or "—",
                        typed(f"tender_{key}_org") or "—")
              for key, label in packages] if any(k.startswith("tender_") for k in values) else None
    approved = typed("result") != "refuse"
    validity = ""
    if approved and case.item_code == "authorisation":
        validity = ("本核准文件自印发之日起有效期2年。在有效期内未开工建设的，项目单位应当在期限届满30个工作日前"
                    "向项目核准机关申请延期；未申请延期或申请延期未获批准的，本核准文件自动失效（国务院令第673号第十二条）。")
    data = ItemDecisionData(
        doc_number=typed("doc_number") or "（文号未填写）", title=typed("doc_title") or "（文件标题未填写）",
        authority_name=case.department.name if case.department else "", item_name=case.item_name,
        project_code=declaration.project.code, project_name=declaration.project.name,
        enterprise_name=declaration.enterprise.name, approved=approved,
        opinion=typed("opinion") or "（决定内容未填写）", decided_on=calendar.today(), validity_note=validity,
        tender=tender, verify_url=_verify_url(f"/public/projects/{declaration.project.code}"))
    return watermark(render_item_decision(data)), f"预览-{case.item_name}.pdf"


def certificate_preview(application: FilingApplication) -> tuple[bytes, str]:
    """The 备案证 as 签发 would issue it today: the submitted filing, the number left as 「（签发时生成）」."""
    project, draft = application.project, application.draft or {}
    issued_on = calendar.today()
    valid_until = permit_validity.initial_validity(issued_on)
    department = db.session.get(Department, application.department_id)

    def money(name: str) -> Decimal:
        try:
            return Decimal(str(draft.get(name) or "0"))
        except ArithmeticError:
            return Decimal("0")

    data = FilingCertificateData(
        number=PREVIEW_PENDING, project_code=project.code, project_name=project.name,
        enterprise_name=project.enterprise.name, enterprise_uscc=project.enterprise.uscc,
        authority_name=department.name if department else "", location=project.location,
        nature=str(draft.get("nature", "")), scale_content=str(draft.get("scale_content", "")),
        total_investment=money("total_investment"), fixed_assets=money("fixed_assets"), capital=money("capital"),
        planned_start=date.fromisoformat(str(draft["planned_start"])),
        planned_end=date.fromisoformat(str(draft["planned_end"])), issued_on=issued_on, valid_until=valid_until,
        status_note=f"项目开工前有效期至 {format_cn_date(valid_until)}；项目开工并报送开工时间后长期有效")
    title = f"{current_app.config['PROVINCE_TITLE']}企业投资项目备案证"
    content = render_filing_certificate(data, _verify_url("/verify"), title=title)
    return watermark(content), f"预览-备案证-{project.code}.pdf"
