"""After issue, through the Flask test client and the movable clock: change, extension, validity,
progress reminders, cancellation and revocation.

Tests whose dates matter (validity, reminders) start the platform clock at a moment they name; the others
run at whatever date it is (under `make test-faketime`, the faked one) and compare with the permit's own dates.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

import lxml.html
import pytest

from app.domain.validity import DATES_BEYOND_VALIDITY, add_months
from app.extensions import db
from app.models import (
    Instance,
    Notification,
    PendingTimer,
    Permit,
    Project,
    ProjectProgress,
    PublicNotice,
    SmsMessage,
)
from app.services.calendar import today
from engine.tables import ProcessVersion
from tests.conftest import at, login
from tests.integration.lifecycle_helpers import (
    applicant_tasks,
    error_summary,
    field_messages,
    fire_timers,
    fresh,
    instance_status,
    issued_permit,
    latest_request,
    page_alert,
    step,
    travel,
)


def _midnight_utc(day: date) -> datetime:
    """00:00 Beijing time of a day as the naive UTC the timer table stores."""
    return datetime(day.year, day.month, day.day) - timedelta(hours=8)


def test_change_gives_letter_updates_figures_and_keeps_history(client, app):
    permit = issued_permit(client)
    page = client.get(f"/enterprise/permits/{permit.id}/change")
    current = lxml.html.fromstring(page.data.decode())
    assert page.status_code == 200
    # The form offers every field unticked, showing what the certificate holds now.
    assert current.xpath("//input[@name='change_scale_content']/@checked") == []
    assert current.xpath("string(//tr[@id='field-scale_content']/td[3])").strip() == "购置数控加工中心20台"

    nothing = client.post(f"/enterprise/permits/{permit.id}/change", data={"reason": "调整"})
    assert nothing.status_code == 422 and page_alert(nothing.data.decode()) == "请勾选需要变更的事项"
    assert error_summary(nothing.data.decode()) == ["请至少勾选一项需要变更的事项（未勾选的项不作变更）"]

    beyond = (permit.valid_until + timedelta(days=30)).isoformat()
    q9 = client.post(f"/enterprise/permits/{permit.id}/change",
                     data={"change_planned_end": "on", "planned_end": beyond, "reason": "工期延长"})
    assert q9.status_code == 422 and field_messages(q9.data.decode()) == {"planned_end": DATES_BEYOND_VALIDITY}

    sums = client.post(f"/enterprise/permits/{permit.id}/change",
                       data={"change_own_funds": "on", "own_funds": "900", "reason": "资金调整"})
    # The filing rules hold for changes too: the sources no longer add up to the total.
    marked = field_messages(sums.data.decode())
    assert sums.status_code == 422 and list(marked) == ["total_investment"]
    assert marked["total_investment"].startswith(
        "「总投资」金额与「自有资金」、「国内贷款」、「股票(债券)」、「其他资金」的总额不相等（合计 1,500")

    no_reason = client.post(f"/enterprise/permits/{permit.id}/change",
                            data={"change_scale_content": "on", "scale_content": "购置数控加工中心30台"})
    assert no_reason.status_code == 422 and field_messages(no_reason.data.decode()) == {"reason": "请填写「变更原因」"}
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
    no_opinion = step(client, "banli", request, "review", {"decision": "refuse"})
    assert no_opinion.status_code == 422 and field_messages(no_opinion.data.decode()) == {"opinion": "请填写「审核意见」"}
    assert step(client, "banli", request, "review", {"decision": "refuse", "opinion": "理由不充分"}).status_code == 302
    assert latest_request("change").status == "refused" and fresh(permit).current == before
    note = db.session.query(Notification).filter(Notification.title.like("%不予同意%理由不充分%")).one()
    assert note.user_id is not None


@pytest.mark.parametrize(("issued_at", "first_until", "extended_until"), [
    ("2026-03-10 10:00", date(2028, 3, 10), date(2029, 3, 10)),
    # Issued on 29 February: two and three years on have no such day, the validity ends on 28 February
    # (民法典第二百零二条), and 2028 is a year whose holidays are not published yet.
    ("2028-02-29 10:00", date(2030, 2, 28), date(2031, 2, 28)),
])
def test_extension_once_then_lapse_at_three_years(client, app, issued_at, first_until, extended_until):
    issued = at(issued_at).date()
    permit = issued_permit(client)
    assert (permit.issued_on, permit.valid_until) == (issued, first_until)
    empty = client.post(f"/enterprise/permits/{permit.id}/extension", data={"reason": ""})
    assert empty.status_code == 422 and field_messages(empty.data.decode()) == {"reason": "请填写「延期原因」"}
    assert client.post(f"/enterprise/permits/{permit.id}/extension",
                       data={"reason": "资金未到位，需延期开工"}).status_code == 302
    request = latest_request("extension")
    assert request.changes[0]["after"] == extended_until.isoformat()
    assert step(client, "shouli", request, "accept", {"decision": "accept"}).status_code == 302
    assert step(client, "banli", request, "decide", {"decision": "pass"}).status_code == 302
    permit = fresh(permit)
    assert permit.extended_on == issued and permit.valid_until == extended_until
    assert db.session.query(PublicNotice).filter_by(kind="extension").count() == 1
    timer = db.session.query(PendingTimer).filter_by(instance_id=permit.validity_instance_id).one()
    assert timer.due_at == _midnight_utc(extended_until + timedelta(days=1))

    second = client.post(f"/enterprise/permits/{permit.id}/extension", data={"reason": "再延"})
    assert second.status_code == 409 and page_alert(second.data.decode()) == (
        f"该备案证已于 {issued:%Y-%m-%d} 延期一次（有效期至 {extended_until:%Y-%m-%d}），每个备案证只能延期一次")

    travel(moment=first_until + timedelta(days=2))  # past the first date: the extension holds
    fire_timers(app)
    assert fresh(permit).status == "valid"
    at(f"{extended_until} 23:59")  # the last valid day, to its end
    fire_timers(app)
    assert fresh(permit).status == "valid" and instance_status(permit.validity_instance_id) != "completed"
    travel(moment=extended_until + timedelta(days=1))
    assert fire_timers(app) >= 1
    permit = fresh(permit)
    assert permit.status == "lapsed" and instance_status(permit.validity_instance_id) == "completed"
    late = client.post(f"/enterprise/permits/{permit.id}/extension", data={"reason": "晚了"})
    assert late.status_code == 409 and page_alert(late.data.decode()) == "该备案证已超过有效期自动失效，不能再办理该业务"


def test_lapse_after_two_years_unless_started(client, app):
    lapsing = issued_permit(client)
    started = issued_permit(client)
    travel(moment=add_months(started.issued_on, 23))  # 1 year 11 months
    ok = client.post(f"/enterprise/permits/{started.id}/progress",
                     data={"actual_start": (today() - timedelta(days=3)).isoformat(), "completed_on": ""})
    assert ok.status_code == 302, ok.data.decode()
    started = fresh(started)
    assert started.started_on is not None and instance_status(started.validity_instance_id) == "completed"
    assert db.session.query(Notification).filter(Notification.department_id == started.department_id,
                                                 Notification.kind == "progress").count() == 1

    travel(moment=lapsing.valid_until + timedelta(days=1))
    assert fire_timers(app) >= 1
    assert fresh(lapsing).status == "lapsed" and fresh(started).status == "valid"
    assert db.session.query(SmsMessage).filter(SmsMessage.text.like("%已自动失效%")).count() >= 1
    page = lxml.html.fromstring(client.get(f"/enterprise/permits/{started.id}").data.decode())
    assert page.xpath("string(//td[@id='validity'])").split() == [
        "项目已于", started.started_on.isoformat(), "开工，长期有效"]

    # 004 Q6: a start date entered by mistake can be cleared; the validity runs again (and has passed).
    client.post(f"/enterprise/permits/{started.id}/progress", data={"actual_start": "", "completed_on": ""})
    assert fresh(started).started_on is None
    fire_timers(app)
    assert fresh(started).status == "lapsed"


def _todo_rows(client) -> list[dict[str, str]]:
    """The task centre's 待办 table as the applicant sees it."""
    response = client.get("/tasks/?tab=todo")
    assert response.status_code == 200
    page = lxml.html.fromstring(response.data.decode())
    return [{"title": row.xpath("string(td[2])").strip(), "due": row.xpath("string(td[4])").strip(),
             "link": row.xpath("string(td[6]/a/@href)")} for row in page.xpath("//table[@id='todo']/tbody/tr[td[6]/a]")]


