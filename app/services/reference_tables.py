"""Reference tables policy staff maintain in the browser (政策工作台 → 参考数据): 产业结构调整指导目录 entries,
industries (GB/T 4754), capital ratios, regions (GB/T 2260) and departments. Add, change, delete where nothing
refers to the row, import from and export to .xlsx; every change carries a reason and lands in the studio log.

One description per table (`Table`, `Field`) drives the form, the list, the checks, the spreadsheet columns and
the diff, so the page, the import and the log cannot disagree about a column."""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from engine.tables import HumanTask

from ..extensions import db
from ..models import (
    CapitalRatio,
    CatalogueEntry,
    Department,
    FilingApplication,
    FilingCertificate,
    Industry,
    ItemCase,
    Notification,
    Permit,
    PolicyRuleRow,
    PostRequest,
    Project,
    Region,
    User,
)
from . import ServiceError, forbid, not_found, spreadsheet, studio_log, use_case

EDITOR_ROLES = frozenset({"policy", "admin"})
PAGE_SIZE = 50
LEVELS = (("province", "省级"), ("city", "市级"), ("county", "县级"))
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BREAKS = re.compile(r"\s*[\t\r\n]+\s*")  # a cell typed with Alt+Enter: one line in a one-line column
_TRUE = {"是", "1", "true", "yes", "y", "on", "√"}
_FALSE = {"否", "0", "false", "no", "n", "off", ""}
_TOKEN = re.compile(r"[0-9a-f]{64}")
RESERVED_KEYS = {"new", "history", "import", "export.xlsx"}
STASH_HOURS = 24
CONFLICT = "数据刚被他人修改，本次未保存任何内容；请刷新后重试"


@dataclass(frozen=True)
class Field:
    name: str  # the model attribute
    label: str  # the page's label and the spreadsheet's header
    kind: str = "text"  # text | choice | ratio | flag | id
    required: bool = True
    pattern: str | None = None
    pattern_hint: str = ""
    choices: tuple[tuple[str, str], ...] = ()  # (stored value, label); either is accepted on input
    help: str = ""
    upper: bool = False  # codes written in capitals (GB/T 4754)
    in_form: bool = True
    width: int = 16  # spreadsheet column width


@dataclass(frozen=True)
class Table:
    area: str  # URL segment and studio_change.area
    title: str
    noun: str  # what one row is: 条目, 行业 …
    model: type
    fields: tuple[Field, ...]
    search: tuple[str, ...]
    order: tuple[str, ...]
    hint: str
    name_field: str = "name"
    references: Callable[[Any], list[str]] = field(default=lambda row: [])
    check: Callable[[dict[str, Any], Any, Mapping[str, dict[str, Any]]], dict[str, str]] = field(
        default=lambda values, row, pending: {})

    @property
    def key(self) -> Field:
        return self.fields[0]

    @property
    def form_fields(self) -> list[Field]:
        return [f for f in self.fields if f.in_form]

    @property
    def search_labels(self) -> str:
        return "、".join(f.label for f in self.fields if f.name in self.search)

    def max_length(self, f: Field) -> int | None:
        return getattr(self.model.__table__.c[f.name].type, "length", None)

    def key_of(self, row: Any) -> str:
        return str(getattr(row, self.key.name))

    def describe(self, row: Any) -> str:
        """How a message names a row: 「C3011 水泥制造」, a department by its name."""
        name = getattr(row, self.name_field)
        return name if self.key.kind == "id" else f"{self.key_of(row)} {name}"


# ---- references: what stops a delete -----------------------------------------------------------------------------
def _count(column: Any, value: Any) -> int:
    return db.session.scalar(select(func.count()).where(column == value)) or 0


def _counted(pairs: Sequence[tuple[int, str]]) -> list[str]:
    return [f"{n}{what}" for n, what in pairs if n]


def _catalogue_refs(entry: CatalogueEntry) -> list[str]:
    rules = [r.title for r in db.session.scalars(select(PolicyRuleRow)) if entry.code in (r.catalogue_codes or [])]
    return _counted([(_count(Project.catalogue_code, entry.code), "个项目")]) + [f"政策审查规则「{t}」" for t in rules]


