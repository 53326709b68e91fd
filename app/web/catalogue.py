"""Policy staff: the item catalogue (事项目录) — items, 子项, time limits, materials."""
from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from ..models import KIND_LABELS, ApprovalItem
from ..services import ServiceError, catalogue_admin
from . import role_required

bp = Blueprint("catalogue", __name__, url_prefix="/admin/items")

BLANK_ROWS = 3
_MATERIAL_KEY = re.compile(r"materials-(\d+)-(\w+)")


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
            status: int = 200):
    return render_template(
        "admin/item.html", item=item, values=values, errors=errors, parent=parent,
        sub_items=catalogue_admin.sub_items(item.code) if item is not None else [],
        kinds=KIND_LABELS, stages=catalogue_admin.STAGES, levels=catalogue_admin.LEVEL_LABELS,
        units=catalogue_admin.UNIT_CHOICES, dept_types=catalogue_admin.dept_type_choices(),
        local_flag=catalogue_admin.LOCAL_FLAG), status


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
