"""领码 in two steps (issue 14 §4): the form is checked and shown back read-only (「请核对以下信息」), and only the
confirmation issues the code (projects.apply_for_code, which checks everything again in its one transaction).

The values travel in the confirmation page's hidden inputs, so nothing is stored between the steps: no row is
written by the first step, a page left open writes nothing, and the one-time form token of the 领码 form still
makes a double-clicked 确认赋码 one project.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from ..domain.addresses import full_location
from ..domain.money import money_text
from ..extensions import db
from ..formkit import FormDef
from ..models import Region, User
from ..models.project import region_names
from . import ServiceError, forbid, use_case
from .access import agent_scope
from .platform import choices, validate

FORM_KEY = "code_application"
# Posted with the form, not part of the project: who posted it and how far it got.
NOT_SHOWN = ("csrf_token", "form_token", "step")


def _checked(user: User, raw: dict[str, Any]) -> tuple[FormDef, dict[str, Any]]:
    """What apply_for_code refuses, refused here too, without writing."""
    if user.enterprise_id is None:
        raise forbid("只有企业用户可以申请项目代码")
    if agent_scope(user) is not None:
        raise forbid("您的经办授权仅限指定项目，不能申请新的项目代码，请联系企业法人")
    form, values = validate(FORM_KEY, {k: v for k, v in raw.items() if k not in NOT_SHOWN})
    if values["unit_uscc"] != user.enterprise.uscc:
        raise ServiceError("项目单位与登录企业不一致", 422,
                           {"unit_uscc": "「项目单位统一社会信用代码」须与登录的企业账号一致"})
    return form, values


def _shown(value: Any, field_type: str, options: list[tuple[str, str]]) -> str:
    if value is None or value == "":
        return "（未选择）" if options else "（未填写）"
    if options:
        return next((label for code, label in options if str(code) == str(value)), str(value))
    if field_type == "money" or isinstance(value, Decimal):
        return money_text(value)
    if isinstance(value, date):
        return f"{value.year}年{value.month}月{value.day}日"
    return str(value)


@use_case
def review(user: User, raw: dict[str, Any]) -> list[tuple[str, str]]:
    """The 领码 form checked and put in words for 「请核对以下信息」: (label, what was chosen or typed). Writes nothing;
    raises ServiceError (422 naming the fields) like the final step would."""
    form, values = _checked(user, raw)
    rows: list[tuple[str, str]] = []
    for field in form.fields:
        options = list(field.choices) or (choices(field.source) if field.source else [])
        if field.name == "address":
            region = db.session.get(Region, values["region_code"])
            rows.append(("建设地点（完整）", full_location(region.full_name, region_names(region), values["address"])))
            continue
        rows.append((field.label, _shown(values.get(field.name), field.type, options)))
    return rows


def carried(raw: dict[str, Any]) -> dict[str, str]:
    """The posted answers the confirmation page carries in hidden inputs (re-validated when confirmed)."""
    return {k: str(v) for k, v in raw.items() if k not in ("csrf_token", "step")}
