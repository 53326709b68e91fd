"""Reviewer accounts over HTTP (issue 13, 002): a department user applies with item permissions, the administrator
whose scope holds the unit approves or rejects once, changes and cancellations go through the same review, and
what was granted is what the inbox rule (access.may_handle) uses."""
from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import date, timedelta

import lxml.html
import pytest
from sqlalchemy import delete, func, select
from stdnum.cn import ric

from app.extensions import db
from app.models import (
    AccountRequest,
    ApprovalItem,
    Department,
    HumanTask,
    Notification,
    SigninLog,
    SmsCode,
    SmsMessage,
    StudioChange,
    User,
    UserItemRole,
    UserRole,
)
from app.services import access, catalogue_admin, inbox
from tests.conftest import BACKEND, login
from tests.integration.approval_helpers import declare, item_task, new_project
from tests.integration.helpers import field_errors
from tests.integration.test_concurrency import _race

PASSWORD = "Shenpi#2026x"


def user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def department(name: str) -> Department:
    return db.session.scalar(select(Department).where(Department.name == name))


def _marks() -> tuple[int, int, int]:
    return tuple(db.session.scalar(select(func.max(column))) or 0
                 for column in (User.id, AccountRequest.id, SmsMessage.id))  # type: ignore[return-value]


def _cleanup(last_user: int, last_request: int, last_sms: int) -> None:
    db.session.rollback()
    db.session.execute(delete(AccountRequest).where(AccountRequest.id > last_request))
    db.session.execute(delete(SmsMessage).where(SmsMessage.id > last_sms))
    for model in (UserItemRole, UserRole, Notification, SigninLog):
        db.session.execute(delete(model).where(model.user_id > last_user))
    db.session.execute(delete(User).where(User.id > last_user))
    db.session.commit()


@pytest.fixture
def fresh(ctx) -> Iterator[None]:
    """Accounts and requests a test creates are removed after it, so the seeded world stays as it was."""
    marks = _marks()
    yield
    _cleanup(*marks)


@pytest.fixture
def isolated(app) -> Iterator:
    """Clients whose requests each run in their own app context, as in production: under `ctx` flask-login's cached
    g._login_user would carry one client's user into another's request (see test_web_security.browser)."""
    with app.app_context():
        marks = _marks()
    yield app.test_client
    with app.app_context():
        _cleanup(*marks)


def id_number() -> str:
    """A valid resident ID number of someone born 1995–2004 in 江海区 (a code stdnum knows from 1995 on), different for
    every applicant (one account a person)."""
    born = date(1995, 1, 1) + timedelta(days=uuid.uuid4().int % 3650)
    body = f"440704{born:%Y%m%d}{uuid.uuid4().int % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")  # stdnum takes the whole number, check digit slot included


def phone() -> str:
    return "137" + str(uuid.uuid4().int)[:8]


def sms_code(client, number: str) -> str:
    response = client.post("/staff/apply/code", data={"phone": number}, headers={"Accept": "application/json"})
    assert response.status_code == 200, response.data.decode()
    text = db.session.scalar(select(SmsMessage.text).where(SmsMessage.phone == number)
                             .order_by(SmsMessage.id.desc()).limit(1))
    return re.search(r"验证码为 (\d{6})", text).group(1)


def form(client, unit: str = "江门市江海区发展和改革局", accept=("proposal",), handle=(), **overrides) -> dict:
    number = overrides.pop("phone", None) or phone()
    values = {"department_id": str(department(unit).id), "section": "投资科", "position": "科员", "real_name": "李新",
              "id_number": id_number(), "phone": number, "username": "r" + uuid.uuid4().hex[:10],
              "password": PASSWORD, "password2": PASSWORD, "accept": list(accept), "handle": list(handle)}
    values.update(overrides)
    if "sms_code" not in values:
        values["sms_code"] = sms_code(client, number)
    return values


