"""Policy staff: the item catalogue (事项目录) — items, 子项, time limits, materials, and each item's 触发条件
(the rules of the item decision table that list it, with a form that adds one to the table's studio draft)."""
from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from ..models import KIND_LABELS, ApprovalItem
from ..services import ServiceError, catalogue_admin, catalogue_history, item_rules
from . import role_required

bp = Blueprint("catalogue", __name__, url_prefix="/admin/items")

BLANK_ROWS = 3
_MATERIAL_KEY = re.compile(r"materials-(\d+)-(\w+)")
_DROP = re.compile(r"drop-(\d{1,2})")


def _blank_row() -> dict[str, Any]:
    return {"id": "", "name": "", "required": True, "condition": "", "template": "", "pdf_only": True, "local_basis": ""}


def _form_values(form: MultiDict) -> dict[str, Any]:
    """The posted form as the service reads it: `kinds` a list, material rows (materials-<n>-<field>) in order."""
    values: dict[str, Any] = {key: form.get(key) for key in form if not key.startswith("materials-")}
    values["kinds"] = form.getlist("kinds")
    rows: dict[int, dict[str, Any]] = {}
    for key in form:
        match = _MATERIAL_KEY.fullmatch(key)
        if match:
            rows.setdefault(int(match[1]), {})[match[2]] = form.get(key)
    values["materials"] = [rows[n] for n in sorted(rows)]
    return values


def _render(item: ApprovalItem | None, values: dict[str, Any], errors: dict[str, str], parent: ApprovalItem | None = None,
            status: int = 200, rule_form: dict[str, Any] | None = None, rule_errors: dict[str, str] | None = None,
            rule_message: str = ""):
    triggers = item_rules.rules_for(current_user, item.code) if item is not None else None
    questions = item_rules.questions(current_user) if item is not None else []
    if rule_form is None:
        rule_form = {"rows": [], "description": "", "revision": triggers.revision if triggers else None}
    return render_template(
        "admin/item.html", item=item, values=values, errors=errors, parent=parent,
        sub_items=catalogue_admin.sub_items(item.code) if item is not None else [],
        kinds=KIND_LABELS, stages=catalogue_admin.STAGES, levels=catalogue_admin.LEVEL_LABELS,
        units=catalogue_admin.UNIT_CHOICES,
        dept_types=catalogue_history.dept_types(item.dept_type if item is not None else None),
        history=catalogue_history.history(item.code) if item is not None else [],
        local_flag=catalogue_admin.LOCAL_FLAG, triggers=triggers, questions={q.name: q for q in questions},
        question_groups=_groups(questions),
        operators=item_rules.OPERATOR_NAMES, rule_form=rule_form, rule_errors=rule_errors or {},
        rule_message=rule_message, table_file=item_rules.TABLE_FILE, questions_file=item_rules.QUESTIONS_FILE), status


def _groups(questions: list[item_rules.Question]) -> list[tuple[str, list[item_rules.Question]]]:
    """The questions by questionnaire section, in the questionnaire's order."""
    groups: dict[str, list[item_rules.Question]] = {}
    for question in questions:
        groups.setdefault(question.section, []).append(question)
    return list(groups.items())


@bp.route("")
@role_required("policy", "admin")
def items():
    rows = catalogue_admin.items()
    return render_template("admin/items.html", groups=catalogue_admin.by_stage(rows), levels=catalogue_admin.LEVEL_LABELS,
                           limit_text=catalogue_admin.limit_text, extension_text=catalogue_admin.extension_text,
                           local_flag=catalogue_admin.LOCAL_FLAG)


@bp.route("/new", methods=["GET", "POST"])
@role_required("policy", "admin")
def new_item():
    parent_code = request.values.get("parent_code") or request.args.get("parent") or ""
    parent = catalogue_admin.get_item(parent_code) if parent_code else None
    if request.method == "POST":
        values = _form_values(request.form)
        try:
            saved = catalogue_admin.save_item(current_user, values)
        except ServiceError as exc:
            if exc.status != 422:
                raise
            return _render(None, values, exc.errors, parent, exc.status)
        flash(f"已新增事项「{saved.name}」，新的申报即按此目录确定事项和材料", "success")
        return redirect(url_for("catalogue.items", _anchor=f"item-{saved.code}"))
    values = catalogue_admin.new_values(parent)
    values["materials"] += [_blank_row() for _ in range(BLANK_ROWS)]
    return _render(None, values, {}, parent)


