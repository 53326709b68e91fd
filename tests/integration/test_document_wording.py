"""Wording against the documents (issue 11 §2.14): a 核准文件 change is told about the 核准文件, and
「我已办理过此事项」 also covers an item that is not needed (000 §5: 「已办理，或不需要办理」)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import lxml.html

from app.extensions import db
from app.models import Declaration, HumanTask, Permit
from engine import clock
from tests.conftest import login
from tests.integration.approval_helpers import FOUR_ITEMS, approve_item, case_of, declare, new_project, upload_required

MOMENT = datetime(2026, 10, 14, 2, 0)  # Wednesday 14 October 2026, 10:00 in Beijing


def test_a_change_beyond_a_authorisation_validity_names_the_authorisation(client):
    clock.travel_to(MOMENT)
    project = new_project(client)
    declaration = declare(client, project)
    approve_item(client, declaration, "authorisation")
    permit = db.session.query(Permit).filter_by(kind="authorisation").one()
    client.post("/logout")
    login(client, "qiye")
    beyond = (permit.valid_until + timedelta(days=30)).isoformat()
    response = client.post(f"/enterprise/permits/{permit.id}/change",
                           data={"change_planned_end": "on", "planned_end": beyond, "reason": "工期延长"})
    body = response.data.decode()
    assert response.status_code == 422
    assert "变更的开工/完工时间大于《核准文件》的有效期，请先申请《核准文件》延期再进行变更" in body
    assert "《备案证》" not in body


def _item_card(body: str, item_code: str) -> str:
    return lxml.html.fromstring(body).xpath(f"string(//*[@id='item-{item_code}'])")


def test_an_item_not_needed_is_marked_with_a_reason_and_no_document_number(client):
    clock.travel_to(MOMENT)
    project = new_project(client)
    response = client.post(f"/enterprise/declarations/start/{project.id}")
    declaration_id = int(re.search(r"/declarations/(\d+)", response.headers["Location"]).group(1))
    assert client.post(f"/enterprise/declarations/{declaration_id}/answers", data=FOUR_ITEMS).status_code == 302
    url = f"/enterprise/declarations/{declaration_id}/items/soil_water/done-before"

    no_reason = client.post(url, data={"basis": "not_needed", "prior_document": "", "not_needed_reason": " "})
    assert no_reason.status_code == 422 and "请填写「不需要办理的理由」" in no_reason.data.decode()
    long_reason = client.post(url, data={"basis": "not_needed", "not_needed_reason": "理" * 101})
    assert long_reason.status_code == 422 and "「不需要办理的理由」不能超过100字" in long_reason.data.decode()
    assert case_of(db.session.get(Declaration, declaration_id), "soil_water").status == "declared"

    marked = client.post(url, data={"basis": "not_needed", "prior_document": "",
                                    "not_needed_reason": "项目不涉及水土流失防治区"})
    assert marked.status_code == 302
    case = case_of(db.session.get(Declaration, declaration_id), "soil_water")
    assert (case.status, case.status_label, case.prior_document) == ("not_needed", "不需要办理", "项目不涉及水土流失防治区")
    assert case.document_number == ""  # the reason is not shown as if it were a 文号
    card = _item_card(client.get(f"/enterprise/declarations/{declaration_id}").data.decode(), "soil_water")
    assert "已标记为不需要办理（理由：项目不涉及水土流失防治区）" in card and "原批准文件" not in card

    # Not handled, and no 水保 material is asked for, at submission.
    upload_required(client, declaration_id)
    assert client.post(f"/enterprise/declarations/{declaration_id}/submit",
                       data={"action": "submit", "pledge": "on"}).status_code == 302
    declaration = db.session.get(Declaration, declaration_id)
    scopes = {t.scope for t in db.session.query(HumanTask).filter_by(instance_id=declaration.instance_id)}
    assert scopes == {"authorisation", "land_site", "eia"}
    # The public look-up says 不需要办理, with no 文号.
    rows = lxml.html.fromstring(client.get(f"/public/projects/{project.code}").data).xpath("//table[@class='list']//tr")
    cells = {row.xpath("string(td[1])"): [" ".join(td.text_content().split()) for td in row.xpath("td")] for row in rows}
    assert cells[case.item_name][2:4] == ["不需要办理", "—"]


def test_an_item_done_before_still_needs_its_document_number(client):
    clock.travel_to(MOMENT)
    project = new_project(client)
    response = client.post(f"/enterprise/declarations/start/{project.id}")
    declaration_id = int(re.search(r"/declarations/(\d+)", response.headers["Location"]).group(1))
    client.post(f"/enterprise/declarations/{declaration_id}/answers", data=FOUR_ITEMS)
    url = f"/enterprise/declarations/{declaration_id}/items/soil_water/done-before"
    blank = client.post(url, data={"basis": "done", "prior_document": " ", "not_needed_reason": "不需要"})
    assert blank.status_code == 422 and "请填写「原批准文件文号」" in blank.data.decode()
    assert client.post(url, data={"basis": "done", "prior_document": "江水保〔2025〕3号"}).status_code == 302
    case = case_of(db.session.get(Declaration, declaration_id), "soil_water")
    assert (case.status, case.prior_document) == ("done_before", "江水保〔2025〕3号")
    assert client.post(url, data={"undo": "1"}).status_code == 302
    assert case_of(db.session.get(Declaration, declaration_id), "soil_water").status == "declared"
