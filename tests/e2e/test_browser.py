"""The whole filing, clicked through in a real browser: 领码 → 备案申报 → 受理 → 审核 → 签发 → 下载与核验."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from app.services.calendar import today

pytestmark = pytest.mark.browser

PASSWORD = "Demo@2026"
PROJECT_NAME = "江海区精密零部件数控化改造项目"
AUTHORITY = "江门市江海区发展和改革局"


def login(page: Page, username: str) -> None:
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("header .who")).to_be_visible()


def logout(page: Page) -> None:
    page.get_by_role("button", name="退出").click()
    expect(page.locator(".flash.info")).to_have_text("已安全退出")


def todo_row(page: Page, number: str, step: str):
    row = page.locator("#todo tbody tr", has_text=number).filter(has_text=step)
    expect(row).to_have_count(1)
    return row


def claim_from_todo(page: Page, number: str, step: str, shots=None, kept: bool = False) -> None:
    """签收并办理 from 待办; `kept`: the step is already the reviewer's (sticky claim: they held the case's last
    step of the same role), so 办理 opens it without a 签收."""
    page.get_by_role("link", name="待办").click()
    row = todo_row(page, number, step)
    expect(row).to_contain_text("已签收（我）" if kept else "待签收")
    if shots:
        page.screenshot(path=shots / "03-reviewer-todo.png", full_page=True)
    if kept:
        row.get_by_role("link", name="办理").click()
    else:
        row.get_by_role("button", name="签收并办理").click()
        expect(page.locator(".flash.success")).to_have_text("已签收，请办理")
    expect(page.locator("h1")).to_contain_text(f"{step}：{number}")


def take_code(page: Page, name: str, address: str, scale: str, start, end, *, kind_label: str | None = None,  # noqa: ANN001
              investment: str = "1000") -> str:
    """领码 in 江海区 from the navigation; returns the project code the flash announces. Without
    `kind_label` a 备案类 技术改造 project; with it (核准类 / 审批类) a 新建 one of type 01."""
    page.get_by_role("navigation").get_by_role("link", name="领码申请").click()
    if kind_label is not None:
        page.get_by_label(kind_label).check()
    page.fill("#f_name", name)
    page.select_option("#f_type_code", "02" if kind_label is None else "01")
    page.select_option("#f_industry_code", "C3484")
    page.select_option("#f_nature", "技术改造" if kind_label is None else "新建")
    page.select_option("#f_region_code", "440704")
    page.fill("#f_address", address)
    page.fill("#f_scale_content", scale)
    page.fill("#f_planned_start", start.isoformat())
    page.fill("#f_planned_end", end.isoformat())
    page.fill("#f_total_investment", investment)
    page.get_by_role("button", name="下一步：核对信息").click()
    expect(page.locator("h1")).to_have_text("请核对以下信息")  # nothing is issued before 确认赋码
    page.get_by_role("button", name="确认赋码").click()
    flash = page.locator(".flash.success")
    expect(flash).to_contain_text("领码成功，项目代码：")
    return re.search(r"项目代码：(\S+)", flash.inner_text()).group(1)


def fill_filing(page: Page, scale: str, start, end, phone: str = "13800138000") -> None:  # noqa: ANN001
    """The 备案 form's own fields (the code is already in it), figures that add up."""
    page.select_option("#f_authority_id", label=AUTHORITY)
    page.select_option("#f_nature", "技术改造")
    page.select_option("#f_industry_code", "C3484")
    page.fill("#f_scale_content", scale)
    page.fill("#f_jobs_construction", "30")
    page.fill("#f_jobs_operation", "50")
    page.select_option("#f_capital_category", "other")
    figures = {"capital": "300", "annual_plan": "600", "total_investment": "1000", "civil_investment": "200",
               "equipment_investment": "700", "import_fx": "0", "own_funds": "400", "domestic_loans": "500",
               "securities": "0", "other_funds": "100"}
    for name, value in figures.items():
        page.fill(f"#f_{name}", value)
    page.fill("#f_planned_start", start.isoformat())
    page.fill("#f_planned_end", end.isoformat())
    page.fill("#f_contact_name", "张经办")
    page.fill("#f_contact_phone", phone)


def expect_readonly_filing(page: Page) -> None:
    """The read-only 申报信息 shows names, not codes, and the project's name and location."""
    expect(page.locator("#f_project_name")).to_have_value(PROJECT_NAME)
    expect(page.locator("#f_location")).to_have_value(re.compile("江海区"))
    expect(page.locator("#f_authority_id")).to_have_value(AUTHORITY)
    expect(page.locator("#f_industry_code")).to_have_value(re.compile(r"^C3484 \S"))