def _industry_refs(industry: Industry) -> list[str]:
    return _counted([(_count(Project.industry_code, industry.code), "个项目")])


def _ratio_refs(ratio: CapitalRatio) -> list[str]:
    # An application not yet decided still names its category in what the applicant typed.
    open_filings = db.session.scalars(select(FilingApplication.draft).where(
        FilingApplication.status.notin_(("issued", "rejected"))))
    filings = sum(1 for draft in open_filings if (draft or {}).get("capital_category") == ratio.code)
    return _counted([(_count(Industry.capital_category, ratio.code), "个国民经济行业"), (filings, "件未办结的备案申请")])


def _region_refs(region: Region) -> list[str]:
    return _counted([(_count(Region.parent_code, region.code), "个下级地区"),
                     (_count(Department.region_code, region.code), "个部门"),
                     (_count(Project.region_code, region.code), "个项目"),
                     (_count(ItemCase.region_code, region.code), "件事项办件"),
                     (_count(HumanTask.region_code, region.code), "件待办任务")])


def _department_refs(department: Department) -> list[str]:
    d = department.id
    return _counted([(_count(User.department_id, d), "名用户"),
                     (_count(FilingApplication.department_id, d), "件备案申请"),
                     (_count(FilingCertificate.department_id, d), "份备案证"),
                     (_count(ItemCase.department_id, d), "件事项办件"),
                     (_count(Permit.department_id, d), "份证照"),
                     (_count(PostRequest.department_id, d), "件变更/延期申请"),
                     (_count(Notification.department_id, d), "条待阅消息"),
                     (_count(HumanTask.department_id, d), "件待办任务")])


# ---- checks across fields and tables -----------------------------------------------------------------------------
def _industry_check(values: dict[str, Any], row: Any, pending: Mapping[str, dict[str, Any]]) -> dict[str, str]:
    code = values.get("capital_category")
    if code and db.session.get(CapitalRatio, code) is None:
        return {"capital_category": f"「资本金行业类别」{code} 不在项目资本金比例表中，请先在该表新增或改用已有代码"}
    return {}


_LEVEL_LABEL = dict(LEVELS)
_PARENT_LEVEL = {"city": "province", "county": "city"}


def _parent_level(code: str, pending: Mapping[str, dict[str, Any]]) -> str | None:
    if code in pending:
        return pending[code].get("level")
    parent = db.session.get(Region, code)
    return parent.level if parent is not None else None


def _region_check(values: dict[str, Any], row: Region | None, pending: Mapping[str, dict[str, Any]]) -> dict[str, str]:
    level, parent = values.get("level"), values.get("parent_code")
    if level is None:
        return {}
    if level == "province":
        return {"parent_code": "省级地区的「上级代码」须留空"} if parent else {}
    wanted = _PARENT_LEVEL[level]
    if not parent:
        return {"parent_code": f"{_LEVEL_LABEL[level]}地区须填写「上级代码」（{_LEVEL_LABEL[wanted]}地区的代码）"}
    if parent == values.get("code") or (row is not None and parent == row.code):
        return {"parent_code": "「上级代码」不能是本地区自己"}
    found = _parent_level(parent, pending)
    if found is None:
        return {"parent_code": f"「上级代码」{parent} 不存在，请先新增上级地区（或在同一文件中一并导入）"}
    if found != wanted:
        return {"parent_code": f"「上级代码」{parent} 是{_LEVEL_LABEL.get(found, found)}地区，"
                               f"{_LEVEL_LABEL[level]}地区的上级须为{_LEVEL_LABEL[wanted]}地区"}
    if row is not None and row.level != level and (refs := _region_refs(row)):
        return {"level": f"「层级」不能修改：该地区已被{'、'.join(refs)}引用"}
    return {}


