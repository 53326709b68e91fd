"""Electronic change letter (电子变更函) PDF: extractable Chinese text (read with pypdf), 备案/核准 titles,
the before/after table, and pagination without clipping (40 rows, a 3,000-character reason, a huge cell).

QR decoding needs pdftoppm (poppler-utils) and zbarimg (zbar-tools): skipped when they are missing, a failure
with CI=true (`make system-deps` installs them).
"""

from __future__ import annotations

import io
import re
import subprocess
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from app.documents import approval
from app.documents.change_letter import ChangeLetterData, ChangeRow, change_letter_title, render_change_letter

VERIFY_URL = "https://tzxm.example.gov.cn/verify/change/BG2644070400001?sig=ab12cd34"
HEAD = "变更事项变更前变更后"  # the table's header row, in order


@pytest.fixture
def data() -> ChangeLetterData:
    return ChangeLetterData(
        letter_number="BG2644070400001",
        permit_kind="备案证",
        permit_number="粤备〔2026〕440704-000123号",
        project_code="2611-440704-04-01-123452",
        project_name="江门市蓬江区年产10万套储能电池模组智能制造生产线建设项目",
        enterprise_name="江门市某某新能源科技有限公司",
        authority_name="江门市蓬江区发展和改革局",
        reason="受设备供货周期影响，项目建设进度需相应调整。\n经企业董事会研究，申请调整计划竣工时间及总投资。",
        rows=[
            ChangeRow("计划竣工时间", "2027-06-30", "2027-12-31"),
            ChangeRow("总投资（万元）", "52,000.00", "60,000.00"),
            ChangeRow(
                "建设规模及内容",
                "总建筑面积约65000平方米，年产储能电池模组10万套。",
                "总建筑面积约72000平方米，年产储能电池模组12万套。",
            ),
        ],
        issued_on=date(2026, 5, 6),
        opinion="同意变更。请按变更后的内容组织实施。",
    )


def _pdf_pages(pdf: bytes) -> list[str]:
    """Text of each page with all whitespace removed (wrapping and spacing are layout noise)."""
    return [re.sub(r"\s+", "", page.extract_text()) for page in PdfReader(io.BytesIO(pdf)).pages]


def _text(pdf: bytes, letter_number: str) -> str:
    """The whole letter as one string, without the page footers ("— N —" + number) between pages."""
    footer = re.compile(rf"—\d+—变更函编号：{re.escape(letter_number)}")
    return "".join(footer.sub("", page, count=1) for page in _pdf_pages(pdf))


def test_title_per_permit_kind() -> None:
    assert change_letter_title("备案证") == "企业投资项目备案变更函"
    assert change_letter_title("核准文件") == "企业投资项目核准变更函"
    with pytest.raises(ValueError):
        change_letter_title("许可证")


def test_is_pdf(data: ChangeLetterData) -> None:
    pdf = render_change_letter(data, VERIFY_URL)
    assert pdf.startswith(b"%PDF")
    assert b"STSong-Light" in pdf
    assert len(_pdf_pages(pdf)) == 1


def test_filing_letter_text(data: ChangeLetterData) -> None:
    text = _text(render_change_letter(data, VERIFY_URL), data.letter_number)
    for expected in (
        "企业投资项目备案变更函",
        f"变更函编号：{data.letter_number}",
        f"项目代码：{data.project_code}",
        f"{data.enterprise_name}：",
        f"{data.authority_name}已同意你单位{data.project_name}（项目代码：{data.project_code}）的变更申请",
        f"本变更函与原备案证（编号：{data.permit_number}）配合使用",
        "就所列变更事项与原备案证具有同等效力；未变更事项仍以原备案证为准。",
        HEAD,
        "计划竣工时间2027-06-302027-12-31",
        "总投资（万元）52,000.0060,000.00",
        "总建筑面积约65000平方米，年产储能电池模组10万套。",  # a before value
        "总建筑面积约72000平方米，年产储能电池模组12万套。",  # an after value
        "变更原因",
        "受设备供货周期影响，项目建设进度需相应调整。",
        "经企业董事会研究，申请调整计划竣工时间及总投资。",
        "签发意见同意变更。请按变更后的内容组织实施。",
        "特此函告。",
        f"{data.authority_name}2026年5月6日",
        "扫码核验变更函真伪",
    ):
        assert expected in text, expected
    assert "核准" not in text
    assert text.index(HEAD) < text.index("变更原因") < text.index("签发意见") < text.index("扫码核验变更函真伪")