def test_enterprise_files_and_county_issues_certificate(page: Page, shots, tmp_path):
    start = today() + timedelta(days=30)
    end = start + timedelta(days=365)

    # 企业：领码
    login(page, "qiye")
    expect(page).to_have_url(re.compile(r"/enterprise/$"))
    code = take_code(page, PROJECT_NAME, "明辉路35号2栋", "购置数控加工中心20台，改造生产线2条", start, end)
    project_row = page.locator("table.list tbody tr", has_text=code)
    expect(project_row).to_contain_text(PROJECT_NAME)
    expect(project_row).to_contain_text("已赋码")

    # 企业：从"我的项目"进入备案申报，校验项目代码
    project_row.get_by_role("link", name="申报备案").click()
    expect(page.locator("#f_project_code")).to_have_value(code)
    page.eval_on_selector("#f_project_name", "el => { el.value = ''; }")  # prove the 校验 button fills it
    page.click("#verify-code")
    expect(page.locator("#code-status")).to_have_text("校验通过")
    expect(page.locator("#f_project_name")).to_have_value(PROJECT_NAME)
    expect(page.locator("#f_location")).to_have_value(re.compile("江海区"))

    fill_filing(page, "购置数控加工中心20台", start, end, phone="123")  # a typo: the form must say which field
    expect(page.locator("#f_fixed_assets")).to_have_value("900")  # filing.js sums as the user types

    page.get_by_role("button", name="提交备案").click()
    phone = page.locator('.field[data-field="contact_phone"]')
    expect(phone).to_have_class(re.compile("has-error"))
    expect(phone.locator(".error-text")).to_contain_text("须为11位手机号码")
    expect(page.locator(".error-summary a", has_text="联系人手机")).to_have_attribute("href", "#field-contact_phone")
    expect(page.locator("#f_total_investment")).to_have_value("1000")  # what was typed is kept
    page.screenshot(path=shots / "01-filing-form-error.png", full_page=True)

    page.fill("#f_contact_phone", "13800138000")
    page.get_by_role("button", name="保存草稿").click()
    expect(page.locator(".flash.success")).to_have_text("已保存到草稿箱")
    expect(page.locator("#status")).to_have_text("草稿")
    number = page.locator("h1 .mono").inner_text().strip()
    assert number

    page.get_by_role("link", name="继续填写").click()
    expect(page.locator("#f_contact_phone")).to_have_value("13800138000")
    expect(page.locator("#f_authority_id option:checked")).to_have_text(AUTHORITY)
    page.get_by_role("button", name="提交备案").click()
    expect(page.locator(".flash.success")).to_contain_text("已提交")
    expect(page.locator("#status")).to_have_text("待受理")
    expect_readonly_filing(page)
    page.screenshot(path=shots / "02-filing-detail-submitted.png", full_page=True)
    logout(page)

    # 受理人员：签收并受理
    login(page, "shouli")
    claim_from_todo(page, number, "受理", shots)
    expect_readonly_filing(page)
    page.screenshot(path=shots / "04-reviewer-task-accept.png", full_page=True)
    page.get_by_role("radio", name="受理", exact=True).check()
    page.get_by_role("button", name="提交受理意见").click()
    expect(page.locator(".flash.success")).to_contain_text(f"已办理：{number}（当前状态：审核中）")
    expect(page.locator("#todo")).not_to_contain_text(number)
    logout(page)

    # 办理人员：审核通过，然后签发
    login(page, "banli")
    claim_from_todo(page, number, "审核")
    page.get_by_role("radio", name="审核通过，提交签发").check()
    page.get_by_role("button", name="提交审核意见").click()
    expect(page.locator(".flash.success")).to_contain_text("当前状态：待签发")
    claim_from_todo(page, number, "签发", kept=True)  # banli held 审核: 签发 is his without a second 签收
    page.get_by_role("checkbox").check()
    page.screenshot(path=shots / "05-reviewer-task-issue.png", full_page=True)
    page.get_by_role("button", name="提交签发意见").click()
    expect(page.locator(".flash.success")).to_contain_text("当前状态：已备案")
    logout(page)

    # 企业：看到已备案，下载电子备案证
    login(page, "qiye")
    project_row = page.locator("table.list tbody tr", has_text=code)
    expect(project_row.locator(".status")).to_have_text("已备案")
    page.screenshot(path=shots / "06-enterprise-projects-issued.png", full_page=True)
    with page.expect_download() as info:
        project_row.get_by_role("link", name="下载备案证").click()
    download = info.value
    match = re.fullmatch(r"beian-(.+)\.pdf", download.suggested_filename)
    assert match, download.suggested_filename
    certificate_number = match.group(1)
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF")

    # 核验：先按地址打开，再像公众一样在核验页输入证号
    page.goto(f"/verify/{certificate_number}")
    expect(page.locator("#verify-result .big")).to_have_text("该备案证有效")
    logout(page)
    page.get_by_role("navigation").get_by_role("link", name="备案证核验").click()
    page.fill("#number", certificate_number)
    page.get_by_role("button", name="核验").click()
    expect(page).to_have_url(re.compile(rf"/verify/{re.escape(certificate_number)}$"))
    result = page.locator("#verify-result")
    expect(result.locator(".big")).to_have_text("该备案证有效")
    expect(result).to_contain_text(code)
    expect(result).to_contain_text(PROJECT_NAME)
    expect(result).to_contain_text(AUTHORITY)
    page.screenshot(path=shots / "07-verify.png", full_page=True)
