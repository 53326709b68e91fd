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


@lru_cache(maxsize=64)
def _load(path: str, mtime: float) -> FormDef:
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    sections = []
    for section in raw["sections"]:
        defs = []
        for f in section["fields"]:
            defs.append(FieldDef(
                name=f["name"], label=f["label"], type=f["type"], required=bool(f.get("required")),
                help=f.get("help", ""), max_length=f.get("max_length"),
                choices=tuple(tuple(c) for c in f.get("choices", [])), source=f.get("source"),
                required_if=f.get("required_if", {}), from_project=f.get("from_project"), column=f.get("column")))
        sections.append((section["title"], tuple(defs)))
    return FormDef(raw["key"], raw["title"], tuple(sections), tuple(raw.get("rules", [])), raw.get("extends"))


class FormRegistry:
    def __init__(self, directory: str | Path):
        self.directory = Path(directory)

    def exists(self, key: str) -> bool:
        return (self.directory / f"{key}.yaml").is_file()

    def keys(self) -> list[str]:
        return sorted(p.stem for p in self.directory.glob("*.yaml"))

    def get(self, key: str) -> FormDef:
        path = self.directory / f"{key}.yaml"
        if not re.fullmatch(r"[a-z_]+", key) or not path.is_file():
            raise KeyError(f"表单 {key} 不存在")
        form = _load(str(path), path.stat().st_mtime)
        if form.extends:
            parent = self.get(form.extends)
            form = FormDef(form.key, form.title, parent.sections + form.sections, parent.rules + form.rules)
        return form


def _field(d: FieldDef, choices: list[tuple[str, str]]) -> fields.Field:
    label = d.label
    verb = "请选择" if d.type in ("choice", "radio", "multichoice") else "请填写"  # chosen, not typed
    messages = {"required": f"{verb}「{label}」", "null": f"{verb}「{label}」"}

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
        if d.type == "multichoice":
            value = [v for v in (value if isinstance(value, list) else [value]) if v not in ("", None)] or None
        if d.type == "checkbox":
            value = value in (True, "on", "true", "1", "y")
            if d.required and not value:
                value = None
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
                errors[d.name] = f"{'请选择' if d.type in ('choice', 'radio') else '请填写'}「{d.label}」"
    if not errors:
        for rule in form.rules:
            computed, rule_errors = rules[rule](values, context)
            values.update(computed)
            for name, message in rule_errors.items():
                errors.setdefault(name, message)
    if errors:
        raise FormInvalid(errors)
    return values
