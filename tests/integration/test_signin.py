"""Sign-in (issue 13, 002 §2.1): captcha after a failure, lockout per account and per source address counted from
the sign-in log, SMS-code sign-in, forced password change, reset by SMS, the real-person gate of legacy department
accounts (002 §1.2), the sign-in log in each viewer's scope, and accounts refused on their next request."""
from __future__ import annotations

import contextvars
import itertools
import re
from datetime import UTC, timedelta
from types import SimpleNamespace

import pytest
from flask.testing import FlaskClient
from sqlalchemy import delete, select, update

from app.extensions import db
from app.models import SigninLog, SmsCode, SmsMessage, User
from app.services import signin, staff_accounts
from app.services.accounts import hash_password
from engine import clock
from tests.conftest import at, beijing

PASSWORD = "Demo@2026"
NEW_PASSWORD = "Xin-Mima2026"
_addresses = itertools.count(1)


class OwnContextClient(FlaskClient):
    """Each request in its own app context, as in production (under ctx every request would share the test's, and
    flask-login's cached g._login_user would carry a user from one client to the next; see test_web_security)."""

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture
def world(app, ctx, monkeypatch):
    """Clients from their own source addresses; the captcha's answer known to the test; afterwards the log, the
    codes and the demo users touched are put back, so no other test meets a captcha or a lock."""
    monkeypatch.setattr(signin, "captcha_text", lambda: "ABCD")
    touched: set[str] = set()

    def client(source: str | None = None):
        c = OwnContextClient(app, app.response_class, use_cookies=True)
        n = next(_addresses)
        c.environ_base["REMOTE_ADDR"] = source or f"10.77.{n // 250}.{n % 250 + 1}"
        c.environ_base["HTTP_USER_AGENT"] = "pytest-signin/1.0 " + "x" * 300
        return c

    def user(username: str) -> SimpleNamespace:
        touched.add(username)
        return done(snapshot(db.session.scalar(select(User).where(User.username == username))))

    def set_user(username: str, **values) -> None:
        touched.add(username)
        db.session.execute(update(User).where(User.username == username).values(**values))
        db.session.commit()

    yield SimpleNamespace(client=client, user=user, set=set_user)
    db.session.rollback()
    db.session.execute(delete(SigninLog))
    db.session.execute(delete(SmsCode))
    db.session.execute(delete(SmsMessage))
    demo_hash = hash_password(PASSWORD)
    for name in touched:
        u = db.session.scalar(select(User).where(User.username == name))
        u.password_hash, u.must_change_password, u.password_changed_at = demo_hash, False, None
        u.active, u.cancelled_at, u.realname_level = True, None, "verified"
    db.session.commit()


def post_login(client, username: str, password: str, captcha: str | None = None, **extra):
    data = {"username": username, "password": password, **extra}
    if captcha is not None:
        client.get("/login/captcha.png")
        data["captcha"] = captcha
    return client.post("/login", data=data)


def sms_login(client, phone: str, code: str, captcha: str | None = None):
    data = {"method": "sms", "phone": phone, "sms_code": code}
    if captcha is not None:
        client.get("/login/captcha.png")
        data["captcha"] = captcha
    return client.post("/login", data=data)


def snapshot(row) -> SimpleNamespace:
    return SimpleNamespace(**{c.key: getattr(row, c.key) for c in row.__table__.columns})


def done(value):
    """The test's own reads end their transaction at once: on SQLite every transaction is BEGIN IMMEDIATE (see
    app/__init__.py), and an open one would keep the requests' writes waiting."""
    db.session.rollback()
    return value


def log(username: str | None = None) -> list[SimpleNamespace]:
    stmt = select(SigninLog).order_by(SigninLog.id)
    if username:
        stmt = stmt.where(SigninLog.username == username)
    return done([snapshot(r) for r in db.session.scalars(stmt)])


def sent_code(phone: str) -> str:
    text = done(db.session.scalars(select(SmsMessage.text).where(SmsMessage.phone == phone)
                                   .order_by(SmsMessage.id.desc())).first())
    return re.search(r"验证码为 (\d{6})", text)[1]


def texted(phone: str) -> bool:
    return done(db.session.scalar(select(SmsMessage.id).where(SmsMessage.phone == phone).limit(1))) is not None


