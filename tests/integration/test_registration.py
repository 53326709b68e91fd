"""Applicants register (issue 13, 000 §1.1): individual and legal person, SMS code, ID and USCC checks, the
licence and ID-card scans, 企业信息, change of phone, cancellation."""
from __future__ import annotations

import io
import itertools
import re

import pytest
from flask import g, request_started
from sqlalchemy import delete, select, text, update
from stdnum.cn import ric, uscc

from app.extensions import db
from app.models import AgentAuthorization, Enterprise, SigninLog, SmsCode, SmsMessage, User, UserRole
from app.seed import DEMO_USERS, ENTERPRISES
from tests.conftest import MUTABLE_TABLES, at, login
from tests.integration.approval_helpers import pdf_bytes
from tests.integration.helpers import field_errors

PASSWORD = "Reg!ster2026"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64 + b"IEND\xaeB`\x82"
_serial = itertools.count(1)


def id_number(born: str = "19850312") -> str:
    """A valid resident ID number (GB 11643 check digit), different each call."""
    body = f"110105{born}{next(_serial) % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")  # it takes a number with a check digit and ignores that


def credit_code() -> str:
    body = f"91440703MA{next(_serial) % 100000:05d}AB"[:17]
    return body + uscc.calc_check_digit(body)


def new_phone() -> str:
    return f"1378888{next(_serial) % 10000:04d}"


def sent_code(phone: str) -> str:
    text_ = db.session.scalars(select(SmsMessage.text).where(SmsMessage.phone == phone)
                               .order_by(SmsMessage.id.desc())).first()
    return re.search(r"验证码为 (\d{6})", text_)[1]


@pytest.fixture
def accounts(ctx, app):
    """Seed users stay as they are; what a test registers or grants is removed afterwards.

    Several test clients (a legal person and their 经办人 signed in at once) share the test's app context, where
    flask-login caches the signed-in user in `g`: each request forgets it, so it loads its own client's user."""
    seed_users = {u[0] for u in DEMO_USERS}
    seed_usccs = {e[0] for e in ENTERPRISES}

    def forget(sender, **extra):  # noqa: ANN001
        g.pop("_login_user", None)

    request_started.connect(forget, app)
    yield
    request_started.disconnect(forget, app)
    db.session.rollback()
    db.session.execute(update(Enterprise).where(Enterprise.uscc.not_in(seed_usccs))
                       .values(licence_sha256=None, legal_rep_id_sha256=None))  # before the uploads go
    for table in MUTABLE_TABLES:  # projects and trails before the enterprises and users they name
        db.session.execute(text(f"DELETE FROM {table}"))
    new_users = select(User.id).where(User.username.not_in(seed_users))
    jingban = db.session.scalar(select(User).where(User.username == "jingban"))
    seed_grant = db.session.scalar(select(AgentAuthorization.id).where(AgentAuthorization.agent_id == jingban.id)
                                   .order_by(AgentAuthorization.id))
    db.session.execute(delete(AgentAuthorization).where(AgentAuthorization.id != seed_grant))
    db.session.execute(update(AgentAuthorization).where(AgentAuthorization.id == seed_grant)
                       .values(revoked_at=None, revoked_by=None, expires_at=None, scope="all", project_ids=[]))
    db.session.execute(delete(UserRole).where(UserRole.user_id.in_(new_users)))
    db.session.execute(update(User).where(User.username.not_in(seed_users)).values(enterprise_id=None))
    db.session.execute(delete(User).where(User.username.not_in(seed_users)))
    db.session.execute(delete(Enterprise).where(Enterprise.uscc.not_in(seed_usccs)))
    db.session.execute(delete(SmsCode))
    db.session.execute(delete(SigninLog))  # a refused sign-in here must not put a captcha before the next test
    # as seeded: the demo 经办人 acts for nobody until they choose (切换企业)
    db.session.execute(update(User).where(User.username == "jingban").values(enterprise_id=None))
    db.session.commit()


def ask_code(client, kind: str, phone: str):
    return client.post("/register", data={"kind": kind, "phone": phone, "action": "send_code"})


