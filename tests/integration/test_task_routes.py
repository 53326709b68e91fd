"""Each complete / claim route serves one kind of task (issue 11 §2.2).

A task of another kind posted to a route — by the reviewer who holds it, with the form that completes it
on its own route — is refused with 409 (a reviewer's task of another kind) or 404 (an applicant's task on a
reviewer route), and nothing is written: no instance revision, task, case, request, permit, trail row or
notification changes. Each task is then completed on its own route, which proves the form was good."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from app.extensions import db
from app.models import Declaration, FilingApplication, HumanTask, ItemCase, Permit, PostRequest, User
from app.services import ServiceError, access, approval, filing, post_requests
from engine import clock
from tests.conftest import login
from tests.integration.approval_helpers import TENDER, case_of, declare, item_task, new_project, start_declaration
from tests.integration.helpers import apply_code, authority_id, claim_as, filing_form, submit_filing
from tests.integration.snapshot import world

# A moment the test names: Wednesday 14 October 2026, 10:00 in Beijing, in an ordinary working week.
MOMENT = datetime(2026, 10, 14, 2, 0)


def as_user(client, username: str) -> User:
    client.post("/logout")
    login(client, username)
    return db.session.query(User).filter_by(username=username).one()


def open_task(instance_id: int, bpmn_id: str) -> HumanTask:
    db.session.expire_all()
    return db.session.query(HumanTask).filter_by(instance_id=instance_id, bpmn_id=bpmn_id).one()


def claimed(client, username: str, task: HumanTask) -> User:
    claim_as(client, username, task)
    return db.session.query(User).filter_by(username=username).one()


def refused(client, url: str, data: dict, status: int, words: str) -> None:
    before = world()
    response = client.post(url, data=data)
    assert response.status_code == status, response.data.decode()[:1500]
    assert words in response.data.decode()
    assert world() == before


def service_refused(call, *args) -> None:
    before = world()
    with pytest.raises(ServiceError) as caught:
        call(*args)
    assert caught.value.status == 409, caught.value.message
    assert world() == before


def filing_step(client, username: str, task: HumanTask, data: dict, case_id: int) -> None:
    """A 备案 or 变更/延期 step: refused by the item route and by the item service, then done on its own."""
    user = claimed(client, username, task)
    refused(client, f"/reviewer/cases/{case_id}/tasks/{task.id}/complete", data, 409, "不能在此办理")
    service_refused(approval.complete_item_step, user, task.id, data)
    own, other = (filing, post_requests) if task.business_key.startswith("filing:") else (post_requests, filing)
    service_refused(other.complete_step, user, task.id, data)
    response = client.post(f"/reviewer/tasks/{task.id}/complete", data=data)
    assert response.status_code == 302, response.data.decode()[:1500]


def item_step(client, username: str, task: HumanTask, data: dict, case: ItemCase, other_case: ItemCase) -> None:
    """A step of an approval item: refused by the 备案/申请 route, by another item's page and by the
    other services, then done on its own case page."""
    user = claimed(client, username, task)
    refused(client, f"/reviewer/tasks/{task.id}/complete", data, 409, "不能在此办理")
    refused(client, f"/reviewer/cases/{other_case.id}/tasks/{task.id}/complete", data, 409, "不属于该办件")
    service_refused(filing.complete_step, user, task.id, data)
    service_refused(post_requests.complete_step, user, task.id, data)
    response = client.post(f"/reviewer/cases/{case.id}/tasks/{task.id}/complete", data=data)
    assert response.status_code == 302, response.data.decode()[:1500]


def applicant_task_refused(client, username: str, task: HumanTask, case_id: int) -> None:
    """An applicant's task is no reviewer's: every reviewer route answers 404 and writes nothing."""
    as_user(client, username)
    for url in (f"/reviewer/tasks/{task.id}/claim", f"/reviewer/tasks/{task.id}/unclaim",
                f"/reviewer/tasks/{task.id}/complete", f"/reviewer/cases/{case_id}/tasks/{task.id}/complete"):
        refused(client, url, {"decision": "accept", "code_verified": "on"}, 404, "不是审查人员的待办")
    assert client.get(f"/reviewer/tasks/{task.id}").status_code == 404


def test_every_task_kind_is_refused_by_every_other_route(client, app):
    clock.travel_to(MOMENT)
    # A submitted 核准 declaration (its items), and another one still at its questionnaire (the applicant's).
    declaration = declare(client, new_project(client))
    authorisation, eia = case_of(declaration, "authorisation"), case_of(declaration, "eia")
    waiting = db.session.get(Declaration, start_declaration(client, new_project(client, name="江门市另一核准项目")))
    applicant_task_refused(client, "sfg_shouli", open_task(waiting.instance_id, "questionnaire"), authorisation.id)

    # 备案: a saved draft (the applicant's 填报 task), then 受理 → 审核 → 签发 of a submitted one.
    as_user(client, "qiye")
    draft = client.post("/enterprise/filings/new",
                        data={**filing_form(apply_code(client), authority_id=authority_id()), "action": "save"})
    assert draft.status_code == 302
    fill = open_task(db.session.query(FilingApplication).order_by(FilingApplication.id.desc()).first().instance_id,
                     "fill")
    applicant_task_refused(client, "shouli", fill, authorisation.id)
    as_user(client, "qiye")
    application = submit_filing(client, apply_code(client))
    for username, bpmn_id, data in (("shouli", "accept", {"decision": "accept"}),
                                    ("banli", "review", {"decision": "pass"}),
                                    ("banli", "issue", {"confirm": "on"})):
        filing_step(client, username, open_task(application.instance_id, bpmn_id), data, authorisation.id)
    db.session.expire_all()
    assert db.session.get(FilingApplication, application.id).status == "issued"
    permit = db.session.query(Permit).filter_by(kind="filing").one()

    # 变更 and 延期 of the 备案证.
    as_user(client, "qiye")
    assert client.post(f"/enterprise/permits/{permit.id}/change", data={
        "change_scale_content": "on", "scale_content": "购置数控加工中心30台", "reason": "增加设备"}).status_code == 302
    assert client.post(f"/enterprise/permits/{permit.id}/extension", data={"reason": "征地未完成"}).status_code == 302
    change = db.session.query(PostRequest).filter_by(kind="change").one()
    extension = db.session.query(PostRequest).filter_by(kind="extension").one()
    for username, bpmn_id, data in (("shouli", "accept", {"decision": "accept"}),
                                    ("banli", "review", {"decision": "pass"}),
                                    ("banli", "issue", {"confirm": "on", "opinion": "同意变更"})):
        filing_step(client, username, open_task(change.instance_id, bpmn_id), data, authorisation.id)
    for username, bpmn_id, data in (("shouli", "accept", {"decision": "accept"}),
                                    ("banli", "decide", {"decision": "pass", "opinion": "同意延期"})):
        filing_step(client, username, open_task(extension.instance_id, bpmn_id), data, authorisation.id)
    db.session.expire_all()
    assert {r.kind: r.status for r in db.session.query(PostRequest)} == {"change": "issued", "extension": "issued"}

    # 环评 受理 asks for 补正: the applicant's 补正 task is no reviewer's either.
    material = eia.item.materials[0]
    item_step(client, "hb_shouli", db.session.query(HumanTask).filter_by(instance_id=declaration.instance_id,
                                                                         scope="eia").one(),
              {"decision": "correction", "opinion": "报告表结论不完整", "missing_material": str(material.id)},
              eia, authorisation)
    applicant_task_refused(client, "hb_shouli", access.supplement_task(declaration, "eia"), eia.id)

    # 核准: 受理 → 办理 → 办结 (with 招标核准), each refused elsewhere first.
    item_data = {"accept": {"decision": "accept", "code_verified": "on"},
                 "review": {"decision": "decide", "opinion": "材料齐全，符合要求"},
                 "decide_tender": {"result": "approve", "doc_number": "江发改核准〔2027〕1号", "doc_title": "关于核准的批复",
                                   "opinion": "同意。", **TENDER}}
    for username, bpmn_id in (("sfg_shouli", "accept"), ("sfg_banli", "review"), ("sfg_banli", "decide_tender")):
        task = item_task(declaration, "authorisation")
        assert task.bpmn_id == bpmn_id
        item_step(client, username, task, item_data[bpmn_id], authorisation, eia)
    done = case_of(declaration, "authorisation")
    assert done.status == "approved" and done.decision["doc_number"] == "江发改核准〔2027〕1号"
    assert db.session.query(Permit).filter_by(kind="authorisation", item_case_id=done.id).count() == 1


def test_item_extension_after_the_deadline_cannot_slip_through_the_filing_route(client, app):
    """The probe of the issue: an 延长 decided after the red light went through the 备案 route."""
    clock.travel_to(MOMENT)
    project = new_project(client)
    declaration = declare(client, project)
    case = case_of(declaration, "authorisation")
    task = item_task(declaration, "authorisation")
    claimed(client, "sfg_shouli", task)
    accepted = client.post(f"/reviewer/cases/{case.id}/tasks/{task.id}/complete",
                           data={"decision": "accept", "code_verified": "on"})
    assert accepted.status_code == 302
    clock.travel_to(MOMENT + timedelta(days=45))  # 28 November 2026: past the 20 working days, red light
    task = item_task(declaration, "authorisation")
    claimed(client, "sfg_banli", task)
    data = {"decision": "extend", "extension_days": "10", "opinion": "需进一步论证"}
    refused(client, f"/reviewer/tasks/{task.id}/complete", data, 409, "不能在此办理")
    late = client.post(f"/reviewer/cases/{case.id}/tasks/{task.id}/complete", data=data)
    assert late.status_code == 422 and "延长须在办理时限届满前决定" in late.data.decode()
    assert case_of(declaration, "authorisation").status == "handling"


def test_the_kind_table_names_real_routes(app):
    """A renamed route must not leave the table dispatching to nothing."""
    from app import case_kinds

    for kind in case_kinds.TASK_KINDS.values():
        assert set(kind.routes) | {kind.page} <= set(app.view_functions), kind.key
