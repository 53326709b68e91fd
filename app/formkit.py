"""Declarative task forms (forms/*.yaml) turned into marshmallow schemas and HTML.

Policy staff read and change a form file without Python; cross-field rules live in app/domain and
are named from the form file.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

MOBILE = re.compile(r"^1[3-9]\d{9}$")


@dataclass(frozen=True)
class FieldDef:
    name: str
    label: str
    type: str
    required: bool = False
    help: str = ""
    max_length: int | None = None
    choices: tuple[tuple[str, str], ...] = ()
    source: str | None = None
    required_if: Mapping[str, list[str]] = field(default_factory=dict)
    from_project: str | None = None
    # "Model.attribute" of a sized column the value is stored in: its max_length must fit the column
    # (tests/unit/test_form_limits.py checks every form), so a long value is a 422 here, not a 500 there.
    column: str | None = None
    # What an optional field left empty stands for (e.g. 0 for 股票(债券) in the 备案 form): validated and stored as
    # if typed, and shown in a new form's input, so nobody has to type 0 three times.
    default: Any = None

    @property
    def input(self) -> bool:
        """Typed by the user (readonly and computed fields are derived by the server)."""
        return self.type not in ("readonly", "computed")


@dataclass(frozen=True)
class FormDef:
    key: str
    title: str
    sections: tuple[tuple[str, tuple[FieldDef, ...]], ...]
    rules: tuple[str, ...]
    extends: str | None = None  # another form whose sections and rules come first

    @property
    def fields(self) -> list[FieldDef]:
        return [f for _, fs in self.sections for f in fs]


class FormInvalid(ValueError):
    def __init__(self, errors: Mapping[str, str]):
        super().__init__("；".join(errors.values()))
        self.errors = dict(errors)


FIELD_TYPES = ("string", "text", "money", "integer", "date", "choice", "radio", "checkbox", "multichoice", "uscc",
               "mobile", "project_code", "readonly", "computed")


@lru_cache(maxsize=64)
def _load(path: str, mtime: float) -> FormDef:
    return _from_raw(yaml.safe_load(Path(path).read_text(encoding="utf-8")))


@lru_cache(maxsize=256)
def parse_form(text: str) -> FormDef:
    """A form from its YAML text (a form deployed with a process version, or a studio draft)."""
    return _from_raw(yaml.safe_load(text))


def _from_raw(raw: dict[str, Any]) -> FormDef:
    sections = []
    for section in raw["sections"]:
        defs = []
        for f in section["fields"]:
            defs.append(FieldDef(
                name=f["name"], label=f["label"], type=f["type"], required=bool(f.get("required")),
                help=f.get("help", ""), max_length=f.get("max_length"),
                choices=tuple(tuple(c) for c in f.get("choices", [])), source=f.get("source"),
                required_if=f.get("required_if", {}), from_project=f.get("from_project"), column=f.get("column"),
                default=f.get("default")))
        sections.append((section["title"], tuple(defs)))
    return FormDef(raw["key"], raw["title"], tuple(sections), tuple(raw.get("rules", [])), raw.get("extends"))


def form_problems(filename: str, text: str, sources: set[str], rules: set[str]) -> list[tuple[str, str]]:
    """What is wrong with a form file, as (field name or "", message): a studio edit is checked before it can be
    deployed, so no page breaks on it."""
    try:
        raw = yaml.safe_load(text)
        form = _from_raw(raw)
    except yaml.YAMLError as exc:
        return [("", f"YAML 格式有误：{exc}")]
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        return [("", f"表单结构有误（缺少或写错了 {exc}）：须有 key、title、sections，每个字段须有 name、label、type")]
    problems: list[tuple[str, str]] = []
    if f"{form.key}.yaml" != filename:
        problems.append(("", f"表单标识 key: {form.key} 与文件名 {filename} 不一致"))
    names: set[str] = set()
    for f in form.fields:
        where = f.name
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", str(f.name)):
            problems.append((str(where), "字段名只能用小写字母、数字和下划线，以字母开头"))
        if f.name in names:
            problems.append((where, "字段名重复"))
        names.add(f.name)
        if f.type not in FIELD_TYPES:
            problems.append((where, f"「{f.label}」的类型 {f.type} 不存在（可用：{'、'.join(FIELD_TYPES)}）"))
        if f.type in ("choice", "radio", "multichoice") and not f.choices and not f.source:
            problems.append((where, f"「{f.label}」须列出选项（choices）或选项来源（source）"))
        if any(len(c) != 2 for c in f.choices):
            problems.append((where, f"「{f.label}」的每个选项须为 [值, 显示文字]"))
        if f.source and f.source not in sources:
            problems.append((where, f"「{f.label}」的选项来源 {f.source} 不存在（可用：{'、'.join(sorted(sources))}）"))
        if f.max_length is not None and (not isinstance(f.max_length, int) or f.max_length < 1):
            problems.append((where, f"「{f.label}」的最大长度须为正整数"))
    problems.extend(("", f"规则 {r} 不存在（可用：{'、'.join(sorted(rules))}）") for r in form.rules if r not in rules)
    return problems


class FormRegistry:
    """Forms by key: those deployed with a process version (`sources`, "<key>.yaml" -> YAML text) over the files
    of forms/ (forms no process carries, e.g. 领码)."""

    def __init__(self, directory: str | Path, sources: Mapping[str, str] | None = None):
        self.directory = Path(directory)
        self.sources = dict(sources or {})

    def exists(self, key: str) -> bool:
        return f"{key}.yaml" in self.sources or (self.directory / f"{key}.yaml").is_file()

    def keys(self) -> list[str]:
        return sorted({p.stem for p in self.directory.glob("*.yaml")} |
                      {n.removesuffix(".yaml") for n in self.sources})

    def get(self, key: str) -> FormDef:
        path = self.directory / f"{key}.yaml"
        text = self.sources.get(f"{key}.yaml")
        if not re.fullmatch(r"[a-z_]+", key) or (text is None and not path.is_file()):
            raise KeyError(f"表单 {key} 不存在")
        form = parse_form(text) if text is not None else _load(str(path), path.stat().st_mtime)
        if form.extends:
            parent = self.get(form.extends)
            form = FormDef(form.key, form.title, parent.sections + form.sections, parent.rules + form.rules)
        return form


def missing_message(d: FieldDef) -> str:
    """What a required field left empty says: a box is ticked (请勾选), a list chosen from (请选择), the rest typed."""
    if d.type in ("checkbox", "multichoice"):
        return f"请勾选「{d.label}」"
    if d.type in ("choice", "radio"):
        return f"请选择「{d.label}」"
    return f"请填写「{d.label}」"


def _field(d: FieldDef, choices: list[tuple[str, str]]) -> fields.Field:
    label = d.label
    messages = {"required": missing_message(d), "null": missing_message(d)}

    def common(**extra_messages: str) -> dict[str, Any]:
        return {"required": d.required, "allow_none": not d.required,
                "error_messages": {**messages, **extra_messages}}

    if d.type == "money":
        return fields.Decimal(places=4, validate=validate.Range(min=0, max=Decimal("1e10"),
                              error=f"「{label}」须为不小于0的金额（万元）"),
                              **common(invalid=f"「{label}」须为数字金额（万元）",
                                     special=f"「{label}」须为数字金额（万元）"))
    if d.type == "integer":
        return fields.Integer(validate=validate.Range(min=0, max=10_000_000, error=f"「{label}」须为不小于0的整数"),
                              **common(invalid=f"「{label}」须为整数"))
    if d.type == "date":
        return fields.Date(format="%Y-%m-%d", **common(invalid=f"「{label}」须为日期，格式如 2026-12-01"))
    if d.type in ("choice", "radio"):
        valid = [c[0] for c in choices]
        return fields.String(validate=validate.OneOf(valid, error=f"请从列表中选择「{label}」"), **common())
    if d.type == "checkbox":
        return fields.Boolean(**common(invalid=f"「{label}」取值无效"))
    if d.type == "multichoice":
        valid = {c[0] for c in choices}
        return fields.Function(deserialize=lambda value: _several(value, valid, label), **common())
    if d.type == "uscc":
        return fields.Function(deserialize=lambda value: _uscc(value, label), **common())
    if d.type == "mobile":
        return fields.String(validate=validate.Regexp(MOBILE, error=f"「{label}」须为11位手机号码"), **common())
    max_length = d.max_length or (200 if d.type in ("string", "project_code") else 4000)
    return fields.String(validate=validate.Length(max=max_length, error=f"「{label}」不能超过{max_length}字"),
                         **common())


def _several(value: Any, valid: set[str], label: str) -> list[str]:
    """Ticked boxes of a multichoice field, in the order given, each once."""
    chosen = list(dict.fromkeys(str(v) for v in (value if isinstance(value, list) else [value])))
    if any(v not in valid for v in chosen):
        raise ValidationError(f"「{label}」含有无效的选项，请从列表中勾选")
    return chosen


def _uscc(value: str, label: str) -> str:
    from .domain.identity import check_uscc

    try:
        return check_uscc(value)
    except ValueError:
        raise ValidationError(f"「{label}」校验不通过，请核对18位代码") from None


RuleFn = Callable[[dict[str, Any], Any], tuple[dict[str, Any], dict[str, str]]]


def validate_form(form: FormDef, raw: Mapping[str, Any], choices: Callable[[str], list[tuple[str, str]]],
                  rules: Mapping[str, RuleFn], context: Any = None) -> dict[str, Any]:
    """Field checks (marshmallow), then conditional requirements, then the named domain rules.
    Returns clean values (Decimal, date, int, bool); raises FormInvalid with Chinese messages per field."""
    inputs = [d for d in form.fields if d.input]
    resolved = {d.name: (list(d.choices) or (choices(d.source) if d.source else [])) for d in inputs}
    schema = Schema.from_dict({d.name: _field(d, resolved[d.name]) for d in inputs})(unknown=EXCLUDE)
    data = {}
    for d in inputs:
        value = raw.get(d.name)
        if isinstance(value, str):
            value = value.strip()
            if d.type == "money":  # 「1,100」 as amounts are shown
                value = value.replace(",", "").replace("，", "")
        if d.type == "multichoice":
            value = [v for v in (value if isinstance(value, list) else [value]) if v not in ("", None)] or None
        if d.type == "checkbox":
            value = value in (True, "on", "true", "1", "y")
            if d.required and not value:
                value = None
        if value in ("", None) and d.default is not None and not d.required:
            value = str(d.default)
        if value in ("", None):
            if d.required:
                data[d.name] = None
            continue
        data[d.name] = value
    errors: dict[str, str] = {}
    try:
        values = schema.load(data)
    except ValidationError as exc:
        errors = {k: (v[0] if isinstance(v, list) else str(v)) for k, v in exc.messages.items()}
        values = {k: v for k, v in exc.valid_data.items()} if isinstance(exc.valid_data, dict) else {}
    for d in inputs:
        for other, allowed in d.required_if.items():
            if values.get(other) in allowed and not values.get(d.name) and d.name not in errors:
                errors[d.name] = missing_message(d)
    if not errors:
        for rule in form.rules:
            computed, rule_errors = rules[rule](values, context)
            values.update(computed)
            for name, message in rule_errors.items():
                errors.setdefault(name, message)
    if errors:
        raise FormInvalid(errors)
    return values
