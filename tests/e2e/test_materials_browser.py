"""Materials follow the answers and uploads keep the page (issue 14 items 1, 3), in a real browser: after answering
出让 / 新增建设用地 否 / not a foreign investor / 环评报告表, the conditional materials are not asked (listed as 不需要
with the answer that rules them out); uploads happen in place, several files at once, a wrong file is named under its
material, and neither the 承诺 tick nor a typed 补正说明 is lost by an upload."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from app.services.calendar import today
from tests.e2e.test_approval_browser import accept_in_browser, open_case, submit_step, upload_all
from tests.e2e.test_browser import login, logout, take_code
from tests.integration.approval_helpers import pdf_bytes

pytestmark = pytest.mark.browser

PROJECT = "江门市示范精密装备材料适用核准项目"
ANSWERS = {  # 核准 + 环评 (报告表): 出让, no new construction land, a domestic company
    "land_supply": "transfer", "new_land": "no", "forest_land": "no", "heritage_site": "no",
    "national_security": "no", "eia_category": "table", "soil_disturbance": "no", "water_abstraction": "no",
    "flood_area": "no", "state_controlled": "no", "foreign_loan": "no", "foreign_investment": "no",
}
NOT_ASKED = {"authorisation": ("选址意见书", "用地（用海）预审意见", "外商投资项目材料"), "eia": ("公众参与说明",)}


def test_materials_follow_the_answers_and_uploads_keep_the_page(page: Page, shots, tmp_path):
    pdf, second, word = tmp_path / "申请报告.pdf", tmp_path / "附图.pdf", tmp_path / "申请报告.docx"
    pdf.write_bytes(pdf_bytes("申请材料"))
    second.write_bytes(pdf_bytes("附图"))
    word.write_bytes(b"PK\x03\x04 not a pdf")
    start = today() + timedelta(days=60)
    login(page, "qiye")
    take_code(page, PROJECT, "江海区高新东路9号", "新建厂房2万平方米，建设精密装备生产线2条", start,
              start + timedelta(days=700), kind_label="核准类（列入政府核准的投资项目目录）", investment="30000")
    page.locator("table.list tbody tr", has_text=PROJECT).get_by_role("button", name="事项申报").click()
    number = re.search(r"\S+XMHZ", page.locator("h1").inner_text()).group(0)
    for name, value in ANSWERS.items():
        page.locator(f"input[name={name}][value={value}]").check()
    for name, value in (("energy_tce", "300"), ("power_10k_kwh", "80"), ("total_investment", "30000"),
                        ("state_funds", "0"), ("construction_contract", "100")):
        page.fill(f"#f_{name}", value)
    page.get_by_role("button", name="下一步：确定审批事项").click()
    expect(page.locator(".flash.success")).to_contain_text("确定 2 个审批事项")

    # Materials that do not apply are not asked: no upload row, listed apart with the reason.
    for item, names in NOT_ASKED.items():
        table = page.locator(f"#item-{item} table.materials")
        apart = page.locator(f"#unneeded-{item}")
        for name in names:
            expect(table).not_to_contain_text(name)
            expect(apart).to_contain_text(name)
    expect(page.locator("#unneeded-authorisation")).to_contain_text("不需要：供地方式为「出让」")
    expect(page.locator("#unneeded-authorisation")).to_contain_text("不需要：是否新增建设用地为「否」")
    expect(page.locator("#unneeded-eia")).to_contain_text("不需要：环境影响评价类别为「环境影响报告表」")
    for item in NOT_ASKED:
        expect(page.locator(f"#item-{item} table.materials")).not_to_contain_text("视情形")
    for width, height, name in ((1366, 900, "m1-materials-desktop.png"), (390, 844, "m1-materials-phone.png")):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=shots / name, full_page=True)
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1"), name
    page.set_viewport_size({"width": 1366, "height": 900})

    # The 承诺 tick survives uploads; a wrong file is named under its material, not as 「材料不完整」.
    page.locator("#f_pledge").check()
    report = page.locator("#item-authorisation table.materials tbody tr", has_text="项目申请报告")
    row_id = report.get_attribute("id")
    expect(report.get_by_role("button", name="上传", exact=True)).to_be_hidden()  # choosing the file uploads it
    report.locator("input[type=file]").set_input_files(str(word))
    report = page.locator(f"#{row_id}")
    expect(report.locator(".error-text")).to_contain_text("「申请报告.docx」只接受PDF格式的材料")
    expect(page.locator("#items")).not_to_contain_text("材料不完整")
    page.screenshot(path=shots / "m2-wrong-file.png", full_page=True)
    report.locator("input[type=file]").set_input_files([str(pdf), str(second)])  # several at once
    expect(report.locator(".upload-status")).to_have_text("已上传")
    expect(report.locator("ul.files li")).to_have_count(2)
    expect(report.locator("ul.files a[target=_blank]").first).to_have_attribute("href", re.compile(r"/view$"))
    expect(page.locator("#f_pledge")).to_be_checked()
    for item in ("authorisation", "eia"):
        upload_all(page, item, pdf)
    expect(page.locator("#f_pledge")).to_be_checked()
    page.get_by_role("button", name="提交申报").click()
    expect(page.locator(".flash.success")).to_contain_text("并联审批")

    # 补正: the typed 补正说明 survives the upload of the corrected file.
    accept_in_browser(page, "hb_shouli", number, "建设项目环境影响评价审批")
    open_case(page, "hb_banli", number, "建设项目环境影响评价审批", "办理")
    page.locator("input[name=missing_material]").first.check()
    page.get_by_label("告知申请人补正（暂停计时）").check()
    page.fill("#f_opinion", "请补充大气环境影响预测的监测数据")
    submit_step(page, "办理")
    logout(page)
    login(page, "qiye")
    page.locator("table.list tbody tr", has_text=PROJECT).get_by_role("link", name="查看进度").click()
    box = page.locator("#item-eia")
    note = box.locator("textarea[name=note]")
    note.fill("已补充大气环境影响预测的监测数据，见第3章")
    box.locator("input[type=file]").first.set_input_files(str(pdf))
    expect(box.locator(".upload-status").first).to_have_text("已上传")
    expect(note).to_have_value("已补充大气环境影响预测的监测数据，见第3章")
    for width, height, name in ((1366, 900, "m3-correction-desktop.png"), (390, 844, "m3-correction-phone.png")):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=shots / name, full_page=True)
    page.get_by_role("button", name="提交补正").click()
    expect(page.locator(".flash.success")).to_have_text("补正材料已提交")
