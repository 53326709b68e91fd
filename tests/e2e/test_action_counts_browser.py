"""How many actions a person needs (issue 14, Proof): the 备案 happy path and a two-item 核准, clicked through in
chromium as new users would, counting every click, typed field, choice, tick and file chosen. Signing in is not
counted (as in the walk-through of 2026-11-30, ../shared/ux-2026-11-30/report.md, whose figures are BEFORE).

A field already holding the right value is not typed again (the platform pre-fills it: that is the point), so
`Walk.type` counts only when it changes something. The test prints the figures and fails when they are not at
least a third below the walk-through's.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

from playwright.sync_api import Locator, Page, expect

from app.services.calendar import today
from tests.e2e.test_browser import AUTHORITY, PASSWORD

BEFORE = {"备案": 48, "核准（两个事项）": 100}  # actions in the walk-through of 2026-11-30 (report.md)


@dataclass
class Walk:
    """A page whose user actions are counted; page loads are counted from the main frame's navigations."""

    page: Page
    actions: int = 0
    loads: int = 0
    log: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.page.on("framenavigated", lambda frame: self._loaded() if frame == self.page.main_frame else None)

    def _loaded(self) -> None:
        self.loads += 1

    def _count(self, what: str) -> None:
        self.actions += 1
        self.log.append(what)

    def click(self, target: Locator, what: str) -> None:
        target.click()
        self._count(f"点击 {what}")

    def type(self, selector: str, value: str) -> None:
        box = self.page.locator(selector)
        if box.input_value() != value:
            box.fill(value)
            self._count(f"填写 {selector}")

    def ensure(self, selector: str, value: str) -> None:
        """A field any sensible value will do for (a contact): typed only when empty."""
        if not self.page.locator(selector).input_value().strip():
            self.type(selector, value)

    def choose(self, selector: str, **option: str) -> None:
        box = self.page.locator(selector)
        wanted = option.get("label")
        current = box.locator("option:checked").inner_text().strip() if wanted else box.input_value()
        if current != (wanted or option.get("value")):
            box.select_option(**option)
            self._count(f"选择 {selector}")

    def tick(self, target: Locator, what: str) -> None:
        if not target.is_checked():
            target.check()
            self._count(f"勾选 {what}")

    def files(self, selector: str, paths: list, what: str) -> None:
        self.page.set_input_files(selector, paths)
        self._count(f"选择文件 {what}")


def sign_in(page: Page, username: str) -> None:
    """Not counted: the walk-through left sign-in out of its figures too."""
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("header .who")).to_be_visible()


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="退出").click()


def to_todo(walk: Walk) -> None:
    """待办: a reviewer lands there after signing in and after each step; only elsewhere is it a click."""
    if not walk.page.locator("#todo").count():
        walk.click(walk.page.get_by_role("navigation").get_by_role("link", name=re.compile(r"^待办")), "待办")


def report(name: str, walk: Walk) -> None:
    before = BEFORE[name]
    print(f"\n{name}：{walk.actions} 次操作（整改前 {before} 次，减少 {1 - walk.actions / before:.0%}），"
          f"{walk.loads} 次页面加载")
    print("  " + "；".join(walk.log))
    assert walk.actions <= before * 2 // 3, f"{name}: {walk.actions} actions, not a third below {before}"


def test_filing_happy_path_takes_a_third_fewer_actions(page: Page):
    start = today() + timedelta(days=30)
    walk = Walk(page)

    # 企业：领码 (a 备案类 技术改造 project in 江海区), 核对, 确认赋码
    sign_in(page, "qiye")
    walk.click(page.get_by_role("navigation").get_by_role("link", name="领码申请"), "领码申请")
    walk.type("#f_name", "江海区数控机床智能化改造计数项目")
    walk.choose("#f_type_code", value="02")
    walk.choose("#f_industry_code", value="C3484")
    walk.choose("#f_nature", value="技术改造")
    walk.choose("#f_region_code", value="440704")
    walk.type("#f_address", "高新区明辉路35号")
    walk.type("#f_scale_content", "购置数控加工中心20台，改造生产线2条")
    walk.type("#f_planned_start", start.isoformat())
    walk.type("#f_planned_end", (start + timedelta(days=365)).isoformat())
    walk.type("#f_total_investment", "1000")
    walk.click(page.get_by_role("button", name="下一步：核对信息"), "下一步：核对信息")
    walk.click(page.get_by_role("button", name="确认赋码"), "确认赋码")
    code = re.search(r"项目代码：(\S+)", page.locator(".flash.success").inner_text()).group(1)

    # 企业：申报备案 from the project's row; what 领码 already said is filled in, 备案机关 chosen by 建设地点
    row = page.locator("table.list tbody tr", has_text=code)
    walk.click(row.get_by_role("link", name="申报备案"), "申报备案")
    expect(page.locator("#f_project_code")).to_have_value(code)
    walk.choose("#f_authority_id", label=AUTHORITY)
    walk.choose("#f_nature", value="技术改造")
    walk.choose("#f_industry_code", value="C3484")
    walk.type("#f_scale_content", "购置数控加工中心20台，改造生产线2条")
    walk.choose("#f_capital_category", value="other")
    for name, value in {"capital": "300", "annual_plan": "600", "total_investment": "1000",
                        "civil_investment": "200", "equipment_investment": "700", "own_funds": "400",
                        "domestic_loans": "500", "other_funds": "100"}.items():
        walk.type(f"#f_{name}", value)
    walk.type("#f_planned_start", start.isoformat())
    walk.type("#f_planned_end", (start + timedelta(days=365)).isoformat())
    walk.ensure("#f_contact_name", "张经办")
    walk.ensure("#f_contact_phone", "13800138000")
    walk.click(page.get_by_role("button", name="提交备案"), "提交备案")
    expect(page.locator(".flash.success")).to_contain_text("已提交")
    number = page.locator("h1 .mono").inner_text().strip()
    sign_out(page)

    # 受理人员：签收并办理 → 受理
    sign_in(page, "shouli")
    to_todo(walk)
    walk.click(page.locator("#todo tbody tr", has_text=number).get_by_role("button", name="签收并办理"), "签收并办理")
    walk.tick(page.get_by_role("radio", name="受理", exact=True), "受理")
    walk.click(page.get_by_role("button", name="提交受理意见"), "提交受理意见")
    expect(page.locator(".flash.success")).to_contain_text("审核中")
    sign_out(page)

    # 办理人员：审核通过, then 签发 (kept: his without a second 签收)
    sign_in(page, "banli")
    to_todo(walk)
    walk.click(page.locator("#todo tbody tr", has_text=number).get_by_role("button", name="签收并办理"), "签收并办理")
    walk.tick(page.get_by_role("radio", name="审核通过，提交签发"), "审核通过")
    walk.click(page.get_by_role("button", name="提交审核意见"), "提交审核意见")
    # 签发 is his already (sticky claim) and opens straight after 审核, without a detour through 待办
    expect(page.locator(".flash.success")).to_contain_text("下一环节「签发」已在您名下")
    walk.tick(page.locator("form").get_by_role("checkbox").first, "已核对")
    walk.click(page.get_by_role("button", name="提交签发意见"), "提交签发意见")
    expect(page.locator(".flash.success")).to_contain_text("已备案")
    sign_out(page)

    # 企业：下载备案证
    sign_in(page, "qiye")
    row = page.locator("table.list tbody tr", has_text=code)
    with page.expect_download() as info:
        walk.click(row.get_by_role("link", name="下载备案证"), "下载备案证")
    assert info.value.suggested_filename.endswith(".pdf")
    report("备案", walk)
