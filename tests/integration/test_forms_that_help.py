"""Forms that help (issue 14 §4): 确认赋码 after 「请核对以下信息」, the address named once, amounts as 1,100 万元,
optional funding sources at 0, 请勾选 for boxes, the 备案机关 preselected from the 建设地点."""
from __future__ import annotations

import re

import lxml.html
import pytest
from flask import render_template_string

from app.extensions import db
from app.formkit import FormInvalid, parse_form, validate_form
from app.models import Department, FilingApplication, Project
from app.services.platform import choices, filing_authority_for, validate
from tests.conftest import login
from tests.integration.helpers import authority_id, code_form, field_errors, filing_form


def _token(client) -> str:
    page = client.get("/enterprise/code/new").data.decode()
    return re.search(r'name="form_token" value="([^"]+)"', page).group(1)


def _hidden(body: str) -> dict[str, str]:
    page = lxml.html.fromstring(body)
    return {i.get("name"): i.get("value") or "" for i in page.xpath("//form[contains(@class, 'confirm-code')]//input")}


# ---- 领码: 下一步 shows the summary, 确认赋码 issues the code ------------------------------------------------------
def test_the_first_post_shows_the_summary_and_issues_nothing(client):
    login(client, "qiye")
    form = {k: v for k, v in code_form(address="江门市江海区高新区金瓯路288号").items() if k != "step"}
    response = client.post("/enterprise/code/new", data={**form, "form_token": _token(client), "step": "review"})
    body = response.data.decode()
    assert response.status_code == 200 and "请核对以下信息" in body
    assert "返回修改" in body and "确认赋码" in body
    assert db.session.query(Project).count() == 0  # nothing written by the first step
    page = lxml.html.fromstring(body)
    facts = dict(zip(page.xpath("//dl[contains(@class,'code-summary')]/dt/text()"),
                     page.xpath("//dl[contains(@class,'code-summary')]/dd/text()"), strict=True))
    assert facts["项目类别"] == "备案类（企业投资，目录外）"  # labels, not codes
    assert facts["建设地点（区县）"] == "广东省江门市江海区"
    assert facts["建设地点（完整）"] == "广东省江门市江海区高新区金瓯路288号"  # named once
    assert facts["总投资（万元）"] == "1,000 万元"
    # the answers travel back in the page (as typed), with the form's one-time token
    carried = _hidden(body)
    assert carried["name"] == form["name"] and carried["address"] == "江门市江海区高新区金瓯路288号"
    assert carried["form_token"]


def test_a_post_without_a_step_only_shows_the_summary(client):
    login(client, "qiye")
    form = {k: v for k, v in code_form().items() if k != "step"}
    response = client.post("/enterprise/code/new", data=form)
    assert response.status_code == 200 and "请核对以下信息" in response.data.decode()
    assert db.session.query(Project).count() == 0


def test_confirm_issues_one_code_and_a_double_confirm_still_one(client):
    login(client, "qiye")
    form = {k: v for k, v in code_form(address="江门市江海区高新区金瓯路288号").items() if k != "step"}
    summary = client.post("/enterprise/code/new", data={**form, "form_token": _token(client), "step": "review"})
    carried = _hidden(summary.data.decode())
    first = client.post("/enterprise/code/new", data={**carried, "step": "confirm"})
    assert first.status_code == 302
    project = db.session.query(Project).one()
    assert project.address == "高新区金瓯路288号"  # saved without the region names typed again
    assert project.location == "广东省江门市江海区高新区金瓯路288号"
    again = client.post("/enterprise/code/new", data={**carried, "step": "confirm"})  # double click
    assert again.status_code == 409 and "请勿重复提交" in again.data.decode() and project.code in again.data.decode()
    assert db.session.query(Project).count() == 1


def test_confirm_checks_everything_again(client):
    """The hidden values are the user's to change: a confirm with a broken value is refused, nothing written."""
    login(client, "qiye")
    form = {k: v for k, v in code_form().items() if k != "step"}
    summary = client.post("/enterprise/code/new", data={**form, "form_token": _token(client), "step": "review"})
    carried = _hidden(summary.data.decode())
    refused = client.post("/enterprise/code/new", data={**carried, "total_investment": "-5", "step": "confirm"})
    assert refused.status_code == 422 and "total_investment" in field_errors(refused.data.decode())
    assert db.session.query(Project).count() == 0
    # the token was not spent: the corrected confirmation goes through
    assert client.post("/enterprise/code/new", data={**carried, "step": "confirm"}).status_code == 302
    assert db.session.query(Project).count() == 1


