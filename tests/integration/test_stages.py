"""审批类 stage progression over HTTP: 立项 → 阶段申请 可研 (信息确认, items decided again, earlier approvals
reused) → 初步设计 (概算 over the 可研 估算 by more than 10% needs the art-12 说明) — one project code."""
from __future__ import annotations

import re

import lxml.html

from app.extensions import db
from app.models import Declaration, HumanTask, ItemCase, Project
from tests.conftest import login
from tests.integration.approval_helpers import (
    FOUR_ITEMS,
    approve_item,
    case_of,
    declare,
    new_project,
    start_declaration,
)
from tests.integration.helpers import field_errors


def _approve_all(client, declaration: Declaration) -> None:
    for case in db.session.query(ItemCase).filter_by(declaration_id=declaration.id).all():
        if case.status != "done_before":
            approve_item(client, declaration, case.item_code)
    db.session.expire_all()
    assert db.session.get(Declaration, declaration.id).status == "completed"


def _confirm(client, declaration_id: int, **overrides):
    project = db.session.get(Declaration, declaration_id).project
    form = {"scale_content": project.scale_content, "planned_start": project.planned_start.isoformat(),
            "planned_end": project.planned_end.isoformat(),
            "total_investment": format(project.total_investment.normalize(), "f"), "confirmed": "on"}
    form.update(overrides)
    return client.post(f"/enterprise/declarations/{declaration_id}/confirm", data=form)


def stage_line(client, project: Project) -> dict[str, str]:
    """The project page's stage line: each stage with the state it shows."""
    page = lxml.html.fromstring(client.get(f"/enterprise/projects/{project.id}").data)
    return {li.get("data-stage"): li.xpath("string(div[contains(@class, 'status')])").strip()
            for li in page.xpath("//ol[@class='stage-line']/li")}


def stage_button(page: str, stage: str) -> str | None:
    """The label of the button that starts the stage, if the page offers one."""
    labels = lxml.html.fromstring(page).xpath(f"//li[@data-stage='{stage}']//button/text()")
    return labels[0].strip() if labels else None


def _as_qiye(client) -> None:
    client.post("/logout")
    login(client, "qiye")