@pytest.mark.clock("2026-03-10 10:00")
def test_reminders_appear_and_disappear(client, app):
    # Issued 2026-03-10; the helpers plan the works from 2026-04-09 to 2027-04-09, so the December report
    # comes first (2026-12-01), then the dates reminders 2 and 1 months before completion.
    permit = issued_permit(client)
    assert permit.current["planned_end"] == "2027-04-09"

    travel(moment="2026-11-30 23:59")  # the eve of December: nothing yet
    fire_timers(app)
    assert applicant_tasks(permit) == [] and _todo_rows(client) == []
    travel(moment="2026-12-01 10:00")
    fire_timers(app)
    tasks = applicant_tasks(permit)
    assert [t.bpmn_id for t in tasks] == ["yearly_report"] and tasks[0].scope == "2026"
    assert tasks[0].assignee is not None
    # The task centre lists it, due at the year's end, and leads to this permit's progress form.
    todo = _todo_rows(client)
    assert [(row["title"].endswith("请填报2026年度项目进度报告"), row["due"]) for row in todo] == [
        (True, "2026-12-31 23:59")]
    opened = client.get(todo[0]["link"])
    assert opened.status_code == 302 and opened.headers["Location"].endswith(f"/enterprise/permits/{permit.id}/progress")

    bad = client.post(f"/enterprise/permits/{permit.id}/progress", data={
        "actual_start": "", "completed_on": "", "year": ["2026"], "invested": ["-1"], "progress": ["完成厂房改造"]})
    assert bad.status_code == 422 and field_messages(bad.data.decode()) == {
        "invested_0": "第1行「完成投资额（万元）」请填写不小于0的数字，最多4位小数"}
    empty = client.post(f"/enterprise/permits/{permit.id}/progress", data={
        "actual_start": "", "completed_on": "", "year": ["2026"], "invested": ["120.5"], "progress": [""]})
    assert empty.status_code == 422 and field_messages(empty.data.decode()) == {"progress_0": "第1行请填写「建设进程」"}
    assert [t.bpmn_id for t in applicant_tasks(permit)] == ["yearly_report"]  # nothing changed
    blank = client.post(f"/enterprise/permits/{permit.id}/progress", data={  # nothing typed, nothing to clear
        "actual_start": "", "completed_on": "", "completion_note": "", "year": [""], "invested": [""], "progress": [""]})
    assert blank.status_code == 422 and field_messages(blank.data.decode()) == {
        "actual_start": "请至少填写「项目开工时间」「项目完工时间」或一行年度进度后再保存"}
    assert db.session.get(ProjectProgress, permit.project_id) is None
    ok = client.post(f"/enterprise/permits/{permit.id}/progress", data={
        "actual_start": "", "completed_on": "", "year": ["2026"], "invested": ["120.5"],
        "progress": ["完成厂房改造"]})
    assert ok.status_code == 302, ok.data.decode()
    assert applicant_tasks(permit) == [] and _todo_rows(client) == []  # answered: the 待办 is gone

    travel(moment="2027-02-09 08:59")  # 2 months before completion, before office hours
    fire_timers(app)
    assert applicant_tasks(permit) == []
    travel(moment="2027-02-09 09:01")
    fire_timers(app)
    assert [t.bpmn_id for t in applicant_tasks(permit)] == ["fill_dates"]
    travel(moment="2027-03-10 10:00")
    fire_timers(app)
    assert [t.bpmn_id for t in applicant_tasks(permit)] == ["fill_dates_again"]
    assert db.session.query(SmsMessage).filter(SmsMessage.text.like("%再次提醒%")).count() == 1

    start, finish = date(2026, 5, 11), date(2027, 3, 9)
    long_note = "好" * 201
    too_long = client.post(f"/enterprise/permits/{permit.id}/progress", data={
        "actual_start": start.isoformat(), "completed_on": finish.isoformat(), "completion_note": long_note,
        "year": ["2026"], "invested": ["120.5"], "progress": ["完成厂房改造"]})
    assert too_long.status_code == 422 and list(field_messages(too_long.data.decode())) == ["completion_note"]
    assert client.post(f"/enterprise/permits/{permit.id}/progress", data={
        "actual_start": start.isoformat(), "completed_on": finish.isoformat(), "completion_note": "已竣工投产",
        "year": ["2026"], "invested": ["120.5"], "progress": ["完成厂房改造"]}).status_code == 302
    permit = fresh(permit)
    assert applicant_tasks(permit) == [] and instance_status(permit.progress_instance_id) == "completed"
    assert permit.started_on == start


