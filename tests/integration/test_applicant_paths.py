"""Issue 14 §2, §5, §6: a 补正 the applicant cannot miss, wrong paths closed, drafts deleted, and the applicant's
records (申报表, 受理通知书) as PDFs, each through the routes as the users take them."""
from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from app.extensions import db
from app.models import Declaration, FilingApplication, HumanTask, Notification, Project, SmsMessage, User
from engine.tables import Instance, TrailEntry
from tests.conftest import login
from tests.integration.approval_helpers import case_of, declare, new_project, start_declaration, step
from tests.integration.helpers import act, apply_code, authority_id, field_errors, filing_form, submit_filing

pytestmark = pytest.mark.clock("2026-12-01 10:00")


def _as(client, username: str) -> None:
    client.post("/logout")
    login(client, username)


def _pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def _section(page: str, marker: str, end: str) -> str:
    return page.split(marker, 1)[1].split(end, 1)[0]


def _user(username: str) -> User:
    return db.session.query(User).filter_by(username=username).one()


def _correction_for_filing(client) -> FilingApplication:
    login(client, "qiye")
    application = submit_filing(client, apply_code(client))
    assert act(client, "shouli", application, "accept",
               {"decision": "correction", "opinion": "请补充设备清单"}).status_code == 302
    db.session.expire_all()
    return db.session.get(FilingApplication, application.id)


