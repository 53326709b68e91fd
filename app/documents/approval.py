"""PDF documents of 审批/核准 declarations: one item's decision (批复 / 核准文件 / 许可决定书) and the
办结告知书 issued once every item of a declaration is finished.

Both flow over as many A4 pages as they need (a long opinion or a long item list is never clipped);
font, styles, field table and QR block come from certificate.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    HRFlowable,
    KeepTogether,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from .certificate import (
    CONTENT_W,
    FONT,
    PAGE_W,
    PLATFORM_NAME,
    build_pdf,
    cjk_style,
    ensure_font,
    fields_table,
    format_cn_date,
    header,
    para,
    qr_block,
)

RED = colors.HexColor("#c00000")
HEAD_BG = colors.HexColor("#f3f3f3")
BODY_SIZE = 12
BODY_LEADING = 21

TENDER_PACKAGES = ("勘察", "设计", "施工", "监理", "重要设备材料")
TENDER_NOTE = (
    "依据《中华人民共和国招标投标法》及《必须招标的工程项目规定》（国家发展改革委令第16号）核准上述招标事项。"
    "项目单位应当按照核准的招标范围、招标方式和招标组织形式依法组织招标，不得擅自变更。"
)
REMEDY_NOTE = (
    "如对本决定不服，可以自收到本决定之日起六十日内依法申请行政复议，或者自收到本决定之日起六个月内"
    "依法提起行政诉讼。"
)
UNFAVOURABLE_RESULTS = ("不予许可", "不予受理")


@dataclass(frozen=True)
class TenderRow:
    """One package of 招标事项核准意见."""

    package: str  # 勘察|设计|施工|监理|重要设备材料
    scope: str  # 全部招标|部分招标|不招标
    method: str  # 公开招标|邀请招标|—
    organisation: str  # 委托招标|自行招标|—


@dataclass(frozen=True)
class ItemDecisionData:
    doc_number: str  # 文号, e.g. 江发改核准〔2026〕15号
    title: str  # 文件标题, e.g. 关于江门市某某项目核准的批复
    authority_name: str  # 决定机关
    item_name: str  # 事项名称, e.g. 企业投资项目核准
    project_code: str
    project_name: str
    enterprise_name: str  # 申请单位
    approved: bool  # 准予许可 / 不予许可
    opinion: str  # 审查意见 or the reasons of a refusal; paragraphs separated by newlines
    decided_on: date
    validity_note: str  # "" or e.g. 本核准文件自印发之日起有效期2年……
    tender: list[TenderRow] | None  # 招标事项核准意见 when decided in the same document, else None
    verify_url: str  # QR code payload


@dataclass(frozen=True)
class NoticeItem:
    item_name: str
    department_name: str
    result: str  # 准予许可|不予许可|不予受理|已办理过
    doc_number: str  # 文号 ("" when none)
    decided_on: date | None
    working_days_used: int | None
    limit_text: str  # e.g. 20个工作日 ("" when none)


@dataclass(frozen=True)
class CompletionNoticeData:
    number: str  # 告知书编号
    project_code: str
    project_name: str
    enterprise_name: str
    declaration_number: str  # 办件单号
    kind_label: str  # 审批类|核准类
    issued_on: date
    items: list[NoticeItem]
    verify_url: str


# --- helpers ----------------------------------------------------------------------------------


def body_style(name: str = "body", indent: bool = True) -> ParagraphStyle:
    base = cjk_style(name, BODY_SIZE, leading=BODY_LEADING)
    return ParagraphStyle(name, parent=base, firstLineIndent=2 * BODY_SIZE if indent else 0)


def paragraphs(text: str, style: ParagraphStyle) -> list[Flowable]:
    """One indented paragraph per non-blank line (leading full-width spaces are dropped: the style indents)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return [para(line, style) for line in lines] or [para("—", style)]


def heading(text: str) -> list[Flowable]:
    """Section heading; starts a new page rather than standing alone at the bottom of one."""
    return [CondPageBreak(35 * mm), Spacer(1, 4 * mm), para(text, cjk_style("heading", 13.5, leading=20)), Spacer(1, 2 * mm)]