def _department_check(values: dict[str, Any], row: Department | None,
                      pending: Mapping[str, dict[str, Any]]) -> dict[str, str]:
    errors: dict[str, str] = {}
    name, region_code = values.get("name"), values.get("region_code")
    if name:
        other = db.session.scalar(select(Department).where(Department.name == name))
        if other is not None and (row is None or other.id != row.id):
            errors["name"] = f"「名称」{name} 已是编号{other.id}的部门，部门名称不能重复"
    if region_code:
        region = db.session.get(Region, region_code)
        if region is None:
            errors["region_code"] = f"「所在地区代码」{region_code} 不存在，请先在「行政区划」中新增该地区"
        elif values.get("level") and values["level"] != region.level:
            errors["level"] = (f"「层级」须与所在地区一致：{region.full_name}为"
                               f"{_LEVEL_LABEL.get(region.level, region.level)}")
    return errors


_CODE_HINT = "只能由字母、数字、点、下划线和连字符组成"
_REGION_CODE = r"\d{6,12}"
_REGION_HINT = "须为6–12位数字（GB/T 2260 行政区划代码），如 440704"

TABLES: dict[str, Table] = {t.area: t for t in (
    Table("catalogue", "产业结构调整指导目录", "条目", CatalogueEntry, (
        Field("code", "代码", pattern=r"[0-9A-Za-z][0-9A-Za-z._-]*", pattern_hint=f"{_CODE_HINT}，如 2024-enc-steel-02",
              help="本平台的稳定编号（不是目录的条款序号），创建后不能修改", width=24),
        Field("category", "类别", "choice", choices=(("鼓励", "鼓励"), ("限制", "限制"), ("淘汰", "淘汰")), width=8),
        Field("title", "条目内容", help="按目录原文填写", width=60),
        Field("source", "来源", help="如 产业结构调整指导目录（2024年本）", width=30)),
        search=("code", "title", "source"), order=("category", "code"), name_field="title",
        hint="申报时企业选择所属条目；淘汰类、限制类条目由政策审查规则拦截。被项目或政策审查规则引用的条目不能删除。",
        references=_catalogue_refs),
    Table("industries", "国民经济行业分类（GB/T 4754）", "行业", Industry, (
        Field("code", "代码", pattern=r"[A-T](\d{2}|\d{3}|\d{4})?", pattern_hint="须为门类字母（A–T）加2–4位数字，如 C3011",
              upper=True, help="GB/T 4754-2017 的门类字母加大类、中类或小类代码，创建后不能修改", width=10),
        Field("name", "名称", width=30),
        Field("capital_category", "资本金行业类别", help="项目资本金比例表中的代码：备案时按它提示最低资本金比例",
              width=20)),
        search=("code", "name", "capital_category"), order=("code",),
        hint="领码和备案时企业从此表选择国标行业。被项目引用的行业不能删除。",
        references=_industry_refs, check=_industry_check),
    Table("capital_ratios", "项目资本金最低比例", "行业类别", CapitalRatio, (
        Field("code", "代码", pattern=r"[a-z][a-z0-9_]*",
              pattern_hint="须以小写字母开头，只含小写字母、数字和下划线，如 steel_aluminium",
              help="国民经济行业以此代码引用本表，创建后不能修改", width=20),
        Field("name", "行业类别", width=36),
        Field("min_ratio", "最低比例", "ratio", help="0到1之间的小数，最多4位，如 0.2 即20%", width=10),
        Field("source", "依据", help="文件名称和文号，如 国发〔2015〕51号", width=40)),
        search=("code", "name", "source"), order=("code",),
        hint="备案时「项目资本金」不得低于总投资乘以所属类别的最低比例。被行业或未办结备案申请引用的类别不能删除。",
        references=_ratio_refs),
    Table("regions", "行政区划（GB/T 2260）", "地区", Region, (
        Field("code", "代码", pattern=_REGION_CODE, pattern_hint=_REGION_HINT, help="创建后不能修改", width=12),
        Field("name", "名称", width=16),
        Field("full_name", "全称", required=False, help="留空则由上级地区的全称加名称生成，如 广东省江门市江海区", width=30),
        Field("parent_code", "上级代码", required=False, pattern=_REGION_CODE, pattern_hint=_REGION_HINT,
              help="省级地区留空；市级填所属省，县级填所属市", width=12),
        Field("level", "层级", "choice", choices=LEVELS, width=8)),
        search=("code", "name", "full_name"), order=("code",),
        hint="省 → 市 → 县（区）三级。事项按项目所在地区逐级向上查找办理部门。有下级地区、部门、项目或办件的地区不能删除。",
        references=_region_refs, check=_region_check),
    Table("departments", "部门", "部门", Department, (
        Field("id", "编号", "id", required=False, in_form=False, width=8),
        Field("name", "名称", width=30),
        Field("dept_type", "部门类型", width=12,
              help="事项按此类型匹配办理部门，须与事项目录的「主管部门类型」完全一致，如 发改、自然资源"),
        Field("level", "层级", "choice", choices=LEVELS, width=8),
        Field("region_code", "所在地区代码", pattern=_REGION_CODE, pattern_hint=_REGION_HINT, width=14),
        Field("files_projects", "备案机关", "flag", required=False, width=10,
              help="是备案机关的部门出现在备案申报的「备案机关」选项中")),
        search=("name", "dept_type", "region_code"), order=("region_code", "id"),
        hint="审批部门和备案机关。导入时「编号」留空即新增，按名称匹配已有部门。有用户、办件、证照或待办的部门不能删除。",
        references=_department_refs, check=_department_check),
)}


