"""Policy staff maintain the item catalogue (事项目录): items, 子项, time limits and materials (domain.md §13)."""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, select

from ..domain import material_rules
from ..extensions import db
from ..models import KIND_LABELS, ApprovalItem, ItemMaterial, User
from ..models.approval import UNIT_LABELS
from . import ServiceError, catalogue_history, forbid, not_found, studio_log, use_case
from .approval import rule_questions

STAGES = ("立项用地规划许可", "工程建设许可", "施工许可", "竣工验收")
LEVEL_LABELS = {"county": "县级", "city": "市级", "province": "省级"}
UNIT_CHOICES = {"workday": "工作日", "day": "日（自然日）"}
LOCAL_FLAG = "地方性法规要求"
MATERIAL_TEXT_FIELDS = {"name": ("材料名称", 200), "condition": ("适用情形", 200), "template": ("样表/编制要求", 300),
                        "local_basis": ("地方性法规依据", 300)}
_CODE = re.compile(r"[a-z][a-z0-9_]{1,39}")
_TRUE = ("on", "1", "true", "yes", True)
_LINES = re.compile(r"\s*[\r\n]+\s*")  # a material is one line: the page edits it in a small text box


def items() -> list[ApprovalItem]:
    return list(db.session.scalars(select(ApprovalItem).order_by(ApprovalItem.sort, ApprovalItem.code)))


def get_item(code: str) -> ApprovalItem:
    item = db.session.get(ApprovalItem, code)
    if item is None:
        raise not_found("事项不存在")
    return item


def sub_items(code: str) -> list[ApprovalItem]:
    return list(db.session.scalars(select(ApprovalItem).where(ApprovalItem.parent_code == code)
                                   .order_by(ApprovalItem.sort, ApprovalItem.code)))


def by_stage(rows: Sequence[ApprovalItem]) -> list[tuple[str, list[ApprovalItem]]]:
    """Items grouped by stage (in the order of the four stages), each 子项 right after its unified item."""
    children: dict[str, list[ApprovalItem]] = {}
    for row in rows:
        if row.parent_code:
            children.setdefault(row.parent_code, []).append(row)
    groups: dict[str, list[ApprovalItem]] = {stage: [] for stage in STAGES}
    for row in rows:
        if row.parent_code is None:
            groups.setdefault(row.stage, []).extend([row, *children.pop(row.code, [])])
    for orphans in children.values():  # a 子项 whose parent is gone still shows
        for row in orphans:
            groups.setdefault(row.stage, []).append(row)
    return [(stage, rows) for stage, rows in groups.items() if rows]


def limit_text(item: ApprovalItem) -> str:
    """E.g. 20个工作日（法定20个工作日）; 20个工作日（法律法规未规定时限）."""
    unit = item.unit_label
    statutory = f"法定{item.statutory_limit}{unit}" if item.statutory_limit else "法律法规未规定时限"
    return f"{item.promised_limit}{unit}（{statutory}）"


def extension_text(item: ApprovalItem) -> str:
    return f"{item.max_extension}{item.unit_label}" if item.max_extension else "不可延长"


def item_values(item: ApprovalItem) -> dict[str, Any]:
    """The edit form's values for an item."""
    return {"code": item.code, "name": item.name, "parent_code": item.parent_code or "", "kinds": list(item.kinds),
            "stage": item.stage, "dept_type": item.dept_type, "level": item.level,
            "statutory_limit": "" if item.statutory_limit is None else str(item.statutory_limit),
            "promised_limit": str(item.promised_limit), "unit": item.unit, "max_extension": str(item.max_extension),
            "has_intermediary": item.has_intermediary, "has_expert_review": item.has_expert_review,
            "legal_basis": item.legal_basis, "limit_source": item.limit_source, "active": item.active,
            "materials": [{"id": str(m.id), "name": m.name, "required": m.required, "condition": m.condition,
                           "template": m.template, "pdf_only": m.pdf_only, "local_basis": m.local_basis,
                           **rule_values(m.applies_when)}
                          for m in item.materials]}


# ---- a material's 适用条件 as a rule over the questionnaire (app.domain.material_rules) ----------------------------
# The item page picks one condition per material: 「问卷回答」 等于/不等于 one answer (rule_op, rule_answer
# "field:value"); a stored rule the picker cannot show (several conditions, 属于) is kept unless changed ("keep").
RULE_OPS = {"": "不按问卷判断", "eq": "等于", "ne": "不等于"}
KEEP = "keep"


def rule_values(rule: Any) -> dict[str, str]:
    """The picker's values for a stored rule, and the rule in words."""
    try:
        clean = material_rules.normalise(rule)
    except material_rules.RuleError:
        clean = None
    if clean is None:
        return {"rule_op": "", "rule_answer": "", "rule_text": ""}
    text = material_rules.describe(clean, rule_questions())
    (first, *others) = clean["conditions"]
    if others or first["op"] == "in":
        return {"rule_op": KEEP, "rule_answer": "", "rule_text": text}
    return {"rule_op": first["op"], "rule_answer": f"{first['field']}:{first['values'][0]}", "rule_text": text}


