"""转办 (issue 13, 002): the holder of a claimed task hands it to a colleague of the same department who holds the
same item permission, with a note; the colleague has it claimed in 待办, the giver sees it in 已办, the trail says
who gave it to whom and why. Every refusal names the field in Chinese."""
from __future__ import annotations

import lxml.html
import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask, Notification, TrailEntry
from app.services import task_transfer
from app.services.platform import runtime
from engine.runtime import ConflictError
from tests.conftest import login
from tests.integration.approval_helpers import case_of, declare, item_task, new_project
from tests.integration.test_staff_accounts import PASSWORD, apply, decide, fresh, user  # noqa: F401

NOTE = "本人下周出差，请代为受理"


@pytest.fixture
def claimed(client, fresh):  # noqa: F811
    """A 项目建议书审批 受理 task claimed by shouli, and a new 江海区 colleague granted 受理 of that item."""
    row = apply(client, accept=("proposal",), real_name="李新")
    assert decide(client, "jm_admin", row.id).status_code == 302
    declaration = declare(client, new_project(client, kind="approval", name="江海区便民服务中心建设项目"))
    task = item_task(declaration, "proposal")
    client.post("/logout")
    login(client, "shouli")
    assert client.post(f"/reviewer/tasks/{task.id}/claim").status_code == 302
    return task, user(row.user.username), declaration


def transfer(client, task, to, note=NOTE):
    return client.post(f"/reviewer/tasks/{task.id}/transfer", data={"to_user_id": str(to.id) if to else "",
                                                                    "note": note})


def error_of(response, field: str) -> str:
    page = lxml.html.fromstring(response.data)
    return page.xpath(f"string(//div[@id='field-{field}']//div[contains(@class, 'error-text')])").strip()


def test_only_colleagues_with_the_same_item_permission_are_offered(client, claimed):
    task, colleague, _ = claimed
    offered = task_transfer.colleagues(user("shouli"), task)
    assert offered == [colleague]  # not banli (办理 only), not 新会区's 受理, not shouli himself
    page = lxml.html.fromstring(client.get(f"/reviewer/tasks/{task.id}/transfer").data)
    assert page.xpath("//select[@id='f_to_user_id']/option/@value") == ["", str(colleague.id)]


def test_refusals_name_the_field(client, claimed):
    task, colleague, _ = claimed
    cases = [(None, NOTE, "to_user_id", "请选择「转办给」"), (user("shouli"), NOTE, "to_user_id", "不能是本人"),
             (user("banli"), NOTE, "to_user_id", "没有该事项的受理权限"),
             (user("xh_shouli"), NOTE, "to_user_id", "不是本部门在岗人员"),
             (colleague, "", "note", "请填写「转办说明」"), (colleague, "很" * 201, "note", "不能超过200字")]
    for to, note, field, words in cases:
        response = transfer(client, task, to, note)
        assert response.status_code == 422, (to, note)
        assert words in error_of(response, field), (field, words)
    db.session.expire_all()
    assert db.session.get(HumanTask, task.id).assignee == user("shouli").actor  # nothing moved


def test_only_the_holder_of_the_claim_transfers(client, claimed):
    task, colleague, _ = claimed
    client.post("/logout")
    login(client, colleague.username, PASSWORD)
    response = transfer(client, task, user("shouli"))
    assert response.status_code == 409 and "只有签收人或部门负责人可以转办" in response.data.decode()
    client.post("/logout")
    login(client, "zr_shouli")  # another department: not even the page
    assert client.get(f"/reviewer/tasks/{task.id}/transfer").status_code == 403


def test_a_transfer_moves_the_claim_and_is_in_both_lists_and_the_trail(client, claimed):
    task, colleague, declaration = claimed
    response = transfer(client, task, colleague)
    assert response.status_code == 302, response.data.decode()[:2000]
    db.session.expire_all()
    assert db.session.get(HumanTask, task.id).assignee == colleague.actor
    entry = db.session.scalar(select(TrailEntry).where(TrailEntry.action == "transfer",
                                                       TrailEntry.instance_id == task.instance_id))
    assert (entry.actor, entry.detail["to"], entry.detail["note"]) == (user("shouli").actor, colleague.actor, NOTE)
    done = lxml.html.fromstring(client.get("/tasks/?tab=done").data)
    assert "转办" in done.xpath("string(//table[@id='done']/tbody/tr[1])")
    # the giver can no longer act on it
    assert transfer(client, task, colleague).status_code == 409
    client.post("/logout")
    login(client, colleague.username, PASSWORD)
    todo = lxml.html.fromstring(client.get("/tasks/?tab=todo").data)
    assert "已签收（我）" in todo.xpath("string(//table[@id='todo'])")
    note = db.session.scalar(select(Notification).where(Notification.user_id == colleague.id)
                             .order_by(Notification.id.desc()).limit(1))
    assert NOTE in note.title and note.link == f"/reviewer/tasks/{task.id}"
    case = case_of(declaration, "proposal")
    timeline = lxml.html.fromstring(client.get(f"/reviewer/cases/{case.id}").data).xpath("string(//ol[@class='timeline'])")
    assert f"转办：王受理（江海区发改局） → 李新（{NOTE}）" in " ".join(timeline.split())
    # and the colleague completes it: 受理
    response = client.post(f"/reviewer/cases/{case.id}/tasks/{task.id}/complete",
                           data={"decision": "accept", "code_verified": "on"})
    assert response.status_code == 302, response.data.decode()[:2000]


