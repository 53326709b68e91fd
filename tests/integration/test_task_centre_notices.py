"""任务中心 (待办/已办/待阅/已阅), 公示公告 and the SMS outbox, through the Flask test client."""
from __future__ import annotations

import re
from datetime import date, timedelta

from app.extensions import db
from app.models import Department, Notification, PublicNotice, SmsMessage, User
from tests.conftest import login
from tests.integration.helpers import apply_code, submit_filing


def user(username: str) -> User:
    return db.session.query(User).filter_by(username=username).one()


def note(title: str, *, user_id: int | None = None, department_id: int | None = None) -> Notification:
    row = Notification(user_id=user_id, department_id=department_id, kind="result", title=title,
                       link="/enterprise/")
    db.session.add(row)
    db.session.commit()
    return row


def tab_counts(html: str) -> dict[str, int]:
    return {label: int(n) for label, n in re.findall(r"(待办|已办|待阅|已阅) \((\d+)\)", html)}


def test_tabs_show_counts_and_lists_for_applicant_and_reviewer(client):
    login(client, "qiye")
    application = submit_filing(client, apply_code(client))
    qiye = user("qiye")
    note("备案结果已出", user_id=qiye.id)
    note("另一条消息", user_id=qiye.id)

    page = client.get("/tasks/").data.decode()
    assert tab_counts(page) == {"待办": 0, "已办": 1, "待阅": 2, "已阅": 0}
    assert "暂无待办事项" in page
    assert 'id="nav-tasks"' in page and '<span class="badge red" title="待阅消息">2</span>' in page
    done = client.get("/tasks/?tab=done").data.decode()
    assert application.number in done and "提交" in done
    unread = client.get("/tasks/?tab=unread").data.decode()
    assert "备案结果已出" in unread and "标为已阅" in unread and "全部标为已阅" in unread
    assert client.get("/tasks/?tab=nonsense").status_code == 200

    client.post("/logout")
    login(client, "shouli")
    page = client.get("/tasks/?tab=todo").data.decode()
    assert tab_counts(page)["待办"] >= 1
    assert application.number in page and "/reviewer/tasks/" in page
    assert "备案结果已出" not in client.get("/tasks/?tab=unread").data.decode()


