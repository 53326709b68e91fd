"""Instances: the 1,000-pass resubmission loop, timers by moving the clock, claims and guards."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine import clock
from engine.runtime import ConflictError, Forbidden, dump_state, load_state
from engine.tables import HumanTask, Instance, PendingTimer, TrailEntry


def start(session, runtime):
    outcome = runtime.start(session, "filing", {"applicant": "u1", "rounds": 0, "department_id": 1,
                                                "region_code": "440704"}, "u1", "filing:1")
    session.commit()
    return outcome.instance.id


def step(session, runtime, bpmn_id, data, actor):
    task = session.scalar(select(HumanTask).where(HumanTask.bpmn_id == bpmn_id))
    if task.assignee is None:
        runtime.claim(session, task.id, actor)
    outcome = runtime.complete(session, task.instance_id, task.task_id, actor, data)
    session.commit()
    return outcome


def test_resubmission_loop_survives_a_thousand_passes_in_memory(deployed, session):
    """Deep loops (engine-notes): a back-edge loop loses its ready tasks near 333 passes; ours does not."""
    from SpiffWorkflow.util.task import TaskState

    instance_id = start(session, deployed)
    row = session.get(Instance, instance_id)
    specs = deployed.specs.get_by_id(session, row.process_version_id)
    workflow = load_state(row.state, specs)
    workflow.script_engine = deployed.script_engine
    for n in range(1000):
        for bpmn_id, data in (("fill", {"filing": {"n": n}}), ("accept", {"filing_accept": {"decision": "correction"}})):
            [task] = workflow.get_tasks(state=TaskState.READY, manual=True)
            assert task.task_spec.bpmn_id == bpmn_id, f"pass {n}"
            task.set_data(**data)
            task.run()
            workflow.do_engine_steps()
        if n % 250 == 0:  # prune and round-trip through the serializer as a save would
            deployed.prune(workflow)
            workflow = load_state(dump_state(workflow), specs)
            workflow.script_engine = deployed.script_engine
    [task] = workflow.get_tasks(state=TaskState.READY, manual=True)
    assert task.task_spec.bpmn_id == "fill" and not workflow.is_completed()
    assert task.data["rounds"] == 1000
    deployed.prune(workflow)
    assert len(dump_state(workflow)) < 100_000  # finished rounds leave nothing behind


def test_loop_through_the_store_keeps_state_small(deployed, session):
    instance_id = start(session, deployed)
    for n in range(30):
        step(session, deployed, "fill", {"filing": {"n": n}}, "u1")
        step(session, deployed, "accept", {"filing_accept": {"decision": "correction"}}, "r1")
    size_after_30 = len(session.get(Instance, instance_id).state)
    assert size_after_30 < 30_000  # finished rounds are pruned, not kept with all their task data


def test_timers_fire_once_when_the_clock_moves(deployed, session):
    instance_id = start(session, deployed)
    step(session, deployed, "fill", {"filing": {}}, "u1")
    timers = {t.bpmn_id: t.due_at for t in session.scalars(select(PendingTimer))}
    assert set(timers) == {"remind", "overdue"}
    assert deployed.fire_due_timers(session, instance_id) == 0
    clock.advance(timedelta(days=2, minutes=1))
    assert deployed.due_instances(session) == [instance_id]
    assert deployed.fire_due_timers(session, instance_id) == 1
    session.commit()
    assert deployed.fire_due_timers(session, instance_id) == 0
    assert [t.bpmn_id for t in session.scalars(select(PendingTimer))] == ["overdue"]
    clock.advance(timedelta(days=1))
    assert deployed.fire_due_timers(session, instance_id) == 1
    session.commit()
    fired = [t.bpmn_id for t in session.scalars(select(TrailEntry).where(TrailEntry.action == "timer"))]
    assert fired == ["remind", "overdue"]


def test_completion_needs_the_claim_and_a_ready_task(deployed, session):
    instance_id = start(session, deployed)
    step(session, deployed, "fill", {"filing": {}}, "u1")
    task = session.scalar(select(HumanTask).where(HumanTask.bpmn_id == "accept"))
    with pytest.raises(Forbidden):
        deployed.complete(session, instance_id, task.task_id, "r1", {"filing_accept": {"decision": "accept"}})
    deployed.claim(session, task.id, "r1")
    with pytest.raises(ConflictError):
        deployed.claim(session, task.id, "r2")
    with pytest.raises(Forbidden):
        deployed.unclaim(session, task.id, "r2")
    deployed.complete(session, instance_id, task.task_id, "r1", {"filing_accept": {"decision": "accept"}})
    session.commit()
    with pytest.raises(ConflictError):  # completing a finished task again: task.run() has no guard of its own
        deployed.complete(session, instance_id, task.task_id, "r1", {"filing_accept": {"decision": "accept"}})


def test_withdraw_only_while_waiting_for_acceptance(deployed, session):
    instance_id = start(session, deployed)
    with pytest.raises(ConflictError):
        deployed.send_message(session, instance_id, "withdraw", {}, "u1", "withdraw")
    step(session, deployed, "fill", {"filing": {}}, "u1")
    deployed.send_message(session, instance_id, "withdraw", {}, "u1", "withdraw")
    session.commit()
    assert [t.bpmn_id for t in session.scalars(select(HumanTask))] == ["fill"]
    assert session.scalars(select(PendingTimer)).all() == []


def test_stale_revision_is_a_conflict_not_a_lost_update(deployed, session):
    instance_id = start(session, deployed)
    row, workflow = deployed.load(session, instance_id)
    session.execute(Instance.__table__.update().where(Instance.id == instance_id).values(revision=Instance.revision + 1))
    with pytest.raises(ConflictError):
        deployed._save(session, row, workflow, "x", [])


def test_cancel_stops_a_running_instance_once_and_keeps_the_record(deployed, session):
    instance_id = start(session, deployed)
    task_id = session.scalar(select(HumanTask.task_id).where(HumanTask.instance_id == instance_id))
    assert deployed.cancel(session, instance_id, "u1", "企业删除备案草稿") is True
    session.commit()
    row = session.get(Instance, instance_id)
    assert row.status == "cancelled" and row.completed_at is not None
    assert session.scalar(select(HumanTask).where(HumanTask.instance_id == instance_id)) is None
    assert session.scalar(select(PendingTimer).where(PendingTimer.instance_id == instance_id)) is None
    entry = session.scalars(select(TrailEntry).where(TrailEntry.instance_id == instance_id)
                            .order_by(TrailEntry.id.desc())).first()
    assert (entry.action, entry.actor, entry.detail["reason"]) == ("cancel", "u1", "企业删除备案草稿")
    assert deployed.cancel(session, instance_id, "u1", "再删一次") is False  # nothing left to stop
    with pytest.raises(ConflictError):  # a cancelled instance takes no step
        deployed.complete(session, instance_id, task_id, "u1", {"filing": {}})
