"""What every use case shares about the workflow: the runtime (built by app/bootstrap.py), task forms and their
choices and cross-field rules, and finding a project by its code."""
from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select

from engine.deploy import TaskRules
from engine.runtime import Runtime
from engine.tables import Instance, ProcessCurrent, ProcessVersion

from ..domain.addresses import strip_region_prefix
from ..domain.filing_rules import check_filing_figures
from ..domain.project_code import InvalidProjectCode, parse_project_code
from ..domain.screening import NATURES, ProjectFacts, rule_from_row, screen
from ..domain.stages import MAIN_ITEMS
from ..extensions import db
from ..formkit import FormDef, FormRegistry, validate_form
from ..models import (
    ApprovalItem,
    CapitalRatio,
    CatalogueEntry,
    Department,
    Industry,
    PolicyRuleRow,
    Project,
    ProjectType,
    Region,
)
from ..models.project import region_names
from . import calendar

_runtime: Runtime | None = None
_rules: Callable[[], TaskRules] | None = None


# ---- task forms: deployed with the process versions that use them ----------------------------------
# A form file travels in the bundle of every process whose user tasks use it ("<key>.yaml", parents it
# extends too), so an open task keeps the form its instance's version was deployed with, and a studio edit of
# a form makes new process versions like an edit of a diagram does.
FORM_PROPERTY = re.compile(rb'name="formKey"\s+value="([a-z_]+)"')
EXTENDS = re.compile(r"^extends:\s*([a-z_]+)\s*$", re.M)
# Versions never change: their forms are cached by (database, version id).
_version_forms: dict[tuple[str, int], dict[str, str]] = {}
_current_forms: dict[str, tuple[tuple[int, ...], dict[str, str]]] = {}


def form_file(form_key: str) -> str:
    return f"{form_key}.yaml"


def form_references(name: str, content: bytes) -> set[str]:
    """The form files a diagram's user tasks name, or the form a form file extends."""
    if name.endswith(".bpmn"):
        return {form_file(key.decode()) for key in FORM_PROPERTY.findall(content)}
    if name.endswith(".yaml"):
        return {form_file(key) for key in EXTENDS.findall(content.decode(errors="replace"))}
    return set()


def form_files() -> dict[str, bytes]:
    """forms/*.yaml as bundle files."""
    directory = Path(current_app.config["FORMS_DIR"])
    return {p.name: p.read_bytes() for p in sorted(directory.glob("*.yaml"))}


def _forms_of(version: ProcessVersion) -> dict[str, str]:
    return {name: text for name, text in version.dmn_sources if name.endswith(".yaml")}


def forms() -> FormRegistry:
    """The current forms: those of the current process versions, over forms/ for forms no process carries."""
    database = str(db.engine.url)
    ids = tuple(sorted(db.session.scalars(select(ProcessCurrent.version_id))))
    cached = _current_forms.get(database)
    if cached is None or cached[0] != ids:
        sources: dict[str, str] = {}
        for version in db.session.scalars(select(ProcessVersion).where(ProcessVersion.id.in_(ids))
                                          .order_by(ProcessVersion.deployed_at, ProcessVersion.id)):
            sources.update(_forms_of(version))
        cached = _current_forms[database] = (ids, sources)
    return FormRegistry(current_app.config["FORMS_DIR"], cached[1])


def forms_of_version(version_id: int | None) -> FormRegistry:
    """The forms a process version was deployed with (None: the current ones)."""
    if version_id is None:
        return forms()
    key = (str(db.engine.url), version_id)
    if key not in _version_forms:
        version = db.session.get(ProcessVersion, version_id)
        _version_forms[key] = _forms_of(version) if version is not None else {}
    return FormRegistry(current_app.config["FORMS_DIR"], _version_forms[key])


def forms_of_instance(instance_id: int | None) -> FormRegistry:
    """The forms of the version an instance runs on: what its open tasks show and validate against."""
    version_id = db.session.scalar(select(Instance.process_version_id).where(Instance.id == instance_id)) \
        if instance_id is not None else None
    return forms_of_version(version_id)


