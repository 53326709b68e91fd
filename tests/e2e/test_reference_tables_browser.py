"""政策人员 in a real browser: import an industries spreadsheet, read the preview, apply it with a reason, and find
each change in the table's history."""
from __future__ import annotations

import pytest
from openpyxl import Workbook
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def login(page: Page, username: str) -> None:
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", "Demo@2026")
    page.get_by_role("button", name="登录").click()
    expect(page.locator("header .who")).to_be_visible()


def test_policy_staff_import_industries_from_a_spreadsheet_and_find_the_change_in_the_history(page: Page, shots,
                                                                                              tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["代码", "名称", "资本金行业类别"])
    sheet.append(["C3471", "电影机械制造", "other"])
    sheet.append(["C3473", "照相机及器材制造", "other"])
    sheet.append(["C3732", "非金属船舶制造（含玻璃钢船）", "other"])  # an existing class, renamed
    sheet.append(["C3011", "水泥制造", "cement"])  # as stored: unchanged
    path = tmp_path / "行业补充.xlsx"
    book.save(path)

    login(page, "zhengce")
    page.goto("/studio/tables")
    page.get_by_role("link", name="国民经济行业分类（GB/T 4754）").first.click()
    expect(page.locator("h1")).to_have_text("国民经济行业分类（GB/T 4754）")
    page.get_by_role("link", name="导入 Excel").click()
    page.set_input_files("#f_file", str(path))
    page.get_by_role("button", name="上传并预览").click()

    expect(page.locator("#n-added")).to_have_text("2")
    expect(page.locator("#n-changed")).to_have_text("1")
    expect(page.locator("#n-unchanged")).to_have_text("1")
    expect(page.locator("#n-invalid")).to_have_text("0")
    expect(page.locator("#plan-changed")).to_contain_text("非金属船舶制造 → 非金属船舶制造（含玻璃钢船）")
    expect(page.locator("#plan-added")).to_contain_text("C3471")
    page.screenshot(path=shots / "reference-import-preview.png", full_page=True)

    page.on("dialog", lambda dialog: dialog.accept())  # the 确认导入 confirmation
    page.get_by_role("button", name="确认导入").click()  # no reason yet: refused, nothing imported
    expect(page.locator("#field-reason .error-text")).to_contain_text("请填写「修改原因」")
    page.fill("#f_reason", "按GB/T 4754-2017补充影视器材小类")
    page.get_by_role("button", name="确认导入").click()

    expect(page.locator(".flash.success")).to_contain_text("新增2行，修改1行")
    expect(page.locator("h1")).to_contain_text("修改记录：国民经济行业分类")
    rows = page.locator("#history tbody tr")
    expect(rows).to_have_count(3)
    renamed = rows.filter(has_text="C3732")
    expect(renamed).to_contain_text("按GB/T 4754-2017补充影视器材小类")
    expect(renamed).to_contain_text("孙政策")
    expect(renamed).to_contain_text("导入")
    expect(renamed.locator("del")).to_have_text("非金属船舶制造")
    expect(renamed.locator("ins")).to_have_text("非金属船舶制造（含玻璃钢船）")
    page.screenshot(path=shots / "reference-history.png", full_page=True)

    page.get_by_role("link", name="返回国民经济行业分类（GB/T 4754）").click()
    page.fill("#q", "电影")
    page.get_by_role("button", name="查询").click()
    expect(page.locator("#rows tbody tr")).to_have_count(1)
    expect(page.locator("#row-C3471")).to_contain_text("电影机械制造")
