"""Input hygiene (issue 11 §2, defects 3, 4, 9, 12): what PostgreSQL refuses deep inside a transaction (a NUL,
a text longer than its column, an integer beyond INTEGER) is refused up front with a Chinese message naming
the field; texts the platform composes are shortened; a timer that fails is counted, backs off, stops and is
shown to an operator. Run with TEST_DB=postgres: on SQLite most of these defects never showed."""
from __future__ import annotations

import io
import logging
from datetime import UTC, datetime, timedelta

import pytest

from app.extensions import db
from app.models import (
    ApprovalItem,
    Attachment,
    ItemCase,
    Notification,
    PendingTimer,
    Permit,
    PostRequest,
    Project,
)
from app.services.platform import runtime
from engine import clock
from engine.runtime import TIMER_MAX_ATTEMPTS
from engine.scheduler import run_due_timers
from tests.conftest import login
from tests.integration.approval_helpers import (
    FOUR_ITEMS,
    TENDER,
    approve_item,
    case_of,
    declare,
    new_project,
    pdf_bytes,
    start_declaration,
    step,
)
from tests.integration.helpers import act, apply_code, code_form, db_scope, submit_filing
from tests.integration.lifecycle_helpers import issued_permit

HUGE = "9" * 30


def _text(response) -> str:
    return response.get_data(as_text=True)


# ---- defect 4: NUL and other control characters ------------------------------------------------------------
def test_nul_is_refused_for_anonymous_visitors_naming_the_field(client):
    response = client.post("/login", data={"username": "qiye\x00", "password": "Demo@2026"})
    assert response.status_code == 422
    assert "「用户名」含有不允许的控制字符" in _text(response)

    response = client.get("/verify/12%00")
    assert response.status_code == 400 and "网址中含有不允许的控制字符" in _text(response)

    response = client.get("/public/notices?q=a%00b")
    assert response.status_code == 422 and "「查询关键字」含有不允许的控制字符" in _text(response)

    response = client.post("/login", json={"username": "qiye", "password": "x\x00"},
                           headers={"Accept": "application/json"})
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"password": "「密码」含有不允许的控制字符（如 NUL），请删除后重新提交"}


def test_control_characters_in_a_text_field_are_refused_by_their_label_but_tab_and_newline_are_text(client):
    login(client, "qiye")
    before = db.session.query(Project).count()
    response = client.post("/enterprise/code/new", data=code_form(name="江海区零部件\x07改造项目"))
    assert response.status_code == 422 and "「项目名称」含有不允许的控制字符" in _text(response)
    assert db.session.query(Project).count() == before

    response = client.post("/enterprise/code/new", data=code_form(scale_content="购置数控加工中心20台；\r\n\t改造生产线2条"))
    assert response.status_code == 302
    assert db.session.query(Project).order_by(Project.id.desc()).first().scale_content.endswith("\t改造生产线2条")


def test_a_change_whose_scale_content_holds_a_nul_is_refused_before_it_exists(client):
    permit = issued_permit(client)
    response = client.post(f"/enterprise/permits/{permit.id}/change", data={
        "change_scale_content": "on", "scale_content": "购置数控加工中心30台\x00", "reason": "扩大产能"})
    assert response.status_code == 422
    assert "「建设规模及内容」含有不允许的控制字符" in _text(response)
    assert db.session.query(PostRequest).filter_by(permit_id=permit.id).count() == 0


def test_a_nul_in_a_reviewer_opinion_is_named_by_the_label_of_that_task_form(client):
    login(client, "qiye")
    application = submit_filing(client, apply_code(client))
    response = act(client, "shouli", application, "accept", {"decision": "correction", "opinion": "请补正\x00材料"})
    assert response.status_code == 422 and "「意见说明」含有不允许的控制字符" in _text(response)
    db.session.expire_all()
    assert db.session.get(type(application), application.id).status == "submitted"


# ---- defect 9: integers the database cannot hold; the development clock; 413 -----------------------------------
def test_huge_integers_in_paths_and_queries_are_404_or_ignored_not_500(client):
    response = client.get(f"/public/notices?page={HUGE}")
    assert response.status_code == 200 and "公示公告" in _text(response)

    login(client, "shouli")
    assert client.post(f"/reviewer/tasks/{HUGE}/claim").status_code == 404
    assert client.get(f"/reviewer/tasks/{2**31}").status_code == 404
    client.post("/logout")

    login(client, "jiancha")
    response = client.get(f"/supervision/?department={HUGE}")
    assert response.status_code == 200
    client.post("/logout")

    login(client, "zhengce")
    response = client.get("/admin/calendar?year=99999999999")
    assert response.status_code == 200
    from app.services.calendar import today

    this_year = today().year  # the platform's year is Beijing's, not the server's (1 Jan 04:00 vs 31 Dec 20:00 UTC)
    assert f"{this_year}" in _text(response) and "99999999999" not in _text(response)


