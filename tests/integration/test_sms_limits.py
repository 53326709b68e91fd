"""SMS abuse (issue 13): codes per source address and hour on every send; the sign-in and reset sends answer a
number (or username and number) without an account exactly as one with an account, resend wait and daily cap
included; the image captcha limited per address in-process; the verified real name kept on the account."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.extensions import db
from app.models import SmsCode, User
from app.services import identity
from app.web import auth
from engine import clock
from tests.integration.test_signin import PASSWORD, done, post_login, sent_code, texted
from tests.integration.test_signin import world as world  # noqa: F401  (the fixture, shared)

UNBOUND = "13899998888"


@pytest.fixture
def sms(world, app):  # noqa: F811
    """`world`, with the captcha limiter empty before and after and the display names touched put back."""
    auth.captcha_limiter.clear()
    names = dict(db.session.execute(select(User.username, User.display_name)).all())
    done(None)
    yield world
    auth.captcha_limiter.clear()
    db.session.rollback()
    for username, name in names.items():
        db.session.execute(update(User).where(User.username == username, User.display_name != name)
                           .values(display_name=name))
    db.session.commit()


def _answer(response, phone: str) -> tuple[int, str]:
    """Status and the page with the number typed and the session's CSRF token masked: what a caller can tell
    apart."""
    page = re.sub(r'name="csrf_token" value="[^"]*"', "CSRF", response.get_data(as_text=True))
    return response.status_code, page.replace(phone, "PHONE")


def _message(response) -> str:
    found = re.search(r'id="(?:form-error|form-notice|signin-error)">([^<]*)<', response.get_data(as_text=True))
    return found[1] if found else ""


@pytest.mark.clock("2026-03-10 10:00")
def test_codes_per_source_address_and_hour(sms, app):
    limit = app.config["SMS_PER_SOURCE_HOUR"]
    crowd = sms.client("10.99.0.1")
    for n in range(limit):
        assert crowd.post("/login/sms/send", data={"phone": f"1770000{n:04d}"}).status_code == 200
        clock.advance(timedelta(seconds=30))
    refused = crowd.post("/login/sms/send", data={"phone": "17700009999"})
    assert refused.status_code == 429
    assert _message(refused) == "本网络地址获取验证码过于频繁，请一小时后再试"
    assert 'id="err-sms_code"' in refused.get_data(as_text=True)
    # every send counts and is refused, whatever the route
    reset = crowd.post("/password/reset/send", data={"username": "hb_shouli", "phone": sms.user("hb_shouli").phone})
    assert reset.status_code == 429 and "验证码过于频繁" in reset.get_data(as_text=True)
    assert not texted(sms.user("hb_shouli").phone)
    register = crowd.post("/register/send-code", data={"phone": "17700008888"})
    assert register.status_code == 429 and "验证码" in register.get_json()["errors"]["sms_code"]
    apply = crowd.post("/staff/apply/code", data={"phone": "17700008887"}, headers={"Accept": "application/json"})
    assert apply.status_code == 429 and "验证码过于频繁" in apply.get_json()["message"]
    assert done(db.session.scalar(select(SmsCode.id).where(SmsCode.phone.in_(["17700008888", "17700008887"])))) is None
    # another address is not held back
    assert sms.client("10.99.0.2").post("/login/sms/send", data={"phone": "17700009999"}).status_code == 200
    # an hour after the first of them, one more may be asked
    clock.advance(timedelta(hours=1) - timedelta(seconds=30 * limit) + timedelta(seconds=1))
    assert crowd.post("/login/sms/send", data={"phone": "17700009998"}).status_code == 200
    assert crowd.post("/login/sms/send", data={"phone": "17700009997"}).status_code == 429


@pytest.mark.clock("2026-03-10 10:00")
def test_signin_send_tells_nothing_about_the_number(sms):
    bound = sms.user("xh_shouli").phone
    a, b = sms.client("10.99.1.1"), sms.client("10.99.1.2")

    def both() -> tuple:
        return (_answer(a.post("/login/sms/send", data={"phone": bound}), bound),
                _answer(b.post("/login/sms/send", data={"phone": UNBOUND}), UNBOUND))

    first, again = both(), both()
    assert first[0] == first[1] and first[0][0] == 200 and "60秒后可重新获取" in first[0][1]
    assert again[0] == again[1] and again[0][0] == 429 and "秒后再获取" in again[0][1]
    clock.advance(timedelta(seconds=61))
    later = both()
    assert later[0] == later[1] and later[0][0] == 200
    for _ in range(identity.CODE_DAILY - 2):
        clock.advance(timedelta(seconds=61))
        assert both()[0][0] == 200
    clock.advance(timedelta(seconds=61))
    capped = both()
    assert capped[0] == capped[1] and capped[0][0] == 429 and "今日获取验证码次数过多" in capped[0][1]
    # both counted against their address; only the bound number got SMS
    rows = done(db.session.execute(select(SmsCode.phone, SmsCode.source)).all())
    assert sorted(set(rows)) == [(UNBOUND, "10.99.1.2"), (bound, "10.99.1.1")]
    assert len(rows) == 2 * identity.CODE_DAILY
    assert texted(bound) and not texted(UNBOUND)


@pytest.mark.clock("2026-03-10 10:00")
def test_reset_send_tells_nothing_about_the_pair_and_cannot_spoil_a_code(sms):
    phone = sms.user("hb_shouli").phone
    a, b = sms.client("10.99.2.1"), sms.client("10.99.2.2")

    def both() -> tuple:
        return (_answer(a.post("/password/reset/send", data={"username": "hb_shouli", "phone": phone}), phone),
                _answer(b.post("/password/reset/send", data={"username": "hb_shouli", "phone": UNBOUND}), UNBOUND))

    first, again = both(), both()
    assert first[0] == first[1] and first[0][0] == 200 and "用户名与手机号匹配" in first[0][1]
    assert again[0] == again[1] and again[0][0] == 429
    clock.advance(timedelta(seconds=61))
    later = both()
    assert later[0] == later[1] and later[0][0] == 200
    assert not texted(UNBOUND)

    # a wrong name with the right number is refused and counted like the right pair, and sends nothing …
    code = sent_code(phone)
    clock.advance(timedelta(seconds=61))
    wrong_name = b.post("/password/reset/send", data={"username": "hb_banli", "phone": phone})
    assert wrong_name.status_code == 200 and sent_code(phone) == code
    assert b.post("/password/reset/send", data={"username": "hb_banli", "phone": phone}).status_code == 429
    # … and does not replace the owner's code
    reset = a.post("/password/reset", data={"username": "hb_shouli", "phone": phone, "sms_code": code,
                                            "new_password": "Xin-Mima2026", "confirm": "Xin-Mima2026"})
    assert reset.status_code == 302


@pytest.mark.clock("2026-03-10 10:00")
def test_captcha_images_per_address_and_minute(sms, app):
    limit = app.config["CAPTCHA_PER_SOURCE_MINUTE"]
    browser = sms.client("10.99.3.1")
    for _ in range(limit):
        assert browser.get("/login/captcha.png").status_code == 200
    refused = browser.get("/login/captcha.png")
    assert refused.status_code == 429 and refused.mimetype == "text/plain"
    assert "图形验证码请求过于频繁" in refused.get_data(as_text=True)
    assert sms.client("10.99.3.2").get("/login/captcha.png").status_code == 200
    clock.advance(timedelta(seconds=61))
    ok = browser.get("/login/captcha.png")
    assert ok.status_code == 200 and ok.mimetype == "image/png"


def test_the_captcha_limiter_keeps_a_bounded_number_of_addresses():
    limiter = auth.SlidingWindow(timedelta(minutes=1), max_keys=3)
    now = clock.utcnow_naive()
    for n in range(10):
        assert limiter.allow(f"10.0.0.{n}", 1, now)
    assert len(limiter._events) == 3 and not limiter.allow("10.0.0.9", 1, now)
    assert limiter.allow("10.0.0.0", 1, now)  # forgotten: the least recently seen go first
    # a clock set back does not hold an address for the time in between
    assert limiter.allow("10.0.0.9", 1, now - timedelta(days=30))


@pytest.mark.clock("2026-03-10 10:00")
def test_the_verified_real_name_is_kept(sms):
    sms.set("sl_shouli", realname_level="none", id_number="", display_name="水利局受理（旧账号）")
    u = sms.user("sl_shouli")
    browser = sms.client()
    assert post_login(browser, "sl_shouli", PASSWORD).status_code == 302
    assert browser.post("/account/verify/send").status_code == 200
    assert done(db.session.scalar(select(SmsCode.source).where(SmsCode.phone == u.phone))) is not None
    result = browser.post("/account/verify", data={"real_name": " 沈文 ", "id_number": "11010519491231002x",
                                                   "sms_code": sent_code(u.phone)})
    assert result.status_code == 302
    u = sms.user("sl_shouli")
    assert (u.display_name, u.realname_level, u.id_number) == ("沈文", "offline", "11010519491231002X")



@pytest.mark.parametrize("hops, seen", [(1, "203.0.113.7"), (0, "10.0.0.1")])
def test_behind_a_proxy_the_forwarded_address_is_the_source(hops, seen):
    """PROXY_HOPS=1: visitors behind one nginx keep their own address, so one's abuse does not lock the others out;
    with 0 X-Forwarded-For is ignored (a client could otherwise pick any address it likes)."""
    from flask import request

    from app import create_app

    probe = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "TESTING": True, "SCHEDULER_ENABLED": False,
                        "PROXY_HOPS": hops})
    probe.add_url_rule("/_who", "who", lambda: request.remote_addr or "")
    response = probe.test_client().get("/_who", environ_base={"REMOTE_ADDR": "10.0.0.1"},
                                       headers={"X-Forwarded-For": "203.0.113.7"})
    assert response.get_data(as_text=True) == seen