def apply(client, **kwargs) -> AccountRequest:
    client.post("/logout")
    values = form(client, **kwargs)
    response = client.post("/staff/apply", data=values)
    assert response.status_code == 302, response.data.decode()[:3000]
    db.session.expire_all()
    return db.session.scalar(select(AccountRequest).join(User, User.id == AccountRequest.user_id)
                             .where(User.username == values["username"]))


def decide(client, admin: str, request_id: int, decision: str = "approve", reason: str = ""):
    client.post("/logout")
    login(client, admin)
    return client.post(f"/staff/requests/{request_id}/decide", data={"decision": decision, "reason": reason})


# ---- applying -------------------------------------------------------------------------------------------------
def test_an_application_creates_an_inactive_account_and_says_who_reviews_it(client, fresh):
    row = apply(client, accept=("proposal",), handle=("feasibility",))
    assert (row.kind, row.status, row.region_code) == ("new", "pending", "440704")
    assert not row.user.active and row.user.realname_level == "offline"
    assert row.payload["permissions"] == [{"item_code": "proposal", "accept": True, "handle": False},
                                          {"item_code": "feasibility", "accept": False, "handle": True}]
    page = client.get("/staff/apply/submitted").data.decode()
    html = lxml.html.fromstring(page)
    assert html.xpath("string(//*[@id='request-number'])") == str(row.id)
    assert "由江门市的市州管理员审核" in html.xpath("string(//*[@id='reviewed-by'])")
    # not able to sign in before the review
    assert client.post("/login", data={"username": row.user.username, "password": PASSWORD}).status_code != 302


def test_every_field_of_the_application_is_named_when_wrong(client, fresh):
    response = client.post("/staff/apply", data={"department_id": "", "password": "short", "password2": "other"})
    assert response.status_code == 422
    errors = field_errors(response.data.decode())
    for name, words in {"department_id": "所属单位", "section": "科室", "position": "职位", "real_name": "真实姓名",
                        "id_number": "身份证号码", "phone": "手机号码", "sms_code": "短信验证码", "username": "用户名",
                        "password": "密码"}.items():
        assert words in errors.get(name, ""), (name, errors)
    # an item of another department type, a bad ID number, a taken username, passwords that differ
    values = form(client, unit="江门市自然资源局", accept=("proposal",), id_number="430302199911093457",
                  username="shouli", password2="Other#2026x")
    response = client.post("/staff/apply", data=values)
    errors = field_errors(response.data.decode())
    assert response.status_code == 422
    assert "不是江门市自然资源局" in errors["permissions"]
    assert "校验位" in errors["id_number"] and "已被使用" in errors["username"] and "不一致" in errors["password2"]
    # nothing was written, and the SMS code was not spent by a refused form
    assert db.session.scalar(select(func.count(AccountRequest.id)).join(User, User.id == AccountRequest.user_id)
                             .where(User.phone == values["phone"])) == 0


def test_one_person_one_account(client, fresh):
    row = apply(client)
    values = form(client, id_number=row.user.id_number)
    response = client.post("/staff/apply", data=values)
    assert response.status_code == 422 and row.user.username in field_errors(response.data.decode())["id_number"]
    assert decide(client, "jm_admin", row.id, "reject", "科室填写有误").status_code == 302
    client.post("/logout")
    assert apply(client, id_number=row.user.id_number).status == "pending"  # a rejected applicant applies again


def test_no_permission_and_a_wrong_sms_code_are_refused(client, fresh):
    values = form(client, accept=())
    assert "至少选择一项" in field_errors(client.post("/staff/apply", data=values).data.decode())["permissions"]
    values = form(client)
    values["sms_code"] = "000000" if values["sms_code"] != "000000" else "111111"
    response = client.post("/staff/apply", data=values)
    assert response.status_code == 422 and "短信验证码不正确" in field_errors(response.data.decode())["sms_code"]
    assert user(values["username"]) is None


@pytest.mark.parametrize("path", ["/staff/apply", "/staff/status"])
def test_the_public_forms_open_clean(client, path):
    page = lxml.html.fromstring(client.get(path).data)
    assert not page.xpath("//div[contains(@class, 'flash') and contains(@class, 'error')]")
    assert page.xpath("//button[@data-send-code]")