def register_individual(client, name: str = "陈个人", username: str | None = None, ask: bool = True,
                        **overrides) -> tuple:
    phone = overrides.pop("phone", None) or new_phone()
    if ask:
        assert ask_code(client, "individual", phone).status_code == 200
    data = {"kind": "individual", "real_name": name, "id_number": id_number(), "phone": phone,
            "sms_code": sent_code(phone), "username": username or f"person{next(_serial)}", "password": PASSWORD,
            "password2": PASSWORD, "action": "register"}
    data.update(overrides)
    return client.post("/register", data=data), data


def register_enterprise(client, name: str = "江门市新注册科技有限公司", licence: bytes | None = None,
                        id_card: bytes | None = PNG, **overrides) -> tuple:
    phone = overrides.pop("phone", None) or new_phone()
    assert ask_code(client, "enterprise", phone).status_code == 200
    data = {"kind": "enterprise", "enterprise_name": name, "uscc": credit_code(), "legal_rep": "黄法人",
            "legal_rep_id": id_number("19700101"), "address": "江门市蓬江区建设路1号", "phone": phone,
            "sms_code": sent_code(phone), "username": f"corp{next(_serial)}", "password": PASSWORD,
            "password2": PASSWORD, "action": "register"}
    data.update(overrides)
    files = {}
    if licence is not False:
        files["licence"] = (io.BytesIO(pdf_bytes("licence") if licence is None else licence), "营业执照.pdf")
    if id_card is not False:
        files["id_card"] = (io.BytesIO(id_card), "身份证.png")
    return client.post("/register", data={**data, **files}, content_type="multipart/form-data"), data


def user_named(username: str) -> User | None:
    db.session.expire_all()
    return db.session.scalars(select(User).where(User.username == username)).unique().first()


def test_an_individual_registers_with_a_code_sent_to_their_mobile(client, accounts):
    response, data = register_individual(client)
    body = response.data.decode()
    assert response.status_code == 200 and "注册成功" in body, body
    assert "尚未接入省实名认证服务" in body  # the verifier's honest word on what it checked
    user = user_named(data["username"])
    assert (user.kind, user.roles, user.enterprise_id, user.realname_level) == ("individual", {"applicant"}, None,
                                                                                "offline")
    assert user.display_name == "陈个人" and user.phone == data["phone"] and user.id_number == data["id_number"]
    login(client, data["username"], PASSWORD)
    # acting for nobody: 我的项目 is the page to choose an enterprise
    assert client.get("/enterprise/").headers["Location"].endswith("/account/acting")


def test_the_register_page_shows_the_rules_and_the_verifier(client, accounts):
    page = client.get("/register?kind=enterprise").data.decode()
    assert "含大写字母、小写字母、数字、符号中的至少三类" in page and "尚未接入省实名认证服务" in page
    assert 'name="licence"' in page and 'name="id_card"' in page


@pytest.mark.clock("2026-03-10 10:00")
def test_a_wrong_or_expired_code_writes_nothing(client, accounts):
    phone = new_phone()
    ask_code(client, "individual", phone)
    wrong = f"{(int(sent_code(phone)) + 1) % 10**6:06d}"
    response, data = register_individual(client, username="wrongcode", sms_code=wrong, phone=phone, ask=False)
    assert response.status_code == 422 and "不正确" in field_errors(response.data.decode())["sms_code"]
    assert user_named("wrongcode") is None

    phone = new_phone()
    ask_code(client, "individual", phone)
    code = sent_code(phone)
    at("2026-03-10 10:06")  # codes live five minutes
    response, _ = register_individual(client, username="latecode", phone=phone, ask=False, sms_code=code)
    assert response.status_code == 422 and "已失效" in field_errors(response.data.decode())["sms_code"]
    assert response.status_code == 422 and "sms_code" in field_errors(response.data.decode())
    assert user_named("latecode") is None


def test_a_resend_within_a_minute_is_refused_with_the_wait(client, accounts):
    phone = new_phone()
    assert ask_code(client, "individual", phone).status_code == 200
    again = ask_code(client, "individual", phone)
    assert again.status_code == 429 and "秒后" in again.data.decode()


