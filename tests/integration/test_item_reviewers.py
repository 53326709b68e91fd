"""Who may handle each item: a new catalogue item is assignable from the browser, without the seed, and the reviewer
granted it then finds its tasks in 待办; grants and revokes are refused with the field named, and logged."""
from __future__ import annotations

import uuid
from collections.abc import Iterator

import lxml.html
import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import ApprovalItem, Department, HumanTask, Instance, ProcessVersion, StudioChange, User, UserItemRole
from app.services import access, catalogue_admin, inbox
from tests.conftest import login


def user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


@pytest.fixture
def new_item(ctx) -> Iterator[ApprovalItem]:
    """An item created through the catalogue admin service, as the 事项目录 page does: no seed grants it."""
    last_change = db.session.scalar(select(func.max(StudioChange.id))) or 0
    code = f"sea_use_{uuid.uuid4().hex[:6]}"
    item = catalogue_admin.save_item(user("zhengce"), {
        "code": code, "name": "海域使用论证审查（测试）", "kinds": ["authorisation"], "stage": "立项用地规划许可",
        "dept_type": "生态环境", "level": "city", "unit": "workday", "promised_limit": "15", "statutory_limit": "20",
        "max_extension": "10", "legal_basis": "《海域使用管理法》第十六条", "limit_source": "地方做法", "active": "on",
        "materials": [{"name": "海域使用论证报告", "required": "on", "pdf_only": "on"}]})
    yield item
    db.session.rollback()
    db.session.execute(StudioChange.__table__.delete().where(StudioChange.id > last_change))
    db.session.execute(UserItemRole.__table__.delete().where(UserItemRole.item_code == code))
    db.session.delete(db.session.get(ApprovalItem, code))
    db.session.commit()


def item_task(item: ApprovalItem, role: str = "acceptor", assignee: str | None = None) -> HumanTask:
    """A ready task of the item at the city's 生态环境局, as the item process projects it (the task centre reads only
    this projection, so a declaration is not needed to prove who sees it)."""
    department = db.session.scalar(select(Department).where(Department.name == "江门市生态环境局"))
    version = db.session.scalar(select(ProcessVersion).where(ProcessVersion.process_key == "authorisation"))
    instance = Instance(process_version_id=version.id, process_key="authorisation", business_key="declaration:0",
                        state="{}")
    db.session.add(instance)
    db.session.flush()
    task = HumanTask(instance_id=instance.id, task_id=str(uuid.uuid4()), bpmn_id="accept", name="受理",
                     form_key="item_accept", candidate_role=role, department_id=department.id,
                     region_code=department.region_code, scope=item.code, assignee=assignee,
                     business_key="declaration:0", title=item.name)
    db.session.add(task)
    db.session.commit()
    return task


def grant(client, code: str, username: str, role: str, reason: str = "新设事项，指定受理人员"):
    return client.post(f"/studio/tables/items/{code}/grant",
                       data={"user_id": str(user(username).id), "role": role, "reason": reason})


def revoke(client, code: str, username: str, role: str, reason: str = "岗位调整"):
    return client.post(f"/studio/tables/items/{code}/revoke",
                       data={"user_id": str(user(username).id), "role": role, "reason": reason})


def field_error(body: str, name: str) -> str:
    return lxml.html.fromstring(body).xpath(f"string(//div[@id='field-{name}']//div[@class='error-text'])").strip()


