"""The studio's structured form editor: a form file (forms/*.yaml) as a plain model the page edits field by field,
and back. The YAML stays the one format that is saved, validated and deployed; this module only converts.

model_of(text) reads a form file into {key, title, extends, rules, sections: [{title, fields, extra}], extra};
each field is {name, label, type, required, help, max_length, choices, source, extra}, where `extra` keeps the keys
the editor does not offer (required_if, from_project, column, anything else) so that they survive untouched.
yaml_of(model, previous) writes it back in the style of the shipped files: the file's leading comment block, then
one flow mapping per field. The model comes from the browser: every shape and size is checked here and a refusal is
a 422 naming the field in Chinese.
"""
from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

import yaml

from ..formkit import FIELD_TYPES
from . import ServiceError

# What the page shows for the codes a form file uses (the YAML keeps the codes).
TYPE_LABELS = {
    "string": "单行文字", "text": "多行文字", "money": "金额（万元）", "integer": "整数", "date": "日期",
    "choice": "下拉选择", "radio": "单选（圆点）", "checkbox": "勾选确认", "multichoice": "多选（勾选框）",
    "uscc": "统一社会信用代码", "mobile": "手机号码", "project_code": "项目代码（可校验）",
    "readonly": "只读（由系统带出）", "computed": "自动计算",
}
SOURCE_LABELS = {
    "project_types": "项目类型", "industries": "国标行业", "catalogue": "产业结构调整指导目录", "natures": "建设性质",
    "counties": "区县（行政区划）", "filing_authorities": "备案机关", "build_items": "报建事项",
    "capital_ratios": "项目资本金相关行业（资本金比例）",
}
RULE_LABELS = {
    "project_code": "项目代码校验（带出项目名称、建设地点）",
    "filing_figures": "备案投资数据（总投资与资金来源、固定资产投资、资本金比例）",
    "date_order": "计划竣工时间不早于计划开工时间",
    "policy_screening": "产业政策审查（指导目录、负面清单）",
    "region_address": "详细地址不重复建设地点的省、市、区县（自动去掉重复的部分）",
    "expert_dates": "评审完成日期不早于开始日期、不晚于今天",
    "tender_consistency": "招标事项核准意见前后一致（不招标的选「不适用」）",
    "progress_dates": "项目开工、完工时间合理（不晚于今天，完工不早于开工）",
}
CHOICE_TYPES = ("choice", "radio", "multichoice")

# The keys the editor offers, in the order a field is written (help last: the long one wraps onto its own line).
EDITED = ("name", "label", "type", "source", "required", "choices", "max_length", "help")
KEPT_ORDER = ("column", "from_project", "required_if")  # written before help, as the shipped files do
NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
CODE = re.compile(r"[a-z][a-z0-9_]{0,39}")
LIMITS = {"title": 100, "label": 200, "help": 1000, "choice_value": 100, "choice_text": 200}
MAX_SECTIONS, MAX_FIELDS, MAX_CHOICES, MAX_RULES, MAX_EXTRA_JSON = 50, 500, 500, 20, 4000
MAX_TEXT = 2 * 1024 * 1024  # a form file is far smaller; the studio refuses larger files anyway
WIDTH = 118  # display columns before a field's flow mapping continues on the next line


def _refuse(path: str, message: str) -> ServiceError:
    return ServiceError(message, 422, {path: message})


