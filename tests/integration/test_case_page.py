"""Issue 14 §9 and §10: the reviewer's case page has what a decision needs (project basics, the other departments'
progress, a preview of the document before 签发 / 办结 that issues nothing and is only for the holder of the step);
the 办理记录 names person, department, decision and opinion on every line and groups a parallel declaration per item;
已办 rows open every kind of case."""
from __future__ import annotations

import re
import subprocess

import lxml.html

from app.extensions import db
from app.models import FilingApplication, FilingCertificate, HumanTask, ItemCase, Permit, User
from tests.conftest import login
from tests.integration.approval_helpers import (
    TENDER,
    case_of,
    declare,
    item_task,
    new_project,
    step,
    upload,
)
from tests.integration.helpers import apply_code, submit_filing, task_for


def _pdf_text(content: bytes) -> str:
    return subprocess.run(["pdftotext", "-", "-"], input=content, capture_output=True, check=True).stdout.decode()


def _as(client, username: str) -> None:
    client.post("/logout")
    login(client, username)


def _claim(client, task: HumanTask) -> None:
    if task.assignee is None:
        assert client.post(f"/reviewer/tasks/{task.id}/claim").status_code == 302


def _name(username: str) -> str:
    return db.session.query(User).filter_by(username=username).one().display_name


def _lines(body: str) -> list[str]:
    """The text of each 办理记录 line, tags stripped."""
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", li)).strip()
            for li in re.findall(r'<li class="trail-line".*?</li>', body, re.S)]


def test_case_page_shows_basics_and_other_departments_progress(client):
    project = new_project(client)
    declaration = declare(client, project)
    step(client, "hb_shouli", declaration, "eia", {"decision": "accept", "code_verified": "on"})
    _as(client, "sfg_shouli")
    task = item_task(declaration, "authorisation")
    _claim(client, task)
    body = client.get(f"/reviewer/cases/{case_of(declaration, 'authorisation').id}").data.decode()
    basics = body[body.index('id="project-basics"'):body.index("</section>", body.index('id="project-basics"'))]
    for text in ("建设规模及内容", project.scale_content, "建设地点", project.location, "总投资", "50,000 万元",
                 "计划开工 / 竣工", str(project.planned_start), str(project.planned_end)):
        assert text in basics, text
    others = body[body.index('id="other-items"'):body.index("</table>", body.index('id="other-items"'))]
    assert "企业投资项目核准" not in others  # this page's own item is not listed among the others
    for code, department, status in (("eia", "江门市生态环境局", "办理中"), ("land_site", "江门市自然资源局", "待受理"),
                                     ("soil_water", "江门市水利局", "待受理")):
        row = re.search(rf'<tr data-item="{code}">.*?</tr>', others, re.S).group(0)
        assert department in row and status in row, row
    eia_row = re.search(r'<tr data-item="eia">.*?</tr>', others, re.S).group(0)
    assert 'class="light light-green"' in eia_row  # its clock runs: the light shows
    # materials open in the in-page viewer; the link still downloads without JavaScript
    assert 'id="pdf-viewer"' in body and "data-pdf-view=" in body and "pdfview.js" in body


def _at_decide(client, declaration, code: str = "authorisation") -> tuple[ItemCase, HumanTask]:
    step(client, "sfg_shouli", declaration, code, {"decision": "accept", "code_verified": "on"})
    step(client, "sfg_banli", declaration, code, {"decision": "decide", "opinion": "材料齐全，符合核准条件"})
    task = item_task(declaration, code)
    assert task.form_key == "item_decide_tender"
    _as(client, "sfg_banli")
    _claim(client, task)
    return case_of(declaration, code), item_task(declaration, code)


