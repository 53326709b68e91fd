"""The catalogue item's 触发条件: the rules of the item decision table (item_determination.dmn) that list an item,
read in Chinese, and a rule added from the item page without editing XML.

The decision table stays the one source of truth: a rule added here is written into the table's shared studio
draft (studio.save_draft, with its compare-and-set), and the policy officer validates and deploys it
in the decision-table designer with a reason, like any other change. Nothing here deploys.
"""
from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import yaml
from flask import current_app
from lxml import etree

from engine.deploy import DeployError, parse_xml
from engine.tables import ProcessDraft

from ..formkit import FieldDef, FormRegistry
from ..models import KIND_LABELS, ApprovalItem, User
from . import ServiceError, not_found, use_case
from .platform import choices as source_choices
from .platform import forms
from .studio import draft_of, require_studio, save_draft

TABLE_FILE = "item_determination.dmn"
QUESTIONS_FILE = "declaration_questions.yaml"
QUESTIONS_FORM = "declaration_questions"
DESCRIPTION_LIMIT = 500
MAX_CONDITIONS = 5

CHOICE_TYPES = ("radio", "choice", "checkbox")
NUMBER_TYPES = ("money", "integer")
# What the page offers; the stored cell is `"yes"` (equals) or `!= "yes"`, `>= 1000` … (glued to the input by the
# DMN engine, engine-notes: DMN).
OPERATORS = {"=": "=", "!=": "≠", ">=": "≥", ">": ">", "<=": "≤", "<": "<"}
CHOICE_OPERATORS = ("=", "!=")
OPERATOR_NAMES = {"=": "等于", "!=": "不等于", ">=": "≥（不小于）", ">": ">（大于）", "<=": "≤（不大于）", "<": "<（小于）"}
_COMPARE = {ast.Eq: "=", ast.NotEq: "≠", ast.GtE: "≥", ast.Gt: ">", ast.LtE: "≤", ast.Lt: "<"}
# The question a column reads: answers["x"], answers.get("x", …) or (answers.get("x") or 0).
_ANSWER = re.compile(r"""answers(?:\[\s*["']([a-z][a-z0-9_]*)["']\s*\]|\.get\(\s*["']([a-z][a-z0-9_]*)["'])""")
_NUMBER = re.compile(r"\d{1,10}(\.\d{1,4})?")
# Inputs that are not questions but start data, with the labels of their values.
_START_VALUES: dict[str, dict[str, str]] = {"project_kind": KIND_LABELS}


# ---- the questionnaire ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Question:
    name: str
    label: str
    type: str
    section: str
    choices: tuple[tuple[str, str], ...]  # (value, label); a checkbox is 是/否
    draft_only: bool  # only in the questionnaire's undeployed draft: rules on it match once that is deployed

    @property
    def numeric(self) -> bool:
        return self.type in NUMBER_TYPES

    @property
    def operators(self) -> tuple[str, ...]:
        return tuple(OPERATORS) if self.numeric else CHOICE_OPERATORS

    def choice_label(self, value: Any) -> str:
        return next((text for code, text in self.choices if code == _choice_text(value)), str(value))


def _choice_text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _field_choices(field: FieldDef) -> tuple[tuple[str, str], ...]:
    if field.type == "checkbox":
        return (("true", "是"), ("false", "否"))
    if field.choices:
        return tuple((str(value), str(text)) for value, text in field.choices)
    return tuple(source_choices(field.source)) if field.source else ()


def _usable(form_sections: Iterable[tuple[str, Sequence[FieldDef]]]) -> list[tuple[str, FieldDef]]:
    return [(title, f) for title, fields in form_sections for f in fields if f.type in CHOICE_TYPES + NUMBER_TYPES]


def questions(user: User) -> list[Question]:
    """The questionnaire's questions a condition can test, from its studio draft if there is one (so a question
    just added to the questionnaire can be used at once); questions only in that draft are marked."""
    require_studio(user)
    registry = forms()
    deployed_names = {f.name for _, f in _usable(registry.get(QUESTIONS_FORM).sections)}
    _, draft = draft_of(user, QUESTIONS_FILE)
    form = registry.get(QUESTIONS_FORM)
    if draft is not None:
        try:
            form = FormRegistry(current_app.config["FORMS_DIR"],
                                {**registry.sources, QUESTIONS_FILE: draft.content}).get(QUESTIONS_FORM)
        except (yaml.YAMLError, KeyError, TypeError, AttributeError, ValueError):
            form = registry.get(QUESTIONS_FORM)  # a draft that does not parse yet: the deployed questions stand
    return [Question(f.name, f.label, f.type, title, _field_choices(f), f.name not in deployed_names)
            for title, f in _usable(form.sections)]


