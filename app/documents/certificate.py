"""PDF documents issued by the platform: the filing certificate (备案证) and generic notices.

Everything is drawn with reportlab's built-in CID font STSong-Light, so no font file is shipped.
The helpers (font, styles, header, bordered field table, QR block, one-page and flowing builds) are
public: app/documents/approval.py draws the approval decisions and the completion notice with them.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from xml.sax.saxutils import escape

from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, KeepInFrame, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

FONT = "STSong-Light"
PAGE_W, PAGE_H = A4
MARGIN = 20 * mm
FRAME_PAD = 6  # SimpleDocTemplate frame padding on each side (pt)
CONTENT_W = PAGE_W - 2 * MARGIN - 2 * FRAME_PAD
LABEL_W = 50 * mm
QR_SIZE = 30 * mm
BORDER_COLOR = colors.HexColor("#8b1a1a")
PLATFORM_NAME = "投资项目在线审批监管平台"

REGULATION_NOTE = (
    "根据《企业投资项目核准和备案管理条例》第十三条，实行备案管理的项目，企业应当在开工建设前"
    "通过在线平台将项目信息告知备案机关，“备案机关收到全部信息即为备案”。本备案证是对企业告知信息的"
    "确认凭证，不构成对项目的审批或核准；企业应当对备案项目信息的真实性负责。"
)


@dataclass(frozen=True)
class FilingCertificateData:
    number: str  # 证书编号
    project_code: str  # 项目代码
    project_name: str
    enterprise_name: str
    enterprise_uscc: str  # 统一社会信用代码
    authority_name: str  # 备案机关
    location: str  # 建设地点
    nature: str  # 建设性质
    scale_content: str  # 建设规模及内容 (free text, wrapped)
    total_investment: Decimal  # 万元
    fixed_assets: Decimal  # 万元
    capital: Decimal  # 万元
    planned_start: date
    planned_end: date
    issued_on: date
    valid_until: date
    status_note: str  # e.g. "项目开工前有效期至 2028年11月23日；已开工项目长期有效"


# --- formatting -------------------------------------------------------------------------------


def format_money(value: Decimal) -> str:
    """万元 amount with thousands separators and exactly two decimals (half-up)."""
    return f"{Decimal(value).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,.2f}"


def format_cn_date(value: date) -> str:
    return f"{value.year}年{value.month}月{value.day}日"


# --- shared drawing helpers ------------------------------------------------------------------


def ensure_font() -> None:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))


def cjk_style(name: str, size: float, align: int = TA_LEFT, leading: float | None = None) -> ParagraphStyle:
    return ParagraphStyle(
        name,
        fontName=FONT,
        fontSize=size,
        leading=leading or size * 1.45,
        alignment=align,
        wordWrap="CJK",  # break anywhere between CJK characters
    )


def para(text: str, style: ParagraphStyle) -> Paragraph:
    """Paragraph from plain text: markup-escaped, newlines kept."""
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def header(title: str, left: str = "", right: str = "") -> list[Flowable]:
    """Centered title plus an optional borderless line with left/right aligned items."""
    story: list[Flowable] = [para(title, cjk_style("title", 22, TA_CENTER, 30)), Spacer(1, 6 * mm)]
    if left or right:
        meta = Table(
            [[para(left, cjk_style("meta-l", 10.5)), para(right, cjk_style("meta-r", 10.5, TA_RIGHT))]],
            colWidths=[CONTENT_W / 2] * 2,
        )
        meta.setStyle(
            TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0)])
        )
        story += [meta, Spacer(1, 2 * mm)]
    return story


def fields_table(rows: Sequence[tuple[str, str]]) -> Table:
    """Bordered two-column label/value table; long values wrap inside their cell."""
    label, value = cjk_style("label", 10.5, TA_CENTER), cjk_style("value", 10.5)
    table = Table(
        [[para(k, label), para(v, value)] for k, v in rows],
        colWidths=[LABEL_W, CONTENT_W - LABEL_W],
    )
    table.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 1.2, colors.black),
                ("INNERGRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f3f3f3")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 6),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
                ("LEFTPADDING", (0, 0), (-1, -1), 6),
                ("RIGHTPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    return table


def _page_border(canvas: Canvas, _doc: SimpleDocTemplate) -> None:
    """Double decorative frame for certificates."""
    canvas.saveState()
    canvas.setStrokeColor(BORDER_COLOR)
    canvas.setLineWidth(2.2)
    canvas.rect(10 * mm, 10 * mm, PAGE_W - 20 * mm, PAGE_H - 20 * mm)
    canvas.setLineWidth(0.6)
    canvas.rect(12 * mm, 12 * mm, PAGE_W - 24 * mm, PAGE_H - 24 * mm)
    canvas.restoreState()


def _no_decoration(_canvas: Canvas, _doc: SimpleDocTemplate) -> None:
    return None


def _doc_template(buf: io.BytesIO, title: str, author: str) -> SimpleDocTemplate:
    return SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=title,
        author=author,
        creator=PLATFORM_NAME,
    )


def build_one_page(
    story: list[Flowable],
    title: str,
    author: str = "",
    on_page: Callable[[Canvas, SimpleDocTemplate], None] = _no_decoration,
) -> bytes:
    """Lay the story out on a single A4 page, shrinking it if it would overflow."""
    ensure_font()
    buf = io.BytesIO()
    frame_h = PAGE_H - 2 * MARGIN - 2 * FRAME_PAD
    _doc_template(buf, title, author).build(
        [KeepInFrame(CONTENT_W, frame_h, story, mode="shrink")], onFirstPage=on_page
    )
    return buf.getvalue()


def build_pdf(
    story: list[Flowable],
    title: str,
    author: str = "",
    on_page: Callable[[Canvas, SimpleDocTemplate], None] = _no_decoration,
) -> bytes:
    """Lay the story out on as many A4 pages as it needs (nothing is shrunk or clipped)."""
    ensure_font()
    buf = io.BytesIO()
    _doc_template(buf, title, author).build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buf.getvalue()


def qr_drawing(payload: str, size: float = QR_SIZE) -> Drawing:
    widget = QrCodeWidget(payload, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    return drawing


def qr_block(left: Flowable | list[Flowable], verify_url: str, caption: str) -> Table:
    """Borderless bottom block: issuer text on the left, QR code with its caption on the right."""
    qr = [qr_drawing(verify_url), para(caption, cjk_style("qr-cap", 8.5, TA_CENTER))]
    block = Table([[left, qr]], colWidths=[CONTENT_W - QR_SIZE - 10 * mm, QR_SIZE + 10 * mm])
    block.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                ("ALIGN", (1, 0), (1, 0), "CENTER"),
                ("LEFTPADDING", (0, 0), (0, 0), 0),
                ("RIGHTPADDING", (-1, 0), (-1, 0), 0),
            ]
        )
    )
    return block


# --- public documents -------------------------------------------------------------------------


def render_filing_certificate(
    data: FilingCertificateData, verify_url: str, title: str = "企业投资项目备案证"
) -> bytes:
    """One-page A4 filing certificate; pass e.g. title="广东省企业投资项目备案证"."""
    ensure_font()
    rows = [
        ("项目名称", data.project_name),
        ("项目单位", data.enterprise_name),
        ("统一社会信用代码", data.enterprise_uscc),
        ("备案机关", data.authority_name),
        ("建设地点", data.location),
        ("建设性质", data.nature),
        ("建设规模及内容", data.scale_content),
        ("总投资（万元）", format_money(data.total_investment)),
        ("其中固定资产投资（万元）", format_money(data.fixed_assets)),
        ("项目资本金（万元）", format_money(data.capital)),
        ("计划开工时间", format_cn_date(data.planned_start)),
        ("计划竣工时间", format_cn_date(data.planned_end)),
    ]
    body = cjk_style("body", 10.5, leading=17)
    # status_note is the full validity wording (it normally repeats valid_until); fall back to the date.
    validity = (
        f"有效期：{data.status_note}" if data.status_note else f"有效期至：{format_cn_date(data.valid_until)}"
    )
    validity = f"发证日期：{format_cn_date(data.issued_on)}\n{validity}"

    issuer = [
        para(validity, body),
        Spacer(1, 4 * mm),
        para(f"备案机关：{data.authority_name}（电子备案证）", cjk_style("issuer", 12, leading=18)),
    ]
    bottom = qr_block(issuer, verify_url, "扫码核验备案证真伪")

    story = header(title, f"证书编号：{data.number}", f"项目代码：{data.project_code}")
    story += [
        fields_table(rows),
        Spacer(1, 5 * mm),
        para(REGULATION_NOTE, cjk_style("note", 9.5, leading=15)),
        Spacer(1, 6 * mm),
        bottom,
    ]
    return build_one_page(story, title, data.authority_name, _page_border)


def render_notice_pdf(title: str, lines: list[tuple[str, str]], footer: str) -> bytes:
    """Generic one-page document (变更函, notices): title, label/value table, footer text."""
    ensure_font()
    story = header(title)
    story += [fields_table(lines), Spacer(1, 8 * mm), para(footer, cjk_style("footer", 10.5, leading=17))]
    return build_one_page(story, title)
