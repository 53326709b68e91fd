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
from datetime import date, timedelta

from playwright.sync_api import Locator, Page, expect

from app.services.calendar import today

# Signing in and out goes through test_browser's helpers, not the Walk: the walk-through left them out of its
# figures too.
from tests.e2e.test_browser import AUTHORITY
from tests.e2e.test_browser import login as sign_in
from tests.e2e.test_browser import logout as sign_out

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


def to_todo(walk: Walk) -> None:
    """待办: a reviewer lands there after signing in and after each step; only elsewhere is it a click."""
    walk.page.wait_for_load_state()
    if not walk.page.locator("#todo").count():
        walk.click(walk.page.get_by_role("navigation").get_by_role("link", name=re.compile(r"^待办")), "待办")




def apply_for_code(walk: Walk, kind: str | None, name: str, type_code: str, nature: str, address: str, scale: str,
                   start: date, days: int, investment: str) -> None:
    """领码 of a machinery project in 江海区 (kind: the 项目类别 to tick; None keeps the preselected 备案类), 核对,
    确认赋码."""
    page = walk.page
    walk.click(page.get_by_role("navigation").get_by_role("link", name="领码申请"), "领码申请")
    if kind:
        walk.tick(page.get_by_label(kind), kind)
    walk.type("#f_name", name)
    walk.choose("#f_type_code", value=type_code)
    walk.choose("#f_industry_code", value="C3484")
    walk.choose("#f_nature", value=nature)
    walk.choose("#f_region_code", value="440704")
    walk.type("#f_address", address)
    walk.type("#f_scale_content", scale)
    walk.type("#f_planned_start", start.isoformat())
    walk.type("#f_planned_end", (start + timedelta(days=days)).isoformat())
    walk.type("#f_total_investment", investment)
    walk.click(page.get_by_role("button", name="下一步：核对信息"), "下一步：核对信息")
    walk.click(page.get_by_role("button", name="确认赋码"), "确认赋码")


def report(name: str, walk: Walk) -> None:
    before = BEFORE[name]
    goal = before * 2 // 3
    print(f"\n{name}：{walk.actions} 次操作（整改前 {before} 次，减少 {1 - walk.actions / before:.0%}；目标 ≤ {goal}），"
          f"{walk.loads} 次页面加载")
    print("  " + "；".join(walk.log))
    assert walk.actions <= goal, f"{name}: {walk.actions} actions, more than {goal} (before: {before})"


def test_filing_happy_path_takes_a_third_fewer_actions(page: Page):
    start = today() + timedelta(days=30)
    walk = Walk(page)

    # 企业：领码 (a 备案类 技术改造 project in 江海区), 核对, 确认赋码
    sign_in(page, "qiye")
    apply_for_code(walk, None, "江海区数控机床智能化改造计数项目", "02", "技术改造", "高新区明辉路35号",
                   "购置数控加工中心20台，改造生产线2条", start, 365, "1000")
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


APPROVAL_ANSWERS = {  # 核准 + 环评 (市发改局, 市生态环境局); state-controlled with a 6,000万 works contract: it must tender
    "land_supply": "none", "new_land": "no", "forest_land": "no", "heritage_site": "no", "national_security": "no",
    "eia_category": "table", "soil_disturbance": "no", "water_abstraction": "no", "flood_area": "no",
    "state_controlled": "yes", "foreign_loan": "no",
}


def open_step(walk: Walk, number: str, step: str) -> None:
    """From 待办 (where a reviewer lands): 签收并办理 a step in the pool, or 办理 one already theirs."""
    page = walk.page
    to_todo(walk)
    row = page.locator("#todo tbody tr", has_text=number).filter(has_text=step)
    expect(row).to_have_count(1)
    if row.get_by_role("button", name="签收并办理").count():
        walk.click(row.get_by_role("button", name="签收并办理"), f"签收并办理 {step}")
    else:
        walk.click(row.get_by_role("link", name="办理"), f"办理 {step}")


def accept(walk: Walk, acceptor: str, number: str) -> None:
    """受理 of an item by a department's acceptor: the platform's 项目代码核验 needs no tick."""
    page = walk.page
    sign_in(page, acceptor)
    open_step(walk, number, "受理")
    walk.tick(page.get_by_label("受理", exact=True), "受理")
    walk.click(page.get_by_role("button", name="提交受理意见"), "提交受理意见")
    sign_out(page)


def review_and_approve(walk: Walk, handler: str, number: str, review: str, doc_number: str, doc_title: str,
                       opinion: str) -> None:
    """办理 审查完毕, then the 办结 step that opens at once, filled up to its submit (the caller may add the tender)."""
    page = walk.page
    sign_in(page, handler)
    open_step(walk, number, "办理")
    walk.tick(page.get_by_label("审查完毕，提交办结"), "审查完毕")
    walk.type("#f_opinion", review)
    walk.click(page.get_by_role("button", name="提交办理意见"), "提交办理意见")
    expect(page.locator(".flash.success")).to_contain_text("已在您名下")
    walk.tick(page.get_by_label("准予许可"), "准予许可")
    walk.ensure("#f_doc_number", doc_number)  # the department's next 文号 when it has issued one before
    walk.ensure("#f_doc_title", doc_title)  # 「关于…的批复」 as usual for the item
    walk.type("#f_opinion", opinion)


