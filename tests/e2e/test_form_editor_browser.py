"""The structured form editor in a real browser: zhengce opens the 变更 签发 form (post_issue.yaml), changes a label
and adds a radio field with two choices card by card, sees both in the live preview, finds a duplicate field name
marked on its card by 校验, saves the draft, validates and deploys with a reason; the deployed form has both.
The 变更 process is rolled back to v1 afterwards, as test_studio_browser.py does, so later tests start on it."""
from __future__ import annotations

import re

import pytest
import yaml
from playwright.sync_api import Page, expect

from tests.e2e.test_browser import login

pytestmark = pytest.mark.browser

FILE = "post_issue.yaml"
REASON = "签发时须确认已电话告知企业"


def _card(page: Page, name: str):
    return page.locator(f'#form-structured .fm-field[data-name="{name}"]')


def test_policy_officer_edits_a_form_field_by_field_and_deploys_it(page: Page, shots):
    login(page, "zhengce")
    page.goto(f"/studio/files/{FILE}")
    expect(page.get_by_role("tab", name="逐项编辑")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#form-source")).to_be_hidden()
    preview = page.locator(".studio-form-preview")

    opinion = _card(page, "opinion")
    opinion.locator("summary").click()
    expect(opinion.get_by_label("字段名")).to_have_attribute("readonly", "")  # an existing name is kept
    opinion.get_by_label("显示名称").fill("")  # refused by the server, named, the card marked
    expect(page.locator(".studio-status")).to_have_text("字段 opinion 的「显示名称」不能为空")
    expect(opinion).to_have_class(re.compile("fm-invalid"))
    opinion.get_by_label("显示名称").fill("签发意见（可不填）")
    expect(opinion).not_to_have_class(re.compile("fm-invalid"))
    expect(page.locator(".studio-status")).to_have_text("有未保存的修改")
    expect(preview.locator('[data-field="opinion"] label')).to_have_text("签发意见（可不填）")
    expect(opinion.locator("summary")).to_contain_text("签发意见（可不填）")

    page.get_by_role("button", name="＋ 添加字段").click()
    added = _card(page, "field_1")
    expect(added).to_have_attribute("open", "")
    added.get_by_label("显示名称").fill("是否已电话告知企业")
    added.get_by_label("类型").select_option("radio")
    added = page.locator('#form-structured .fm-field[data-path="sections.0.fields.2"]')
    added.get_by_label("第1个选项的值").fill("yes")
    added.get_by_label("第1个选项的显示文字").fill("是")
    added.get_by_label("第2个选项的值").fill("no")
    added.get_by_label("第2个选项的显示文字").fill("否")
    added.get_by_label("必填").check()
    added.get_by_label("填写说明").fill("签发前电话告知企业领取变更函")
    # a name another field has: 校验 names it, and its card is marked
    added.get_by_label("字段名").fill("confirm")
    page.get_by_role("button", name="校验").click()
    expect(page.locator(".studio-status")).to_have_text(re.compile("校验未通过"))
    expect(page.locator(".studio-findings")).to_contain_text("字段名重复")
    expect(_card(page, "confirm")).to_have_count(2)
    for twin in _card(page, "confirm").all():
        expect(twin).to_have_class(re.compile("studio-problem"))
    added.get_by_label("字段名").fill("phone_notice")

    field = preview.locator('[data-field="phone_notice"]')
    expect(field).to_contain_text("是否已电话告知企业")
    expect(field.locator('input[type="radio"]')).to_have_count(2)
    expect(field).to_contain_text("是")
    expect(field).to_contain_text("否")
    expect(field.locator(".req")).to_have_count(1)
    page.screenshot(path=shots / "form-editor-01-structured.png", full_page=True)

    page.get_by_role("tab", name="YAML 源文件").click()
    source = page.locator("#form-source")
    expect(source).to_be_visible()
    expect(source).to_have_value(re.compile(
        r"\{name: phone_notice, label: 是否已电话告知企业, type: radio, required: true,"
        r"\s+choices: \[\['yes', 是\], \['no', 否\]\],\s+help: 签发前电话告知企业领取变更函\}"))
    page.get_by_role("tab", name="逐项编辑").click()
    expect(_card(page, "phone_notice")).to_have_attribute("open", "")  # read again from the YAML, still open
    expect(_card(page, "phone_notice").get_by_label("字段名")).to_be_editable()  # not deployed yet: no process reads it

    page.set_viewport_size({"width": 390, "height": 844})
    _card(page, "phone_notice").scroll_into_view_if_needed()
    assert page.evaluate("document.querySelector('#form-structured').scrollWidth <= "
                         "document.querySelector('#form-structured').clientWidth")  # cards fit the phone
    page.screenshot(path=shots / "form-editor-02-phone.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("button", name="保存草稿").click()  # the first save reloads the page with the deploy form
    expect(page.locator("main")).to_contain_text("正在编辑草稿")
    expect(_card(page, "phone_notice")).to_be_visible()
    page.get_by_role("button", name="校验").click()
    expect(page.locator(".studio-status")).to_have_text("校验通过：可以保存草稿并部署")
    expect(page.locator(".studio-problem")).to_have_count(0)

    page.fill("#reason", REASON)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="部署", exact=True).click()
    expect(page.locator(".flash.success")).to_contain_text("已部署：change v2")

    deployed = page.request.get(f"/studio/files/{FILE}/source").text()
    fields = {f["name"]: f for s in yaml.safe_load(deployed)["sections"] for f in s["fields"]}
    assert fields["opinion"]["label"] == "签发意见（可不填）"
    assert fields["phone_notice"] == {"name": "phone_notice", "label": "是否已电话告知企业", "type": "radio",
                                      "required": True, "choices": [["yes", "是"], ["no", "否"]],
                                      "help": "签发前电话告知企业领取变更函"}

    # restore: new 变更 cases start on v1 again
    page.goto("/studio/processes/change")
    row = page.locator("#version-1")
    row.locator("summary", has_text="设为当前版本").click()
    row.locator("textarea").fill("测试结束，恢复原表单")
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="设为当前版本").click()
    expect(page.locator(".flash.success")).to_contain_text("已将 v1 设为当前版本")