# ---- reading the decision table ------------------------------------------------------------------------------
def _q(root: etree._Element, tag: str) -> str:
    return f"{{{etree.QName(root).namespace}}}{tag}"


def _table(root: etree._Element) -> etree._Element:
    tables = list(root.iter(_q(root, "decisionTable")))
    if len(tables) != 1 or len(tables[0].findall(_q(root, "output"))) != 1:
        raise ServiceError("并联审批事项决策表的结构与预期不同（应只有一张表、一个输出列），请在决策表设计器中修改", 409)
    return tables[0]


def _text(node: etree._Element | None, root: etree._Element) -> str:
    if node is None:
        return ""
    found = node.find(_q(root, "text"))
    return (found.text or "").strip() if found is not None else ""


@dataclass(frozen=True)
class Column:
    label: str
    expression: str
    question: str | None  # the questionnaire field the column reads, if any


def _columns(root: etree._Element, table: etree._Element) -> list[Column]:
    columns = []
    for node in table.findall(_q(root, "input")):
        expression = _text(node.find(_q(root, "inputExpression")), root)
        match = _ANSWER.search(expression)
        columns.append(Column(node.get("label") or expression, expression,
                              (match[1] or match[2]) if match else None))
    return columns


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return ...


def _value_text(value: Any, question: Question | None, start_labels: dict[str, str] | None) -> str:
    if question is not None:
        return question.choice_label(value)
    if start_labels is not None:
        return start_labels.get(str(value), str(value))
    if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
        return format(Decimal(str(value)).normalize(), "f")
    return str(value)


def _condition(entry: str, column: Column, question: Question | None) -> str | None:
    """One cell in Chinese: 「供地方式 = 划拨」, 「年综合能源消费量（吨标准煤） ≥ 1000」; None for "-" (any)."""
    if entry in ("", "-"):
        return None
    label = column.label
    start = _START_VALUES.get(column.expression)
    value = _literal(entry)
    if value is not ...:
        return f"{label} = {_value_text(value, question, start)}"
    try:
        tree = ast.parse(entry.replace("?", "_x_") if "?" in entry else f"_x_ {entry}", mode="eval").body
    except SyntaxError:
        tree = None
    if isinstance(tree, ast.Compare) and len(tree.ops) == 1 and isinstance(tree.left, ast.Name):
        op, right = tree.ops[0], tree.comparators[0]
        if isinstance(op, ast.In | ast.NotIn) and isinstance(right, ast.Tuple | ast.List | ast.Set):
            values = [_literal(ast.unparse(e)) for e in right.elts]
            if all(v is not ... for v in values):
                words = "、".join(_value_text(v, question, start) for v in values)
                return f"{label} {'为' if isinstance(op, ast.In) else '不为'}{words}{'之一' if len(values) > 1 else ''}"
        if type(op) in _COMPARE and (value := _literal(ast.unparse(right))) is not ...:
            return f"{label} {_COMPARE[type(op)]} {_value_text(value, question, start)}"
    return f"{label}：{entry}"  # an expression the page does not phrase: shown as written


@dataclass(frozen=True)
class RuleView:
    id: str
    conditions: tuple[str, ...]  # empty: the rule always applies
    description: str
    output: str  # the output cell as written
    by_expression: bool  # the item is one of several an output expression chooses from (the fallback rule)
    status: str  # deployed | added (only in the draft) | changed (differs in the draft) | removed (in the draft)

    @property
    def draft_only(self) -> bool:
        return self.status == "added"


def _outputs(text: str, code: str) -> tuple[bool, bool]:
    """(lists the item, only as one choice of an expression) for an output cell."""
    if _literal(text) == code:
        return True, False
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        return False, False
    found = any(isinstance(n, ast.Constant) and n.value == code for n in ast.walk(tree))
    return found, found


