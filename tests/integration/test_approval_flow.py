"""核准 end to end over HTTP: questionnaire → 4 items in 4 departments in parallel → 补正 twice →
one refusal → 招标核准 in the 核准 document → 办结告知书 only when every item is done."""
from __future__ import annotations

import io
import subprocess

from app.extensions import db
from app.models import Declaration, ItemCase, TrailEntry
from tests.conftest import advance_days, login
from tests.integration.approval_helpers import (
    approve_item,
    case_of,
    declare,
    item_task,
    new_project,
    pdf_bytes,
    step,
    upload,
)


def _pdf_text(content: bytes) -> str:
    return subprocess.run(["pdftotext", "-", "-"], input=content, capture_output=True, check=True).stdout.decode()


def test_authorisation_with_four_departments_to_completion_notice(client):
    project = new_project(client)
    declaration = declare(client, project)
    assert declaration.must_tender is True
    assert declaration.item_codes == ["authorisation", "land_site", "eia", "soil_water"]
    cases = db.session.query(ItemCase).filter_by(declaration_id=declaration.id)
    departments = {c.item_code: c.department.name for c in cases}
    assert departments == {"authorisation": "江门市发展和改革局", "land_site": "江门市自然资源局",
                           "eia": "江门市生态环境局", "soil_water": "江门市水利局"}

    # 环评: 一次性告知补正 at 受理, then 补正 during 办理 (clock paused), then approved.
    eia = case_of(declaration, "eia")
    material = eia.item.materials[0]
    step(client, "hb_shouli", declaration, "eia", {"decision": "correction", "opinion": "报告表结论不完整",
                                                    "missing_material": [str(material.id)]})
    assert case_of(declaration, "eia").status == "correction"
    client.post("/logout")
    login(client, "qiye")
    refused = client.post(f"/enterprise/declarations/{declaration.id}/items/eia/supplement", data={"note": "已补充"})
    assert refused.status_code == 422 and "请重新上传补正材料" in refused.data.decode()
    assert upload(client, declaration.id, "eia", material.id, "补正1").status_code == 302
    assert client.post(f"/enterprise/declarations/{declaration.id}/items/eia/supplement",
                       data={"note": "已补充结论"}).status_code == 302
    step(client, "hb_shouli", declaration, "eia", {"decision": "accept", "code_verified": "on"})
    started = case_of(declaration, "eia")
    assert started.status == "handling" and started.due_at is not None
    due_before = started.due_at

    step(client, "hb_banli", declaration, "eia", {"decision": "correction", "opinion": "补充监测数据",
                                                   "missing_material": [str(material.id)]})
    paused = case_of(declaration, "eia")
    assert paused.status == "paused_correction" and paused.due_at is None and paused.clock["paused_at"]
    advance_days(14)  # two weeks waiting for the applicant do not count
    client.post("/logout")
    login(client, "qiye")
    assert upload(client, declaration.id, "eia", material.id, "补正2").status_code == 302
    assert client.post(f"/enterprise/declarations/{declaration.id}/items/eia/supplement",
                       data={"note": "已补充监测数据"}).status_code == 302
    resumed = case_of(declaration, "eia")
    assert resumed.status == "handling" and resumed.due_at > due_before
    assert resumed.corrections == 2

    # The other items: 核准 with 招标核准, 用地预审 approved, 水保 refused.
    approve_item(client, declaration, "authorisation")
    approve_item(client, declaration, "land_site")
    approve_item(client, declaration, "soil_water", result="refuse")
    db.session.expire_all()
    assert db.session.get(Declaration, declaration.id).status == "handling"  # 环评 still open
    client.post("/logout")
    login(client, "qiye")
    assert client.get(f"/enterprise/declarations/{declaration.id}/notice.pdf").status_code == 404

    step(client, "hb_banli", declaration, "eia", {"decision": "decide", "opinion": "同意"})
    step(client, "hb_banli", declaration, "eia", {"result": "approve", "doc_number": "江环审〔2026〕9号",
                                                   "doc_title": "关于环评报告表的批复", "opinion": "同意建设。"})
    db.session.expire_all()
    done = db.session.get(Declaration, declaration.id)
    assert done.status == "completed" and done.notice_number
    statuses = {c.item_code: c.status for c in db.session.query(ItemCase).filter_by(declaration_id=declaration.id)}
    assert statuses == {"authorisation": "approved", "land_site": "approved", "eia": "approved", "soil_water": "refused"}

    client.post("/logout")
    login(client, "qiye")
    notice = client.get(f"/enterprise/declarations/{declaration.id}/notice.pdf")
    assert notice.status_code == 200 and notice.headers["Content-Disposition"].startswith("attachment")
    text = _pdf_text(notice.data)
    for word in ("办结告知书", project.code, "企业投资项目核准", "江环审〔2026〕9号", "不予许可"):
        assert word in text.replace("\n", ""), word
    decision = client.get(f"/enterprise/declarations/{declaration.id}/items/authorisation/decision.pdf")
    assert decision.status_code == 200
    decision_text = _pdf_text(decision.data).replace("\n", "")
    assert "招标" in decision_text and "公开招标" in decision_text and "委托招标" in decision_text

    # Anyone can look the results up by the project code (the documents' QR codes point here).
    client.post("/logout")
    public = client.get(f"/public/projects/{project.code}")
    assert public.status_code == 200
    body = public.data.decode()
    assert "江环审〔2026〕9号" in body and "不予许可" in body and "材料.pdf" not in body
    assert client.get("/public/projects/2611-440704-04-01-000003").status_code == 404

    # Every start, pause and resume of the clock is in the trail, with who and why.
    trail = db.session.query(TrailEntry).filter_by(action="clock", instance_id=declaration.instance_id)
    clocks = [t.detail for t in trail.order_by(TrailEntry.id) if t.detail["item"] == "eia"]
    assert [c["clock"] for c in clocks] == ["start", "pause", "resume"]
    assert "补充监测数据" in clocks[1]["reason"]


