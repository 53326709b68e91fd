"""事项目录 ↔ 决策表 in a real browser (the issue's scenario): zhengce adds the question 是否使用海域 to the
事项申报问卷 in the studio's form editor and deploys it; on the new catalogue item 海域使用权审批 adds the 触发条件
「是否使用海域 = 是」 without touching XML; validates and deploys the decision table in its designer with a reason.
A 核准 declaration made afterwards and answering 是 lists 海域使用权审批 and, once submitted, the department that
handles it; a declaration answered before keeps its questions and items."""
from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import delete, select

from app.services.calendar import today
from tests.e2e.test_approval_browser import upload_all
from tests.e2e.test_browser import login, logout, take_code
from tests.integration.approval_helpers import pdf_bytes

pytestmark = pytest.mark.browser

ANSWERS = {  # 核准 only, unless the new question adds an item
    "land_supply": "none", "new_land": "no", "forest_land": "no", "heritage_site": "no", "national_security": "no",
    "eia_category": "none", "soil_disturbance": "no", "water_abstraction": "no", "flood_area": "no",
    "state_controlled": "no", "foreign_loan": "no",
}
SEA_QUESTION = ('      - {name: sea_use, label: 是否使用海域, type: radio, required: true, '
                'choices: [["yes", 是], ["no", 否]]}\n')
ANCHOR = "      - {name: flood_area,"
QUESTIONS_REASON = "依据《海域使用管理法》，事项申报问卷增加「是否使用海域」"
TABLE_REASON = "用海项目须办理海域使用权审批（《海域使用管理法》第十六条）"


@pytest.fixture
def live_app(live_server) -> Iterator[Flask]:
    """The current versions and drafts as they were, and no 海域使用权审批, after the test, pass or fail: the
    browser tests share one server, and the next one's questionnaire must not ask a required sea question."""
    from app.extensions import db
    from app.models import ApprovalItem, HumanTask, ItemCase, ItemMaterial
    from engine.tables import ProcessCurrent, ProcessDraft

    app = live_server.app
    with app.app_context():
        current = {row.process_key: row.version_id for row in db.session.scalars(select(ProcessCurrent))}
        db.session.remove()
    yield app
    with app.app_context():
        db.session.execute(delete(ProcessDraft))
        for key, version_id in current.items():
            db.session.get(ProcessCurrent, key).version_id = version_id
        db.session.execute(delete(HumanTask).where(HumanTask.scope == "sea_area_use"))
        db.session.execute(delete(ItemCase).where(ItemCase.item_code == "sea_area_use"))
        db.session.execute(delete(ItemMaterial).where(ItemMaterial.item_code == "sea_area_use"))
        db.session.execute(delete(ApprovalItem).where(ApprovalItem.code == "sea_area_use"))
        db.session.commit()
        db.session.remove()


def _create_sea_item(app: Flask) -> None:
    """海域使用权审批 in the catalogue, its fields copied from 用地预审 (自然资源, 市级)."""
    from app.extensions import db
    from app.models import ApprovalItem, User
    from app.services import catalogue_admin

    with app.app_context():
        zhengce = db.session.scalar(select(User).where(User.username == "zhengce"))
        land = catalogue_admin.item_values(db.session.get(ApprovalItem, "land_site"))
        catalogue_admin.save_item(zhengce, {**land, "code": "sea_area_use", "name": "海域使用权审批", "materials": []})
        db.session.remove()


def _declare(page: Page, name: str, extra: dict[str, Any]) -> str:
    """As qiye: 领码 (核准类) and answer the questionnaire; returns the declaration's address."""
    start = today() + timedelta(days=60)
    take_code(page, name, "江海区高新东路8号", "新建码头泊位2个及配套设施", start, start + timedelta(days=700),
              kind_label="核准类（列入政府核准的投资项目目录）", investment="50000")
    page.locator("table.list tbody tr", has_text=name).get_by_role("button", name="事项申报").click()
    for field, value in {**ANSWERS, **extra}.items():
        page.locator(f"input[name={field}][value={value}]").check()
    for field, value in (("energy_tce", "300"), ("power_10k_kwh", "80"), ("total_investment", "50000"),
                         ("state_funds", "0"), ("construction_contract", "300")):
        page.fill(f"#f_{field}", value)
    page.get_by_role("button", name="下一步：确定审批事项").click()
    expect(page.locator(".flash.success")).to_contain_text("审批事项")
    return page.url


def _yaml_source(page: Page):  # noqa: ANN202
    """The form editor's YAML text box (behind its 「YAML 源文件」 tab where the editor has one)."""
    tab = page.get_by_role("tab", name="YAML 源文件")
    if tab.count():
        tab.click()
    return page.locator("#form-source")


def _deploy(page: Page, reason: str) -> None:
    page.fill("#reason", reason)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="部署", exact=True).click()
    expect(page.locator(".flash.success")).to_contain_text("已部署")


