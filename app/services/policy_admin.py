"""Policy staff maintain the screening rules (负面清单, 淘汰/限制, 产能严重过剩, regional bans)."""
from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from ..domain.screening import NATURES, RULE_KINDS
from ..extensions import db
from ..models import PolicyRuleRow, User
from . import ServiceError, forbid, use_case

KIND_LABELS = {"negative_list": "市场准入负面清单", "eliminated": "淘汰类", "restricted": "限制类",
               "overcapacity": "产能严重过剩", "regional_ban": "区域禁止"}
_LIST = re.compile(r"[，,、\s]+")


def rules() -> list[PolicyRuleRow]:
    return list(db.session.scalars(select(PolicyRuleRow).order_by(PolicyRuleRow.kind, PolicyRuleRow.id)))


def _split(text: str) -> list[str]:
    return [part for part in _LIST.split(text or "") if part]


@use_case
def save_rule(user: User, raw: dict[str, Any], rule_id: str | None = None) -> PolicyRuleRow:
    if not user.roles.intersection({"policy", "admin"}):
        raise forbid("只有综合管理部门人员可以维护政策审查规则")
    errors: dict[str, str] = {}
    new_id = (raw.get("id") or "").strip()
    if rule_id is None and not re.fullmatch(r"[a-z0-9_\-]{3,60}", new_id):
        errors["id"] = "「规则编号」须为3–60位小写字母、数字、下划线或连字符"
    elif rule_id is None and db.session.get(PolicyRuleRow, new_id) is not None:
        errors["id"] = "「规则编号」已存在"
    if raw.get("kind") not in RULE_KINDS:
        errors["kind"] = "请选择「规则类型」"
    for name, label in (("title", "规则名称"), ("message", "提示信息"), ("source", "依据")):
        text = (raw.get(name) or "").strip()
        limit = getattr(PolicyRuleRow.__table__.c[name].type, "length", None)  # the column's, or a 500 on PostgreSQL
        if not text:
            errors[name] = f"请填写「{label}」"
        elif limit is not None and len(text) > limit:
            errors[name] = f"「{label}」不能超过{limit}字"
    natures = _split(raw.get("natures", ""))
    if any(n not in NATURES for n in natures):
        errors["natures"] = f"「建设性质」只能是：{'、'.join(NATURES)}"
    industries, catalogue = _split(raw.get("industry_prefixes", "")), _split(raw.get("catalogue_codes", ""))
    if not industries and not catalogue and raw.get("kind") != "regional_ban":
        errors["industry_prefixes"] = "请至少填写「行业代码」或「指导目录条目」之一，否则规则会拦截所有项目"
    regions = _split(raw.get("region_prefixes", ""))
    if any(not r.isdigit() for r in regions):
        errors["region_prefixes"] = "「适用地区」须为行政区划代码（数字）"
    if errors:
        raise ServiceError("规则有误，请按提示修改", 422, errors)
    row = db.session.get(PolicyRuleRow, rule_id) if rule_id else PolicyRuleRow(id=new_id)
    if row is None:
        raise ServiceError("规则不存在", 404)
    row.kind, row.title = raw["kind"], raw["title"].strip()
    row.industry_prefixes, row.catalogue_codes, row.natures, row.region_prefixes = industries, catalogue, natures, regions
    row.message, row.source = raw["message"].strip(), raw["source"].strip()
    row.active = raw.get("active") in ("on", "1", "true", True)
    db.session.add(row)
    return row