def test_decision_preview_is_the_holders_and_issues_nothing(client):
    declaration = declare(client, new_project(client))
    case, task = _at_decide(client, declaration)
    permits = db.session.query(Permit).count()
    typed = {"result": "approve", "doc_number": "江发改核准〔2026〕77号", "doc_title": "关于示范项目核准的批复",
             "opinion": "同意建设。", **TENDER}
    response = client.post(f"/reviewer/cases/{case.id}/tasks/{task.id}/preview", data=typed)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("inline")
    text = _pdf_text(response.data)
    for expected in ("预览", "江发改核准〔2026〕77号", "关于示范项目核准的批复", "同意建设", "公开招标"):
        assert expected in text, expected
    # half a form previews too: what is missing says so, nothing is refused
    partial = client.post(f"/reviewer/cases/{case.id}/tasks/{task.id}/preview", data={"result": "approve"})
    assert partial.status_code == 200 and "文号未填写" in _pdf_text(partial.data)
    # nothing issued: no permit, no decision, the step still open in the same hands
    db.session.expire_all()
    assert db.session.query(Permit).count() == permits
    assert case_of(declaration, "authorisation").decision is None
    still = item_task(declaration, "authorisation")
    assert still.id == task.id and still.assignee == task.assignee
    page = client.get(f"/reviewer/cases/{case.id}").data.decode()
    assert 'id="preview-button"' in page

    # others: another department (403), the acceptor of the same item (no 办结 step in their hands: 409), and the
    # handler themself once they handed the step back (not holding it: 403)
    _as(client, "hb_banli")
    assert client.post(f"/reviewer/cases/{case.id}/tasks/{task.id}/preview", data=typed).status_code == 403
    _as(client, "sfg_shouli")
    refused = client.post(f"/reviewer/cases/{case.id}/tasks/{task.id}/preview", data=typed,
                          headers={"Accept": "application/json"})
    assert refused.status_code == 409 and "没有可预览的文件" in refused.get_json()["message"]
    _as(client, "sfg_banli")
    assert client.post(f"/reviewer/tasks/{task.id}/unclaim").status_code == 302
    refused = client.post(f"/reviewer/cases/{case.id}/tasks/{task.id}/preview", data=typed,
                          headers={"Accept": "application/json"})
    assert refused.status_code == 403 and "只有签收" in refused.get_json()["message"]
    assert 'id="preview-button"' not in client.get(f"/reviewer/cases/{case.id}").data.decode()
    _as(client, "qiye")
    assert client.post(f"/reviewer/cases/{case.id}/tasks/{task.id}/preview", data=typed).status_code == 403


def test_certificate_preview_before_issue_writes_no_number(client):
    login(client, "qiye")
    application = submit_filing(client, apply_code(client))
    for username, bpmn_id, data in (("shouli", "accept", {"decision": "accept", "code_verified": "on"}),
                                    ("banli", "review", {"decision": "pass", "opinion": "符合备案要求"})):
        _as(client, username)
        task = task_for(application, bpmn_id)
        _claim(client, task)
        assert client.post(f"/reviewer/tasks/{task.id}/complete", data=data).status_code == 302
    task = task_for(application, "issue")
    _as(client, "banli")
    _claim(client, task)
    page = client.get(f"/reviewer/tasks/{task.id}").data.decode()
    assert 'id="preview-button"' in page and 'id="project-basics"' in page
    response = client.post(f"/reviewer/cases/filing-tasks/{task.id}/preview")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = _pdf_text(response.data)
    assert "预览" in text and "签发时生成" in text and application.project.code in text
    db.session.expire_all()
    assert db.session.query(FilingCertificate).count() == 0 and db.session.query(Permit).count() == 0
    assert db.session.get(FilingApplication, application.id).status == "reviewed"
    _as(client, "shouli")  # same department, not holding the 签发 step
    assert client.post(f"/reviewer/cases/filing-tasks/{task.id}/preview").status_code in (403, 409)


def test_timeline_names_actor_department_decision_opinion_per_item(client):
    project = new_project(client)
    declaration = declare(client, project)
    eia = case_of(declaration, "eia")
    material = eia.item.materials[0]
    step(client, "hb_shouli", declaration, "eia", {"decision": "correction", "opinion": "报告表结论不完整",
                                                    "missing_material": [str(material.id)]})
    _as(client, "qiye")
    assert upload(client, declaration.id, "eia", material.id, "补正1").status_code == 302
    assert client.post(f"/enterprise/declarations/{declaration.id}/items/eia/supplement",
                       data={"note": "已补充结论"}).status_code == 302
    step(client, "hb_shouli", declaration, "eia", {"decision": "accept", "code_verified": "on"})
    step(client, "sfg_shouli", declaration, "authorisation", {"decision": "accept", "code_verified": "on"})
    step(client, "sfg_banli", declaration, "authorisation", {"decision": "decide", "opinion": "材料齐全，符合核准条件"})

    _as(client, "qiye")
    body = client.get(f"/enterprise/declarations/{declaration.id}").data.decode()
    trail = body[body.index('id="trail"'):]
    headings = re.findall(r'<li class="trail-item"[^>]*><h3>([^<]+)</h3>', trail)
    assert headings[:3] == ["申报", "企业投资项目核准（含招标核准）", "建设项目环境影响评价审批"], headings
    lines = _lines(trail)
    hb, sfg, sfg_banli = _name("hb_shouli"), _name("sfg_shouli"), _name("sfg_banli")
    assert any(hb in t and "· 江门市生态环境局" in t and "补正" in t and "意见：报告表结论不完整" in t for t in lines), lines
    assert any(hb in t and "· 江门市生态环境局" in t and "受理" in t for t in lines), lines
    assert any(sfg in t and "· 江门市发展和改革局" in t and "受理" in t for t in lines), lines
    assert any(sfg_banli in t and "审查完毕" in t and "意见：材料齐全，符合核准条件" in t for t in lines), lines
    assert any("提交补正材料" in t and "意见：已补充结论" in t and "示范精密机械" in t for t in lines), lines
    # the 受理 after the 补正 wrote no opinion: the 补正's opinion is not shown again under it
    accepted = [t for t in lines if hb in t and "补正" not in t and " 受理 " in f" {t} "]
    assert accepted and not any("报告表结论不完整" in t for t in accepted), lines
    # each item's lines sit under its heading: the 环评 补正 is not under 核准
    sections = re.split(r'<li class="trail-item"', trail)
    authorisation = next(s for s in sections if "企业投资项目核准" in s.split("</h3>")[0])
    assert "报告表结论不完整" not in authorisation and "材料齐全" in authorisation

    # the reviewer's case page shows that item's lines (and the declaration's), in one list, with the same details
    _as(client, "hb_banli")
    page = client.get(f"/reviewer/cases/{eia.id}").data.decode()
    page_lines = _lines(page[page.index('id="trail"'):])
    assert any(hb in t and "补正" in t and "报告表结论不完整" in t for t in page_lines), page_lines
    assert page.count('class="trail-item"') == 0 and page.count('class="timeline') == 1
    assert not any("材料齐全，符合核准条件" in t for t in page_lines)


