"""Numbers from the counter, double submissions and ids never reused (issue 11 §2 defects 1, 6 and 11).

Runs on both databases; the races with threads are in test_concurrency.py (PostgreSQL) and below for SQLite."""
from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import select, text

from app.extensions import db
from app.models import Attachment, Declaration, FilingApplication, Project
from app.services import next_serial
from engine.tables import TrailEntry
from tests.conftest import BACKEND, login
from tests.integration.helpers import act, apply_code, authority_id, code_form, filing_form, submit_filing, task_for

QIYE_USCC, QIYE2_USCC = "91430300MA4RTM5T6H", "91440300MA5DC0G84E"


# ---- the counter ---------------------------------------------------------------------------------------------
def test_counter_gives_consecutive_serials_and_a_rolled_back_serial_back(ctx):
    column, prefix = FilingApplication.number, "999999-03-2099"
    first = next_serial(db.session, column, prefix)
    db.session.commit()
    second = next_serial(db.session, column, prefix)
    assert second == first + 1
    db.session.rollback()  # e.g. the filing failed validation after its number was drawn
    again = next_serial(db.session, column, prefix)
    db.session.commit()
    assert again == second  # no gap: printed numbers (备案证号, 变更函, 告知书) run on without holes
    assert next_serial(db.session, column, "999999-04-2099") == 1  # each prefix counts on its own
    db.session.rollback()


def test_counter_continues_after_numbers_stored_before_it_existed(client):
    """An upgraded database: numbers were made by counting; the counter's first use starts above them."""
    login(client, "qiye")
    application = submit_filing(client, apply_code(client))
    prefix = application.number[:-8]  # region-03-year, then 4 digits and XMBA
    db.session.execute(text("DELETE FROM number_counter WHERE prefix = :p"), {"p": prefix})
    application.number = f"{prefix}0041XMBA"
    db.session.commit()
    second = submit_filing(client, apply_code(client))
    assert second.number == f"{prefix}0042XMBA"


# ---- SQLite: two writers at once --------------------------------------------------------------------------------
@pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite's locking; PostgreSQL's is in test_concurrency.py")
def test_sqlite_two_enterprises_submit_filings_at_once_both_stored(client, app):
    def enterprise(username: str, uscc: str):
        user = login(app.test_client(), username)
        assert user.post("/enterprise/code/new", data=code_form(unit_uscc=uscc)).status_code == 302
        code = db.session.scalars(select(Project.code).order_by(Project.id.desc())).first()
        return user, {**filing_form(code, authority_id=authority_id()), "action": "submit"}

    for round_ in range(3):
        posts = [enterprise("qiye", QIYE_USCC), enterprise("qiye2", QIYE2_USCC)]
        db.session.rollback()  # end the test's own read: every SQLite transaction holds the write lock
        barrier = threading.Barrier(2)
        statuses: list = []

        def submit(user, data, barrier=barrier, statuses=statuses) -> None:
            barrier.wait()
            try:
                statuses.append(user.post("/enterprise/filings/new", data=data).status_code)
            except Exception as exc:  # noqa: BLE001  (the test client re-raises a 500's error)
                statuses.append(repr(exc))

        threads = [threading.Thread(target=submit, args=post) for post in posts]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert statuses == [302, 302], (round_, statuses)
    db.session.expire_all()
    numbers = db.session.scalars(select(FilingApplication.number)).all()
    assert len(numbers) == 6 and len(set(numbers)) == 6


@pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite's locking; PostgreSQL's is in test_concurrency.py")
def test_sqlite_the_same_new_filing_from_two_tabs_at_once_is_stored_once(client, app):
    """Without BEGIN IMMEDIATE the reads before the first write run outside the transaction: both tabs
    find no application for the project and both create one."""
    tab = login(app.test_client(), "qiye")
    code = apply_code(tab)
    data = {**filing_form(code, authority_id=authority_id()), "action": "submit"}
    db.session.rollback()  # end the test's own read: every SQLite transaction holds the write lock
    barrier = threading.Barrier(2)
    statuses: list = []

    def submit() -> None:
        barrier.wait()
        try:
            statuses.append(tab.post("/enterprise/filings/new", data=data).status_code)
        except Exception as exc:  # noqa: BLE001  (the test client re-raises a 500's error)
            statuses.append(repr(exc))

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(map(str, statuses)) == ["302", "409"], statuses
    assert db.session.query(FilingApplication).count() == 1


@pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite's one write lock")
def test_sqlite_a_turn_not_given_in_time_is_a_clear_503(client, app):
    """Another process holds SQLite's write lock past busy_timeout (5 s): 系统繁忙, not a 500."""
    import sqlite3

    login(client, "qiye")
    db.session.rollback()
    other = sqlite3.connect(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        response = client.post("/enterprise/code/new", data=code_form())
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert response.status_code == 503 and "系统繁忙，请稍后重试" in response.data.decode()
    assert db.session.query(Project).count() == 0


# ---- double submissions, one after the other (the threaded races are in test_concurrency.py) ------------------
def test_new_filing_posted_twice_is_stored_once(client):
    login(client, "qiye")
    code = apply_code(client)
    data = {**filing_form(code, authority_id=authority_id()), "action": "submit"}
    assert client.post("/enterprise/filings/new", data=data).status_code == 302
    again = client.post("/enterprise/filings/new", data=data)
    assert again.status_code == 409 and "该项目已有备案申请" in again.data.decode()
    assert db.session.query(FilingApplication).count() == 1


def test_draft_submitted_twice_is_submitted_once(client):
    login(client, "qiye")
    code = apply_code(client)
    assert client.post("/enterprise/filings/new", data={**filing_form(code), "action": "save"}).status_code == 302
    application = db.session.query(FilingApplication).one()
    data = {**filing_form(code, authority_id=authority_id()), "action": "submit"}
    url = f"/enterprise/filings/{application.id}/edit"
    assert client.post(url, data=data).status_code == 302
    again = client.post(url, data=data)
    assert again.status_code == 409 and "备案申请已提交" in again.data.decode()
    submits = db.session.scalars(select(TrailEntry).where(TrailEntry.instance_id == application.instance_id,
                                                          TrailEntry.action == "submit")).all()
    assert len(submits) == 1


def test_declaration_started_twice_is_started_once(client):
    from tests.integration.approval_helpers import new_project

    project = new_project(client)
    url = f"/enterprise/declarations/start/{project.id}"
    first = client.post(url)
    assert first.status_code == 302
    assert "请勿重复提交" not in client.get(first.headers["Location"]).data.decode()
    again = client.post(url)  # opens the same declaration again, saying nothing was started
    assert again.status_code == 302 and again.headers["Location"] == first.headers["Location"]
    number = db.session.query(Declaration).filter_by(project_id=project.id).one().number
    body = client.get(again.headers["Location"]).data.decode()
    assert f"该项目已有进行中的事项申报（{number}），请勿重复提交" in body


def test_code_application_posted_twice_with_its_form_token_makes_one_project(client):
    login(client, "qiye")
    page = client.get("/enterprise/code/new").data.decode()
    token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    data = {**code_form(), "form_token": token}
    assert client.post("/enterprise/code/new", data=data).status_code == 302
    code = db.session.query(Project).one().code
    again = client.post("/enterprise/code/new", data=data)
    body = again.data.decode()
    assert again.status_code == 409 and "该申请已提交，请勿重复提交" in body and code in body
    assert db.session.query(Project).count() == 1
    # The refusal page carries a new token: applying again on purpose makes a second project.
    fresh = re.search(r'name="form_token" value="([^"]+)"', body).group(1)
    assert fresh != token
    assert client.post("/enterprise/code/new", data={**code_form(), "form_token": fresh}).status_code == 302
    assert db.session.query(Project).count() == 2


def test_a_refused_code_application_keeps_its_token_usable(client):
    """Validation refused the first post (nothing stored): the corrected form goes through with the same token."""
    login(client, "qiye")
    page = client.get("/enterprise/code/new").data.decode()
    token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    refused = client.post("/enterprise/code/new", data={**code_form(name=""), "form_token": token})
    assert refused.status_code == 422
    assert f'name="form_token" value="{token}"' in refused.data.decode()
    assert client.post("/enterprise/code/new", data={**code_form(), "form_token": token}).status_code == 302
    assert db.session.query(Project).count() == 1


# ---- ids never reused (defect 11) --------------------------------------------------------------------------------
def test_human_task_ids_are_never_given_again(client):
    login(client, "qiye")
    application = submit_filing(client, apply_code(client))
    seen = [task_for(application, "accept").id]
    assert act(client, "shouli", application, "accept", {"decision": "accept"}).status_code == 302
    seen.append(task_for(application, "review").id)
    assert act(client, "banli", application, "review", {"decision": "pass"}).status_code == 302
    issue = task_for(application, "issue").id
    assert seen[1] not in seen[:1] and issue not in seen


def test_attachment_ids_are_never_given_again(client):
    from tests.integration.approval_helpers import FOUR_ITEMS, new_project, start_declaration, upload

    declaration_id = start_declaration(client, new_project(client))
    client.post(f"/enterprise/declarations/{declaration_id}/answers", data=FOUR_ITEMS)
    from app.models import ItemCase

    material = db.session.query(ItemCase).filter_by(declaration_id=declaration_id,
                                                     item_code="authorisation").one().item.materials[0]
    assert upload(client, declaration_id, "authorisation", material.id, "first").status_code == 302
    first = db.session.query(Attachment).filter_by(declaration_id=declaration_id).one().id
    delete = f"/enterprise/declarations/{declaration_id}/attachments/{first}/delete"
    assert client.post(delete).status_code == 302
    assert upload(client, declaration_id, "authorisation", material.id, "second").status_code == 302
    db.session.expire_all()
    assert db.session.query(Attachment).filter_by(declaration_id=declaration_id).one().id != first
    # A stale second click on the first 删除 must not remove the new upload.
    assert client.post(delete).status_code == 404
    assert db.session.query(Attachment).filter_by(declaration_id=declaration_id).count() == 1


def test_wf_human_task_table_is_autoincrement_on_sqlite(ctx):
    if BACKEND != "sqlite":
        pytest.skip("PostgreSQL sequences never hand out an id twice")
    for table in ("wf_human_task", "attachment"):
        sql = db.session.execute(text("SELECT sql FROM sqlite_master WHERE name = :t"), {"t": table}).scalar()
        assert "AUTOINCREMENT" in sql, table
