"""The structured form editor's routes: /studio/files/<form>/form-model reads a form file into the model the page
edits, /form-yaml writes the model back as YAML. Only 政策人员 and 系统管理员 may use them, only on a deployed form;
a bad model or an unreadable file is a 422 naming the field; nothing is stored (saving stays the draft's job)."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.formkit import parse_form
from engine.tables import ProcessDraft
from tests.conftest import login

URL = "/studio/files/filing_accept.yaml"


@pytest.fixture
def studio(client) -> Iterator:
    login(client, "zhengce")
    yield client


def _deployed(client) -> str:
    return client.get(f"{URL}/source").data.decode()


def test_the_model_of_a_form_and_back_to_the_same_form(studio):
    client = studio
    text = _deployed(client)
    read = client.post(f"{URL}/form-model", json={"content": text})
    assert read.status_code == 200
    body = read.get_json()
    model = body["model"]
    assert model["key"] == "filing_accept" and model["title"] == "受理"
    assert [f["name"] for f in model["sections"][0]["fields"]] == ["decision", "opinion"]
    assert ["radio", "单选（圆点）"] in body["types"] and ["date_order", "计划竣工时间不早于计划开工时间"] in body["rules"]
    assert ["industries", "国标行业"] in body["sources"]

    model["sections"][0]["fields"][1]["label"] = "意见及理由"
    model["sections"][0]["fields"].append({
        "name": "site_visit", "label": "是否需要现场核查", "type": "radio", "required": False, "help": "",
        "max_length": None, "choices": [["yes", "是"], ["no", "否"]], "source": None, "extra": {}})
    written = client.post(f"{URL}/form-yaml", json={"model": model, "content": text})
    assert written.status_code == 200
    content = written.get_json()["content"]
    form = parse_form(content)
    assert [f.label for f in form.fields] == ["受理结果", "意见及理由", "是否需要现场核查"]
    assert form.fields[1].required_if == {"decision": ["correction", "reject"]}
    assert db.session.scalar(select(func.count(ProcessDraft.id))) == 0  # converting stores nothing
    # the YAML the page now holds previews and validates as any form edit does
    assert "是否需要现场核查" in client.post(f"{URL}/preview", json={"content": content}).get_json()["html"]
    assert client.post(f"{URL}/validate", json={"content": content}).get_json() == {"ok": True, "findings": []}


def test_a_bad_model_is_a_422_naming_the_field(studio):
    client = studio
    text = _deployed(client)
    model = client.post(f"{URL}/form-model", json={"content": text}).get_json()["model"]
    model["sections"][0]["fields"][0]["name"] = "受理结果"
    refused = client.post(f"{URL}/form-yaml", json={"model": model, "content": text})
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {
        "sections.0.fields.0.name": "第1节第1个字段的「字段名」只能用小写字母、数字和下划线，以字母开头，不超过40个字符"}

    model["sections"][0]["fields"][0]["name"] = "decision"
    model["sections"][0]["fields"][0]["choices"][0][1] = "受" * 201
    refused = client.post(f"{URL}/form-yaml", json={"model": model, "content": text})
    assert refused.status_code == 422
    assert refused.get_json()["message"] == "字段「受理结果」（decision）的第1个选项的「显示文字」不能超过 200 字"

    for body in ({"model": "key: x", "content": text}, {"content": text}, {"model": [], "content": text}):
        refused = client.post(f"{URL}/form-yaml", json=body)
        assert refused.status_code == 422 and refused.get_json()["message"]
    assert client.post(f"{URL}/form-yaml", json={"model": model}).status_code == 400  # no YAML it replaces


def test_a_file_the_editor_cannot_show_is_a_422(studio):
    refused = studio.post(f"{URL}/form-model", json={"content": "key: [unclosed"})
    assert refused.status_code == 422
    assert refused.get_json()["message"].startswith("YAML 格式有误，请在「YAML 源文件」中修改")
    refused = studio.post(f"{URL}/form-model", json={"content": "仅有一行文字"})
    assert refused.status_code == 422 and "sections" in refused.get_json()["message"]


def test_only_deployed_forms(studio):
    text = _deployed(studio)
    assert studio.post("/studio/files/filing.bpmn/form-model", json={"content": text}).status_code == 404
    assert studio.post("/studio/files/nothing.yaml/form-model", json={"content": text}).status_code == 404
    assert studio.post("/studio/files/filing.bpmn/form-yaml", json={"model": {}, "content": text}).status_code == 404


def test_too_large_a_request_is_refused(studio):
    huge = "#" + "x" * (4 * 1024 * 1024 + 10)
    refused = studio.post(f"{URL}/form-model", json={"content": huge})
    assert refused.status_code == 422 and refused.get_json()["errors"] == {"model": "「表单定义」过大"}


@pytest.mark.parametrize("username", ["qiye", "shouli", "banli", "jiancha"])
def test_other_roles_are_refused(client, username: str):
    login(client, username)
    for route, body in (("form-model", {"content": "key: x"}), ("form-yaml", {"model": {}, "content": ""})):
        assert client.post(f"{URL}/{route}", json=body).status_code == 403


def test_policy_staff_and_administrators_only(client):
    text = "key: filing_accept\ntitle: 受理\nsections: []\n"
    response = client.post(f"{URL}/form-model", json={"content": text})
    assert response.status_code in (302, 401)  # not signed in
    login(client, "admin")
    assert client.post(f"{URL}/form-model", json={"content": text}).status_code == 200
