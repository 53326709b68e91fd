"""Steps after issue, over HTTP, shared by the lifecycle tests."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from app.extensions import db
from app.models import HumanTask, Instance, Permit, PostRequest
from engine import clock
from engine.scheduler import run_due_timers
from tests.conftest import at, login
from tests.integration.helpers import act, apply_code, db_scope, submit_filing


def issued_permit(client, **overrides) -> Permit:
    """qiye files a project and the 江海区 authority issues the certificate: the permit exists."""
    login(client, "qiye")
    code = apply_code(client)
    application = submit_filing(client, code, **overrides)
    assert act(client, "shouli", application, "accept", {"decision": "accept"}).status_code == 302
    assert act(client, "banli", application, "review", {"decision": "pass"}).status_code == 302
    assert act(client, "banli", application, "issue", {"confirm": "on"}).status_code == 302
    client.post("/logout")
    login(client, "qiye")
    db.session.expire_all()
    return db.session.query(Permit).order_by(Permit.id.desc()).first()


def fresh(permit: Permit) -> Permit:
    db.session.expire_all()
    return db.session.get(Permit, permit.id)


def step(client, username: str, request: PostRequest, bpmn_id: str, data: dict):
    """A reviewer claims and completes one step of a change or extension request."""
    client.post("/logout")
    login(client, username)
    db.session.expire_all()
    task = db.session.query(HumanTask).filter_by(instance_id=request.instance_id, bpmn_id=bpmn_id).one()
    if task.assignee is None:
        assert client.post(f"/reviewer/tasks/{task.id}/claim").status_code == 302
    response = client.post(f"/reviewer/tasks/{task.id}/complete", data=data)
    client.post("/logout")
    login(client, "qiye")
    return response


def latest_request(kind: str) -> PostRequest:
    db.session.expire_all()
    return db.session.query(PostRequest).filter_by(kind=kind).order_by(PostRequest.id.desc()).first()


def fire_timers(app) -> int:
    """What the scheduler does on its next tick, now, by the movable clock."""
    from app.services.platform import runtime

    fired = 0
    while True:
        n = run_due_timers(runtime(), db_scope)
        fired += n
        if not n:
            return fired


def travel(days: int = 0, moment: date | datetime | str | None = None) -> None:
    """Move the platform clock by days, or to a named moment (a date means 10:00 Beijing, see tests.conftest.at)."""
    if moment is not None:
        at(moment)
    else:
        clock.advance(timedelta(days=days))


def field_messages(body: str) -> dict[str, str]:
    """The message under each field a page marks (`error-text` inside the element `id="field-<name>"`)."""
    import lxml.html

    page = lxml.html.fromstring(body)
    found: dict[str, str] = {}
    for node in page.xpath("//*[contains(concat(' ', @class, ' '), ' error-text ')]"):
        owner = node.xpath("ancestor::*[starts-with(@id, 'field-')][1]")
        if owner:
            found[owner[0].get("id").removeprefix("field-")] = node.text_content().strip()
    return found


def page_alert(body: str) -> str:
    """The text of the page's error banner (`flash error`), without its list of field messages."""
    import lxml.html

    page = lxml.html.fromstring(body)
    banners = page.xpath("//div[contains(concat(' ', @class, ' '), ' flash ') and contains(@class, 'error')]")
    return banners[0].text.strip() if banners else ""


def applicant_tasks(permit: Permit) -> list[HumanTask]:
    db.session.expire_all()
    return list(db.session.query(HumanTask).filter_by(instance_id=permit.progress_instance_id)
                .order_by(HumanTask.id))


def instance_status(instance_id: int) -> str:
    db.session.expire_all()
    return db.session.get(Instance, instance_id).status


def error_summary(body: str) -> list[str]:
    """The messages listed under the page's error banner."""
    import lxml.html

    page = lxml.html.fromstring(body)
    return [li.text_content().strip() for li in page.xpath("//ul[contains(@class, 'error-summary')]/li")]