def _finished_filing_in_done(client) -> tuple[FilingApplication, str]:
    """A 备案 shouli 受理d: its next step (审核) is no longer in shouli's hands; the 已办 row links to it."""
    login(client, "qiye")
    application = submit_filing(client, apply_code(client))
    _as(client, "shouli")
    task = task_for(application, "accept")
    _claim(client, task)
    assert client.post(f"/reviewer/tasks/{task.id}/complete",
                       data={"decision": "accept", "code_verified": "on"}).status_code == 302
    body = client.get("/tasks/?tab=done").data.decode()
    link = f"/reviewer/applications/{application.id}"
    assert link in body, body[body.index("<table"):][:3000]
    return application, link


def test_done_filing_row_and_its_read_only_page(client):
    application, _ = _finished_filing_in_done(client)
    shown = client.get(f"/reviewer/cases/filings/{application.id}")
    assert shown.status_code == 200
    page = shown.data.decode()
    assert application.number in page and 'id="project-basics"' in page and "受理" in page
    _as(client, "sfg_shouli")  # another department
    assert client.get(f"/reviewer/cases/filings/{application.id}").status_code == 403


def test_done_filing_row_opens_the_filing_once_no_step_is_left(client):
    application, link = _finished_filing_in_done(client)
    response = client.get(link)
    assert response.status_code == 302 and response.headers["Location"].endswith(
        f"/reviewer/cases/filings/{application.id}")


def test_the_tender_opinion_starts_from_the_contracts_the_answers_give(client):
    """FOUR_ITEMS: a 5,000万 construction contract, no goods or services contract: 施工 starts 全部招标 · 公开招标 ·
    委托招标 and every other package 不招标 (the reviewer confirms instead of choosing 15 times)."""
    declaration = declare(client, new_project(client))
    case, _ = _at_decide(client, declaration)
    page = lxml.html.fromstring(client.get(f"/reviewer/cases/{case.id}").data)

    def chosen(name: str) -> str:
        return page.xpath(f"string(//select[@name='{name}']/option[@selected]/@value)")

    assert [chosen(f"tender_works_{p}") for p in ("scope", "method", "org")] == ["全部招标", "公开招标", "委托招标"]
    for package in ("survey", "design", "supervision", "goods"):
        assert [chosen(f"tender_{package}_{p}") for p in ("scope", "method", "org")] == ["不招标", "—", "—"], package


def test_every_rounds_opinion_stays_in_the_trail_after_the_workflow_prunes_it(client):
    """Two 补正 rounds in 办理: the workflow keeps only the last round's data, the trail entry of each completed step
    carries its decision and opinion (Runtime.trail_fields), so 办理记录 still shows the first one."""
    declaration = declare(client, new_project(client))
    eia = case_of(declaration, "eia")
    material = eia.item.materials[0]
    step(client, "hb_shouli", declaration, "eia", {"decision": "accept", "code_verified": "on"})
    for round_, opinion in enumerate(("第一轮：缺少公众参与说明", "第二轮：监测数据过期"), start=1):
        step(client, "hb_banli", declaration, "eia", {"decision": "correction", "opinion": opinion,
                                                       "missing_material": [str(material.id)]})
        _as(client, "qiye")
        assert upload(client, declaration.id, "eia", material.id, f"补正{round_}").status_code == 302
        assert client.post(f"/enterprise/declarations/{declaration.id}/items/eia/supplement",
                           data={"note": f"已按第{round_}轮补正"}).status_code == 302
    _as(client, "hb_banli")
    lines = _lines(client.get(f"/reviewer/cases/{eia.id}").data.decode().split('id="trail"', 1)[1])
    for opinion in ("第一轮：缺少公众参与说明", "第二轮：监测数据过期", "已按第1轮补正", "已按第2轮补正"):
        assert any(opinion in t for t in lines), (opinion, "\n".join(lines))
