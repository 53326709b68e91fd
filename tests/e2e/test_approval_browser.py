"""核准 in a real browser: 领码 → 问卷 → 事项与材料 → 上传 → 提交 → two departments handle their items in
parallel, one 补正 pauses the clock visibly → 招标核准 in the 核准 document → the applicant downloads the notice."""
from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from app.services.calendar import today
from tests.e2e.test_browser import login, logout, take_code
from tests.integration.approval_helpers import pdf_bytes

pytestmark = pytest.mark.browser

PROJECT = "江门市示范新材料产业园核准项目"
ANSWERS = {  # 核准 + 环评 only: two departments (市发改局, 市生态环境局); state-controlled, so it must tender
    "land_supply": "none", "new_land": "no", "forest_land": "no", "heritage_site": "no", "national_security": "no",
    "eia_category": "table", "soil_disturbance": "no", "water_abstraction": "no", "flood_area": "no",
    "state_controlled": "yes", "foreign_loan": "no",
}


def open_case(page: Page, username: str, number: str, item: str, step: str) -> None:
    logout(page)
    login(page, username)
    page.get_by_role("link", name="待办").click()
    row = page.locator("#todo tbody tr", has_text=number).filter(has_text=step)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(item)
    if row.get_by_role("button", name="签收").count():
        row.get_by_role("button", name="签收").click()
        expect(page.locator(".flash.success")).to_have_text("已签收，请办理")
    else:
        row.get_by_role("link", name="办理").click()
    expect(page.locator("h1")).to_contain_text(f"{item}：{number}")


def submit_step(page: Page, step: str) -> None:
    page.get_by_role("button", name=f"提交{step}意见").click()
    expect(page.locator(".flash.success")).to_contain_text("已办理")


def upload_all(page: Page, item: str, pdf) -> None:  # noqa: ANN001
    """Upload the PDF for every required material of the item still missing one."""
    # The flash at the top of the page can be seen before chromium has parsed the materials further down: a
    # count taken then finds no rows and would upload nothing (a loaded CI machine did exactly that).
    page.wait_for_load_state()
    while True:
        rows = page.locator(f"#item-{item} table.materials tbody tr", has_text="未上传").filter(has_text="必需")
        if rows.count() == 0:
            return
        row = page.locator(f"#{rows.first.get_attribute('id')}")
        row.locator("input[type=file]").set_input_files(str(pdf))  # chosen is uploaded (materials.js), in place
        expect(row.locator(".upload-status")).to_have_text("已上传")


def accept_in_browser(page: Page, acceptor: str, number: str, item: str) -> None:
    """受理: the platform's own 项目代码核验 passed, shown on the page."""
    open_case(page, acceptor, number, item, "受理")
    expect(page.locator("#code-check-result")).to_have_text("通过")
    page.get_by_label("受理", exact=True).check()
    submit_step(page, "受理")


def decide_in_browser(page: Page, handler: str, number: str, item: str, opinions: tuple[str, str],
                      document: tuple[str, str], step: str = "办结",
                      before_submit: Callable[[], None] | None = None) -> None:
    """办理 (审查完毕) then 办结 准予许可 with the document's 文号 and title; `before_submit` fills the rest."""
    open_case(page, handler, number, item, "办理")
    page.get_by_label("审查完毕，提交办结").check()
    page.fill("#f_opinion", opinions[0])
    submit_step(page, "办理")
    open_case(page, handler, number, item, step)
    page.get_by_label("准予许可").check()
    page.fill("#f_doc_number", document[0])
    page.fill("#f_doc_title", document[1])
    page.fill("#f_opinion", opinions[1])
    if before_submit is not None:
        before_submit()
    submit_step(page, step)


def approve_in_browser(page: Page, reviewers: tuple[str, str], number: str, item: str, document: tuple[str, str],
                       opinion: str) -> None:
    """受理 by the acceptor, then 办理 and 办结 准予许可 by the handler."""
    accept_in_browser(page, reviewers[0], number, item)
    decide_in_browser(page, reviewers[1], number, item, (opinion, opinion), document)