def test_back_reopens_the_filled_form(client):
    login(client, "qiye")
    form = {k: v for k, v in code_form(name="返回修改测试项目").items() if k != "step"}
    token = _token(client)
    summary = client.post("/enterprise/code/new", data={**form, "form_token": token, "step": "review"})
    back = client.post("/enterprise/code/new", data={**_hidden(summary.data.decode()), "step": "back"})
    body = back.data.decode()
    assert back.status_code == 200 and 'value="返回修改测试项目"' in body and f'value="{token}"' in body
    assert "请核对以下信息" not in body and db.session.query(Project).count() == 0


def test_a_summary_with_errors_goes_back_to_the_form(client):
    login(client, "qiye")
    form = {k: v for k, v in code_form(name="").items() if k != "step"}
    response = client.post("/enterprise/code/new", data={**form, "step": "review"})
    assert response.status_code == 422 and "请核对以下信息" not in response.data.decode()
    assert field_errors(response.data.decode()) == {"name": "请填写「项目名称」"}
    only_region = client.post("/enterprise/code/new", data={**form, "name": "某项目", "address": "广东省江门市江海区",
                                                            "step": "review"})
    assert only_region.status_code == 422
    assert field_errors(only_region.data.decode())["address"].startswith("「详细地址」请填写街道、门牌号等")
    assert db.session.query(Project).count() == 0


def test_rows_saved_before_the_rule_show_the_region_once(client):
    login(client, "qiye")
    assert client.post("/enterprise/code/new", data=code_form()).status_code == 302
    project = db.session.query(Project).one()
    project.address = "江门市江海区江门市江海区高新区金瓯路288号"  # as typed before the rule existed
    db.session.commit()
    page = client.get(f"/enterprise/projects/{project.id}").data.decode()
    assert "广东省江门市江海区高新区金瓯路288号" in page and "江海区江门市" not in page
    assert "1,000 万元" in page  # 总投资 as people read it


# ---- 备案 form -------------------------------------------------------------------------------------------------
def _new_code(client) -> str:
    assert client.post("/enterprise/code/new", data=code_form()).status_code == 302
    return db.session.query(Project).order_by(Project.id.desc()).first().code


def test_the_authority_is_preselected_from_the_location(client):
    login(client, "qiye")
    code = _new_code(client)
    page = lxml.html.fromstring(client.get(f"/enterprise/filings/new?code={code}").data.decode())
    selected = page.xpath("//select[@id='f_authority_id']/option[@selected]")
    assert [o.text for o in selected] == ["江门市江海区发展和改革局"]
    assert len(page.xpath("//select[@id='f_authority_id']/option")) > 2  # still a choice
    lookup = client.get(f"/enterprise/code/lookup?code={code}", headers={"Accept": "application/json"}).get_json()
    assert lookup["authority_id"] == authority_id()


def test_the_contact_is_the_enterprises_last_one_else_the_person_filling_in(client):
    login(client, "qiye")
    code = _new_code(client)
    page = lxml.html.fromstring(client.get(f"/enterprise/filings/new?code={code}").data.decode())
    assert page.xpath("string(//input[@id='f_contact_name']/@value)") == "张经办"  # 张经办（示范企业） without the unit
    assert page.xpath("string(//input[@id='f_contact_phone']/@value)") != ""
    saved = client.post("/enterprise/filings/new", data={**filing_form(code, authority_id=authority_id()),
                                                         "contact_name": "王联系", "contact_phone": "13912345678",
                                                         "action": "save"})
    assert saved.status_code == 302
    other = _new_code(client)
    page = lxml.html.fromstring(client.get(f"/enterprise/filings/new?code={other}").data.decode())
    assert (page.xpath("string(//input[@id='f_contact_name']/@value)"),
            page.xpath("string(//input[@id='f_contact_phone']/@value)")) == ("王联系", "13912345678")


def test_authority_of_a_county_without_one_is_the_citys_or_none(client):
    assert filing_authority_for("440705").name == "江门市新会区发展和改革局"
    assert filing_authority_for("440703") is None  # 蓬江区: none of its own, and the city files nothing in the demo
    city = db.session.query(Department).filter_by(name="江门市发展和改革局").one()
    city.files_projects = True
    db.session.flush()
    assert filing_authority_for("440703").name == "江门市发展和改革局"  # a city-level location files with the city
    assert filing_authority_for("440700").name == "江门市发展和改革局"
    db.session.rollback()


def test_optional_funding_sources_count_as_zero(client):
    login(client, "qiye")
    code = _new_code(client)
    data = filing_form(code, authority_id=authority_id(), own_funds="1000", domestic_loans="", securities="",
                       other_funds="", import_fx="")
    response = client.post("/enterprise/filings/new", data={**data, "action": "submit"})
    assert response.status_code == 302, field_errors(response.data.decode())
    application = db.session.query(FilingApplication).one()
    assert {k: application.draft[k] for k in ("domestic_loans", "securities", "other_funds", "import_fx")} == \
        {"domestic_loans": "0", "securities": "0", "other_funds": "0", "import_fx": "0"}