def test_a_new_item_is_granted_in_the_browser_and_its_tasks_reach_that_reviewer(client, new_item):
    code = new_item.code
    task = item_task(new_item)
    reviewer = user("hb_shouli")
    assert task.id not in {t.id for t in inbox.todo(reviewer)}  # nobody may handle a brand-new item
    assert not access.may_handle(reviewer, task)

    login(client, "zhengce")
    listing = lxml.html.fromstring(client.get("/studio/tables/items").data.decode())
    assert listing.xpath(f"string(//tr[@id='item-{code}'])").count("无") == 2  # no acceptor, no handler
    page = client.get(f"/studio/tables/items/{code}").data.decode()
    assert 'id="no-holders"' in page and "江门市生态环境局" in page
    options = lxml.html.fromstring(page).xpath("//select[@name='user_id']/option/text()")
    assert any("hb_shouli" in o for o in options) and any("hb_banli" in o for o in options)
    assert not any("sfg_shouli" in o or "zhengce" in o for o in options)  # other types, no reviewer role

    response = grant(client, code, "hb_shouli", "acceptor")
    assert response.status_code == 302
    db.session.expire_all()
    assert (code, "acceptor") in access.item_permissions(reviewer)
    assert task.id in {t.id for t in inbox.todo(reviewer)} and access.may_handle(reviewer, task)
    assert task.id not in {t.id for t in inbox.todo(user("hb_banli"))}  # a handler, not granted
    [logged] = db.session.scalars(select(StudioChange).where(StudioChange.area == "item_roles",
                                                             StudioChange.record_key == code)).all()
    assert (logged.action, logged.reason, logged.author.username) == ("grant", "新设事项，指定受理人员", "zhengce")
    assert logged.diff == [{"field": "acceptor", "label": "受理权限", "before": None,
                            "after": "褚受理（市生态环境局）（hb_shouli，江门市生态环境局）"}]
    page = client.get(f"/studio/tables/items/{code}").data.decode()
    assert 'id="holder-hb_shouli-acceptor"' in page and "新设事项，指定受理人员" in page

    assert revoke(client, code, "hb_shouli", "acceptor").status_code == 302
    db.session.expire_all()
    assert task.id not in {t.id for t in inbox.todo(reviewer)} and not access.may_handle(reviewer, task)
    history = client.get("/studio/tables/item_roles/history").data.decode()
    assert "撤销授权" in history and "岗位调整" in history


def test_a_claimed_task_keeps_its_reviewers_permission_until_it_is_finished(client, new_item):
    login(client, "zhengce")
    assert grant(client, new_item.code, "hb_banli", "handler").status_code == 302
    item_task(new_item, role="handler", assignee=user("hb_banli").actor)
    response = revoke(client, new_item.code, "hb_banli", "handler")
    assert response.status_code == 409 and "还有1件已签收的" in response.data.decode()
    assert db.session.get(UserItemRole, (user("hb_banli").id, new_item.code, "handler")) is not None


@pytest.mark.parametrize(("username", "role", "reason", "status", "field", "message"), [
    ("hb_banli", "acceptor", "r", 422, "role", "没有「受理人员」岗位，不能授予受理权限"),
    ("sfg_shouli", "acceptor", "r", 422, "user_id", "不属于「生态环境」类型的部门"),
    ("zhengce", "handler", "r", 422, "user_id", "不属于「生态环境」类型的部门"),
    ("hb_shouli", "acceptor", " ", 422, "reason", "请填写「修改原因」"),
    ("hb_shouli", "reviewer", "r", 422, "role", "请选择「权限」"),
])
def test_a_grant_that_cannot_be_made_names_the_field_and_writes_nothing(client, new_item, username, role, reason,
                                                                       status, field, message):
    login(client, "zhengce")
    response = grant(client, new_item.code, username, role, reason)
    assert response.status_code == status
    assert message in field_error(response.data.decode(), field)
    assert db.session.scalar(select(func.count()).select_from(UserItemRole)
                             .where(UserItemRole.item_code == new_item.code)) == 0
    assert db.session.scalar(select(func.count()).select_from(StudioChange)
                             .where(StudioChange.area == "item_roles", StudioChange.record_key == new_item.code)) == 0


def test_an_unknown_person_a_repeated_grant_and_a_revoke_of_nothing_are_refused(client, new_item):
    login(client, "zhengce")
    unknown = client.post(f"/studio/tables/items/{new_item.code}/grant",
                          data={"user_id": "99999999999", "role": "acceptor", "reason": "r"})
    assert unknown.status_code == 422 and "请选择「人员」" in field_error(unknown.data.decode(), "user_id")
    assert grant(client, new_item.code, "hb_shouli", "acceptor").status_code == 302
    again = grant(client, new_item.code, "hb_shouli", "acceptor")
    assert again.status_code == 409 and "无需重复授权" in again.data.decode()
    nothing = revoke(client, new_item.code, "hb_shouli", "handler")
    assert nothing.status_code == 409 and "没有「海域使用论证审查（测试）」的办理权限" in nothing.data.decode()
    assert client.get("/studio/tables/items/no_such_item").status_code == 404


def test_an_item_whose_type_has_no_department_says_so(client, new_item):
    new_item.dept_type = "海洋"
    db.session.commit()
    login(client, "zhengce")
    page = client.get(f"/studio/tables/items/{new_item.code}").data.decode()
    assert "还没有类型为「海洋」的部门" in page and 'id="grant"' not in page
