"""审批类 stage progression in a real browser: 立项 declared and approved, then the project page offers
阶段申请 可研; 信息确认 updates the 总投资 (kept before → after), the questionnaire starts from the 立项
answers and gives 可研; the stage line shows 立项 已批复 and 可研 申报中 under the same code."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from app.services.calendar import today
from tests.e2e.test_approval_browser import approve_in_browser, upload_all
from tests.e2e.test_browser import login, logout, take_code
from tests.integration.approval_helpers import pdf_bytes

pytestmark = pytest.mark.browser

PROJECT = "江海区智慧政务服务中心建设项目"
ANSWERS = {  # only the main item: no land, no 环评, no water; not a tender project
    "land_supply": "none", "new_land": "no", "forest_land": "no", "heritage_site": "no", "national_security": "no",
    "eia_category": "none", "soil_disturbance": "no", "water_abstraction": "no", "flood_area": "no",
    "state_controlled": "no", "foreign_loan": "no",
}


def test_proposal_then_feasibility_with_information_confirmed(page: Page, shots, tmp_path):
    pdf = tmp_path / "材料.pdf"
    pdf.write_bytes(pdf_bytes("项目建议书"))
    start = today() + timedelta(days=90)

    login(page, "qiye")
    code = take_code(page, PROJECT, "东海路1号", "新建政务服务大楼2万平方米", start, start + timedelta(days=700),
                     kind_label="审批类（政府投资）", investment="30000")

    # 立项: the project page offers 事项申报 on the stage line.
    page.locator("table.list tbody tr", has_text=PROJECT).get_by_role("link", name="阶段申请、报建").click()
    expect(page.locator("#stage-line li[data-stage=立项]")).to_contain_text("可申请")
    expect(page.locator("#stage-line li[data-stage=可研]")).to_contain_text("未开始")
    page.locator("#stage-line li[data-stage=立项]").get_by_role("button", name="事项申报").click()
    expect(page.locator("h1")).to_contain_text("审批类·立项阶段事项申报")
    number = re.search(r"\S+XMSP", page.locator("h1").inner_text()).group(0)
    for name, value in ANSWERS.items():
        page.locator(f"input[name={name}][value={value}]").check()
    for name, value in (("energy_tce", "100"), ("power_10k_kwh", "50"), ("total_investment", "30000"),
                        ("state_funds", "30000"), ("construction_contract", "0")):
        page.fill(f"#f_{name}", value)
    page.get_by_role("button", name="下一步：确定审批事项").click()
    expect(page.locator(".flash.success")).to_contain_text("确定 1 个审批事项")
    upload_all(page, "proposal", pdf)
    page.locator("#f_pledge").check()
    page.get_by_role("button", name="提交申报").click()
    expect(page.locator(".flash.success")).to_contain_text("并联审批")

    approve_in_browser(page, ("shouli", "banli"), number, "项目建议书审批",
                       ("江海发改审批〔2026〕15号", "关于江海区智慧政务服务中心建设项目建议书的批复"), "同意建设。")

    # 阶段申请 可研: 信息确认 first, the same code.
    logout(page)
    login(page, "qiye")
    page.get_by_role("navigation").get_by_role("link", name="我的项目").click()
    page.locator("table.list tbody tr", has_text=PROJECT).get_by_role("link", name="阶段申请、报建").click()
    expect(page.locator("#stage-line li[data-stage=立项]")).to_contain_text("已批复")
    expect(page.locator("#stage-line li[data-stage=立项]")).to_contain_text("江海发改审批〔2026〕15号")
    page.get_by_role("button", name="阶段申请：可研").click()
    expect(page.locator("h1")).to_contain_text("审批类·可研阶段事项申报")
    expect(page.locator("#f_total_investment")).to_have_value("30000")
    page.fill("#f_total_investment", "32000")
    page.get_by_role("button", name="确认信息，下一步：回答问卷").click()  # the box is not ticked
    expect(page.locator("#field-confirmed")).to_contain_text("请勾选「本单位已核对以上项目基本信息，确认真实准确」")
    page.locator("#f_confirmed").check()
    page.screenshot(path=shots / "s1-confirm.png", full_page=True)
    page.get_by_role("button", name="确认信息，下一步：回答问卷").click()
    expect(page.locator(".flash.success")).to_contain_text("信息已确认（更新了 1 项）")
    expect(page.locator("#confirmation")).to_contain_text("30000")
    expect(page.locator("#confirmation")).to_contain_text("32000")
    expect(page.locator("input[name=eia_category][value=none]")).to_be_checked()  # the 立项 answers
    page.fill("#f_total_investment", "32000")
    page.get_by_role("button", name="下一步：确定审批事项").click()
    expect(page.locator("#item-feasibility h3")).to_contain_text("可行性研究报告审批")

    page.get_by_role("link", name=PROJECT).click()
    expect(page.locator("h1")).to_contain_text(code)
    expect(page.locator("#stage-line li[data-stage=可研]")).to_contain_text("申报中")
    expect(page.locator("#stage-line li[data-stage=初步设计]")).to_contain_text("未开始")
    page.screenshot(path=shots / "s2-stage-line.png", full_page=True)