def rule_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """(question label, [(field:value, answer)]) of the questionnaire's choice questions, for the picker."""
    return [(q.label, [(f"{q.name}:{value}", text) for value, text in q.choices.items()])
            for q in rule_questions().values()]


def _check_rule(row: Mapping[str, Any], number: int, errors: dict[str, str]) -> dict[str, Any] | None:
    """The rule to store for a material row; None: keep the stored one. {} is 'no rule, on purpose' (the seed
    then leaves it alone)."""
    op = str(row.get("rule_op") or "").strip()
    if op == KEEP:
        return None
    if op not in RULE_OPS:
        errors[f"materials-{number}-rule_op"] = f"第{number}行材料：请选择「适用条件」的比较方式（等于或不等于）"
        return None
    if not op:
        return {}
    field, _, value = str(row.get("rule_answer") or "").partition(":")
    question = rule_questions().get(field)
    if question is None or value not in question.choices:
        errors[f"materials-{number}-rule_answer"] = f"第{number}行材料：请选择「适用条件」对应的问卷回答"
        return None
    return {"match": "all", "conditions": [{"field": field, "op": op, "values": [value]}]}


def new_values(parent: ApprovalItem | None) -> dict[str, Any]:
    """A new item's defaults; a 子项 starts from its unified item (kinds, stage, department, limits, basis and
    materials, the latter as new rows)."""
    if parent is None:
        return {"kinds": [], "level": "city", "unit": "workday", "promised_limit": "20", "max_extension": "10",
                "active": True, "materials": []}
    values = item_values(parent)
    values.update(code="", name="", parent_code=parent.code, active=True,
                  materials=[{**row, "id": ""} for row in values["materials"]])
    return values


def _integer(raw: Any) -> int | None:
    text = str(raw if raw is not None else "").strip()
    return int(text) if re.fullmatch(r"\d{1,6}", text) else None


def _check_item(raw: Mapping[str, Any], code: str | None, errors: dict[str, str]) -> dict[str, Any]:
    """Validated item columns (errors collected into `errors`)."""
    text = {name: str(raw.get(name) or "").strip() for name in
            ("code", "name", "parent_code", "stage", "dept_type", "level", "unit", "legal_basis", "limit_source")}
    if code is None:
        if not _CODE.fullmatch(text["code"]) or text["code"] == "new":
            errors["code"] = "「事项编码」须为2–40位小写字母、数字或下划线，以小写字母开头（不能用 new）"
        elif db.session.get(ApprovalItem, text["code"]) is not None:
            errors["code"] = f"「事项编码」{text['code']} 已存在，请换一个"
        if text["parent_code"]:
            parent = db.session.get(ApprovalItem, text["parent_code"])
            if parent is None or parent.parent_code is not None:
                errors["parent_code"] = "「上级事项」须为目录中按统一名称设立的事项（子项下不能再设子项）"
    if not text["name"]:
        errors["name"] = "请填写「事项名称」"
    elif len(text["name"]) > 100:
        errors["name"] = "「事项名称」不得超过100字"
    kinds = [k for k in raw.get("kinds") or [] if k]
    if not kinds or any(k not in KIND_LABELS for k in kinds):
        errors["kinds"] = "「适用项目类别」请至少选择审批类、核准类、备案类中的一种"
    if text["stage"] not in STAGES:
        errors["stage"] = "请选择「所属阶段」"
    current = db.session.get(ApprovalItem, code) if code is not None else None
    catalogue_history.check_dept_type(text["dept_type"], current.dept_type if current else None, errors)
    if text["level"] not in LEVEL_LABELS:
        errors["level"] = "「办理层级」只能是县级、市级或省级"
    if text["unit"] not in UNIT_LABELS:
        errors["unit"] = "「时限单位」只能是工作日或日"
    promised = _integer(raw.get("promised_limit"))
    if promised is None or not 1 <= promised <= 365:
        errors["promised_limit"] = "「承诺时限」须为1–365的整数"
    statutory_raw = str(raw.get("statutory_limit") or "").strip()
    statutory = _integer(statutory_raw) if statutory_raw else None
    if statutory_raw and (statutory is None or statutory < 1):
        errors["statutory_limit"] = "「法定时限」须留空（法律法规未规定）或填写不小于1的整数"
    elif statutory is not None and promised is not None and promised > statutory and "promised_limit" not in errors:
        errors["promised_limit"] = (f"「承诺时限」不得超过「法定时限」（法定{statutory}"
                                    f"{UNIT_LABELS.get(text['unit'], '')}）")
    extension = _integer(raw.get("max_extension"))
    if extension is None or extension > 60:
        errors["max_extension"] = "「延长上限」须为0–60的整数（不可延长填0）"
    if not text["legal_basis"]:
        errors["legal_basis"] = "请填写「设定依据」（法律法规名称及条款）"
    if not text["limit_source"]:
        errors["limit_source"] = "请填写「时限来源」（法定时限的出处，或说明为地方做法）"
    return {"name": text["name"], "parent_code": text["parent_code"] or None, "kinds": kinds, "stage": text["stage"],
            "dept_type": text["dept_type"], "level": text["level"], "unit": text["unit"], "promised_limit": promised,
            "statutory_limit": statutory, "max_extension": extension, "legal_basis": text["legal_basis"],
            "limit_source": text["limit_source"], "active": raw.get("active") in _TRUE,
            "has_intermediary": raw.get("has_intermediary") in _TRUE,
            "has_expert_review": raw.get("has_expert_review") in _TRUE}