def test_the_items_endpoint_lists_the_units_type(client):
    data = client.get(f"/staff/apply/items?department_id={department('江门市自然资源局').id}").get_json()
    codes = {i["code"] for i in data["items"]}
    assert "land_site" in codes and "proposal" not in codes and data["reviewer"] == "江门市的市州管理员"
    assert client.get("/staff/apply/items?department_id=999999").status_code == 404


def test_without_script_the_units_items_are_listed_by_a_button_that_saves_nothing(client):
    from tests.integration.snapshot import world

    before = world()
    response = client.post("/staff/apply", data={"action": "list_items", "real_name": "李新",
                                                 "department_id": str(department("江门市自然资源局").id),
                                                 "password": "Secret@2026"})
    assert response.status_code == 200 and world() == before
    page = lxml.html.fromstring(response.data)
    listed = set(page.xpath("//input[@name='accept']/@value"))
    assert "land_site" in listed and "proposal" not in listed
    assert page.xpath("string(//input[@id='f_real_name']/@value)") == "李新"  # what was typed stays
    assert page.xpath("string(//input[@id='f_password']/@value)") == ""  # but never a password
    assert not page.xpath("//div[contains(@class, 'flash') and contains(@class, 'error')]")


def test_status_lookup_needs_the_phones_code(client, fresh):
    row = apply(client)
    number = row.user.phone
    wrong = client.post("/staff/status", data={"username": row.user.username, "phone": number, "sms_code": "000000"})
    assert wrong.status_code == 422 and "待审核" not in wrong.data.decode()
    db.session.execute(delete(SmsCode).where(SmsCode.phone == number))  # the resend pause is not what this tests
    db.session.commit()
    code = sms_code(client, number)
    page = client.post("/staff/status", data={"username": row.user.username, "phone": number, "sms_code": code})
    assert page.status_code == 200
    assert "待审核" in lxml.html.fromstring(page.data).xpath("string(//table[@id='status-rows'])")


# ---- scope ----------------------------------------------------------------------------------------------------
SCOPE = {  # admin → (provincial request, 江门 county request, 广州 request)
    "sheng_admin": (True, False, False),
    "jm_admin": (False, True, False),
    "gz_admin": (False, False, True),
    "admin": (True, True, True),
}


def test_scope_matrix_of_who_sees_and_decides_which_request(client, fresh):
    provincial = apply(client, unit="广东省发展和改革委员会", accept=("proposal",))
    county = apply(client, unit="江门市江海区发展和改革局", accept=("proposal",))
    guangzhou = apply(client, unit="广州市发展和改革局", accept=("proposal",))
    assert [r.region_code for r in (provincial, county, guangzhou)] == ["440000", "440704", "440100"]
    for admin, allowed in SCOPE.items():
        client.post("/logout")
        login(client, admin)
        listing = client.get("/staff/requests").data.decode()
        for row, ok in zip((provincial, county, guangzhou), allowed, strict=True):
            assert (f'id="request-{row.id}"' in listing) is ok, (admin, row.region_code)
            assert client.get(f"/staff/requests/{row.id}").status_code == (200 if ok else 403), (admin, row.id)
            if not ok:  # and not by posting either: still pending afterwards
                assert client.post(f"/staff/requests/{row.id}/decide", data={"decision": "approve"}).status_code == 403
                db.session.expire_all()
                assert db.session.get(AccountRequest, row.id).status == "pending"
    assert client.get("/staff/requests/999999").status_code == 404


def test_a_city_admin_account_is_reviewed_by_the_province(client, fresh):
    row = apply(client, unit="江门市发展和改革局", accept=(), city_admin="1")
    assert row.region_code == "440000"
    assert decide(client, "jm_admin", row.id).status_code == 403
    assert decide(client, "sheng_admin", row.id).status_code == 302
    db.session.expire_all()
    assert "city_admin" in user(row.user.username).roles and user(row.user.username).active
    # a provincial department cannot hold a 市州管理员 account
    values = form(client, unit="广东省发展和改革委员会", city_admin="1")
    assert "市州" in field_errors(client.post("/staff/apply", data=values).data.decode())["city_admin"]


