"""政策工作台 in a real browser: zhengce opens the 备案 diagram in the designer, changes its time limit from 3 to
2 working days in the properties panel, validates, deploys with a reason; a filing submitted afterwards is due
in 2 working days; rolling back makes new filings take 3 again."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import at
from tests.e2e.test_browser import fill_filing, login, logout, take_code

pytestmark = pytest.mark.browser

REASON = "依据省发改委通知，备案办理时限由3个工作日缩短为2个工作日"


def _submit_filing(page: Page, name: str) -> str:
    """As qiye: 领码 and submit a 备案; returns the 办理时限 the application page shows."""
    start = date(2026, 4, 10)
    login(page, "qiye")
    code = take_code(page, name, "明辉路35号2栋", "购置数控加工中心20台", start, start + timedelta(days=365))
    page.locator("table.list tbody tr", has_text=code).get_by_role("link", name="申报备案").click()
    fill_filing(page, "购置数控加工中心20台", start, start + timedelta(days=365))
    page.get_by_role("button", name="提交备案").click()
    expect(page.locator(".flash.success")).to_contain_text("已提交")
    due = re.search(r"办理时限：(\S+ \S+)", page.locator("main").inner_text()).group(1)
    logout(page)
    return due


def _open_designer(page: Page) -> None:
    page.locator("header.top").get_by_role("link", name="政策工作台").click()
    page.get_by_role("link", name="流程与决策表").first.click()
    page.locator("#process-filing").get_by_role("link", name="设计").click()
    expect(page.locator(".studio-status")).to_have_text(re.compile("已打开"))


def test_policy_officer_shortens_the_filing_time_limit_and_rolls_back(page: Page, shots):
    at("2026-03-10 10:00")  # a Tuesday: 3 working days end on Friday the 13th, 2 on Thursday the 12th
    assert _submit_filing(page, "时限调整前备案的项目") == "2026-03-13 23:59"

    login(page, "zhengce")
    _open_designer(page)
    page.screenshot(path=shots / "studio-01-designer.png", full_page=True)
    page.locator('.djs-element[data-element-id="stamp"]').click()
    page.locator(".bio-properties-panel-group-header", has_text="脚本").first.click()
    script = page.locator("#bio-properties-panel-script")
    expect(script).to_have_value(re.compile(r"time_limit = 3"))
    script.fill(script.input_value().replace("time_limit = 3", "time_limit = 2"))
    page.screenshot(path=shots / "studio-02-properties.png", full_page=True)
    expect(page.locator(".studio-status")).to_have_text("有未保存的修改")

    page.get_by_role("button", name="保存草稿").click()  # the first save reloads the page with the deploy form
    expect(page.locator(".studio-status")).to_have_text(re.compile("已打开"))
    expect(page.locator("main")).to_contain_text("正在编辑草稿")
    page.get_by_role("button", name="与已部署版本对比").click()
    expect(page.locator(".studio-diff")).to_contain_text(
        "脚本任务「计算办理时限」 · 脚本：第1行 time_limit = 3 → 第1行 time_limit = 2")
    expect(page.locator('.djs-element.diff-changed[data-element-id="stamp"]')).to_have_count(1)  # marked on the canvas
    page.get_by_role("button", name="校验").click()
    expect(page.locator(".studio-status")).to_have_text("校验通过：可以保存草稿并部署")

    page.get_by_role("button", name="部署", exact=True).click()  # no reason: the browser asks for it first
    expect(page.locator("#reason")).to_be_focused()
    page.fill("#reason", REASON)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="部署", exact=True).click()
    expect(page.locator(".flash.success")).to_contain_text("已部署：filing v2")

    page.locator("#process-filing").get_by_role("link", name="版本").click()
    current = page.locator("#versions tr.current")
    expect(current).to_contain_text("v2")
    expect(current).to_contain_text(REASON)
    expect(page.locator("#version-1")).to_contain_text("1")  # the filing submitted before still runs on v1
    page.screenshot(path=shots / "studio-03-versions.png", full_page=True)
    logout(page)

    assert _submit_filing(page, "时限调整后备案的项目") == "2026-03-12 23:59"

    login(page, "zhengce")
    page.goto("/studio/processes/filing")
    row = page.locator("#version-1")
    row.locator("summary", has_text="设为当前版本").click()
    row.locator("textarea").fill("新时限待正式文件印发后再执行")
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="设为当前版本").click()
    expect(page.locator(".flash.success")).to_contain_text("已将 v1 设为当前版本")
    expect(page.locator("#versions tr.current")).to_contain_text("v1")
    logout(page)

    assert _submit_filing(page, "回退后备案的项目") == "2026-03-13 23:59"