@bp.route("/<code>", methods=["GET", "POST"])
@role_required("policy", "admin")
def edit_item(code: str):
    item = catalogue_admin.get_item(code)
    parent = catalogue_admin.get_item(item.parent_code) if item.parent_code else None
    if request.method == "POST":
        values = _form_values(request.form)
        try:
            catalogue_admin.save_item(current_user, values, code)
        except ServiceError as exc:
            if exc.status != 422:
                raise
            return _render(catalogue_admin.get_item(code), values, exc.errors, parent, exc.status)
        flash(f"已保存事项「{item.name}」，新的申报即按此目录确定事项和材料", "success")
        return redirect(url_for("catalogue.items", _anchor=f"item-{code}"))
    values = catalogue_admin.item_values(item)
    values["materials"] += [_blank_row() for _ in range(BLANK_ROWS)]
    return _render(item, values, {}, parent)


# ---- 触发条件: rules of the item decision table ---------------------------------------------------------------
def _revision(raw: str | None) -> int | None:
    """The draft revision the page was rendered with ("" : it showed the deployed table)."""
    text = (raw or "").strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 9:
        raise ServiceError("页面已过期，请刷新后重试", 400)
    return int(text)


def _rule_rows(form: MultiDict) -> list[dict[str, str]]:
    """The condition rows in order; each row renders one `value` control (an answer select or a number)."""
    names, operators, values = form.getlist("question"), form.getlist("operator"), form.getlist("value")
    return [{"question": name, "operator": operators[n] if n < len(operators) else "",
             "value": values[n] if n < len(values) else ""}
            for n, name in enumerate(names[:item_rules.MAX_CONDITIONS])]


@bp.route("/<code>/rules", methods=["POST"])
@role_required("policy", "admin")
def add_rule(code: str):
    """One form, three buttons: 加入条件 (a row for the chosen question), 删除 a row, 加入决策表草稿 (save)."""
    item = catalogue_admin.get_item(code)
    parent = catalogue_admin.get_item(item.parent_code) if item.parent_code else None
    revision = _revision(request.form.get("revision"))
    rows = _rule_rows(request.form)
    action = request.form.get("action", "")
    form = {"rows": rows, "description": request.form.get("description", ""), "revision": revision}

    def again(status: int = 200, errors: dict[str, str] | None = None, message: str = ""):
        values = catalogue_admin.item_values(item)
        values["materials"] += [_blank_row() for _ in range(BLANK_ROWS)]
        return _render(item, values, {}, parent, status, form, errors, message)

    if action == "pick":
        name = (request.form.get("new_question") or "").strip()
        if name not in {q.name for q in item_rules.questions(current_user)}:
            return again(422, {"new_question": "请从列表中选择「问题」"})
        if len(rows) >= item_rules.MAX_CONDITIONS:
            return again(422, {"new_question": f"一条规则最多{item_rules.MAX_CONDITIONS}个条件"})
        rows.append({"question": name, "operator": "=", "value": ""})
        return again()
    if drop := _DROP.fullmatch(action):
        if int(drop[1]) < len(rows):
            rows.pop(int(drop[1]))
        return again()
    if action != "add":
        raise ServiceError("未知的操作", 400)
    conditions = [(row["question"], row["operator"], row["value"]) for row in rows]
    try:
        item_rules.add_rule(current_user, code, conditions, form["description"], revision)
    except ServiceError as exc:
        if exc.status not in (409, 422):
            raise
        return again(exc.status, exc.errors, exc.message)
    flash("已将规则加入并联审批事项决策表的草稿，尚未生效：请打开决策表设计器校验，并填写原因部署", "success")
    return redirect(url_for("catalogue.edit_item", code=code, _anchor="triggers"))


@bp.route("/<code>/rules/<rule_id>/remove", methods=["POST"])
@role_required("policy", "admin")
def remove_rule(code: str, rule_id: str):
    catalogue_admin.get_item(code)
    item_rules.remove_rule(current_user, code, rule_id, _revision(request.form.get("revision")))
    flash("已从决策表草稿中删除该规则", "success")
    return redirect(url_for("catalogue.edit_item", code=code, _anchor="triggers"))
