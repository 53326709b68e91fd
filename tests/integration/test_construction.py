"""报建 over HTTP: after 备案 the enterprise chooses items of two departments at once; they are handled in
parallel; approved items cannot be chosen again, and 竣工验收备案 opens only after the 施工许可证."""
from __future__ import annotations

import re

from app.extensions import db
from app.models import Declaration, ItemCase
from tests.conftest import login
from tests.integration.approval_helpers import approve_item, new_project, upload_required
from tests.integration.lifecycle_helpers import issued_permit


def _build(client, project_id: int) -> int:
    response = client.post(f"/enterprise/declarations/build/{project_id}")
    assert response.status_code == 302, response.data.decode()
    return int(re.search(r"/declarations/(\d+)", response.headers["Location"]).group(1))


def _choose(client, declaration_id: int, items: list[str]):
    return client.post(f"/enterprise/declarations/{declaration_id}/items-choice", data={"items": items})


def _submit(client, declaration_id: int) -> Declaration:
    upload_required(client, declaration_id)
    response = client.post(f"/enterprise/declarations/{declaration_id}/submit", data={"action": "submit", "pledge": "on"})
    assert response.status_code == 302, response.data.decode()
    db.session.expire_all()
    return db.session.get(Declaration, declaration_id)


def test_build_items_of_two_departments_after_filing(client):
    permit = issued_permit(client)
    project_id = permit.project_id
    declaration_id = _build(client, project_id)
    assert _build(client, project_id) == declaration_id  # one open 报建: continue it
    declaration = db.session.get(Declaration, declaration_id)
    assert (declaration.stage, declaration.kind) == ("报建", "filing")
    assert declaration.number.endswith("XMBJ") and "-04-" in declaration.number
    page = client.get(f"/enterprise/declarations/{declaration_id}").data.decode()
    assert "① 选择报建事项" in page and "建筑工程施工许可证核发" in page
    assert re.search(r'value="completion_filing"\s+disabled', page)  # needs the 施工许可证 first

    response = _choose(client, declaration_id, [])
    assert response.status_code == 422 and "请勾选「报建事项」" in response.data.decode()
    response = _choose(client, declaration_id, ["construction_permit", "completion_filing"])
    assert response.status_code == 422
    assert "「竣工验收备案」须先取得「建筑工程施工许可证核发」后方可申报" in response.data.decode()
    assert _choose(client, declaration_id, ["nonsense"]).status_code == 422
    db.session.expire_all()
    assert db.session.query(ItemCase).filter_by(declaration_id=declaration_id).count() == 0  # nothing half-written

    # Back from the upload step to the choice, then two departments' items at once.
    assert _choose(client, declaration_id, ["works_planning"]).status_code == 302
    assert client.post(f"/enterprise/declarations/{declaration_id}/submit", data={"action": "back"}).status_code == 302
    assert _choose(client, declaration_id, ["works_planning", "construction_permit"]).status_code == 302
    declaration = _submit(client, declaration_id)
    cases = {c.item_code: c for c in db.session.query(ItemCase).filter_by(declaration_id=declaration_id)}
    assert {k: (c.status, c.department.name) for k, c in cases.items()} == {
        "works_planning": ("receiving", "江门市自然资源局"), "construction_permit": ("receiving", "江门市住房和城乡建设局")}
    # 我已办理过 does not apply to items the applicant chose.
    assert declaration.status == "handling"

    # The 住建 reviewer sees the whole 报建 list; the other enterprise cannot start one here.
    client.post("/logout")
    login(client, "zj_shouli")
    page = client.get(f"/reviewer/cases/{cases['construction_permit'].id}").data.decode()
    assert "申请单位本次一并申报：建设工程规划许可证核发、建筑工程施工许可证核发" in page
    client.post("/logout")
    login(client, "qiye2")
    assert client.post(f"/enterprise/declarations/build/{project_id}").status_code == 403

    approve_item(client, declaration, "works_planning")
    approve_item(client, declaration, "construction_permit")
    db.session.expire_all()
    declaration = db.session.get(Declaration, declaration_id)
    assert declaration.status == "completed" and declaration.notice_number

    # A second 报建: approved items are refused by name; 竣工验收备案 is open now.
    client.post("/logout")
    login(client, "qiye")
    page = client.get(f"/enterprise/projects/{project_id}").data.decode()
    assert "江construction_permit〔2026〕1号" in page and "报建申报" in page
    second = _build(client, project_id)
    assert second != declaration_id
    response = _choose(client, second, ["works_planning"])
    assert response.status_code == 422
    assert "「建设工程规划许可证核发」已在本平台办结（江works_planning〔2026〕1号），无需重复申报" in response.data.decode()
    assert _choose(client, second, ["completion_filing"]).status_code == 302


def test_build_waits_for_the_main_approval(client):
    project = new_project(client, kind="approval", name="江海区未立项项目")
    response = client.post(f"/enterprise/declarations/build/{project.id}")
    assert response.status_code == 409
    page = client.get(f"/enterprise/projects/{project.id}").data.decode()
    assert "审批类项目须在项目建议书（立项）批复后办理报建" in page
    assert db.session.query(Declaration).filter_by(project_id=project.id).count() == 0