def require_editor(user: User) -> None:
    if not user.roles.intersection(EDITOR_ROLES):
        raise forbid("只有政策人员或系统管理员可以维护参考数据")


def table(area: str) -> Table:
    found = TABLES.get(area)
    if found is None:
        raise not_found("没有这张参考数据表")
    return found


def counts() -> dict[str, int]:
    return {t.area: db.session.scalar(select(func.count()).select_from(t.model)) or 0 for t in TABLES.values()}


def get_row(t: Table, key: str) -> Any:
    if t.key.kind == "id":
        row = db.session.get(t.model, int(key)) if re.fullmatch(r"\d{1,9}", key) else None
    else:
        row = db.session.get(t.model, key)
    if row is None:
        raise not_found(f"该{t.noun}不存在或已被删除")
    return row


# ---- values: parse (form and spreadsheet alike), show, compare ---------------------------------------------------
class _Invalid(ValueError):
    pass


def _text(raw: Any) -> str:
    if raw is None:
        return ""
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)  # a code Excel kept as a number: 440704.0
    return _BREAKS.sub(" ", str(raw)).strip()


def _parse(t: Table, f: Field, raw: Any) -> Any:
    """The stored value of one cell or form field; _Invalid carries the message (which names the field)."""
    label = f"「{f.label}」"
    if isinstance(raw, spreadsheet.Formula):
        raise _Invalid(f"{label}是公式（{raw.text[:30]}），导入不计算公式，请改为数值或文字")
    if isinstance(raw, str) and _CONTROL.search(raw):
        raise _Invalid(f"{label}含有不允许的控制字符（如 NUL），请删除后重新提交")
    if f.kind == "flag":
        if isinstance(raw, bool):
            return raw
        text = _text(raw).lower()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        raise _Invalid(f"{label}只能填“是”或“否”")
    text = _text(raw)
    if not text:
        if f.required:
            raise _Invalid(f"{label}不能为空")
        return None
    if f.kind == "id":
        if not re.fullmatch(r"\d{1,9}", text):
            raise _Invalid(f"{label}须为整数（新增{t.noun}请留空）")
        return int(text)
    if f.kind == "ratio":
        return _ratio(raw, text, label)
    if f.kind == "choice":
        for value, shown in f.choices:
            if text in (value, shown):
                return value
        raise _Invalid(f"{label}只能是{'、'.join(shown for _, shown in f.choices)}")
    if f.upper:
        text = text.upper()
    limit = t.max_length(f)
    if limit and len(text) > limit:
        raise _Invalid(f"{label}不能超过{limit}字")
    if f.pattern and not re.fullmatch(f.pattern, text):
        raise _Invalid(f"{label}{f.pattern_hint}")
    if f is t.key and text.lower() in RESERVED_KEYS:  # the page addresses rows as /studio/tables/<table>/<code>
        raise _Invalid(f"{label}不能用 {text}（页面地址的保留字），请换一个")
    return text


