"""Issue 13 in a real browser: an enterprise registers (SMS code from the outbox, licence and ID-card scans), an
individual registers, the legal person authorises them as 经办人, the 经办人 signs in, does 领码 and a 备案 filing,
and the 办理记录 names both the 经办人 and the enterprise. Every page is photographed at 1280 and 390 px."""
from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.services.calendar import today
from tests.e2e.test_browser import fill_filing, logout, take_code
from tests.integration.approval_helpers import pdf_bytes

pytestmark = pytest.mark.browser

PASSWORD = "Corp!Reg2026"
ENTERPRISE = "江门市浏览器测试科技有限公司"
USCC = "91440703MA00001ABK"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64 + b"IEND\xaeB`\x82"


def sms_code(live_server, phone: str) -> str:
    """The code the default SMS gateway put in its outbox (nothing leaves the machine)."""
    from app.extensions import db
    from app.models import SmsMessage

    for _ in range(50):
        with live_server.app.app_context():
            text = db.session.scalars(select(SmsMessage.text).where(SmsMessage.phone == phone)
                                      .order_by(SmsMessage.id.desc())).first()
            db.session.remove()
        if text:
            return re.search(r"验证码为 (\d{6})", text)[1]
        time.sleep(0.1)
    raise AssertionError(f"no SMS code for {phone}")


def both_widths(page: Page, shots, name: str) -> None:
    """Full-page screenshots at desktop and phone width; the page must not scroll sideways on a phone."""
    page.screenshot(path=shots / f"reg-{name}-1280.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=shots / f"reg-{name}-390.png", full_page=True)
    wide = page.evaluate("document.documentElement.scrollWidth")
    page.set_viewport_size({"width": 1280, "height": 900})
    assert wide <= 392, f"{name}: {wide}px wide on a 390px phone"


def sign_in(page: Page, username: str, password: str) -> None:
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("header .who")).to_be_visible()


def ask_code(page: Page, live_server, phone: str) -> None:
    page.fill("#f_phone", phone)
    page.get_by_role("button", name="获取验证码").click()  # in the background: nothing typed or chosen is lost
    expect(page.locator("#code-status")).to_contain_text(f"验证码已发送至 {phone}")
    expect(page.locator("#send-code")).to_be_disabled()  # the resend countdown
    expect(page.locator("#send-code")).to_contain_text("秒后可重新获取")
    page.fill("#f_sms_code", sms_code(live_server, phone))