@pytest.mark.clock("2026-03-10 10:00")
def test_captcha_after_first_failure_single_use_and_case_insensitive(world):
    browser = world.client()
    first = browser.get("/login").get_data(as_text=True)
    assert 'id="captcha"' not in first and "同一账号15分钟内登录失败5次" in first
    wrong = post_login(browser, "shouli", "wrong-password")
    page = wrong.get_data(as_text=True)
    assert wrong.status_code == 401 and "用户名或密码错误" in page and 'id="captcha"' in page
    unknown = post_login(world.client(), "no_such_user", "wrong-password")  # reads the same: no enumeration
    assert unknown.status_code == 401 and "用户名或密码错误" in unknown.get_data(as_text=True)

    missing = post_login(browser, "shouli", PASSWORD)  # the right password, but no captcha
    assert missing.status_code == 401 and "请输入图形验证码" in missing.get_data(as_text=True)
    image = browser.get("/login/captcha.png")
    assert image.mimetype == "image/png" and image.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert "no-store" in image.headers["Cache-Control"]
    with browser.session_transaction() as s:
        assert "ABCD" not in str(s["signin_captcha"])  # only a keyed hash of the answer is in the cookie
    bad = browser.post("/login", data={"username": "shouli", "password": PASSWORD, "captcha": "ABCE"})
    assert bad.status_code == 401 and "图形验证码不正确" in bad.get_data(as_text=True)
    # the answer was spent by the wrong try: the right answer without a new image is refused too
    reused = browser.post("/login", data={"username": "shouli", "password": PASSWORD, "captcha": "ABCD"})
    assert reused.status_code == 401 and "图形验证码不正确" in reused.get_data(as_text=True)

    ok = post_login(browser, "shouli", PASSWORD, captcha="abcd")  # case-insensitive
    assert ok.status_code == 302
    # a sign-in starts the account's count again: a fresh address is not asked for a captcha
    assert post_login(world.client(), "shouli", PASSWORD).status_code == 302
    rows = log("shouli")
    assert [r.result for r in rows] == ["bad_password", "bad_captcha", "bad_captcha", "bad_captcha", "ok", "ok"]
    assert rows[0].method == "password" and rows[0].source.startswith("10.77.") and len(rows[0].user_agent) == 200
    assert rows[0].user_id == world.user("shouli").id
    assert log("no_such_user")[0].result == "unknown" and log("no_such_user")[0].user_id is None
    # an account's failure asks a captcha of a browser elsewhere too (shown after the first failure of the name)
    post_login(world.client(), "xh_banli", "wrong-password")
    elsewhere = post_login(world.client(), "xh_banli", PASSWORD)
    assert elsewhere.status_code == 401 and "请输入图形验证码" in elsewhere.get_data(as_text=True)
    post_login(world.client(), "u" * 80, "x")
    assert log("u" * 50)[0].result == "unknown"  # the typed name, truncated


@pytest.mark.clock("2026-03-10 11:00")
def test_account_lockout_unlock_time_and_unlock(world):
    browser = world.client()
    assert post_login(browser, "banli", "wrong-1").status_code == 401
    for n in range(2, 6):
        assert post_login(world.client(), "banli", f"wrong-{n}", captcha="ABCD").status_code == 401
    locked = post_login(browser, "banli", PASSWORD, captcha="ABCD")  # the right password is not even checked
    text = locked.get_data(as_text=True)
    assert locked.status_code == 429
    assert re.search(r"账号已锁定，请于 11:1[56] 后再试或通过短信验证码找回密码", text), text
    assert log("banli")[-1].result == "locked"
    # an unknown name locks exactly as a real one (no enumeration by lockout)
    for n in range(5):
        post_login(world.client(), "ghost_user", f"w{n}", captcha="ABCD" if n else None)
    ghost = post_login(world.client(), "ghost_user", "w", captcha="ABCD")
    assert ghost.status_code == 429 and "账号已锁定" in ghost.get_data(as_text=True)

    at("2026-03-10 11:14")
    assert post_login(world.client(), "banli", PASSWORD, captcha="ABCD").status_code == 429  # 15 min after the last
    phone = world.user("banli").phone
    assert sms_login(world.client(), phone, "000000", captcha="ABCD").status_code == 429  # SMS sign-in locked too
    at("2026-03-10 11:16")
    fresh = world.client()
    assert post_login(fresh, "banli", PASSWORD).status_code == 302  # unlocked; failures left the window: no captcha
    assert [r.result for r in log("banli")].count("locked") == 2


