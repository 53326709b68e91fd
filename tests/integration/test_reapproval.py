"""A change the authority finds major (建设地点) is not issued: the project gets a new code mapped to the old
one (national rules art 12), is authorised again under it, and the old 核准文件 ends when the new one is issued."""
from __future__ import annotations

import io

from app.extensions import db
from app.models import HumanTask, Notification, Permit, Project, SmsMessage
from tests.conftest import login
from tests.integration.approval_helpers import TENDER, declare, new_project, pdf_bytes, step
from tests.integration.lifecycle_helpers import fresh, instance_status, latest_request
from tests.integration.lifecycle_helpers import step as request_step


def _authorise(client, project: Project, number: str) -> Permit:
    declaration = declare(client, project)
    step(client, "sfg_shouli", declaration, "authorisation", {"decision": "accept", "code_verified": "on"})
    step(client, "sfg_banli", declaration, "authorisation", {"decision": "decide", "opinion": "符合要求"})
    step(client, "sfg_banli", declaration, "authorisation", {
        "result": "approve", "doc_number": number, "doc_title": "关于项目核准的批复", "opinion": "同意。", **TENDER})
    db.session.expire_all()
    return db.session.query(Permit).filter_by(number=number).one()


def test_major_change_gives_a_new_code_and_the_new_authorisation_replaces_the_old(client):
    old_project = new_project(client)
    permit = _authorise(client, old_project, "江发改核准〔2026〕7号")
    client.post("/logout")
    login(client, "qiye")
    assert "明辉路35号2栋" in client.get(f"/enterprise/permits/{permit.id}/change").data.decode()
    response = client.post(f"/enterprise/permits/{permit.id}/change", data={
        "change_address": "on", "address": "江海区高新区北园路8号", "reason": "原址规划调整，项目整体迁至北园路",
        "files": (io.BytesIO(pdf_bytes("site plan")), "新址规划条件.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 302, response.data.decode()[:2000]
    request = latest_request("change")
    # The handling department opens the attached material; another enterprise cannot.
    client.post("/logout")
    login(client, "sfg_shouli")
    task = db.session.query(HumanTask).filter_by(instance_id=request.instance_id, bpmn_id="accept").one()
    assert "新址规划条件.pdf</a>" in client.get(f"/reviewer/tasks/{task.id}").data.decode()
    attachment = client.get(f"/enterprise/requests/{request.id}/attachments/0")
    assert attachment.status_code == 200 and attachment.data.startswith(b"%PDF")
    assert client.get(f"/enterprise/requests/{request.id}/attachments/1").status_code == 404
    client.post("/logout")
    login(client, "qiye2")
    assert client.get(f"/enterprise/requests/{request.id}/attachments/0").status_code == 403
    assert request.changes[0]["label"] == "建设地点（详细地址）" and request.changes[0]["before"] == "明辉路35号2栋"
    assert request_step(client, "sfg_shouli", request, "accept", {"decision": "accept"}).status_code == 302
    response = request_step(client, "sfg_banli", request, "review", {"decision": "reapprove"})
    assert response.status_code == 422 and "请填写「审核意见」" in response.data.decode()
    assert latest_request("change").new_project_id is None
    assert request_step(client, "sfg_banli", request, "review", {
        "decision": "reapprove", "opinion": "建设地点变更属重大变化，应重新核准"}).status_code == 302

    request = latest_request("change")
    successor = db.session.get(Project, request.new_project_id)
    assert request.status == "reapproval" and request.letter_number is None
    assert successor.predecessor_id == old_project.id and successor.code != old_project.code
    assert (successor.kind, successor.address) == ("authorisation", "江海区高新区北园路8号")
    assert successor.name == old_project.name
    assert fresh(permit).status == "valid"  # until the new 核准文件 is issued
    assert db.session.get(Project, old_project.id).address == "明辉路35号2栋"
    note = db.session.query(Notification).order_by(Notification.id.desc()).first()
    assert f"新项目代码 {successor.code}" in note.title and note.link == f"/enterprise/projects/{successor.id}"
    assert db.session.query(SmsMessage).filter(SmsMessage.text.contains(successor.code)).count() == 1

    # Both codes point at each other, publicly and on the enterprise's pages.
    page = client.get(f"/public/projects/{old_project.code}").data.decode()
    assert "新项目代码" in page and successor.code in page
    assert old_project.code in client.get(f"/public/projects/{successor.code}").data.decode()
    page = client.get(f"/enterprise/permits/{permit.id}").data.decode()
    assert "重大变化，须重新赋码办理" in page and successor.code in page
    page = client.get(f"/enterprise/projects/{successor.id}").data.decode()
    assert old_project.code in page and "事项申报（核准）" in page

    new_permit = _authorise(client, successor, "江发改核准〔2026〕9号")
    old = fresh(permit)
    assert old.status == "replaced" and "江发改核准〔2026〕9号" in old.end_reason and successor.code in old.end_reason
    assert instance_status(old.validity_instance_id) != "running"
    assert instance_status(old.progress_instance_id) != "running"
    assert new_permit.status == "valid" and new_permit.project_id == successor.id
    client.post("/logout")
    login(client, "qiye")
    response = client.post(f"/enterprise/permits/{permit.id}/change", data={
        "change_scale_content": "on", "scale_content": "x", "reason": "y"})
    assert response.status_code == 409
