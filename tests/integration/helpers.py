"""Steps a user takes, over HTTP, reused by the integration tests."""
from __future__ import annotations

import re
from datetime import timedelta

from app.extensions import db, session_scope
from app.models import FilingApplication, HumanTask, Project
from app.services.calendar import today
from tests.conftest import login

PASSWORD = "Demo@2026"


def code_form(**overrides) -> dict:
    start = today() + timedelta(days=30)
    form = {"unit_uscc": "91430300MA4RTM5T6H", "kind": "filing", "name": "江海区精密零部件数控化改造项目", "type_code": "02",
            "industry_code": "C3484",
            "catalogue_code": "", "nature": "技术改造", "region_code": "440704", "address": "明辉路35号2栋",
            "scale_content": "购置数控加工中心20台，改造生产线2条", "planned_start": start.isoformat(),
            "planned_end": (start + timedelta(days=365)).isoformat(), "total_investment": "1000",
            # 确认赋码 on 「请核对以下信息」: the step that issues the code (without it the page only shows the summary)
            "step": "confirm"}
    form.update(overrides)
    return form


def filing_form(code: str, **overrides) -> dict:
    start = today() + timedelta(days=30)
    form = {"authority_id": "", "project_code": code, "nature": "技术改造", "industry_code": "C3484",
            "catalogue_code": "", "scale_content": "购置数控加工中心20台", "jobs_construction": "30",
            "jobs_operation": "50", "capital_category": "other", "capital": "300", "annual_plan": "600",
            "total_investment": "1000", "civil_investment": "200", "equipment_investment": "700",
            "import_fx": "0", "own_funds": "400", "domestic_loans": "500", "securities": "0", "other_funds": "100",
            "planned_start": start.isoformat(), "planned_end": (start + timedelta(days=365)).isoformat(),
            "contact_name": "张经办", "contact_phone": "13800138000"}
    form.update(overrides)
    return form


def apply_code(client) -> str:
    response = client.post("/enterprise/code/new", data=code_form())
    assert response.status_code == 302, response.data.decode()
    return db.session.query(Project).order_by(Project.id.desc()).first().code


def authority_id(name: str = "江门市江海区发展和改革局") -> str:
    from app.models import Department

    return str(db.session.query(Department).filter_by(name=name).one().id)


def submit_filing(client, code: str, **overrides) -> FilingApplication:
    response = client.post("/enterprise/filings/new",
                           data={**filing_form(code, authority_id=authority_id(), **overrides), "action": "submit"})
    assert response.status_code == 302, response.data.decode()
    application_id = int(re.search(r"/filings/(\d+)", response.headers["Location"]).group(1))
    return db.session.get(FilingApplication, application_id)


def task_for(application: FilingApplication, bpmn_id: str) -> HumanTask:
    db.session.expire_all()
    return db.session.query(HumanTask).filter_by(instance_id=application.instance_id, bpmn_id=bpmn_id).one()


def claim_as(client, username: str, task: HumanTask) -> None:
    """Log in as a reviewer and claim the task."""
    client.post("/logout")
    login(client, username)
    assert client.post(f"/reviewer/tasks/{task.id}/claim").status_code == 302


def act(client, username: str, application: FilingApplication, bpmn_id: str, data: dict):
    """Log in as a reviewer, claim the step and complete it with the given form."""
    task = task_for(application, bpmn_id)
    claim_as(client, username, task)
    return client.post(f"/reviewer/tasks/{task.id}/complete", data=data)


def field_errors(body: str) -> dict[str, str]:
    """The per-field messages a form page shows (the fields marked red), by field name."""
    import lxml.html

    page = lxml.html.fromstring(body)
    return {field.get("data-field"): field.xpath("string(.//div[contains(@class, 'error-text')])").strip()
            for field in page.xpath("//div[contains(concat(' ', @class, ' '), ' has-error ')]")}


db_scope = session_scope  # the scheduler's unit of work on the test's session