def _check_materials(rows: Sequence[Mapping[str, Any]], item: ApprovalItem | None,
                     errors: dict[str, str]) -> list[tuple[ItemMaterial | None, dict[str, Any]]]:
    """The rows to keep, in order, each with its existing material (None: new). Blank rows and deleted rows drop out."""
    existing = {str(m.id): m for m in item.materials} if item is not None else {}
    kept: list[tuple[ItemMaterial | None, dict[str, Any]]] = []
    for number, row in enumerate(rows, start=1):
        material = existing.get(str(row.get("id") or ""))
        values = {name: _LINES.sub("", str(row.get(name) or "")).strip() for name in MATERIAL_TEXT_FIELDS}
        if row.get("delete") in _TRUE or (material is None and not any(values.values())):
            continue
        if not values["name"]:
            errors[f"materials-{number}-name"] = f"第{number}行材料：请填写「材料名称」"
        for name, (label, limit) in MATERIAL_TEXT_FIELDS.items():
            if len(values[name]) > limit:
                errors[f"materials-{number}-{name}"] = f"第{number}行材料：「{label}」不得超过{limit}字"
        values.update(required=row.get("required") in _TRUE, pdf_only=row.get("pdf_only") in _TRUE)
        rule = _check_rule(row, number, errors)
        if rule == {} and (material is None or not material.applies_when):
            rule = None  # no rule before, none now: stays empty (the seed may still fill a seeded one)
        if rule is not None:
            values["applies_when"] = rule
        kept.append((material, values))
    return kept


@use_case
def save_item(user: User, raw: Mapping[str, Any], code: str | None = None) -> ApprovalItem:
    """Create (code None) or update an item and its materials. raw: the form's fields, `kinds` a list,
    `materials` a list of rows {id, name, required, condition, template, pdf_only, local_basis, delete}."""
    if not user.roles.intersection({"policy", "admin"}):
        raise forbid("只有综合管理部门人员可以维护事项目录")
    item = get_item(code) if code is not None else None
    before = catalogue_history.snapshot(item) if item is not None else None
    errors: dict[str, str] = {}
    values = _check_item(raw, code, errors)
    materials = _check_materials(raw.get("materials") or [], item, errors)
    # an edit names its reason (修改原因及文件依据), kept with the change in the item's history
    reason = catalogue_history.clean_reason(raw.get(catalogue_history.REASON_FIELD), errors) if item else \
        str(raw.get(catalogue_history.REASON_FIELD) or "").strip()[:studio_log.REASON_MAX]
    if errors:
        raise ServiceError("事项有误，请按提示修改", 422, errors)
    if item is None:
        item = ApprovalItem(code=str(raw["code"]).strip(), sort=_next_sort(values["parent_code"]))
        db.session.add(item)
    else:
        values.pop("parent_code")  # a 子项 stays under the item it was created for
    for name, value in values.items():
        setattr(item, name, value)
    rows: list[ItemMaterial] = []
    for number, (material, fields) in enumerate(materials, start=1):
        material = material or ItemMaterial()
        for name, value in fields.items():
            setattr(material, name, value)
        material.sort = number * 10
        rows.append(material)
    item.materials = rows  # rows left out (deleted) are removed: delete-orphan
    db.session.flush()
    catalogue_history.record(user, item, before, reason)
    return item


def _next_sort(parent_code: str | None) -> int:
    """A 子项 sorts right after its unified item's existing 子项; a new unified item goes last."""
    if parent_code:
        parent_sort = db.session.get(ApprovalItem, parent_code).sort
        return (db.session.scalar(select(func.max(ApprovalItem.sort)).where(ApprovalItem.parent_code == parent_code))
                or parent_sort) + 1
    return (db.session.scalar(select(func.max(ApprovalItem.sort))) or 0) + 10