def grid_table(head: Sequence[str], rows: Sequence[Sequence[str]], widths_mm: Sequence[float], size: float = 9.5) -> Table:
    """Bordered table with a shaded header row that repeats on every page; columns scaled to CONTENT_W."""
    scale = CONTENT_W / (sum(widths_mm) * mm)
    head_style = cjk_style("grid-head", size, TA_CENTER)
    cell_style = cjk_style("grid-cell", size, TA_CENTER)
    table = Table(
        [[para(h, head_style) for h in head]] + [[para(c, cell_style) for c in row] for row in rows],
        colWidths=[w * mm * scale for w in widths_mm],
        repeatRows=1,
    )
    table.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 1.2, colors.black),
                ("INNERGRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("BACKGROUND", (0, 0), (-1, 0), HEAD_BG),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
                ("LEFTPADDING", (0, 0), (-1, -1), 4),
                ("RIGHTPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    return table


def sign(story: list[Flowable], lines: Sequence[str], verify_url: str, caption: str) -> None:
    """Append issuer and date right-aligned beside the QR code, kept on the page of the story's last
    paragraph (a signature page never stands without text)."""
    style = cjk_style("signature", BODY_SIZE, TA_RIGHT, BODY_LEADING)
    block = qr_block([para(line, style) for line in lines], verify_url, caption)
    story.append(KeepTogether([story.pop(), Spacer(1, 8 * mm), block]))


def page_footer(label: str = "") -> Callable[[Canvas, SimpleDocTemplate], None]:
    """Page number (公文 style "— N —") at the bottom centre, with an optional label on the left."""

    def draw(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 9)
        canvas.drawCentredString(PAGE_W / 2, 12 * mm, f"— {doc.page} —")
        if label:
            canvas.drawString(doc.leftMargin, 12 * mm, label)
        canvas.restoreState()

    return draw


def dash(value: str) -> str:
    return value.strip() or "—"


def project_phrase(name: str) -> str:
    """“……项目” without doubling a trailing 项目."""
    return name if name.endswith("项目") else f"{name}项目"


# --- public documents -------------------------------------------------------------------------


def render_item_decision(data: ItemDecisionData) -> bytes:
    """Decision of one item: red issuer header, 文号, title, summary table, opinion, optional 招标事项核准意见,
    validity, and for a refusal the applicant's remedies; signed by the authority beside a QR code."""
    ensure_font()
    body = body_style()
    result = "准予许可" if data.approved else "不予许可"
    story: list[Flowable] = [
        para(data.authority_name, ParagraphStyle("issuer-head", parent=cjk_style("ih", 24, TA_CENTER, 32), textColor=RED)),
        Spacer(1, 3 * mm),
        para(data.doc_number, cjk_style("doc-number", BODY_SIZE, TA_CENTER)),
        HRFlowable(width="100%", thickness=1.5, color=RED, spaceBefore=2 * mm, spaceAfter=7 * mm),
        para(data.title, cjk_style("doc-title", 18, TA_CENTER, 26)),
        Spacer(1, 6 * mm),
        para(f"{data.enterprise_name}：", body_style("addressee", indent=False)),
        para(
            f"你单位通过{PLATFORM_NAME}提出的{data.item_name}申请（项目代码：{data.project_code}）及相关材料收悉。"
            + ("经审查，决定准予许可。现将有关事项批复如下：" if data.approved else "经审查，决定不予许可，理由如下："),
            body,
        ),
        Spacer(1, 3 * mm),
        fields_table(
            [
                ("事项名称", data.item_name),
                ("项目代码", data.project_code),
                ("项目名称", data.project_name),
                ("申请单位", data.enterprise_name),
                ("决定机关", data.authority_name),
                ("决定结果", result),
                ("决定日期", format_cn_date(data.decided_on)),
            ]
        ),
    ]
    story += heading("审查意见" if data.approved else "不予许可的理由")
    story += paragraphs(data.opinion, body)
    if data.tender:
        table = grid_table(
            ("招标内容", "招标范围", "招标方式", "招标组织形式"),
            [(t.package, t.scope, dash(t.method), dash(t.organisation)) for t in data.tender],
            (40, 40, 40, 40),
            size=10.5,
        )
        story.append(KeepTogether([*heading("招标事项核准意见"), table]))  # a few rows: never split them
        story += [Spacer(1, 2 * mm), para(TENDER_NOTE, cjk_style("tender-note", 9.5, TA_LEFT, 15))]
    if data.validity_note.strip():
        story += [Spacer(1, 3 * mm), *paragraphs(data.validity_note, body)]
    if not data.approved:
        story += heading("权利告知") + [para(REMEDY_NOTE, body)]
    sign(story, [data.authority_name, format_cn_date(data.decided_on)], data.verify_url, "扫码核验文件真伪")
    return build_pdf(story, data.title, data.authority_name, page_footer(data.doc_number))


def render_completion_notice(data: CompletionNoticeData) -> bytes:
    """办结告知书: project block, the result of every item (the table's header repeats on each page),
    closing paragraph, and the platform's signature beside a QR code."""
    ensure_font()
    title = "投资项目审批事项办结告知书"
    body = body_style()
    rows = []
    for i, item in enumerate(data.items, start=1):
        used = "—"
        if item.working_days_used is not None:
            used = f"{item.working_days_used}个工作日"
            if item.limit_text.strip():
                used += f"\n时限{item.limit_text.strip()}"
        decided = format_cn_date(item.decided_on) if item.decided_on else "—"
        rows.append(
            (str(i), item.item_name, item.department_name, item.result, dash(item.doc_number), decided, used)
        )

    closing = (
        f"您单位申报的{project_phrase(data.project_name)}（项目代码：{data.project_code}），所涉{len(data.items)}项"
        "审批事项已全部办结，办理结果详见上表。各事项的批复文件可凭项目代码在"
        f"{PLATFORM_NAME}查询、下载，请按照批复文件的要求依法开展后续工作。"
    )
    story = header(title, f"编号：{data.number}", f"办件单号：{data.declaration_number}")
    story += [
        para(f"{data.enterprise_name}：", body_style("addressee", indent=False)),
        Spacer(1, 2 * mm),
        fields_table(
            [
                ("项目代码", data.project_code),
                ("项目名称", data.project_name),
                ("项目单位", data.enterprise_name),
                ("申报类型", data.kind_label),
            ]
        ),
    ]
    story += heading("审批事项办理情况")
    story.append(
        grid_table(
            ("序号", "事项名称", "办理部门", "办理结果", "文号", "办结日期", "用时"),
            rows,
            (10, 34, 27, 16, 29.3, 24.5, 25),
            size=9,
        )
    )
    story += [Spacer(1, 5 * mm), para(closing, body)]
    if any(item.result in UNFAVOURABLE_RESULTS for item in data.items):
        story.append(para("对不予许可或者不予受理的事项，如有异议，可以依法申请行政复议或者提起行政诉讼。", body))
    story.append(para("特此告知。", body))
    sign(story, [PLATFORM_NAME, format_cn_date(data.issued_on)], data.verify_url, "扫码核验告知书真伪")
    return build_pdf(story, title, PLATFORM_NAME, page_footer(f"告知书编号：{data.number}"))
