"""The 事项目录's change history: every save of an item records who, when, the reason (修改原因及文件依据) and each
field's value before and after, in the studio's change log (area "items", one record per item code).

Values are kept as the page shows them (「20个工作日」, 「审批类、核准类」), so an old entry reads right whatever the
columns become later."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from ..extensions import db
from ..models import KIND_LABELS, ApprovalItem, Department, StudioChange, User
from . import studio_log

AREA = "items"
REASON_FIELD = "change_reason"
REASON_LABEL = "修改原因及文件依据"
# Types the seed uses, in the order the drop-down lists them; any other type a department has follows.
TYPE_ORDER = ("发改", "自然资源", "生态环境", "水利", "林业", "文物", "国家安全", "住建")
FIELD_LABELS = {
    "name": "事项名称", "kinds": "适用项目类别", "stage": "所属阶段", "dept_type": "主管部门类型", "level": "办理层级",
    "statutory_limit": "法定时限", "promised_limit": "承诺时限", "unit": "时限单位", "max_extension": "延长上限",
    "has_intermediary": "中介服务不计入时限", "has_expert_review": "专家评审不计入时限", "limit_source": "时限来源",
    "legal_basis": "设定依据", "active": "状态",
}
_LEVELS = {"county": "县级", "city": "市级", "province": "省级"}


def _shown(item: ApprovalItem, name: str) -> str:
    value = getattr(item, name)
    unit = item.unit_label
    if name == "kinds":
        return "、".join(KIND_LABELS.get(k, k) for k in value or [])
    if name == "level":
        return _LEVELS.get(value, value)
    if name == "unit":
        return "工作日" if value == "workday" else "日（自然日）"
    if name == "statutory_limit":
        return f"{value}{unit}" if value else "法律法规未规定"
    if name in ("promised_limit", "max_extension"):
        return f"{value}{unit}" if value else "不可延长"
    if name in ("has_intermediary", "has_expert_review"):
        return "是" if value else "否"
    if name == "active":
        return "启用" if value else "停用"
    return "" if value is None else str(value)


def _material(m: Any) -> str:
    parts = ["必须提交" if m.required else "视情形提交"]
    if m.pdf_only:
        parts.append("仅限PDF")
    if m.condition:
        parts.append(f"适用情形：{m.condition}")
    if m.template:
        parts.append(f"样表/编制要求：{m.template}")
    if m.local_basis:
        parts.append(f"地方性法规依据：{m.local_basis}")
    return "；".join(parts)


def snapshot(item: ApprovalItem) -> dict[str, tuple[str, str]]:
    """field → (label, value as shown); each material one entry under its name."""
    values = {name: (label, _shown(item, name)) for name, label in FIELD_LABELS.items()}
    for m in item.materials:
        values[f"material:{m.name}"] = (f"申请材料「{m.name}」", _material(m))
    return values


def diff(before: dict[str, tuple[str, str]] | None, after: dict[str, tuple[str, str]]) -> list[dict[str, Any]]:
    """The changed fields in the page's order (a new item: every field with a value, as added)."""
    before = before or {}
    entries = []
    for key in [*after, *(k for k in before if k not in after)]:
        old, new = before.get(key), after.get(key)
        label = (new or old)[0]  # type: ignore[index]
        old_value, new_value = old[1] if old else None, new[1] if new else None
        if old_value != new_value and (old_value or new_value):
            entries.append(studio_log.diff_entry(key, label, old_value, new_value))
    return entries


def clean_reason(raw: Any, errors: dict[str, str]) -> str:
    """The reason an edit requires: not empty, within the log's column (errors collected with the form's)."""
    reason = str(raw or "").strip()
    if not reason:
        errors[REASON_FIELD] = f"请填写「{REASON_LABEL}」，如「依据《××办法》（×号文）调整承诺时限」"
    elif len(reason) > studio_log.REASON_MAX:
        errors[REASON_FIELD] = f"「{REASON_LABEL}」不得超过{studio_log.REASON_MAX}字"
    return reason


def record(user: User, item: ApprovalItem, before: dict[str, tuple[str, str]] | None, reason: str) -> None:
    """One log entry for the save, when anything changed (a new item: always)."""
    entries = diff(before, snapshot(item))
    if before is None:
        studio_log.record(user, AREA, item.code, "add", reason or "新增事项", entries)
    elif entries:
        studio_log.record(user, AREA, item.code, "change", reason, entries)


def history(code: str) -> list[StudioChange]:
    """The item's changes, newest first."""
    return list(db.session.scalars(select(StudioChange).where(StudioChange.area == AREA,
                                                              StudioChange.record_key == code)
                                   .order_by(StudioChange.id.desc())))


def dept_types(current: str | None = None) -> list[tuple[str, str]]:
    """The drop-down of 主管部门类型: (type, text) for every type a department is registered with, the seed's order
    first; an item's current type that no department has any more stays listed (marked), so the page still
    shows it."""
    counts = dict(db.session.execute(select(Department.dept_type, func.count()).group_by(Department.dept_type)).all())
    ordered = [t for t in TYPE_ORDER if t in counts] + sorted(set(counts) - set(TYPE_ORDER))
    choices = [(t, f"{t}（{counts[t]}个部门）") for t in ordered]
    if current and current not in counts:
        choices.append((current, f"{current}（暂无此类部门，新的申报找不到办理部门）"))
    return choices


def check_dept_type(value: str, current: str | None, errors: dict[str, str]) -> None:
    """Only a type some department has (a typo would silently stop the item reaching any department); an item
    may keep the type it has."""
    if not value:
        errors["dept_type"] = "请选择「主管部门类型」"
    elif value != current and value not in {t for t, _ in dept_types()}:
        errors["dept_type"] = f"「主管部门类型」{value[:20]} 不是已登记部门的类型，请从列表中选择"