def test_non_admins_get_403(client, fresh):
    row = apply(client)
    login(client, "shouli")
    assert client.get("/staff/requests").status_code == 403
    assert client.get(f"/staff/requests/{row.id}").status_code == 403
    assert client.get("/staff/users").status_code == 403


# ---- deciding -------------------------------------------------------------------------------------------------
def test_approval_activates_the_account_with_its_permissions_and_a_second_decision_is_409(client, fresh):
    row = apply(client, accept=("proposal",), handle=("proposal",))
    page = lxml.html.fromstring(decide(client, "jm_admin", row.id, "reject").data)  # 驳回 needs a reason
    assert "驳回理由" in page.xpath("string(//div[@data-field='reason'])")
    assert decide(client, "jm_admin", row.id).status_code == 302
    db.session.expire_all()
    account = user(row.user.username)
    assert account.active and {"acceptor", "handler"} <= account.roles
    assert access.item_permissions(account) == {("proposal", "acceptor"), ("proposal", "handler")}
    assert db.session.scalar(select(SmsMessage.text).where(SmsMessage.phone == account.phone)
                             .order_by(SmsMessage.id.desc()).limit(1)).endswith("已审核通过。")
    again = decide(client, "admin", row.id, "reject", "重复")
    assert again.status_code == 409
    assert "梁管理" in again.data.decode() and "审核通过" in again.data.decode()
    db.session.expire_all()
    assert db.session.get(AccountRequest, row.id).status == "approved"
    login(client.__class__(client.application), account.username, PASSWORD)  # signs in now


def test_a_rejection_keeps_the_account_closed_and_tells_the_reason(client, fresh):
    row = apply(client)
    assert decide(client, "jm_admin", row.id, "reject", "请使用单位统一分配的科室名称").status_code == 302
    db.session.expire_all()
    assert not user(row.user.username).active
    rejected = client.get("/staff/requests?status=rejected").data.decode()
    assert f'id="request-{row.id}"' in rejected


def test_granted_permission_lets_the_new_reviewer_claim_a_task_of_the_item(client, fresh):
    row = apply(client, accept=("proposal",))
    assert decide(client, "jm_admin", row.id).status_code == 302
    declaration = declare(client, new_project(client, kind="approval", name="江海区政务服务中心改造项目"))
    task = item_task(declaration, "proposal")
    account = user(row.user.username)
    assert access.may_handle(account, task) and task.id in {t.id for t in inbox.todo(account)}
    client.post("/logout")
    login(client, account.username, PASSWORD)
    assert client.post(f"/reviewer/tasks/{task.id}/claim").status_code == 302
    db.session.expire_all()
    assert db.session.get(HumanTask, task.id).assignee == account.actor


# ---- change and cancellation ---------------------------------------------------------------------------------
def test_a_change_goes_through_review_and_takes_effect_only_then(client, fresh):
    row = apply(client, accept=("proposal",))
    decide(client, "jm_admin", row.id)
    account = user(row.user.username)
    client.post("/logout")
    login(client, account.username, PASSWORD)
    response = client.post(f"/staff/users/{account.id}/change", data={
        "section": "审批科", "position": "副科长", "accept": ["feasibility"], "handle": []})
    assert response.status_code == 302 and response.headers["Location"].endswith("/accounts/mine")
    change = db.session.scalar(select(AccountRequest).where(AccountRequest.user_id == account.id,
                                                            AccountRequest.kind == "change"))
    assert change.payload["add"] == [["feasibility", "acceptor"]] and change.payload["remove"] == [["proposal", "acceptor"]]
    assert access.item_permissions(account) == {("proposal", "acceptor")}  # not before the review
    # one open request at a time
    again = client.post(f"/staff/users/{account.id}/cancel", data={"reason": "调离"})
    assert again.status_code == 409 and "待审核" in again.data.decode()
    mine = lxml.html.fromstring(client.get("/accounts/mine").data)
    assert mine.xpath(f"string(//tr[@id='request-{change.id}'])").count("待审核") == 1
    assert decide(client, "jm_admin", change.id).status_code == 302
    db.session.expire_all()
    account = user(account.username)
    assert access.item_permissions(account) == {("feasibility", "acceptor")}
    assert (account.section, account.position) == ("审批科", "副科长")


