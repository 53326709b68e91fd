"""Material rules (app.domain.material_rules): three-valued evaluation over the questionnaire's answers."""
from __future__ import annotations

import pytest

from app.domain.material_rules import (
    ASK,
    NOT_NEEDED,
    OPTIONAL,
    REQUIRED,
    RuleError,
    describe,
    evaluate,
    normalise,
    outcome,
    questions_from,
)

QUESTIONS = questions_from([
    ("land_supply", "供地方式", [("allocated", "划拨"), ("transfer", "出让"), ("none", "不涉及新供地")]),
    ("new_land", "是否新增建设用地", [("yes", "是"), ("no", "否")]),
    ("eia_category", "环境影响评价类别", [("report", "环境影响报告书"), ("table", "环境影响报告表")]),
])
ALLOCATED = {"match": "all", "conditions": [{"field": "land_supply", "op": "eq", "values": ["allocated"]}]}


def test_equal_rule_true_false_and_unknown() -> None:
    assert evaluate(ALLOCATED, {"land_supply": "allocated"}) is True
    assert evaluate(ALLOCATED, {"land_supply": "transfer"}) is False
    assert evaluate(ALLOCATED, {}) is None  # not asked
    assert evaluate(ALLOCATED, {"land_supply": ""}) is None  # left empty
    assert evaluate(None, {}) is True


def test_ne_and_in() -> None:
    not_none = [{"field": "land_supply", "op": "ne", "values": ["none"]}]
    assert evaluate(not_none, {"land_supply": "transfer"}) is True
    assert evaluate(not_none, {"land_supply": "none"}) is False
    either = {"conditions": [{"field": "land_supply", "op": "in", "values": ["allocated", "transfer"]}]}
    assert evaluate(either, {"land_supply": "transfer"}) is True
    assert evaluate(either, {"land_supply": "none"}) is False


def test_all_and_any_with_unknowns() -> None:
    conditions = [{"field": "new_land", "op": "eq", "values": ["yes"]},
                  {"field": "land_supply", "op": "eq", "values": ["allocated"]}]
    both = {"match": "all", "conditions": conditions}
    either = {"match": "any", "conditions": conditions}
    assert evaluate(both, {"new_land": "no"}) is False  # one false decides, whatever the unknown
    assert evaluate(both, {"new_land": "yes"}) is None
    assert evaluate(either, {"new_land": "yes"}) is True  # one true decides
    assert evaluate(either, {"new_land": "no"}) is None
    assert evaluate(either, {"new_land": "no", "land_supply": "transfer"}) is False


def test_yaml_booleans_read_as_yes_no() -> None:
    rule = normalise([{"field": "new_land", "op": "eq", "values": [True]}])
    assert rule == {"match": "all", "conditions": [{"field": "new_land", "op": "eq", "values": ["yes"]}]}
    assert evaluate(rule, {"new_land": "yes"}) is True


def test_outcomes_with_reasons() -> None:
    ruled_out = outcome(ALLOCATED, "以划拨方式提供国有土地使用权的项目", True, {"land_supply": "transfer"}, QUESTIONS)
    assert ruled_out.status == NOT_NEEDED and ruled_out.reason == "供地方式为「出让」" and ruled_out.label == "不需要"
    needed = outcome(ALLOCATED, "以划拨方式", True, {"land_supply": "allocated"}, QUESTIONS)
    assert needed.status == REQUIRED and needed.demanded and needed.reason == "供地方式为「划拨」"
    assert outcome(ALLOCATED, "以划拨方式", False, {"land_supply": "allocated"}, QUESTIONS).status == OPTIONAL
    assert outcome(ALLOCATED, "以划拨方式", True, {}, QUESTIONS).status == ASK
    # no rule: a condition in words only is 视情形; none at all is as listed
    assert outcome(None, "住宅工程", True, {}, QUESTIONS).status == ASK
    assert not outcome(None, "住宅工程", True, {}, QUESTIONS).demanded
    assert outcome(None, "", True, {}, QUESTIONS).status == REQUIRED
    assert outcome(None, "", False, {}, QUESTIONS).status == OPTIONAL
    # a broken stored rule never hides a material: it is 视情形
    assert outcome({"match": "all", "conditions": [{"field": "x", "op": "like", "values": ["1"]}]}, "x", True,
                   {}, QUESTIONS).status == ASK


def test_malformed_rules_are_refused_in_chinese() -> None:
    with pytest.raises(RuleError, match="比较方式"):
        normalise([{"field": "land_supply", "op": "~", "values": ["x"]}])
    with pytest.raises(RuleError, match="请选择问题"):
        normalise([{"field": "", "op": "eq", "values": ["x"]}])
    with pytest.raises(RuleError, match="请选择答案"):
        normalise([{"field": "land_supply", "op": "eq", "values": []}])
    with pytest.raises(RuleError, match="属于"):
        normalise([{"field": "land_supply", "op": "eq", "values": ["a", "b"]}])
    with pytest.raises(RuleError, match="最多"):
        normalise([{"field": "land_supply", "op": "eq", "values": ["a"]}] * 6)
    assert normalise(None) is None and normalise([]) is None and normalise({}) is None


def test_describe_in_chinese() -> None:
    assert describe(ALLOCATED, QUESTIONS) == "供地方式等于「划拨」"
    rule = {"match": "any", "conditions": [{"field": "new_land", "op": "eq", "values": ["yes"]},
                                           {"field": "land_supply", "op": "in", "values": ["allocated", "transfer"]}]}
    assert describe(rule, QUESTIONS) == "是否新增建设用地等于「是」，或供地方式属于「划拨、出让」"
