"""项目代码核验 before 受理 (issue 11 §2.13; 003 第十四条（二）「未通过项目代码核验的，不得受理」): the platform
checks the code itself, shows the result on the 受理 page, and refuses 受理 (422 naming 项目代码) when it fails."""
from __future__ import annotations

from datetime import datetime

import lxml.html

from app.extensions import db
from app.models import FilingApplication, HumanTask, Notification, Project
from app.services import code_check
from app.services.projects import new_code
from engine import clock
from tests.conftest import login
from tests.integration.approval_helpers import case_of, declare, item_task, new_project
from tests.integration.helpers import apply_code, claim_as, submit_filing
from tests.integration.lifecycle_helpers import issued_permit
from tests.integration.snapshot import world

MOMENT = datetime(2026, 10, 14, 2, 0)  # Wednesday 14 October 2026, 10:00 in Beijing


def shown_result(body: str) -> tuple[str, list[str]]:
    page = lxml.html.fromstring(body)
    result = page.xpath("string(//*[@id='code-check-result'])").strip()
    return result, [li.text_content().strip() for li in page.xpath("//*[@id='code-check']//li")]


def recode(project: Project) -> Project:
    """重大变化 → 重新赋码, as post_requests._recode does: a new project mapped to this one."""
    successor = Project(enterprise_id=project.enterprise_id, kind=project.kind, created_by=project.created_by,
                        predecessor_id=project.id, **{name: getattr(project, name) for name in (
                            "type_code", "name", "industry_code", "catalogue_code", "region_code", "address",
                            "nature", "scale_content", "planned_start", "planned_end", "total_investment")})
    new_code(db.session, successor)
    db.session.commit()
    return successor


def test_filing_accept_shows_the_check_and_refuses_a_code_that_fails_it(client):
    clock.travel_to(MOMENT)
    login(client, "qiye")
    application = submit_filing(client, apply_code(client))
    task = db.session.query(HumanTask).filter_by(instance_id=application.instance_id, bpmn_id="accept").one()
    claim_as(client, "shouli", task)
    result, lines = shown_result(client.get(f"/reviewer/tasks/{task.id}").data.decode())
    assert result == "通过" and len(lines) == 5 and all(line.startswith("✓") for line in lines)

    successor = recode(application.project)
    result, lines = shown_result(client.get(f"/reviewer/tasks/{task.id}").data.decode())
    assert result == "未通过"
    assert f"✗ 项目状态：项目发生重大变化已重新赋码为 {successor.code}，须以新代码申报" in lines

    before = world()
    response = client.post(f"/reviewer/tasks/{task.id}/complete", data={"decision": "accept"})
    body = response.data.decode()
    assert response.status_code == 422
    assert f"项目代码 {application.project.code} 未通过核验，不得受理" in body
    assert world() == before

    notes = db.session.query(Notification).count()
    rejected = client.post(f"/reviewer/tasks/{task.id}/complete",
                           data={"decision": "reject", "opinion": "项目已重新赋码，请以新代码申报备案"})
    assert rejected.status_code == 302  # 不得受理并告知项目单位
    db.session.expire_all()
    assert db.session.get(FilingApplication, application.id).status == "rejected"
    assert db.session.query(Notification).count() == notes + 1


def test_item_accept_refuses_a_code_that_fails_its_check_digit(client):
    clock.travel_to(MOMENT)
    project = new_project(client)
    declaration = declare(client, project)
    case = case_of(declaration, "authorisation")
    task = item_task(declaration, "authorisation")
    claim_as(client, "sfg_shouli", task)
    result, lines = shown_result(client.get(f"/reviewer/cases/{case.id}").data.decode())
    assert result == "通过" and all(line.startswith("✓") for line in lines)

    # A code carried over from elsewhere whose check digit is wrong (as some old fixtures had).
    project = db.session.get(Project, project.id)
    bad = project.code[:-1] + str((int(project.code[-1]) + 1) % 10)
    project.code = bad
    db.session.commit()
    result, lines = shown_result(client.get(f"/reviewer/cases/{case.id}").data.decode())
    assert result == "未通过" and lines == ["✗ 编码规则：项目代码校验位不正确，请核对后重新输入"]

    before = world()
    response = client.post(f"/reviewer/cases/{case.id}/tasks/{task.id}/complete",
                           data={"decision": "accept", "code_verified": "on"})
    assert response.status_code == 422 and f"项目代码 {bad} 未通过核验，不得受理" in response.data.decode()
    assert world() == before
    assert case_of(declaration, "authorisation").status == "receiving"


def test_the_check_covers_enterprise_kind_and_ended_permits(client):
    clock.travel_to(MOMENT)
    permit = issued_permit(client)
    project = db.session.get(Project, permit.project_id)
    assert code_check.verify(project.code, project, project.enterprise_id, "filing").passed
    other = code_check.verify(project.code, project, project.enterprise_id + 1000, "filing")
    assert [c.label for c in other.checks if not c.passed] == ["项目单位"]
    kind = code_check.verify(project.code, project, project.enterprise_id, "authorisation")
    assert [c.detail for c in kind.checks if not c.passed] == ["项目为备案类，与申报的核准类不一致"]

    assert client.post(f"/enterprise/permits/{permit.id}/cancel", data={"reason": "项目终止"}).status_code == 302
    db.session.expire_all()
    ended = code_check.verify(project.code, project, project.enterprise_id, "filing")
    assert [c.detail for c in ended.checks if not c.passed] == [f"该项目的备案证 {permit.number} 已注销"]