def test_an_enterprise_registers_authorises_an_agent_who_files(page: Page, live_server, shots, tmp_path):
    licence, id_card = tmp_path / "营业执照.pdf", tmp_path / "身份证.png"
    licence.write_bytes(pdf_bytes("business licence"))
    id_card.write_bytes(PNG)

    # 法人用户注册
    page.goto("/register")
    both_widths(page, shots, "01-choose")
    page.get_by_role("link", name="法人用户").first.click()
    expect(page.locator("#verifier-note")).to_contain_text("尚未接入省实名认证服务")
    page.fill("#f_enterprise_name", ENTERPRISE)
    page.fill("#f_uscc", "91440703MA00001ABX")  # a wrong check character: named on the field
    page.fill("#f_address", "江门市江海区金瓯路1号")
    page.fill("#f_legal_rep", "黄法人")
    page.fill("#f_legal_rep_id", "11010519491231002X")
    ask_code(page, live_server, "13766660001")
    page.fill("#f_username", "browser_corp")
    page.fill("#f_password", PASSWORD)
    page.fill("#f_password2", PASSWORD)
    page.set_input_files("#f_licence", str(licence))
    page.set_input_files("#f_id_card", str(id_card))
    page.get_by_role("button", name="注册", exact=True).click()
    uscc_field = page.locator('.field[data-field="uscc"]')
    expect(uscc_field).to_have_class(re.compile("has-error"))
    expect(uscc_field.locator(".error-text")).to_contain_text("统一社会信用代码")
    both_widths(page, shots, "02-enterprise-form-error")
    # what was typed is kept; passwords and files are chosen again
    expect(page.locator("#f_enterprise_name")).to_have_value(ENTERPRISE)
    page.fill("#f_uscc", USCC)
    page.fill("#f_password", PASSWORD)
    page.fill("#f_password2", PASSWORD)
    page.set_input_files("#f_licence", str(licence))
    page.set_input_files("#f_id_card", str(id_card))
    page.get_by_role("button", name="注册", exact=True).click()
    expect(page.locator("h1")).to_have_text("注册成功")
    expect(page.locator("#verifier-message")).to_contain_text("姓名与身份证号码是否一致未经核验")
    both_widths(page, shots, "03-enterprise-done")

    # 个人用户注册（将成为经办人）
    page.goto("/register?kind=individual")
    page.fill("#f_real_name", "周经办")
    page.fill("#f_id_number", "110105198503120012")
    ask_code(page, live_server, "13766660002")
    page.fill("#f_username", "browser_agent")
    page.fill("#f_password", PASSWORD)
    page.fill("#f_password2", PASSWORD)
    both_widths(page, shots, "04-individual-form")
    page.get_by_role("button", name="注册", exact=True).click()
    expect(page.locator("h1")).to_have_text("注册成功")

    # 法人：企业信息，授权经办人
    sign_in(page, "browser_corp", PASSWORD)
    page.get_by_role("navigation").get_by_role("link", name="企业信息").click()
    expect(page.locator("dl.facts").first).to_contain_text(USCC)
    expect(page.get_by_role("link", name="下载查看").first).to_be_visible()
    both_widths(page, shots, "05-enterprise-info")
    page.get_by_role("navigation").get_by_role("link", name="经办人管理").click()
    page.fill("#f_who", "browser_agent")
    page.fill("#f_real_name", "周经办")
    page.get_by_label("全部项目").check()
    page.get_by_role("button", name="授权").click()
    expect(page.locator(".flash.success")).to_contain_text("已授权周经办为经办人")
    row = page.locator("table.grants tbody tr", has_text="周经办")
    expect(row).to_contain_text("有效")
    expect(row).to_contain_text("长期（至撤销）")
    both_widths(page, shots, "06-agents")
    logout(page)

    # 经办人：登录后先选择代表的企业（切换企业），再领码、备案
    sign_in(page, "browser_agent", PASSWORD)
    expect(page).to_have_url(re.compile(r"/account/acting$"))  # acting for nobody: no 我的项目 yet
    expect(page.locator("#nav-acting")).to_have_text("未代表企业 · 切换企业")
    both_widths(page, shots, "07a-acting-choose")
    page.locator("ul.choose-list li", has_text=ENTERPRISE).get_by_role("button", name="代表此企业").click()
    expect(page.locator(".flash.success")).to_have_text(f"已切换为代表{ENTERPRISE}办理")
    expect(page.locator("#nav-acting")).to_have_text(f"代表 {ENTERPRISE} · 切换企业")
    start = today() + timedelta(days=30)
    end = start + timedelta(days=365)
    code = take_code(page, "经办人代办的数控化改造项目", "金瓯路1号", "购置数控机床10台", start, end)
    page.locator("table.list tbody tr", has_text=code).get_by_role("link", name="申报备案").click()
    fill_filing(page, "购置数控机床10台", start, end)
    page.get_by_role("button", name="提交备案").click()
    expect(page.locator(".flash.success")).to_contain_text("已提交")
    timeline = page.locator("ol.timeline")
    expect(timeline).to_contain_text(f"周经办（经办人，代表{ENTERPRISE}）")
    both_widths(page, shots, "07-filing-timeline")
    filing_url = page.url
    page.locator("#nav-acting").get_by_role("link", name="切换企业").click()
    expect(page.locator("#acting-now")).to_contain_text(ENTERPRISE)
    both_widths(page, shots, "08-acting")
    page.get_by_role("navigation").get_by_role("link", name="个人信息").click()
    expect(page.locator("table.grants")).to_contain_text(ENTERPRISE)
    both_widths(page, shots, "09-individual-info")
    page.get_by_role("link", name="更换").click()
    both_widths(page, shots, "10-phone")
    page.goto("/account/cancel")
    both_widths(page, shots, "11-cancel")
    logout(page)

    # 法人 sees the same record under both names
    sign_in(page, "browser_corp", PASSWORD)
    page.goto(filing_url)
    expect(page.locator("ol.timeline")).to_contain_text(f"周经办（经办人，代表{ENTERPRISE}）")
    page.goto("/account/cancel")
    expect(page.locator(".flash.error")).to_contain_text("经办人代办的数控化改造项目")  # a case in progress
    both_widths(page, shots, "12-cancel-refused")
