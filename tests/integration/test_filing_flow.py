"""The whole filing as its users do it, through the Flask test client."""
from __future__ import annotations

from datetime import timedelta

from app.extensions import db
from app.models import FilingApplication, FilingCertificate, HumanTask, Notification, TrailEntry
from engine import clock
from tests.conftest import login
from tests.integration.helpers import (
    act,
    apply_code,
    authority_id,
    db_scope,
    field_errors,
    filing_form,
    submit_filing,
    task_for,
)


def refreshed(application: FilingApplication) -> FilingApplication:
    db.session.expire_all()
    return db.session.get(FilingApplication, application.id)


def test_filing_from_code_to_verified_certificate(client):
    login(client, "qiye")
    code = apply_code(client)
    lookup = client.get(f"/enterprise/code/lookup?code={code}", headers={"Accept": "application/json"})
    assert lookup.json["project_name"] == "江海区精密零部件数控化改造项目"
    assert "江海区" in lookup.json["location"]

    application = submit_filing(client, code)
    assert application.status == "submitted"
    assert application.draft["fixed_assets"] == "900"

    assert act(client, "shouli", application, "accept", {"decision": "accept"}).status_code == 302
    assert refreshed(application).status == "accepted"
    assert act(client, "banli", application, "review", {"decision": "pass"}).status_code == 302
    assert act(client, "banli", application, "issue", {"confirm": "on"}).status_code == 302
    application = refreshed(application)
    assert application.status == "issued"
    certificate = db.session.query(FilingCertificate).filter_by(application_id=application.id).one()
    assert certificate.valid_until.year == certificate.issued_on.year + 2

    client.post("/logout")
    login(client, "qiye")
    pdf = client.get(f"/enterprise/certificates/{certificate.id}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    page = client.get(f"/verify/{certificate.number}")
    assert "该备案证有效" in page.data.decode()
    assert client.get("/verify/000000").status_code == 404
    actions = [t.action for t in db.session.query(TrailEntry).filter_by(instance_id=application.instance_id)
               .order_by(TrailEntry.id)]
    assert actions[:2] == ["start", "submit"] and actions.count("claim") == 3


def test_bad_form_names_each_field_and_writes_nothing(client):
    login(client, "qiye")
    code = apply_code(client)
    data = filing_form(code, authority_id=authority_id(), total_investment="999", contact_phone="123",
                       capital="10", planned_start="2001-01-01", action="submit")
    response = client.post("/enterprise/filings/new", data=data)
    assert response.status_code == 422
    # Field checks come first: the malformed phone is the one field marked, with its own message.
    assert field_errors(response.data.decode()) == {"contact_phone": "「联系人手机」须为11位手机号码"}
    assert db.session.query(FilingApplication).count() == 0  # one transaction: nothing half-written
    response = client.post("/enterprise/filings/new", data={**data, "contact_phone": "13800138000"})
    assert response.status_code == 422
    # Then the rules across fields, each pinned to the field it concerns.
    errors = field_errors(response.data.decode())
    assert set(errors) == {"total_investment", "capital", "planned_start"}
    assert errors["total_investment"].startswith("「总投资」金额与「自有资金」、「国内贷款」")
    assert errors["capital"].startswith("项目资本金不得低于固定资产投资的20%")
    assert errors["planned_start"] == "计划开工时间不得早于备案证签发时间，请预留审批时间"
    assert db.session.query(FilingApplication).count() == 0


def test_screening_refuses_overcapacity_with_rule_named(client):
    login(client, "qiye")
    code = apply_code(client)
    data = {**filing_form(code, authority_id=authority_id(), industry_code="C3011"), "action": "submit"}
    response = client.post("/enterprise/filings/new", data=data)
    assert response.status_code == 422
    assert "政策审查未通过" in response.data.decode()


def test_withdraw_correction_and_rejection(client):
    login(client, "qiye")
    code = apply_code(client)
    application = submit_filing(client, code)
    assert client.post(f"/enterprise/filings/{application.id}/withdraw").status_code == 302
    assert refreshed(application).status == "draft"
    response = client.post(f"/enterprise/filings/{application.id}/edit",
                           data={**filing_form(code, authority_id=authority_id()), "action": "submit"})
    assert response.status_code == 302 and refreshed(application).status == "submitted"

    act(client, "shouli", application, "accept", {"decision": "correction"})  # opinion missing
    assert refreshed(application).status == "submitted"
    act_response = client.post(f"/reviewer/tasks/{task_for(application, 'accept').id}/complete",
                               data={"decision": "correction", "opinion": "请补充设备清单"})
    assert act_response.status_code == 302
    application = refreshed(application)
    assert application.status == "correction" and application.last_opinion == "请补充设备清单"

    client.post("/logout")
    login(client, "qiye")
    assert client.post(f"/enterprise/filings/{application.id}/withdraw").status_code == 409
    response = client.post(f"/enterprise/filings/{application.id}/edit",
                           data={**filing_form(code, authority_id=authority_id()), "action": "submit"})
    assert response.status_code == 302 and refreshed(application).status == "submitted"
    act(client, "shouli", application, "accept", {"decision": "reject", "opinion": "不属于备案范围"})
    application = refreshed(application)
    assert application.status == "rejected"
    assert db.session.query(HumanTask).filter_by(instance_id=application.instance_id).count() == 0
    assert "refuse" in [t.action for t in db.session.query(TrailEntry).filter_by(instance_id=application.instance_id)]


def test_reminder_and_overdue_by_moving_the_clock(client, app):
    from app.services.platform import runtime
    from engine.scheduler import run_due_timers

    login(client, "qiye")
    application = submit_filing(client, apply_code(client))
    task = task_for(application, "accept")
    assert task.due_at is not None and task.remind_at < task.due_at

    assert run_due_timers(runtime(), db_scope) == 0
    clock.travel_to(task.remind_at + timedelta(seconds=1))
    assert run_due_timers(runtime(), db_scope) == 1
    assert refreshed(application).reminded and not refreshed(application).overdue
    assert run_due_timers(runtime(), db_scope) == 0  # fired once
    clock.travel_to(task.due_at + timedelta(seconds=1))
    assert run_due_timers(runtime(), db_scope) == 1
    assert refreshed(application).overdue
    kinds = {n.kind for n in db.session.query(Notification).filter_by(department_id=application.department_id)}
    assert kinds == {"new_task", "reminder", "overdue"}  # new_task: the 受理 arrived in the pool (one 待阅)
    login(client, "shouli")
    assert "已超期" in client.get("/reviewer/").data.decode()
    link = client.get(f"/reviewer/applications/{application.id}")
    assert link.status_code == 302 and f"/reviewer/tasks/{task.id}" in link.headers["Location"]
    client.post("/logout")
    login(client, "xh_shouli")
    assert client.get(f"/reviewer/applications/{application.id}", follow_redirects=True).status_code == 403


def test_other_enterprise_and_other_county_are_refused(client):
    login(client, "qiye")
    code = apply_code(client)
    application = submit_filing(client, code)
    client.post("/logout")
    login(client, "qiye2")
    assert client.get(f"/enterprise/filings/{application.id}").status_code == 403
    assert client.post(f"/enterprise/filings/{application.id}/withdraw").status_code == 403
    assert client.get(f"/enterprise/code/lookup?code={code}", headers={"Accept": "application/json"}).status_code == 403
    client.post("/logout")
    login(client, "xh_shouli")
    task = task_for(application, "accept")
    assert client.post(f"/reviewer/tasks/{task.id}/claim").status_code == 403
    assert application.number not in client.get("/reviewer/").data.decode()
    client.post("/logout")
    login(client, "banli")  # right county, wrong role for 受理
    assert client.post(f"/reviewer/tasks/{task.id}/claim").status_code == 403
    client.post("/logout")
    login(client, "shouli")
    assert client.post(f"/reviewer/tasks/{task.id}/claim").status_code == 302
    # a second 签收 by the holder (a stale page, a sticky claim) just opens the case: it is theirs already
    assert client.post(f"/reviewer/tasks/{task.id}/claim").status_code == 302
    client.post("/logout")
    assert client.get("/reviewer/").status_code == 302  # anonymous → login


def test_new_filing_form_starts_from_the_declared_basic_information(client):
    login(client, "qiye")
    code = apply_code(client)
    page = client.get(f"/enterprise/filings/new?code={code}").data.decode()
    assert 'value="1000"' in page and "购置数控加工中心20台，改造生产线2条" in page
    assert 'value="C3484" selected' in page


def test_code_application_checks_the_credit_code(client):
    from tests.integration.helpers import code_form

    login(client, "qiye")
    response = client.post("/enterprise/code/new", data=code_form(unit_uscc="91430300MA4RTM5T6X"))
    assert response.status_code == 422 and "校验不通过" in response.data.decode()
    response = client.post("/enterprise/code/new", data=code_form(unit_uscc="91440300MA5DC0G84E"))
    assert response.status_code == 422 and "须与登录的企业账号一致" in response.data.decode()


def test_saved_and_withdrawn_applications_are_in_the_drafts_box(client):
    login(client, "qiye")
    code = apply_code(client)
    response = client.post("/enterprise/filings/new", data={**filing_form(code, authority_id=authority_id(),
                                                                          contact_phone="bad"), "action": "save"})
    assert response.status_code == 302  # a draft is saved as typed, checked only on submit
    page = client.get("/enterprise/").data.decode()
    drafts = page.split('id="drafts"')[1].split("全部项目")[0]
    assert "继续填写" in drafts and "江海区精密零部件数控化改造项目" in drafts