def test_a_material_id_beyond_integer_is_refused_with_422(client):
    project = new_project(client)
    declaration_id = start_declaration(client, project)
    assert client.post(f"/enterprise/declarations/{declaration_id}/answers", data=FOUR_ITEMS).status_code == 302
    response = client.post(f"/enterprise/declarations/{declaration_id}/attachments", data={
        "item_code": "authorisation", "material_id": HUGE, "file": (io.BytesIO(pdf_bytes()), "材料.pdf")},
        content_type="multipart/form-data")
    assert response.status_code == 422
    assert db.session.query(Attachment).filter_by(declaration_id=declaration_id).count() == 0


def test_the_development_clock_refuses_non_finite_and_out_of_range_hours(client):
    login(client, "zhengce")
    clock.travel_to(datetime(2026, 12, 1, 2, 0, tzinfo=UTC))
    offset = clock.offset()
    for hours in ("nan", "inf", "-inf", "1e309", "-1e9", "九"):
        response = client.post("/admin/clock", data={"hours": hours})
        assert response.status_code == 422, hours
        assert "「小时数」" in _text(response)
        assert clock.offset() == offset, hours
    assert client.get("/tasks/").status_code == 200  # every page still answers

    clock.reset()
    response = client.post("/admin/clock", data={"hours": str(11 * 366 * 24)})  # past ten years ahead
    assert response.status_code == 422 and "十年" in _text(response)
    assert client.post("/admin/clock", data={"hours": "-48"}).status_code == 302
    assert clock.offset() == timedelta(hours=-48)


def test_the_development_clock_shows_beijing_time_whatever_the_server_zone(client):
    # The clock page moves only within a year of the real time, so the moment is the next New Year's night:
    # 16:30 UTC on 31 December, already 00:30 on 1 January in Beijing.
    new_year = datetime.now(UTC).year + 1
    login(client, "zhengce")
    clock.travel_to(datetime(new_year - 1, 12, 31, 16, 30, tzinfo=UTC))
    page = _text(client.get("/admin/clock"))
    assert f"当前平台时间（北京时间）：<strong id=\"now\">{new_year}-01-01 00:30</strong>" in page
    response = client.post("/admin/clock", data={"hours": "1"}, follow_redirects=True)
    assert f"平台时间已调整为北京时间 {new_year}-01-01 01:30" in _text(response)


def test_a_body_over_the_limit_gets_a_chinese_413_naming_the_file(app, client):
    login(client, "qiye")
    limit = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 2048
    try:
        response = client.post("/enterprise/declarations/1/attachments", data={
            "item_code": "authorisation", "file": (io.BytesIO(b"%PDF-" + b"0" * 5000), "大文件.pdf")},
            content_type="multipart/form-data")
        assert response.status_code == 413 and "「文件」不能超过20MB" in _text(response)
        response = client.post("/enterprise/declarations/1/attachments", data="x" * 5000,
                               headers={"Accept": "application/json"}, content_type="application/x-www-form-urlencoded")
        assert response.status_code == 413 and "「文件」" in response.get_json()["message"]
    finally:
        app.config["MAX_CONTENT_LENGTH"] = limit


# ---- defect 12: long upload names keep their extension ---------------------------------------------------------
def test_a_long_upload_name_keeps_its_pdf_extension(client):
    project = new_project(client)
    declaration_id = start_declaration(client, project)
    assert client.post(f"/enterprise/declarations/{declaration_id}/answers", data=FOUR_ITEMS).status_code == 302
    material = db.session.query(ItemCase).filter_by(declaration_id=declaration_id, item_code="authorisation").one() \
        .item.materials[0]
    response = client.post(f"/enterprise/declarations/{declaration_id}/attachments", data={
        "item_code": "authorisation", "material_id": str(material.id),
        "file": (io.BytesIO(pdf_bytes()), "项目申请报告" * 40 + ".pdf")}, content_type="multipart/form-data")
    assert response.status_code == 302
    attachment = db.session.query(Attachment).filter_by(declaration_id=declaration_id).one()
    assert attachment.filename == ("项目申请报告" * 40)[:196] + ".pdf"


