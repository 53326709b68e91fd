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


# ---- numbers and double submissions (issue 11 §2 defects 1 and 6) ------------------------------------------
QIYE2_USCC = "91440300MA5DC0G84E"


def _race(*calls) -> list:
    """Run each call in its own thread, released together; their results in call order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(n: int) -> None:
        barrier.wait()
        try:
            results[n] = calls[n]()
        except BaseException as exc:  # noqa: BLE001  (reported by the assertion, not lost in the thread)
            results[n] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _enterprise_client(app, username: str, uscc: str):
    """A signed-in enterprise with a fresh project code in 江海区 (the same county for everyone)."""
    from tests.integration.helpers import code_form

    client = login(app.test_client(), username)
    response = client.post("/enterprise/code/new", data=code_form(unit_uscc=uscc))
    assert response.status_code == 302, response.data.decode()
    from app.models import Project

    project = db.session.query(Project).order_by(Project.id.desc()).first()
    return client, project.code


def _filing_post(client, code: str):
    from tests.integration.helpers import authority_id, filing_form

    data = {**filing_form(code, authority_id=authority_id()), "action": "submit"}
    return lambda: client.post("/enterprise/filings/new", data=data)


def test_two_enterprises_submit_filings_in_one_county_at_once_both_stored_with_distinct_numbers(client, app):
    from app.models import FilingApplication

    for round_ in range(3):
        first, first_code = _enterprise_client(app, "qiye", "91430300MA4RTM5T6H")
        second, second_code = _enterprise_client(app, "qiye2", QIYE2_USCC)
        responses = _race(_filing_post(first, first_code), _filing_post(second, second_code))
        assert [r.status_code for r in responses] == [302, 302], (round_, responses)
    db.session.expire_all()
    numbers = [a.number for a in db.session.query(FilingApplication)]
    assert len(numbers) == 6 and len(set(numbers)) == 6
    assert all(a.status == "submitted" for a in db.session.query(FilingApplication))


def test_banli_issues_two_filings_at_once_certificates_have_consecutive_numbers(client, app):
    from app.models import FilingCertificate
    from tests.integration.helpers import act, apply_code, submit_filing

    login(client, "qiye")
    applications = [submit_filing(client, apply_code(client)) for _ in range(2)]
    for application in applications:
        assert act(client, "shouli", application, "accept", {"decision": "accept"}).status_code == 302
        assert act(client, "banli", application, "review", {"decision": "pass"}).status_code == 302
    banli = login(app.test_client(), "banli")
    urls = []
    for application in applications:
        task = task_for(application, "issue")
        assert banli.post(f"/reviewer/tasks/{task.id}/claim").status_code == 302
        urls.append(f"/reviewer/tasks/{task.id}/complete")
    responses = _race(*(lambda url=url: banli.post(url, data={"confirm": "on"}) for url in urls))
    assert [r.status_code for r in responses] == [302, 302], responses
    db.session.expire_all()
    numbers = sorted(c.number for c in db.session.query(FilingCertificate))
    assert len(numbers) == 2
    assert numbers[0][:-5] == numbers[1][:-5] and int(numbers[1][-5:]) == int(numbers[0][-5:]) + 1


def test_two_authorisation_declarations_start_at_once_both_stored_with_distinct_numbers(client, app):
    from app.models import Declaration
    from tests.integration.approval_helpers import new_project

    projects = [new_project(client, name=f"江门市示范核准项目{n}") for n in range(2)]
    responses = _race(*(lambda p=p: client.post(f"/enterprise/declarations/start/{p.id}") for p in projects))
    assert [r.status_code for r in responses] == [302, 302], responses
    db.session.expire_all()
    numbers = {d.project_id: d.number for d in db.session.query(Declaration)}
    assert set(numbers) == {p.id for p in projects} and len(set(numbers.values())) == 2


def test_the_same_new_filing_submitted_from_two_tabs_is_stored_once(client, app):
    from app.models import FilingApplication

    tab, code = _enterprise_client(app, "qiye", "91430300MA4RTM5T6H")
    responses = _race(_filing_post(tab, code), _filing_post(tab, code))
    assert sorted(r.status_code for r in responses) == [302, 409], responses
    refused = next(r for r in responses if r.status_code == 409).data.decode()
    assert "该项目已有备案申请" in refused
    db.session.expire_all()
    assert db.session.query(FilingApplication).count() == 1


def test_a_draft_submitted_from_two_tabs_at_once_is_submitted_once(client, app):
    from app.models import FilingApplication
    from tests.integration.helpers import authority_id, filing_form

    tab, code = _enterprise_client(app, "qiye", "91430300MA4RTM5T6H")
    response = tab.post("/enterprise/filings/new", data={**filing_form(code), "action": "save"})
    assert response.status_code == 302
    application = db.session.query(FilingApplication).one()
    data = {**filing_form(code, authority_id=authority_id()), "action": "submit"}
    url = f"/enterprise/filings/{application.id}/edit"
    responses = _race(lambda: tab.post(url, data=data), lambda: tab.post(url, data=data))
    assert sorted(r.status_code for r in responses) == [302, 409], responses
    refused = next(r for r in responses if r.status_code == 409).data.decode()
    assert "该备案申请已提交，请勿重复提交" in refused
    submits = db.session.scalars(select(TrailEntry).where(TrailEntry.instance_id == application.instance_id,
                                                          TrailEntry.action == "submit")).all()
    assert len(submits) == 1


def test_the_same_declaration_started_twice_at_once_is_started_once(client, app):
    from app.models import Declaration
    from tests.integration.approval_helpers import new_project

    project = new_project(client)
    url = f"/enterprise/declarations/start/{project.id}"
    tabs = [login(app.test_client(), "qiye") for _ in range(2)]
    responses = _race(*(lambda tab=tab: tab.post(url) for tab in tabs))
    assert [r.status_code for r in responses] == [302, 302], responses
    db.session.expire_all()
    declaration = db.session.query(Declaration).filter_by(project_id=project.id).one()
    assert {r.headers["Location"] for r in responses} == {f"/enterprise/declarations/{declaration.id}"}
    # The second click is told it changed nothing (the page of the first shows no such word).
    pages = [tab.get(r.headers["Location"]).data.decode() for tab, r in zip(tabs, responses, strict=True)]
    assert sum("请勿重复提交" in page for page in pages) == 1


def test_code_application_posted_twice_at_once_creates_one_project(client, app):
    import re

    from app.models import Project
    from tests.integration.helpers import code_form

    login(client, "qiye")
    page = client.get("/enterprise/code/new").data.decode()
    token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    data = {**code_form(), "form_token": token}
    responses = _race(lambda: client.post("/enterprise/code/new", data=data),
                      lambda: client.post("/enterprise/code/new", data=data))
    assert sorted(r.status_code for r in responses) == [302, 409], responses
    assert "该申请已提交，请勿重复提交" in next(r for r in responses if r.status_code == 409).data.decode()
    db.session.expire_all()
    assert db.session.query(Project).count() == 1


def test_the_same_construction_start_twice_at_once_opens_one(client, app):
    from app.models import Declaration
    from tests.integration.lifecycle_helpers import issued_permit

    permit = issued_permit(client)  # 报建 is open once the 备案证 is issued
    url = f"/enterprise/declarations/build/{permit.project_id}"
    tabs = [login(app.test_client(), "qiye") for _ in range(2)]
    responses = _race(*(lambda tab=tab: tab.post(url) for tab in tabs))
    assert [r.status_code for r in responses] == [302, 302], responses
    db.session.expire_all()
    build = db.session.query(Declaration).filter_by(project_id=permit.project_id, stage="报建").one()
    assert {r.headers["Location"] for r in responses} == {f"/enterprise/declarations/{build.id}"}


@pytest.mark.parametrize(("kind", "data"), [
    ("change", {"change_scale_content": "on", "scale_content": "购置数控加工中心30台", "reason": "产能调整"}),
    ("extension", {"reason": "资金未到位，开工推迟"}),
])
def test_a_change_or_extension_submitted_twice_at_once_is_one_request(client, app, kind, data):
    from app.models import PostRequest
    from tests.integration.lifecycle_helpers import issued_permit

    permit = issued_permit(client)
    url = f"/enterprise/permits/{permit.id}/{kind}"
    tabs = [login(app.test_client(), "qiye") for _ in range(2)]
    responses = _race(*(lambda tab=tab: tab.post(url, data=data) for tab in tabs))
    assert sorted(r.status_code for r in responses) == [302, 409], responses
    refused = next(r for r in responses if r.status_code == 409).data.decode()
    assert "已有办理中的" in refused
    db.session.expire_all()
    assert db.session.query(PostRequest).filter_by(permit_id=permit.id, kind=kind).count() == 1