# ---- YAML → model ------------------------------------------------------------------------------------------
def model_of(text: str) -> dict[str, Any]:
    """The model of a form file. A file the editor cannot show field by field (not YAML, or not shaped as a form)
    is a 422 that sends the officer to the YAML source."""
    if not isinstance(text, str) or len(text) > MAX_TEXT:
        raise _refuse("content", "「表单定义」过大或格式有误")
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise _refuse("content", f"YAML 格式有误，请在「YAML 源文件」中修改：{exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("sections"), list):
        raise _refuse("content", "表单须有 key、title 和 sections（分节列表），请在「YAML 源文件」中修改")
    sections = []
    for i, section in enumerate(raw["sections"]):
        where = f"第{i + 1}节"
        if not isinstance(section, dict) or not isinstance(section.get("fields", []), list):
            raise _refuse("content", f"{where}须有 title 和 fields（字段列表），请在「YAML 源文件」中修改")
        fields = [_field_model(f, f"{where}第{j + 1}个字段") for j, f in enumerate(section.get("fields", []))]
        sections.append({"title": _text(section.get("title")), "fields": fields,
                         "extra": {k: v for k, v in section.items() if k not in ("title", "fields")}})
    rules = raw.get("rules") or []
    if not isinstance(rules, list):
        raise _refuse("content", "rules 须为规则名的列表，请在「YAML 源文件」中修改")
    model = {"key": _text(raw.get("key")), "title": _text(raw.get("title")), "extends": raw.get("extends"),
             "rules": [str(r) for r in rules], "sections": sections,
             "extra": {k: v for k, v in raw.items() if k not in ("key", "title", "extends", "rules", "sections")}}
    json.dumps(model, ensure_ascii=False, default=_not_json)  # dates and the like cannot go to the page
    return model


def _not_json(value: Any) -> Any:
    raise _refuse("content", f"表单中有无法逐项编辑的值 {value!r}，请在「YAML 源文件」中修改")


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _field_model(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise _refuse("content", f"{where}须为 {{name: …, label: …, type: …}}，请在「YAML 源文件」中修改")
    choices = raw.get("choices") or []
    if not isinstance(choices, list) or any(not isinstance(c, list) or len(c) != 2 for c in choices):
        raise _refuse("content", f"{where}的选项须为 [[值, 显示文字], …]，请在「YAML 源文件」中修改")
    max_length = raw.get("max_length")
    if max_length is not None and (not isinstance(max_length, int) or isinstance(max_length, bool)):
        raise _refuse("content", f"{where}的 max_length 须为整数，请在「YAML 源文件」中修改")
    return {"name": _text(raw.get("name")), "label": _text(raw.get("label")), "type": _text(raw.get("type")),
            "required": bool(raw.get("required")), "help": _text(raw.get("help")), "max_length": max_length,
            "choices": [[c[0], _text(c[1])] for c in choices],
            "source": None if raw.get("source") is None else str(raw["source"]),
            "extra": {k: v for k, v in raw.items() if k not in EDITED}}


# ---- model (from the browser) → YAML ------------------------------------------------------------------------
def yaml_of(model: Any, previous: str = "") -> str:
    """The form file for a model: `previous` (the text being edited) gives the comments to keep."""
    form = _checked_form(model)
    lines = _leading_comments(previous)
    lines.append(_pair("key", form["key"]))
    lines.append(_pair("title", form["title"]))
    if form["extends"]:
        lines.append(_pair("extends", form["extends"]))
    for key, value in form["extra"].items():
        lines.append(_pair(key, value))
    lines.extend(_header_comments(previous))
    lines.append("sections:")
    for section in form["sections"]:
        lines.append("  - " + _pair("title", section["title"]))
        for key, value in section["extra"].items():
            lines.append("    " + _pair(key, value))
        if not section["fields"]:
            lines.append("    fields: []")
            continue
        lines.append("    fields:")
        for field in section["fields"]:
            lines.extend(_field_lines(field))
    if form["rules"]:
        lines.append(_pair("rules", form["rules"]))
    return "\n".join(lines) + "\n"


def _pair(key: str, value: Any) -> str:
    """`key: value` as inside a flow mapping: Chinese as is, quoted only where YAML needs it, on one line."""
    style = '"' if _has_newline(value) else None  # a line break inside a plain or single-quoted scalar would wrap
    dumped = yaml.safe_dump({key: value}, default_flow_style=True, allow_unicode=True, width=10**6,
                            sort_keys=False, default_style=style).strip()
    inner = dumped[1:-1]
    return inner if style is None else inner.replace(f'"{key}"', key, 1)


def _has_newline(value: Any) -> bool:
    if isinstance(value, str):
        return "\n" in value or "\r" in value
    if isinstance(value, list):
        return any(_has_newline(v) for v in value)
    if isinstance(value, dict):
        return any(_has_newline(v) for v in value.values())
    return False


def _field_lines(field: dict[str, Any]) -> list[str]:
    ordered: dict[str, Any] = {"name": field["name"], "label": field["label"], "type": field["type"]}
    if field["source"]:
        ordered["source"] = field["source"]
    if field["required"]:
        ordered["required"] = True
    if field["choices"]:
        ordered["choices"] = field["choices"]
    if field["max_length"] is not None:
        ordered["max_length"] = field["max_length"]
    extra = field["extra"]
    ordered.update({k: extra[k] for k in KEPT_ORDER if k in extra})
    ordered.update({k: v for k, v in extra.items() if k not in KEPT_ORDER})
    if field["help"]:
        ordered["help"] = field["help"]
    pieces = [_pair(k, v) for k, v in ordered.items()]
    lines, current = [], "      - {" + pieces[0]
    for piece in pieces[1:]:
        if _width(current) + 2 + _width(piece) > WIDTH:
            lines.append(current + ",")
            current = "         " + piece
        else:
            current += ", " + piece
    lines.append(current + "}")
    return lines


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _leading_comments(previous: str) -> list[str]:
    """The comment block the file starts with (what the form is, where its rules come from)."""
    lines = []
    for line in (previous or "").splitlines():
        if not line.startswith("#") and line.strip():
            break
        lines.append(line.rstrip())
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def _header_comments(previous: str) -> list[str]:
    """Whole-line comments between the first key and `sections:` (a note under the title), kept there."""
    lines = (previous or "").splitlines()
    started, kept = False, []
    for line in lines:
        if line.startswith("sections:"):
            break
        if line.strip() and not line.startswith("#"):
            started = True
        elif started and line.startswith("#"):
            kept.append(line.rstrip())
    return kept


def _checked_form(model: Any) -> dict[str, Any]:
    if not isinstance(model, dict):
        raise _refuse("model", "请求格式有误：缺少表单内容")
    _only(model, ("key", "title", "extends", "rules", "sections", "extra"), "model", "表单")
    key = _code(model.get("key"), "key", "表单标识 key")
    title = _line(model.get("title"), "title", "「表单标题」", LIMITS["title"])
    extends = model.get("extends")
    if extends is not None:
        extends = _code(extends, "extends", "继承的表单 extends")
    rules = model.get("rules", [])
    if not isinstance(rules, list) or len(rules) > MAX_RULES:
        raise _refuse("rules", f"「跨字段规则」须为不超过 {MAX_RULES} 个规则名的列表")
    rules = [_code(r, "rules", "「跨字段规则」") for r in rules]
    if len(set(rules)) != len(rules):
        raise _refuse("rules", "「跨字段规则」有重复")
    sections = model.get("sections")
    if not isinstance(sections, list) or len(sections) > MAX_SECTIONS:
        raise _refuse("sections", f"「分节」须为不超过 {MAX_SECTIONS} 节的列表")
    checked, count = [], 0
    for i, section in enumerate(sections):
        path, where = f"sections.{i}", f"第{i + 1}节"
        if not isinstance(section, dict):
            raise _refuse(path, f"{where}格式有误")
        _only(section, ("title", "fields", "extra"), path, where)
        fields = section.get("fields")
        if not isinstance(fields, list):
            raise _refuse(f"{path}.fields", f"{where}的字段须为列表")
        count += len(fields)
        if count > MAX_FIELDS:
            raise _refuse(f"{path}.fields", f"一个表单最多 {MAX_FIELDS} 个字段")
        checked.append({"title": _line(section.get("title"), f"{path}.title", f"{where}「分节标题」", LIMITS["title"]),
                        "fields": [_checked_field(f, f"{path}.fields.{j}", f"{where}第{j + 1}个字段")
                                   for j, f in enumerate(fields)],
                        "extra": _extra(section.get("extra", {}), f"{path}.extra", where, ("title", "fields"))})
    return {"key": key, "title": title, "extends": extends, "rules": rules, "sections": checked,
            "extra": _extra(model.get("extra", {}), "extra", "表单",
                            ("key", "title", "extends", "rules", "sections"))}


def _checked_field(field: Any, path: str, where: str) -> dict[str, Any]:
    if not isinstance(field, dict):
        raise _refuse(path, f"{where}格式有误")
    _only(field, (*EDITED, "extra"), path, where)
    name = field.get("name")
    if not isinstance(name, str) or not NAME.fullmatch(name.strip()):
        raise _refuse(f"{path}.name", f"{where}的「字段名」只能用小写字母、数字和下划线，以字母开头，不超过40个字符")
    name = name.strip()
    label = _line(field.get("label"), f"{path}.label", f"字段 {name} 的「显示名称」", LIMITS["label"])
    where = f"字段「{label}」（{name}）"
    kind = field.get("type")
    if kind not in FIELD_TYPES:
        raise _refuse(f"{path}.type", f"{where}的「类型」须从列表中选择")
    required = field.get("required", False)
    if not isinstance(required, bool):
        raise _refuse(f"{path}.required", f"{where}的「必填」须为是或否")
    help_text = field.get("help", "")
    if not isinstance(help_text, str) or len(help_text) > LIMITS["help"]:
        raise _refuse(f"{path}.help", f"{where}的「填写说明」不能超过 {LIMITS['help']} 字")
    max_length = field.get("max_length")
    if max_length is not None and (not isinstance(max_length, int) or isinstance(max_length, bool)
                                   or not 1 <= max_length <= 100_000):
        raise _refuse(f"{path}.max_length", f"{where}的「最多字数」须为 1 到 100000 之间的整数，或留空")
    source = field.get("source")
    if source is not None:
        source = _code(source, f"{path}.source", f"{where}的「选项来源」")
    choices = field.get("choices", [])
    if not isinstance(choices, list) or len(choices) > MAX_CHOICES:
        raise _refuse(f"{path}.choices", f"{where}的「选项」须为不超过 {MAX_CHOICES} 行的列表")
    checked_choices = []
    for k, row in enumerate(choices):
        if not isinstance(row, list) or len(row) != 2:
            raise _refuse(f"{path}.choices", f"{where}的第{k + 1}个选项须有「值」和「显示文字」")
        value, text = row
        if isinstance(value, str):
            value = value.strip()
        if value in ("", None) or not isinstance(value, (str, int, float)) or len(str(value)) > LIMITS["choice_value"]:
            raise _refuse(f"{path}.choices", f"{where}的第{k + 1}个选项的「值」不能为空，不超过 {LIMITS['choice_value']} 字")
        text = _line(text, f"{path}.choices", f"{where}的第{k + 1}个选项的「显示文字」", LIMITS["choice_text"])
        checked_choices.append([value, text])
    return {"name": name, "label": label, "type": kind, "required": required, "help": help_text.strip(),
            "max_length": max_length, "choices": checked_choices, "source": source,
            "extra": _extra(field.get("extra", {}), f"{path}.extra", where, EDITED)}


def _only(value: dict, allowed: tuple[str, ...], path: str, where: str) -> None:
    unknown = [k for k in value if k not in allowed]
    if unknown:
        raise _refuse(path, f"{where}含有未知的属性 {str(unknown[0])[:40]}")


def _line(value: Any, path: str, what: str, limit: int) -> str:
    """One line of text a person reads: not empty, not longer than `limit`, no line break."""
    if not isinstance(value, str) or not value.strip():
        raise _refuse(path, f"{what}不能为空")
    value = value.strip()
    if len(value) > limit:
        raise _refuse(path, f"{what}不能超过 {limit} 字")
    if "\n" in value or "\r" in value:
        raise _refuse(path, f"{what}不能换行")
    return value


def _code(value: Any, path: str, what: str) -> str:
    if not isinstance(value, str) or not CODE.fullmatch(value):
        raise _refuse(path, f"{what}须为小写英文标识（字母、数字、下划线）")
    return value


def _extra(value: Any, path: str, where: str, taken: tuple[str, ...]) -> dict[str, Any]:
    """Keys the editor keeps without offering them (required_if, column …): plain data of a bounded size."""
    if not isinstance(value, dict):
        raise _refuse(path, f"{where}的其他属性格式有误")
    for key in value:
        if not isinstance(key, str) or not CODE.fullmatch(key) or key in taken or key == "extra":
            raise _refuse(path, f"{where}含有无效的属性名 {str(key)[:40]}")
    if not _plain(value, 0) or len(json.dumps(value, ensure_ascii=False)) > MAX_EXTRA_JSON:
        raise _refuse(path, f"{where}的其他属性过大或格式有误")
    return value


def _plain(value: Any, depth: int) -> bool:
    if depth > 4:
        return False
    if value is None or isinstance(value, (str, int, float, bool)):
        return True
    if isinstance(value, list):
        return all(_plain(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v, depth + 1) for k, v in value.items())
    return False


def vocabulary() -> dict[str, list[list[str]]]:
    """The choices the editor offers, each [code, 中文]: types, choice sources and cross-field rules."""
    from .platform import CHOICE_SOURCES, RULES

    return {"types": [[t, TYPE_LABELS.get(t, t)] for t in FIELD_TYPES],
            "sources": [[s, SOURCE_LABELS.get(s, s)] for s in CHOICE_SOURCES],
            "rules": [[r, RULE_LABELS.get(r, r)] for r in RULES]}