@pytest.mark.clock("2026-03-10 10:20")
def test_lock_needs_the_failures_within_the_window(world):
    """Five failures spread over more than 15 minutes do not lock; five within 15 minutes lock until 15 minutes
    after the last, even when the window has moved on past the first of them."""
    uid = world.user("jiancha").id

    def fail(*moments: str) -> None:
        for moment in moments:
            db.session.add(SigninLog(at=beijing(moment).astimezone(UTC).replace(tzinfo=None), user_id=uid,
                                     username="jiancha", source="10.3.3.3", method="password",
                                     result="bad_password"))
        db.session.commit()

    fail("2026-03-10 10:00", "2026-03-10 10:04", "2026-03-10 10:08", "2026-03-10 10:12", "2026-03-10 10:16")
    at("2026-03-10 10:17")
    g = signin.gate(db.session.get(User, uid), "jiancha", "10.4.4.4")
    assert g.locked_until is None and g.captcha  # 16 minutes from first to last: no lock, but a captcha
    fail("2026-03-10 10:17")  # now 10:04…10:17: five within the window
    at("2026-03-10 10:31")  # the window (10:16–10:31) holds two of them; the lock runs to 10:32
    g = signin.gate(db.session.get(User, uid), "jiancha", "10.4.4.4")
    assert g.whose == "account" and signin.beijing_minute(g.locked_until) == "10:32"
    at("2026-03-10 10:32")
    assert signin.gate(db.session.get(User, uid), "jiancha", "10.4.4.4").locked_until is None
    db.session.rollback()


@pytest.mark.clock("2026-03-10 14:00")
def test_source_lockout_counts_every_name_from_one_address(world):
    source = "10.66.0.1"
    for n in range(20):
        response = post_login(world.client(source), f"nobody{n}", "wrong", captcha="ABCD" if n else None)
        assert response.status_code == 401
    refused = post_login(world.client(source), "zhengce", PASSWORD, captcha="ABCD")
    text = refused.get_data(as_text=True)
    assert refused.status_code == 429 and re.search(r"当前网络地址登录失败次数过多，已暂时锁定，请于 14:1[56] 后再试", text)
    assert 'id="captcha"' in world.client(source).get("/login").get_data(as_text=True)  # the address asks a captcha
    assert post_login(world.client("10.66.0.2"), "zhengce", PASSWORD).status_code == 302  # other addresses: not
    at("2026-03-10 14:16")
    assert post_login(world.client(source), "zhengce", PASSWORD).status_code == 302


@pytest.mark.clock("2026-03-10 09:00")
def test_sms_signin_and_send_code(world):
    browser = world.client()
    phone = world.user("xh_shouli").phone
    page = browser.get("/login?tab=sms").get_data(as_text=True)
    assert "短信验证码登录" in page and "开发环境：短信见 系统管理 › 短信发件箱" in page
    sent = browser.post("/login/sms/send", data={"phone": phone})
    assert sent.status_code == 200 and "60秒后可重新获取" in sent.get_data(as_text=True)
    again = browser.post("/login/sms/send", data={"phone": phone})
    assert again.status_code == 429 and "秒后再获取" in again.get_data(as_text=True)
    # an unbound number gets the same answer and no SMS
    assert "60秒后可重新获取" in browser.post("/login/sms/send", data={"phone": "13899998888"}).get_data(as_text=True)
    assert not texted("13899998888")
    bad_format = world.client().post("/login/sms/send", data={"phone": "12345"})
    assert bad_format.status_code == 422 and "手机号码" in bad_format.get_data(as_text=True)

    code = sent_code(phone)
    wrong = sms_login(browser, phone, "000000" if code != "000000" else "111111")
    assert wrong.status_code == 401 and "短信验证码不正确" in wrong.get_data(as_text=True)
    no_captcha = sms_login(browser, phone, code)
    assert no_captcha.status_code == 401 and "请输入图形验证码" in no_captcha.get_data(as_text=True)
    ok = sms_login(browser, phone, code, captcha="ABCD")
    assert ok.status_code == 302
    assert browser.get("/account/security").status_code == 200
    assert [(r.method, r.result) for r in log(phone)] == [("sms", "bad_code"), ("sms", "bad_captcha"), ("sms", "ok")]
    assert all(r.user_id == world.user("xh_shouli").id for r in log(phone))
    # the code is spent
    assert sms_login(world.client(), phone, code, captcha="ABCD").status_code == 401


