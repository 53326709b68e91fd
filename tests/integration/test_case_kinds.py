"""The contract between diagrams and application (app/case_kinds.py): every event a diagram emits is declared
and handled, deploy refuses a diagram outside the contract, and lists reach every kind of case."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import lxml.html
import pytest
from sqlalchemy import func, select

from app import bootstrap, case_kinds
from app.extensions import db
from app.models import FilingCertificate, Notification, PostRequest, User
from engine.contract import emits_in
from engine.deploy import Bundle, DeployError, bundles_from_dir, deploy_bundle, parse_xml
from engine.tables import ProcessVersion
from tests.conftest import login
from tests.integration.lifecycle_helpers import (
    applicant_tasks,
    fire_timers,
    fresh,
    issued_permit,
    latest_request,
    step,
    travel,
)

PROCESSES = Path(__file__).resolve().parents[2] / "processes"


def _bundles() -> list[Bundle]:
    return bundles_from_dir(PROCESSES)


def _process_id(bundle: Bundle) -> str:
    root = parse_xml(bundle.bpmn, bundle.filename)
    return next(p.get("id") for p in root.iter("{*}process") if p.get("isExecutable") == "true")


def test_every_event_every_diagram_emits_is_declared_and_handled():
    emitted: dict[str, set[str]] = {}
    for bundle in _bundles():
        roots = [parse_xml(bundle.bpmn, bundle.filename), *(parse_xml(c, n) for n, c in bundle.includes
                                                            if n.endswith(".bpmn"))]
        kinds = case_kinds.kinds_for_process(_process_id(bundle))
        assert kinds, bundle.filename
        for emit in emits_in(roots):
            for kind in kinds:
                declared = kind.events.get(emit.event)
                assert declared is not None, f"{bundle.filename} {emit.element}: {emit.event} not declared in {kind.key}"
                assert callable(declared.handler)
                assert emit.fields <= set(declared.payload), (emit, kind.key)
                emitted.setdefault(kind.key, set()).add(emit.event)
    # The two the listeners used to drop.
    assert "valid_for_good" in emitted["validity"] and "year_missed" in emitted["progress"]
    # No declaration is dead: each kind's events are emitted by its diagrams.
    for kind in case_kinds.KINDS:
        assert set(kind.events) == emitted.get(kind.key, set()), kind.key


def test_the_deployed_processes_keep_the_contract(ctx):
    rules = bootstrap.task_rules()
    for bundle in _bundles():
        assert bootstrap.check_contract is rules.contract
        deploy_bundle(db.session, bundle, rules)  # raises on any problem; unchanged content adds nothing


def test_case_pages_and_task_pages_are_real_routes(app):
    endpoints = set(app.view_functions)
    for kind in case_kinds.TASK_KINDS.values():
        assert set(kind.routes) | {kind.page} <= endpoints, kind.key
    for kind in case_kinds.KINDS:
        assert set(kind.task_kinds) <= set(case_kinds.TASK_KINDS), kind.key
        assert kind.processes and kind.business_key.startswith(f"{kind.prefix}:")


@pytest.mark.parametrize("change, element, words", [
    (('emit("submitted", due_at=due_at)', 'emit("teleported", due_at=due_at)'), "stamp",
     "事件 teleported 未在「企业投资项目备案」中声明"),
    (('emit("submitted", due_at=due_at)', 'emit("submitted", due=due_at)'), "stamp", "事件 submitted 没有字段 due"),
    (('emit("withdrawn")', 'emit(round_outcome)'), "mark_withdrawn", "emit() 的第一个参数须为写明的事件名"),
    (('value="filing_accept"', 'value="item_accept"'), "accept", "表单 item_accept 不是「企业投资项目备案」可用的表单"),
    (('<bpmn:process id="filing"', '<bpmn:process id="filing_copy"'), "filing_copy", "不属于任何业务类型"),
])
def test_deploy_refuses_a_diagram_outside_the_contract(ctx, change, element, words):
    source = (PROCESSES / "filing.bpmn").read_text()
    assert change[0] in source
    bundle = Bundle("filing.bpmn", source.replace(change[0], change[1], 1).encode(), [])
    before = db.session.scalar(select(func.count(ProcessVersion.id)))
    with pytest.raises(DeployError) as refused:
        deploy_bundle(db.session, bundle, bootstrap.task_rules())
    assert words in str(refused.value) and f"元素 {element}：" in str(refused.value)
    assert any(p.element == element for p in refused.value.problems)
    assert db.session.scalar(select(func.count(ProcessVersion.id))) == before


def test_an_event_that_breaks_its_declaration_is_refused_when_it_arrives():
    submitted = case_kinds.FILING_EVENTS["submitted"]
    submitted.check({"kind": "submitted", "due_at": "2026-03-13T00:00:00+08:00"})
    for wrong, words in [({"kind": "submitted"}, "缺少字段 due_at"),
                         ({"kind": "submitted", "due_at": 3}, "due_at 类型不符"),
                         ({"kind": "submitted", "due_at": "x", "extra": 1}, "未声明的字段：extra")]:
        with pytest.raises(case_kinds.EventContractError, match=words):
            submitted.check(wrong)
    with pytest.raises(case_kinds.EventContractError, match="must_tender 类型不符"):
        case_kinds.DECLARATION_EVENTS["determined"].check({"kind": "determined", "items": [], "must_tender": 1})
    filing = SimpleNamespace(process_key="filing", business_key="filing:1", id=1)
    with pytest.raises(case_kinds.EventContractError, match="未声明的事件 teleported"):
        _dispatch_to_subject(filing, [{"kind": "teleported"}])


def _dispatch_to_subject(instance, events):
    """dispatch() with a subject found, without a database row behind it."""
    kind = case_kinds.BY_PROCESS[instance.process_key]
    original = kind.subject
    object.__setattr__(kind, "subject", lambda session, inst: object())
    try:
        bootstrap.dispatch(None, instance, None, events, "test")
    finally:
        object.__setattr__(kind, "subject", original)


def test_a_reported_start_tells_the_enterprise_its_permit_no_longer_lapses(client, app):
    permit = issued_permit(client)
    qiye = db.session.scalar(select(User).where(User.username == "qiye"))
    assert client.post(f"/enterprise/permits/{permit.id}/progress",
                       data={"actual_start": permit.issued_on.isoformat(), "completed_on": ""}).status_code == 302
    notes = db.session.scalars(select(Notification).where(Notification.user_id == qiye.id,
                                                          Notification.title.like("%不再因逾期未开工而失效%"))).all()
    assert [n.link for n in notes] == [f"/enterprise/permits/{permit.id}"]


@pytest.mark.clock("2026-03-10 10:00")
def test_a_year_report_missed_for_a_year_is_told_to_the_authority_and_the_enterprise(client, app):
    permit = issued_permit(client)
    travel(moment="2026-12-01 10:00")
    fire_timers(app)
    assert [t.bpmn_id for t in applicant_tasks(permit)] == ["yearly_report"]
    before = db.session.scalar(select(func.count(Notification.id)).where(Notification.title.like("%逾期未填报%")))
    assert before == 0
    travel(moment="2027-12-01 10:00")
    fire_timers(app)
    department = db.session.scalars(select(Notification).where(
        Notification.department_id == permit.department_id, Notification.kind == "overdue",
        Notification.title.like("%未填报2026年度进度报告%"))).all()
    enterprise = db.session.scalars(select(Notification).where(
        Notification.user_id.is_not(None), Notification.title.like("%2026年度进度报告逾期未填报%"))).all()
    assert len(department) == 1 and department[0].link == f"/authority/permits/{permit.id}"
    assert len(enterprise) == 1
    assert fresh(permit).status == "valid"


def _done_rows(client) -> list[dict[str, str]]:
    page = lxml.html.fromstring(client.get("/tasks/?tab=done").data.decode())
    return [{"kind": row.xpath("string(td[2])").strip(), "number": row.xpath("string(td[3]/a)").strip(),
             "link": row.xpath("string(td[3]/a/@href)"), "step": row.xpath("string(td[4])").strip()}
            for row in page.xpath("//table[@id='done']/tbody/tr[td[3]/a]")]


def test_done_lists_every_kind_with_a_link_to_its_case(client, app):
    permit = issued_permit(client)
    response = client.post(f"/enterprise/permits/{permit.id}/change",
                           data={"change_scale_content": "on", "scale_content": "购置数控加工中心30台", "reason": "扩产"})
    assert response.status_code == 302, response.data.decode()
    request = latest_request("change")
    assert step(client, "shouli", request, "accept", {"decision": "accept"}).status_code == 302

    mine = _done_rows(client)  # qiye: the filing and the change request, each to the enterprise's page
    assert {(r["kind"], r["link"]) for r in mine} >= {
        ("备案", f"/enterprise/filings/{db.session.get(FilingCertificate, permit.certificate_id).application_id}"),
        ("变更申请", f"/enterprise/permits/{permit.id}")}
    client.post("/logout")
    login(client, "shouli")
    rows = _done_rows(client)
    assert rows[0]["kind"] == "变更申请" and rows[0]["number"] == db.session.get(PostRequest, request.id).number
    assert rows[0]["link"] == f"/authority/permits/{permit.id}"
    assert any(r["kind"] == "备案" and r["link"].startswith("/reviewer/applications/") for r in rows)
    assert client.get("/reviewer/done").headers["Location"].endswith("/tasks/?tab=done")