def _rules(content: str, code: str, questions_by_name: dict[str, Question]) -> dict[str, tuple[RuleView, Any]]:
    """The rules listing the item, by id, each with what it means — its cells other than "-" by column, its
    description and output — to tell a rule changed in the draft from one that only got a "-" in a new column."""
    try:
        root = parse_xml(content.encode(), TABLE_FILE)
    except DeployError as exc:
        raise ServiceError(str(exc), 409) from None
    table = _table(root)
    columns = _columns(root, table)
    found: dict[str, tuple[RuleView, Any]] = {}
    for number, rule in enumerate(table.findall(_q(root, "rule")), start=1):
        output = _text(rule.find(_q(root, "outputEntry")), root)
        listed, by_expression = _outputs(output, code)
        if not listed:
            continue
        entries = [_text(e, root) for e in rule.findall(_q(root, "inputEntry"))]
        conditions = tuple(c for column, entry in zip(columns, entries, strict=False)
                           if (c := _condition(entry, column, questions_by_name.get(column.question or ""))))
        description = (rule.findtext(_q(root, "description")) or "").strip()
        rule_id = rule.get("id") or f"第{number}条"
        meaning = (frozenset((column.expression, entry) for column, entry in zip(columns, entries, strict=False)
                             if entry not in ("", "-")), description, output)
        found[rule_id] = (RuleView(rule_id, conditions, description, output, by_expression, "deployed"), meaning)
    return found


@dataclass(frozen=True)
class ItemRules:
    rules: list[RuleView]
    draft: ProcessDraft | None  # the decision table's shared draft, if any
    revision: int | None  # what an add or remove from this page compares against


def rules_for(user: User, item_code: str) -> ItemRules:
    """The rules of the decision table (its draft if there is one) that list the item, in the table's order, and
    those the draft removed; a rule only in the draft, or changed there, is marked as not deployed."""
    require_studio(user)
    by_name = {q.name: q for q in questions(user)}
    deployed, draft = draft_of(user, TABLE_FILE)
    live = _rules(deployed.content, item_code, by_name)
    if draft is None:
        return ItemRules([view for view, _ in live.values()], None, None)
    shown = _rules(draft.content, item_code, by_name)
    rows = []
    for rule_id, (view, meaning) in shown.items():
        status = "added" if rule_id not in live else ("changed" if live[rule_id][1] != meaning else "deployed")
        rows.append(_with_status(view, status))
    rows += [_with_status(view, "removed") for rule_id, (view, _) in live.items() if rule_id not in shown]
    return ItemRules(rows, draft, draft.revision)


def _with_status(view: RuleView, status: str) -> RuleView:
    return RuleView(view.id, view.conditions, view.description, view.output, view.by_expression, status)


# ---- adding a rule ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Condition:
    question: Question
    operator: str
    value: str  # the cell's value: a choice's value or a number as typed (checked)


def _check_conditions(raw: Sequence[tuple[str, str, str]], by_name: dict[str, Question],
                      errors: dict[str, str]) -> list[Condition]:
    """The conditions, checked against the questionnaire; what is wrong goes into `errors`, by field."""
    checked: list[Condition] = []
    seen: set[str] = set()
    rows = [(str(q or "").strip(), str(o or "").strip(), str(v or "").strip()) for q, o, v in raw]
    rows = [row for row in rows if any(row)]
    if not rows:
        errors["conditions"] = "请至少设置一个「条件」（问题和回答）"
    if len(rows) > MAX_CONDITIONS:
        errors["conditions"] = f"一条规则最多{MAX_CONDITIONS}个「条件」"
        return []
    for n, (name, operator, value) in enumerate(rows, start=1):
        key = f"conditions-{n}"
        question = by_name.get(name)
        if question is None:
            errors[f"{key}-question"] = (f"条件{n}：「问题」{name} 不在事项申报问卷中，请先在问卷表单中增加该问题"
                                         if name else f"条件{n}：请选择「问题」")
            continue
        if name in seen:
            errors[f"{key}-question"] = f"条件{n}：「{question.label}」已设置过条件，同一问题只能设一个条件"
            continue
        seen.add(name)
        operator = operator or "="
        if operator not in question.operators:
            errors[f"{key}-operator"] = (f"条件{n}：「{question.label}」的「比较方式」只能是"
                                         f"{'、'.join(OPERATORS[o] for o in question.operators)}")
            continue
        if question.numeric:
            if not _NUMBER.fullmatch(value) or (question.type == "integer" and "." in value):
                kind = "不小于0的整数" if question.type == "integer" else "不小于0的数字（最多4位小数）"
                errors[f"{key}-value"] = f"条件{n}：「{question.label}」的「数值」须为{kind}"
                continue
            value = format(Decimal(value).normalize(), "f")
        elif value not in {code for code, _ in question.choices}:
            errors[f"{key}-value"] = (f"条件{n}：「{question.label}」的「回答」须从选项中选择"
                                      f"（{'、'.join(text for _, text in question.choices)}）")
            continue
        checked.append(Condition(question, operator, value))
    return checked