def test_policy_officer_links_a_new_catalogue_item_to_a_new_question(page: Page, live_app: Flask, shots, tmp_path):
    _create_sea_item(live_app)
    pdf = tmp_path / "材料.pdf"
    pdf.write_bytes(pdf_bytes("申请材料"))

    # before: a declaration answered on the current questionnaire
    login(page, "qiye")
    older = _declare(page, "江门市示范港口物流核准项目", {})
    expect(page.locator("#item-authorisation")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("海域使用权审批")
    logout(page)

    # the question, in the studio's form editor
    login(page, "zhengce")
    page.goto("/studio/files/declaration_questions.yaml")
    source = _yaml_source(page)
    text = source.input_value()
    assert ANCHOR in text
    source.fill(text.replace(ANCHOR, SEA_QUESTION + ANCHOR, 1))
    expect(page.locator(".studio-form-preview")).to_contain_text("是否使用海域")
    page.get_by_role("button", name="保存草稿").click()  # the first save reloads the page with the deploy form
    expect(page.locator("main")).to_contain_text("正在编辑草稿")
    _deploy(page, QUESTIONS_REASON)

    # the item's 触发条件, from the catalogue
    page.locator("header.top").get_by_role("link", name="事项目录").click()
    page.locator("#item-sea_area_use").get_by_role("link", name=re.compile("修改")).click()
    rules = page.locator("#triggers")
    expect(rules.locator("h2")).to_have_text("触发条件（并联审批事项决策表）")
    expect(rules.locator("#no-rules")).to_be_visible()
    page.select_option("#f_new_question", label="是否使用海域")
    page.get_by_role("button", name="加入条件").click()
    condition = page.locator("#cond-1")
    expect(condition).to_contain_text("是否使用海域")
    page.get_by_role("button", name="加入决策表草稿").click()  # no answer, no reason: refused, nothing saved
    expect(page.locator("#rule-error")).to_contain_text("「是否使用海域」的「回答」须从选项中选择")
    expect(page.locator("#field-description .error-text")).to_contain_text("请填写「依据/说明」")
    rules.screenshot(path=shots / "item-rules-refused.png")
    page.select_option("#cond-1-value", label="是")
    page.fill("#f_description", TABLE_REASON)
    page.get_by_role("button", name="加入决策表草稿").click()
    expect(page.locator(".flash.success")).to_contain_text("已将规则加入并联审批事项决策表的草稿")
    row = page.locator("#rules-table tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("「是否使用海域 = 是」")
    expect(row).to_contain_text("仅在草稿中（未部署）")
    expect(row).to_contain_text(TABLE_REASON)
    expect(page.locator("#rules-draft")).to_be_visible()
    rules.screenshot(path=shots / "item-rules-1280.png")
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    rules.screenshot(path=shots / "item-rules-390.png")
    # the section fits a phone (the materials table above it scrolls on its own)
    fits = rules.evaluate("el => [el.getBoundingClientRect().right, el.scrollWidth <= el.clientWidth]")
    assert fits[0] <= 390 and fits[1], fits
    page.set_viewport_size({"width": 1280, "height": 900})

    # the decision table's designer: validate, deploy with a reason
    page.locator("#triggers").get_by_role("link", name="打开决策表设计器").click()
    expect(page.locator(".studio-status")).to_have_text(re.compile("已打开"))
    expect(page.locator("main")).to_contain_text("正在编辑草稿")
    expect(page.locator("main")).to_contain_text("是否使用海域")  # the new column in the table
    page.get_by_role("button", name="与已部署版本对比").click()  # a column and a rule, each one line
    expect(page.locator(".studio-diff li")).to_have_count(2)
    expect(page.locator(".studio-diff")).to_contain_text("新增输入列「是否使用海域」")
    expect(page.locator(".studio-diff")).to_contain_text('条件「是否使用海域」 "yes"')
    page.get_by_role("button", name="校验").click()
    expect(page.locator(".studio-status")).to_have_text("校验通过：可以保存草稿并部署")
    page.screenshot(path=shots / "item-rules-designer.png", full_page=True)
    _deploy(page, TABLE_REASON)
    page.goto("/admin/items/sea_area_use#triggers")
    expect(page.locator("#rules-table tbody tr")).to_contain_text("已部署")
    expect(page.locator("#rules-draft")).to_have_count(0)
    logout(page)

    # after: a new declaration answering 是 gets the item, with its department once submitted
    login(page, "qiye")
    _declare(page, "江门市示范海上风电核准项目", {"sea_use": "yes"})
    expect(page.locator(".flash.success")).to_contain_text("确定 2 个审批事项")
    expect(page.locator("#item-sea_area_use h3")).to_contain_text("海域使用权审批")
    expect(page.locator("#item-sea_area_use")).to_contain_text("办理部门类别：自然资源")
    upload_all(page, "authorisation", pdf)
    page.locator("#f_pledge").check()
    page.get_by_role("button", name="提交申报").click()
    expect(page.locator(".flash.success")).to_contain_text("并联审批")
    expect(page.locator("#case-sea_area_use")).to_contain_text("海域使用权审批")
    expect(page.locator("#case-sea_area_use")).to_contain_text("江门市自然资源局")
    page.screenshot(path=shots / "item-rules-declaration.png", full_page=True)

    # the declaration answered before keeps its questions and its items
    page.goto(older)
    expect(page.locator("#item-authorisation")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("海域使用权审批")
    expect(page.locator("main")).not_to_contain_text("是否使用海域")
