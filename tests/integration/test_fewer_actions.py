"""Issue 14 §7: what a reviewer and an applicant no longer type or click — the 办结 form proposes the usual title and
the department's next 文号; a 补正 lists only materials the answers call for; 受理 needs no tick for the code check
the platform makes itself; a finished declaration's 办结告知书 is one click from 我的项目."""
from __future__ import annotations

from datetime import datetime

import lxml.html

from app.extensions import db
from app.models import Declaration
from app.services import approval
from engine import clock
from tests.conftest import login
from tests.integration.approval_helpers import (
    approve_item,
    case_of,
    declare,
    item_task,
    new_project,
    step,
)

MOMENT = datetime(2026, 10, 14, 2, 0)  # Wednesday 14 October 2026, 10:00 in Beijing: numbers of 2026 are this year's


def _case_page(client, username: str, declaration: Declaration, item_code: str) -> lxml.html.HtmlElement:
    client.post("/logout")
    login(client, username)
    task = item_task(declaration, item_code)
    if task.assignee is None:
        assert client.post(f"/reviewer/tasks/{task.id}/claim").status_code == 302
    response = client.get(f"/reviewer/cases/{case_of(declaration, item_code).id}")
    assert response.status_code == 200
    return lxml.html.fromstring(response.data.decode())


def test_decide_form_proposes_title_and_the_departments_next_number(client):
    clock.travel_to(MOMENT)
    first = declare(client, new_project(client, name="江门市第一个新材料核准项目"))
    approve_item(client, first, "eia")  # issues 江eia〔2026〕1号
    second = declare(client, new_project(client, name="江门市第二个新材料核准项目"))
    step(client, "hb_shouli", second, "eia", {"decision": "accept"})  # no tick: the platform checked the code
    step(client, "hb_banli", second, "eia", {"decision": "decide", "opinion": "材料齐全"})
    page = _case_page(client, "hb_banli", second, "eia")
    category = {"report": "环境影响报告书", "table": "环境影响报告表"}[second.answers["eia_category"]]
    assert page.get_element_by_id("f_doc_title").value == f"关于江门市第二个新材料核准项目{category}的批复"
    assert page.get_element_by_id("f_doc_number").value == "江eia〔2026〕2号"
    # what is proposed is only a start: a typed title and number are what count
    step(client, "hb_banli", second, "eia", {"result": "approve", "doc_number": "江环审〔2026〕5号",
                                             "doc_title": "关于第二个项目的批复", "opinion": "同意。"})
    assert case_of(second, "eia").decision["doc_number"] == "江环审〔2026〕5号"


def test_first_decision_of_a_department_proposes_no_number(client):
    declaration = declare(client, new_project(client))
    step(client, "hb_shouli", declaration, "eia", {"decision": "accept"})
    step(client, "hb_banli", declaration, "eia", {"decision": "decide", "opinion": "材料齐全"})
    page = _case_page(client, "hb_banli", declaration, "eia")
    assert page.get_element_by_id("f_doc_number").value in ("", None)
    assert page.get_element_by_id("f_doc_title").value.startswith("关于江门市示范新材料产业园核准项目")


def test_correction_lists_only_materials_the_answers_call_for(client):
    declaration = declare(client, new_project(client))
    page = _case_page(client, "hb_shouli", declaration, "eia")
    listed = {box.getparent().text_content().strip() for box in page.xpath("//input[@name='missing_material']")}
    views = next(row.materials for row in approval.materials_for(declaration) if row.case.item_code == "eia")
    not_needed = {v.material.name for v in views if v.outcome.status == "not_needed"}
    assert not_needed, "the default answers rule out a material of 环评 (公众参与说明 with a 报告表)"
    assert listed == {v.material.name for v in views} - not_needed


def test_finished_declaration_offers_its_notice_on_my_projects(client):
    declaration = declare(client, new_project(client))
    for item in [c.item_code for c in db.session.query(type(case_of(declaration, "eia")))
                 .filter_by(declaration_id=declaration.id)]:
        approve_item(client, declaration, item)
    db.session.refresh(declaration)
    assert declaration.status == "completed"
    client.post("/logout")
    login(client, "qiye")
    page = lxml.html.fromstring(client.get("/enterprise/").data.decode())
    link = page.xpath(f"//tr[@id='project-{declaration.project_id}']//a[text()='办结告知书']")
    assert link and link[0].get("href") == f"/enterprise/declarations/{declaration.id}/notice.pdf"
    response = client.get(link[0].get("href"))
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
