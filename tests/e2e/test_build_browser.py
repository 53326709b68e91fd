"""报建 in a real browser: after 备案 the enterprise opens the project page, chooses the 规划 and 施工许可 items of
two departments, uploads and submits; 住建 handles 施工许可 to 准予许可 and the project page shows it under 施工许可."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_approval_browser import approve_in_browser, open_case, upload_all
from tests.e2e.test_browser import login, logout
from tests.e2e.test_lifecycle_browser import issued_filing
from tests.integration.approval_helpers import pdf_bytes

pytestmark = pytest.mark.browser

PERMIT_ITEM = "建筑工程施工许可证核发"
PLANNING_ITEM = "建设工程规划许可证核发"


def test_build_items_of_two_departments_after_filing(page: Page, shots, tmp_path):
    pdf = tmp_path / "材料.pdf"
    pdf.write_bytes(pdf_bytes("报建材料"))
    code = issued_filing(page)

    logout(page)
    login(page, "qiye")
    page.get_by_role("navigation").get_by_role("link", name="我的项目").click()
    page.locator("table.list tbody tr", has_text=code).get_by_role("link", name="报建", exact=True).click()
    expect(page.locator("h1")).to_contain_text(code)
    page.get_by_role("button", name="报建申报").click()
    expect(page.locator("h1")).to_contain_text("报建申报")
    number = re.search(r"\S+XMBJ", page.locator("h1").inner_text()).group(0)
    expect(page.locator("input[name=items][value=completion_filing]")).to_be_disabled()  # 施工许可 first

    page.get_by_role("button", name="下一步：上传材料").click()  # nothing ticked
    expect(page.locator("#field-items")).to_contain_text("请勾选「报建事项」")
    page.locator("input[name=items][value=works_planning]").check()
    page.locator("input[name=items][value=construction_permit]").check()
    page.screenshot(path=shots / "b1-choose.png", full_page=True)
    page.get_by_role("button", name="下一步：上传材料").click()
    expect(page.locator(".flash.success")).to_contain_text("已选择 2 个报建事项")
    for item in ("works_planning", "construction_permit"):
        upload_all(page, item, pdf)
    expect(page.locator("#items")).not_to_contain_text("我已办理过此事项")
    page.locator("#f_pledge").check()
    page.get_by_role("button", name="提交申报").click()
    expect(page.locator(".flash.success")).to_contain_text("并联审批")
    expect(page.locator("#case-works_planning")).to_contain_text("江门市自然资源局")
    expect(page.locator("#case-construction_permit")).to_contain_text("江门市住房和城乡建设局")

    open_case(page, "zj_shouli", number, PERMIT_ITEM, "受理")
    expect(page.locator("body")).to_contain_text(f"申请单位本次一并申报：{PLANNING_ITEM}、{PERMIT_ITEM}")
    approve_in_browser(page, ("zj_shouli", "zj_banli"), number, PERMIT_ITEM,
                       ("440704202611230101", "建筑工程施工许可证"), "准予施工。")

    logout(page)
    login(page, "qiye")
    page.get_by_role("navigation").get_by_role("link", name="我的项目").click()
    page.locator("table.list tbody tr", has_text=code).get_by_role("link", name="报建", exact=True).click()
    permit_stage = page.locator("#works li.stage", has_text="施工许可").last
    expect(permit_stage.locator("[data-item=construction_permit]")).to_contain_text("准予许可")
    expect(permit_stage).to_contain_text("440704202611230101")
    expect(page.locator("#works [data-item=works_planning]")).to_contain_text("待受理")
    expect(page.locator("#build")).to_contain_text("继续报建")
    page.screenshot(path=shots / "b2-project-page.png", full_page=True)