def test_the_background_send_code_endpoint_answers_json(client, accounts):
    phone = new_phone()
    sent = client.post("/register/send-code", data={"phone": phone}, headers={"Accept": "application/json"})
    assert sent.status_code == 200 and sent.json["wait"] == 60 and phone in sent.json["message"]
    assert sent_code(phone)
    again = client.post("/register/send-code", data={"phone": phone}, headers={"Accept": "application/json"})
    assert again.status_code == 429 and "秒后" in again.json["message"]
    bad = client.post("/register/send-code", data={"phone": "12345"}, headers={"Accept": "application/json"})
    assert bad.status_code == 422 and "手机号码" in bad.json["errors"]["phone"]
    taken = client.post("/register/send-code", data={"phone": "13900000000"})  # qiye's number
    assert taken.status_code == 409 and "已注册" in taken.json["errors"]["phone"]


def test_bad_fields_are_each_named_and_nothing_is_written(client, accounts):
    response, data = register_individual(client, name="李", id_number="110105198503120011", username="9bad",
                                         password="short", password2="short")
    errors = field_errors(response.data.decode())
    assert response.status_code == 422
    assert "身份证号码" in errors["id_number"]
    assert "用户名" in errors["username"] and "密码" in errors["password"]
    assert user_named("9bad") is None
    response, _ = register_individual(client, id_number="110105198513120019", username="badid")
    assert "身份证号码" in field_errors(response.data.decode())["id_number"]
    assert user_named("badid") is None


def test_an_enterprise_registers_once_with_its_scans(client, accounts):
    response, data = register_enterprise(client)
    assert response.status_code == 200 and "注册成功" in response.data.decode(), response.data.decode()
    user = user_named(data["username"])
    enterprise = user.enterprise
    assert (user.kind, user.roles, user.display_name) == ("enterprise", {"applicant"}, "黄法人")
    assert (enterprise.uscc, enterprise.legal_rep, enterprise.legal_rep_id) == (data["uscc"], "黄法人",
                                                                               data["legal_rep_id"])
    assert enterprise.licence_sha256 and enterprise.legal_rep_id_sha256 and enterprise.registered_at

    again, second = register_enterprise(client, uscc=data["uscc"])
    message = field_errors(again.data.decode())["uscc"]
    assert again.status_code == 422 and "只能注册一次" in message and "授权" in message
    assert user_named(second["username"]) is None
    seeded, _ = register_enterprise(client, uscc="91430300MA4RTM5T6H")  # the demo enterprise has its legal person
    assert "只能注册一次" in field_errors(seeded.data.decode())["uscc"]
    bad, _ = register_enterprise(client, uscc="91440703MA4UJ1234X")
    assert "统一社会信用代码" in field_errors(bad.data.decode())["uscc"]


def test_the_scans_are_checked_by_content_and_size(client, accounts, app):
    html = b"<html><script>alert(1)</script></html>"
    response, data = register_enterprise(client, licence=html, id_card=False)
    errors = field_errors(response.data.decode())
    assert response.status_code == 422 and "只接受" in errors["licence"] and "请上传" in errors["id_card"]
    assert user_named(data["username"]) is None
    assert db.session.scalar(select(Enterprise.id).where(Enterprise.uscc == data["uscc"])) is None
    broken, _ = register_enterprise(client, licence=b"%PDF-1.4\ngarbage")
    assert "无法读取" in field_errors(broken.data.decode())["licence"]
    huge, _ = register_enterprise(client, id_card=PNG[:-12] + b"\x00" * (10 * 1024 * 1024) + PNG[-12:])
    assert "10MB" in field_errors(huge.data.decode())["id_card"]


def test_the_scans_are_shown_to_the_owner_only(client, accounts):
    _, data = register_enterprise(client)
    login(client, data["username"], PASSWORD)
    page = client.get("/enterprise/info").data.decode()
    assert data["uscc"] in page and "黄法人" in page
    scan = client.get("/enterprise/info/id_card")
    assert scan.status_code == 200 and scan.data == PNG and scan.headers["Content-Disposition"].startswith("attachment")
    assert client.get("/enterprise/info/licence").data.startswith(b"%PDF")
    client.post("/logout")
    login(client, "jingban")  # an individual has no enterprise scans to see
    assert client.get("/enterprise/info/licence").status_code == 403
    client.post("/logout")
    login(client, "qiye2")  # another legal person sees its own (none uploaded), never this one's
    assert client.get("/enterprise/info/licence").status_code == 404