def choices(source: str) -> list[tuple[str, str]]:
    s = db.session
    if source == "project_types":
        return [(t.code, f"{t.code} {t.name}") for t in s.scalars(select(ProjectType).order_by(ProjectType.code))]
    if source == "industries":
        return [(i.code, f"{i.code} {i.name}") for i in s.scalars(select(Industry).order_by(Industry.code))]
    if source == "catalogue":
        return [(c.code, f"【{c.category}类】{c.title}") for c in
                s.scalars(select(CatalogueEntry).order_by(CatalogueEntry.category, CatalogueEntry.code))]
    if source == "natures":
        return [(n, n) for n in NATURES]
    if source == "counties":
        return [(r.code, r.full_name) for r in s.scalars(select(Region).where(Region.level == "county")
                                                         .order_by(Region.code))]
    if source == "filing_authorities":
        return [(str(d.id), d.name) for d in s.scalars(select(Department).where(Department.files_projects)
                                                       .order_by(Department.region_code))]
    if source == "build_items":  # 报建: every item but the main ones (a stage's or 核准's own)
        return [(i.code, i.name) for i in s.scalars(select(ApprovalItem).where(
            ApprovalItem.active, ApprovalItem.code.notin_(MAIN_ITEMS)).order_by(ApprovalItem.sort))]
    if source == "capital_ratios":
        return [(c.code, f"{c.name}（不低于{Decimal(c.min_ratio) * 100:.0f}%）")
                for c in s.scalars(select(CapitalRatio).order_by(CapitalRatio.min_ratio.desc(), CapitalRatio.code))]
    raise KeyError(source)


def filing_authority_for(region_code: str | None) -> Department | None:
    """The 备案机关 a project's 建设地点 points to: the filing authority of its county, else of the city (and so on up)
    when the county has none (a city-level location files with the city's 发改局). None: the applicant chooses."""
    seen: set[str] = set()
    while region_code and region_code not in seen:
        seen.add(region_code)
        authority = db.session.scalar(select(Department).where(Department.files_projects,
                                                               Department.region_code == region_code)
                                      .order_by(Department.id).limit(1))
        if authority is not None:
            return authority
        region = db.session.get(Region, region_code)
        region_code = region.parent_code if region is not None else None
    return None


CHOICE_SOURCES = ("project_types", "industries", "catalogue", "natures", "counties", "filing_authorities",
                  "build_items", "capital_ratios")


def find_project(code_text: str) -> Project:
    """Verify a code (format, check digit) and find its project; raises InvalidProjectCode."""
    parsed = parse_project_code(code_text)
    column = Project.legacy_code if parsed.legacy else Project.code
    project = db.session.scalar(select(Project).where(column == parsed.code))
    if project is None:
        raise InvalidProjectCode("该项目代码在平台上不存在，请先完成领码申请", "missing")
    return project


# ---- cross-field rules named from forms/*.yaml ------------------------------------------------
def _rule_project_code(values: dict[str, Any], ctx: Any) -> tuple[dict, dict]:
    try:
        project = find_project(values["project_code"])
    except InvalidProjectCode as exc:
        return {}, {"project_code": str(exc)}
    return {"project_code": project.code, "project_name": project.name, "location": project.location,
            "region_code": project.region_code}, {}


def _rule_filing_figures(values: dict[str, Any], ctx: Any) -> tuple[dict, dict]:
    ratio = db.session.get(CapitalRatio, values.get("capital_category") or "")
    computed, errors = check_filing_figures(values, Decimal(ratio.min_ratio) if ratio else None, calendar.today())
    return {"fixed_assets": computed["fixed_assets"]} if "fixed_assets" in computed else {}, errors


def _rule_date_order(values: dict[str, Any], ctx: Any) -> tuple[dict, dict]:
    start, end = values.get("planned_start"), values.get("planned_end")
    if start and end and end < start:
        return {}, {"planned_end": "「计划竣工时间」不能早于「计划开工时间」"}
    return {}, {}


def _rule_policy_screening(values: dict[str, Any], ctx: Any) -> tuple[dict, dict]:
    region = values.get("region_code")
    if not region and values.get("project_code"):
        region = find_project(values["project_code"]).region_code
    entry = db.session.get(CatalogueEntry, values.get("catalogue_code") or "")
    facts = ProjectFacts(values.get("industry_code", ""), entry.code if entry else "",
                         entry.category if entry else "", values.get("nature", ""), region or "")
    rows = db.session.scalars(select(PolicyRuleRow).where(PolicyRuleRow.active)).all()
    refusals = screen(facts, [rule_from_row({
        "id": r.id, "kind": r.kind, "title": r.title, "industry_prefixes": r.industry_prefixes,
        "catalogue_codes": r.catalogue_codes, "natures": r.natures, "region_prefixes": r.region_prefixes,
        "message": r.message, "source": r.source}) for r in rows])
    errors: dict[str, str] = {}
    for refusal in refusals:
        target = "catalogue_code" if refusal.kind in ("eliminated", "restricted", "negative_list") else "industry_code"
        errors.setdefault(target, f"政策审查未通过：{refusal.message}（依据：{refusal.source}）")
    return {}, errors