def _cell(condition: Condition) -> str:
    question, value = condition.question, condition.value
    if question.numeric:
        literal = value
    elif question.type == "checkbox":
        literal = "True" if value == "true" else "False"
    else:
        literal = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return literal if condition.operator == "=" else f"{condition.operator} {literal}"


def _expression(question: Question) -> str:
    """A new column's input: reads .get with a default, so an answer given before the question existed still
    evaluates (to no match)."""
    if question.numeric:
        return f'(answers.get("{question.name}") or 0)'
    if question.type == "checkbox":
        return f'answers.get("{question.name}", False)'
    return f'answers.get("{question.name}", "")'


class _Ids:
    """Fresh element ids for the file."""

    def __init__(self, root: etree._Element):
        self.taken = {node.get("id") for node in root.iter() if node.get("id")}

    def new(self, wanted: str) -> str:
        candidate, n = wanted, 1
        while candidate in self.taken:
            n += 1
            candidate = f"{wanted}_{n}"
        self.taken.add(candidate)
        return candidate


def _element(root: etree._Element, tag: str, ident: str, text: str | None = None) -> etree._Element:
    node = etree.Element(_q(root, tag), id=ident)
    if text is not None:
        etree.SubElement(node, _q(root, "text")).text = text
    return node


# The file is read in the designer's XML view and compared line by line: new elements take the indentation of
# their neighbours, and nothing else in the file is re-indented.
def _insert_after(ref: etree._Element, new: etree._Element) -> None:
    before = ref.getprevious()
    indent = before.tail if before is not None else ref.getparent().text
    new.tail, ref.tail = ref.tail, indent
    ref.addnext(new)


def _shape_like(new: etree._Element, model: etree._Element | None) -> None:
    """Lay the children of `new` out as `model`'s are (one per line, same indentation)."""
    if model is None or len(model) == 0 or not (model.text or "").isspace():
        return
    new.text = model.text
    for child in new[:-1]:
        child.tail = model.text
    new[-1].tail = model[-1].tail


def _add_column(root: etree._Element, table: etree._Element, question: Question, ids: _Ids) -> None:
    """A new input column after the last one; every existing rule answers it with "-" (any)."""
    base = ids.new(f"item_determination_in_{question.name}")
    column = etree.Element(_q(root, "input"), id=base, label=question.label)
    expression = etree.SubElement(column, _q(root, "inputExpression"), id=ids.new(f"{base}_expr"))
    etree.SubElement(expression, _q(root, "text")).text = _expression(question)
    last = table.findall(_q(root, "input"))[-1]
    _shape_like(column, last)
    _insert_after(last, column)
    for rule in table.findall(_q(root, "rule")):
        cell = _element(root, "inputEntry", ids.new(f"{rule.get('id') or 'rule'}_{question.name}"), "-")
        entries = rule.findall(_q(root, "inputEntry"))
        if entries:
            _insert_after(entries[-1], cell)
        else:
            rule.insert(0 if rule.find(_q(root, "description")) is None else 1, cell)


def _next_rule_id(table: etree._Element, root: etree._Element, ids: _Ids) -> str:
    numbers = [int(m[1]) for rule in table.findall(_q(root, "rule"))
               if (m := re.fullmatch(r"item_determination_r(\d+)", rule.get("id") or ""))]
    return ids.new(f"item_determination_r{max(numbers, default=0) + 1}")


