"""When a listed material applies: a small structured rule over the declaration questionnaire's answers.

A rule (ItemMaterial.applies_when) is plain data, never code:

    {"match": "all" | "any", "conditions": [{"field": "land_supply", "op": "eq" | "ne" | "in", "values": ["allocated"]}]}

It is evaluated here in plain Python with three-valued logic: a condition on a question the questionnaire did not
ask (or the applicant left empty) is unknown, and an unknown that decides the outcome makes the material
「视情形」 (ask the accepting department) instead of a guess either way.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

OPS = {"eq": "等于", "ne": "不等于", "in": "属于"}
MATCHES = {"all": "同时满足以下全部条件", "any": "满足以下任一条件"}
MAX_CONDITIONS = 5

REQUIRED, OPTIONAL, NOT_NEEDED, ASK = "required", "optional", "not_needed", "ask"
OUTCOME_LABELS = {REQUIRED: "必需", OPTIONAL: "可选", NOT_NEEDED: "不需要", ASK: "视情形"}


class RuleError(ValueError):
    """A rule that is not of the shape above; the message is Chinese and names the problem."""


@dataclass(frozen=True)
class Question:
    """What a rule may test: a questionnaire field with its label and choices (value → text)."""

    name: str
    label: str
    choices: Mapping[str, str]


@dataclass(frozen=True)
class Outcome:
    status: str  # REQUIRED | OPTIONAL | NOT_NEEDED | ASK
    reason: str = ""  # for NOT_NEEDED: the answers that rule it out; for a rule-true material: why it is needed

    @property
    def label(self) -> str:
        return OUTCOME_LABELS[self.status]

    @property
    def demanded(self) -> bool:
        return self.status == REQUIRED


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else str(value).strip()


def normalise(rule: Any) -> dict[str, Any] | None:
    """The rule in its stored shape, or None for no rule; RuleError for anything malformed."""
    if rule is None or rule == {} or rule == []:
        return None
    if isinstance(rule, list):  # a bare list of conditions: all of them
        rule = {"match": "all", "conditions": rule}
    if not isinstance(rule, Mapping):
        raise RuleError("适用条件格式不正确")
    match = rule.get("match", "all")
    if match not in MATCHES:
        raise RuleError("适用条件的组合方式须为「全部满足」或「任一满足」")
    conditions = rule.get("conditions")
    if not isinstance(conditions, list) or not conditions:
        return None
    if len(conditions) > MAX_CONDITIONS:
        raise RuleError(f"适用条件最多{MAX_CONDITIONS}条")
    clean = []
    for number, condition in enumerate(conditions, start=1):
        if not isinstance(condition, Mapping):
            raise RuleError(f"第{number}个适用条件格式不正确")
        field, op, values = condition.get("field"), condition.get("op", "eq"), condition.get("values")
        if not isinstance(field, str) or not field:
            raise RuleError(f"第{number}个适用条件：请选择问题")
        if op not in OPS:
            raise RuleError(f"第{number}个适用条件：比较方式须为等于、不等于或属于")
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, list) or not values or not all(isinstance(v, str | int | bool) for v in values):
            raise RuleError(f"第{number}个适用条件：请选择答案")
        values = [_text(v) for v in values]
        if op != "in" and len(values) != 1:
            raise RuleError(f"第{number}个适用条件：「{OPS[op]}」只能选择一个答案，多个答案请用「属于」")
        clean.append({"field": field, "op": op, "values": values})
    return {"match": match, "conditions": clean}


def fields_of(rule: Any) -> list[str]:
    rule = normalise(rule)
    return [c["field"] for c in rule["conditions"]] if rule else []


def _holds(condition: Mapping[str, Any], answers: Mapping[str, Any]) -> bool | None:
    answer = _text(answers.get(condition["field"]))
    if not answer:
        return None  # not asked, or left empty: unknown
    inside = answer in condition["values"]
    return not inside if condition["op"] == "ne" else inside


def _answer_text(field: str, answers: Mapping[str, Any], questions: Mapping[str, Question]) -> str:
    question = questions.get(field)
    answer = _text(answers.get(field))
    label = question.label if question else field
    return f"{label}为「{question.choices.get(answer, answer) if question else answer}」"


def evaluate(rule: Any, answers: Mapping[str, Any]) -> bool | None:
    """True (applies), False (does not) or None (an answer that decides it is missing)."""
    rule = normalise(rule)
    if rule is None:
        return True
    results = [_holds(c, answers) for c in rule["conditions"]]
    if rule["match"] == "all":
        return False if False in results else (None if None in results else True)
    return True if True in results else (None if None in results else False)


def outcome(rule: Any, condition_text: str, required: bool, answers: Mapping[str, Any],
            questions: Mapping[str, Question]) -> Outcome:
    """必需 / 可选 / 不需要 / 视情形 of one material for these answers.

    No rule: a material without a condition is required (or optional) as listed; one whose condition is text only
    (the questionnaire does not cover it) is 视情形."""
    try:
        clean = normalise(rule)
    except RuleError:
        clean = None
    if clean is None:
        if condition_text.strip():
            return Outcome(ASK, "请咨询受理部门")
        return Outcome(REQUIRED if required else OPTIONAL)
    result = evaluate(clean, answers)
    if result is None:
        return Outcome(ASK, "请咨询受理部门")
    relevant = [c for c in clean["conditions"] if _holds(c, answers) is result]
    seen: list[str] = []
    for c in relevant:
        if c["field"] not in seen:
            seen.append(c["field"])
    reason = "，".join(_answer_text(f, answers, questions) for f in seen)
    if result:
        return Outcome(REQUIRED if required else OPTIONAL, reason)
    return Outcome(NOT_NEEDED, reason)


def describe(rule: Any, questions: Mapping[str, Question]) -> str:
    """The rule in Chinese, e.g. 「供地方式 属于 划拨」."""
    try:
        clean = normalise(rule)
    except RuleError:
        return "（适用条件格式不正确）"
    if clean is None:
        return ""
    parts = []
    for c in clean["conditions"]:
        question = questions.get(c["field"])
        label = question.label if question else c["field"]
        values = "、".join(question.choices.get(v, v) if question else v for v in c["values"])
        parts.append(f"{label}{OPS[c['op']]}「{values}」")
    return ("，且" if clean["match"] == "all" else "，或").join(parts)


def questions_from(fields: Sequence[tuple[str, str, Sequence[tuple[Any, Any]]]]) -> dict[str, Question]:
    """(name, label, choices) of the questionnaire's choice fields, as rules see them."""
    return {name: Question(name, label, {_text(v): str(t) for v, t in choices}) for name, label, choices in fields}
