"""The structured form editor's conversion (app/services/form_model.py): every shipped form survives
YAML → model → YAML as the same form, in the files' compact style with their comments; a field added in the model
lands in the file; whatever the browser sends that is not a form is a 422 naming the field in Chinese."""
from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.formkit import FIELD_TYPES, form_problems, parse_form
from app.services import ServiceError
from app.services.form_model import RULE_LABELS, SOURCE_LABELS, TYPE_LABELS, model_of, vocabulary, yaml_of
from app.services.platform import CHOICE_SOURCES, RULES

FORMS = sorted((Path(__file__).resolve().parents[2] / "forms").glob("*.yaml"))
FIELD_LINE = re.compile(r"^      - \{name: [a-z][a-z0-9_]*, ")


@pytest.mark.parametrize("path", FORMS, ids=lambda p: p.name)
def test_every_form_file_round_trips_to_the_same_form(path: Path):
    text = path.read_text(encoding="utf-8")
    written = yaml_of(model_of(text), text)
    assert parse_form(written) == parse_form(text)
    assert yaml_of(model_of(written), written) == written  # writing again changes nothing
    assert form_problems(path.name, written, set(CHOICE_SOURCES), set(RULES)) == []


@pytest.mark.parametrize("path", FORMS, ids=lambda p: p.name)
def test_written_in_the_compact_style_with_the_leading_comments(path: Path):
    text = path.read_text(encoding="utf-8")
    written = yaml_of(model_of(text), text)
    leading = [line for line in text.splitlines()[:10] if line.startswith("#")]
    for line in leading:
        if text.index(line) < text.index("key:"):
            assert written.startswith(line) or f"\n{line}\n" in written
    assert "\\u" not in written and "\\x" not in written  # Chinese as it is, never escaped
    fields = [line for line in written.splitlines() if line.startswith("      - ")]
    assert fields and all(FIELD_LINE.match(line) for line in fields), fields
    # one flow mapping per field: as many field lines as fields, continuation lines only inside one
    assert len(fields) == len(parse_form(text).fields)
    for line in written.splitlines():
        assert line.startswith(("#", "key:", "title:", "extends:", "sections:", "  - title:", "    fields:",
                                "      - {", "         ", "rules:")), line


def test_comments_under_the_title_stay_under_the_title():
    text = (Path(FORMS[0]).parent / "post_accept.yaml").read_text(encoding="utf-8")
    written = yaml_of(model_of(text), text)
    assert written.splitlines()[:4] == ["key: post_accept", "title: 受理", "# 受理 of a 变更 or 延期 application.",
                                        "sections:"]


def test_a_field_added_in_the_model_is_written_and_the_kept_keys_survive():
    text = (Path(FORMS[0]).parent / "filing_accept.yaml").read_text(encoding="utf-8")
    model = model_of(text)
    opinion = model["sections"][0]["fields"][1]
    assert opinion["extra"] == {"required_if": {"decision": ["correction", "reject"]}}
    model["sections"][0]["fields"][0]["label"] = "受理决定"
    model["sections"][0]["fields"].append({
        "name": "site_visit", "label": "是否需要现场核查", "type": "radio", "required": True,
        "help": "需要的，受理后安排核查", "max_length": None, "choices": [["yes", "是"], ["no", "否"]],
        "source": None, "extra": {}})
    model["rules"] = ["date_order"]
    written = yaml_of(model, text)
    assert ("      - {name: site_visit, label: 是否需要现场核查, type: radio, required: true, "
            "choices: [['yes', 是], ['no', 否]],\n         help: 需要的，受理后安排核查}") in written
    form = parse_form(written)
    assert [f.name for f in form.fields] == ["decision", "opinion", "site_visit"]
    assert form.fields[0].label == "受理决定"
    assert form.fields[2].choices == (("yes", "是"), ("no", "否")) and form.fields[2].required
    assert form.fields[1].required_if == {"decision": ["correction", "reject"]} and form.fields[1].max_length == 1000
    assert form.rules == ("date_order",)