def test_an_admin_requested_change_needs_another_admin_and_a_new_item_can_be_granted(client, fresh):
    row = apply(client, accept=("proposal",))
    decide(client, "jm_admin", row.id)
    account = user(row.user.username)
    page = client.get(f"/staff/users/{account.id}").data.decode()
    assert "preliminary_design" in page  # every item of the unit's type is offered, a new one too
    response = client.post(f"/staff/users/{account.id}/change", data={
        "section": "投资科", "position": "科员", "accept": ["proposal", "preliminary_design"]})
    assert response.status_code == 302
    change = db.session.scalar(select(AccountRequest).where(AccountRequest.user_id == account.id,
                                                            AccountRequest.kind == "change"))
    assert change.submitted_by == user("jm_admin").id
    assert client.post(f"/staff/requests/{change.id}/decide", data={"decision": "approve"}).status_code == 403
    assert decide(client, "admin", change.id).status_code == 302
    db.session.expire_all()
    assert ("preliminary_design", "acceptor") in access.item_permissions(user(account.username))
    # out of scope: 广州's administrator cannot open or change a 江门 account
    client.post("/logout")
    login(client, "gz_admin")
    assert client.get(f"/staff/users/{account.id}").status_code == 403
    assert client.post(f"/staff/users/{account.id}/cancel", data={"reason": "x"}).status_code == 403


def test_cancellation_approved_ends_the_accounts_open_session(app, isolated):
    admin, holder = isolated(), isolated()
    with app.app_context():
        values = form(admin, accept=("proposal",))
    assert admin.post("/staff/apply", data=values).status_code == 302
    login(admin, "jm_admin")
    with app.app_context():
        account_id = user(values["username"]).id
        request_id = db.session.scalar(select(AccountRequest.id).where(AccountRequest.user_id == account_id))
    assert admin.post(f"/staff/requests/{request_id}/decide", data={"decision": "approve"}).status_code == 302
    login(holder, values["username"], PASSWORD)
    assert holder.get("/accounts/mine").status_code == 200
    assert holder.post(f"/staff/users/{account_id}/cancel", data={"reason": ""}).status_code == 422
    assert holder.post(f"/staff/users/{account_id}/cancel", data={"reason": "调离本单位"}).status_code == 302
    with app.app_context():
        cancel_id = db.session.scalar(select(AccountRequest.id).where(AccountRequest.user_id == account_id,
                                                                      AccountRequest.kind == "cancel"))
    assert holder.get("/accounts/mine").status_code == 200  # still working until approved
    assert admin.post(f"/staff/requests/{cancel_id}/decide", data={"decision": "approve"}).status_code == 302
    with app.app_context():
        account = db.session.get(User, account_id)
        assert not account.active and account.cancelled_at is not None
        assert not access.item_permissions(account)  # gone with the account, recorded on the request
        assert db.session.get(AccountRequest, cancel_id).payload["revoked"] == [["proposal", "acceptor"]]
    response = holder.get("/accounts/mine")  # the old session is refused on its very next request
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert holder.post("/login", data={"username": values["username"], "password": PASSWORD}).status_code != 302


