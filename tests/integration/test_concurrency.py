"""Real concurrency on PostgreSQL: row locks and conditional updates across threads."""
from __future__ import annotations

import threading
from collections import Counter
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.extensions import db
from app.services.platform import runtime
from engine import clock
from engine.runtime import ConflictError
from engine.scheduler import run_due_timers
from engine.tables import HumanTask, PendingTimer, TrailEntry
from tests.conftest import BACKEND, login
from tests.integration.helpers import apply_code, submit_filing, task_for

pytestmark = pytest.mark.skipif(BACKEND != "postgres", reason="real row-level concurrency needs PostgreSQL")


def test_twenty_threads_claim_one_task_exactly_one_wins(client, app):
    login(client, "qiye")
    application = submit_filing(client, apply_code(client))
    task_id = task_for(application, "accept").id
    engine = db.engine
    barrier = threading.Barrier(20)
    results: list[str] = []

    def claimer(n: int) -> None:
        with app.app_context(), Session(engine) as session:
            barrier.wait()
            try:
                runtime().claim(session, task_id, f"reviewer-{n}")
                session.commit()
                results.append("won")
            except ConflictError:
                session.rollback()
                results.append("lost")

    threads = [threading.Thread(target=claimer, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Counter(results) == {"won": 1, "lost": 19}
    db.session.expire_all()
    winner = db.session.get(HumanTask, task_id).assignee
    claims = db.session.scalars(select(TrailEntry.actor).where(TrailEntry.action == "claim")).all()
    assert claims == [winner]


def test_two_schedulers_fire_every_timer_once(client, app):
    login(client, "qiye")
    applications = [submit_filing(client, apply_code(client)) for _ in range(8)]
    expected = db.session.query(PendingTimer).count()
    assert expected == 16  # a reminder and an overdue timer each
    latest = max(t.due_at for t in db.session.scalars(select(PendingTimer)))
    clock.travel_to(latest + timedelta(seconds=1))
    engine = db.engine

    @contextmanager
    def scope():
        with app.app_context(), Session(engine) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def scheduler() -> None:
        for _ in range(20):
            run_due_timers(runtime(), scope)

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    fired = db.session.execute(select(TrailEntry.instance_id, TrailEntry.bpmn_id)
                               .where(TrailEntry.action == "timer")).all()
    assert len(fired) == expected and len(set(fired)) == expected
    assert db.session.query(PendingTimer).count() == 0
    db.session.expire_all()
    for application in applications:
        refreshed = db.session.get(type(application), application.id)
        assert refreshed.reminded and refreshed.overdue


def test_two_departments_complete_items_of_one_project_at_the_same_moment(client, app):
    """Both completions land: the instance row lock serialises them, the second reloads the first's state."""
    from app.models import ItemCase
    from tests.integration.approval_helpers import case_of, declare, item_task, new_project

    declaration = declare(client, new_project(client))
    posts = []
    for item_code, username in (("eia", "hb_shouli"), ("land_site", "zr_shouli")):
        reviewer = app.test_client()
        login(reviewer, username)
        task = item_task(declaration, item_code)
        assert reviewer.post(f"/reviewer/tasks/{task.id}/claim").status_code == 302
        posts.append((reviewer, f"/reviewer/cases/{case_of(declaration, item_code).id}/tasks/{task.id}/complete"))
    barrier = threading.Barrier(len(posts))
    statuses: list[int] = []

    def complete(reviewer, url: str) -> None:
        barrier.wait()
        statuses.append(reviewer.post(url, data={"decision": "accept", "code_verified": "on"}).status_code)

    threads = [threading.Thread(target=complete, args=post) for post in posts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [302, 302]
    db.session.expire_all()
    cases = {c.item_code: c.status for c in db.session.query(ItemCase).filter_by(declaration_id=declaration.id)}
    assert cases["eia"] == cases["land_site"] == "handling"
    reviews = db.session.scalars(select(HumanTask.scope).where(HumanTask.instance_id == declaration.instance_id,
                                                               HumanTask.bpmn_id == "review")).all()
    assert sorted(reviews) == ["eia", "land_site"]


def test_cancel_and_revoke_race_on_one_permit_one_wins(client, app):
    """注销 by the enterprise and 撤销 by the authority at the same moment: the conditional UPDATE on
    the permit row lets exactly one through; the other gets a clear 409 naming who won."""
    from app.models import Notification, Permit, PublicNotice
    from tests.integration.lifecycle_helpers import issued_permit

    for round_ in range(5):  # several rounds: either side may win, never both
        permit = issued_permit(client)
        enterprise, authority = app.test_client(), app.test_client()
        login(enterprise, "qiye")
        login(authority, "banli")
        posts = [(enterprise, f"/enterprise/permits/{permit.id}/cancel", "企业终止项目"),
                 (authority, f"/authority/permits/{permit.id}/revoke", "提供虚假材料")]
        barrier = threading.Barrier(2)
        results: dict[str, tuple[int, str]] = {}

        def act(who, url: str, reason: str, barrier=barrier, results=results) -> None:
            barrier.wait()
            response = who.post(url, data={"reason": reason})
            results[url] = (response.status_code, response.data.decode())

        threads = [threading.Thread(target=act, args=post) for post in posts]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        codes = sorted(code for code, _ in results.values())
        assert codes == [302, 409], (round_, codes)
        db.session.expire_all()
        final = db.session.get(Permit, permit.id)
        loser = next(body for code, body in results.values() if code == 409)
        assert ("已被企业注销" if final.status == "cancelled" else "已被备案机关撤销") in loser
        notices = db.session.query(PublicNotice).filter_by(project_code=final.project.code).all()
        assert [n.kind for n in notices if n.kind != "filing"] == [
            "cancellation" if final.status == "cancelled" else "revocation"]
        kind = final.status
        assert db.session.query(Notification).filter_by(kind=kind).count() >= 1