def test_task_centre_requires_login(client):
    response = client.get("/tasks/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_mark_read_moves_a_note_from_unread_to_read(client):
    login(client, "qiye")
    first = note("第一条", user_id=user("qiye").id)
    note("第二条", user_id=user("qiye").id)

    response = client.post(f"/tasks/notes/{first.id}/read")
    assert response.status_code == 302 and response.headers["Location"].endswith("/tasks/?tab=unread")
    unread = client.get("/tasks/?tab=unread").data.decode()
    read = client.get("/tasks/?tab=read").data.decode()
    assert "第一条" not in unread and "第二条" in unread
    assert "第一条" in read and tab_counts(read) == {"待办": 0, "已办": 0, "待阅": 1, "已阅": 1}

    assert client.post("/tasks/notes/read-all").status_code == 302
    page = client.get("/tasks/?tab=read").data.decode()
    assert tab_counts(page)["待阅"] == 0 and tab_counts(page)["已阅"] == 2
    assert "badge red" not in page


def test_a_user_cannot_mark_another_users_note(client):
    other = note("别人的消息", user_id=user("qiye2").id)
    login(client, "qiye")
    assert client.post(f"/tasks/notes/{other.id}/read").status_code == 403
    assert client.post("/tasks/notes/999999/read").status_code == 404
    client.post("/tasks/notes/read-all")  # touches only my own notes
    db.session.expire_all()
    assert db.session.get(Notification, other.id).read_at is None


def test_a_department_note_is_shared_and_read_once_for_the_department(client):
    shouli, banli = user("shouli"), user("banli")
    assert shouli.department_id == banli.department_id
    other_department = db.session.query(Department).filter(Department.id != shouli.department_id).first()
    shared = note("部门待阅", department_id=shouli.department_id)
    foreign = note("外部门待阅", department_id=other_department.id)

    login(client, "banli")
    assert "部门待阅" in client.get("/tasks/?tab=unread").data.decode()
    assert client.post(f"/tasks/notes/{foreign.id}/read").status_code == 403
    client.post("/logout")
    login(client, "shouli")
    assert client.post(f"/tasks/notes/{shared.id}/read").status_code == 302
    client.post("/logout")
    login(client, "banli")
    assert "部门待阅" in client.get("/tasks/?tab=read").data.decode()
    assert "部门待阅" not in client.get("/tasks/?tab=unread").data.decode()


def notice_code(i: int) -> str:
    """A valid project code (check digit included) per test notice."""
    from stdnum.iso7064 import mod_11_10

    body = f"26014407040403{i:05d}"
    return f"{body[:4]}-{body[4:10]}-{body[10:12]}-{body[12:14]}-{body[14:]}{mod_11_10.calc_check_digit(body)}"


def add_notices(count: int = 45) -> None:
    kinds = ["filing", "change", "cancellation"]
    start = date(2026, 1, 1)
    for i in range(count):
        db.session.add(PublicNotice(kind=kinds[i % 3], project_code=notice_code(i),
                                    project_name=f"测试项目{i:02d}号", authority="江门市江海区发展和改革局",
                                    document_number=f"备{i:04d}", published_on=start + timedelta(days=i),
                                    detail=f"说明{i}"))
    db.session.commit()


def test_notices_are_public_paged_and_newest_first(client):
    add_notices(45)
    page1 = client.get("/public/notices").data.decode()
    assert "共 45 条，第 1/3 页" in page1 and "下一页" in page1 and "上一页" not in page1
    assert page1.count("<tr>") - 1 == 20  # header row + 20
    assert page1.index("测试项目44号") < page1.index("测试项目43号")
    assert f'href="/public/projects/{notice_code(44)}"' in page1
    page3 = client.get("/public/notices?page=3").data.decode()
    assert "共 45 条，第 3/3 页" in page3 and "上一页" in page3 and "下一页" not in page3
    assert page3.count("<tr>") - 1 == 5 and "测试项目00号" in page3
    for bad in ("0", "-2", "abc", "999"):
        response = client.get(f"/public/notices?page={bad}")
        assert response.status_code == 200
    assert "第 3/3 页" in client.get("/public/notices?page=999").data.decode()
    assert "共 45 条" in client.get("/public/notices?kind=nonsense").data.decode()


def test_notices_filter_by_kind_and_search_by_code_or_name(client):
    add_notices(45)
    changes = client.get("/public/notices?kind=change").data.decode()
    assert "共 15 条，第 1/1 页" in changes and "测试项目01号" in changes and "测试项目00号" not in changes
    by_code = client.get(f"/public/notices?q={notice_code(7)[12:]}").data.decode()  # a part of the code
    assert "共 1 条" in by_code and "测试项目07号" in by_code
    by_name = client.get("/public/notices?q=测试项目1").data.decode()
    assert "共 10 条" in by_name
    both = client.get("/public/notices?kind=filing&q=测试项目1").data.decode()
    assert "共 3 条" in both  # 测试项目10–19号 of kind filing: 12, 15 and 18
    assert "共 0 条" in client.get("/public/notices?q=100%25").data.decode()  # LIKE wildcards are literal


def test_sms_outbox_is_for_admins_and_masks_phones(client):
    db.session.add(SmsMessage(phone="13800138000", text="【投资项目在线审批监管平台】您的备案已办结", gateway="outbox"))
    db.session.commit()
    login(client, "qiye")
    assert client.get("/admin/sms").status_code == 403
    assert "短信发件箱" not in client.get("/tasks/").data.decode()
    client.post("/logout")
    login(client, "admin")
    page = client.get("/admin/sms").data.decode()
    assert "138****8000" in page and "13800138000" not in page
    assert "您的备案已办结" in page and "仅记录，不实际发送" in page
    assert "短信发件箱" in page and "公示公告" in page


def test_signed_out_nav_shows_public_notices(client):
    page = client.get("/public/notices").data.decode()
    assert "公示公告" in page and "任务中心" not in page


def test_todo_rows_link_to_where_the_task_is_done(app, ctx):
    from types import SimpleNamespace

    from app.web.taskcentre import task_link

    with app.test_request_context():
        progress = SimpleNamespace(id=7, instance_id=42, candidate_role="applicant", business_key="permit:3", scope="2026")
        fill = SimpleNamespace(id=8, instance_id=43, candidate_role="applicant", business_key="filing:5", scope=None)
        supplement = SimpleNamespace(id=10, instance_id=45, candidate_role="applicant", business_key="declaration:6",
                                     scope="eia")
        review = SimpleNamespace(id=9, instance_id=44, candidate_role="acceptor", business_key="filing:5", scope=None)
        assert task_link(progress) == "/enterprise/permits/by-instance/42/progress"
        assert task_link(fill) == "/enterprise/filings/5"
        assert task_link(supplement) == "/enterprise/declarations/6"
        assert task_link(review) == "/reviewer/tasks/9"