def test_approval_letter_uses_approval_wording(data: ChangeLetterData) -> None:
    letter = replace(data, permit_kind="核准文件", permit_number="江发改核准〔2026〕15号", opinion="")
    text = _text(render_change_letter(letter, VERIFY_URL), letter.letter_number)
    for expected in (
        "企业投资项目核准变更函",
        "本变更函与原核准文件（编号：江发改核准〔2026〕15号）配合使用",
        "未变更事项仍以原核准文件为准。",
    ):
        assert expected in text, expected
    assert "备案" not in text
    assert "签发意见" not in text  # optional section left out when empty


def test_invalid_input_is_refused(data: ChangeLetterData) -> None:
    with pytest.raises(ValueError):
        render_change_letter(replace(data, permit_kind="许可证"), VERIFY_URL)
    with pytest.raises(ValueError):
        render_change_letter(replace(data, rows=[]), VERIFY_URL)


def test_qr_block_points_to_verify_url(data: ChangeLetterData, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    def spy(left: Any, verify_url: str, caption: str) -> Any:  # same signature as certificate.qr_block
        seen.append(verify_url)
        return qr_block(left, verify_url, caption)

    qr_block = approval.qr_block
    monkeypatch.setattr(approval, "qr_block", spy)
    render_change_letter(data, VERIFY_URL)
    assert seen == [VERIFY_URL]


def test_40_rows_and_long_reason_flow_over_pages(data: ChangeLetterData) -> None:
    rows = [
        ChangeRow(
            f"变更事项第{i:02d}项",
            f"第{i:02d}项变更前的内容：原计划建设内容及规模说明",
            f"第{i:02d}项变更后的内容：调整后的建设内容",
        )
        for i in range(1, 41)
    ]
    reason = "".join(f"【{i:03d}】受原材料价格上涨及设备供货周期延长影响" for i in range(150))
    assert len(reason) >= 3000
    letter = replace(data, rows=rows, reason=reason)
    pdf = render_change_letter(letter, VERIFY_URL)
    pages = _pdf_pages(pdf)
    assert len(pages) >= 2
    text = _text(pdf, letter.letter_number)
    for row in rows:
        assert f"{row.label}{row.before}{row.after}" in text, row.label
    assert "第40项变更前的内容" in text and "第40项变更后的内容" in text
    assert reason in text  # the whole reason, in order, nothing clipped at a page break
    assert text.index(rows[-1].after) < text.index("变更原因") < text.index("扫码核验变更函真伪")
    # The header row repeats on every page that carries rows; every row appears exactly once.
    seen = 0
    for page in pages:
        on_page = [row for row in rows if row.before in page]
        if on_page:
            assert HEAD in page
        seen += len(on_page)
    assert seen == len(rows)
    assert "扫码核验变更函真伪" in pages[-1]


def test_cell_taller_than_a_page_is_split_not_clipped(data: ChangeLetterData) -> None:
    huge = "".join(f"〔{i:03d}〕原建设规模" for i in range(400))
    letter = replace(data, rows=[*data.rows, ChangeRow("建设规模及内容", huge, "调整后的建设规模")])
    pdf = render_change_letter(letter, VERIFY_URL)
    assert len(_pdf_pages(pdf)) >= 2
    text = _text(pdf, letter.letter_number)
    positions = [text.find(f"〔{i:03d}〕") for i in range(400)]
    assert -1 not in positions
    assert positions == sorted(positions)
    assert "调整后的建设规模" in text


@pytest.mark.needs_tools("pdftoppm", "zbarimg")
def test_qr_payload_decodes(data: ChangeLetterData, tmp_path: Path) -> None:
    path = tmp_path / "letter.pdf"
    path.write_bytes(render_change_letter(data, VERIFY_URL))
    subprocess.run(["pdftoppm", "-png", "-r", "150", str(path), str(tmp_path / "page")], check=True)
    (png,) = tmp_path.glob("page*.png")
    out = subprocess.run(["zbarimg", "-q", "--raw", str(png)], capture_output=True, text=True).stdout
    assert VERIFY_URL in out.splitlines()