def test_new_filing_form_shows_the_defaults_and_the_funding_line(client):
    login(client, "qiye")
    code = _new_code(client)
    page = lxml.html.fromstring(client.get(f"/enterprise/filings/new?code={code}").data.decode())
    for name in ("securities", "other_funds", "import_fx", "domestic_loans"):
        assert page.xpath(f"//input[@id='f_{name}']/@value") == ["0"]
        assert not page.xpath(f"//div[@id='field-{name}']//span[@class='req']")  # optional: no *
    assert page.xpath("//div[@id='field-own_funds']//span[@class='req']")
    note = page.xpath("string(//div[@id='note-other_funds'])")
    assert note == "资金来源合计 0 万元，总投资 1,000 万元，还差 1,000 万元"


def test_funding_message_reads_1100_not_four_decimals(client):
    login(client, "qiye")
    code = _new_code(client)
    data = filing_form(code, authority_id=authority_id(), total_investment="1200", civil_investment="200",
                       equipment_investment="1000", own_funds="700", domestic_loans="400", securities="0",
                       other_funds="0", capital="400", annual_plan="800")
    response = client.post("/enterprise/filings/new", data={**data, "action": "submit"})
    body = response.data.decode()
    assert response.status_code == 422
    assert "（合计 1,100 万元）" in field_errors(body)["total_investment"] and "1100.0000" not in body
    # the live line, rendered by the server too (works without JS)
    assert "资金来源合计 1,100 万元，总投资 1,200 万元，还差 100 万元" in body


def test_money_typed_with_commas_is_accepted(client):
    login(client, "qiye")
    code = _new_code(client)
    data = filing_form(code, authority_id=authority_id(), total_investment="1,000")
    assert client.post("/enterprise/filings/new", data={**data, "action": "submit"}).status_code == 302


# ---- boxes say 请勾选 and show their * ------------------------------------------------------------------------
# No shipped form has a box required only for one decision (受理's code check is the platform's own now), so a
# policy-staff form of that shape is made here.
CONDITIONAL_BOX = """key: site_check
title: 现场核查
sections:
  - title: 意见
    fields:
      - {name: seen, label: 已查看现场核查记录, type: checkbox, required_if: {decision: [accept]}}
      - {name: decision, label: 受理结果, type: radio, required: true, choices: [[accept, 受理], [reject, 不予受理]]}
      - {name: opinion, label: 意见说明, type: text, max_length: 2000}
"""


def test_checkbox_errors_say_tick(client):
    with pytest.raises(FormInvalid) as refused:
        validate("filing_issue", {"opinion": "同意"})
    assert refused.value.errors == {"confirm": "请勾选「我已核对备案信息，同意签发电子备案证」"}
    with pytest.raises(FormInvalid) as conditional:
        validate_form(parse_form(CONDITIONAL_BOX), {"decision": "accept"}, choices, {})
    assert conditional.value.errors["seen"] == "请勾选「已查看现场核查记录」"
    with pytest.raises(FormInvalid) as chosen:
        validate("item_accept", {})
    assert chosen.value.errors["decision"] == "请选择「受理结果」"


def test_required_and_conditionally_required_boxes_show_the_red_star(app, client):
    with app.test_request_context():
        html = render_template_string(
            '{% from "_form.html" import render_form %}{{ render_form(form, {}, {}, choices) }}',
            form=parse_form(CONDITIONAL_BOX), choices=choices)
    page = lxml.html.fromstring(html)
    assert page.xpath("//label[@id='l_seen']/span[@class='req']")
    assert page.xpath("//label[@id='l_decision']/span[@class='req']")
    assert not page.xpath("//label[@id='l_opinion']/span[@class='req' and not(@title)]")



def test_a_certificate_issued_before_the_rule_prints_the_region_once(client):
    from datetime import date

    from app.models import FilingCertificate
    from app.services import certificates

    login(client, "qiye")
    assert client.post("/enterprise/code/new", data=code_form()).status_code == 302
    project = db.session.query(Project).one()
    certificate = FilingCertificate(number="2644070400001", issued_on=date(2026, 11, 30),  # not stored
                                    snapshot={"location": "广东省江门市江海区江门市江海区高新区金瓯路288号"})
    certificate.project = project
    assert certificates.printed_location(certificate) == "广东省江门市江海区高新区金瓯路288号"
    certificate.snapshot = {"location": "广东省江门市江海区明辉路35号"}
    assert certificates.printed_location(certificate) == "广东省江门市江海区明辉路35号"
