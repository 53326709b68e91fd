"""Filing certificate / notice PDFs: structure, extractable Chinese text, QR payload.

Text checks need poppler-utils (pdftotext, pdfinfo, pdftoppm); QR decoding needs zbar-tools (zbarimg).
Both are skipped when the tools are missing, and fail with CI=true (`make system-deps` installs them).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from app.documents.certificate import (
    FilingCertificateData,
    format_cn_date,
    format_money,
    render_filing_certificate,
    render_notice_pdf,
)

VERIFY_URL = "https://tzxm.example.gov.cn/verify/2611-440300-04-01-123458?sig=ab12cd34"

needs_poppler = pytest.mark.needs_tools("pdftotext", "pdfinfo")


@pytest.fixture
def data() -> FilingCertificateData:
    return FilingCertificateData(
        number="粤备〔2026〕440300-000123号",
        project_code="2611-440300-04-01-123458",
        project_name="年产10万套储能电池模组智能制造生产线建设项目",
        enterprise_name="深圳市某某新能源科技有限公司",
        enterprise_uscc="91440300MA5FXXXX1X",
        authority_name="深圳市南山区发展和改革局",
        location="广东省深圳市南山区粤海街道",
        nature="新建",
        scale_content="总建筑面积约65000平方米，购置生产及检测设备约320台（套），建成后年产储能电池模组10万套。",
        total_investment=Decimal("52000"),
        fixed_assets=Decimal("45000.5"),
        capital=Decimal("15600.125"),
        planned_start=date(2027, 1, 5),
        planned_end=date(2028, 12, 31),
        issued_on=date(2026, 11, 23),
        valid_until=date(2028, 11, 23),
        status_note="项目开工前有效期至 2028年11月23日；已开工项目长期有效",
    )


def _write(tmp_path: Path, pdf: bytes, name: str = "doc.pdf") -> Path:
    path = tmp_path / name
    path.write_bytes(pdf)
    return path


def _pages(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    match = re.search(r"^Pages:\s+(\d+)", info, re.M)
    assert match
    return int(match.group(1))


def _text(path: Path) -> str:
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return re.sub(r"\s+", "", out)  # wrapping/spacing is layout noise


def test_formatting_helpers() -> None:
    assert format_money(Decimal("15600.125")) == "15,600.13"
    assert format_money(Decimal("0")) == "0.00"
    assert format_cn_date(date(2026, 11, 23)) == "2026年11月23日"


def test_certificate_is_pdf(data: FilingCertificateData) -> None:
    pdf = render_filing_certificate(data, VERIFY_URL, title="广东省企业投资项目备案证")
    assert pdf.startswith(b"%PDF")
    assert b"STSong-Light" in pdf


@needs_poppler
def test_certificate_text_and_single_page(data: FilingCertificateData, tmp_path: Path) -> None:
    path = _write(tmp_path, render_filing_certificate(data, VERIFY_URL, title="广东省企业投资项目备案证"))
    assert _pages(path) == 1
    text = _text(path)
    for expected in (
        "广东省企业投资项目备案证",
        data.number,
        data.project_code,
        "其中固定资产投资（万元）",
        "45,000.50",
        "15,600.13",
        "2027年1月5日",
        "发证日期：2026年11月23日",
        "备案机关收到全部信息即为备案",
        "备案机关：深圳市南山区发展和改革局（电子备案证）",
        "扫码核验备案证真伪",
    ):
        assert expected in text, expected


@needs_poppler
def test_default_title_has_no_province(data: FilingCertificateData, tmp_path: Path) -> None:
    text = _text(_write(tmp_path, render_filing_certificate(data, VERIFY_URL)))
    assert "企业投资项目备案证" in text
    assert "广东省企业投资项目备案证" not in text


@needs_poppler
def test_long_scale_content_still_one_page(data: FilingCertificateData, tmp_path: Path) -> None:
    long_data = replace(data, scale_content="主要建设生产厂房、研发中心及配套设施，购置自动化生产设备。" * 60)
    path = _write(tmp_path, render_filing_certificate(long_data, VERIFY_URL))
    assert _pages(path) == 1
    assert data.project_code in _text(path)


@needs_poppler
def test_notice_pdf(tmp_path: Path) -> None:
    pdf = render_notice_pdf(
        "项目备案变更函",
        [("项目代码", "2611-440300-04-01-123458"), ("变更事项", "总投资由52000万元调整为60000万元")],
        "特此函告。\n深圳市南山区发展和改革局",
    )
    assert pdf.startswith(b"%PDF")
    path = _write(tmp_path, pdf)
    assert _pages(path) == 1
    text = _text(path)
    assert "项目备案变更函" in text
    assert "变更事项" in text and "总投资由52000万元调整为60000万元" in text
    assert "特此函告。" in text


@pytest.mark.needs_tools("pdftoppm", "zbarimg")
def test_qr_payload_decodes(data: FilingCertificateData, tmp_path: Path) -> None:
    path = _write(tmp_path, render_filing_certificate(data, VERIFY_URL))
    subprocess.run(["pdftoppm", "-png", "-r", "150", str(path), str(tmp_path / "page")], check=True)
    (png,) = tmp_path.glob("page*.png")
    out = subprocess.run(["zbarimg", "-q", "--raw", str(png)], capture_output=True, text=True).stdout
    assert VERIFY_URL in out.splitlines()