def test_authorisation_through_two_departments_with_a_paused_clock(page: Page, shots, tmp_path):
    pdf = tmp_path / "材料.pdf"
    pdf.write_bytes(pdf_bytes("申请材料"))
    start = today() + timedelta(days=60)

    # 企业：领码（核准类）
    login(page, "qiye")
    take_code(page, PROJECT, "江海区高新东路8号", "新建厂房3万平方米，建设新材料生产线4条", start,
              start + timedelta(days=700), kind_label="核准类（列入政府核准的投资项目目录）", investment="50000")

    # 事项申报：问卷
    row = page.locator("table.list tbody tr", has_text=PROJECT)
    row.get_by_role("button", name="事项申报").click()
    number = re.search(r"\S+XMHZ", page.locator("h1").inner_text()).group(0)
    for name, value in ANSWERS.items():
        page.locator(f"input[name={name}][value={value}]").check()
    page.fill("#f_energy_tce", "300")
    page.fill("#f_power_10k_kwh", "80")
    page.fill("#f_total_investment", "50000")
    page.fill("#f_state_funds", "0")
    page.fill("#f_construction_contract", "6000")
    page.screenshot(path=shots / "a1-questionnaire.png", full_page=True)
    page.get_by_role("button", name="下一步：确定审批事项").click()
    expect(page.locator(".flash.success")).to_contain_text("确定 2 个审批事项")
    expect(page.locator("#item-authorisation h3")).to_contain_text("企业投资项目核准")
    expect(page.locator("#item-eia h3")).to_contain_text("环境影响评价")
    expect(page.locator("#items")).to_contain_text("依法必须招标")

    # Submitting before uploading names the missing materials.
    page.locator("#f_pledge").check()
    page.get_by_role("button", name="提交申报").click()
    expect(page.locator(".flash.error").first).to_contain_text("缺少必需材料")

    # Upload every required material (PDF only).
    for item in ("authorisation", "eia"):
        upload_all(page, item, pdf)
    page.screenshot(path=shots / "a2-items-uploaded.png", full_page=True)
    page.locator("#f_pledge").check()
    page.get_by_role("button", name="提交申报").click()
    expect(page.locator(".flash.success")).to_contain_text("并联审批")
    expect(page.locator("#case-authorisation")).to_contain_text("江门市发展和改革局")
    expect(page.locator("#case-eia")).to_contain_text("江门市生态环境局")

    # 生态环境：受理 → 办理 asks for 补正 → the clock pauses.
    accept_in_browser(page, "hb_shouli", number, "建设项目环境影响评价审批")
    open_case(page, "hb_banli", number, "建设项目环境影响评价审批", "办理")
    expect(page.locator("#clock .light")).to_have_attribute("data-light", "green")
    first_material = page.locator("input[name=missing_material]").first
    first_material.check()
    page.get_by_label("告知申请人补正（暂停计时）").check()
    page.fill("#f_opinion", "请补充大气环境影响预测的监测数据")
    submit_step(page, "办理")

    logout(page)
    login(page, "qiye")
    row = page.locator("table.list tbody tr", has_text=PROJECT)
    row.get_by_role("link", name="查看进度").click()
    paused = page.locator("#case-eia")
    expect(paused).to_contain_text("待补正（暂停计时）")
    expect(paused.locator(".light")).to_have_attribute("data-paused", "yes")
    expect(paused.locator(".light")).to_contain_text("已暂停计时")
    page.screenshot(path=shots / "a3-paused-clock.png", full_page=True)
    box = page.locator("#item-eia")
    expect(box).to_contain_text("请补充大气环境影响预测的监测数据")
    box.locator("input[type=file]").first.set_input_files(str(pdf))
    expect(box.locator(".upload-status").first).to_have_text("已上传")
    page.locator("#item-eia textarea[name=note]").fill("已补充监测数据")
    page.get_by_role("button", name="提交补正").click()
    expect(page.locator(".flash.success")).to_have_text("补正材料已提交")
    expect(page.locator("#case-eia .light")).to_have_attribute("data-paused", "no")
    expect(page.locator("#progress")).to_contain_text("暂停计时")
    expect(page.locator("#progress")).to_contain_text("恢复计时")

    decide_in_browser(page, "hb_banli", number, "建设项目环境影响评价审批",
                      ("材料齐全，同意", "同意该项目按报告表所列内容建设。"),
                      ("江环审〔2026〕21号", "关于示范新材料产业园项目环境影响报告表的批复"))

    # 发展改革：核准, with 招标核准 in the same document.
    def tender() -> None:
        for package in ("survey", "design", "supervision", "goods"):
            page.select_option(f"#f_tender_{package}_scope", "不招标")
            page.select_option(f"#f_tender_{package}_method", "—")
            page.select_option(f"#f_tender_{package}_org", "—")
        page.select_option("#f_tender_works_scope", "全部招标")
        page.select_option("#f_tender_works_method", "公开招标")
        page.select_option("#f_tender_works_org", "委托招标")
        page.screenshot(path=shots / "a4-decide-tender.png", full_page=True)

    item = "企业投资项目核准（含招标核准）"
    accept_in_browser(page, "sfg_shouli", number, item)
    decide_in_browser(page, "sfg_banli", number, item, ("符合产业政策和规划", "同意建设示范新材料产业园项目。"),
                      ("江发改核准〔2026〕7号", "关于示范新材料产业园项目核准的批复"), "办结（含招标核准）", tender)

    # 企业：办结告知书 and the 核准 document.
    logout(page)
    login(page, "qiye")
    page.locator("table.list tbody tr", has_text=PROJECT).get_by_role("link", name="查看进度").click()
    expect(page.locator("#status")).to_have_text("已办结")
    page.screenshot(path=shots / "a5-completed.png", full_page=True)
    with page.expect_download() as info:
        page.get_by_role("link", name=re.compile("下载办结告知书")).click()
    notice = tmp_path / "notice.pdf"
    info.value.save_as(notice)
    text = subprocess.run(["pdftotext", str(notice), "-"], capture_output=True, check=True).stdout.decode()
    assert "办结告知书" in text and "江环审〔2026〕21号" in text.replace("\n", "")
    with page.expect_download() as info:
        page.get_by_role("link", name="江发改核准〔2026〕7号").click()
    decision = tmp_path / "decision.pdf"
    info.value.save_as(decision)
    text = subprocess.run(["pdftotext", str(decision), "-"], capture_output=True, check=True).stdout.decode()
    assert "公开招标" in text and "委托招标" in text