def test_a_help_text_with_a_line_break_stays_on_the_fields_line():
    text = (Path(FORMS[0]).parent / "filing_issue.yaml").read_text(encoding="utf-8")
    model = model_of(text)
    model["sections"][0]["fields"][1]["help"] = '第一行\n第二行 "引号"'
    written = yaml_of(model, text)
    assert parse_form(written).fields[1].help == '第一行\n第二行 "引号"'
    assert len([line for line in written.splitlines() if line.startswith("      - ")]) == 2


def _filing_accept() -> dict[str, Any]:
    return model_of((Path(FORMS[0]).parent / "filing_accept.yaml").read_text(encoding="utf-8"))


def _set(model: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    model = copy.deepcopy(model)
    *parents, last = path.split(".")
    target: Any = model
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return model


FIELD = "sections.0.fields.1"
BAD = [
    ("title", "", "title", "「表单标题」不能为空"),
    ("title", "标" * 101, "title", "「表单标题」不能超过 100 字"),
    ("sections.0.title", ["受理"], "sections.0.title", "第1节「分节标题」不能为空"),
    (f"{FIELD}.name", "Opinion", f"{FIELD}.name", "第1节第2个字段的「字段名」只能用小写字母"),
    (f"{FIELD}.name", "a" * 41, f"{FIELD}.name", "不超过40个字符"),
    (f"{FIELD}.label", "意" * 201, f"{FIELD}.label", "字段 opinion 的「显示名称」不能超过 200 字"),
    (f"{FIELD}.label", "意见\n说明", f"{FIELD}.label", "字段 opinion 的「显示名称」不能换行"),
    (f"{FIELD}.type", "html", f"{FIELD}.type", "字段「意见说明」（opinion）的「类型」须从列表中选择"),
    (f"{FIELD}.required", "yes", f"{FIELD}.required", "字段「意见说明」（opinion）的「必填」须为是或否"),
    (f"{FIELD}.max_length", 0, f"{FIELD}.max_length", "字段「意见说明」（opinion）的「最多字数」须为 1 到 100000"),
    (f"{FIELD}.max_length", "1000", f"{FIELD}.max_length", "「最多字数」"),
    (f"{FIELD}.help", "说" * 1001, f"{FIELD}.help", "字段「意见说明」（opinion）的「填写说明」不能超过 1000 字"),
    (f"{FIELD}.choices", [["", "空"]], f"{FIELD}.choices", "字段「意见说明」（opinion）的第1个选项的「值」不能为空"),
    (f"{FIELD}.choices", [["a"]], f"{FIELD}.choices", "第1个选项须有「值」和「显示文字」"),
    (f"{FIELD}.choices", [["a", {"x": 1}]], f"{FIELD}.choices", "第1个选项的「显示文字」不能为空"),
    (f"{FIELD}.choices", [["a", "甲"]] * 501, f"{FIELD}.choices", "不超过 500 行"),
    (f"{FIELD}.source", "Industries!", f"{FIELD}.source", "「选项来源」须为小写英文标识"),
    (f"{FIELD}.script", "x", FIELD, "第1节第2个字段含有未知的属性 script"),
    (f"{FIELD}.extra", {"label": "覆盖"}, f"{FIELD}.extra", "字段「意见说明」（opinion）含有无效的属性名 label"),
    (f"{FIELD}.extra", {"required_if": {"a": [[[[["深"]]]]]}}, f"{FIELD}.extra", "其他属性过大或格式有误"),
    (f"{FIELD}.extra", {"note": "长" * 5000}, f"{FIELD}.extra", "其他属性过大或格式有误"),
    (FIELD, "opinion", FIELD, "第1节第2个字段格式有误"),
    ("sections.0.fields", {"name": "x"}, "sections.0.fields", "第1节的字段须为列表"),
    ("sections", [{"title": "节", "fields": []}] * 51, "sections", "不超过 50 节"),
    ("rules", ["date_order", "date_order"], "rules", "「跨字段规则」有重复"),
    ("rules", ["rm -rf"], "rules", "「跨字段规则」须为小写英文标识"),
    ("key", "../etc", "key", "表单标识 key"),
]


@pytest.mark.parametrize(("path", "value", "where", "message"), BAD, ids=[f"{b[0]}={str(b[1])[:12]}" for b in BAD])
def test_bad_input_from_the_browser_is_a_422_naming_the_field(path: str, value: Any, where: str, message: str):
    with pytest.raises(ServiceError) as refused:
        yaml_of(_set(_filing_accept(), path, value), "")
    assert refused.value.status == 422
    assert list(refused.value.errors) == [where]
    assert message in refused.value.message, refused.value.message


@pytest.mark.parametrize("model", [None, [], "key: x", {"key": "x"}], ids=["none", "list", "text", "no sections"])
def test_a_model_that_is_not_a_form_is_refused(model: Any):
    with pytest.raises(ServiceError) as refused:
        yaml_of(model, "")
    assert refused.value.status == 422 and refused.value.message


def test_too_many_fields_are_refused():
    model = _filing_accept()
    field = model["sections"][0]["fields"][1]
    model["sections"] = [{"title": f"第{i}节", "extra": {}, "fields": [
        {**field, "name": f"f{i}_{j}"} for j in range(100)]} for i in range(6)]
    with pytest.raises(ServiceError, match="最多 500 个字段"):
        yaml_of(model, "")


@pytest.mark.parametrize(("text", "message"), [
    ("key: [", "YAML 格式有误"),
    ("- a\n- b\n", "表单须有 key、title 和 sections"),
    ("key: x\ntitle: y\nsections:\n  - title: 节\n    fields: [{name: a, label: b, type: choice, choices: [a, b]}]\n",
     "第1节第1个字段的选项须为 [[值, 显示文字], …]"),
    ("key: x\ntitle: y\nsections:\n  - title: 节\n    fields: [{name: a, label: b, type: text, max_length: 长}]\n",
     "max_length 须为整数"),
    ("key: x\ntitle: y\nsections:\n  - title: 节\n    fields: [{name: a, label: b, type: date, help: 2026-01-01}]\n"
     "when: 2026-01-01\n", "无法逐项编辑的值"),
])
def test_a_file_the_editor_cannot_show_sends_the_officer_to_the_yaml(text: str, message: str):
    with pytest.raises(ServiceError) as refused:
        model_of(text)
    assert refused.value.status == 422 and message in refused.value.message


def test_every_type_source_and_rule_has_a_chinese_label():
    assert set(TYPE_LABELS) == set(FIELD_TYPES)
    assert set(SOURCE_LABELS) == set(CHOICE_SOURCES)
    assert set(RULE_LABELS) == set(RULES)
    offered = vocabulary()
    assert [code for code, _ in offered["types"]] == list(FIELD_TYPES)
    assert all(re.search(r"[\u4e00-\u9fff]", label) for group in offered.values() for _, label in group)


def test_written_yaml_is_safe_yaml_for_awkward_values():
    model = _filing_accept()
    field = model["sections"][0]["fields"][0]
    field["choices"] = [["yes", "是"], ["no", "否"], ["null", "空: 值, [x]"], [1, "# 井号"], ["—", "&锚"]]
    field["label"] = "*别名 {a: b}"
    written = yaml_of(model, "")
    loaded = yaml.safe_load(written)["sections"][0]["fields"][0]
    assert loaded["choices"] == [["yes", "是"], ["no", "否"], ["null", "空: 值, [x]"], [1, "# 井号"], ["—", "&锚"]]
    assert loaded["label"] == "*别名 {a: b}"