def _ratio(raw: Any, text: str, label: str) -> Decimal:
    message = f"{label}须为0到1之间的小数（如 0.2 表示20%），最多4位小数"
    if isinstance(raw, bool) or len(text) > 20:
        raise _Invalid(message)
    try:
        value = Decimal(repr(raw)) if isinstance(raw, float) else Decimal(text.rstrip("%").strip())
    except InvalidOperation:
        raise _Invalid(message) from None
    if text.endswith("%"):
        value /= 100
    if not value.is_finite() or not 0 < value <= 1:
        raise _Invalid(message)
    value = value.normalize()
    if value.as_tuple().exponent < -4:
        raise _Invalid(message)
    return value


def shown(f: Field, value: Any) -> str:
    """A stored value as pages, the log and the spreadsheet show it."""
    if value is None:
        return ""
    if f.kind == "flag":
        return "是" if value else "否"
    if f.kind == "choice":
        return dict(f.choices).get(value, str(value))
    if f.kind == "ratio":
        return format(Decimal(value).normalize(), "f")
    return str(value)


def percent(value: Any) -> str:
    return f"{format((Decimal(value) * 100).normalize(), 'f')}%"


def _stored(t: Table, row: Any) -> dict[str, Any]:
    return {f.name: getattr(row, f.name) for f in t.fields}


def _diff(t: Table, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Field by field, as shown; only fields that differ (an added or deleted row lists every field)."""
    entries = []
    for f in t.fields:
        if f.kind == "id":  # the record key names it
            continue
        old = shown(f, before.get(f.name)) if before is not None else None
        new = shown(f, after.get(f.name)) if after is not None else None
        if old != new:
            entries.append(studio_log.diff_entry(f.name, f.label, old, new))
    return entries


def _complete(t: Table, values: dict[str, Any], pending: Mapping[str, dict[str, Any]]) -> None:
    """Derived values: a region's full name from its parent's when left empty."""
    if t.area == "regions" and not values.get("full_name") and values.get("name"):
        parent = values.get("parent_code")
        parent_full = (pending[parent].get("full_name") if parent in pending else
                       getattr(db.session.get(Region, parent), "full_name", "") if parent else "")
        values["full_name"] = f"{parent_full or ''}{values['name']}"[:t.max_length(t.fields[2]) or 200]


def _read(t: Table, raw: Mapping[str, Any], row: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """Parsed values of every field (the key of an existing row stays as it is) and the errors by field."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for f in t.fields:
        if f.name == t.key.name and row is not None:
            values[f.name] = getattr(row, f.name)
            continue
        if not f.in_form and f.name not in raw:
            values[f.name] = None
            continue
        try:
            values[f.name] = _parse(t, f, raw.get(f.name))
        except _Invalid as exc:
            errors[f.name] = str(exc)
    return values, errors


# ---- pages -------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ListPage:
    rows: list[Any]
    total: int
    page: int
    pages: int
    names: dict[str, str]  # region and capital-ratio code → name, for the columns naming them


def rows_page(t: Table, q: str = "", page: int = 1) -> ListPage:
    """Rows matching q (any searched column contains it, case-insensitive), PAGE_SIZE a page."""
    query = select(t.model)
    count = select(func.count()).select_from(t.model)
    q = q.strip()
    if q:
        match = or_(*[func.lower(getattr(t.model, c)).contains(q.lower(), autoescape=True) for c in t.search])
        query, count = query.where(match), count.where(match)
    total = db.session.scalar(count) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    rows = list(db.session.scalars(query.order_by(*[getattr(t.model, c) for c in t.order])
                                   .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)))
    names: dict[str, str] = {}
    for model, columns in ((Region, ("parent_code", "region_code")), (CapitalRatio, ("capital_category",))):
        codes = {getattr(r, n) for r in rows for n in columns if getattr(r, n, None)}
        if codes:
            names.update(db.session.execute(select(model.code, model.name).where(model.code.in_(codes))).all())
    return ListPage(rows, total, page, pages, names)


