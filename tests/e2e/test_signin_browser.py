"""Sign-in in chromium (issue 13, 002 §2.1): a wrong password brings up the image captcha, which the browser loads
and which then lets the right password in; a locked account is told when it unlocks (Beijing time)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import delete, select

from app.extensions import db
from app.models import SigninLog, User
from app.services import signin
from engine import clock
from tests.e2e.test_browser import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def signin_log(live_server, monkeypatch):
    """The captcha's answer known to the test; afterwards the log is emptied, so the browser tests after this one
    (all from 127.0.0.1) sign in without a captcha."""
    monkeypatch.setattr(signin, "captcha_text", lambda: "ABCD")
    yield live_server.app
    with live_server.app.app_context():
        db.session.execute(delete(SigninLog))
        db.session.commit()
        db.session.remove()


def test_wrong_password_brings_the_captcha_then_the_right_one_signs_in(page: Page, live_server, signin_log, shots):
    page.goto("/login")
    expect(page.locator("#captcha")).to_have_count(0)  # not on the first attempt
    page.fill("#username", "shouli")
    page.fill("#password", "not-the-password")
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#signin-error")).to_have_text("用户名或密码错误")
    image = page.locator("#captcha-img")
    expect(image).to_be_visible()
    # a function, not an expression: polling an expression evaluates a string, which the page's CSP refuses
    page.wait_for_function("() => document.querySelector('#captcha-img').naturalWidth > 0")  # the PNG really loaded
    page.screenshot(path=str(shots / "signin-captcha.png"), full_page=True)

    page.fill("#password", PASSWORD)
    page.fill("#captcha", "abcd")  # case-insensitive
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(live_server.url + "/reviewer/")
    page.get_by_role("link", name="账号安全").click()
    expect(page.locator("#signins tbody tr").first).to_contain_text("成功")
    expect(page.locator("#signins")).to_contain_text("密码错误")


def test_a_locked_account_is_told_when_it_unlocks(page: Page, signin_log, shots):
    with signin_log.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == "banli"))
        now = clock.utcnow_naive()
        for n in range(5):  # five failures from elsewhere within the window
            db.session.add(SigninLog(at=now - timedelta(minutes=4 - n), user_id=user_id, username="banli",
                                     source="10.5.5.5", method="password", result="bad_password"))
        db.session.commit()
        unlock = signin.beijing_minute(now + timedelta(minutes=15))
        db.session.remove()

    page.goto("/login")
    page.fill("#username", "banli")
    page.fill("#password", PASSWORD)  # the right password: not even checked while locked
    if page.locator("#captcha").count():
        page.fill("#captcha", "ABCD")
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#signin-error")).to_have_text(f"账号已锁定，请于 {unlock} 后再试或通过短信验证码找回密码")
    expect(page.locator("#lockout-rule")).to_contain_text("同一账号15分钟内登录失败5次")
    page.screenshot(path=str(shots / "signin-locked.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 800})
    page.screenshot(path=str(shots / "signin-locked-390.png"), full_page=True)
    expect(page.locator("header .who")).to_have_count(0)