def test_cancellation_waits_for_claimed_tasks(client, fresh):
    row = apply(client, accept=("proposal",))
    decide(client, "jm_admin", row.id)
    account = user(row.user.username)
    declaration = declare(client, new_project(client, kind="approval", name="江海区档案馆改造项目"))
    task = item_task(declaration, "proposal")
    client.post("/logout")
    login(client, account.username, PASSWORD)
    client.post(f"/reviewer/tasks/{task.id}/claim")
    client.post(f"/staff/users/{account.id}/cancel", data={"reason": "退休"})
    cancel = db.session.scalar(select(AccountRequest).where(AccountRequest.user_id == account.id,
                                                            AccountRequest.kind == "cancel"))
    response = decide(client, "jm_admin", cancel.id)
    assert response.status_code == 409 and "已签收的待办" in response.data.decode()
    db.session.expire_all()
    assert user(account.username).active and db.session.get(AccountRequest, cancel.id).status == "pending"


# ---- the administration pages --------------------------------------------------------------------------------
def test_org_tree_and_users_are_scoped_and_searchable(client, fresh):
    login(client, "jm_admin")
    org = lxml.html.fromstring(client.get("/staff/org").data)
    names = org.xpath("//ul[@id='org']//a/text()")
    assert "江门市江海区发展和改革局" in names and "广州市发展和改革局" not in names
    assert "广东省发展和改革委员会" not in names
    found = lxml.html.fromstring(client.get("/staff/org?q=自然资源").data).xpath("//ul[@id='org']//a/text()")
    assert found == ["江门市自然资源局"]
    users = lxml.html.fromstring(client.get("/staff/users?q=江海区").data)
    usernames = users.xpath("//table[@id='users']//td[@data-label='用户名']/text()")
    assert "shouli" in usernames and "zr_shouli" not in usernames
    assert client.get(f"/staff/users/{user('gz_admin').id}").status_code == 403
    client.post("/logout")
    login(client, "sheng_admin")
    org = lxml.html.fromstring(client.get("/staff/org").data).xpath("//ul[@id='org']//a/text()")
    # the provincial departments, and the departments of the 市州管理员 the province reviews: nothing else
    assert set(org) == {"广东省发展和改革委员会", "江门市发展和改革局", "广州市发展和改革局"}
    assert client.get(f"/staff/users/{user('jm_admin').id}").status_code == 200  # city admins are the province's
    assert client.get(f"/staff/users/{user('shouli').id}").status_code == 403


def test_administrators_land_on_the_review_page_with_the_pending_count(client, fresh):
    apply(client)
    login(client, "jm_admin")
    response = client.get("/")
    assert response.headers["Location"].endswith("/staff/requests")
    nav = lxml.html.fromstring(client.get("/staff/requests").data).xpath("string(//a[@id='nav-staff'])")
    assert re.search(r"账号审核\s*\d+", nav)


@pytest.fixture
def new_item(ctx) -> Iterator[str]:
    """A 发改 item made in the 事项目录 as policy staff make it: no seed grants it to anyone."""
    last_change = db.session.scalar(select(func.max(StudioChange.id))) or 0
    code = f"new_{uuid.uuid4().hex[:6]}"
    catalogue_admin.save_item(user("zhengce"), {
        "code": code, "name": "重大项目稳评审查（测试）", "kinds": ["approval"], "stage": "立项用地规划许可",
        "dept_type": "发改", "level": "county", "unit": "workday", "promised_limit": "10", "statutory_limit": "20",
        "max_extension": "0", "legal_basis": "地方规定", "limit_source": "地方做法", "active": "on",
        "materials": [{"name": "社会稳定风险评估报告", "required": "on", "pdf_only": "on"}]})
    yield code
    db.session.rollback()
    db.session.execute(delete(StudioChange).where(StudioChange.id > last_change))
    db.session.execute(delete(UserItemRole).where(UserItemRole.item_code == code))
    db.session.delete(db.session.get(ApprovalItem, code))
    db.session.commit()