def form_values(t: Table, row: Any | None) -> dict[str, Any]:
    """What the edit form shows: stored values as text, a flag as bool."""
    if row is None:
        return {f.name: (False if f.kind == "flag" else "") for f in t.fields}
    return {f.name: (bool(getattr(row, f.name)) if f.kind == "flag" else shown(f, getattr(row, f.name)))
            for f in t.fields}


def region_choices() -> list[tuple[str, str]]:
    return [(r.code, f"{r.code} {r.full_name}") for r in db.session.scalars(select(Region).order_by(Region.code))]


def capital_choices() -> list[tuple[str, str]]:
    return [(c.code, f"{c.code} {c.name}（不低于{percent(c.min_ratio)}）")
            for c in db.session.scalars(select(CapitalRatio).order_by(CapitalRatio.code))]


@use_case
def save(user: User, area: str, raw: Mapping[str, Any], key: str | None = None) -> tuple[Any, list[dict[str, Any]]]:
    """Add (key None) or change one row; returns it with the diff written to the log (empty: nothing changed,
    nothing logged). Every error at once, by field (422), and nothing written."""
    require_editor(user)
    t = table(area)
    row = get_row(t, key) if key is not None else None
    values, errors = _read(t, raw, row)
    if row is None and t.key.kind != "id" and t.key.name not in errors:
        if db.session.get(t.model, values[t.key.name]) is not None:
            errors[t.key.name] = f"「{t.key.label}」{values[t.key.name]} 已存在，请换一个或修改已有的{t.noun}"
    if not errors:
        errors.update(t.check(values, row, {}))
    try:
        reason = studio_log.clean_reason(raw.get("reason"))
    except ServiceError as exc:
        errors.update(exc.errors)
    if errors:
        raise ServiceError(f"{t.noun}有误，请按提示修改", 422, errors)
    _complete(t, values, {})
    before = _stored(t, row) if row is not None else None
    if row is None:
        row = t.model(**{k: v for k, v in values.items() if not (k == t.key.name and t.key.kind == "id")})
        db.session.add(row)
    else:
        for name, value in values.items():
            if name != t.key.name:
                setattr(row, name, value)
    _flush()
    diff = _diff(t, before, _stored(t, row))
    if diff:
        studio_log.record(user, t.area, t.key_of(row), "change" if before else "add", reason, diff)
    return row, diff


def references(area: str, key: str) -> list[str]:
    t = table(area)
    return t.references(get_row(t, key))


@use_case
def delete(user: User, area: str, key: str, reason_raw: Any) -> str:
    """Deletes a row nothing refers to (409 naming what does otherwise); returns how the row was named."""
    require_editor(user)
    t = table(area)
    row = get_row(t, key)
    refs = t.references(row)
    if refs:
        raise ServiceError(f"不能删除{t.noun}「{t.describe(row)}」：仍被{'、'.join(refs)}引用", 409)
    reason = studio_log.clean_reason(reason_raw)
    described = t.describe(row)
    studio_log.record(user, t.area, t.key_of(row), "delete", reason, _diff(t, _stored(t, row), None))
    db.session.delete(row)
    db.session.flush()
    return described


# ---- spreadsheet -------------------------------------------------------------------------------------------------
def export(area: str) -> bytes:
    t = table(area)
    rows = db.session.scalars(select(t.model).order_by(*[getattr(t.model, c) for c in t.order]))
    percent_columns = [i for i, f in enumerate(t.fields) if f.kind == "ratio"]
    return spreadsheet.write(t.title, [f.label for f in t.fields],
                             ([getattr(r, f.name) if f.kind == "ratio" else shown(f, getattr(r, f.name))
                               for f in t.fields] for r in rows),
                             widths=[f.width for f in t.fields], percent_columns=percent_columns)