def test_two_item_authorisation_takes_a_third_fewer_actions(page: Page, tmp_path):
    from tests.integration.approval_helpers import pdf_bytes

    pdf = tmp_path / "材料.pdf"
    pdf.write_bytes(pdf_bytes("申请材料"))
    start = today() + timedelta(days=60)
    walk = Walk(page)

    # 企业：领码（核准类）
    sign_in(page, "qiye")
    apply_for_code(walk, "核准类（列入政府核准的投资项目目录）", "江门市新材料产业园计数核准项目", "01", "新建",
                   "高新东路8号", "新建厂房3万平方米，建设新材料生产线4条", start, 700, "50000")

    # 事项申报：问卷 → 事项与材料 → 上传 → 承诺 → 提交
    row = page.locator("table.list tbody tr", has_text="江门市新材料产业园计数核准项目")
    walk.click(row.get_by_role("button", name="事项申报"), "事项申报")
    number = re.search(r"\S+XMHZ", page.locator("h1").inner_text()).group(0)
    for name, value in APPROVAL_ANSWERS.items():
        walk.tick(page.locator(f"input[name={name}][value={value}]"), name)
    for name, value in {"energy_tce": "300", "power_10k_kwh": "80", "total_investment": "50000", "state_funds": "0",
                        "construction_contract": "6000"}.items():
        walk.type(f"#f_{name}", value)
    walk.click(page.get_by_role("button", name="下一步：确定审批事项"), "下一步：确定审批事项")
    expect(page.locator(".flash.success")).to_contain_text("确定 2 个审批事项")
    page.wait_for_load_state()  # the materials below the flash parsed too, before they are counted
    for item in ("authorisation", "eia"):
        while True:
            rows = page.locator(f"#item-{item} table.materials tbody tr", has_text="未上传").filter(has_text="必需")
            if rows.count() == 0:
                break
            material = page.locator(f"#{rows.first.get_attribute('id')}")
            walk.files(f"#{rows.first.get_attribute('id')} input[type=file]", [str(pdf)], "材料")
            if material.get_by_role("button", name="上传", exact=True).is_visible():
                walk.click(material.get_by_role("button", name="上传", exact=True), "上传")
            expect(material.locator(".upload-status")).to_have_text("已上传")
    walk.tick(page.locator("#f_pledge"), "承诺")
    walk.click(page.get_by_role("button", name="提交申报"), "提交申报")
    expect(page.locator(".flash.success")).to_contain_text("并联审批")
    sign_out(page)

    # 生态环境：受理; 办理 asks for 补正
    accept(walk, "hb_shouli", number)
    sign_in(page, "hb_banli")
    open_step(walk, number, "办理")
    walk.tick(page.locator("input[name=missing_material]").first, "补正材料")
    walk.tick(page.get_by_label("告知申请人补正（暂停计时）"), "补正")  # chosen with the first material ticked
    expect(page.get_by_label("告知申请人补正（暂停计时）")).to_be_checked()
    walk.type("#f_opinion", "请补充大气环境影响预测的监测数据")
    walk.click(page.get_by_role("button", name="提交办理意见"), "提交办理意见")
    sign_out(page)

    # 企业：from the home page's 待补正 straight to the item, upload, say what changed, submit
    sign_in(page, "qiye")
    walk.click(page.get_by_role("link", name=re.compile("去补正|提交补正")).first, "去补正")
    page.wait_for_load_state()  # the page's scripts run before the file is chosen, as a person's hand is slower
    box = page.locator("#item-eia")
    walk.files("#item-eia input[type=file] >> nth=0", [str(pdf)], "补正材料")
    upload = box.get_by_role("button", name="上传补正材料", exact=True).first
    if upload.is_visible():
        walk.click(upload, "上传补正材料")
    expect(box.locator(".upload-status").first).to_have_text("已上传")
    walk.type("#item-eia textarea[name=note]", "已补充监测数据")
    walk.click(page.get_by_role("button", name="提交补正"), "提交补正")
    expect(page.locator(".flash.success")).to_have_text("补正材料已提交")
    sign_out(page)

    # 生态环境 办理 (the step came back to hb_banli) → 办结 opens at once
    review_and_approve(walk, "hb_banli", number, "材料齐全，同意", "江环审〔2026〕921号",
                       "关于新材料产业园项目环境影响报告表的批复", "同意该项目按报告表所列内容建设。")
    walk.click(page.get_by_role("button", name="提交办结意见"), "提交办结意见")
    sign_out(page)

    # 发展改革：受理; 办理 → 办结（含招标核准）, the tender opinion already set from the answers
    accept(walk, "sfg_shouli", number)
    review_and_approve(walk, "sfg_banli", number, "符合产业政策和规划", "江发改核准〔2026〕907号",
                       "关于新材料产业园项目核准的批复", "同意建设。")
    for package, values in {"survey": ("不招标", "—", "—"), "design": ("不招标", "—", "—"),
                            "works": ("全部招标", "公开招标", "委托招标"), "supervision": ("不招标", "—", "—"),
                            "goods": ("不招标", "—", "—")}.items():
        for part, value in zip(("scope", "method", "org"), values, strict=True):
            walk.choose(f"#f_tender_{package}_{part}", value=value)
    walk.click(page.get_by_role("button", name=re.compile("提交办结")), "提交办结意见")
    expect(page.locator(".flash.success")).to_contain_text("已办理")
    sign_out(page)

    # 企业：办结告知书
    sign_in(page, "qiye")
    row = page.locator("table.list tbody tr", has_text="江门市新材料产业园计数核准项目")
    with page.expect_download():
        walk.click(row.get_by_role("link", name="办结告知书"), "办结告知书")  # on 我的项目, no detour
    row.get_by_role("link", name="查看进度").click()  # a look, not part of the count
    expect(page.locator("#status")).to_have_text("已办结")
    report("核准（两个事项）", walk)
