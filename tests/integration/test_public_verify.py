"""The public 备案证 check after 重新赋码: the old certificate says what happened and links its replacement."""
from __future__ import annotations

import lxml.html

from app.extensions import db
from app.models import FilingCertificate, Project
from tests.integration.helpers import act, submit_filing
from tests.integration.lifecycle_helpers import fresh, issued_permit, latest_request
from tests.integration.lifecycle_helpers import step as request_step


def _result(page: str) -> tuple[str, dict[str, str], lxml.html.HtmlElement]:
    """The verdict line and the table rows (header → text) of the verify page."""
    result = lxml.html.fromstring(page).get_element_by_id("verify-result")
    rows = {row.xpath("string(th)").strip(): " ".join(row.xpath("string(td)").split()) for row in result.iter("tr")}
    return result.xpath("string(.//p[@class='big'])").strip(), rows, result


def test_a_replaced_certificate_names_what_happened_and_links_the_new_one(client):
    permit = issued_permit(client)
    old_number = permit.number
    verdict, rows, _ = _result(client.get(f"/verify/{old_number}").data.decode())
    assert verdict == "该备案证有效" and rows["有效期"].startswith("开工前有效期至")

    response = client.post(f"/enterprise/permits/{permit.id}/change", data={
        "change_scale_content": "on", "scale_content": "产品方向改为新能源汽车零部件，新增冲压生产线", "reason": "市场调整"})
    assert response.status_code == 302, response.data.decode()[:2000]
    request = latest_request("change")
    assert request_step(client, "shouli", request, "accept", {"decision": "accept"}).status_code == 302
    assert request_step(client, "banli", request, "review", {
        "decision": "reapprove", "opinion": "建设内容发生重大变化，须重新赋码备案"}).status_code == 302
    successor = db.session.get(Project, latest_request("change").new_project_id)
    assert successor.predecessor_id == permit.project_id

    # Until the new code's certificate is issued, the old one stays valid.
    assert _result(client.get(f"/verify/{old_number}").data.decode())[0] == "该备案证有效"
    application = submit_filing(client, successor.code)
    assert act(client, "shouli", application, "accept", {"decision": "accept"}).status_code == 302
    assert act(client, "banli", application, "review", {"decision": "pass"}).status_code == 302
    assert act(client, "banli", application, "issue", {"confirm": "on"}).status_code == 302
    client.post("/logout")
    new_certificate = db.session.query(FilingCertificate).filter_by(project_id=successor.id).one()
    assert fresh(permit).status == "replaced"

    page = client.get(f"/verify/{old_number}")  # anonymous, as a bank or a QR scan would
    assert page.status_code == 200
    verdict, rows, result = _result(page.data.decode())
    assert verdict == "该备案证已重新赋码办理（由新项目代码的文件替代）"
    assert "有效期" not in rows  # an ended certificate shows no validity as if it still ran
    assert rows["终止日期"] == new_certificate.issued_on.isoformat()
    assert new_certificate.number in rows["终止原因"] and successor.code in rows["终止原因"]
    assert rows["替代文件"] == f"备案证 {new_certificate.number} （新项目代码 {successor.code}）"
    assert result.xpath("//td[@id='successor']/a/@href") == [f"/verify/{new_certificate.number}"]
    assert _result(client.get(f"/verify/{new_certificate.number}").data.decode())[0] == "该备案证有效"