# ---- §2 a 补正 cannot be missed ------------------------------------------------------------------------
def test_filing_correction_shows_everywhere_with_its_action_and_stops_nagging_once_answered(client):
    application = _correction_for_filing(client)
    assert application.status == "correction"
    edit = f"/enterprise/filings/{application.id}/edit"
    # the applicant is told by 待阅 and by SMS
    qiye = _user("qiye")
    sms = db.session.query(SmsMessage).filter_by(user_id=qiye.id).all()
    assert [m for m in sms if "需要补正" in m.text and application.number in m.text]
    note = db.session.query(Notification).filter_by(user_id=qiye.id, link=f"/enterprise/filings/{application.id}").one()
    assert "需要补正" in note.title and note.read_at is None

    _as(client, "qiye")
    home = client.get("/enterprise/").data.decode()
    box = _section(home, 'id="corrections"', "</section>")
    assert "待补正" in box and "请补充设备清单" in box and f'href="{edit}"' in box
    row = _section(home, f'id="project-{application.project_id}"', "</tr>")
    assert "badge-correction" in row and "待补正" in row and f'href="{edit}"' in row and "提交补正" in row
    project_page = client.get(f"/enterprise/projects/{application.project_id}").data.decode()
    assert "badge-correction" in project_page and f'href="{edit}"' in _section(project_page, 'id="corrections"',
                                                                                 "</section>")
    tasks = client.get("/tasks/").data.decode()
    todo = _section(tasks, 'id="todo"', "</table>")
    assert application.number in todo and "江海区精密零部件数控化改造项目" in todo and "filing:" not in todo
    assert f'href="{edit}"' in todo and "去补正" in todo

    response = client.post(edit, data={**filing_form(application.project.code, authority_id=authority_id()),
                                       "action": "submit"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Notification, note.id).read_at is not None  # answered: no longer 待阅
    home = client.get("/enterprise/").data.decode()
    assert 'id="corrections"' not in home and "请补充设备清单" not in home.split("全部项目")[0]
    assert "badge-correction" not in home


def test_item_correction_badge_links_to_the_items_block_and_the_task_centre_names_the_case(client):
    project = new_project(client)
    declaration = declare(client, project)
    eia = case_of(declaration, "eia")
    material = eia.item.materials[0]
    step(client, "hb_shouli", declaration, "eia", {"decision": "correction", "opinion": "报告表结论不完整",
                                                    "missing_material": [str(material.id)]})
    _as(client, "qiye")
    target = f"/enterprise/declarations/{declaration.id}#item-eia"
    home = client.get("/enterprise/").data.decode()
    assert f'href="{target}"' in _section(home, 'id="corrections"', "</section>")
    row = _section(home, f'id="project-{project.id}"', "</tr>")
    assert "badge-correction" in row and f'href="{target}"' in row and eia.item_name in row
    page = client.get(f"/enterprise/projects/{project.id}").data.decode()
    assert "待补正" in page and f'href="{target}"' in page
    todo = _section(client.get("/tasks/").data.decode(), 'id="todo"', "</table>")
    assert declaration.number in todo and project.name in todo and eia.item_name in todo
    assert "declaration:" not in todo and f'href="{target}"' in todo


def test_badges_do_not_break_mid_word(client):
    css = client.get("/static/applicant.css").data.decode()
    assert re.search(r"\.status,\.permit-badge,\.badge\{white-space:nowrap\}", css)
    login(client, "qiye")
    assert "applicant.css" in client.get("/enterprise/").data.decode()


# ---- §5 wrong paths closed -----------------------------------------------------------------------------
def test_authorisation_project_is_refused_by_the_filing_form_naming_the_field(client):
    project = new_project(client)  # 核准类
    before = db.session.query(FilingApplication).count()
    lookup = client.get(f"/enterprise/code/lookup?code={project.code}")
    assert lookup.status_code == 422 and "核准类项目，不能申报备案" in lookup.json["message"]
    assert "事项申报" in lookup.json["message"]
    form = client.get(f"/enterprise/filings/new?code={project.code}")
    assert form.status_code == 422 and "不能申报备案" in field_errors(form.data.decode())["project_code"]
    for action in ("save", "submit"):
        response = client.post("/enterprise/filings/new",
                               data={**filing_form(project.code, authority_id=authority_id()), "action": action})
        assert response.status_code == 422
        assert "核准类项目" in field_errors(response.data.decode())["project_code"]
    assert db.session.query(FilingApplication).count() == before  # nothing written


def test_a_project_with_a_filing_does_not_pass_the_check_again(client):
    login(client, "qiye")
    code = apply_code(client)
    saved = client.post("/enterprise/filings/new",
                        data={**filing_form(code, authority_id=authority_id()), "action": "save"})
    draft_id = int(re.search(r"/filings/(\d+)", saved.headers["Location"]).group(1))
    lookup = client.get(f"/enterprise/code/lookup?code={code}")
    assert lookup.status_code == 409 and "已有备案草稿" in lookup.json["message"]
    own = client.get(f"/enterprise/code/lookup?code={code}",
                     headers={"Referer": f"http://localhost/enterprise/filings/{draft_id}/edit"})
    assert own.status_code == 200  # the draft's own form may check its code
    response = client.post(f"/enterprise/filings/{draft_id}/edit",
                           data={**filing_form(code, authority_id=authority_id()), "action": "submit"})
    assert response.status_code == 302
    lookup = client.get(f"/enterprise/code/lookup?code={code}")
    assert lookup.status_code == 409 and "正在办理中，不能重复申报" in lookup.json["message"]
    again = client.post("/enterprise/filings/new", data={**filing_form(code, authority_id=authority_id()),
                                                         "action": "save"})
    assert again.status_code == 409 and "不能重复申报" in field_errors(again.data.decode())["project_code"]

    application = db.session.get(FilingApplication, draft_id)
    act(client, "shouli", application, "accept", {"decision": "accept"})
    act(client, "banli", application, "review", {"decision": "pass"})
    act(client, "banli", application, "issue", {"confirm": "on"})
    _as(client, "qiye")
    lookup = client.get(f"/enterprise/code/lookup?code={code}")
    assert lookup.status_code == 409 and "该项目已备案（备案证号" in lookup.json["message"]
    assert "不能重复备案" in field_errors(client.get(f"/enterprise/filings/new?code={code}").data.decode())[
        "project_code"]
    assert db.session.query(FilingApplication).filter_by(project_id=application.project_id).count() == 1


def test_drafts_are_deleted_by_their_owner_and_their_workflow_cancelled(client):
    login(client, "qiye")
    code = apply_code(client)
    saved = client.post("/enterprise/filings/new",
                        data={**filing_form(code, authority_id=authority_id()), "action": "save"})
    draft = db.session.get(FilingApplication, int(re.search(r"/filings/(\d+)", saved.headers["Location"]).group(1)))
    instance_id, number = draft.instance_id, draft.number
    home = client.get("/enterprise/").data.decode()
    assert f"/enterprise/filings/{draft.id}/delete" in home and "data-confirm" in home

    _as(client, "qiye2")  # another enterprise's draft: refused, nothing removed
    assert client.post(f"/enterprise/filings/{draft.id}/delete").status_code == 403
    assert client.post("/enterprise/filings/999999/delete").status_code == 404
    _as(client, "shouli")  # not an applicant
    assert client.post(f"/enterprise/filings/{draft.id}/delete").status_code == 403
    assert db.session.get(FilingApplication, draft.id) is not None

    _as(client, "qiye")
    response = client.post(f"/enterprise/filings/{draft.id}/delete")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(FilingApplication, draft.id) is None
    instance = db.session.get(Instance, instance_id)
    assert instance.status == "cancelled"
    assert db.session.query(HumanTask).filter_by(instance_id=instance_id).count() == 0
    trail = db.session.query(TrailEntry).filter_by(instance_id=instance_id, action="cancel").one()
    assert number in trail.detail["reason"]
    assert number not in _section(client.get("/tasks/").data.decode(), 'id="todo"', "</table>")
    # the project may be filed again after its draft is gone
    assert client.get(f"/enterprise/code/lookup?code={code}").status_code == 200

    # a submitted application is no draft
    submitted = submit_filing(client, code)
    refused = client.post(f"/enterprise/filings/{submitted.id}/delete")
    assert refused.status_code == 409 and "只能删除草稿" in refused.data.decode()
    assert client.post(f"/enterprise/filings/{submitted.id}/withdraw").status_code == 302
    refused = client.post(f"/enterprise/filings/{submitted.id}/delete")  # withdrawn: the authority saw it
    assert refused.status_code == 409 and "办理记录须保留" in refused.data.decode()


def test_a_declaration_not_submitted_is_deleted_a_submitted_one_is_not(client):
    project = new_project(client)
    declaration_id = start_declaration(client, project)
    instance_id = db.session.get(Declaration, declaration_id).instance_id
    home = client.get("/enterprise/").data.decode()
    assert f"/enterprise/declarations/{declaration_id}/delete" in _section(home, 'id="drafts"', "</section>")
    _as(client, "qiye2")
    assert client.post(f"/enterprise/declarations/{declaration_id}/delete").status_code == 403
    _as(client, "qiye")
    assert client.post(f"/enterprise/declarations/{declaration_id}/delete").status_code == 302
    db.session.expire_all()
    assert db.session.get(Declaration, declaration_id) is None
    assert db.session.get(Instance, instance_id).status == "cancelled"
    assert db.session.query(HumanTask).filter_by(instance_id=instance_id).count() == 0

    declaration = declare(client, db.session.get(Project, project.id))  # a new one, submitted
    refused = client.post(f"/enterprise/declarations/{declaration.id}/delete")
    assert refused.status_code == 409 and "已提交" in refused.data.decode()
    assert db.session.get(Declaration, declaration.id) is not None


# ---- §6 申报表 and 受理通知书 ---------------------------------------------------------------------------
def test_filing_form_and_receipt_pdfs_for_the_applicant_and_the_handling_department_only(client):
    login(client, "qiye")
    application = submit_filing(client, apply_code(client))
    form = client.get(f"/enterprise/filings/{application.id}/form.pdf")
    assert form.status_code == 200 and form.mimetype == "application/pdf"
    text = _pdf_text(form.data)
    assert "企业投资项目备案申请表" in text and application.number in text
    assert "江海区精密零部件数控化改造项目" in text and "购置数控加工中心20台" in text
    assert "1,000" in text and "1,000.00" not in text  # amounts as the form showed them
    assert "江门市江海区发展和改革局" in text
    early = client.get(f"/enterprise/filings/{application.id}/receipt.pdf")
    assert early.status_code == 409 and "尚未受理" in early.data.decode()

    act(client, "shouli", application, "accept", {"decision": "accept"})
    _as(client, "qiye")
    receipt = client.get(f"/enterprise/filings/{application.id}/receipt.pdf")
    assert receipt.status_code == 200
    text = _pdf_text(receipt.data)
    assert "备案受理通知书" in text and "予以受理" in text and application.number in text
    assert "江门市江海区发展和改革局" in text
    page = client.get(f"/enterprise/projects/{application.project_id}").data.decode()
    assert f"/enterprise/filings/{application.id}/form.pdf" in page
    assert f"/enterprise/filings/{application.id}/receipt.pdf" in page

    _as(client, "banli")  # the handling department
    assert client.get(f"/enterprise/filings/{application.id}/receipt.pdf").status_code == 200
    for outsider in ("qiye2", "xh_shouli", "hb_shouli"):
        _as(client, outsider)
        assert client.get(f"/enterprise/filings/{application.id}/form.pdf").status_code == 403, outsider
        assert client.get(f"/enterprise/filings/{application.id}/receipt.pdf").status_code == 403, outsider
    _as(client, "zhengce")  # policy staff hold no applicant or reviewer role for it
    assert client.get(f"/enterprise/filings/{application.id}/form.pdf").status_code == 403


def test_declaration_form_and_item_receipt_pdfs(client):
    project = new_project(client)
    declaration = declare(client, project)
    form = client.get(f"/enterprise/declarations/{declaration.id}/form.pdf")
    assert form.status_code == 200
    text = _pdf_text(form.data)
    assert "投资项目核准事项申报表" in text and declaration.number in text and project.name in text
    eia = case_of(declaration, "eia")
    assert eia.item_name in text and "江门市生态环境局" in text and "环境影响报告表" in text  # the answer's label
    assert client.get(f"/enterprise/declarations/{declaration.id}/items/eia/receipt.pdf").status_code == 409

    step(client, "hb_shouli", declaration, "eia", {"decision": "accept", "code_verified": "on"})
    _as(client, "qiye")
    receipt = client.get(f"/enterprise/declarations/{declaration.id}/items/eia/receipt.pdf")
    assert receipt.status_code == 200
    text = _pdf_text(receipt.data)
    assert "行政许可受理通知书" in text and eia.item_name in text and "江门市生态环境局" in text
    assert client.get(f"/enterprise/declarations/{declaration.id}/items/nope/receipt.pdf").status_code == 404
    page = client.get(f"/enterprise/projects/{project.id}").data.decode()
    assert f"/enterprise/declarations/{declaration.id}/items/eia/receipt.pdf" in page
    assert f"/enterprise/declarations/{declaration.id}/form.pdf" in page

    _as(client, "hb_banli")  # a department handling one of its items
    assert client.get(f"/enterprise/declarations/{declaration.id}/form.pdf").status_code == 200
    for outsider in ("qiye2", "shouli"):  # another enterprise; a department with no item in it
        _as(client, outsider)
        assert client.get(f"/enterprise/declarations/{declaration.id}/form.pdf").status_code == 403, outsider
        assert client.get(f"/enterprise/declarations/{declaration.id}/items/eia/receipt.pdf").status_code == 403