def _rule_region_address(values: dict[str, Any], ctx: Any) -> tuple[dict, dict]:
    """详细地址 without the province/city/county that 建设地点 already names (「江门市江海区高新区…」 → 「高新区…」)."""
    region = db.session.get(Region, values.get("region_code") or "")
    address = values.get("address")
    if region is None or not address:
        return {}, {}
    cleaned = strip_region_prefix(address, region_names(region))
    if not cleaned:
        return {}, {"address": f"「详细地址」请填写街道、门牌号等（{region.full_name}已由「建设地点」确定，无需重复）"}
    return {"address": cleaned}, {}


def _rule_expert_dates(values: dict[str, Any], ctx: Any) -> tuple[dict, dict]:
    started, finished = values.get("started_on"), values.get("finished_on")
    if started and finished and finished < started:
        return {}, {"finished_on": "「完成日期」不能早于「开始日期」"}
    if finished and finished > calendar.today():
        return {}, {"finished_on": "「完成日期」不能晚于今天"}
    return {}, {}


TENDER_PACKAGES = {"survey": "勘察", "design": "设计", "works": "施工", "supervision": "监理", "goods": "重要设备材料"}


def _rule_tender_consistency(values: dict[str, Any], ctx: Any) -> tuple[dict, dict]:
    """A package not tendered has no method or organisation; a tendered one needs both."""
    errors = {}
    for key, label in TENDER_PACKAGES.items():
        tendered = values.get(f"tender_{key}_scope") != "不招标"
        for part, word in (("method", "招标方式"), ("org", "招标组织形式")):
            name = f"tender_{key}_{part}"
            if tendered and values.get(name) == "—":
                errors[name] = f"「{label} {word}」：招标的须选择具体{word}"
            elif not tendered and values.get(name) not in ("—", None):
                errors[name] = f"「{label} {word}」：不招标的请选择「不适用」"
    return {}, errors


def _rule_progress_dates(values: dict[str, Any], ctx: Any) -> tuple[dict, dict]:
    start, finish, today = values.get("actual_start"), values.get("completed_on"), calendar.today()
    if start and start > today:
        return {}, {"actual_start": "「项目开工时间」填写实际开工日期，不能晚于今天"}
    if finish and not start:
        return {}, {"completed_on": "填写「项目完工时间」前请先填写「项目开工时间」"}
    if finish and finish < start:
        return {}, {"completed_on": "「项目完工时间」不能早于「项目开工时间」"}
    if finish and finish > today:
        return {}, {"completed_on": "「项目完工时间」填写实际完工日期，不能晚于今天"}
    return {}, {}


RULES = {"project_code": _rule_project_code, "filing_figures": _rule_filing_figures,
         "date_order": _rule_date_order, "policy_screening": _rule_policy_screening,
         "region_address": _rule_region_address,
         "expert_dates": _rule_expert_dates, "tender_consistency": _rule_tender_consistency,
         "progress_dates": _rule_progress_dates}


def validate(form_key: str, raw: dict[str, Any], instance_id: int | None = None) -> tuple[FormDef, dict[str, Any]]:
    """Check a form's answers; `instance_id`: the form as that instance's version has it (an open task)."""
    form = forms_of_instance(instance_id).get(form_key)
    return form, validate_form(form, raw, choices, RULES)


def task_form_data(form_key: str, raw: dict[str, Any], version_id: int | None = None) -> dict[str, Any]:
    """The engine's form validator: what a completed task puts into the workflow's data."""
    form = forms_of_version(version_id).get(form_key)
    values = validate_form(form, raw, choices, RULES)
    data: dict[str, Any] = {form_key: values}
    if "authority_id" in values:  # the 备案机关 decides whose inbox the next steps land in
        department = db.session.get(Department, int(values["authority_id"]))
        data.update(department_id=department.id, region_code=department.region_code)
    return data


def install(runtime_: Runtime, rules: Callable[[], TaskRules]) -> None:
    """Called by the composition root (app/bootstrap.py): the runtime with its listeners, and what a deploy
    checks diagrams against (forms, roles and the case-kind contract)."""
    global _runtime, _rules
    _runtime, _rules = runtime_, rules


def runtime() -> Runtime:
    if _runtime is None:
        raise RuntimeError("workflow runtime not wired: create the app with app.create_app()")
    return _runtime


def task_rules() -> TaskRules:
    if _rules is None:
        raise RuntimeError("deploy rules not wired: create the app with app.create_app()")
    return _rules()
