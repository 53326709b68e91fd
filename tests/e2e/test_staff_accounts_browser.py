"""审批账号 in a real browser (issue 13, 002): a reviewer of 江门市江海区发展和改革局 applies with 受理 of 项目建议书审批
(unit picked region first, the permission table follows the unit, the SMS code read from the outbox), 江门's 市州管理员
approves, the reviewer signs in, claims a task of that item and hands it to a colleague (转办); 广州's administrator
gets 403 on the request's URL. Every page is photographed at 1280 and 390 px."""
from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.extensions import db
from app.models import SmsMessage
from tests.e2e.test_browser import login, logout
from tests.integration.approval_helpers import declare, new_project

pytestmark = pytest.mark.browser

PASSWORD = "Shenpi#2026x"
UNIT = "江门市江海区发展和改革局"


def shoot(page: Page, shots, name: str) -> None:
    """The page at desktop and phone width, full length; wide content must not widen the phone page."""
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(shots / f"staff-{name}-{width}.png"), full_page=True)
        if width == 390:
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 1, f"{name} is {overflow}px wider than a phone"
    page.set_viewport_size({"width": 1280, "height": 900})


def sms_code(live_server, phone: str) -> str:
    with live_server.app.app_context():
        text = db.session.scalar(select(SmsMessage.text).where(SmsMessage.phone == phone)
                                 .order_by(SmsMessage.id.desc()).limit(1))
        db.session.remove()
    return re.search(r"验证码为 (\d{6})", text).group(1)


def declared_proposal(live_server) -> str:
    """A 审批类 declaration whose 项目建议书审批 waits for 受理 at 江海区, made as the integration tests make it (the
    enterprise's pages are not what this test is about); CSRF is off for these few requests only."""
    app = live_server.app
    app.config["WTF_CSRF_ENABLED"] = False
    try:
        with app.app_context():
            client = app.test_client()
            number = declare(client, new_project(client, kind="approval", name="江海区党群服务中心建设项目")).number
            db.session.remove()
    finally:
        app.config["WTF_CSRF_ENABLED"] = True
    return number


def test_a_reviewer_applies_is_approved_in_scope_and_claims_and_transfers(page: Page, live_server, shots):
    username = "r" + uuid.uuid4().hex[:8]
    phone = "137" + str(uuid.uuid4().int)[:8]

    # 1. the application: region, then the unit; the item table follows the unit
    page.goto("/")
    page.get_by_role("link", name="审批账号申请").click()
    expect(page.locator("h1")).to_have_text("审批账号申请")
    page.select_option("#f_region", label="　　江海区")
    expect(page.locator("#f_department_id optgroup:not([hidden])")).to_have_count(1)
    page.select_option("#f_department_id", label=UNIT)
    expect(page.locator("#reviewer-hint")).to_contain_text("由江门市的市州管理员审核")
    row = page.locator("#permissions tbody tr", has_text="项目建议书审批")
    expect(row).to_have_count(1)
    row.get_by_label("项目建议书审批 受理").check()
    page.fill("#f_section", "投资科")
    page.fill("#f_position", "科员")
    page.fill("#f_real_name", "李新")
    page.fill("#f_id_number", "430302199911093456")
    page.fill("#f_phone", phone)
    page.get_by_role("button", name="获取验证码").click()
    expect(page.locator("#code-status")).to_contain_text("验证码已发送")
    expect(page.locator("button[data-send-code]")).to_be_disabled()  # counting down
    page.fill("#f_sms_code", sms_code(live_server, phone))
    page.fill("#f_username", username)
    page.fill("#f_password", PASSWORD)
    page.fill("#f_password2", "Different#2026")
    page.get_by_role("button", name="提交申请").click()
    expect(page.locator("#field-password2 .error-text")).to_contain_text("不一致")  # refused, field named
    shoot(page, shots, "apply-errors")
    expect(page.get_by_label("项目建议书审批 受理")).to_be_checked()  # the ticks come back with the errors
    page.fill("#f_password", PASSWORD)
    page.fill("#f_password2", PASSWORD)
    page.fill("#f_sms_code", sms_code(live_server, phone))  # the code was not spent by the refused form
    page.get_by_role("button", name="提交申请").click()
    expect(page.locator("#reviewed-by")).to_contain_text("由江门市的市州管理员审核")
    request_id = page.locator("#request-number").inner_text()
    shoot(page, shots, "applied")
    for path, name in (("/staff/status", "status"), ("/staff/apply", "apply")):
        page.goto(path)
        expect(page.locator(".flash.error")).to_have_count(0)
        shoot(page, shots, name)

    # 2. 江门's administrator lands on 账号审核 and approves
    number = declared_proposal(live_server)
    login(page, "jm_admin")
    expect(page.locator("h1")).to_have_text("账号审核")
    expect(page.locator("#nav-staff .badge")).to_have_text(re.compile(r"\d+"))
    shoot(page, shots, "requests")
    page.locator(f"#request-{request_id}").get_by_role("link", name="审核").click()
    expect(page.locator("#requested-permissions")).to_contain_text("项目建议书审批")
    expect(page.locator("#person")).to_contain_text("江海区 › 江门市江海区发展和改革局")
    expect(page.locator("#realname")).to_contain_text("未接入")
    shoot(page, shots, "request")
    page.get_by_role("button", name="驳回").click()
    expect(page.locator("#field-reason .error-text")).to_contain_text("驳回须填写")
    page.get_by_role("button", name="通过").click()
    expect(page.locator(".flash.success")).to_contain_text("已审核通过")
    for path, name in (("/staff/org", "org"), ("/staff/users?q=江海区", "users")):
        page.goto(path)
        shoot(page, shots, name)
    page.locator(f"#user-{username}").get_by_role("link", name="管理").click()
    expect(page.locator("#held")).to_contain_text("项目建议书审批")
    shoot(page, shots, "user")
    logout(page)

    # 3. 广州's administrator cannot open it, even by URL
    login(page, "gz_admin")
    response = page.goto(f"/staff/requests/{request_id}")
    assert response is not None and response.status == 403
    expect(page.locator("main")).to_contain_text("不在您的审核范围内")
    logout(page)

    # 4. the new reviewer signs in, claims the item's 受理 and hands it to a colleague
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("header .who")).to_have_text("李新")
    page.get_by_role("link", name="待办").first.click()
    row = page.locator("#todo tbody tr", has_text=number).filter(has_text="受理")
    expect(row).to_have_count(1)
    row.get_by_role("button", name="签收").click()
    expect(page.locator(".flash.success")).to_have_text("已签收，请办理")
    expect(page.locator("h1")).to_contain_text(f"项目建议书审批：{number}")
    page.get_by_role("link", name="转办给同事").click()
    shoot(page, shots, "transfer")
    page.select_option("#f_to_user_id", page.locator("#f_to_user_id option", has_text="王受理").get_attribute("value"))
    page.get_by_role("button", name="转办").click()
    expect(page.locator("#field-note .error-text")).to_contain_text("请填写「转办说明」")
    page.fill("#f_note", "本人下周出差，请代为受理")
    page.get_by_role("button", name="转办").click()
    expect(page.locator(".flash.success")).to_contain_text("转办给王受理")
    page.goto("/tasks/?tab=done")
    expect(page.locator("#done tbody tr").first).to_contain_text("转办")
    page.goto("/accounts/mine")
    expect(page.locator("#account-requests")).to_contain_text("通过")
    shoot(page, shots, "mine")