def test_other_enterprise_and_other_department_are_refused(client):
    project = new_project(client)
    declaration = declare(client, project)
    client.post("/logout")
    login(client, "qiye2")
    assert client.get(f"/enterprise/declarations/{declaration.id}").status_code == 403
    from app.models import Attachment

    attachment = db.session.query(Attachment).filter_by(declaration_id=declaration.id).first()
    download = client.get(f"/enterprise/declarations/{declaration.id}/attachments/{attachment.id}")
    assert download.status_code == 403 and not download.data.startswith(b"%PDF")
    # 生态环境 reviewers see the 环评 task only, never the 核准 one.
    client.post("/logout")
    login(client, "hb_shouli")
    page = client.get("/reviewer/").data.decode()
    assert "建设项目环境影响评价审批" in page and "企业投资项目核准" not in page
    task = item_task(declaration, "authorisation")
    assert client.post(f"/reviewer/tasks/{task.id}/claim").status_code == 403
    assert client.get(f"/reviewer/cases/{case_of(declaration, 'authorisation').id}").status_code == 403


def test_uploads_accept_real_pdfs_only(client):
    project = new_project(client)
    response = client.post(f"/enterprise/declarations/start/{project.id}")
    declaration_id = int(response.headers["Location"].rsplit("/", 1)[1])
    from tests.integration.approval_helpers import FOUR_ITEMS

    client.post(f"/enterprise/declarations/{declaration_id}/answers", data=FOUR_ITEMS)
    case = db.session.query(ItemCase).filter_by(declaration_id=declaration_id, item_code="authorisation").one()
    material = case.item.materials[0]
    html = upload(client, declaration_id, "authorisation", material.id, content=b"<html><script>alert(1)</script>",
                  filename="report.pdf")
    assert html.status_code == 422 and "只接受PDF格式" in html.data.decode()
    broken = upload(client, declaration_id, "authorisation", material.id, content=b"%PDF-1.4\ngarbage", filename="a.pdf")
    assert broken.status_code == 422 and "无法读取" in broken.data.decode()
    same = pdf_bytes("ok")
    ok = upload(client, declaration_id, "authorisation", material.id, content=same)
    assert ok.status_code == 302
    again = upload(client, declaration_id, "authorisation", material.id, content=same)
    assert again.status_code == 302
    from app.models import Attachment, Upload

    assert db.session.query(Upload).count() == 1  # stored once by content hash
    current = db.session.query(Attachment).filter_by(declaration_id=declaration_id, superseded=False).one()
    download = client.get(f"/enterprise/declarations/{declaration_id}/attachments/{current.id}")
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    # Submitting without the other required materials names each of them.
    refused = client.post(f"/enterprise/declarations/{declaration_id}/submit", data={"action": "submit", "pledge": "on"})
    assert refused.status_code == 422 and "缺少必需材料" in refused.data.decode()


def test_an_item_done_before_is_not_handled_again_and_own_materials_can_be_added(client):
    import re

    from app.models import HumanTask
    from tests.integration.approval_helpers import FOUR_ITEMS, upload_required

    project = new_project(client)
    response = client.post(f"/enterprise/declarations/start/{project.id}")
    declaration_id = int(re.search(r"/declarations/(\d+)", response.headers["Location"]).group(1))
    client.post(f"/enterprise/declarations/{declaration_id}/answers", data=FOUR_ITEMS)
    url = f"/enterprise/declarations/{declaration_id}/items/soil_water/done-before"
    blank = client.post(url, data={"prior_document": " "})
    assert blank.status_code == 422 and "请填写「原批准文件文号」" in blank.data.decode()
    main = client.post(f"/enterprise/declarations/{declaration_id}/items/authorisation/done-before",
                       data={"prior_document": "x"})
    assert main.status_code == 409 and "主事项须在本次申报中办理，不能标记为已办理" in main.data.decode()
    assert client.post(url, data={"prior_document": "江水保〔2025〕3号"}).status_code == 302
    upload_required(client, declaration_id)
    own = client.post(f"/enterprise/declarations/{declaration_id}/attachments",
                      data={"name": "项目可行性研究报告（企业自行补充）", "file": (io.BytesIO(pdf_bytes("own")), "fs.pdf")},
                      content_type="multipart/form-data")
    assert own.status_code == 302
    nameless = client.post(f"/enterprise/declarations/{declaration_id}/attachments",
                           data={"name": "", "file": (io.BytesIO(pdf_bytes("own")), "fs.pdf")},
                           content_type="multipart/form-data")
    assert nameless.status_code == 422 and "请填写「材料名称」" in nameless.data.decode()
    assert client.post(f"/enterprise/declarations/{declaration_id}/submit",
                       data={"action": "submit", "pledge": "on"}).status_code == 302
    declaration = db.session.get(Declaration, declaration_id)
    scopes = {t.scope for t in db.session.query(HumanTask).filter_by(instance_id=declaration.instance_id)}
    assert scopes == {"authorisation", "land_site", "eia"}  # 水保 was handled before: not sent again
    assert case_of(declaration, "soil_water").status == "done_before"
    client.post("/logout")
    login(client, "zr_shouli")  # a reviewer of one item sees the applicant's own material too
    case = case_of(declaration, "land_site")
    assert "项目可行性研究报告（企业自行补充）" in client.get(f"/reviewer/cases/{case.id}").data.decode()
