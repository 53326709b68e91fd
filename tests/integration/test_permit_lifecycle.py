"""After issue, through the Flask test client and the movable clock: change, extension, validity,
progress reminders, cancellation and revocation."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from app.domain.validity import DATES_BEYOND_VALIDITY, add_months
from app.extensions import db
from app.models import (
    Instance,
    Notification,
    PendingTimer,
    Permit,
    Project,
    PublicNotice,
    SmsMessage,
)
from app.services.calendar import today
from engine.tables import ProcessVersion
from tests.conftest import login
from tests.integration.lifecycle_helpers import (
    applicant_tasks,
    fire_timers,
    fresh,
    instance_status,
    issued_permit,
    latest_request,
    step,
    travel,
)


def _beijing(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour) - timedelta(hours=8)  # as UTC


def test_change_gives_letter_updates_figures_and_keeps_history(client, app):
    permit = issued_permit(client)
    page = client.get(f"/enterprise/permits/{permit.id}/change")
    assert page.status_code == 200 and "未勾选的项不作变更" in page.data.decode()

    nothing = client.post(f"/enterprise/permits/{permit.id}/change", data={"reason": "调整"})
    assert nothing.status_code == 422 and "请至少勾选一项" in nothing.data.decode()

    beyond = (permit.valid_until + timedelta(days=30)).isoformat()
    q9 = client.post(f"/enterprise/permits/{permit.id}/change",
                     data={"change_planned_end": "on", "planned_end": beyond, "reason": "工期延长"})
    assert q9.status_code == 422 and DATES_BEYOND_VALIDITY in q9.data.decode()

    sums = client.post(f"/enterprise/permits/{permit.id}/change",
                       data={"change_own_funds": "on", "own_funds": "900", "reason": "资金调整"})
    assert sums.status_code == 422 and "总投资" in sums.data.decode()  # the filing rules hold for changes too

    no_reason = client.post(f"/enterprise/permits/{permit.id}/change",
                            data={"change_scale_content": "on", "scale_content": "购置数控加工中心30台"})
    assert no_reason.status_code == 422 and "变更原因" in no_reason.data.decode()
    assert latest_request("change") is None  # nothing half-written

    new_end = (permit.valid_until - timedelta(days=10)).isoformat()
    ok = client.post(f"/enterprise/permits/{permit.id}/change", data={
        "change_scale_content": "on", "scale_content": "购置数控加工中心30台", "change_planned_end": "on",
        "planned_end": new_end, "reason": "市场需求扩大，增加设备"})
    assert ok.status_code == 302, ok.data.decode()
    request = latest_request("change")
    assert request.status == "submitted" and {c["field"] for c in request.changes} == {"scale_content", "planned_end"}
    again = client.post(f"/enterprise/permits/{permit.id}/change",
                        data={"change_contact_name": "on", "contact_name": "王五", "reason": "人员调整"})
    assert again.status_code == 409  # one change at a time

    assert step(client, "shouli", request, "accept", {"decision": "accept"}).status_code == 302
    assert step(client, "banli", request, "review", {"decision": "pass"}).status_code == 302
    assert step(client, "banli", request, "issue", {"confirm": "on", "opinion": "同意变更"}).status_code == 302
    request = latest_request("change")
    assert request.status == "issued" and request.letter_number.startswith("BG")
    permit = fresh(permit)
    assert permit.current["planned_end"] == new_end and permit.current["scale_content"] == "购置数控加工中心30台"
    project = db.session.get(Project, permit.project_id)
    assert project.planned_end.isoformat() == new_end
    assert permit.certificate_id and db.session.query(PublicNotice).filter_by(kind="change").count() == 1

    letter = client.get(f"/enterprise/requests/{request.id}/letter.pdf")
    assert letter.status_code == 200 and letter.data.startswith(b"%PDF")
    shown = client.get(f"/enterprise/permits/{permit.id}").data.decode()
    assert request.letter_number in shown and "购置数控加工中心20台 → 购置数控加工中心30台" in shown

    client.post("/logout")
    login(client, "qiye2")
    assert client.get(f"/enterprise/permits/{permit.id}").status_code == 403
    assert client.get(f"/enterprise/requests/{request.id}/letter.pdf").status_code == 403
    assert client.post(f"/enterprise/permits/{permit.id}/cancel", data={"reason": "x"}).status_code == 403


def test_refused_change_leaves_figures(client, app):
    permit = issued_permit(client)
    before = dict(permit.current)
    client.post(f"/enterprise/permits/{permit.id}/change",
                data={"change_contact_name": "on", "contact_name": "王五", "reason": "人员调整"})
    request = latest_request("change")
    step(client, "shouli", request, "accept", {"decision": "accept"})
    assert step(client, "banli", request, "review", {"decision": "refuse"}).status_code == 422  # opinion required
    assert step(client, "banli", request, "review", {"decision": "refuse", "opinion": "理由不充分"}).status_code == 302
    assert latest_request("change").status == "refused" and fresh(permit).current == before
    note = db.session.query(Notification).filter(Notification.title.like("%不予同意%理由不充分%")).one()
    assert note.user_id is not None


def test_extension_once_then_lapse_at_three_years(client, app):
    permit = issued_permit(client)
    issued, first_until = permit.issued_on, permit.valid_until
    assert client.post(f"/enterprise/permits/{permit.id}/extension", data={"reason": ""}).status_code == 422
    assert client.post(f"/enterprise/permits/{permit.id}/extension",
                       data={"reason": "资金未到位，需延期开工"}).status_code == 302
    request = latest_request("extension")
    assert request.changes[0]["after"] == first_until.replace(year=first_until.year + 1).isoformat()
    assert step(client, "shouli", request, "accept", {"decision": "accept"}).status_code == 302
    assert step(client, "banli", request, "decide", {"decision": "pass"}).status_code == 302
    permit = fresh(permit)
    assert permit.extended_on == today() and permit.valid_until == first_until.replace(year=first_until.year + 1)
    assert db.session.query(PublicNotice).filter_by(kind="extension").count() == 1
    timer = db.session.query(PendingTimer).filter_by(instance_id=permit.validity_instance_id).one()
    assert timer.due_at == _beijing(permit.valid_until + timedelta(days=1), 0)

    second = client.post(f"/enterprise/permits/{permit.id}/extension", data={"reason": "再延"})
    assert second.status_code == 409 and "只能延期一次" in second.data.decode()

    travel(moment=_beijing(first_until + timedelta(days=2)))  # past the first date: the extension holds
    fire_timers(app)
    assert fresh(permit).status == "valid"
    travel(moment=_beijing(issued.replace(year=issued.year + 3) + timedelta(days=1)))
    assert fire_timers(app) >= 1
    permit = fresh(permit)
    assert permit.status == "lapsed" and instance_status(permit.validity_instance_id) == "completed"
    late = client.post(f"/enterprise/permits/{permit.id}/extension", data={"reason": "晚了"})
    assert late.status_code == 409 and "失效" in late.data.decode()


def test_lapse_after_two_years_unless_started(client, app):
    lapsing = issued_permit(client)
    started = issued_permit(client)
    travel(moment=_beijing(add_months(started.issued_on, 23)))  # 1 year 11 months
    ok = client.post(f"/enterprise/permits/{started.id}/progress",
                     data={"actual_start": (today() - timedelta(days=3)).isoformat(), "completed_on": ""})
    assert ok.status_code == 302, ok.data.decode()
    started = fresh(started)
    assert started.started_on is not None and instance_status(started.validity_instance_id) == "completed"
    assert db.session.query(Notification).filter(Notification.department_id == started.department_id,
                                                 Notification.kind == "progress").count() == 1

    travel(moment=_beijing(lapsing.valid_until + timedelta(days=1)))
    assert fire_timers(app) >= 1
    assert fresh(lapsing).status == "lapsed" and fresh(started).status == "valid"
    assert db.session.query(SmsMessage).filter(SmsMessage.text.like("%已自动失效%")).count() >= 1
    page = client.get(f"/enterprise/permits/{started.id}").data.decode()
    assert "长期有效" in page

    # 004 Q6: a start date entered by mistake can be cleared; the validity runs again (and has passed).
    client.post(f"/enterprise/permits/{started.id}/progress", data={"actual_start": "", "completed_on": ""})
    assert fresh(started).started_on is None
    fire_timers(app)
    assert fresh(started).status == "lapsed"


def test_reminders_appear_and_disappear(client, app):
    permit = issued_permit(client)
    planned_end = date.fromisoformat(permit.current["planned_end"])
    december = date(today().year, 12, 1)
    assert december < add_months(planned_end, -2)  # the seed dates put December first

    travel(moment=_beijing(december))
    fire_timers(app)
    tasks = applicant_tasks(permit)
    assert [t.bpmn_id for t in tasks] == ["yearly_report"] and tasks[0].scope == str(december.year)
    assert tasks[0].assignee is not None
    todo = client.get("/tasks/?tab=todo")
    assert todo.status_code in (200, 404)  # the task centre lists it (tested in its own file)
    bad = client.post(f"/enterprise/permits/{permit.id}/progress", data={
        "actual_start": "", "completed_on": "", "year": [str(december.year)], "invested": ["-1"], "progress": [""]})
    assert bad.status_code == 422 and "完成投资额" in bad.data.decode() and "建设进程" in bad.data.decode()
    assert applicant_tasks(permit)  # nothing changed
    ok = client.post(f"/enterprise/permits/{permit.id}/progress", data={
        "actual_start": "", "completed_on": "", "year": [str(december.year)], "invested": ["120.5"],
        "progress": ["完成厂房改造"]})
    assert ok.status_code == 302, ok.data.decode()
    assert applicant_tasks(permit) == []  # answered: the 待办 is gone

    travel(moment=_beijing(add_months(planned_end, -2) + timedelta(days=1)))
    fire_timers(app)
    assert [t.bpmn_id for t in applicant_tasks(permit)] == ["fill_dates"]
    travel(moment=_beijing(add_months(planned_end, -1) + timedelta(days=1)))
    fire_timers(app)
    assert [t.bpmn_id for t in applicant_tasks(permit)] == ["fill_dates_again"]
    assert db.session.query(SmsMessage).filter(SmsMessage.text.like("%再次提醒%")).count() == 1

    start, finish = today() - timedelta(days=300), today() - timedelta(days=1)
    long_note = "好" * 201
    assert client.post(f"/enterprise/permits/{permit.id}/progress", data={
        "actual_start": start.isoformat(), "completed_on": finish.isoformat(), "completion_note": long_note,
        "year": [str(december.year)], "invested": ["120.5"], "progress": ["完成厂房改造"]}).status_code == 422
    assert client.post(f"/enterprise/permits/{permit.id}/progress", data={
        "actual_start": start.isoformat(), "completed_on": finish.isoformat(), "completion_note": "已竣工投产",
        "year": [str(december.year)], "invested": ["120.5"], "progress": ["完成厂房改造"]}).status_code == 302
    permit = fresh(permit)
    assert applicant_tasks(permit) == [] and instance_status(permit.progress_instance_id) == "completed"
    assert permit.started_on == start


def test_cancel_tells_authority_and_blocks_revoke(client, app):
    permit = issued_permit(client)
    assert client.post(f"/enterprise/permits/{permit.id}/cancel", data={"reason": ""}).status_code == 422
    assert fresh(permit).status == "valid"
    assert client.post(f"/enterprise/permits/{permit.id}/cancel", data={"reason": "项目终止"}).status_code == 302
    permit = fresh(permit)
    assert permit.status == "cancelled" and permit.ended_on == today()
    assert instance_status(permit.validity_instance_id) == "completed"
    assert instance_status(permit.progress_instance_id) == "completed"
    assert db.session.query(PendingTimer).filter(PendingTimer.instance_id.in_(
        [permit.validity_instance_id, permit.progress_instance_id])).count() == 0
    note = db.session.query(Notification).filter_by(department_id=permit.department_id, kind="cancelled").one()
    assert "项目终止" in note.title
    assert db.session.query(SmsMessage).filter(SmsMessage.text.like("%已由企业注销%")).count() >= 1
    assert db.session.query(PublicNotice).filter_by(kind="cancellation", project_code=permit.project.code).count() == 1

    client.post("/logout")
    login(client, "banli")
    response = client.post(f"/authority/permits/{permit.id}/revoke", data={"reason": "违规"})
    assert response.status_code == 409 and "已被企业注销" in response.data.decode()
    assert fresh(permit).status == "cancelled"


def test_revoke_tells_enterprise(client, app):
    permit = issued_permit(client)
    client.post("/logout")
    login(client, "qiye2")
    assert client.get(f"/authority/permits/{permit.id}").status_code == 403
    client.post("/logout")
    login(client, "banli")
    assert client.get("/authority/permits").status_code == 200
    assert client.post(f"/authority/permits/{permit.id}/revoke", data={"reason": ""}).status_code == 422
    assert client.post(f"/authority/permits/{permit.id}/revoke",
                       data={"reason": "提供虚假材料"}).status_code == 302
    permit = fresh(permit)
    assert permit.status == "revoked"
    notes = db.session.query(Notification).filter_by(kind="revoked").all()
    assert notes and all(n.user_id is not None for n in notes)
    assert db.session.query(PublicNotice).filter_by(kind="revocation").count() == 1
    client.post("/logout")
    login(client, "qiye")
    again = client.post(f"/enterprise/permits/{permit.id}/cancel", data={"reason": "不做了"})
    assert again.status_code == 409 and "撤销" in again.data.decode()


def test_redeploy_of_validity_keeps_running_timer_on_its_version(client, app):
    from pathlib import Path

    from app.services.platform import forms
    from engine.deploy import Bundle, TaskRules, deploy_bundle

    old = issued_permit(client)
    old_version = db.session.get(Instance, old.validity_instance_id).process_version_id
    source = (Path(app.config["PROCESSES_DIR"]) / "validity.bpmn").read_bytes()
    changed = source.replace("逾期未开工，自动失效".encode(), "逾期未开工，自动失效（第二版）".encode())
    deploy_bundle(db.session, Bundle("validity.bpmn", changed, []), TaskRules(form_exists=forms().exists), "policy")
    db.session.commit()
    new = issued_permit(client)
    new_version = db.session.get(Instance, new.validity_instance_id).process_version_id
    assert new_version != old_version
    versions = {v.id: v.version for v in db.session.query(ProcessVersion).filter_by(process_key="validity")}
    assert versions[new_version] == versions[old_version] + 1

    travel(moment=_beijing(old.valid_until + timedelta(days=1)))
    fire_timers(app)
    assert fresh(old).status == "lapsed" and fresh(new).status == "lapsed"
    assert db.session.get(Instance, old.validity_instance_id).process_version_id == old_version


def test_authorisation_decision_is_a_permit_that_changes_and_extends(client, app):
    """A 核准文件 lives like a 备案证: valid 2 years (673号令 art 12), changed with a 变更函 (art 11)."""
    from tests.integration.approval_helpers import approve_item, declare, new_project

    login(client, "qiye")
    declaration = declare(client, new_project(client))
    approve_item(client, declaration, "authorisation")
    db.session.expire_all()
    permit = db.session.query(Permit).filter_by(kind="authorisation").one()
    assert permit.number == "江authorisation〔2026〕1号" and permit.valid_until == add_months(permit.issued_on, 24)
    client.post("/logout")
    login(client, "qiye")
    page = client.get("/enterprise/").data.decode()
    assert f"/enterprise/permits/{permit.id}" in page
    response = client.post(f"/enterprise/permits/{permit.id}/change", data={
        "change_total_investment": "on", "total_investment": "abc", "reason": "投资调整"})
    assert response.status_code == 422 and "总投资" in response.data.decode()
    assert client.post(f"/enterprise/permits/{permit.id}/change", data={
        "change_total_investment": "on", "total_investment": "52000", "change_funding": "on",
        "funding": "企业自筹 60%，银行贷款 40%", "reason": "设备价格上涨"}).status_code == 302
    request = latest_request("change")
    assert step(client, "sfg_shouli", request, "accept", {"decision": "accept"}).status_code == 302
    assert step(client, "sfg_banli", request, "review", {"decision": "pass"}).status_code == 302
    assert step(client, "sfg_banli", request, "issue", {"confirm": "on"}).status_code == 302
    permit = fresh(permit)
    assert permit.current["total_investment"] == "52000" and str(permit.project.total_investment.normalize()) == "5.2E+4"
    letter = client.get(f"/enterprise/requests/{latest_request('change').id}/letter.pdf")
    assert letter.status_code == 200 and letter.data.startswith(b"%PDF")

    # 673号令 art 12: a 核准文件 is extended only on an application made 30 working days before expiry.
    permit = fresh(permit)
    travel(days=(permit.valid_until - today()).days - 20)
    response = client.post(f"/enterprise/permits/{permit.id}/extension", data={"reason": "征地拆迁未完成"})
    assert response.status_code == 409
    assert "核准文件延期须在有效期届满30个工作日前提出" in client.get(
        f"/enterprise/permits/{permit.id}/extension").data.decode()