# ---- defect 3: texts longer than their column ------------------------------------------------------------------
@pytest.mark.parametrize("steps", [
    [("shouli", "accept", "correction")],  # 补正
    [("shouli", "accept", "reject")],  # 不予受理
    [("shouli", "accept", "accept"), ("banli", "review", "return")],  # 退回
], ids=["correction", "not-accepted", "returned"])
def test_long_opinions_are_kept_whole_and_their_notifications_shortened(client, steps):
    login(client, "qiye")
    application = submit_filing(client, apply_code(client))
    opinion = "请补充项目建设内容的详细说明。" * 60  # 900 characters: the forms allow 1000
    for username, bpmn_id, decision in steps:
        data = {"decision": decision, "opinion": opinion if decision != "accept" else ""}
        assert act(client, username, application, bpmn_id, data).status_code == 302
    db.session.expire_all()
    assert db.session.get(type(application), application.id).last_opinion == opinion
    note = db.session.query(Notification).filter_by(user_id=application.applicant_id, kind="result") \
        .order_by(Notification.id.desc()).first()
    assert len(note.title) == 200 and note.title.endswith("…") and application.number in note.title


def test_a_doc_number_longer_than_the_permit_number_is_refused_naming_the_field(client):
    declaration = declare(client, new_project(client))
    step(client, "sfg_shouli", declaration, "authorisation", {"decision": "accept", "code_verified": "on"})
    step(client, "sfg_banli", declaration, "authorisation", {"decision": "decide", "opinion": "材料齐全，符合要求"})
    form = {"result": "approve", "doc_number": "江发改核准〔2026〕" + "1" * 38 + "号", "doc_title": "关于核准的批复",
            "opinion": "同意。", **TENDER}
    response = step(client, "sfg_banli", declaration, "authorisation", form, expect=422)
    assert "「文号」不能超过40字" in _text(response)
    assert case_of(declaration, "authorisation").status == "handling"
    assert db.session.query(Permit).filter_by(kind="authorisation").count() == 0


def test_a_doc_number_already_used_is_refused_naming_the_field(client):
    def decide(declaration, expect: int):
        step(client, "sfg_shouli", declaration, "authorisation", {"decision": "accept", "code_verified": "on"})
        step(client, "sfg_banli", declaration, "authorisation", {"decision": "decide", "opinion": "材料齐全"})
        form = {"result": "approve", "doc_number": "江发改核准〔2026〕7号", "doc_title": "关于核准的批复",
                "opinion": "同意。", **TENDER}
        return step(client, "sfg_banli", declaration, "authorisation", form, expect=expect)

    decide(declare(client, new_project(client)), 302)
    second = declare(client, new_project(client, name="江门市第二个新材料核准项目"))
    response = decide(second, 422)
    assert "「文号」江发改核准〔2026〕7号 已被其他核准文件或备案证使用" in _text(response)
    assert case_of(second, "authorisation").status == "handling" and case_of(second, "authorisation").decision is None
    assert db.session.query(Permit).filter_by(kind="authorisation").count() == 1


def _long_named_item(code: str) -> str:
    item = db.session.get(ApprovalItem, code)
    original = item.name
    item.name = ("环境影响评价审批" * 13)[:100]
    db.session.commit()
    return original


def test_yellow_and_red_lights_fire_for_a_long_project_name_and_a_long_item_name(client):
    original = _long_named_item("eia")
    try:
        declaration = declare(client, new_project(client, name=("江门市示范新材料产业园核准项目" * 7)[:100]))
    finally:
        db.session.get(ApprovalItem, "eia").name = original
        db.session.commit()
    step(client, "hb_shouli", declaration, "eia", {"decision": "accept", "code_verified": "on"})
    timers = {t.bpmn_id: t.due_at for t in db.session.query(PendingTimer).filter_by(instance_id=declaration.instance_id)}
    clock.travel_to(timers["warn"] + timedelta(seconds=1))
    assert run_due_timers(runtime(), db_scope) == 1
    clock.travel_to(timers["overdue"] + timedelta(seconds=1))
    assert run_due_timers(runtime(), db_scope) == 1
    case = case_of(declaration, "eia")
    assert case.overdue
    titles = [n.title for n in db.session.query(Notification).filter_by(department_id=case.department_id)
              if n.kind != "new_task"]  # the 黄灯 and 红灯 notes (new_task: a step arrived in the pool)
    assert len(titles) == 2 and all(len(t) == 200 and t.endswith("…") for t in titles)
    assert db.session.query(PendingTimer).filter(PendingTimer.attempts > 0).count() == 0