def with_rule(content: str, item_code: str, conditions: Sequence[Condition], description: str) -> str:
    """The table with a column for every question not yet in it and the new rule appended."""
    root = parse_xml(content.encode(), TABLE_FILE)
    table = _table(root)
    ids = _Ids(root)
    for condition in conditions:
        if not any(c.question == condition.question.name for c in _columns(root, table)):
            _add_column(root, table, condition.question, ids)
    cells = {c.question.name: _cell(c) for c in conditions}
    rule_id = _next_rule_id(table, root, ids)
    rule = etree.Element(_q(root, "rule"), id=rule_id)
    etree.SubElement(rule, _q(root, "description")).text = description
    used: set[str] = set()
    for n, column in enumerate(_columns(root, table)):
        text = "-"
        if column.question in cells and column.question not in used:  # a question read by two columns: the first
            text = cells[column.question]
            used.add(column.question)
        rule.append(_element(root, "inputEntry", ids.new(f"{rule_id}_i{n}"), text))
    rule.append(_element(root, "outputEntry", ids.new(f"{rule_id}_o"), f'"{item_code}"'))
    rules = table.findall(_q(root, "rule"))
    if rules:
        _shape_like(rule, rules[-1])
        _insert_after(rules[-1], rule)
    else:
        table.append(rule)
    return _serialise(root)


def _serialise(root: etree._Element) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(root.getroottree(), encoding="unicode") + "\n"


def _description(text: str, errors: dict[str, str]) -> str:
    text = (text or "").strip()
    if not text:
        errors["description"] = "请填写「依据/说明」：哪类项目须办理本事项，法规名称及条款"
    elif len(text) > DESCRIPTION_LIMIT:
        errors["description"] = f"「依据/说明」不能超过{DESCRIPTION_LIMIT}字"
    return re.sub(r"\s*[\r\n]+\s*", " ", text)  # one line in the table's description cell


def _active_item(item_code: str) -> ApprovalItem:
    from ..extensions import db

    item = db.session.get(ApprovalItem, item_code)
    if item is None:
        raise not_found("事项不存在")
    if not item.active:
        raise ServiceError(f"事项「{item.name}」已停用：请先在事项目录中启用，再设置触发条件", 409)
    return item


def _draft_content(user: User, revision: int | None) -> str:
    """The text the change starts from: the draft the page showed, or the deployed table when it showed none.
    A mismatch is left to save_draft's compare-and-set (409)."""
    deployed, draft = draft_of(user, TABLE_FILE)
    return draft.content if draft is not None and revision is not None else deployed.content


@use_case
def add_rule(user: User, item_code: str, conditions: Sequence[tuple[str, str, str]], description: str,
             revision: int | None) -> ProcessDraft:
    """Append a rule `conditions → item` to the decision table's shared draft. `revision`: the draft revision the
    page showed (None: it showed the deployed table); a draft saved by someone else since is a 409."""
    require_studio(user)
    item = _active_item(item_code)
    errors: dict[str, str] = {}
    checked = _check_conditions(conditions, {q.name: q for q in questions(user)}, errors)
    text = _description(description, errors)
    if errors:
        raise ServiceError("触发条件有误，请按提示修改", 422, errors)
    content = with_rule(_draft_content(user, revision), item.code, checked, text)
    return save_draft(user, TABLE_FILE, content, revision)


@use_case
def remove_rule(user: User, item_code: str, rule_id: str, revision: int | None) -> ProcessDraft:
    """Take back a rule for the item that exists only in the draft (a deployed rule is removed in the designer,
    where the change is compared and deployed with a reason)."""
    require_studio(user)
    deployed, draft = draft_of(user, TABLE_FILE)
    if draft is None or revision is None:
        raise ServiceError("决策表没有草稿：已部署的规则请在决策表设计器中删除并部署", 409)
    shown = rules_for(user, item_code)
    rule = next((r for r in shown.rules if r.id == rule_id), None)
    if rule is None or rule.status == "removed":
        raise not_found("草稿中没有该事项的这条规则")
    if not rule.draft_only:
        raise ServiceError("这条规则已部署：请在决策表设计器中删除，并填写原因部署", 409)
    root = parse_xml(draft.content.encode(), TABLE_FILE)
    for node in _table(root).findall(_q(root, "rule")):
        if node.get("id") == rule_id:
            before = node.getprevious()
            if before is not None:
                before.tail = node.tail  # the closing indentation when it was the last rule
            node.getparent().remove(node)
    return save_draft(user, TABLE_FILE, _serialise(root), revision)