@dataclass
class PlanRow:
    line: int
    key: str
    title: str
    values: dict[str, Any]
    diff: list[dict[str, Any]]


@dataclass
class ImportPlan:
    added: list[PlanRow] = field(default_factory=list)
    changed: list[PlanRow] = field(default_factory=list)
    unchanged: list[PlanRow] = field(default_factory=list)
    invalid: list[tuple[int, str]] = field(default_factory=list)  # (row number, message naming the field)
    header_errors: list[str] = field(default_factory=list)
    untouched: int = 0  # rows of the table the file does not name: kept, never deleted by an import
    digest: str = ""

    @property
    def applicable(self) -> bool:
        return not self.invalid and not self.header_errors and bool(self.added or self.changed)


def _columns(t: Table, headers: list[str], plan: ImportPlan) -> dict[str, int]:
    by_label = {f.label: f for f in t.fields}
    columns: dict[str, int] = {}
    for index, header in enumerate(headers):
        f = by_label.get(header)
        if f is None:
            plan.header_errors.append(f"第1行第{index + 1}列的表头「{header or '（空白）'}」不是本表的列，"
                                      f"本表的列为：{'、'.join(by_label)}")
        elif f.name in columns:
            plan.header_errors.append(f"表头「{header}」出现了两次")
        else:
            columns[f.name] = index
    for f in t.fields:
        if f.name not in columns and (f.required or f.kind == "flag" or f.name == t.key.name and f.kind != "id"):
            plan.header_errors.append(f"表头缺少「{f.label}」列（请使用本页导出的表格填写）")
    return columns


def _existing(t: Table, values: dict[str, Any]) -> tuple[Any, str | None]:
    """The stored row an import row is about (None: new) and an error message when it names none."""
    if t.key.kind != "id":
        return db.session.get(t.model, values[t.key.name]), None
    if values.get("id") is not None:
        row = db.session.get(t.model, values["id"])
        return row, (None if row is not None else f"「{t.key.label}」{values['id']} 不存在（新增{t.noun}请留空编号）")
    return db.session.scalar(select(t.model).where(getattr(t.model, t.name_field) == values.get(t.name_field))), None


def plan_import(area: str, data: bytes) -> ImportPlan:
    """What importing the file would do, without doing it: rows to add, rows to change (with the diff), rows
    unchanged, and every invalid row with its number and why. Nothing is written."""
    t = table(area)
    sheet = spreadsheet.read(data)
    plan = ImportPlan()
    columns = _columns(t, sheet.headers, plan)
    if plan.header_errors:
        return plan
    parsed: list[tuple[int, dict[str, Any], Any]] = []
    seen: dict[str, int] = {}
    for line, cells in sheet.rows:
        raw = {name: cells[index] if index < len(cells) else None for name, index in columns.items()}
        if t.key.kind == "id":
            raw.setdefault("id", None)
        values, errors = _read(t, raw, None)
        for name in [f.name for f in t.fields if f.name not in columns]:
            values.pop(name, None)  # a column the file leaves out keeps what is stored
        for identity in (t.key.name, t.name_field) if t.key.kind == "id" else (t.key.name,):
            if identity not in errors and values.get(identity) is not None:
                first = seen.setdefault(f"{identity}:{values[identity]}", line)
                if first != line:
                    errors[identity] = f"「{_label(t, identity)}」{values[identity]} 与第{first}行重复"
        for message in errors.values():
            plan.invalid.append((line, f"第{line}行{message}"))
        if not errors:
            parsed.append((line, values, None))
    pending = {str(v[t.key.name]): v for _, v, _ in parsed if t.key.kind != "id"}
    if t.area == "regions":  # parents first: a child's full name may come from a parent in the same file
        parsed.sort(key=lambda item: [code for code, _ in LEVELS].index(item[1]["level"]))
    keys: set[str] = set()
    for line, values, _ in parsed:
        row, missing = _existing(t, values)
        if missing:
            plan.invalid.append((line, f"第{line}行{missing}"))
            continue
        merged = {**(_stored(t, row) if row is not None else {}), **values}
        if row is not None and t.key.kind == "id":
            merged["id"] = row.id
        errors = t.check(merged, row, pending)
        if errors:
            plan.invalid.extend((line, f"第{line}行{message}") for message in errors.values())
            continue
        _complete(t, merged, pending)
        if t.area == "regions":
            pending[str(merged["code"])] = merged
        before = _stored(t, row) if row is not None else None
        diff = _diff(t, before, merged)
        key = t.key_of(row) if row is not None else str(merged.get(t.key.name) or "")
        keys.add(key)
        title = str(merged.get(t.name_field) or "")
        target = plan.unchanged if row is not None and not diff else plan.changed if row is not None else plan.added
        target.append(PlanRow(line, key, title, merged, diff))
    plan.invalid.sort()
    for rows in (plan.added, plan.changed, plan.unchanged):
        rows.sort(key=lambda r: r.line)
    total = db.session.scalar(select(func.count()).select_from(t.model)) or 0
    plan.untouched = total - len(plan.changed) - len(plan.unchanged)
    plan.digest = hashlib.sha256(json.dumps(
        [[(r.key, r.diff) for r in plan.added], [(r.key, r.diff) for r in plan.changed]],
        ensure_ascii=False, sort_keys=True, default=str).encode()).hexdigest()
    return plan


