"""Issue 11 §2 defects 5 and 8 in chromium itself: where the browser really goes after login, and that a session
cookie copied before logout does not sign a second browser in afterwards."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_browser import PASSWORD, logout

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("raw", ["/%09/evil.example/", "/%5Cevil.example/", "/%5C/evil.example/", "//evil.example/",
                                 "///evil.example/", "https://evil.example/"])
def test_login_with_a_foreign_next_stays_on_the_site(page: Page, live_server, raw):
    # evil.example cannot resolve here: had chromium followed the target, it would show an error page off-site
    page.goto(f"/login?next={raw}")
    page.fill("#username", "qiye")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile("^" + re.escape(live_server.url) + "/enterprise/$"))
    expect(page.locator("header .who")).to_contain_text("张经办")


def test_a_cookie_copied_before_logout_does_not_sign_in_another_browser(page: Page, browser, live_server):
    page.goto("/login?next=/reviewer/")
    page.fill("#username", "shouli")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(live_server.url + "/reviewer/")
    copied = page.context.cookies()
    logout(page)

    other = browser.new_context(base_url=live_server.url, locale="zh-CN")
    try:
        other.add_cookies(copied)
        second = other.new_page()
        second.goto("/reviewer/")
        expect(second).to_have_url(re.compile(r"/login\?next="))
        expect(second.locator("header .who")).to_have_count(0)
    finally:
        other.close()