@pytest.mark.clock("2026-03-10 10:00")
def test_a_phone_change_needs_the_old_number_then_the_new_one(client, accounts):
    _, data = register_individual(client)
    login(client, data["username"], PASSWORD)
    new = new_phone()
    # the new number first is refused: the old one must be confirmed
    refused = client.post("/account/phone", data={"action": "change", "new_phone": new, "new_code": "123456"})
    assert refused.status_code == 409
    client.post("/account/phone", data={"action": "send_old"})
    wrong = client.post("/account/phone", data={"action": "confirm_old", "old_code": "000000"})
    assert wrong.status_code == 422 and "old_code" in field_errors(wrong.data.decode())
    at("2026-03-10 10:02")
    client.post("/account/phone", data={"action": "send_old"})
    assert client.post("/account/phone", data={"action": "confirm_old",
                                               "old_code": sent_code(data["phone"])}).status_code == 200
    taken = client.post("/account/phone", data={"action": "send_new", "new_phone": "13900000000"})  # qiye's
    assert taken.status_code == 409 and "new_phone" in field_errors(taken.data.decode())
    client.post("/account/phone", data={"action": "send_new", "new_phone": new})
    done = client.post("/account/phone", data={"action": "change", "new_phone": new, "new_code": sent_code(new)})
    assert done.status_code == 302
    assert user_named(data["username"]).phone == new


def test_a_legal_person_cancels_after_its_cases_end_and_its_agents_go(client, accounts, app):
    from tests.integration.test_agents import authorise

    _, corp = register_enterprise(client, name="江门市将注销有限公司")
    _, person = register_individual(client, name="周经办")
    login(client, corp["username"], PASSWORD)
    authorise(client, person["username"], "周经办")
    from tests.integration.helpers import code_form

    response = client.post("/enterprise/code/new", data=code_form(unit_uscc=corp["uscc"]))
    assert response.status_code == 302, response.data.decode()
    from app.models import Project
    from tests.integration.helpers import submit_filing

    project = db.session.scalars(select(Project).order_by(Project.id.desc())).first()
    submit_filing(client, project.code)
    wrong = client.post("/account/cancel", data={"password": "nope"})
    assert wrong.status_code == 422 and "登录密码" in field_errors(wrong.data.decode())["password"]
    refused = client.post("/account/cancel", data={"password": PASSWORD})
    assert refused.status_code == 409 and project.name in refused.data.decode() and "待受理" in refused.data.decode()

    from app.models import FilingApplication

    db.session.execute(update(FilingApplication).values(status="issued"))  # as if the authority had finished
    db.session.commit()
    other = app.test_client()
    login(other, corp["username"], PASSWORD)  # a second session of the same account
    done = client.post("/account/cancel", data={"password": PASSWORD})
    assert done.status_code == 302 and done.headers["Location"].endswith("/login")
    user = user_named(corp["username"])
    assert not user.active and user.cancelled_at is not None
    assert other.get("/enterprise/").status_code == 302  # every session ended
    grant = db.session.scalar(select(AgentAuthorization).where(AgentAuthorization.enterprise_id == user.enterprise_id))
    assert grant.revoked_at is not None
    assert client.post("/login", data={"username": corp["username"], "password": PASSWORD}).status_code != 302
    # the enterprise may register again now that its legal-person account is gone
    again, second = register_enterprise(client, uscc=corp["uscc"])
    assert again.status_code == 200, again.data.decode()
    assert user_named(second["username"]).enterprise_id == user.enterprise_id


def test_an_individual_cancels_and_their_authorisations_end(client, accounts):
    _, person = register_individual(client, name="吴个人")
    login(client, "qiye")
    from tests.integration.test_agents import authorise

    authorise(client, person["username"], "吴个人")
    client.post("/logout")
    login(client, person["username"], PASSWORD)
    assert client.post("/account/cancel", data={"password": PASSWORD}).status_code == 302
    user = user_named(person["username"])
    assert not user.active and user.enterprise_id is None
    assert all(g.revoked_at is not None for g in db.session.scalars(
        select(AgentAuthorization).where(AgentAuthorization.agent_id == user.id)))