def test_the_runtime_moves_a_claim_only_from_its_holder(claimed):
    """The conditional UPDATE itself, below the service's checks: a transfer racing the holder's completion, unclaim
    or own transfer changes nothing and writes no trail."""
    task, colleague, _ = claimed
    with pytest.raises(ConflictError):
        runtime().transfer(db.session, task.id, colleague.actor, user("shouli").actor)
    db.session.rollback()
    assert db.session.get(HumanTask, task.id).assignee == user("shouli").actor
    assert db.session.scalar(select(TrailEntry.id).where(TrailEntry.action == "transfer")) is None


# ---- the department head (role dept_head, demo `kezhang` of 江海区发改局) -------------------------------------------
def test_the_department_head_sees_the_departments_open_tasks_and_transfers_a_claimed_one(client, claimed):
    task, colleague, declaration = claimed
    client.post("/logout")
    login(client, "kezhang")
    assert client.get("/").headers["Location"].endswith("/reviewer/department")
    page = lxml.html.fromstring(client.get("/reviewer/department").data)
    row = page.xpath(f"//table[@id='department-tasks']//tr[.//a[@id='transfer-{task.id}']]")
    assert row and "王受理（江海区发改局）" in row[0].text_content()
    form = lxml.html.fromstring(client.get(f"/reviewer/tasks/{task.id}/transfer").data)
    assert "王受理（江海区发改局）" in form.xpath("string(//p[@id='head-hint'])")
    # the holder himself is not offered, the colleague with the same item permission is
    assert form.xpath("//select[@id='f_to_user_id']/option/@value") == ["", str(colleague.id)]
    assert "已是该任务的签收人" in error_of(transfer(client, task, user("shouli")), "to_user_id")
    response = transfer(client, task, colleague, "王受理病假，请李新接办")
    assert response.status_code == 302 and response.headers["Location"].endswith("/reviewer/department")
    db.session.expire_all()
    assert db.session.get(HumanTask, task.id).assignee == colleague.actor
    entry = db.session.scalar(select(TrailEntry).where(TrailEntry.action == "transfer",
                                                       TrailEntry.instance_id == task.instance_id))
    head = user("kezhang")
    assert (entry.actor, entry.detail["from"], entry.detail["to"]) == (head.actor, user("shouli").actor,
                                                                       colleague.actor)
    # the head's 已办 has it; the former holder and the colleague are told
    assert "转办" in lxml.html.fromstring(client.get("/tasks/?tab=done").data).xpath(
        "string(//table[@id='done']/tbody/tr[1])")
    told = {n.user_id: n.title for n in db.session.scalars(select(Notification).where(
        Notification.title.contains("王受理病假")))}
    assert set(told) == {colleague.id, user("shouli").id} and "部门负责人" in told[user("shouli").id]
    client.post("/logout")
    login(client, colleague.username, PASSWORD)
    case = case_of(declaration, "proposal")
    timeline = " ".join(lxml.html.fromstring(client.get(f"/reviewer/cases/{case.id}").data)
                        .xpath("string(//ol[@class='timeline'])").split())
    assert ("转办：王受理（江海区发改局） → 李新（王受理病假，请李新接办），"
            "由部门负责人刘科长（江海区发改局·部门负责人）转办") in timeline


def test_the_department_head_cannot_move_an_unclaimed_task_nor_another_departments(client, claimed):
    task, colleague, _ = claimed
    assert client.post(f"/reviewer/tasks/{task.id}/unclaim").status_code == 302  # shouli hands it back
    client.post("/logout")
    login(client, "kezhang")
    response = transfer(client, task, colleague)
    assert response.status_code == 409 and "尚未签收" in response.data.decode()
    assert f"transfer-{task.id}" not in client.get("/reviewer/department").data.decode()
    # the head has no reviewer role: he neither claims nor opens the case as a reviewer
    assert client.post(f"/reviewer/tasks/{task.id}/claim").status_code == 403
    # 市自然资源局's item of the same declaration, claimed there: 江海区发改局's head may not touch it
    _, _, declaration = claimed
    other = item_task(declaration, "land_site")
    client.post("/logout")
    login(client, "zr_shouli")
    assert client.post(f"/reviewer/tasks/{other.id}/claim").status_code == 302
    client.post("/logout")
    login(client, "kezhang")
    assert client.get(f"/reviewer/tasks/{other.id}/transfer").status_code == 403
    assert transfer(client, other, colleague).status_code == 403