def test_a_failing_timer_is_logged_counted_backs_off_stops_and_is_shown_to_the_admin(client, caplog, monkeypatch):
    # The session fixture's `flask db upgrade` runs Alembic's fileConfig, which disables loggers that
    # already exist (a separate process in production): switch the scheduler's back on for this test.
    monkeypatch.setattr(logging.getLogger("engine.scheduler"), "disabled", False)
    declaration = declare(client, new_project(client))
    step(client, "sfg_shouli", declaration, "authorisation", {"decision": "accept", "code_verified": "on"})
    instance_id = declaration.instance_id
    warn_at = db.session.query(PendingTimer).filter_by(instance_id=instance_id, bpmn_id="warn").one().due_at

    def broken(session, instance, workflow, events, actor):
        if instance.id == instance_id and actor == "timer":
            raise RuntimeError("短信网关不可用")

    runtime().listeners.append(broken)
    try:
        moment = warn_at + timedelta(seconds=1)
        clock.travel_to(moment)
        with caplog.at_level(logging.ERROR, logger="engine.scheduler"):
            assert run_due_timers(runtime(), db_scope) == 0
        assert f"timer of instance {instance_id} failed (attempt 1 of {TIMER_MAX_ATTEMPTS}" in caplog.text
        assert "短信网关不可用" in caplog.text
        db.session.expire_all()
        timer = db.session.query(PendingTimer).filter_by(instance_id=instance_id, bpmn_id="warn").one()
        assert timer.attempts == 1 and "RuntimeError: 短信网关不可用" in timer.last_error
        assert timer.retry_at == timer.failed_at + timedelta(minutes=1)
        assert run_due_timers(runtime(), db_scope) == 0  # backing off: not tried again before retry_at
        db.session.expire_all()
        assert db.session.get(PendingTimer, timer.id).attempts == 1

        for _ in range(TIMER_MAX_ATTEMPTS - 1):
            moment += timedelta(minutes=10)
            clock.travel_to(moment)
            run_due_timers(runtime(), db_scope)
        db.session.expire_all()
        timer = db.session.get(PendingTimer, timer.id)
        assert timer.attempts == TIMER_MAX_ATTEMPTS and timer.retry_at is None
        clock.travel_to(moment + timedelta(days=1))
        assert run_due_timers(runtime(), db_scope) == 0  # stopped: left for the operator
        assert db.session.get(PendingTimer, timer.id).attempts == TIMER_MAX_ATTEMPTS

        login(client, "admin")
        page = _text(client.get("/admin/timers"))
        assert f"{instance_id}（" in page and "已停止重试" in page and "短信网关不可用" in page
    finally:
        runtime().listeners.remove(broken)

    assert client.post(f"/admin/timers/{instance_id}/retry").status_code == 302
    assert run_due_timers(runtime(), db_scope) == 1
    db.session.expire_all()
    assert db.session.query(PendingTimer).filter_by(instance_id=instance_id, bpmn_id="warn").count() == 0
    assert "已停止重试" not in _text(client.get("/admin/timers"))
    assert any("黄灯" in n.title for n in db.session.query(Notification).filter_by(
        department_id=case_of(declaration, "authorisation").department_id))


def test_a_authorisation_change_with_an_address_longer_than_the_project_holds_is_refused(client):
    declaration = declare(client, new_project(client))
    approve_item(client, declaration, "authorisation")
    permit = db.session.query(Permit).filter_by(kind="authorisation").one()
    client.post("/logout")
    login(client, "qiye")
    response = client.post(f"/enterprise/permits/{permit.id}/change", data={
        "change_address": "on", "address": "明辉路" * 70, "reason": "选址调整"})
    assert response.status_code == 422 and "「建设地点（详细地址）」不能超过200字" in _text(response)
    assert db.session.query(PostRequest).filter_by(permit_id=permit.id).count() == 0


def test_policy_rule_and_holiday_texts_longer_than_their_columns_are_refused_not_cut(client):
    login(client, "zhengce")
    response = client.post("/admin/policy-rules/new", data={
        "id": "long_title", "kind": "restricted", "title": "规则" * 101, "industry_prefixes": "C31",
        "message": "不予备案", "source": "依据" * 151, "active": "on"})
    assert response.status_code == 422
    page = _text(response)
    assert "「规则名称」不能超过200字" in page and "「依据」不能超过300字" in page

    response = client.post("/admin/calendar/day", data={"day": "2027-10-08", "kind": "holiday", "name": "国庆节" * 17})
    assert response.status_code == 422 and "「名称」不能超过50字" in _text(response)
    from app.models import CalendarDay

    assert db.session.get(CalendarDay, datetime(2027, 10, 8).date()) is None