def test_a_new_catalogue_item_is_granted_through_the_review(client, fresh, new_item):
    row = apply(client, accept=("proposal",))
    codes = {i["code"] for i in client.get(f"/staff/apply/items?department_id={row.department_id}").get_json()["items"]}
    assert new_item in codes  # a new applicant can ask for it at once
    decide(client, "jm_admin", row.id)
    account = user(row.user.username)
    client.post("/logout")
    login(client, account.username, PASSWORD)
    page = lxml.html.fromstring(client.get("/accounts/mine").data)
    assert page.xpath(f"//table[@id='permissions']//input[@name='handle'][@value='{new_item}']")
    client.post(f"/staff/users/{account.id}/change", data={"section": "投资科", "position": "科员",
                                                           "accept": ["proposal"], "handle": [new_item]})
    change = db.session.scalar(select(AccountRequest).where(AccountRequest.user_id == account.id,
                                                            AccountRequest.kind == "change"))
    client.post("/logout")
    login(client, "jm_admin")
    detail = lxml.html.fromstring(client.get(f"/staff/requests/{change.id}").data)
    assert "重大项目稳评审查（测试）" in detail.xpath("string(//table[@id='requested-permissions'])")
    assert decide(client, "jm_admin", change.id).status_code == 302
    db.session.expire_all()
    assert (new_item, "handler") in access.item_permissions(user(account.username))
    assert "handler" in user(account.username).roles  # the role the permission refines came with it


@pytest.mark.skipif(BACKEND != "postgres", reason="real row-level concurrency needs PostgreSQL")
def test_two_administrators_deciding_at_once_one_wins_the_other_is_told_who(client, app, fresh):
    for round_ in range(3):
        row = apply(client)
        admins = [login(app.test_client(), name) for name in ("jm_admin", "admin")]
        url = f"/staff/requests/{row.id}/decide"
        responses = _race(*(lambda a=a, d=d, url=url: a.post(url, data={"decision": d, "reason": "并发"})
                            for a, d in zip(admins, ("approve", "reject"), strict=True)))
        codes = sorted(r.status_code for r in responses)
        assert codes == [302, 409], (round_, codes)
        db.session.expire_all()
        decided = db.session.get(AccountRequest, row.id)
        loser = responses[[r.status_code for r in responses].index(409)].data.decode()
        winner = "梁管理" if decided.reviewed_by == user("jm_admin").id else "系统管理员"
        assert winner in loser and decided.status in ("approved", "rejected")
        assert user(row.user.username).active is (decided.status == "approved")


def test_the_department_head_role_is_applied_for_and_changed_through_review(client, fresh):
    """部门负责人 (dept_head) is granted like an item permission: requested, reviewed in scope, then in force; a head
    needs no item permission of their own, and the role is taken away by a reviewed change."""
    row = apply(client, accept=(), dept_head="1", real_name="刘负责")
    assert row.payload["dept_head"] is True and "dept_head" in row.payload["roles"]
    client.post("/logout")
    login(client, "jm_admin")
    page = lxml.html.fromstring(client.get(f"/staff/requests/{row.id}").data)
    assert "部门负责人" in page.xpath("string(//table[@id='requested-permissions'])")
    assert decide(client, "jm_admin", row.id).status_code == 302
    db.session.expire_all()
    head = user(row.user.username)
    assert head.active and "dept_head" in head.roles
    client.post("/logout")
    login(client, head.username, PASSWORD)
    assert client.get("/reviewer/department").status_code == 200
    mine = lxml.html.fromstring(client.get("/accounts/mine").data)
    assert mine.xpath("//input[@id='f_dept_head']/@checked")  # ticked: the role is held
    response = client.post(f"/staff/users/{head.id}/change", data={"section": "投资科", "position": "科员",
                                                                   "accept": ["proposal"], "handle": []})
    assert response.status_code == 302
    change = db.session.scalar(select(AccountRequest).where(AccountRequest.user_id == head.id,
                                                            AccountRequest.kind == "change"))
    assert change.payload["dept_head"] == "remove"
    assert decide(client, "jm_admin", change.id).status_code == 302
    db.session.expire_all()
    head = user(head.username)
    assert "dept_head" not in head.roles and ("proposal", "acceptor") in access.item_permissions(head)


def test_an_application_without_any_permission_names_the_choices(client, fresh):
    client.post("/logout")
    response = client.post("/staff/apply", data=form(client, accept=()))
    assert response.status_code == 422
    assert "或申请部门负责人" in response.data.decode()
