"""The statutory clock through the workflow: timers armed from the clock, dropped while paused, re-armed
with the days that remained; extension once and capped; intermediary/expert steps off the clock; the
supervision view's lights.

Both tests start on Tuesday 2026-03-10 (Beijing): how many calendar days a pause or an extension moves
a deadline depends on the holidays in the way, so the moment is named, not taken from the wall clock.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from app.domain import item_clock
from app.extensions import db
from app.models import Notification, PendingTimer, TrailEntry
from app.services.calendar import today, work_calendar
from app.services.platform import runtime
from engine import clock
from engine.runtime import to_naive_utc
from engine.scheduler import run_due_timers
from tests.conftest import login
from tests.integration.approval_helpers import case_of, declare, new_project, step, upload
from tests.integration.helpers import db_scope


def _timers(declaration) -> dict[str, object]:
    db.session.expire_all()
    return {t.bpmn_id: t.due_at for t in db.session.query(PendingTimer).filter_by(instance_id=declaration.instance_id)}


@pytest.mark.clock("2026-03-10 10:00")
def test_timers_follow_the_clock_through_a_pause_and_fire_yellow_then_red(client):
    declaration = declare(client, new_project(client))
    step(client, "sfg_shouli", declaration, "authorisation", {"decision": "accept", "code_verified": "on"})
    case = case_of(declaration, "authorisation")
    first_due = case.due_at
    timers = _timers(declaration)
    assert timers["overdue"] == first_due and timers["warn"] < first_due

    material = case.item.materials[0]
    step(client, "sfg_banli", declaration, "authorisation", {"decision": "correction", "opinion": "补充融资方案",
                                                              "missing_material": [str(material.id)]})
    assert _timers(declaration) == {}  # paused: nothing can go yellow or red
    clock.advance(timedelta(days=21))
    client.post("/logout")
    login(client, "qiye")
    upload(client, declaration.id, "authorisation", material.id, "补正")
    assert client.post(f"/enterprise/declarations/{declaration.id}/items/authorisation/supplement",
                       data={"note": "已补充"}).status_code == 302
    resumed = case_of(declaration, "authorisation")
    expected = item_clock.due(resumed.clock, work_calendar())
    assert resumed.due_at == to_naive_utc(expected.isoformat())
    # Accepted and paused on 3-10 (20 working days: last day 4-08, 清明 4-06 off), resumed on 3-31 with all
    # 20 left: the last day is now 4-29.
    assert (first_due, resumed.due_at) == (datetime(2026, 4, 8, 16, 0), datetime(2026, 4, 29, 16, 0))
    timers = _timers(declaration)
    assert timers["overdue"] == resumed.due_at

    clock.travel_to(timers["warn"] + timedelta(seconds=1))
    assert run_due_timers(runtime(), db_scope) == 1
    clock.travel_to(timers["overdue"] + timedelta(seconds=1))
    assert run_due_timers(runtime(), db_scope) == 1
    assert run_due_timers(runtime(), db_scope) == 0
    assert case_of(declaration, "authorisation").overdue
    titles = [n.title for n in db.session.query(Notification).filter_by(department_id=resumed.department_id)]
    assert any("黄灯" in t for t in titles) and any("红灯" in t for t in titles)

    client.post("/logout")
    login(client, "jiancha")
    page = client.get("/supervision/?light=red").data.decode()
    assert "江门市发展和改革局" in page and "已超期" in page and declaration.number in page
    client.post("/logout")
    login(client, "qiye")
    assert client.get("/supervision/").status_code == 403


@pytest.mark.clock("2026-03-10 10:00")
def test_extension_once_within_the_cap_and_expert_review_off_the_clock(client):
    declaration = declare(client, new_project(client))
    step(client, "sfg_shouli", declaration, "authorisation", {"decision": "accept", "code_verified": "on"})
    first_due = case_of(declaration, "authorisation").due_at
    over = step(client, "sfg_banli", declaration, "authorisation",
                {"decision": "extend", "extension_days": "41", "opinion": "需征求相关部门意见"}, expect=422)
    assert "「延长时限」须在1至40个工作日之间" in over.data.decode()
    step(client, "sfg_banli", declaration, "authorisation",
         {"decision": "extend", "extension_days": "10", "opinion": "需征求相关部门意见"})
    extended = case_of(declaration, "authorisation")
    extended_due = extended.due_at
    cal = work_calendar()
    assert cal.count_workdays(clock_date(first_due), clock_date(extended.due_at)) == 10
    again = step(client, "sfg_banli", declaration, "authorisation",
                 {"decision": "extend", "extension_days": "5", "opinion": "再延"}, expect=422)
    assert "只能延长一次" in again.data.decode()

    step(client, "sfg_banli", declaration, "authorisation",
         {"decision": "expert", "expert_kind": "intermediary", "opinion": "委托评估机构评估"})
    paused = case_of(declaration, "authorisation")
    assert paused.status == "expert" and paused.due_at is None and _timers(declaration) == {}
    clock.advance(timedelta(days=30))  # a 30-day evaluation is not counted (673号令 art 10)
    step(client, "sfg_banli", declaration, "authorisation", {
        "organisation": "广东省工程咨询有限公司", "started_on": (today() - timedelta(days=29)).isoformat(),
        "finished_on": today().isoformat(), "conclusion": "项目可行"})
    resumed = case_of(declaration, "authorisation")
    assert resumed.status == "handling" and resumed.due_at > extended_due
    status = item_clock.status(resumed.clock, cal, clock.now())
    # Accepted, extended and sent to evaluation on 3-10, back on 4-09 with all 30 days: nothing was counted
    # while the evaluation ran. 30 working days after 4-09 (劳动节 5-01, 5-04, 5-05 off, 5-09 worked) end on 5-25.
    assert status.total == 30 and status.remaining == 30
    assert (first_due, extended_due) == (datetime(2026, 4, 8, 16, 0), datetime(2026, 4, 22, 16, 0))
    assert resumed.due_at == datetime(2026, 5, 25, 16, 0)
    actions = [(t.detail["clock"], t.detail["reason"]) for t in db.session.query(TrailEntry).filter_by(
        action="clock", instance_id=declaration.instance_id).order_by(TrailEntry.id)]
    assert [a for a, _ in actions] == ["start", "extend", "pause", "resume"]
    assert "需征求相关部门意见" in actions[1][1] and "委托评估机构评估" in actions[2][1]


def clock_date(moment):
    from app.services.calendar import local_date

    return local_date(moment - timedelta(minutes=1))