def test_cancel_tells_authority_and_blocks_revoke(client, app):
    permit = issued_permit(client)
    empty = client.post(f"/enterprise/permits/{permit.id}/cancel", data={"reason": ""})
    assert empty.status_code == 422 and field_messages(empty.data.decode()) == {"reason": "请填写「原因」"}
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
    assert response.status_code == 409
    assert page_alert(response.data.decode()) == f"该备案证已被企业注销（{permit.ended_on}），不能再撤销"
    assert fresh(permit).status == "cancelled"


def test_revoke_tells_enterprise(client, app):
    permit = issued_permit(client)
    client.post("/logout")
    login(client, "qiye2")
    assert client.get(f"/authority/permits/{permit.id}").status_code == 403
    client.post("/logout")
    login(client, "banli")
    listed = client.get("/authority/permits")
    assert listed.status_code == 200 and permit.number in listed.data.decode()
    empty = client.post(f"/authority/permits/{permit.id}/revoke", data={"reason": ""})
    assert empty.status_code == 422 and field_messages(empty.data.decode()) == {"reason": "请填写「原因」"}
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
    assert again.status_code == 409
    assert page_alert(again.data.decode()) == f"该备案证已被备案机关撤销（{permit.ended_on}），不能再注销"


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

    travel(moment=old.valid_until + timedelta(days=1))
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
    assert response.status_code == 422 and list(field_messages(response.data.decode())) == ["total_investment"]
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
    assert page_alert(response.data.decode()).startswith("核准文件延期须在有效期届满30个工作日前提出（即 ")
    refusal = lxml.html.fromstring(client.get(f"/enterprise/permits/{permit.id}/extension").data.decode())
    assert refusal.xpath("string(//*[@id='refusal'])").startswith("核准文件延期须在有效期届满30个工作日前提出（即 ")
    assert latest_request("extension") is None
