"""Parallel items: the diagrams that call item handling and the decision tables, run by the engine alone."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from engine.deploy import Bundle, TaskRules, bundles_from_dir, deploy_bundle, latest_version
from engine.runtime import dump_state
from engine.tables import HumanTask, Instance, PendingTimer

PROCESSES = Path(__file__).resolve().parents[3] / "processes"
NO = {"land_supply": "none", "new_land": "no", "forest_land": "no", "heritage_site": "no", "national_security": "no",
      "energy_tce": 0, "power_10k_kwh": 0, "eia_category": "none", "soil_disturbance": "no", "water_abstraction": "no",
      "flood_area": "no", "total_investment": 1000, "state_controlled": "no", "foreign_loan": "no"}


def _human(session, instance_id, bpmn_id, scope=None):
    query = select(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.bpmn_id == bpmn_id)
    if scope:
        query = query.where(HumanTask.scope == scope)
    return session.scalar(query)


def _do(session, runtime, instance_id, bpmn_id, data, scope=None, extra=None):
    task = _human(session, instance_id, bpmn_id, scope)
    if task.assignee is None:
        runtime.claim(session, task.id, "r1")
    outcome = runtime.complete(session, instance_id, task.task_id, task.assignee, data, extra=extra)
    session.commit()
    return outcome


def _declare(session, runtime, kind: str, answers: dict) -> tuple[int, list[dict]]:
    outcome = runtime.start(session, kind, {"applicant": "a1", "project_kind": kind, "title": "P", "project_name": "P",
                                            "declaration_id": 1, "stage": "立项"}, "a1", "declaration:1")
    session.commit()
    iid = outcome.instance.id
    events = _do(session, runtime, iid, "questionnaire", {"declaration_questions": answers}).events
    return iid, events


def _items(codes: list[str]) -> list[dict]:
    return [{"code": c, "name": c, "department_id": n + 1, "region_code": "440700", "limit": 20, "unit": "workday",
             "max_extension": 10, "tender": False} for n, c in enumerate(codes)]


def test_bundles_carry_the_called_process_and_decision_tables():
    bundles = {b.filename: b for b in bundles_from_dir(PROCESSES)}
    assert [n for n, _ in bundles["authorisation.bpmn"].includes] == [
        "declaration.bpmn", "item.bpmn", "item_determination.dmn", "tender_required.dmn"]
    assert bundles["filing.bpmn"].includes == []


def test_a_changed_item_diagram_makes_new_versions_of_its_callers(deployed, session):
    before = latest_version(session, "authorisation").version
    bundles = {b.filename: b for b in bundles_from_dir(PROCESSES)}
    caller = bundles["authorisation.bpmn"]
    changed = [(n, c.replace(b"\xe5\x8a\x9e\xe7\x90\x86", b"\xe5\x8a\x9e\xe7\x90\x86 ") if n == "item.bpmn" else c)
               for n, c in caller.includes]
    deploy_bundle(session, Bundle(caller.filename, caller.bpmn, changed), TaskRules(form_exists=lambda k: True))
    assert latest_version(session, "authorisation").version == before + 1


def test_the_catch_all_rule_keeps_the_item_list_defined(deployed, session):
    _, events = _declare(session, deployed, "approval", NO)
    assert events == [{"kind": "determined", "items": ["proposal"], "must_tender": False}]


def test_answers_decide_the_items_and_the_tender(deployed, session):
    answers = {**NO, "land_supply": "allocated", "power_10k_kwh": 600, "eia_category": "report", "flood_area": "yes",
               "state_funds": 3000, "total_investment": 20000, "goods_contract": 250}
    _, events = _declare(session, deployed, "authorisation", answers)
    assert events[0]["items"] == ["authorisation", "energy", "land_site", "land_use_planning", "eia", "flood"]
    assert events[0]["must_tender"] is True  # state funds ≥ 200万 and ≥ 10 %, goods contract ≥ 200万
    small = {**answers, "state_funds": 1000, "total_investment": 20000}  # 5 %: not state-funded enough
    _, events = _declare(session, deployed, "authorisation", small)
    assert events[0]["must_tender"] is False


def test_many_corrections_on_one_item_leave_the_others_and_the_state_intact(deployed, session):
    iid, _ = _declare(session, deployed, "authorisation", NO)
    codes = [f"item{n:02d}" for n in range(20)]
    _do(session, deployed, iid, "submit", {"declaration_submit": {"action": "submit"}}, extra={"items": _items(codes)})
    assert session.query(HumanTask).filter_by(instance_id=iid, bpmn_id="accept").count() == 20
    _do(session, deployed, iid, "accept", {"item_accept": {"decision": "accept"}}, scope="item00")
    first = len(session.get(Instance, iid).state)
    rounds = 40  # through the store; test_instances runs a standard loop 1,000 times in memory
    for _ in range(rounds):  # rounds of 补正 during 办理 on one item
        _do(session, deployed, iid, "review", {"item_review": {"decision": "correction", "opinion": "补"}},
            scope="item00")
        _do(session, deployed, iid, "supplement_handling", {"item_supplement": {"note": "已补"}}, scope="item00")
    row = session.get(Instance, iid)
    # Finished rounds are pruned; what remains per round is the clock's record of each pause (reason, times).
    assert (len(row.state) - first) / rounds < 1000
    assert session.query(HumanTask).filter_by(instance_id=iid, bpmn_id="accept").count() == 19
    assert _human(session, iid, "review", "item00") is not None
    assert {t.bpmn_id for t in session.scalars(select(PendingTimer).where(PendingTimer.instance_id == iid))} == {
        "warn", "overdue"}
    for code in codes:
        if code != "item00":
            _do(session, deployed, iid, "accept", {"item_accept": {"decision": "reject"}}, scope=code)
    _do(session, deployed, iid, "review", {"item_review": {"decision": "decide"}}, scope="item00")
    outcome = _do(session, deployed, iid, "decide", {"item_decide": {"result": "approve"}}, scope="item00")
    assert outcome.instance.status == "completed"
    completed = [e for e in outcome.events if e["kind"] == "completed"][0]
    assert sorted(r["outcome"] for r in completed["results"]) == ["approved"] + ["not_accepted"] * 19
    assert len(dump_state(outcome.workflow)) == len(session.get(Instance, iid).state)
