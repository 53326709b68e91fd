"""Approval decision (批复/核准文件/许可决定书) and 办结告知书 PDFs: extractable Chinese text, tender section,
refusal wording, pagination without clipping.

Text checks need poppler-utils (pdftotext, pdfinfo) and are skipped when the tools are missing.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from app.documents.approval import (
    CompletionNoticeData,
    ItemDecisionData,
    NoticeItem,
    TenderRow,
    project_phrase,
    render_completion_notice,
    render_item_decision,
)

VERIFY_URL = "https://tzxm.example.gov.cn/verify/doc/2601-440705-04-01-654328?sig=ab12cd34"

needs_poppler = pytest.mark.needs_tools("pdftotext", "pdfinfo")  # skip, or fail with CI=true

TENDER = [
    TenderRow("勘察", "全部招标", "公开招标", "委托招标"),
    TenderRow("设计", "全部招标", "公开招标", "委托招标"),
    TenderRow("施工", "全部招标", "公开招标", "自行招标"),
    TenderRow("监理", "部分招标", "邀请招标", "委托招标"),
    TenderRow("重要设备材料", "不招标", "—", "—"),
]
HEAD = ("序号", "事项名称", "办理部门", "办理结果", "文号", "办结日期", "用时")  # the notice table's header row


@pytest.fixture
def decision() -> ItemDecisionData:
    return ItemDecisionData(
        doc_number="江发改核准〔2026〕15号",
        title="关于江门市新会区年产20万吨高性能铝合金型材项目核准的批复",
        authority_name="江门市发展和改革局",
        item_name="企业投资项目核准",
        project_code="2601-440705-04-01-654328",
        project_name="江门市新会区年产20万吨高性能铝合金型材项目",
        enterprise_name="江门市某某铝业有限公司",
        approved=True,
        opinion=(
            "一、为促进铝加工产业转型升级，同意建设该项目。\n"
            "\n"
            "　　二、项目建设地点为江门市新会区今古洲经济开发区。\n"
            "三、项目总投资150000万元，其中项目资本金45000万元。"
        ),
        decided_on=date(2026, 3, 5),
        validity_note="本核准文件自印发之日起有效期2年。",
        tender=TENDER,
        verify_url=VERIFY_URL,
    )


def _notice_item(i: int, result: str = "准予许可") -> NoticeItem:
    done_before = result == "已办理过"
    return NoticeItem(
        item_name=f"建设项目用地预审与选址意见书核发第{i:02d}项",
        department_name=f"江门市自然资源局第{i:02d}分局",
        result=result,
        doc_number="" if done_before else f"江自然资预〔2026〕{100 + i}号",
        decided_on=None if done_before else date(2026, 3, 1 + i % 28),
        working_days_used=None if done_before else i,
        limit_text="20个工作日",
    )


@pytest.fixture
def notice() -> CompletionNoticeData:
    return CompletionNoticeData(
        number="江办结〔2026〕0001号",
        project_code="2601-440705-04-01-654328",
        project_name="江门市新会区年产20万吨高性能铝合金型材项目",
        enterprise_name="江门市某某铝业有限公司",
        declaration_number="SB20260301000123",
        kind_label="核准类",
        issued_on=date(2026, 4, 1),
        items=[_notice_item(1), _notice_item(2, "已办理过"), _notice_item(3)],
        verify_url=VERIFY_URL,
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


def _text(path: Path, page: int | None = None) -> str:
    pages = ["-f", str(page), "-l", str(page)] if page else []
    out = subprocess.run(["pdftotext", *pages, str(path), "-"], capture_output=True, text=True, check=True).stdout
    return re.sub(r"\s+", "", out)  # wrapping/spacing is layout noise


def test_project_phrase() -> None:
    assert project_phrase("江门市某某型材项目") == "江门市某某型材项目"
    assert project_phrase("江门市某某生产线") == "江门市某某生产线项目"


def test_documents_are_pdf(decision: ItemDecisionData, notice: CompletionNoticeData) -> None:
    for pdf in (render_item_decision(decision), render_completion_notice(notice)):
        assert pdf.startswith(b"%PDF")
        assert b"STSong-Light" in pdf


@needs_poppler
def test_decision_text_with_tender(decision: ItemDecisionData, tmp_path: Path) -> None:
    text = _text(_write(tmp_path, render_item_decision(decision)))
    for expected in (
        decision.authority_name,
        decision.doc_number,
        decision.title,
        decision.project_code,
        decision.project_name,
        decision.enterprise_name + "：",
        decision.item_name,
        "准予许可",
        "审查意见",
        "一、为促进铝加工产业转型升级，同意建设该项目。",
        "二、项目建设地点为江门市新会区今古洲经济开发区。",
        "本核准文件自印发之日起有效期2年。",
        "招标事项核准意见",
        "招标内容招标范围招标方式招标组织形式",  # the header row, in order
        "勘察全部招标公开招标委托招标",
        "施工全部招标公开招标自行招标",
        "监理部分招标邀请招标委托招标",
        "重要设备材料不招标——",
        "《必须招标的工程项目规定》（国家发展改革委令第16号）",
        "扫码核验文件真伪",
        "2026年3月5日",
    ):
        assert expected in text, expected
    assert "不予许可" not in text
    assert "行政复议" not in text


@needs_poppler
def test_decision_without_tender(decision: ItemDecisionData, tmp_path: Path) -> None:
    for tender in (None, []):
        text = _text(_write(tmp_path, render_item_decision(replace(decision, tender=tender, validity_note=""))))
        assert decision.doc_number in text
        assert "招标事项核准意见" not in text
        assert "国家发展改革委令第16号" not in text
        assert "有效期" not in text


@needs_poppler
def test_refusal_states_reasons_and_remedies(decision: ItemDecisionData, tmp_path: Path) -> None:
    refused = replace(
        decision,
        approved=False,
        title="关于江门市新会区年产20万吨高性能铝合金型材项目不予核准的决定",
        opinion="项目属于《产业结构调整指导目录》限制类。\n项目能耗指标未落实。",
        validity_note="",
        tender=None,
    )
    text = _text(_write(tmp_path, render_item_decision(refused)))
    for expected in (
        refused.title,
        refused.doc_number,
        "决定结果不予许可",
        "不予许可的理由",
        "项目属于《产业结构调整指导目录》限制类。",
        "项目能耗指标未落实。",
        "依法申请行政复议",
        "依法提起行政诉讼",
    ):
        assert expected in text, expected
    assert "准予许可" not in text


@needs_poppler
def test_long_opinion_flows_over_pages(decision: ItemDecisionData, tmp_path: Path) -> None:
    paragraphs = [f"第{i:03d}段：项目应当严格落实环境影响评价、节能审查及安全生产等要求，确保工程质量。" for i in range(120)]
    path = _write(tmp_path, render_item_decision(replace(decision, opinion="\n".join(paragraphs))))
    assert _pages(path) >= 3
    text = _text(path)
    for paragraph in paragraphs:
        assert paragraph in text, paragraph
    assert text.index("第119段") < text.index("招标事项核准意见") < text.index("扫码核验文件真伪")
    # One unbroken paragraph longer than a page is not clipped either (page footers may fall in between).
    markers = [f"【{i:03d}】" for i in range(400)]
    blob = "".join(f"{marker}落实节能降耗措施" for marker in markers)
    path = _write(tmp_path, render_item_decision(replace(decision, opinion=blob)), "blob.pdf")
    assert _pages(path) >= 2
    text = _text(path)
    positions = [text.find(marker) for marker in markers]
    assert -1 not in positions
    assert positions == sorted(positions)


@needs_poppler
def test_notice_text(notice: CompletionNoticeData, tmp_path: Path) -> None:
    path = _write(tmp_path, render_completion_notice(notice))
    assert _pages(path) == 1
    text = _text(path)
    for expected in (
        "投资项目审批事项办结告知书",
        f"编号：{notice.number}",
        f"办件单号：{notice.declaration_number}",
        notice.project_code,
        notice.project_name,
        notice.enterprise_name,
        "申报类型核准类",
        *HEAD,
        # every row's cells (pdftotext may read a wrapped cell after its neighbours, so not row strings)
        "1建设项目用地预审与选址意见书核发第01项江门市自然资源局第01分局准予许可",
        "江自然资预〔2026〕101号",
        "2026年3月2日",
        "1个工作日时限20个工作日",
        "2建设项目用地预审与选址意见书核发第02项江门市自然资源局第02分局已办理过———",
        "3建设项目用地预审与选址意见书核发第03项江门市自然资源局第03分局准予许可",
        "江自然资预〔2026〕103号",
        "2026年3月4日",
        "3个工作日时限20个工作日",
        f"您单位申报的{notice.project_name}（项目代码：{notice.project_code}），所涉3项审批事项已全部办结",
        "特此告知。",
        "投资项目在线审批监管平台2026年4月1日",
        "扫码核验告知书真伪",
    ):
        assert expected in text, expected
    assert "行政复议" not in text  # nothing was refused


@needs_poppler
def test_notice_with_refused_item_mentions_remedies(notice: CompletionNoticeData, tmp_path: Path) -> None:
    items = [_notice_item(1), _notice_item(2, "不予许可"), _notice_item(3, "不予受理")]
    text = _text(_write(tmp_path, render_completion_notice(replace(notice, items=items))))
    assert "不予许可" in text and "不予受理" in text
    assert "依法申请行政复议或者提起行政诉讼" in text


@needs_poppler
def test_notice_with_20_items(notice: CompletionNoticeData, tmp_path: Path) -> None:
    results = ("准予许可", "不予许可", "已办理过", "不予受理")
    items = [_notice_item(i, results[i % 4]) for i in range(1, 21)]
    path = _write(tmp_path, render_completion_notice(replace(notice, items=items)))
    assert _pages(path) >= 1
    text = _text(path)
    for item in items:
        assert f"{item.item_name}{item.department_name}{item.result}" in text, item.item_name
    assert "所涉20项审批事项已全部办结" in text


@needs_poppler
def test_notice_table_header_repeats_on_every_page(notice: CompletionNoticeData, tmp_path: Path) -> None:
    items = [_notice_item(i) for i in range(1, 41)]
    path = _write(tmp_path, render_completion_notice(replace(notice, items=items)))
    pages = _pages(path)
    assert pages >= 2
    seen = 0
    for page in range(1, pages + 1):
        text = _text(path, page)
        rows = [item for item in items if item.item_name in text]
        if rows:
            assert all(label in text for label in HEAD), page
        seen += len(rows)
    assert seen == len(items)  # every row once, none lost at a page break
    assert "扫码核验告知书真伪" in _text(path, pages)