@pytest.mark.clock("2026-03-10 10:00")
def test_forced_password_change_ends_other_sessions_keeps_this_one(world):
    other = world.client()
    assert post_login(other, "sfg_banli", PASSWORD).status_code == 302
    world.set("sfg_banli", must_change_password=True)

    browser = world.client()
    assert post_login(browser, "sfg_banli", PASSWORD).status_code == 302
    for path in ("/reviewer/", "/tasks/", "/account/security"):
        response = browser.get(path)
        assert response.status_code == 302 and response.headers["Location"] == "/account/password", path
    assert browser.get("/static/site.css").status_code == 200
    page = browser.get("/account/password").get_data(as_text=True)
    assert "请先修改密码" in page
    wrong_old = browser.post("/account/password", data={"old_password": "nope", "new_password": NEW_PASSWORD,
                                                        "confirm": NEW_PASSWORD})
    assert wrong_old.status_code == 422 and "原密码不正确" in wrong_old.get_data(as_text=True)
    weak = browser.post("/account/password", data={"old_password": PASSWORD, "new_password": "abcdefgh",
                                                   "confirm": "abcdefgh"})
    assert weak.status_code == 422 and "至少三类" in weak.get_data(as_text=True)
    mismatch = browser.post("/account/password", data={"old_password": PASSWORD, "new_password": NEW_PASSWORD,
                                                       "confirm": NEW_PASSWORD + "x"})
    assert mismatch.status_code == 422 and "不一致" in mismatch.get_data(as_text=True)
    done = browser.post("/account/password", data={"old_password": PASSWORD, "new_password": NEW_PASSWORD,
                                                   "confirm": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"] == "/account/security"
    assert browser.get("/reviewer/").status_code == 200  # this browser stays signed in
    assert other.get("/reviewer/").status_code == 302  # the session from before the change ended
    assert not world.user("sfg_banli").must_change_password
    assert post_login(world.client(), "sfg_banli", NEW_PASSWORD).status_code == 302


@pytest.mark.clock("2026-03-10 10:00")
def test_reset_by_sms_ends_every_session(world):
    signed_in = world.client()
    assert post_login(signed_in, "hb_shouli", PASSWORD).status_code == 302
    phone = world.user("hb_shouli").phone
    browser = world.client()
    assert "找回密码" in browser.get("/password/reset").get_data(as_text=True)
    # a wrong pair is answered like a right one and sends nothing
    browser.post("/password/reset/send", data={"username": "hb_shouli", "phone": "13899997777"})
    assert not texted("13899997777")
    sent = browser.post("/password/reset/send", data={"username": "hb_shouli", "phone": phone})
    assert sent.status_code == 200 and "用户名与手机号匹配" in sent.get_data(as_text=True)
    code = sent_code(phone)
    weak = browser.post("/password/reset", data={"username": "hb_shouli", "phone": phone, "sms_code": code,
                                                 "new_password": "short", "confirm": "short"})
    assert weak.status_code == 422 and "8–64位" in weak.get_data(as_text=True)
    other_name = browser.post("/password/reset", data={"username": "hb_banli", "phone": phone, "sms_code": code,
                                                       "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert other_name.status_code == 422
    done = browser.post("/password/reset", data={"username": "hb_shouli", "phone": phone, "sms_code": code,
                                                 "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"] == "/login"
    assert signed_in.get("/reviewer/").status_code == 302  # every session ended
    assert post_login(world.client(), "hb_shouli", NEW_PASSWORD).status_code == 302
    assert post_login(world.client(), "hb_shouli", PASSWORD).status_code == 401
    reused = browser.post("/password/reset", data={"username": "hb_shouli", "phone": phone, "sms_code": code,
                                                   "new_password": NEW_PASSWORD + "1", "confirm": NEW_PASSWORD + "1"})
    assert reused.status_code == 422 and "已失效" in reused.get_data(as_text=True)


@pytest.mark.clock("2026-03-10 10:00")
def test_reset_clears_a_lock(world):
    for n in range(5):
        post_login(world.client(), "sl_banli", "wrong", captcha="ABCD" if n else None)
    assert post_login(world.client(), "sl_banli", PASSWORD, captcha="ABCD").status_code == 429
    u = world.user("sl_banli")
    browser = world.client()
    browser.post("/password/reset/send", data={"username": "sl_banli", "phone": u.phone})
    done = browser.post("/password/reset", data={"username": "sl_banli", "phone": u.phone,
                                                 "sms_code": sent_code(u.phone), "new_password": NEW_PASSWORD,
                                                 "confirm": NEW_PASSWORD})
    assert done.status_code == 302
    clock.advance(timedelta(seconds=1))
    assert post_login(world.client(), "sl_banli", NEW_PASSWORD).status_code == 302


@pytest.mark.clock("2026-03-10 10:00")
def test_legacy_department_account_verifies_the_real_person_first(world):
    world.set("sl_shouli", realname_level="none", id_number="")
    world.set("qiye", realname_level="none")  # 002 §1.2 is about department accounts: an applicant is not sent there
    u = world.user("sl_shouli")
    assert post_login(world.client(), "qiye", PASSWORD).status_code == 302
    qiye = world.client()
    post_login(qiye, "qiye", PASSWORD)
    assert qiye.get("/enterprise/").status_code == 200

    browser = world.client()
    assert post_login(browser, "sl_shouli", PASSWORD).status_code == 302
    for path in ("/", "/reviewer/", "/account/security"):
        response = browser.get(path)
        assert response.status_code == 302 and response.headers["Location"] == "/account/verify", path
    page = browser.get("/account/verify").get_data(as_text=True)
    assert "尚未接入省实名认证服务" in page and u.phone[-4:] in page and u.phone not in page
    bad_id = browser.post("/account/verify", data={"real_name": "沈文", "id_number": "110105194912310021",
                                                   "sms_code": "123456"})
    assert bad_id.status_code == 422 and "身份证号码" in bad_id.get_data(as_text=True)
    assert browser.post("/account/verify/send").status_code == 200
    code = sent_code(u.phone)
    no_code = browser.post("/account/verify", data={"real_name": "沈文", "id_number": "11010519491231002x",
                                                    "sms_code": "999999" if code != "999999" else "888888"})
    assert no_code.status_code == 422 and "短信验证码不正确" in no_code.get_data(as_text=True)
    done = browser.post("/account/verify", data={"real_name": "沈文", "id_number": "11010519491231002x",
                                                 "sms_code": code})
    assert done.status_code == 302
    u = world.user("sl_shouli")
    assert (u.realname_level, u.id_number) == ("offline", "11010519491231002X") and u.realname_at is not None
    assert browser.get("/reviewer/").status_code == 200
    assert browser.get("/account/verify").status_code == 302  # nothing more to verify


def _log_rows(world) -> None:
    now = clock.utcnow_naive()
    names = ["shouli", "sfg_shouli", "sheng_admin", "gz_admin", "jm_admin", "qiye"]
    ids = {name: world.user(name).id for name in names}
    for name in names:
        db.session.add(SigninLog(at=now, user_id=ids[name], username=name, source="10.1.1.1", method="password",
                                 result="bad_password"))
    db.session.add(SigninLog(at=now, user_id=None, username="nobody_at_all", source="10.1.1.1", method="password",
                             result="unknown"))
    db.session.commit()


def _seen(client, **query) -> set[str]:
    response = client.get("/admin/signins", query_string={"result": "bad_password", **query})
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    return {name for name in ("shouli", "sfg_shouli", "sheng_admin", "gz_admin", "jm_admin", "qiye", "nobody_at_all")
            if re.search(rf">{name}<", text)}


@pytest.mark.clock("2026-03-10 10:00")
def test_signin_log_scope(world):
    admin, jm, sheng, plain = world.client(), world.client(), world.client(), world.client()
    for c, name in ((admin, "admin"), (jm, "jm_admin"), (sheng, "sheng_admin"), (plain, "shouli")):
        assert post_login(c, name, PASSWORD).status_code == 302
    _log_rows(world)
    assert _seen(admin) == {"shouli", "sfg_shouli", "sheng_admin", "gz_admin", "jm_admin", "qiye"}
    assert "nobody_at_all" in admin.get("/admin/signins", query_string={"result": "unknown"}).get_data(as_text=True)
    assert _seen(jm) == {"shouli", "sfg_shouli"}  # 江门 and its counties; not the province, 广州 or applicants
    assert _seen(sheng) == {"sheng_admin", "gz_admin", "jm_admin"}  # provincial departments and 市州管理员
    assert plain.get("/admin/signins").status_code == 403
    own = plain.get("/account/security").get_data(as_text=True)
    assert own.count("密码错误") == 1 and "登录日志" in own  # its own failure (and its own sign-in)
    # search by name and by display name
    assert _seen(admin, q="sfg_") == {"sfg_shouli"}
    assert _seen(admin, q="广州") == {"gz_admin"}
    assert "jm_admin" not in jm.get("/admin/signins", query_string={"q": "gz_admin"}).get_data(as_text=True)
    # paging: bounded pages, newest first
    admin_user = db.session.scalar(select(User).where(User.username == "admin"))
    page1 = signin.log_page(admin_user, own=False, per_page=3)
    page2 = signin.log_page(admin_user, own=False, per_page=3, page=2)
    assert len(page1.rows) == 3 and page1.has_next and page2.rows[0][0].id < page1.rows[-1][0].id


def test_log_scope_sql_matches_user_region(world, app):
    """The SQL scope filter (the sign-in log, 用户管理) says what staff_accounts.user_region says, for every account
    and admin."""
    users = list(db.session.scalars(select(User)).unique())
    for admin in (u for u in users if staff_accounts.is_admin(u)):
        codes = staff_accounts.scope_regions(admin)
        if codes is None:
            continue
        expected = {u.id for u in users if staff_accounts.user_region(u) in codes}
        stmt = staff_accounts.scope_join(select(User.id), codes)
        assert set(db.session.scalars(stmt)) == expected, admin.username


@pytest.mark.clock("2026-03-10 10:00")
def test_cancelled_or_disabled_user_refused_on_next_request(world):
    browser, second = world.client(), world.client()
    assert post_login(browser, "zr_shouli", PASSWORD).status_code == 302
    assert post_login(second, "zr_banli", PASSWORD).status_code == 302
    assert browser.get("/reviewer/").status_code == 200
    world.set("zr_shouli", cancelled_at=clock.utcnow_naive())
    world.set("zr_banli", active=False)
    for c in (browser, second):
        response = c.get("/reviewer/")
        assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    refused = post_login(world.client(), "zr_shouli", PASSWORD)
    assert refused.status_code == 403 and "已注销" in refused.get_data(as_text=True)
    assert log("zr_shouli")[-1].result == "inactive"


class FakeCA:
    """A stand-in for a province's CA-certificate sign-in: vouches for ?cert=<username>."""

    key = "ca"
    label = "CA数字证书登录"

    def start(self, callback_url: str) -> str:
        return f"https://ca.example.invalid/sign?back={callback_url}"

    def finish(self, args):
        return args.get("cert") or None


@pytest.mark.clock("2026-03-10 10:00")
def test_signin_provider_interface(world, app, monkeypatch):
    page = world.client().get("/login").get_data(as_text=True)
    assert "CA数字证书登录、广东省统一身份认证登录：接口已预留，待接入本省服务后启用" in page
    assert 'id="providers"' not in page and world.client().get("/login/with/ca").status_code == 404
    monkeypatch.setitem(app.config, "SIGNIN_PROVIDERS", ["tests.integration.test_signin:FakeCA"])
    browser = world.client()
    assert "/login/with/ca" in browser.get("/login").get_data(as_text=True)
    start = browser.get("/login/with/ca")
    assert start.status_code == 302 and start.headers["Location"].startswith("https://ca.example.invalid/")
    assert browser.get("/login/with/ca/callback").status_code == 401
    assert browser.get("/login/with/ca/callback?cert=shouli").status_code == 302
    assert browser.get("/reviewer/").status_code == 200
    assert [(r.method, r.result) for r in log()][-1] == ("ca", "ok")


def test_an_empty_field_is_named_and_not_counted(client):
    """An empty user name or password is a 422 naming the field; it is no attempt, so it never locks anything."""
    for _ in range(6):
        response = client.post("/login", data={"username": "", "password": ""})
        assert response.status_code == 422
        page = response.data.decode()
        assert "请填写「用户名」" in page and "请填写「密码」" in page
    assert client.post("/login", data={"username": "qiye", "password": ""}).status_code == 422
    assert db.session.query(SigninLog).count() == 0