def _label(t: Table, name: str) -> str:
    return next(f.label for f in t.fields if f.name == name)


def _stash_dir() -> Path:
    return Path(current_app.config["UPLOAD_DIR"]) / "studio-imports"


def stash(data: bytes) -> str:
    """Keeps an uploaded file between its preview and its apply; the token is its SHA-256. Files previewed more
    than STASH_HOURS before (by the file system's clock, on both sides of the comparison) are removed."""
    token = hashlib.sha256(data).hexdigest()
    directory = _stash_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{token}.xlsx"
    path.write_bytes(data)
    cutoff = path.stat().st_mtime - STASH_HOURS * 3600
    for old in directory.glob("*.xlsx"):
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
    return token


def stashed(token: str) -> bytes:
    path = _stash_dir() / f"{token}.xlsx"
    if not _TOKEN.fullmatch(token or "") or not path.is_file():
        raise ServiceError("导入的文件已失效，请重新选择文件并预览", 409)
    return path.read_bytes()


def discard(token: str) -> None:
    if _TOKEN.fullmatch(token or ""):
        (_stash_dir() / f"{token}.xlsx").unlink(missing_ok=True)


@use_case
def apply_import(user: User, area: str, token: str, digest: str, reason_raw: Any) -> ImportPlan:
    """Applies the previewed file in one transaction: all rows or none. Refused (nothing written) when a row is
    invalid, or when the data changed since the preview (the plan is no longer the one the user saw)."""
    require_editor(user)
    t = table(area)
    plan = plan_import(area, stashed(token))
    if plan.header_errors or plan.invalid:
        raise ServiceError(f"文件中有{len(plan.invalid) or len(plan.header_errors)}处错误，未导入任何数据", 422)
    if plan.digest != digest:
        raise ServiceError("预览之后数据已有变化，未导入任何数据；请查看新的预览后再确认导入", 409)
    reason = studio_log.clean_reason(reason_raw)
    for item in plan.added:
        row = t.model(**{k: v for k, v in item.values.items() if not (k == t.key.name and t.key.kind == "id")})
        db.session.add(row)
        _flush()
        studio_log.record(user, t.area, t.key_of(row), "import", reason, item.diff)
    for item in plan.changed:
        row = get_row(t, item.key)
        for name, value in item.values.items():
            if name != t.key.name:
                setattr(row, name, value)
        studio_log.record(user, t.area, item.key, "import", reason, item.diff)
    _flush()
    return plan


def _flush() -> None:
    """A row someone else added or renamed a moment ago (same code or department name): 409, all rolled back."""
    try:
        db.session.flush()
    except IntegrityError:
        raise ServiceError(CONFLICT, 409) from None
