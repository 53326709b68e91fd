"""Issue 14, items 7 and 8: the reviewer who held a case keeps its next steps (sticky claim), 签收并办理 and 批量签收,
and a 待办 built for volume (search, filters, counts, sort, pages, the nav badge, one 待阅 per new pool task)."""
from __future__ import annotations

import re
import threading
from datetime import timedelta

import lxml.html
import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Enterprise, FilingApplication, HumanTask, Notification, TrailEntry, User, UserItemRole
from app.services import filing, inbox
from app.services.platform import runtime
from engine import clock
from tests.conftest import BACKEND, login
from tests.integration.approval_helpers import case_of, declare, item_task, new_project, step, upload
from tests.integration.helpers import act, apply_code, submit_filing, task_for
from tests.integration.test_staff_accounts import apply, decide, fresh  # noqa: F401


def user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def as_user(client, username: str):
    client.post("/logout")
    return login(client, username)


def auto_claims(instance_id: int) -> list[TrailEntry]:
    return [e for e in db.session.scalars(select(TrailEntry).where(TrailEntry.instance_id == instance_id,
                                                                   TrailEntry.action == "claim"))
            if (e.detail or {}).get("auto")]


# ---- sticky claim ---------------------------------------------------------------------------------------------
def test_the_reviewer_keeps_review_then_issue_without_a_second_claim(client):
    login(client, "qiye")
    application = submit_filing(client, apply_code(client))
    assert act(client, "shouli", application, "accept", {"decision": "accept"}).status_code == 302
    review = task_for(application, "review")
    assert review.assignee is None  # another role (办理): the pool, not shouli
    assert act(client, "banli", application, "review", {"decision": "pass"}).status_code == 302

    issue = task_for(application, "issue")
    assert issue.assignee == user("banli").actor
    [auto] = auto_claims(application.instance_id)
    assert auto.actor == user("banli").actor and auto.task_id == issue.task_id and auto.detail["role"] == "handler"
    page = client.get("/reviewer/").data.decode()
    row = lxml.html.fromstring(page).xpath(f"//tr[@data-task='{issue.id}']")[0]
    assert "已签收（我）" in row.text_content() and row.xpath(".//a[@class='button'][text()='办理']")
    # no 签收: straight to 签发
    assert client.post(f"/reviewer/tasks/{issue.id}/complete", data={"confirm": "on"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(FilingApplication, application.id).status == "issued"


def test_after_a_correction_the_reviewer_who_asked_gets_the_item_back(client):
    declaration = declare(client, new_project(client))
    material = case_of(declaration, "eia").item.materials[0]
    # 受理 asks for 补正: the 受理 comes back to hb_shouli
    step(client, "hb_shouli", declaration, "eia", {"decision": "correction", "opinion": "报告表结论不完整",
                                                    "missing_material": [str(material.id)]})
    as_user(client, "qiye")
    assert upload(client, declaration.id, "eia", material.id, "补正1").status_code == 302
    assert client.post(f"/enterprise/declarations/{declaration.id}/items/eia/supplement",
                       data={"note": "已补充结论"}).status_code == 302
    assert item_task(declaration, "eia").assignee == user("hb_shouli").actor
    step(client, "hb_shouli", declaration, "eia", {"decision": "accept", "code_verified": "on"})
    assert item_task(declaration, "eia").assignee is None  # 办理 is another role: the pool

    # 办理 asks for 补正: after the applicant's answer the handler who asked has it again, no 签收
    step(client, "hb_banli", declaration, "eia", {"decision": "correction", "opinion": "补充监测数据",
                                                   "missing_material": [str(material.id)]})
    as_user(client, "qiye")
    assert upload(client, declaration.id, "eia", material.id, "补正2").status_code == 302
    assert client.post(f"/enterprise/declarations/{declaration.id}/items/eia/supplement",
                       data={"note": "已补充监测数据"}).status_code == 302
    task = item_task(declaration, "eia")
    assert task.assignee == user("hb_banli").actor
    # 退回待签收 still works, and then it is the pool's
    as_user(client, "hb_banli")
    assert client.post(f"/reviewer/tasks/{task.id}/unclaim").status_code == 302
    assert item_task(declaration, "eia").assignee is None
    # other items' tasks in the same instance were never touched
    assert item_task(declaration, "land_site").assignee is None


@pytest.mark.parametrize("change", ["item_permission", "account_cancelled"])
def test_a_reviewer_who_may_no_longer_handle_it_does_not_get_it_back(client, change):
    declaration = declare(client, new_project(client))
    material = case_of(declaration, "eia").item.materials[0]
    step(client, "hb_shouli", declaration, "eia", {"decision": "accept", "code_verified": "on"})
    step(client, "hb_banli", declaration, "eia", {"decision": "correction", "opinion": "补充监测数据",
                                                   "missing_material": [str(material.id)]})
    banli = user("hb_banli")
    grant = db.session.get(UserItemRole, (banli.id, "eia", "handler"))
    assert grant is not None
    try:
        if change == "item_permission":
            db.session.delete(grant)
        else:
            banli.active = False
        db.session.commit()
        as_user(client, "qiye")
        assert upload(client, declaration.id, "eia", material.id, "补正2").status_code == 302
        assert client.post(f"/enterprise/declarations/{declaration.id}/items/eia/supplement",
                           data={"note": "已补充监测数据"}).status_code == 302
        task = item_task(declaration, "eia")
        assert task.assignee is None  # the department's pool
        assert not auto_claims(declaration.instance_id)
        notes = db.session.scalars(select(Notification).where(Notification.department_id == task.department_id,
                                                              Notification.kind == "new_task")).all()
        # one 待阅 per task that arrived in the pool: the 受理, the 办理, and this returned 办理
        assert len(notes) == 3 and all(n.link == "/reviewer/" for n in notes)
    finally:
        db.session.rollback()
        banli = user("hb_banli")
        banli.active = True
        if db.session.get(UserItemRole, (banli.id, "eia", "handler")) is None:
            db.session.add(UserItemRole(user_id=banli.id, item_code="eia", role="handler"))
        db.session.commit()


# ---- 批量签收 -------------------------------------------------------------------------------------------------
def _filings(client, count: int) -> list[FilingApplication]:
    client.post("/logout")
    login(client, "qiye")
    return [submit_filing(client, apply_code(client)) for _ in range(count)]


def test_bulk_claim_takes_the_free_ones_and_names_those_a_colleague_took(client):
    first, second, third = _filings(client, 3)
    ids = [task_for(a, "accept").id for a in (first, second, third)]
    runtime().claim(db.session, ids[2], "999999")  # a colleague got there first
    db.session.commit()
    as_user(client, "shouli")
    response = client.post("/reviewer/claim", data={"task_ids": [str(i) for i in ids], "q": "江海", "page": "1"},
                           follow_redirects=False)
    assert response.status_code == 302 and response.headers["Location"].endswith("/reviewer/?q=%E6%B1%9F%E6%B5%B7")
    page = client.get(response.headers["Location"]).data.decode()
    assert "已签收2件" in page and "1件已被他人签收" in page
    db.session.expire_all()
    assigned = [db.session.get(HumanTask, i).assignee for i in ids]
    assert assigned == [user("shouli").actor, user("shouli").actor, "999999"]
    # again: nothing new, both already mine; nothing ticked: a refusal naming what to do
    again = client.post("/reviewer/claim", data={"task_ids": [str(i) for i in ids[:2]]}, follow_redirects=True)
    assert "2件已在您的签收中" in again.data.decode()
    empty = client.post("/reviewer/claim", data={}, follow_redirects=True)
    assert "请先勾选要签收的待办" in empty.data.decode()
    # banli (办理) may not claim 受理 tasks: reported, nothing claimed
    other = _filings(client, 1)[0]
    as_user(client, "banli")
    refused = client.post("/reviewer/claim", data={"task_ids": [str(task_for(other, "accept").id)]},
                          follow_redirects=True)
    assert "1件已办理或不在您的待办中" in refused.data.decode()
    assert task_for(other, "accept").assignee is None


@pytest.mark.skipif(BACKEND != "postgres", reason="real row-level concurrency needs PostgreSQL")
def test_two_reviewers_bulk_claim_the_same_rows_each_row_goes_to_one(client, app, fresh):  # noqa: F811
    row = apply(client, accept=("proposal",), real_name="李新")
    assert decide(client, "jm_admin", row.id).status_code == 302
    colleague_id, shouli_id = row.user_id, user("shouli").id
    applications = _filings(client, 6)
    ids = [task_for(a, "accept").id for a in applications]
    db.session.commit()
    barrier = threading.Barrier(2)
    results: dict[int, dict] = {}

    def claimer(user_id: int, order: list[int]) -> None:
        with app.app_context():
            reviewer = db.session.get(User, user_id)
            barrier.wait()
            results[user_id] = filing.claim_many(reviewer, order)
            db.session.remove()

    threads = [threading.Thread(target=claimer, args=(shouli_id, ids)),
               threading.Thread(target=claimer, args=(colleague_id, list(reversed(ids))))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    won = {uid: {t.id for t in r["claimed"]} for uid, r in results.items()}
    lost = {uid: {t.id for t in r["taken"]} for uid, r in results.items()}
    assert won[shouli_id] | won[colleague_id] == set(ids) and not won[shouli_id] & won[colleague_id]
    assert lost[shouli_id] == won[colleague_id] and lost[colleague_id] == won[shouli_id]
    db.session.expire_all()
    for task_id in ids:
        holder = db.session.get(HumanTask, task_id).assignee
        winner = shouli_id if task_id in won[shouli_id] else colleague_id
        assert holder == str(winner)
    claims = db.session.scalars(select(TrailEntry).where(TrailEntry.action == "claim")).all()
    assert len(claims) == len(ids)  # one claim per task, none twice


# ---- 待办 for volume ------------------------------------------------------------------------------------------
def _rows(body: str) -> list[str]:
    page = lxml.html.fromstring(body)
    return [r.get("data-task") for r in page.xpath("//table[@id='todo']/tbody/tr[@data-task]")]


def test_todo_search_filters_counts_sort_pages_and_badge(client):
    applications = _filings(client, 3)
    tasks = [task_for(a, "accept") for a in applications]
    shouli = user("shouli")
    as_user(client, "shouli")
    assert client.post(f"/reviewer/tasks/{tasks[0].id}/claim").status_code == 302

    body = client.get("/reviewer/").data.decode()
    assert set(_rows(body)) == {str(t.id) for t in tasks}
    nav = lxml.html.fromstring(body).xpath("//a[@id='nav-todo']")[0].text_content()
    assert re.sub(r"\s+", "", nav) == "待办3"
    enterprise = db.session.get(Enterprise, applications[0].enterprise_id).name
    assert enterprise in body  # the 申请单位 column
    page = lxml.html.fromstring(body)
    chips = {a.get("data-count"): a.xpath("string(b)") for a in page.xpath("//nav[@class='todo-chips']/a[@data-count]")}
    assert chips == {"unclaimed": "2", "mine": "1", "soon": "0", "overdue": "0"}
    # the unclaimed rows offer 签收并办理 (claim, then the case page) and a tick for 批量签收
    row = page.xpath(f"//tr[@data-task='{tasks[1].id}']")[0]
    assert row.xpath(".//button[@class='todo-claim']/@formaction") == [f"/reviewer/tasks/{tasks[1].id}/claim"]
    assert row.xpath(".//input[@name='task_ids']/@value") == [str(tasks[1].id)]
    claimed = client.post(f"/reviewer/tasks/{tasks[1].id}/claim")
    assert claimed.status_code == 302 and claimed.headers["Location"].endswith(f"/reviewer/tasks/{tasks[1].id}")

    # search by 办件单号, by 项目代码, by 申请单位; filters by 状态 and 事项
    assert _rows(client.get(f"/reviewer/?q={applications[2].number}").data.decode()) == [str(tasks[2].id)]
    project_code = applications[2].project.code
    assert _rows(client.get(f"/reviewer/?q={project_code}").data.decode()) == [str(tasks[2].id)]
    assert len(_rows(client.get(f"/reviewer/?q={enterprise[:4]}").data.decode())) == 3
    assert "没有符合条件的待办" in client.get("/reviewer/?q=不存在的单位").data.decode()
    assert _rows(client.get("/reviewer/?status=unclaimed").data.decode()) == [str(tasks[2].id)]
    assert len(_rows(client.get("/reviewer/?status=mine&item=filing").data.decode())) == 2
    assert _rows(client.get("/reviewer/?item=post").data.decode()) == []
    assert client.get("/reviewer/?status=bogus&due=x&sort=y&page=abc").status_code == 200  # ignored, not a 500

    # deadlines: past the 受理 time limit every one is 已超期
    clock.travel_to(tasks[0].due_at + timedelta(hours=1))
    body = client.get("/reviewer/?due=overdue").data.decode()
    assert len(_rows(body)) == 3 and "已超期" in body
    assert _rows(client.get("/reviewer/?due=soon").data.decode()) == []

    # sort by submission (first come first) and pages, server-side
    db.session.expire_all()
    filters = inbox.TodoFilters(sort="submitted", page=2)
    paged = inbox.todo_page(shouli, filters, page_size=2)
    assert paged.pages == 2 and paged.total == 3 and [r.task.id for r in paged.rows] == [tasks[2].id]
    assert paged.rows[0].applicant == enterprise and paged.rows[0].number == applications[2].number
    first = inbox.todo_page(shouli, inbox.TodoFilters(sort="submitted"), page_size=2)
    assert [r.task.id for r in first.rows] == [tasks[0].id, tasks[1].id]
    beyond = inbox.todo_page(shouli, inbox.TodoFilters(page=99), page_size=2)
    assert beyond.filters.page == 2 and len(beyond.rows) == 1  # clamped to the last page
    assert inbox.todo_count(shouli) == 3

    # one 待阅 per task that arrived in the pool, none for the claimed ones again
    notes = db.session.scalars(select(Notification).where(Notification.kind == "new_task")).all()
    assert len(notes) == 3 and all(n.department_id == applications[0].department_id for n in notes)
    # the 待阅 panel of 待办 does not repeat them (they are the list itself)
    assert "【新待办】" not in client.get("/reviewer/").data.decode()


def test_todo_page_ranks_items_and_filings_together_for_a_reviewer_with_items(client):
    declaration = declare(client, new_project(client, kind="approval", name="江海区便民服务中心建设项目"))
    application = _filings(client, 1)[0]
    as_user(client, "shouli")
    body = client.get("/reviewer/").data.decode()
    rows = _rows(body)
    assert str(item_task(declaration, "proposal").id) in rows and str(task_for(application, "accept").id) in rows
    assert rows == _rows(client.get("/reviewer/?sort=due").data.decode())
    only_items = _rows(client.get("/reviewer/?item=proposal").data.decode())
    assert only_items == [str(item_task(declaration, "proposal").id)]
    assert _rows(client.get("/reviewer/?item=filing").data.decode()) == [str(task_for(application, "accept").id)]
    assert declaration.number in body
