"""PDF of the electronic change letter (电子变更函) that goes with a filing certificate (备案证) or an
approval document (核准文件) once the authority has agreed to change some of the project's items.

The letter flows over as many A4 pages as it needs: the 变更事项 table repeats its header row on every
page (a cell too tall for one page is split inside the row) and a long 变更原因 continues on the next
page, so nothing is ever shrunk or clipped. Font, styles, tables and the QR signature block are the
ones of certificate.py and approval.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from reportlab.platypus import Flowable

from .approval import body_style, dash, grid_table, heading, page_footer, paragraphs, project_phrase, sign
from .certificate import build_pdf, ensure_font, format_cn_date, header, para

PERMIT_KINDS = {"备案证": "企业投资项目备案变更函", "核准文件": "企业投资项目核准变更函"}  # permit_kind -> title
TABLE_HEAD = ("变更事项", "变更前", "变更后")


@dataclass(frozen=True)
class ChangeRow:
    """One changed item, e.g. ChangeRow("计划竣工时间", "2027-06-30", "2027-12-31")."""

    label: str
    before: str
    after: str


@dataclass(frozen=True)
class ChangeLetterData:
    letter_number: str  # 变更函编号, e.g. BG2644070400001
    permit_kind: str  # 备案证 | 核准文件
    permit_number: str  # number of the original certificate / document the letter goes with
    project_code: str
    project_name: str
    enterprise_name: str
    authority_name: str  # 备案机关 / 核准机关
    reason: str  # 变更原因; paragraphs separated by newlines
    rows: Sequence[ChangeRow]  # what changed, before -> after
    issued_on: date
    opinion: str = ""  # the authority's 签发意见 (optional)


def change_letter_title(permit_kind: str) -> str:
    """企业投资项目备案变更函 / 企业投资项目核准变更函; ValueError for any other permit kind."""
    if permit_kind not in PERMIT_KINDS:
        raise ValueError(f"unknown permit kind {permit_kind!r}; expected one of {', '.join(PERMIT_KINDS)}")
    return PERMIT_KINDS[permit_kind]


def render_change_letter(data: ChangeLetterData, verify_url: str) -> bytes:
    """Title, 变更函编号, addressee, agreement sentence, before/after table, 变更原因,
    optional 签发意见; signed by the authority with the date beside a QR code pointing to verify_url.

    Raises ValueError for an unknown permit_kind or a letter without any changed item."""
    title = change_letter_title(data.permit_kind)
    if not data.rows:
        raise ValueError("a change letter needs at least one changed item")
    ensure_font()
    kind = data.permit_kind
    body = body_style()
    agreement = (
        f"{data.authority_name}已同意你单位{project_phrase(data.project_name)}（项目代码：{data.project_code}）"
        f"的变更申请，变更事项如下表。本变更函与原{kind}（编号：{data.permit_number}）配合使用，"
        f"就所列变更事项与原{kind}具有同等效力；未变更事项仍以原{kind}为准。"
    )
    table = grid_table(
        TABLE_HEAD,
        [(dash(row.label), dash(row.before), dash(row.after)) for row in data.rows],
        (36, 62, 62),
        size=10.5,
    )
    table.splitInRow = 1  # a cell taller than a page continues on the next one instead of failing the build

    story: list[Flowable] = header(title, f"变更函编号：{data.letter_number}", f"项目代码：{data.project_code}")
    story += [
        para(f"{data.enterprise_name}：", body_style("addressee", indent=False)),
        para(agreement, body),
        *heading("变更内容"),
        table,
        *heading("变更原因"),
        *paragraphs(data.reason, body),
    ]
    if data.opinion.strip():
        story += [*heading("签发意见"), *paragraphs(data.opinion, body)]
    story.append(para("特此函告。", body))
    sign(story, [data.authority_name, format_cn_date(data.issued_on)], verify_url, "扫码核验变更函真伪")
    return build_pdf(story, title, data.authority_name, page_footer(f"变更函编号：{data.letter_number}"))