def test_three_stages_keep_one_code_with_information_confirmed(client):
    project = new_project(client, kind="approval", name="江海区智慧政务中心建设项目")
    code = project.code
    first = declare(client, project)
    assert first.stage == "立项"
    assert first.item_codes[0] == "proposal"

    # While 立项 is handled the same declaration comes back; the page shows 立项 办理中.
    _as_qiye(client)
    assert start_declaration(client, project) == first.id
    assert stage_line(client, project) == {"立项": "办理中", "可研": "未开始", "初步设计": "未开始"}

    _approve_all(client, first)
    _as_qiye(client)
    assert stage_line(client, project) == {"立项": "已批复", "可研": "可申请", "初步设计": "未开始"}
    page = client.get(f"/enterprise/projects/{project.id}").data.decode()
    assert stage_button(page, "可研") == "阶段申请：可研" and "江proposal〔2026〕1号" in page

    # 可研: 信息确认 comes first; the questionnaire is closed until it is done.
    second_id = start_declaration(client, project)
    second = db.session.get(Declaration, second_id)
    assert (second.stage, second.project.code) == ("可研", code)
    assert client.post(f"/enterprise/declarations/{second_id}/answers", data=FOUR_ITEMS).status_code == 409
    response = _confirm(client, second_id, confirmed="", planned_end="2020-01-01")
    assert response.status_code == 422
    body = response.data.decode()
    assert "请勾选「本单位已核对以上项目基本信息，确认真实准确」" in body
    db.session.expire_all()
    assert db.session.get(Declaration, second_id).confirmation is None
    assert _confirm(client, second_id, total_investment="52000").status_code == 302
    db.session.expire_all()
    second = db.session.get(Declaration, second_id)
    assert second.confirmation["changes"] == [
        {"field": "total_investment", "label": "总投资（万元）", "before": "50000", "after": "52000"}]
    assert str(second.project.total_investment.normalize()) == "5.2E+4"

    # The questionnaire starts from the 立项 answers; the same answers give 可研 plus the items already
    # approved at 立项, which are reused by reference instead of being handled again.
    page = client.get(f"/enterprise/declarations/{second_id}").data.decode()
    assert re.search(r'name="construction_contract"[^>]*value="5000"', page)
    second = declare(client, second.project, declaration_id=second_id)
    assert second.item_codes[0] == "feasibility"
    reused = case_of(second, "eia")
    assert (reused.status, reused.prior_document) == ("done_before", "江eia〔2026〕1号（本平台已办结）")
    assert case_of(second, "feasibility").status == "receiving"
    _approve_all(client, second)

    # 初步设计: a 概算 more than 10% over the 可研 估算 (52,000) needs the 说明 of 政府投资条例 art 12.
    _as_qiye(client)
    third_id = start_declaration(client, project)
    response = _confirm(client, third_id, total_investment="58000")
    assert response.status_code == 422
    assert field_errors(response.data.decode())["overrun_note"].startswith(
        "初步设计概算58,000万元超过可研批复估算52,000万元的10%（超出11.5%）")
    assert _confirm(client, third_id, total_investment="57000").status_code == 302  # within 10 %: no 说明
    db.session.expire_all()
    assert db.session.get(Declaration, third_id).confirmation["overrun"] is None
    third = declare(client, project, declaration_id=third_id)
    assert third.item_codes[0] == "preliminary_design"
    _approve_all(client, third)

    _as_qiye(client)
    response = client.post(f"/enterprise/declarations/start/{project.id}")
    assert response.status_code == 409
    assert stage_line(client, project) == {"立项": "已批复", "可研": "已批复", "初步设计": "已批复"}
    page = client.get(f"/enterprise/projects/{project.id}").data.decode()
    assert all(stage_button(page, stage) is None for stage in ("立项", "可研", "初步设计"))
    assert db.session.query(Project).filter_by(code=code).count() == 1

    # The 初步设计 reviewer sees the confirmed information; another enterprise sees nothing.
    client.post("/logout")
    login(client, "banli")
    case = case_of(third, "preliminary_design")
    confirmation = lxml.html.fromstring(client.get(f"/reviewer/cases/{case.id}").data).get_element_by_id("confirmation")
    assert confirmation.findtext("h2") == "信息确认（初步设计阶段）"
    assert "初步设计概算57,000万元" not in confirmation.text_content()  # within 10 %: no overrun shown
    client.post("/logout")
    login(client, "qiye2")
    assert client.get(f"/enterprise/projects/{project.id}").status_code == 403


def test_overrun_needs_a_note_and_is_shown_to_the_reviewer(client):
    project = new_project(client, kind="approval", name="江海区城市更新示范项目")
    answers = {**FOUR_ITEMS, "new_land": "no", "eia_category": "none", "soil_disturbance": "no",
               "state_controlled": "no", "construction_contract": "0"}
    for stage in ("立项", "可研"):
        _as_qiye(client)
        declaration_id = start_declaration(client, project)
        if stage == "可研":
            assert _confirm(client, declaration_id).status_code == 302
        declaration = declare(client, project, answers, declaration_id=declaration_id)
        assert declaration.item_codes == ["proposal" if stage == "立项" else "feasibility"]
        _approve_all(client, declaration)
    _as_qiye(client)
    third_id = start_declaration(client, project)
    response = _confirm(client, third_id, total_investment="60000")
    assert response.status_code == 422
    assert field_errors(response.data.decode())["overrun_note"].startswith(
        "初步设计概算60,000万元超过可研批复估算50,000万元的10%（超出20.0%）")
    assert _confirm(client, third_id, total_investment="60000", overrun_note="地质条件变化，增加桩基工程").status_code == 302
    db.session.expire_all()
    third = db.session.get(Declaration, third_id)
    assert third.confirmation["overrun"] == {"estimate": "50,000", "budget": "60,000", "percent": "20.0",
                                             "note": "地质条件变化，增加桩基工程"}
    task = db.session.query(HumanTask).filter_by(instance_id=third.instance_id, bpmn_id="questionnaire").one()
    assert task.candidate_role == "applicant"
    page = lxml.html.fromstring(client.get(f"/enterprise/declarations/{third_id}").data)
    shown = page.get_element_by_id("confirmation").text_content()
    assert "超出20.0%" in shown and "地质条件变化，增加桩基工程" in shown
